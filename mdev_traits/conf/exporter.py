import socket

from oslo_config import cfg

from mdev_traits.mapping import budget
from mdev_traits.mapping import versions

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
               help='The exporter\'s ownership record: which traits it set '
                    'on which provider, which providers it created, which '
                    'resource classes it manages and which reservations it '
                    'made itself. It writes only what this record names '
                    'or what it describes this cycle, and records '
                    'additions and creations before making them. A file '
                    'that cannot be read is moved aside to '
                    '<state_file>.corrupt-<UTC time>; then, and only on '
                    'the providers it describes, traits with the prefixes '
                    'it reserves (CUSTOM_MDEV_, CUSTOM_PCI_VENDOR_, '
                    'CUSTOM_PCI_DEVICE_, CUSTOM_VDPA_, CUSTOM_VIRTIO_) '
                    'and the traits it wants that are already there are '
                    'taken as its own. A record written on another host '
                    '(see host_id_file) is refused. <state_file>.lock is '
                    'locked while a cycle runs. Empty: keep the record in '
                    'memory only (tests).'),
    cfg.StrOpt('host_id_file',
               default='/etc/machine-id',
               advanced=True,
               help='File whose first line identifies this host in the '
                    'state file, so that a state file copied from another '
                    'host (a cloned image) is refused. Unreadable: the '
                    'record names no host and is not checked.'),
    cfg.FloatOpt('state_lock_timeout',
                 default=60.0,
                 min=0.0,
                 advanced=True,
                 help='Seconds to wait for the lock on the state file when '
                      'another exporter process (the daemon, a --once run) '
                      'holds it; then the cycle publishes nothing and says '
                      'so in one line.'),
    cfg.IntOpt('withdrawal_confirm_cycles',
               default=3,
               min=1,
               help='A cycle that would withdraw more than half of the '
                    'exporter\'s traits or providers at once only adds, '
                    'and logs what it holds back, until this many '
                    'consecutive cycles (daemon cycles or --once runs) '
                    'found the same withdrawal. 1 withdraws at once.'),
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
    cfg.IntOpt('trait_catalog_interval',
               default=5,
               min=1,
               max=1000,
               help='Read the driver version bucket traits that exist in '
                    'Placement (GET /traits?name=startswith:'
                    'CUSTOM_MDEV_SWVER_, one request) every this many '
                    'cycles. A host at driver version M.m publishes the '
                    'bucket of its own minor and those of the lower '
                    'minors of M that exist (some host ran them, or an '
                    'operator created the trait as a threshold), so a '
                    'bucket a host creates reaches every host with a '
                    'later minor within this many cycles. The default '
                    'keeps the steady state at 1.2 requests per cycle.'),
    cfg.IntOpt('max_version_buckets',
               default=versions.DEFAULT_MAX_BUCKETS,
               min=0,
               max=64,
               help='Buckets of lower minors a GPU provider publishes at '
                    'most, per driver branch: the highest ones that exist '
                    'in Placement below its own minor. Its own bucket is '
                    'always published. A workload started under a lower '
                    'minor whose bucket is left out is not offered this '
                    'host (a warning names the oldest one); the default '
                    'leaves room for a long-term branch\'s releases. A '
                    'minor above %d (a date, a build number) publishes its '
                    'own bucket only.' % versions.MAX_MINOR),
    cfg.IntOpt('max_traits_per_provider',
               default=budget.DEFAULT_MAX_TRAITS,
               min=16,
               max=budget.HARD_MAX_TRAITS,
               help='Most traits the exporter publishes on one GPU (mdev) '
                    'provider. Each trait is paid on every scheduling '
                    'request (Placement returns the traits of every '
                    'candidate provider). Over it, the provider drops the '
                    'lowest version buckets from the fleet first, then '
                    'whole capability families, with a '
                    'warning; see benchmarks/README.rst for the cost.'),
]


def register_opts(conf):
    conf.register_opts(exporter_opts, group=GROUP)


def list_opts():
    return [(GROUP, exporter_opts)]
