"""Fake GPU hosts for the benchmarks, built with
:class:`mdev_traits.testing.sysfs_builder.SysfsBuilder`.

Each GPU is a PCI mdev parent bound to the ``nvidia`` driver, with
``types_per_gpu`` vGPU types that carry the attributes the NVIDIA vGPU
manager exposes (``name``, ``description``, ``available_instances``,
``device_api``, a write-only ``create`` and a ``devices/`` directory),
plus the live-migration compatibility attributes the mapping understands
(``software_version``, ``compatible_pci_ids``) on every fourth type, and
two existing mdevs on every GPU.
"""

import os
import statistics
import time

from mdev_traits.mapping import mdev as mdev_mapping
from mdev_traits.testing import sysfs_builder

DRIVER_VERSION = '535.129.03'
# The type nova would be configured with on every GPU
# ([devices] enabled_mdev_types).
ENABLED_TYPE = 'nvidia-500'


def gpu_address(index):
    """A distinct PCI address per GPU: 0000:<bus>:00.0."""
    return '0000:%02x:00.0' % (0x10 + index)


def gpu_types(types_per_gpu):
    types = {}
    for i in range(types_per_gpu):
        framebuffer = 1 << (i % 6)
        instances = max(1, 48 // framebuffer)
        attrs = dict(
            name='GRID A40-%dQ' % framebuffer if i % 2 else
            'GRID A40-%dC' % framebuffer,
            description='num_heads=4, frl_config=60, framebuffer=%dM, '
                        'max_resolution=7680x4320, max_instance=%d'
                        % (framebuffer * 1024, instances),
            available_instances=instances - (2 if i == 0 else 0),
            device_api='vfio-pci',
            create=b'')
        if i % 4 == 0:
            attrs['software_version'] = DRIVER_VERSION
            attrs['compatible'] = {'pci_ids': ['10de_2235', '10de_2236']}
        types['nvidia-%d' % (500 + i)] = attrs
    return types


def build_host(root, gpus, types_per_gpu):
    """Create the sysfs tree of one host under ``root``; return it."""
    builder = sysfs_builder.SysfsBuilder(root)
    types = gpu_types(types_per_gpu)
    for g in range(gpus):
        address = gpu_address(g)
        builder.add_pci_mdev_parent(
            address, vendor='10de', device='2235', driver='nvidia',
            driver_version=DRIVER_VERSION, numa_node=g % 2, types=types,
            instances={ENABLED_TYPE: [
                '%08x-0000-4000-8000-%012x' % (g, k) for k in range(2)]})
    # "create" is write-only in sysfs
    for dirpath, _dirs, files in os.walk(os.path.join(root, 'devices')):
        if 'create' in files:
            os.chmod(os.path.join(dirpath, 'create'), 0o200)
    return builder


def mdev_config(enabled=(ENABLED_TYPE,)):
    return mdev_mapping.MdevConfig(enabled_types=tuple(enabled))


def percentile(values, pct):
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1,
                   int(round(pct / 100.0 * (len(ordered) - 1)))))
    return ordered[k]


def summary(values):
    """'median X ms, p95 Y ms' for durations in seconds."""
    return 'median %7.1f ms  p95 %7.1f ms  (n=%d)' % (
        statistics.median(values) * 1000, percentile(values, 95) * 1000,
        len(values))


def timed(func, *args, **kwargs):
    t0 = time.perf_counter()
    result = func(*args, **kwargs)
    return time.perf_counter() - t0, result


def machine():
    return '%d CPU core(s), %s' % (os.cpu_count() or 0, os.uname().machine)
