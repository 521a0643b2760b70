#!/usr/bin/env python3
#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""(Re)generate the recorded sample hosts in mdev_traits/samples/hosts/.

Each sample host is built with :class:`SysfsBuilder` into a temporary
directory and written as a node_exporter style ``ttar`` archive of the
*contents* of the sysfs root (paths ``bus/...``, ``class/...``,
``devices/...``, ``module/...``; extract it into the directory you will
use as ``[exporter] sysfs_root``), so that the trees are reviewable as
text and reproducible::

    python tools/make_sample_hosts.py            # rewrite all
    python tools/make_sample_hosts.py --check    # fail if out of date
    python tools/make_sample_hosts.py gpu-host-2 # rewrite one

Where the values come from:

* NVIDIA vGPU type ids, names and per-type limits: the "Virtual GPU
  Types for Supported GPUs" tables of the NVIDIA vGPU software user guide
  (and the ``vgpuConfig.xml`` shipped with the host driver).  The
  ``description`` format is what the NVIDIA host driver prints
  (``num_heads=4, frl_config=60, framebuffer=2048M, ...``).  Pre-Ampere
  boards (T4) are mdev parents themselves and time-slice one vGPU type at
  a time: once a vGPU exists, only its type has ``available_instances``
  left.  Ampere boards (A40) are mdev parents through their SR-IOV
  virtual functions, one vGPU per VF.
* Intel GVT-g type names and description format: drivers/gpu/drm/i915/
  gvt (``i915-GVTg_V5_4``: 128MB low / 512MB high graphics memory,
  1920x1200, weight 4; ``_V5_8``: 64MB / 384MB, 1024x768, weight 2).
* ``software_version``, ``compatible_type``, ``compatible_pci_ids`` and
  ``dynamic_resources``: the "device compatibility interface for live
  migration with assigned devices" RFC (Yan Zhao et al., 2020).  No
  upstream driver exposes them; the QAT 4xxx parent of ``mixed-host`` is
  a hypothetical vendor driver that does.
* NVIDIA vGPU on SR-IOV VFs without the mdev bus (``gpu-host-4``) and
  whole-GPU passthrough: see mdev_traits/testing/gpu_builder.py.
* vDPA hosts (``vdpa-host-1``: mlx5_vdpa on ConnectX-6 Dx VFs,
  ``vdpa-host-2``: ifcvf): the sysfs side of the recorded ``vdpa -j``
  outputs of mdev_traits/testing/vdpa_outputs (sources in its
  README.rst), built by mdev_traits/testing/vdpa_tool.py; those outputs
  ship next to the tree as ``<host>.vdpa.json`` ({command: output}),
  played back by :meth:`FakeVdpaTool.use_sample`.
* mtty: samples/vfio-mdev/mtty.c.  vfio-ap: Documentation/arch/s390/
  vfio-ap.rst and drivers/s390/crypto/vfio_ap_*.c.  vfio-ccw:
  Documentation/arch/s390/vfio-ccw.rst.
"""

import argparse
import os
import sys
import tempfile

# Framebuffer in MiB, heads, max resolution and frame rate limit of the
# NVIDIA vGPU types used below (NVIDIA vGPU user guide, GRID T4 and
# NVIDIA A40 tables).
_T4_TYPES = (
    ('nvidia-222', 'GRID T4-1B', 1024, 4, '5120x2880', 45),
    ('nvidia-223', 'GRID T4-2B', 2048, 4, '5120x2880', 45),
    ('nvidia-224', 'GRID T4-2B4', 2048, 4, '5120x2880', 45),
    ('nvidia-225', 'GRID T4-1A', 1024, 1, '1280x1024', 60),
    ('nvidia-226', 'GRID T4-2A', 2048, 1, '1280x1024', 60),
    ('nvidia-227', 'GRID T4-4A', 4096, 1, '1280x1024', 60),
    ('nvidia-228', 'GRID T4-8A', 8192, 1, '1280x1024', 60),
    ('nvidia-229', 'GRID T4-16A', 16384, 1, '1280x1024', 60),
    ('nvidia-230', 'GRID T4-1Q', 1024, 4, '5120x2880', 60),
    ('nvidia-231', 'GRID T4-2Q', 2048, 4, '7680x4320', 60),
)
_T4_FB = 16384

_A40_TYPES = (
    ('nvidia-555', 'NVIDIA A40-1B', 1024, 4, '5120x2880', 45),
    ('nvidia-556', 'NVIDIA A40-2B', 2048, 4, '5120x2880', 45),
    ('nvidia-557', 'NVIDIA A40-1Q', 1024, 4, '5120x2880', 60),
    ('nvidia-558', 'NVIDIA A40-2Q', 2048, 4, '7680x4320', 60),
    ('nvidia-559', 'NVIDIA A40-3Q', 3072, 4, '7680x4320', 60),
    ('nvidia-560', 'NVIDIA A40-4Q', 4096, 4, '7680x4320', 60),
    ('nvidia-561', 'NVIDIA A40-6Q', 6144, 4, '7680x4320', 60),
    ('nvidia-562', 'NVIDIA A40-8Q', 8192, 4, '7680x4320', 60),
)
_A40_FB = 49152
_A40_VFS = 32

_GVT_TYPES = (
    ('i915-GVTg_V5_4', 'GVTg_V5_4', 128, 512, '1920x1200', 4),
    ('i915-GVTg_V5_8', 'GVTg_V5_8', 64, 384, '1024x768', 2),
)

T4 = dict(vendor='10de', device='1eb8', subsystem_vendor='10de',
          subsystem_device='12a2', pci_class='030200')
A40 = dict(vendor='10de', device='2235', subsystem_vendor='10de',
           subsystem_device='145a', pci_class='030200')


def nvidia_types(table, total_fb, max_vfs=None, available=None):
    """Type dicts for an NVIDIA board.

    :param available: {type_id: n} overriding ``available_instances``;
        types not in it get 0.  None: every type at its maximum.
    """
    types = {}
    for type_id, name, fb, heads, res, frl in table:
        max_instance = total_fb // fb
        if max_vfs:
            max_instance = min(max_instance, max_vfs)
        if available is None:
            avail = max_instance
        else:
            avail = available.get(type_id, 0)
        types[type_id] = dict(
            name=name,
            description=('num_heads=%d, frl_config=%d, framebuffer=%dM, '
                         'max_resolution=%s, max_instance=%d'
                         % (heads, frl, fb, res, max_instance)),
            available_instances=avail,
            device_api='vfio-pci')
    return types


def gvt_types(available):
    types = {}
    for type_id, name, low, high, res, weight in _GVT_TYPES:
        types[type_id] = dict(
            name=name,
            description=('low_gm_size: %dMB\nhigh_gm_size: %dMB\n'
                         'fence: 4\nresolution: %s\nweight: %d'
                         % (low, high, res, weight)),
            available_instances=available[type_id],
            device_api='vfio-pci')
    return types


def _two_t4(b, driver_version, mdev_uuid):
    """Two NVIDIA Tesla T4 with one T4-2Q vGPU (``mdev_uuid``) on the
    first."""
    used = 'nvidia-231'
    b.add_pci_mdev_parent(
        '0000:3b:00.0', driver='nvidia', driver_version=driver_version,
        numa_node=0,
        types=nvidia_types(_T4_TYPES, _T4_FB, available={used: 7}),
        instances={used: [mdev_uuid]}, **T4)
    b.add_pci_mdev_parent(
        '0000:d8:00.0', driver='nvidia', driver_version=driver_version,
        numa_node=1, types=nvidia_types(_T4_TYPES, _T4_FB), **T4)


def build_gpu_host_1(b):
    """Two NVIDIA Tesla T4, driver 535.129.03, one vGPU on the first."""
    _two_t4(b, '535.129.03', '4b20d080-1b54-4048-85b3-a6a62d165c01')


def build_gpu_host_2(b):
    """NVIDIA A40 (two SR-IOV VFs enabled) and an Intel UHD 630 (GVT-g)."""
    b.add_pci_device('0000:41:00.0', driver='nvidia',
                     driver_version='550.54.14', numa_node=0, **A40)
    b.write(device_dir(b, '0000:41:00.0') + '/sriov_totalvfs',
            _A40_VFS)
    b.write(device_dir(b, '0000:41:00.0') + '/sriov_numvfs', 2)
    free = nvidia_types(_A40_TYPES, _A40_FB, _A40_VFS,
                        available=dict((t[0], 1) for t in _A40_TYPES))
    b.add_pci_mdev_parent('0000:41:00.4', driver='nvidia',
                          driver_version='550.54.14', numa_node=0,
                          types=free, physfn='0000:41:00.0', **A40)
    b.add_pci_mdev_parent(
        '0000:41:00.5', driver='nvidia', driver_version='550.54.14',
        numa_node=0, physfn='0000:41:00.0',
        types=nvidia_types(_A40_TYPES, _A40_FB, _A40_VFS, available={}),
        instances={'nvidia-558': ['9f1f4c6e-64b2-4d6a-a3d2-5a0c1e7b8d21']},
        **A40)
    b.add_pci_mdev_parent(
        '0000:00:02.0', vendor='8086', device='3e92',
        subsystem_vendor='1028', subsystem_device='085a',
        pci_class='030000', driver='i915', numa_node=-1,
        types=gvt_types({'i915-GVTg_V5_4': 1, 'i915-GVTg_V5_8': 2}))


def device_dir(b, address):
    return b.relpath(os.path.realpath(b.path('bus/pci/devices', address)))


def build_gpu_host_3(b):
    """One NVIDIA Tesla T4 with the older 525.85.05 driver."""
    b.add_pci_mdev_parent(
        '0000:3b:00.0', driver='nvidia', driver_version='525.85.05',
        numa_node=0, types=nvidia_types(_T4_TYPES, _T4_FB), **T4)


def build_gpu_host_5(b):
    """gpu-host-1's two Tesla T4 after a driver update to 535.161.07."""
    _two_t4(b, '535.161.07', '492e5df3-e799-4f0d-9af6-051ff1d79376')


def build_vdpa_host_1(b):
    """Two mlx5 vDPA devices on ConnectX-6 Dx VFs (vdpa0: 8 queue
    pairs, vdpa1: 2), bound to vhost_vdpa."""
    from mdev_traits.testing import samples
    from mdev_traits.testing import vdpa_tool
    vdpa_tool.build_sysfs(b, *samples.get('vdpa-host-1').vdpa_outputs)


def build_vdpa_host_2(b):
    """One vDPA device on an Intel IFC VF (ifcvf, 4 queue pairs),
    bound to vhost_vdpa."""
    from mdev_traits.testing import samples
    from mdev_traits.testing import vdpa_tool
    vdpa_tool.build_sysfs(b, *samples.get('vdpa-host-2').vdpa_outputs)


def build_mixed_host(b):
    """Live-migration-aware vendor parent, mtty, vfio-ap and vfio-ccw."""
    migration = dict(software_version='1.2.0',
                     compatible_pci_ids=['8086:4940', '8086:4941'],
                     dynamic_resources='aggregator',
                     device_api='vfio-pci')
    b.add_pci_mdev_parent(
        '0000:6b:00.0', vendor='8086', device='4940',
        subsystem_vendor='8086', subsystem_device='0000',
        pci_class='0b4000', driver='4xxx', module='qat_4xxx', numa_node=0,
        types={
            '4xxx-sym': dict(name='QAT 4xxx symmetric crypto',
                             description='services=sym, rings=2',
                             available_instances=16,
                             compatible_type='4xxx-sym', **migration),
            '4xxx-dc': dict(name='QAT 4xxx compression',
                            description='services=dc, rings=2',
                            available_instances=16,
                            compatible_type='4xxx-dc', **migration),
        })
    from mdev_traits.testing import sysfs_builder
    b.add_virtual_mdev_parent('mtty', types=sysfs_builder.mtty_types())
    b.add_ap_matrix(
        types=sysfs_builder.ap_matrix_types(72350),
        instances={'vfio_ap-passthrough':
                   ['e1b3e2d6-1c55-4f36-a2a3-34c9cb9a46b0']})
    b.add_ccw_subchannel('0.0.0313')


def build_gpu_host_4(b):
    """H200 with vGPUs on SR-IOV VFs (no mdev bus), L40S on vfio-pci."""
    # Layouts and sources: mdev_traits/testing/gpu_builder.py.
    from mdev_traits.testing import gpu_builder
    types = gpu_builder.H200_VGPU_TYPES
    gpu_builder.add_vgpu_pf(b, '0000:41:00.0', numa_node=0)
    # two VFs with a 1-18C vGPU each, one with a 2-35C, one still free
    gpu_builder.add_vgpu_vf(b, '0000:41:00.4', '0000:41:00.0',
                            current=1414)
    gpu_builder.add_vgpu_vf(b, '0000:41:00.5', '0000:41:00.0',
                            current=1414)
    gpu_builder.add_vgpu_vf(b, '0000:41:00.6', '0000:41:00.0',
                            current=1416)
    gpu_builder.add_vgpu_vf(b, '0000:41:00.7', '0000:41:00.0',
                            creatable=[t for t in types
                                       if t[0] in (1414, 1415, 1416)])
    gpu_builder.add_passthrough_gpu(b, '0000:c1:00.0', numa_node=1)


# sample host -> its builder (the catalogue of the hosts, what each
# models and its sources: mdev_traits.testing.samples.HOSTS)
BUILDERS = {
    'gpu-host-1': build_gpu_host_1,
    'gpu-host-2': build_gpu_host_2,
    'gpu-host-3': build_gpu_host_3,
    'gpu-host-4': build_gpu_host_4,
    'gpu-host-5': build_gpu_host_5,
    'mixed-host': build_mixed_host,
    'vdpa-host-1': build_vdpa_host_1,
    'vdpa-host-2': build_vdpa_host_2,
}


def render_vdpa(name):
    """The ``<name>.vdpa.json`` text of a vDPA sample host, or None."""
    from mdev_traits.testing import samples
    from mdev_traits.testing import vdpa_tool

    sets = samples.get(name).vdpa_outputs
    if not sets:
        return None
    return vdpa_tool.recorded_outputs_text(*sets)


def render(name):
    """Return the archive text of sample host ``name``."""
    from mdev_traits.testing import samples
    from mdev_traits.testing import sysfs_builder
    from mdev_traits import ttar

    host = samples.get(name)
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, 'sys')
        BUILDERS[name](sysfs_builder.SysfsBuilder(root))
        header = ('Sample host %s: %s\nGenerated by '
                  'tools/make_sample_hosts.py; do not edit by hand.'
                  % (name, host.models))
        return ttar.create(root, arcname='', header=header)


def main(argv=None):
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if repo not in sys.path:
        sys.path.insert(0, repo)
    from mdev_traits.testing import samples
    from mdev_traits import ttar

    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('names', nargs='*', metavar='HOST',
                        help='hosts to build (default: all)')
    parser.add_argument('--check', action='store_true',
                        help='only compare with the files, exit 1 if any '
                             'differs')
    parser.add_argument('--output-dir', default=None,
                        help='default: mdev_traits/samples/hosts')
    args = parser.parse_args(argv)
    out_dir = args.output_dir or samples.DIRECTORY
    names = args.names or samples.names()
    stale = []
    for name in names:
        if name not in samples.names():
            parser.error('unknown host %r' % name)
        text = render(name)
        path = os.path.join(out_dir, name + '.ttar')
        vdpa_text = render_vdpa(name)
        vdpa_path = os.path.join(out_dir, name + '.vdpa.json')
        if args.check:
            for want, at in ((text, path), (vdpa_text, vdpa_path)):
                if want is None:
                    continue
                try:
                    with open(at, encoding='utf-8', newline='') as f:
                        current = f.read()
                except FileNotFoundError:
                    current = None
                if current != want:
                    stale.append(at)
            continue
        os.makedirs(out_dir, exist_ok=True)
        ttar.write_archive(path, text)
        print('wrote %s (%d lines)' % (path, text.count('\n')))
        if vdpa_text is not None:
            with open(vdpa_path, 'w', encoding='utf-8') as f:
                f.write(vdpa_text)
            print('wrote %s' % vdpa_path)
    for path in stale:
        print('%s is out of date, run tools/make_sample_hosts.py' % path)
    return 1 if stale else 0


if __name__ == '__main__':
    sys.exit(main())
