"""The recorded sample hosts: one catalogue.

Each sample host ships in ``mdev_traits/samples/hosts`` as ``<name>.ttar``
(a node_exporter style archive of the *contents* of a sysfs root, written
by ``tools/make_sample_hosts.py``), ``<name>.conf`` (the configuration
snippet the demo and the guide use with it) and, for a vDPA host,
``<name>.vdpa.json`` (what its ``vdpa`` tool prints, played back by
:meth:`mdev_traits.testing.vdpa_tool.FakeVdpaTool.use_sample`).

:data:`HOSTS` is the one list of them: the demo, ``make_sample_hosts``,
the tests and the benchmarks take their hosts from it. Standard library
only.
"""

import dataclasses
import os
import typing

from mdev_traits import ttar

DIRECTORY = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    'samples', 'hosts')


@dataclasses.dataclass(frozen=True)
class SampleHost(object):
    name: str
    # what the host models (the first comment line of its archive)
    models: str
    # where its values come from
    source: str
    # the recorded ``vdpa -j`` output sets it plays back
    # (mdev_traits/testing/vdpa_outputs/<set>); empty: no vDPA device
    vdpa_outputs: typing.Tuple[str, ...] = ()

    @property
    def archive(self):
        """Path of ``<name>.ttar``."""
        return os.path.join(DIRECTORY, self.name + '.ttar')

    @property
    def config(self):
        """Path of ``<name>.conf``, the configuration snippet."""
        return os.path.join(DIRECTORY, self.name + '.conf')

    @property
    def vdpa_json(self):
        """Path of ``<name>.vdpa.json``; None for a host without vDPA."""
        if not self.vdpa_outputs:
            return None
        return os.path.join(DIRECTORY, self.name + '.vdpa.json')

    def extract(self, sysfs_root):
        """Extract the tree into ``sysfs_root`` (the archive holds its
        contents: ``bus/``, ``class/``, ``devices/``, ``module/``);
        return ``sysfs_root``."""
        ttar.extract(self.archive, sysfs_root)
        return sysfs_root


_NVIDIA = ('NVIDIA vGPU software user guide, "Virtual GPU Types for '
           'Supported GPUs" (type ids, names, limits) and the description '
           'the NVIDIA host driver prints')

HOSTS = (
    SampleHost(
        'gpu-host-1',
        'Two NVIDIA Tesla T4, driver 535.129.03, one vGPU on the first.',
        _NVIDIA + ' (GRID T4 table); pre-Ampere boards time-slice one '
        'type at a time'),
    SampleHost(
        'gpu-host-2',
        'NVIDIA A40 (two SR-IOV VFs enabled) and an Intel UHD 630 '
        '(GVT-g).',
        _NVIDIA + ' (NVIDIA A40 table: one vGPU per VF); Intel GVT-g '
        'types: linux drivers/gpu/drm/i915/gvt'),
    SampleHost(
        'gpu-host-3',
        'One NVIDIA Tesla T4 with the older 525.85.05 driver.',
        _NVIDIA + ' (GRID T4 table)'),
    SampleHost(
        'gpu-host-4',
        'H200 with vGPUs on SR-IOV VFs (no mdev bus), L40S on vfio-pci.',
        'mdev_traits/testing/gpu_builder.py (NVIDIA vGPU 17+ '
        'vendor-specific VFIO framework, nova PCI in Placement)'),
    SampleHost(
        'gpu-host-5',
        "gpu-host-1's two Tesla T4 after a driver update to 535.161.07.",
        _NVIDIA + ' (GRID T4 table)'),
    SampleHost(
        'mixed-host',
        'Live-migration-aware vendor parent, mtty, vfio-ap and vfio-ccw.',
        'device compatibility interface for live migration RFC (Yan Zhao '
        'et al., 2020; a hypothetical QAT 4xxx driver exposes it); linux '
        'samples/vfio-mdev/mtty.c, Documentation/arch/s390/vfio-ap.rst, '
        'drivers/s390/crypto/vfio_ap_*.c, '
        'Documentation/arch/s390/vfio-ccw.rst'),
    SampleHost(
        'vdpa-host-1',
        'Two mlx5 vDPA devices on ConnectX-6 Dx VFs (vdpa0: 8 queue '
        'pairs, vdpa1: 2), bound to vhost_vdpa.',
        'recorded iproute2 vdpa outputs of mlx5_vdpa '
        '(mdev_traits/testing/vdpa_outputs/README.rst)',
        ('mlx5',)),
    SampleHost(
        'vdpa-host-2',
        'One vDPA device on an Intel IFC VF (ifcvf, 4 queue pairs), bound '
        'to vhost_vdpa.',
        'recorded iproute2 vdpa outputs of ifcvf '
        '(mdev_traits/testing/vdpa_outputs/README.rst)',
        ('ifcvf',)),
)


def names():
    """The names of the sample hosts, sorted."""
    return sorted(host.name for host in HOSTS)


def get(name):
    """The :class:`SampleHost` called ``name``.

    :raises ValueError: no such sample host.
    """
    for host in HOSTS:
        if host.name == name:
            return host
    raise ValueError('unknown sample host %r (known: %s)'
                     % (name, ', '.join(names())))
