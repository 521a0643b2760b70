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

"""Fake sysfs layouts of GPUs without mdev types, on a
:class:`mdev_traits.testing.sysfs_builder.SysfsBuilder`.

* NVIDIA vGPU on SR-IOV virtual functions, the "vendor-specific VFIO
  framework" of NVIDIA vGPU software 17 and later (Ada, Hopper and later
  GPUs; NVIDIA Virtual GPU Software User Guide, "Creating an NVIDIA vGPU
  on a Linux with KVM Hypervisor that uses a vendor-specific VFIO
  framework": VFs are enabled with ``sriov-manage -e``, a vGPU is created
  by writing a type id from ``creatable_vgpu_types`` to
  ``current_vgpu_type``)::

      devices/.../<pf>/  vendor device class ... sriov_totalvfs sriov_numvfs
                         driver -> bus/pci/drivers/nvidia, virtfnN -> ../<vf>
      devices/.../<vf>/  vendor device class ... physfn -> ../<pf>
                         driver -> bus/pci/drivers/nvidia
          nvidia/creatable_vgpu_types   "ID    : vGPU Name"
                                        "1414  : NVIDIA H200X-1-18C"
          nvidia/current_vgpu_type      "0" (none) or a type id

  The guide shows the two files and their format; the driver the VFs are
  bound to and the content of ``creatable_vgpu_types`` once a VF has a
  type are not documented there: the helpers bind VFs to ``nvidia`` and
  list nothing creatable on a VF that has a type, and discovery depends
  on neither.

* Whole-GPU passthrough: a display controller bound to ``vfio-pci``
  (module ``vfio_pci``; kernel ``Documentation/driver-api/vfio.rst``).

vGPU type ids and names in the samples are illustrative (the guide's own
example is ``1414 : NVIDIA H200X-1-18C``).
"""

import os

H200 = dict(vendor='10de', device='2335', subsystem_vendor='10de',
            subsystem_device='18be', pci_class='030200')
H100 = dict(vendor='10de', device='2331', subsystem_vendor='10de',
            subsystem_device='1626', pci_class='030200')
L40S = dict(vendor='10de', device='26b9', subsystem_vendor='10de',
            subsystem_device='1851', pci_class='030200')

# MIG-backed C-series types of an H200 (illustrative ids, see above).
H200_VGPU_TYPES = (
    (1414, 'NVIDIA H200X-1-18C'),
    (1415, 'NVIDIA H200X-1-35C'),
    (1416, 'NVIDIA H200X-2-35C'),
    (1417, 'NVIDIA H200X-3-71C'),
    (1418, 'NVIDIA H200X-4-71C'),
    (1419, 'NVIDIA H200X-7-141C'),
)

CREATABLE_HEADER = 'ID    : vGPU Name'


def creatable_text(types, header=True):
    """Content of ``nvidia/creatable_vgpu_types`` for [(id, name)]."""
    lines = [CREATABLE_HEADER] if header else []
    lines.extend('%-5d : %s' % (type_id, name) for type_id, name in types)
    return '\n'.join(lines) + '\n'


def add_vgpu_pf(builder, address, total_vfs=16, driver_version='550.90.05',
                numa_node=0, ids=None):
    """The physical GPU of SR-IOV vGPUs, bound to ``nvidia``."""
    dev = builder.add_pci_device(address, driver='nvidia',
                                 driver_version=driver_version,
                                 numa_node=numa_node, **(ids or H200))
    builder.write(dev + '/sriov_totalvfs', total_vfs)
    builder.write(dev + '/sriov_numvfs', 0)
    return dev


def add_vgpu_vf(builder, address, physfn, creatable=(), current=0,
                header=True, numa_node=0, ids=None, driver='nvidia'):
    """An SR-IOV VF of ``physfn`` with the ``nvidia/`` vGPU attributes.

    :param creatable: [(type id, name)] written to creatable_vgpu_types.
    :param current: current_vgpu_type (0: no vGPU on this VF).
    """
    dev = builder.add_pci_device(address, driver=driver, physfn=physfn,
                                 numa_node=numa_node, **(ids or H200))
    builder.write(dev + '/nvidia/creatable_vgpu_types',
                  creatable_text(creatable, header))
    builder.write(dev + '/nvidia/current_vgpu_type', current)
    pf = builder.relpath(os.path.realpath(
        builder.path('bus/pci/devices', physfn.lower())))
    numvfs = len([n for n in os.listdir(builder.path(pf))
                  if n.startswith('virtfn')])
    builder.write(pf + '/sriov_numvfs', numvfs)
    return dev


def add_passthrough_gpu(builder, address, numa_node=0, ids=None):
    """A whole GPU bound to vfio-pci."""
    return builder.add_pci_device(address, driver='vfio-pci',
                                  module='vfio_pci', numa_node=numa_node,
                                  **(ids or L40S))
