"""[profiles]: GPU capability profiles and the operator's rules.

The vendor profiles shipped in ``mdev_traits/profiles`` map GPUs and
vGPU types to capabilities (CUDA compute capability, graphics APIs, ...);
operators add or override with their own files in ``directory``. See the
README section "GPU capabilities" for the file format.
"""

from oslo_config import cfg

from mdev_traits.mapping import gpu_contract

GROUP = 'profiles'

profiles_opts = [
    cfg.BoolOpt('enabled',
                default=True,
                help='Publish GPU capability traits (display heads, '
                     'resolutions, framebuffer, CUDA compute capability, '
                     'graphics and compute APIs) on the per-GPU '
                     'providers.'),
    cfg.BoolOpt('builtin',
                default=True,
                help='Use the vendor profiles shipped with mdev-traits '
                     '(NVIDIA, Intel). When false only what the hardware '
                     'says (sysfs, NVML) and the operator\'s rules count.'),
    cfg.StrOpt('directory',
               default='/etc/mdev-traits/profiles.d',
               help='Directory of the operator\'s profile and rule files '
                    '(*.yaml, *.yml), applied after the shipped profiles '
                    'in file name order: later files win. Files whose name '
                    'starts with "." are ignored, so tools can write a '
                    'file and rename it into place. A file that is not '
                    'valid is reported and skipped as a whole. Re-read '
                    'every cycle.'),
    cfg.IntOpt('max_file_size',
               default=256 * 1024,
               min=1024,
               help='Largest profile or rule file read, in bytes; a larger '
                    'file is reported and skipped.'),
    cfg.BoolOpt('display_head_inventory',
                default=True,
                help='In manage mode, also report VGPU_DISPLAY_HEAD '
                     'inventory beside VGPU (heads per vGPU x vGPUs, '
                     'max_unit = heads per vGPU), so that a flavor can ask '
                     'for resources1:VGPU_DISPLAY_HEAD=N. nova\'s libvirt '
                     'driver does not report it, so decorate mode never '
                     'does.'),
    cfg.DictOpt('ladder_floors',
                default={},
                help='Floors of the capability ladders, as '
                     'family:level pairs that override the defaults (%s). '
                     'A ladder is published from its floor up: a level '
                     'every device of the shipped profiles has tells the '
                     'scheduler nothing and costs every scheduling '
                     'request. A flavor that asks for a level below the '
                     'floor must ask for the floor (requirements does); a '
                     'device below a floor publishes no trait of that '
                     'family. Lower a floor only when you have devices '
                     'below it.' % ', '.join(
                         '%s:%s' % kv for kv in sorted(
                             gpu_contract.DEFAULT_FLOORS.items()))),
]


def register_opts(conf):
    conf.register_opts(profiles_opts, group=GROUP)


def list_opts():
    return [(GROUP, profiles_opts)]
