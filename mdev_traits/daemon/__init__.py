"""The daemon's plumbing, together: the loop (:mod:`.loop`: cycles,
backoff, signals, reload), udev hotplug (:mod:`.hotplug`), systemd
notification (:mod:`.systemd`: READY, WATCHDOG, STATUS) and the Prometheus
metrics (:mod:`.metrics`: listener and textfile).

The layers (discovery, mapping, placement) and :mod:`mdev_traits.service`
know nothing of it, except the service's cycle counters
(:class:`.metrics.Metrics`).
"""
