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

"""Read what sysfs says about one PCI device.

Attributes as documented in the kernel's
``Documentation/ABI/testing/sysfs-bus-pci``: ``vendor``, ``device``,
``subsystem_vendor``, ``subsystem_device`` and ``class`` hold ``0x``
prefixed hex, ``numa_node`` a decimal node number or ``-1``; ``driver`` is
a symlink to ``bus/pci/drivers/<name>``.  A module that declares
``MODULE_VERSION`` exposes it as ``/sys/module/<module>/version``
(``Documentation/ABI/testing/sysfs-module``); the module is found through
the driver's ``module`` link (``bus/pci/drivers/4xxx/module`` ->
``module/qat_4xxx``) and defaults to the driver name when that link is
missing.
"""

import os
import re

from mdev_traits.discovery import sysfs
from mdev_traits import models

PCI_ADDRESS_RE = re.compile(
    r'^[0-9a-fA-F]{4,8}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$')
_HEX_RE = re.compile(r'^[0-9a-f]+$')


def is_pci_address(name):
    """True if ``name`` looks like a PCI address (``0000:3b:00.0``)."""
    return bool(PCI_ADDRESS_RE.match(name))


def _read_hex(path):
    value = sysfs.read_attr(path)
    if value is None:
        return None
    value = value.lower()
    if value.startswith('0x'):
        value = value[2:]
    if not _HEX_RE.match(value):
        raise sysfs.SysfsReadError(path, 'not a hexadecimal value: %r'
                                   % value[:40])
    return value


def read_driver_version(sysfs_root, device_dir, driver):
    """Return ``module/<module>/version`` for the device's driver or None."""
    if not driver:
        return None
    module = sysfs.link_name(os.path.join(device_dir, 'driver', 'module'))
    return sysfs.read_attr(
        os.path.join(sysfs_root, 'module', module or driver, 'version'))


def read_pci_info(sysfs_root, device_dir, address):
    """Return a :class:`~mdev_traits.models.PciInfo` for a PCI device.

    :param sysfs_root: the sysfs mount point (``/sys`` on a real host).
    :param device_dir: the device's resolved directory under
        ``<sysfs_root>/devices``.
    :param address: the PCI address (``0000:3b:00.0``).
    Missing attributes give None fields. A driver version that exists but
    cannot be read (not text, unreadable) gives ``driver_version`` None and
    the reason in ``driver_version_error``: it costs the version traits,
    not the device.

    :raises SysfsReadError: another attribute exists but is garbage.
    """
    def path(name):
        return os.path.join(device_dir, name)

    numa_node = sysfs.read_int(path('numa_node'))
    if numa_node is not None and numa_node < 0:
        numa_node = None
    driver = sysfs.link_name(path('driver'))
    driver_version = version_error = None
    try:
        driver_version = read_driver_version(sysfs_root, device_dir, driver)
    except sysfs.SysfsReadError as exc:
        version_error = str(exc)
    return models.PciInfo(
        address=address.lower(),
        vendor=_read_hex(path('vendor')),
        device=_read_hex(path('device')),
        subsystem_vendor=_read_hex(path('subsystem_vendor')),
        subsystem_device=_read_hex(path('subsystem_device')),
        pci_class=_read_hex(path('class')),
        numa_node=numa_node,
        driver=driver,
        driver_version=driver_version,
        driver_version_error=version_error,
    )
