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

"""Physical NVIDIA GPUs as NVML sees them (CUDA compute capability).

Uses NVIDIA's Python bindings, nvidia-ml-py (module ``pynvml``), an
optional dependency (``pip install '.[nvml]'``), and only when the
library loads: a host without it, without ``libnvidia-ml.so`` or without a
loaded NVIDIA driver gives an empty, *complete* result and one debug line,
so the source is harmless on every host. Calls (NVML API reference,
"Device Queries"): ``nvmlInit``, ``nvmlDeviceGetCount``,
``nvmlDeviceGetHandleByIndex``, ``nvmlDeviceGetPciInfo`` (``busId`` such
as ``00000000:3B:00.0``, ``pciDeviceId`` = device << 16 | vendor),
``nvmlDeviceGetCudaComputeCapability``, ``nvmlDeviceGetName``,
``nvmlDeviceGetMemoryInfo``, ``nvmlSystemGetDriverVersion``,
``nvmlShutdown``.

The SR-IOV virtual functions of each GPU are read from sysfs
(``bus/pci/devices/<gpu>/virtfnN`` links), so that the mapping can find
the physical GPU of an mdev parent or vGPU that is a VF.

A test (or another binding) passes its own module object as ``nvml``.
"""

import importlib
import os

from oslo_log import log as logging

from mdev_traits.discovery import base
from mdev_traits.discovery import sysfs
from mdev_traits import models

LOG = logging.getLogger(__name__)

MODULE = 'pynvml'

# NVML return codes that mean "no NVIDIA GPU to talk to here" (nvml.h):
# NVML_ERROR_DRIVER_NOT_LOADED, NVML_ERROR_LIBRARY_NOT_FOUND.
_QUIET_ERRORS = (('NVML_ERROR_DRIVER_NOT_LOADED', 9),
                 ('NVML_ERROR_LIBRARY_NOT_FOUND', 12))


def _text(value):
    if isinstance(value, bytes):
        return value.decode('utf-8', 'replace')
    return str(value)


def normalize_bus_id(bus_id):
    """``00000000:3B:00.0`` (NVML) -> ``0000:3b:00.0`` (sysfs)."""
    bus_id = _text(bus_id).strip().lower()
    domain, sep, rest = bus_id.partition(':')
    if not sep:
        return bus_id
    try:
        return '%04x:%s' % (int(domain, 16), rest)
    except ValueError:
        return bus_id


class NvmlCollector(base.Collector):
    """Collect :class:`~mdev_traits.models.GpuInfo` objects from NVML."""

    name = 'nvml'
    kinds = (models.KIND_GPU,)

    def __init__(self, sysfs_root, nvml=None):
        super(NvmlCollector, self).__init__(sysfs_root)
        self._nvml = nvml

    def _load(self):
        if self._nvml is not None:
            return self._nvml
        try:
            return importlib.import_module(MODULE)
        except ImportError:
            return None

    def _quiet(self, nvml, exc):
        value = getattr(exc, 'value', None)
        return any(value == getattr(nvml, name, default)
                   for name, default in _QUIET_ERRORS)

    def collect(self):
        nvml = self._load()
        if nvml is None:
            LOG.debug('nvidia-ml-py (%s) is not installed: no NVML '
                      'information', MODULE)
            return models.DiscoveryResult()
        error = getattr(nvml, 'NVMLError', Exception)
        try:
            nvml.nvmlInit()
        except error as exc:
            if self._quiet(nvml, exc):
                LOG.debug('NVML unavailable on this host: %s', exc)
                return models.DiscoveryResult()
            LOG.warning('NVML initialisation failed: %s', exc)
            return self.failed(['nvml: initialisation failed: %s' % exc])
        try:
            return self._collect(nvml, error)
        finally:
            try:
                nvml.nvmlShutdown()
            except error as exc:
                LOG.debug('nvmlShutdown failed: %s', exc)

    def _collect(self, nvml, error):
        errors = []
        gpus = []
        try:
            count = nvml.nvmlDeviceGetCount()
        except error as exc:
            LOG.warning('NVML cannot count the GPUs: %s', exc)
            return self.failed(['nvml: nvmlDeviceGetCount failed: %s' % exc])
        driver_version = self._optional(
            nvml, error, nvml.nvmlSystemGetDriverVersion)
        for index in range(count):
            try:
                gpus.append(self._read_gpu(nvml, error, index,
                                           driver_version))
            except (error, sysfs.SysfsReadError) as exc:
                LOG.warning('NVML: skipping GPU %d: %s', index, exc)
                errors.append('nvml: GPU %d: %s' % (index, exc))
        complete = not errors
        return models.DiscoveryResult(
            gpu_infos=tuple(sorted(gpus, key=lambda g: g.address)),
            complete=complete,
            incomplete=frozenset() if complete else frozenset(self.kinds),
            errors=tuple(errors))

    @staticmethod
    def _optional(nvml, error, call, *args):
        """A query some GPUs do not support (NVML_ERROR_NOT_SUPPORTED)."""
        try:
            return call(*args)
        except error as exc:
            LOG.debug('NVML %s: %s', getattr(call, '__name__', call), exc)
            return None

    def _read_gpu(self, nvml, error, index, driver_version):
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        pci = nvml.nvmlDeviceGetPciInfo(handle)
        address = normalize_bus_id(pci.busId)
        device_id = int(getattr(pci, 'pciDeviceId', 0) or 0)
        cc = self._optional(nvml, error,
                            nvml.nvmlDeviceGetCudaComputeCapability, handle)
        name = self._optional(nvml, error, nvml.nvmlDeviceGetName, handle)
        memory = self._optional(nvml, error, nvml.nvmlDeviceGetMemoryInfo,
                                handle)
        return models.GpuInfo(
            address=address,
            source=self.name,
            name=_text(name) if name is not None else None,
            vendor='%04x' % (device_id & 0xffff) if device_id else None,
            device='%04x' % (device_id >> 16) if device_id else None,
            cuda_compute_capability=(int(cc[0]), int(cc[1]))
            if cc else None,
            memory_mb=int(memory.total) // (1024 * 1024)
            if memory is not None else None,
            driver_version=_text(driver_version)
            if driver_version is not None else None,
            virtual_functions=self._virtual_functions(address),
        )

    def _virtual_functions(self, address):
        """Addresses of the SR-IOV VFs of ``address`` (``virtfnN``)."""
        device_dir = os.path.join(self.sysfs_root, 'bus', 'pci', 'devices',
                                  address)
        vfs = []
        for entry in sysfs.list_dir(device_dir) or ():
            if entry.startswith('virtfn') and entry[6:].isdigit():
                vf = sysfs.link_name(os.path.join(device_dir, entry))
                if vf:
                    vfs.append(vf.lower())
        return tuple(sorted(vfs))
