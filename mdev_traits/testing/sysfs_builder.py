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

"""Build fake sysfs trees with the layout of real kernels.

Everything is a real file, directory or (relative) symlink, placed where
the kernel puts it, so discovery code runs unchanged against the tree:

* PCI devices (``Documentation/ABI/testing/sysfs-bus-pci``)::

    devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0/
        vendor device subsystem_vendor subsystem_device class numa_node
        driver    -> ../../../bus/pci/drivers/nvidia
        subsystem -> ../../../bus/pci
        physfn    -> ../0000:41:00.0          (SR-IOV virtual functions)
    bus/pci/devices/0000:3b:00.0 -> ../../../devices/pci0000:3a/...
    bus/pci/drivers/nvidia/0000:3b:00.0 -> ../../../../devices/...
    bus/pci/drivers/nvidia/module -> ../../../../module/nvidia
    module/nvidia/version                   (if the module declares one)

* mdev parents, types and instances
  (``Documentation/driver-api/vfio-mediated-device.rst``,
  ``Documentation/ABI/testing/sysfs-bus-vfio-mdev``)::

    class/mdev_bus/<parent> -> ../../devices/.../<parent>
    <parent>/mdev_supported_types/<type-id>/{name,description,...}
    <parent>/mdev_supported_types/<type-id>/devices/<uuid> -> ../../../<uuid>
    <parent>/<uuid>/mdev_type -> ../mdev_supported_types/<type-id>
    <parent>/<uuid>/{driver,subsystem} -> bus/mdev/...
    bus/mdev/devices/<uuid> -> ../../../devices/.../<parent>/<uuid>

* non-PCI parents: the vfio-ap ``matrix`` device
  (``Documentation/arch/s390/vfio-ap.rst``, drivers/s390/crypto/
  vfio_ap_drv.c: bus ``matrix``, driver ``vfio_ap``), vfio-ccw I/O
  subchannels (``Documentation/arch/s390/vfio-ccw.rst``: bus ``css``,
  driver ``vfio_ccw``) and the ``mtty`` sample (samples/vfio-mdev/mtty.c:
  a class device under ``devices/virtual/mtty/mtty``).

* vDPA devices (drivers/vdpa/vdpa.c, drivers/vhost/vdpa.c), see
  :meth:`SysfsBuilder.add_vdpa_device`::

    devices/pci0000:3a/0000:3a:00.0/0000:3b:00.2/vdpa0/
        driver -> ../../../../../bus/vdpa/drivers/vhost_vdpa
        vhost-vdpa-0/dev
    bus/vdpa/devices/vdpa0 -> ../../../devices/.../0000:3b:00.2/vdpa0
    <PF>/net/<ifname>, class/net/<ifname>      (:meth:`add_netdev`)

Files are written with mode 0444 and directories 0755 (like sysfs), so
archives made from a tree do not depend on the umask.

Attribute values: str (a newline is appended, as sysfs does), int, a
list/tuple (joined with commas) or bytes (written verbatim, for garbage).
"""

import os
import shutil

from mdev_traits import testing
from mdev_traits.testing import samples

testing.require(__name__, 'fixtures')

import fixtures  # noqa: E402 - after the check that names the extra

DIR_MODE = 0o755
ATTR_MODE = 0o444

INSTANCE_LINKS = ('type', 'parent')


def mtty_types(available_ports=24):
    """Types of the kernel's mtty sample (samples/vfio-mdev/mtty.c).

    ``MAX_MTTYS`` is 24 ports; each type reports how many instances of
    its port count still fit.  The driver has no ``description``.
    """
    return {
        'mtty-1': dict(name='Single port serial', device_api='vfio-pci',
                       available_instances=available_ports),
        'mtty-2': dict(name='Dual port serial', device_api='vfio-pci',
                       available_instances=available_ports // 2),
    }


def ap_matrix_types(available_instances=72351):
    """The vfio-ap type (drivers/s390/crypto/vfio_ap_ops.c).

    72351 is ``AP_MATRIX_MAX_AVAILABLE_INSTANCES``.
    """
    return {
        'vfio_ap-passthrough': dict(name='VFIO AP Passthrough Device',
                                    device_api='vfio-ap',
                                    available_instances=available_instances),
    }


def ccw_types(available_instances=1):
    """The vfio-ccw type (drivers/s390/cio/vfio_ccw_ops.c)."""
    return {
        'vfio_ccw-io': dict(name='I/O subchannel (Non-QDIO)',
                            device_api='vfio-ccw',
                            available_instances=available_instances),
    }


def _hex(value):
    value = str(value).lower()
    return value if value.startswith('0x') else '0x' + value


def default_pci_bridge(address):
    """Root port path for ``address``: ``pci0000:3a/0000:3a:00.0``.

    Devices on bus 0 (integrated GPUs) sit directly under the root
    complex; others get a root port on the bus number below theirs.
    """
    domain, bus = address.split(':')[:2]
    bus_no = int(bus, 16)
    if bus_no == 0:
        return 'pci%s:00' % domain
    up = '%02x' % (bus_no - 1)
    return 'pci%s:%s/%s:%s:00.0' % (domain, up, domain, up)


class SysfsBuilder(object):
    """Create or modify a fake sysfs tree rooted at ``root``.

    All ``rel`` arguments are paths relative to ``root``.  Parents are
    addressed by their ``class/mdev_bus`` name, so a builder also works on
    a tree extracted from a sample host.
    """

    def __init__(self, root):
        self.root = os.path.abspath(root)
        self.makedirs('')
        # every kernel has these two (Documentation/filesystems/sysfs.rst,
        # "Top Level Directory Layout"), even on a host without a device
        # of interest; the exporter trusts a root only when it has them
        # (mdev_traits.discovery.root)
        for top in ('devices', 'bus'):
            self.makedirs(top)

    # -- low level ---------------------------------------------------------

    def path(self, *rel):
        return os.path.join(self.root, *rel)

    def relpath(self, full):
        return os.path.relpath(full, self.root)

    def makedirs(self, rel):
        """mkdir -p with mode 0755 for every directory created."""
        full = self.path(rel) if rel else self.root
        missing = []
        while not os.path.isdir(full):
            missing.append(full)
            full = os.path.dirname(full)
        for d in reversed(missing):
            os.mkdir(d)
            os.chmod(d, DIR_MODE)
        return self.path(rel) if rel else self.root

    def write(self, rel, value, mode=ATTR_MODE):
        """Write an attribute (see the module docstring for values)."""
        full = self.path(rel)
        self.makedirs(os.path.dirname(rel))
        if isinstance(value, bytes):
            data = value
        else:
            if isinstance(value, (list, tuple)):
                value = ','.join(str(v) for v in value)
            value = str(value)
            if not value.endswith('\n'):
                value += '\n'
            data = value.encode('utf-8')
        if os.path.lexists(full):
            os.unlink(full)
        with open(full, 'wb') as f:
            f.write(data)
        os.chmod(full, mode)
        return full

    def symlink(self, rel, target_rel):
        """Create ``rel`` as a relative symlink to ``target_rel``."""
        link = self.path(rel)
        self.makedirs(os.path.dirname(rel))
        if os.path.lexists(link):
            os.unlink(link)
        target = os.path.relpath(self.path(target_rel), os.path.dirname(link))
        os.symlink(target, link)
        return link

    def remove(self, rel):
        """Remove a file, symlink or whole directory tree if it exists."""
        full = self.path(rel)
        if os.path.islink(full) or os.path.isfile(full):
            os.unlink(full)
        elif os.path.isdir(full):
            shutil.rmtree(full)

    # -- devices -----------------------------------------------------------

    def _bind(self, dev_rel, name, bus, driver=None, module=None):
        """Create ``subsystem``/``driver`` links and the bus' indexes."""
        self.symlink(dev_rel + '/subsystem', 'bus/%s' % bus)
        self.symlink('bus/%s/devices/%s' % (bus, name), dev_rel)
        if driver:
            drv_rel = 'bus/%s/drivers/%s' % (bus, driver)
            self.symlink(dev_rel + '/driver', drv_rel)
            self.symlink('%s/%s' % (drv_rel, name), dev_rel)
            if module:
                self.makedirs('module/%s' % module)
                self.symlink(drv_rel + '/module', 'module/%s' % module)

    def add_pci_device(self, address, vendor, device, subsystem_vendor=None,
                       subsystem_device=None, pci_class='0x030200',
                       numa_node=-1, driver=None, driver_version=None,
                       module=None, bridge=None, physfn=None):
        """Add a PCI device; return its directory (relative to root).

        :param vendor, device, subsystem_*, pci_class: hex ids, with or
            without ``0x``.
        :param numa_node: int, or None to leave the file out.
        :param driver: name of the bound driver (None: unbound).
        :param driver_version: content of ``module/<module>/version``;
            None leaves the file out (in-tree modules such as i915 do not
            declare a version).
        :param module: module name if it differs from the driver name
            (driver ``4xxx`` lives in module ``qat_4xxx``).
        :param bridge: path below ``devices`` of the upstream port, see
            :func:`default_pci_bridge`.
        :param physfn: PCI address of the physical function for an SR-IOV
            virtual function; links ``physfn`` and ``virtfnN``.
        """
        address = address.lower()
        bridge = bridge or default_pci_bridge(address)
        dev = 'devices/%s/%s' % (bridge, address)
        self.makedirs(dev)
        self.write(dev + '/vendor', _hex(vendor))
        self.write(dev + '/device', _hex(device))
        self.write(dev + '/subsystem_vendor',
                   _hex(subsystem_vendor or vendor))
        self.write(dev + '/subsystem_device',
                   _hex(subsystem_device or '0000'))
        self.write(dev + '/class', _hex(pci_class))
        if numa_node is not None:
            self.write(dev + '/numa_node', numa_node)
        module = module or driver
        self._bind(dev, address, 'pci', driver, module)
        if driver and driver_version is not None:
            self.write('module/%s/version' % module, driver_version)
        if physfn:
            pf = self.relpath(os.path.realpath(
                self.path('bus/pci/devices', physfn.lower())))
            self.symlink(dev + '/physfn', pf)
            index = len([n for n in os.listdir(self.path(pf))
                         if n.startswith('virtfn')])
            self.symlink('%s/virtfn%d' % (pf, index), dev)
        return dev

    def _register_parent(self, name, dev, types, instances,
                         instance_links):
        self.makedirs(dev + '/mdev_supported_types')
        self.symlink('class/mdev_bus/%s' % name, dev)
        for type_id, attrs in sorted((types or {}).items()):
            self.add_mdev_type(name, type_id, **attrs)
        for type_id, uuids in sorted((instances or {}).items()):
            for uuid in uuids:
                self.add_instance(name, type_id, uuid, links=instance_links)
        return dev

    def add_pci_mdev_parent(self, address, vendor, device, driver,
                            driver_version=None, numa_node=-1, types=None,
                            instances=None, instance_links=INSTANCE_LINKS,
                            **pci_kwargs):
        """Add a PCI device registered as an mdev parent.

        :param types: {type_id: dict of :meth:`add_mdev_type` arguments}.
        :param instances: {type_id: [uuid, ...]} of existing mdevs.
        :param instance_links: which instance layouts to create, see
            :meth:`add_instance`.
        :param pci_kwargs: more :meth:`add_pci_device` arguments.
        :returns: the device directory, relative to root.
        """
        dev = self.add_pci_device(address, vendor, device, driver=driver,
                                  driver_version=driver_version,
                                  numa_node=numa_node, **pci_kwargs)
        return self._register_parent(address.lower(), dev, types, instances,
                                     instance_links)

    def add_virtual_mdev_parent(self, name='mtty', class_name=None,
                                types=None, instances=None,
                                instance_links=INSTANCE_LINKS):
        """Add a class device under ``devices/virtual`` as mdev parent.

        This is how the kernel's samples (mtty, mdpy, mbochs) register:
        ``class_create(name)`` plus ``device_register`` without a bus, so
        ``subsystem`` points to ``class/<class>``.  ``types`` defaults to
        :func:`mtty_types`.
        """
        class_name = class_name or name
        dev = 'devices/virtual/%s/%s' % (class_name, name)
        self.makedirs(dev)
        self.symlink(dev + '/subsystem', 'class/%s' % class_name)
        self.symlink('class/%s/%s' % (class_name, name), dev)
        if types is None:
            types = mtty_types()
        return self._register_parent(name, dev, types, instances,
                                     instance_links)

    def add_ap_matrix(self, types=None, instances=None,
                      instance_links=INSTANCE_LINKS):
        """Add the vfio-ap ``matrix`` device (``devices/vfio_ap/matrix``).

        ``types`` defaults to :func:`ap_matrix_types`.
        """
        dev = 'devices/vfio_ap/matrix'
        self.makedirs(dev)
        self._bind(dev, 'matrix', 'matrix', 'vfio_ap', 'vfio_ap')
        if types is None:
            types = ap_matrix_types()
        return self._register_parent('matrix', dev, types, instances,
                                     instance_links)

    def add_ccw_subchannel(self, schid='0.0.0313', types=None,
                           instances=None, instance_links=INSTANCE_LINKS,
                           css='css0'):
        """Add an I/O subchannel bound to vfio_ccw (``devices/css0/...``).

        ``types`` defaults to :func:`ccw_types`.
        """
        dev = 'devices/%s/%s' % (css, schid)
        self.makedirs(dev)
        self.write(dev + '/type', 0)     # 0: I/O subchannel
        self._bind(dev, schid, 'css', 'vfio_ccw', 'vfio_ccw')
        if types is None:
            types = ccw_types()
        return self._register_parent(schid, dev, types, instances,
                                     instance_links)

    # -- types and instances -------------------------------------------------

    def parent_dir(self, parent):
        """Relative device directory of the mdev parent ``parent``."""
        link = self.path('class/mdev_bus', parent)
        if not os.path.islink(link):
            raise KeyError('no mdev parent %r' % parent)
        return self.relpath(os.path.realpath(link))

    def type_dir(self, parent, type_id):
        return '%s/mdev_supported_types/%s' % (self.parent_dir(parent),
                                               type_id)

    def add_mdev_type(self, parent, type_id, name=None, description=None,
                      available_instances=0, device_api='vfio-pci',
                      software_version=None, compatible_type=None,
                      compatible=None, dynamic_resources=None, **extra):
        """Add ``mdev_supported_types/<type_id>`` to ``parent``.

        None leaves an attribute out.  ``compatible`` is a {field: values}
        dict written as ``compatible_<field>`` files; ``compatible_<field>``
        keyword arguments work too (``compatible_pci_ids=[...]``), as does
        any other extra attribute.
        """
        tdir = self.type_dir(parent, type_id)
        self.makedirs(tdir + '/devices')
        attrs = dict(name=name, description=description,
                     available_instances=available_instances,
                     device_api=device_api,
                     software_version=software_version,
                     compatible_type=compatible_type,
                     dynamic_resources=dynamic_resources)
        for field, values in (compatible or {}).items():
            attrs['compatible_' + field] = values
        attrs.update(extra)
        for attr, value in sorted(attrs.items()):
            if value is not None:
                self.write('%s/%s' % (tdir, attr), value)
        return tdir

    def set_type_attr(self, parent, type_id, attr, value):
        """(Re)write one attribute of a type; None removes it."""
        rel = '%s/%s' % (self.type_dir(parent, type_id), attr)
        if value is None:
            self.remove(rel)
        else:
            self.write(rel, value)

    def remove_type(self, parent, type_id):
        self.remove(self.type_dir(parent, type_id))

    def add_instance(self, parent, type_id, uuid,
                     links=INSTANCE_LINKS):
        """Add an existing mdev of ``type_id`` on ``parent``.

        :param links: ``'parent'`` creates the device directory
            ``<parent>/<uuid>`` with its ``mdev_type`` link (and
            ``bus/mdev``); ``'type'`` creates ``<type>/devices/<uuid>``.
            A real kernel always creates both.
        """
        pdir = self.parent_dir(parent)
        tdir = self.type_dir(parent, type_id)
        mdir = '%s/%s' % (pdir, uuid)
        if 'parent' in links:
            self.makedirs(mdir)
            self.symlink(mdir + '/mdev_type', tdir)
            self._bind(mdir, uuid, 'mdev', 'vfio_mdev')
        if 'type' in links:
            self.symlink('%s/devices/%s' % (tdir, uuid), mdir)
        return mdir

    def remove_instance(self, parent, uuid):
        pdir = self.parent_dir(parent)
        types = self.path(pdir, 'mdev_supported_types')
        for type_id in os.listdir(types):
            self.remove('%s/mdev_supported_types/%s/devices/%s'
                        % (pdir, type_id, uuid))
        self.remove('bus/mdev/devices/%s' % uuid)
        self.remove('bus/mdev/drivers/vfio_mdev/%s' % uuid)
        self.remove('%s/%s' % (pdir, uuid))

    def remove_parent(self, parent):
        """Unregister and delete a parent, like unplugging the device.

        Removes its ``class/mdev_bus`` link, every ``bus``/``class`` link
        into its directory (including its mdevs') and the directory.
        """
        pdir = self.path(self.parent_dir(parent))
        for top in ('bus', 'class'):
            for dirpath, dirnames, filenames in os.walk(self.path(top)):
                for name in dirnames + filenames:
                    full = os.path.join(dirpath, name)
                    if not os.path.islink(full):
                        continue
                    target = os.path.realpath(full)
                    if target == pdir or target.startswith(pdir + os.sep):
                        os.unlink(full)
        shutil.rmtree(pdir)

    # -- network interfaces and vDPA devices -------------------------------

    def pci_dir(self, address):
        """Relative directory of the PCI device ``address``."""
        link = self.path('bus/pci/devices', address.lower())
        if not os.path.islink(link):
            raise KeyError('no PCI device %r' % address)
        return self.relpath(os.path.realpath(link))

    def add_netdev(self, address, ifname):
        """Give PCI device ``address`` the network interface ``ifname``
        (``<dev>/net/<ifname>`` and ``class/net/<ifname>``,
        Documentation/ABI/testing/sysfs-class-net)."""
        ndir = '%s/net/%s' % (self.pci_dir(address), ifname)
        self.makedirs(ndir)
        self.write(ndir + '/ifindex', 2 + len(os.listdir(
            self.makedirs('class/net'))))
        self.symlink(ndir + '/subsystem', 'class/net')
        self.symlink('class/net/%s' % ifname, ndir)
        return ndir

    def add_vdpa_mgmtdev(self, name='vdpasim_net'):
        """A vDPA management device on no bus, as the vdpa_sim modules
        register it (drivers/vdpa/vdpa_sim/vdpa_sim_net.c:
        ``device_register`` of a bare ``struct device`` named
        ``vdpasim_net``): ``devices/<name>``."""
        return self.makedirs('devices/%s' % name)

    def add_vdpa_device(self, name, parent, driver='vhost_vdpa',
                        index=None):
        """Add the vDPA device ``name`` (drivers/vdpa/vdpa.c,
        drivers/vhost/vdpa.c, drivers/virtio/virtio_vdpa.c)::

            <parent>/<name>/
                subsystem -> bus/vdpa
                driver    -> bus/vdpa/drivers/<driver>
                vhost-vdpa-<index>/{dev,subsystem}   (vhost_vdpa only)
                virtio<index>/                       (virtio_vdpa only)
            bus/vdpa/devices/<name> -> ../../../devices/.../<parent>/<name>
            class/vhost-vdpa/vhost-vdpa-<index> -> ...

        :param parent: a PCI address (the VF or PF the vendor driver
            created it on) or a directory relative to root (an auxiliary
            device, ``devices/vdpasim_net``).
        :param driver: ``vhost_vdpa``, ``virtio_vdpa`` or None (unbound).
        :param index: number of the vhost-vdpa / virtio device; defaults
            to the number of vDPA devices already there.
        """
        if pci_address_like(parent):
            parent_rel = self.pci_dir(parent)
        else:
            parent_rel = parent
            self.makedirs(parent_rel)
        dev = '%s/%s' % (parent_rel, name)
        self.makedirs(dev)
        self.write(dev + '/driver_override', '(null)')
        if index is None:
            index = len(os.listdir(self.makedirs('bus/vdpa/devices')))
        self._bind(dev, name, 'vdpa', driver, driver)
        self._vdpa_driver_children(dev, driver, index)
        return dev

    def _vdpa_driver_children(self, dev, driver, index):
        if driver == 'vhost_vdpa':
            node = '%s/vhost-vdpa-%d' % (dev, index)
            self.makedirs(node)
            self.write(node + '/dev', '238:%d' % index)
            self.symlink(node + '/subsystem', 'class/vhost-vdpa')
            self.symlink('class/vhost-vdpa/vhost-vdpa-%d' % index, node)
        elif driver == 'virtio_vdpa':
            vdev = '%s/virtio%d' % (dev, index)
            self.makedirs(vdev)
            self.write(vdev + '/device', '0x0001')
            self._bind(vdev, 'virtio%d' % index, 'virtio', 'virtio_net')

    def vdpa_dir(self, name):
        link = self.path('bus/vdpa/devices', name)
        if not os.path.islink(link):
            raise KeyError('no vDPA device %r' % name)
        return self.relpath(os.path.realpath(link))

    def bind_vdpa_device(self, name, driver, index=0):
        """Rebind a vDPA device (``driver`` None: unbind only)."""
        dev = self.vdpa_dir(name)
        for entry in os.listdir(self.path(dev)):
            if entry.startswith(('vhost-vdpa-', 'virtio')):
                self._unlink_into(self.path(dev, entry))
                shutil.rmtree(self.path(dev, entry))
        for drv in os.listdir(self.makedirs('bus/vdpa/drivers')):
            self.remove('bus/vdpa/drivers/%s/%s' % (drv, name))
        self.remove(dev + '/driver')
        if driver:
            drv_rel = 'bus/vdpa/drivers/%s' % driver
            self.symlink(dev + '/driver', drv_rel)
            self.symlink('%s/%s' % (drv_rel, name), dev)
        self._vdpa_driver_children(dev, driver, index)

    def remove_vdpa_device(self, name):
        """Delete a vDPA device (``vdpa dev del``)."""
        dev = self.path(self.vdpa_dir(name))
        self._unlink_into(dev)
        shutil.rmtree(dev)

    def _unlink_into(self, directory):
        """Remove every bus/class link pointing into ``directory``."""
        for top in ('bus', 'class'):
            for dirpath, dirnames, filenames in os.walk(self.path(top)):
                for entry in dirnames + filenames:
                    full = os.path.join(dirpath, entry)
                    if not os.path.islink(full):
                        continue
                    target = os.path.realpath(full)
                    if target == directory or target.startswith(
                            directory + os.sep):
                        os.unlink(full)


def pci_address_like(value):
    """True for ``0000:3b:00.2``-style strings."""
    parts = value.split(':')
    return (len(parts) == 3 and '.' in parts[2] and '/' not in value)


class FakeSysfs(fixtures.Fixture):
    """A temporary fake sysfs tree.

    ``root`` is the sysfs root (``<tempdir>/sys``) and ``builder`` a
    :class:`SysfsBuilder` on it.  With ``sample`` the tree starts as a
    copy of that shipped sample host (:data:`samples.HOSTS`).
    """

    def __init__(self, sample=None):
        super(FakeSysfs, self).__init__()
        self.sample = sample
        self.root = None
        self.builder = None

    def _setUp(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        self.root = os.path.join(tmp, 'sys')
        if self.sample:
            samples.get(self.sample).extract(self.root)
        self.builder = SysfsBuilder(self.root)
