"""mdev-traits: publish mediated device capabilities as Placement traits."""
