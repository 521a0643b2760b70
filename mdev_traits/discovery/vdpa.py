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

"""Discover vDPA devices: sysfs for what they are bound to and where they
sit, iproute2's ``vdpa`` tool for what they can do.

sysfs (``Documentation/ABI/testing/sysfs-bus-vdpa``, drivers/vdpa/vdpa.c,
drivers/vhost/vdpa.c)::

    bus/vdpa/devices/vdpa0 -> ../../../devices/pci0000:3a/0000:3a:00.0/
                              0000:3b:00.2/vdpa0
    <vdpa0>/driver -> ../../../../bus/vdpa/drivers/vhost_vdpa
    <vdpa0>/vhost-vdpa-0/         the /dev/vhost-vdpa-0 character device,
                                  only while bound to vhost_vdpa
    <vdpa0>/..                    the parent: a PCI VF or PF (mlx5 VFs,
                                  ifcvf), an auxiliary device under the PF
                                  (mlx5 scalable functions) or a device on
                                  no bus (devices/vdpasim_net)

The capabilities are only reported over the "vdpa" generic netlink family
(include/uapi/linux/vdpa.h), which the ``vdpa`` tool of iproute2 reads;
with ``-j`` it prints one JSON object per command (vdpa/vdpa.c,
``pr_out_section_start``: ``{"<section>": {"<handle>": {...}}}``):

What each iproute2 release prints (vdpa/vdpa.c, by tag):

``vdpa -j mgmtdev show`` -> ``{"mgmtdev": {"pci/0000:3b:00.2": {...}}}``
    ``supported_classes`` (VDPA_ATTR_MGMTDEV_SUPPORTED_CLASSES, ["net"]);
    from iproute2 5.18 (pr_out_mgmtdev_show) also ``max_supported_vqs``
    (VDPA_ATTR_DEV_MGMTDEV_MAX_VQS) and ``dev_features``
    (VDPA_ATTR_DEV_SUPPORTED_FEATURES: the most a device created on it can
    offer; not published, see below).
``vdpa -j dev show`` -> ``{"dev": {"vdpa0": {...}}}`` (every release)
    ``type`` ("network", "block": VDPA_ATTR_DEV_ID), ``mgmtdev``,
    ``vendor_id`` (VDPA_ATTR_DEV_VENDOR_ID, printed in *decimal*: 5555 is
    0x15b3), ``max_vqs`` (VDPA_ATTR_DEV_MAX_VQS), ``max_vq_size``
    (VDPA_ATTR_DEV_MAX_VQ_SIZE).
``vdpa -j dev config show`` -> ``{"config": {"vdpa0": {...}}}``
    iproute2 5.17 and later only: 5.12 to 5.16 (Ubuntu 22.04's 5.15) answer
    ``Command "config" not found`` and exit 1 (cmd_dev). ``mac``
    (VDPA_ATTR_DEV_NET_CFG_MACADDR), ``link``/``link_announce``
    (VDPA_ATTR_DEV_NET_STATUS), ``max_vq_pairs``
    (VDPA_ATTR_DEV_NET_CFG_MAX_VQP: only when the device offers MQ or RSS,
    drivers/vdpa/vdpa.c vdpa_dev_net_mq_config_fill), ``mtu``
    (VDPA_ATTR_DEV_NET_CFG_MTU) and, from iproute2 5.18, once a driver
    negotiated, ``negotiated_features`` (VDPA_ATTR_DEV_NEGOTIATED_FEATURES).
    No release prints the device's own features
    (VDPA_ATTR_DEV_FEATURES, pr_out_dev_net_config): they are read over
    netlink (mdev_traits.discovery.vdpa_netlink).

Each command degrades on its own: ``dev show`` is needed (without it there
is no device type, so the source fails as a whole); a tool without ``dev
config show`` gives devices without its fields (queue pairs then come from
``max_vqs``), and ``mgmtdev show`` feeds nothing that is published.

The device's own features (``supported_features``) are published only
when the kernel reports them (Linux 6.2+, VDPA_ATTR_DEV_FEATURES; 6.1:
VDPA_ATTR_VDPA_DEV_SUPPORTED_FEATURES) and ``[exporter] sysfs_root`` is
``/sys`` (netlink describes the running kernel, not another tree).
Otherwise none are published and ``features_unknown`` says why: the
management device's list is only an upper bound (``vdpa dev add ...
device_features`` provisions a subset; mlx5_vnet.c mlx5_vdpa_dev_add
drops MRG_RXBUF and, without a MAC address, MAC), and a published feature
trait must never overstate the device.

Feature arrays hold the tool's names (``MQ``, ``VERSION_1``) and, for a
bit the tool has no name for, the bit number (``" bit_%d"`` in text
mode): both are kept, a number as ``bit_<n>``; features read over netlink
are kept as ``bit_<n>``. iproute2 prints the keys ``"link "`` and
``"link_announce "`` with a trailing space (print_string with the
text-mode key), so every key is stripped before use.

Failure handling (nothing here raises to the caller):

* no ``bus/vdpa`` (the vdpa bus module is not loaded) or no device on it:
  an empty, *complete* result and a debug message; the tool is not run,
  so a host without vDPA never warns.
* ``dev show`` cannot be run (tool missing), exits non-zero, times out or
  prints something that is not the expected JSON: one error in the result
  (logged once per cycle by the service as a warning) and
  ``incomplete={'vdpa'}``, so no vDPA provider is removed in that cycle.
* ``dev config show`` fails that way (other than a tool too old to have
  it), or reading the features over netlink fails: one error, and every
  device is kept but marked ``partial`` (additions only).
* ``mgmtdev show`` fails: one error; the devices are not affected.
* a device that sysfs and the tool do not both list (being created or
  removed right now), or whose driver link is unreadable: left out, and
  the result is incomplete.
* a device whose PCI parent or network interfaces cannot be read: kept,
  marked ``partial`` (its provider gets additions only).
"""

import dataclasses
import errno
import os
import re

from oslo_log import log as logging

from mdev_traits.discovery import base
from mdev_traits.discovery import pci
from mdev_traits.discovery import sysfs
from mdev_traits.discovery import vdpa_cli
from mdev_traits.discovery import vdpa_netlink
from mdev_traits import models

LOG = logging.getLogger(__name__)

# the names this module has always offered
DEFAULT_COMMAND = vdpa_cli.DEFAULT_COMMAND
DEFAULT_TIMEOUT = vdpa_cli.DEFAULT_TIMEOUT
DEVICE_TYPES = vdpa_cli.DEVICE_TYPES
MGMTDEV_SHOW = vdpa_cli.MGMTDEV_SHOW
DEV_SHOW = vdpa_cli.DEV_SHOW
CONFIG_SHOW = vdpa_cli.CONFIG_SHOW
ToolError = vdpa_cli.ToolError
UnsupportedCommand = vdpa_cli.UnsupportedCommand
FormatError = vdpa_cli.FormatError
parse_uint = vdpa_cli.parse_uint
parse_features = vdpa_cli.parse_features
parse_section = vdpa_cli.parse_section

VHOST_DEV_RE = re.compile(r'^vhost-vdpa-\d+$')
# netlink describes the running kernel: only read it for the real tree
REAL_SYSFS = '/sys'


# -- the collector ----------------------------------------------------------

class VdpaCollector(base.Collector):
    """Collect :class:`~mdev_traits.models.VdpaDevice` objects."""

    name = 'vdpa'
    kinds = (models.KIND_VDPA,)

    def __init__(self, sysfs_root, command=DEFAULT_COMMAND,
                 timeout=DEFAULT_TIMEOUT, netlink_reader=None):
        super(VdpaCollector, self).__init__(sysfs_root)
        self.command = command
        self.timeout = timeout
        # (timeout) -> object with read(names) -> {name: Features}; None:
        # vdpa_netlink.Reader, for the real /sys only
        self.netlink_reader = netlink_reader

    def configure(self, command=DEFAULT_COMMAND, timeout=DEFAULT_TIMEOUT):
        """Take ``[vdpa] command`` and ``command_timeout``."""
        self.command = command
        self.timeout = timeout

    @property
    def devices_dir(self):
        return os.path.join(self.sysfs_root, 'bus', 'vdpa', 'devices')

    def run(self, spec):
        """Run one ``vdpa -j ...`` (:func:`vdpa_cli.run`)."""
        return vdpa_cli.run(self.command, self.timeout, spec)

    # -- collect -------------------------------------------------------------

    def collect(self):
        """Return a :class:`~mdev_traits.models.DiscoveryResult`."""
        try:
            names = sysfs.list_dir(self.devices_dir)
        except sysfs.SysfsReadError as e:
            return self.failed(['vdpa: cannot list %s: %s'
                                % (e.path, e.reason)])
        if not names:
            LOG.debug('%s %s: no vDPA device', self.devices_dir,
                      'is empty' if names is not None else 'does not exist')
            return models.DiscoveryResult()

        try:
            devs = self.run(DEV_SHOW)
        except ToolError as exc:
            LOG.debug('vdpa tool failed: %s', exc)
            return self.failed([
                'vdpa: %s; %d vDPA device(s) in %s are left as they are in '
                'Placement until it works' % (exc, len(names),
                                              self.devices_dir)])

        errors = []
        mgmtdevs = self._optional(MGMTDEV_SHOW, errors)
        configs = self._optional(CONFIG_SHOW, errors)
        # partial: a read that failed this cycle (not a tool or kernel too
        # old to have it): the devices' providers get additions only
        config_failed = configs is None
        config_note = None
        if isinstance(configs, UnsupportedCommand):
            config_note = 'vdpa dev config show: %s' % configs
            configs = {}
        configs = configs or {}
        if not isinstance(mgmtdevs, dict):
            mgmtdevs = {}

        complete = True
        devices = []
        in_sysfs = set(names)
        in_tool = set(devs)
        for name in sorted(in_sysfs ^ in_tool):
            where = 'sysfs' if name in in_sysfs else 'the vdpa tool'
            errors.append('vdpa: device %s is only listed by %s (being '
                          'added or removed?): left as it is this cycle'
                          % (name, where))
            complete = False
        both = sorted(in_sysfs & in_tool)
        features = self._device_features(both, errors)
        for name in both:
            try:
                device = self._read_device(
                    name, devs[name], configs.get(name, {}), mgmtdevs,
                    errors)
            except (sysfs.SysfsReadError, FormatError) as e:
                errors.append('vdpa: skipping device %s: %s' % (name, e))
                complete = False
                continue
            devices.append(self._with_features(
                device, features.get(name), config_failed, config_note))
        return models.DiscoveryResult(
            vdpa_devices=tuple(devices), complete=complete,
            incomplete=frozenset() if complete else frozenset(self.kinds),
            errors=tuple(errors))

    def _optional(self, spec, errors):
        """The section of a command the devices can do without: the parsed
        output, the :class:`UnsupportedCommand` error for a tool without
        it, or None (and an error) when it failed."""
        try:
            return self.run(spec)
        except UnsupportedCommand as exc:
            LOG.debug('vdpa tool: %s', exc)
            return exc
        except ToolError as exc:
            errors.append('vdpa: %s' % exc)
            return None

    def _device_features(self, names, errors):
        """{name: vdpa_netlink.Features} of the devices' own features."""
        if not names:
            return {}
        reader = self.netlink_reader
        if reader is None:
            if os.path.realpath(self.sysfs_root) != REAL_SYSFS:
                reason = ('not read: netlink describes the running kernel '
                          'and [exporter] sysfs_root is %s, not %s'
                          % (self.sysfs_root, REAL_SYSFS))
                return {n: vdpa_netlink.Features(None, None, reason, False)
                        for n in names}
            reader = vdpa_netlink.Reader
        try:
            return reader(self.timeout).read(names)
        except vdpa_netlink.NetlinkError as exc:
            transient = exc.errno != errno.ENOENT
            if transient:
                errors.append('vdpa: reading the devices\' features over '
                              'netlink failed: %s' % exc)
            return {n: vdpa_netlink.Features(
                None, None, 'netlink: %s' % exc, transient) for n in names}

    @staticmethod
    def _with_features(device, features, config_failed, config_note):
        notes = []
        if config_note:
            notes.append(config_note)
        partial = device.partial or config_failed
        if features is not None and features.features is not None:
            supported = tuple('bit_%d' % bit for bit in
                              vdpa_netlink.feature_bits(features.features))
            source = 'netlink VDPA_CMD_DEV_CONFIG_GET %s: %s' % (
                device.name, features.source)
            unknown = None
        else:
            supported, source = (), None
            unknown = (features.reason if features is not None
                       else 'not read')
            partial = partial or bool(features and features.transient)
        return dataclasses.replace(
            device, supported_features=supported, features_source=source,
            features_unknown=unknown, partial=partial,
            notes=tuple(notes))

    # -- one device ----------------------------------------------------------

    def _read_device(self, name, dev, config, mgmtdevs, errors):
        link = os.path.join(self.devices_dir, name)
        device_dir = os.path.realpath(link)
        if not os.path.isdir(device_dir):
            raise sysfs.SysfsReadError(link, 'device vanished')
        # driver and vhost node decide whether the device gets a provider:
        # an unreadable one must not make it look unusable
        driver = sysfs.link_name(os.path.join(device_dir, 'driver'))
        vhost_dev = None
        for entry in sysfs.list_dir(device_dir) or ():
            if VHOST_DEV_RE.match(entry):
                vhost_dev = entry
                break
        if driver == models.VDPA_DRIVER_VHOST and vhost_dev is None:
            raise sysfs.SysfsReadError(
                device_dir, 'bound to vhost_vdpa without a vhost-vdpa-N '
                'device (being bound?)')

        raw_type = dev.get('type')
        device_type = DEVICE_TYPES.get(str(raw_type).strip().lower())
        mgmtdev = dev.get('mgmtdev')
        mgmtdev = str(mgmtdev).strip() if mgmtdev else None
        mgmt = mgmtdevs.get(mgmtdev, {}) if mgmtdev else {}

        # the upper bound, shown with features_unknown, never published
        mgmtdev_features = parse_features(mgmt.get('dev_features'),
                                          'mgmtdev dev_features')

        partial = False
        parent_dir = os.path.dirname(device_dir)
        pci_info = physfn = None
        pf_netdevs = ()
        mgmtdev_driver = None
        try:
            pci_dir = self._pci_ancestor(parent_dir)
            if pci_dir is not None:
                pci_info = pci.read_pci_info(self.sysfs_root, pci_dir,
                                             os.path.basename(pci_dir))
                physfn = sysfs.link_name(os.path.join(pci_dir, 'physfn'))
                pf_dir = (os.path.realpath(os.path.join(pci_dir, 'physfn'))
                          if physfn else pci_dir)
                pf_netdevs = tuple(
                    sysfs.list_dir(os.path.join(pf_dir, 'net')) or ())
            mgmtdev_driver = self._mgmtdev_driver(mgmtdev)
        except sysfs.SysfsReadError as e:
            errors.append('vdpa: device %s: %s' % (name, e))
            partial = True

        return models.VdpaDevice(
            name=name,
            device_type=device_type,
            mgmtdev=mgmtdev,
            mgmtdev_driver=mgmtdev_driver,
            driver=driver,
            vhost_dev=vhost_dev,
            vendor_id=parse_uint(dev.get('vendor_id'), 'vendor_id'),
            max_vqs=parse_uint(dev.get('max_vqs'), 'max_vqs'),
            max_vq_size=parse_uint(dev.get('max_vq_size'), 'max_vq_size'),
            max_vq_pairs=parse_uint(config.get('max_vq_pairs'),
                                    'max_vq_pairs'),
            mtu=parse_uint(config.get('mtu'), 'mtu'),
            mac=str(config['mac']).strip() if config.get('mac') else None,
            mgmtdev_features=mgmtdev_features or (),
            negotiated_features=parse_features(
                config.get('negotiated_features'),
                'negotiated_features') or (),
            parent=os.path.basename(parent_dir),
            pci=pci_info,
            physfn=physfn,
            pf_netdevs=pf_netdevs,
            partial=partial,
        )

    def _pci_ancestor(self, path):
        """The closest directory at or above ``path`` named like a PCI
        device (a VF/PF, or the PF holding an auxiliary device), or None.
        """
        top = os.path.realpath(os.path.join(self.sysfs_root, 'devices'))
        while path.startswith(top + os.sep):
            if pci.is_pci_address(os.path.basename(path)):
                return path
            path = os.path.dirname(path)
        return None

    def _mgmtdev_driver(self, mgmtdev):
        """Driver bound to the management device ``<bus>/<name>``; for a
        management device on no bus (the vdpa_sim ones), its name."""
        if not mgmtdev:
            return None
        if '/' not in mgmtdev:
            return mgmtdev
        bus, dev_name = mgmtdev.split('/', 1)
        return sysfs.link_name(os.path.join(
            self.sysfs_root, 'bus', bus, 'devices', dev_name, 'driver'))
