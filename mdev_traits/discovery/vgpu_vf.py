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

"""GPUs without mdev types: NVIDIA vGPU on SR-IOV VFs, whole-GPU passthrough.

nova schedules both with PCI in Placement (``[pci] device_spec`` with
``resource_class`` and ``traits``), and nova sets the traits of those PCI
providers itself, replacing whatever else is there. The exporter does not
decorate them; ``mdev-traits-exporter device-spec`` prints the
``device_spec`` entries that make nova publish the same capability traits.

Layouts read (under ``bus/pci/devices/<address>``):

* vGPU on a VF (NVIDIA vGPU software 17 and later on Ada, Hopper and
  later GPUs with the vendor-specific VFIO framework: no mdev bus; NVIDIA
  Virtual GPU Software User Guide, "Creating an NVIDIA vGPU on a Linux
  with KVM Hypervisor that uses a vendor-specific VFIO framework")::

      <vf>/physfn -> ../<pf>
      <vf>/nvidia/creatable_vgpu_types    "ID    : vGPU Name" header, then
                                          lines "1414  : NVIDIA H200X-1-18C"
      <vf>/nvidia/current_vgpu_type       decimal type id, 0 = none

* whole-GPU passthrough: a display controller (PCI class 0x03xxxx) bound
  to ``vfio-pci`` (kernel ``Documentation/driver-api/vfio.rst``).

A device that vanishes while being read is left out; one whose attributes
are garbage is left out with a warning and makes the result incomplete.
"""

import dataclasses
import os
import re

from oslo_log import log as logging

from mdev_traits.discovery import base
from mdev_traits.discovery import gpu_description
from mdev_traits.discovery import pci
from mdev_traits.discovery import sysfs
from mdev_traits import models

LOG = logging.getLogger(__name__)

PASSTHROUGH_DRIVERS = ('vfio-pci',)
DISPLAY_CLASS_PREFIX = '03'
_TYPE_LINE_RE = re.compile(r'^\s*(\d+)\s*:\s*(.*\S)\s*$')


def parse_creatable_types(text):
    """``creatable_vgpu_types`` -> ((id, name), ...); header and blank
    lines are skipped."""
    types = []
    for line in (text or '').splitlines():
        match = _TYPE_LINE_RE.match(line)
        if match:
            types.append((int(match.group(1)), match.group(2)))
    return tuple(types)


class VgpuVfCollector(base.Collector):
    """Collect :class:`~mdev_traits.models.PciGpu` objects from sysfs."""

    name = 'vgpu_vf'
    kinds = (models.KIND_GPU,)

    @property
    def devices_dir(self):
        return os.path.join(self.sysfs_root, 'bus', 'pci', 'devices')

    def collect(self):
        try:
            addresses = sysfs.list_dir(self.devices_dir)
        except sysfs.SysfsReadError as e:
            LOG.warning('Cannot list PCI devices in %(path)s: %(reason)s',
                        {'path': e.path, 'reason': e.reason})
            return self.failed([str(e)])
        errors = []
        found = []
        for address in addresses or ():
            try:
                gpu = self._read(address)
            except sysfs.SysfsReadError as e:
                LOG.warning('Skipping PCI device %(addr)s (%(path)s): '
                            '%(reason)s', {'addr': address, 'path': e.path,
                                           'reason': e.reason})
                errors.append(str(e))
                continue
            if gpu is not None:
                found.append(gpu)
        found = self._name_current_types(found)
        complete = not errors
        return models.DiscoveryResult(
            pci_gpus=tuple(found), complete=complete,
            incomplete=frozenset() if complete else frozenset(self.kinds),
            errors=tuple(errors))

    def _read(self, address):
        device_dir = os.path.realpath(os.path.join(self.devices_dir,
                                                   address))
        if not os.path.isdir(device_dir):
            return None   # dangling link: unplugged meanwhile
        nvidia_dir = os.path.join(device_dir, 'nvidia')
        creatable = sysfs.read_attr(os.path.join(nvidia_dir,
                                                 'creatable_vgpu_types'))
        current = sysfs.read_int(os.path.join(nvidia_dir,
                                              'current_vgpu_type'))
        if creatable is not None or current is not None:
            info = pci.read_pci_info(self.sysfs_root, device_dir, address)
            if current is not None and current < 0:
                raise sysfs.SysfsReadError(
                    os.path.join(nvidia_dir, 'current_vgpu_type'),
                    'negative value %d' % current)
            gpu = models.PciGpu(
                pci=info, mode=models.GPU_MODE_VGPU_VF,
                physfn=self._physfn(device_dir),
                creatable_vgpu_types=parse_creatable_types(creatable),
                current_vgpu_type=(current, None) if current else None)
        else:
            pci_class = sysfs.read_attr(os.path.join(device_dir, 'class'))
            if not pci_class:
                return None
            pci_class = pci_class.lower()
            if pci_class.startswith('0x'):
                pci_class = pci_class[2:]
            if not pci_class.startswith(DISPLAY_CLASS_PREFIX):
                return None
            driver = sysfs.link_name(os.path.join(device_dir, 'driver'))
            if driver not in PASSTHROUGH_DRIVERS:
                return None
            info = pci.read_pci_info(self.sysfs_root, device_dir, address)
            gpu = models.PciGpu(pci=info, mode=models.GPU_MODE_PASSTHROUGH,
                                physfn=self._physfn(device_dir))
        if not os.path.isdir(device_dir):
            return None   # read from a device that was being removed
        return gpu

    @staticmethod
    def _physfn(device_dir):
        name = sysfs.link_name(os.path.join(device_dir, 'physfn'))
        return name.lower() if name else None

    @staticmethod
    def _name_current_types(found):
        """Name each VF's current type from the creatable lists of the
        host (a VF whose type is set may no longer list it)."""
        known = {}
        for gpu in found:
            for type_id, type_name in gpu.creatable_vgpu_types:
                known.setdefault(type_id, type_name)
        named = []
        for gpu in found:
            if gpu.current_vgpu_type is not None:
                type_id = gpu.current_vgpu_type[0]
                gpu = gpu_description.describe_pci_gpu(dataclasses.replace(
                    gpu, current_vgpu_type=(type_id, known.get(type_id))))
            named.append(gpu)
        return named
