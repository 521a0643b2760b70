"""Configuration options of mdev-traits.

Each module registers its own options; :func:`list_opts` feeds
``oslo-config-generator`` (see ``etc/mdev-traits-config-generator.conf``).
"""

from mdev_traits.conf import devices
from mdev_traits.conf import exporter
from mdev_traits.conf import metrics
from mdev_traits.conf import placement
from mdev_traits.conf import profiles
from mdev_traits.conf import vdpa


def register_opts(conf):
    exporter.register_opts(conf)
    devices.register_opts(conf)
    metrics.register_opts(conf)
    placement.register_opts(conf)
    profiles.register_opts(conf)
    vdpa.register_opts(conf)


def list_opts():
    return (exporter.list_opts() + devices.list_opts()
            + metrics.list_opts() + placement.list_opts()
            + profiles.list_opts()
            + vdpa.list_opts())
