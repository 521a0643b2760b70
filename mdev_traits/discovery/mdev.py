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

"""Discover vfio mediated device parents, their types and instances.

The sysfs layout read here is the kernel ABI described in
``Documentation/driver-api/vfio-mediated-device.rst`` and
``Documentation/ABI/testing/sysfs-bus-vfio-mdev``::

    /sys/class/mdev_bus/<parent>  -> ../../devices/.../<parent>
    <parent>/mdev_supported_types/<type-id>/
        name                  optional, human readable name
        description           optional, free text
        available_instances   mandatory, decimal
        device_api            mandatory, e.g. "vfio-pci", "vfio-ap"
        devices/<uuid>        -> ../../../<uuid>   (existing mdevs)
    <parent>/<uuid>/mdev_type -> ../mdev_supported_types/<type-id>

``<type-id>`` is ``<parent driver name>-<driver's type name>``
(``nvidia-231``, ``i915-GVTg_V5_4``, ``vfio_ap-passthrough``,
``vfio_ccw-io``, ``mtty-2``).

Types may also carry the attributes of the "device compatibility
interface for live migration with assigned devices" RFC (Yan Zhao et al.,
kvm/qemu-devel, 2020), which never got merged upstream but is what the
mapping layer understands: ``software_version``, ``compatible_type``,
``compatible_<field>`` (comma separated values) and ``dynamic_resources``.

Failure handling (nothing here raises to the caller):

* ``class/mdev_bus`` missing: the host has no mdev capable device; an
  empty, *complete* result.
* ``class/mdev_bus`` unlistable: an empty, *incomplete* result.
* a type that is garbage or vanishes while being read: one warning, the
  type is left out (but still counts as offered: ``damaged_type_ids``)
  and its parent is marked ``partial``.
* a driver version (``module/<driver>/version``) that cannot be read: one
  warning, no version for the parent, which is marked ``partial``.
* a parent that vanishes or whose own attributes are garbage: one
  warning, the parent is left out and the result is incomplete, so that
  nothing is removed on the strength of a failed read.
"""

import os
import re

from oslo_log import log as logging

from mdev_traits.discovery import base
from mdev_traits.discovery import gpu_description
from mdev_traits.discovery import pci
from mdev_traits.discovery import sysfs
from mdev_traits import models

LOG = logging.getLogger(__name__)

UUID_RE = re.compile(
    r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
    re.IGNORECASE)

MANDATORY_TYPE_ATTRS = ('available_instances', 'device_api')


class _Vanished(sysfs.SysfsReadError):
    """A directory disappeared between being listed and being read."""


class MdevCollector(base.Collector):
    """Collect :class:`~mdev_traits.models.MdevParent` objects from sysfs."""

    name = 'mdev'
    kinds = (models.KIND_MDEV,)

    def __init__(self, sysfs_root, read_types=None):
        super(MdevCollector, self).__init__(sysfs_root)
        # None: read every type; a set: read only these, list the others
        self.read_types = (None if read_types is None
                           else frozenset(read_types))

    def configure(self, read_types=None):
        """Read only ``read_types`` (the enabled types, the only ones
        mapped: a type directory costs a dozen system calls, and a big
        host has thousands); None: every type."""
        self.read_types = (None if read_types is None
                           else frozenset(read_types))

    def read_all(self):
        self.read_types = None

    @property
    def mdev_bus_dir(self):
        return os.path.join(self.sysfs_root, 'class', 'mdev_bus')

    def collect(self):
        """Return a :class:`~mdev_traits.models.DiscoveryResult`."""
        errors = []
        try:
            names = sysfs.list_dir(self.mdev_bus_dir)
        except sysfs.SysfsReadError as e:
            LOG.warning('Cannot list mdev parents in %(path)s: %(reason)s',
                        {'path': e.path, 'reason': e.reason})
            return self.failed([str(e)])
        if names is None:
            LOG.debug('%s does not exist: no mdev capable device',
                      self.mdev_bus_dir)
            return models.DiscoveryResult()

        complete = True
        parents = []
        for name in names:
            try:
                parents.append(self._read_parent(name, errors))
            except sysfs.SysfsReadError as e:
                LOG.warning('Skipping mdev parent %(name)s (%(path)s): '
                            '%(reason)s',
                            {'name': name, 'path': e.path,
                             'reason': e.reason})
                errors.append(str(e))
                complete = False
        parents.sort(key=lambda p: p.name)
        return models.DiscoveryResult(
            mdev_parents=tuple(parents), complete=complete,
            incomplete=frozenset() if complete else frozenset(self.kinds),
            errors=tuple(errors))

    # -- parents -----------------------------------------------------------

    def _subsystem(self, device_dir, name):
        """(bus, subsystem) from the ``subsystem`` link.

        ``subsystem`` points at ``bus/<bus>`` for bus devices (pci, css,
        matrix for vfio-ap) and at ``class/<class>`` for class devices
        under ``devices/virtual`` (the mtty/mdpy/mbochs samples), whose
        bus is reported as ``virtual``. The subsystem is the last part of
        the link either way, as udev_device_get_subsystem() reads it.
        """
        link = os.path.join(device_dir, 'subsystem')
        target = sysfs.read_link(link)
        if target is None:
            if pci.is_pci_address(name):
                return 'pci', 'pci'
            return 'virtual', None
        parts = [p for p in target.split('/') if p]
        if len(parts) >= 2 and parts[-2] == 'bus':
            return parts[-1], parts[-1]
        return 'virtual', parts[-1] if parts else None

    def _read_parent(self, name, errors):
        link = os.path.join(self.mdev_bus_dir, name)
        device_dir = os.path.realpath(link)
        if not os.path.isdir(device_dir):
            raise _Vanished(link, 'parent device vanished (dangling link)')

        bus, subsystem = self._subsystem(device_dir, name)
        pci_info = None
        partial = False
        if bus == 'pci':
            pci_info = pci.read_pci_info(self.sysfs_root, device_dir, name)
            if pci_info.driver_version_error:
                LOG.warning('mdev parent %(name)s: driver version unreadable '
                            '(%(reason)s): no version trait, none removed',
                            {'name': name,
                             'reason': pci_info.driver_version_error})
                errors.append('%s (mdev parent %s: no version trait this '
                              'cycle)' % (pci_info.driver_version_error,
                                          name))
                partial = True

        types = []
        types_dir = os.path.join(device_dir, 'mdev_supported_types')
        type_ids = sysfs.list_dir(types_dir)
        if type_ids is None:
            self._check_exists(device_dir, 'parent device')
            reason = 'mdev_supported_types is missing'
            LOG.warning('mdev parent %(path)s: %(reason)s',
                        {'path': device_dir, 'reason': reason})
            errors.append('%s: %s' % (types_dir, reason))
            type_ids = []
            partial = True

        parent_instances, ok = self._parent_instances(device_dir, errors)
        partial = partial or not ok

        unread = []
        damaged = []
        for type_id in type_ids:
            if (self.read_types is not None
                    and type_id not in self.read_types):
                unread.append(type_id)
                continue
            type_dir = os.path.join(types_dir, type_id)
            try:
                types.append(self._read_type(
                    type_dir, type_id, parent_instances.get(type_id, ())))
            except sysfs.SysfsReadError as e:
                LOG.warning('Skipping mdev type %(path)s: %(reason)s',
                            {'path': e.path, 'reason': e.reason})
                errors.append(str(e))
                damaged.append(type_id)
                partial = True

        # Everything read above may have been read from a device that was
        # being removed: only trust it if the device is still there.
        self._check_exists(device_dir, 'parent device')
        return models.MdevParent(
            name=name,
            bus=bus,
            pci=pci_info,
            types=tuple(sorted(types, key=lambda t: t.type_id)),
            partial=partial,
            unread_type_ids=tuple(sorted(unread)),
            subsystem=subsystem,
            damaged_type_ids=tuple(sorted(damaged)),
        )

    @staticmethod
    def _check_exists(path, what):
        if not os.path.isdir(path):
            raise _Vanished(path, '%s vanished while being read' % what)

    def _parent_instances(self, device_dir, errors):
        """Map type id -> mdev UUIDs found as ``<parent>/<uuid>/mdev_type``.

        :returns: (dict, ok) where ok is False if some instance could not
            be read (it is then left out and the parent is partial).
        """
        found = {}
        ok = True
        for entry in sysfs.list_dir(device_dir) or ():
            if not UUID_RE.match(entry):
                continue
            link = os.path.join(device_dir, entry, 'mdev_type')
            try:
                type_id = sysfs.link_name(link)
            except sysfs.SysfsReadError as e:
                LOG.warning('Ignoring mdev %(path)s: %(reason)s',
                            {'path': e.path, 'reason': e.reason})
                errors.append(str(e))
                ok = False
                continue
            if type_id is not None:   # None: removed meanwhile, or no mdev
                found.setdefault(type_id, set()).add(entry.lower())
        return found, ok

    # -- types -------------------------------------------------------------

    def _read_type(self, type_dir, type_id, parent_instances):
        # One listing with the file types (no stat per attribute), then
        # only the attributes the model holds, each with open/read/close.
        entries = sysfs.scan_dir(type_dir)
        if entries is None:
            raise _Vanished(type_dir, 'type vanished while being read')
        for attr in MANDATORY_TYPE_ATTRS:
            if attr not in entries:
                raise sysfs.SysfsReadError(
                    os.path.join(type_dir, attr),
                    'mandatory attribute is missing')
        prefix = type_dir + os.sep

        def read(reader, attr, mandatory=False):
            entry = entries.get(attr)
            if entry is None:
                return None
            path = prefix + attr
            value = reader(path, regular=entry.is_file(follow_symlinks=False))
            if value is None:
                # Listed a moment ago, gone now.
                raise _Vanished(path, 'vanished while being read')
            if value == '':
                if mandatory:
                    raise sysfs.SysfsReadError(path,
                                               'empty mandatory attribute')
                return None
            return value

        # through sysfs.read_int(path) itself, as other readers expect
        path = prefix + 'available_instances'
        available = sysfs.read_int(path)
        if available is None:
            raise _Vanished(path, 'vanished while being read')
        if available < 0:
            raise sysfs.SysfsReadError(path, 'negative value %d' % available)
        compatible = []
        for attr in sorted(entries):
            if attr.startswith('compatible_') and attr != 'compatible_type':
                field = attr[len('compatible_'):]
                if field:
                    compatible.append((field, read(sysfs.read_list, attr)))

        instances = set(parent_instances)
        if 'devices' in entries:
            devices = sysfs.list_names(prefix + 'devices') or ()
            instances.update(d.lower() for d in devices if UUID_RE.match(d))

        name = read(sysfs.read_attr, 'name')
        description = read(sysfs.read_attr, 'description')
        mdev_type = models.MdevType(
            type_id=type_id,
            name=name,
            description=description,
            available_instances=available,
            device_api=read(sysfs.read_attr, 'device_api', mandatory=True),
            software_version=read(sysfs.read_attr, 'software_version'),
            compatible_type=read(sysfs.read_list, 'compatible_type') or (),
            compatible=tuple(compatible),
            dynamic_resources=read(sysfs.read_list,
                                   'dynamic_resources') or (),
            instances=tuple(sorted(instances)),
            description_fields=gpu_description.type_description(
                description, name),
        )
        self._check_exists(type_dir, 'type')
        return mdev_type
