"""A stand-in for NVIDIA's ``pynvml`` module (nvidia-ml-py), for tests.

Only what :mod:`mdev_traits.discovery.nvml` calls, with the same shapes
as nvidia-ml-py: ``nvmlDeviceGetPciInfo`` returns an object with
``busId`` (bytes, ``00000000:3B:00.0``) and ``pciDeviceId`` (device << 16
| vendor); ``nvmlDeviceGetCudaComputeCapability`` a (major, minor) tuple;
``nvmlDeviceGetMemoryInfo`` an object with ``total`` in bytes; failures
raise ``NVMLError`` carrying the NVML return code in ``value``. Inject an
instance as ``NvmlCollector(sysfs_root, nvml=FakeNvml(...))``: the real
library is never needed.
"""

import dataclasses
import types
import typing

# nvml.h return codes
NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NO_PERMISSION = 4
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_LIBRARY_NOT_FOUND = 12
NVML_ERROR_UNKNOWN = 999


class NVMLError(Exception):
    def __init__(self, value):
        super(NVMLError, self).__init__(value)
        self.value = value

    def __str__(self):
        return 'NVML error %d' % self.value


@dataclasses.dataclass
class FakeGpu:
    address: str                      # sysfs form: 0000:3b:00.0
    vendor: str = '10de'
    device: str = '1eb8'
    name: str = 'Tesla T4'
    cuda_compute_capability: typing.Optional[typing.Tuple[int, int]] = (7, 5)
    memory_mb: typing.Optional[int] = 15360
    # an NVML return code raised by nvmlDeviceGetPciInfo
    pci_error: typing.Optional[int] = None

    @property
    def bus_id(self):
        domain, rest = self.address.split(':', 1)
        return ('%08x:%s' % (int(domain, 16), rest)).upper()


class FakeNvml(object):
    """``FakeNvml(gpus=[FakeGpu(...)], init_error=None)``."""

    NVMLError = NVMLError
    NVML_ERROR_UNINITIALIZED = NVML_ERROR_UNINITIALIZED
    NVML_ERROR_NOT_SUPPORTED = NVML_ERROR_NOT_SUPPORTED
    NVML_ERROR_NO_PERMISSION = NVML_ERROR_NO_PERMISSION
    NVML_ERROR_DRIVER_NOT_LOADED = NVML_ERROR_DRIVER_NOT_LOADED
    NVML_ERROR_LIBRARY_NOT_FOUND = NVML_ERROR_LIBRARY_NOT_FOUND
    NVML_ERROR_UNKNOWN = NVML_ERROR_UNKNOWN

    def __init__(self, gpus=(), init_error=None,
                 driver_version='550.90.05'):
        self.gpus = list(gpus)
        self.init_error = init_error
        self.driver_version = driver_version
        self.initialized = 0
        self.calls = []

    def _check(self):
        if self.initialized <= 0:
            raise NVMLError(NVML_ERROR_UNINITIALIZED)

    def nvmlInit(self):
        self.calls.append('nvmlInit')
        if self.init_error is not None:
            raise NVMLError(self.init_error)
        self.initialized += 1

    def nvmlShutdown(self):
        self.calls.append('nvmlShutdown')
        self._check()
        self.initialized -= 1

    def nvmlSystemGetDriverVersion(self):
        self._check()
        return self.driver_version

    def nvmlDeviceGetCount(self):
        self._check()
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index):
        self._check()
        return self.gpus[index]

    def nvmlDeviceGetPciInfo(self, handle):
        self._check()
        if handle.pci_error is not None:
            raise NVMLError(handle.pci_error)
        return types.SimpleNamespace(
            busId=handle.bus_id.encode('ascii'),
            pciDeviceId=(int(handle.device, 16) << 16
                         | int(handle.vendor, 16)))

    def nvmlDeviceGetCudaComputeCapability(self, handle):
        self._check()
        if handle.cuda_compute_capability is None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return tuple(handle.cuda_compute_capability)

    def nvmlDeviceGetName(self, handle):
        self._check()
        return handle.name

    def nvmlDeviceGetMemoryInfo(self, handle):
        self._check()
        if handle.memory_mb is None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        total = handle.memory_mb * 1024 * 1024
        return types.SimpleNamespace(total=total, free=total, used=0)
