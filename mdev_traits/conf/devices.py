"""nova's mediated device options, with the same names and meaning.

An operator can pass ``/etc/nova/nova.conf`` as an extra ``--config-file``
so that the exporter publishes traits for exactly the types nova enables.
Mirrors ``nova/conf/devices.py`` (``[devices] enabled_mdev_types`` and the
dynamic ``[mdev_<type>]`` groups).
"""

from oslo_config import cfg

GROUP = 'devices'

devices_opts = [
    cfg.ListOpt('enabled_mdev_types',
                default=[],
                deprecated_name='enabled_vgpu_types',
                help='The mediated device types enabled on this host, as in '
                     'nova.conf. When several are given, pin each to its '
                     'parent devices with [mdev_<type>] device_addresses; '
                     'the first type without addresses is used for the '
                     'other parents. A type that is not enabled gets no '
                     'trait and no inventory.'),
]

_DYNAMIC_HELP = ('Dynamic group: one [mdev_<type>] group exists for each '
                 'type listed in [devices] enabled_mdev_types.')


def mdev_group_opts(mdev_type=None):
    # nova/conf/devices.py register_dynamic_opts: only device_addresses is
    # also read from the old [vgpu_<type>] group (deprecated_group)
    return [
        cfg.ListOpt('device_addresses',
                    default=[],
                    item_type=cfg.types.String(),
                    deprecated_group=(None if mdev_type is None
                                      else 'vgpu_%s' % mdev_type),
                    help='Parent devices that use this type, as nova '
                         'reads them: PCI addresses such as 0000:84:00.0, '
                         'or the libvirt node-device name of a virtual '
                         'parent under /sys/devices/virtual (mtty_mtty). '
                         'An address that is malformed or names no such '
                         'device refuses to start. Also read from the '
                         'deprecated [vgpu_<type>] group. ' + _DYNAMIC_HELP),
        cfg.StrOpt('mdev_class',
                   default='VGPU',
                   regex=r'^(VGPU|CUSTOM_[A-Z0-9_]+)$',
                   max_length=255,
                   help='Resource class of the inventory for this type: '
                        'VGPU or a CUSTOM_ resource class. ' + _DYNAMIC_HELP),
        cfg.IntOpt('max_instances',
                   min=1,
                   help='Cap on the number of mediated devices of this type '
                        'on the whole host, as nova applies it: parents are '
                        'counted in turn and one that would take the type '
                        'over the limit gets no inventory. ' +
                        _DYNAMIC_HELP),
    ]


def register_opts(conf):
    conf.register_opts(devices_opts, group=GROUP)


def register_dynamic_opts(conf):
    """Register [mdev_<type>] for each enabled type (after parsing)."""
    for mdev_type in conf.devices.enabled_mdev_types:
        group = 'mdev_%s' % mdev_type
        try:
            conf.register_opts(mdev_group_opts(mdev_type), group=group)
        except cfg.DuplicateOptError:
            pass


def list_opts():
    return [(GROUP, devices_opts), ('mdev_$mdev_type', mdev_group_opts())]
