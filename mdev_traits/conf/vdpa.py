"""vDPA options ([vdpa]).

Read by the ``vdpa`` discovery source (mdev_traits.discovery.vdpa) and by
the vDPA mapping (mdev_traits.mapping.vdpa). vDPA providers are only
published with ``[exporter] mode = manage``: nova does not create them.
"""

from oslo_config import cfg
from oslo_config import types

GROUP = 'vdpa'

_RC = r'^CUSTOM_[A-Z0-9_]+$'

vdpa_opts = [
    cfg.StrOpt('command',
               default='vdpa',
               help='The iproute2 "vdpa" tool: a program name looked up in '
                    'PATH or an absolute path, with arguments if needed '
                    '(split like a shell word list). It is run as '
                    '"<command> -j mgmtdev show", "-j dev show" and "-j dev '
                    'config show", as the exporter\'s own user: reading '
                    'needs no privilege (the systemd unit sets '
                    'NoNewPrivileges=yes, so a setuid wrapper such as sudo '
                    'cannot work there). On a host without /sys/bus/vdpa '
                    'it is never run.'),
    cfg.IntOpt('command_timeout',
               default=10,
               min=1,
               help='Seconds each run of the vdpa tool may take, and '
                    'the netlink read of the devices\' own features in '
                    'all. A "dev show" that times out counts as a failed '
                    'read: no vDPA provider is changed or removed in that '
                    'cycle; another command or the netlink read timing '
                    'out leaves the devices with additions only.'),
    cfg.StrOpt('resource_class',
               default='CUSTOM_VDPA_{type}',
               regex=r'^CUSTOM_[A-Z0-9_]*(\{type\}[A-Z0-9_]*)?$',
               max_length=255,
               help='Resource class of the inventory (total 1) of each '
                    'vDPA device bound to vhost_vdpa. "{type}" is '
                    'replaced by the upper-case virtio device type (NET, '
                    'BLOCK), so the default gives CUSTOM_VDPA_NET for a '
                    'vDPA NIC. [vdpa] type_resource_classes overrides it '
                    'per type.'),
    cfg.Opt('type_resource_classes',
            type=types.Dict(value_type=types.String(regex=_RC,
                                                    max_length=255)),
            default={},
            help='Resource class per virtio device type, overriding '
                 '[vdpa] resource_class for that type, e.g. '
                 '"net:CUSTOM_VDPA_NIC,block:CUSTOM_VDPA_DISK". Types '
                 'are the virtio class names the vdpa tool uses '
                 '("net", "block").'),
    cfg.ListOpt('physical_device_mappings',
                default=[],
                item_type=types.String(regex=r'^[^:\s]+:[^:\s]+$'),
                help='"<physical network>:<PF network interface>" pairs, '
                     'as neutron\'s SR-IOV agent takes them, e.g. '
                     '"physnet1:ens1f0np0". A vDPA device whose physical '
                     'function has that interface (the VF\'s '
                     'physfn/net/<ifname>, or the interface of the PCI '
                     'device itself) also gets neutron\'s '
                     'CUSTOM_PHYSNET_<PHYSNET> and CUSTOM_VNIC_TYPE_VDPA '
                     'traits. A physical network may be listed with '
                     'several interfaces.'),
]


def register_opts(conf):
    conf.register_opts(vdpa_opts, group=GROUP)


def list_opts():
    return [(GROUP, vdpa_opts)]
