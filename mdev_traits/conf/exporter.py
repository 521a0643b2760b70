import socket

from oslo_config import cfg

GROUP = 'exporter'

MODE_DECORATE = 'decorate'
MODE_MANAGE = 'manage'

exporter_opts = [
    cfg.StrOpt('root_provider_name',
               default=socket.gethostname(),
               sample_default='<this host name>',
               help='Name of the compute node resource provider, i.e. what '
                    'nova-compute reports as hypervisor_hostname (libvirt: '
                    'the host name). Per-device providers are named '
                    '"<root_provider_name>_<device>" the way nova names '
                    'them.'),
    cfg.StrOpt('sysfs_root',
               default='/sys',
               help='Directory where sysfs is read. Every piece of '
                    'hardware information is read under it, so a fake '
                    'tree can stand in for the real one.'),
    cfg.StrOpt('mode',
               default=MODE_DECORATE,
               choices=[
                   (MODE_DECORATE,
                    'Only add and remove our traits on per-device '
                    'providers that already exist (nova-compute creates '
                    'them and their VGPU inventory when it manages '
                    'vGPUs).'),
                   (MODE_MANAGE,
                    'Also create the per-device child providers and set '
                    'their inventories, for hosts where nova does not '
                    'manage the mediated devices.'),
               ],
               help='How much of the provider tree the exporter writes.'),
    cfg.BoolOpt('create_root_provider',
                default=False,
                help='Create the compute node provider when it does not '
                     'exist. nova-compute owns that provider: enable this '
                     'only for tests, demos and standalone use.'),
    cfg.IntOpt('interval',
               default=60,
               min=1,
               help='Seconds between two discovery and reconcile cycles '
                    'when running as a daemon.'),
    cfg.FloatOpt('interval_jitter',
                 default=0.1,
                 min=0.0,
                 max=0.5,
                 help='Random spread applied to each interval, as a '
                      'fraction of it (0.1: each wait lasts between 90% '
                      'and 110% of the interval), so that a fleet started '
                      'at the same time does not hit Placement in step.'),
    cfg.StrOpt('state_file',
               default='/var/lib/mdev-traits/state.json',
               help='File where the exporter records which traits and '
                    'inventories it set, so that after a restart it '
                    'still removes only what it owns. When it cannot be '
                    'read or written the exporter falls back to the '
                    'trait prefixes it reserves (CUSTOM_MDEV_, '
                    'CUSTOM_PCI_VENDOR_, CUSTOM_PCI_DEVICE_, CUSTOM_VDPA_, '
                    'CUSTOM_VIRTIO_).'),
    cfg.StrOpt('status_file',
               help='File where the daemon (and --once) writes, after every '
                    'cycle, when the last full sync was and what is held '
                    'back and why, for "mdev-traits-exporter status". '
                    'Unset: status.json in the directory of [exporter] '
                    'state_file.'),
    cfg.IntOpt('heartbeat_interval',
               default=3600,
               min=0,
               help='Seconds between two "Alive" INFO lines in the log '
                    '(last full sync, cycles, failures and changes since '
                    'the previous one), so that a quiet log still shows '
                    'that the daemon works. 0: none. Cycles that change '
                    'something log one INFO line each anyway.'),
    cfg.ListOpt('discovery_sources',
                default=['mdev', 'vdpa'],
                help='Discovery sources to run, by entry point name in the '
                     '"mdev_traits.discovery" namespace. "vdpa" costs '
                     'nothing on a host without /sys/bus/vdpa (the vdpa '
                     'tool is not even run there).'),
    cfg.IntOpt('max_conflict_retries',
               default=3,
               min=0,
               help='How many times a write that Placement refuses with a '
                    'generation conflict (409 placement.concurrent_update) '
                    'is retried after re-reading the provider.'),
    cfg.FloatOpt('retry_initial_delay',
                 default=2.0,
                 min=0.1,
                 help='After a failed cycle (Placement down, 5xx, '
                      'timeouts, refused credentials), wait this many '
                      'seconds before the first retry, then twice as long '
                      'each time, up to [exporter] interval (capped '
                      'exponential backoff, with the same jitter).'),
    cfg.BoolOpt('hotplug',
                default=True,
                help='Also run a cycle soon after a udev add, remove or '
                     'change event of the mdev, pci or vdpa subsystems '
                     '(needs pyudev and libudev). The periodic cycle stays: '
                     'available_instances changes emit no event.'),
    cfg.FloatOpt('hotplug_debounce',
                 default=2.0,
                 min=0.0,
                 help='Seconds without a new udev event before the cycle '
                      'they trigger starts, so that a burst of events makes '
                      'one cycle.'),
    cfg.BoolOpt('check_enabled_types',
                default=True,
                help='At start, refuse (exit status 2) a [devices] '
                     'enabled_mdev_types entry that no mdev parent of this '
                     'host offers, naming the file that sets it. Disable '
                     'for a configuration shared by hosts with different '
                     'GPU models.'),
]


def register_opts(conf):
    conf.register_opts(exporter_opts, group=GROUP)


def list_opts():
    return [(GROUP, exporter_opts)]
