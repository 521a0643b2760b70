"""Checks of the devices a configuration names, and the start checks.

nova refuses to start with some ``[mdev_<type>]`` settings; the exporter
refuses them at start too, with the file that sets them
(:func:`mdev_config_errors`), and :func:`validate` runs every check of a
configuration before the settings are used (:mod:`check` for the values
themselves). Files come from oslo.config's public API
(``ConfigOpts.get_location``, ``config_file``).
"""

import os
import re
import stat

from oslo_config import cfg

from mdev_traits.conf import check
from mdev_traits.conf import settings as settings_mod
from mdev_traits.mapping import floors as floors_mod
from mdev_traits.mapping import mdev as mdev_mapping


# What libvirt names a PCI device (the kernel's "%04x:%02x:%02x.%d",
# drivers/pci/probe.c pci_setup_device): nova's own pattern accepts more
# (upper-case digits, any character before the function) but such an
# address never matches a device.
_LIBVIRT_PCI_ADDRESS = re.compile(
    r'^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$')


def device_address_problem(address, sysfs_root):
    """Why nova cannot use ``address`` of ``[mdev_<type>]
    device_addresses``, or None.

    nova/virt/libvirt/driver.py LibvirtDriver._validate_device_address: an
    address is a PCI address (pci_utils.parse_address) or, when it is not,
    must name a device under /sys/devices/virtual once every ``_`` is read
    as ``/`` (``mtty_mtty``: devices/virtual/mtty/mtty); nova refuses to
    start otherwise. A well-formed PCI address is not looked up (neither
    does nova: the GPU may be absent for now). Stricter than nova: a PCI
    address nova parses but that no libvirt device name can give
    (``0000:5e:00:0``, ``0000:3B:00.0``) or a virtual path that is no mdev
    parent (``mtty``) is refused too, since nova would silently never match
    it.
    """
    if mdev_mapping.is_nova_pci_address(address):
        if _LIBVIRT_PCI_ADDRESS.match(address):
            return None
        return ('is not a PCI address as devices are named '
                '(DDDD:BB:SS.F in lower-case hexadecimal): nova would '
                'never match it to a device')
    path = '%s/devices/virtual/%s' % (sysfs_root.rstrip('/'),
                                      address.replace('_', '/'))
    if not os.path.exists(path):
        return ('is neither a PCI address (DDDD:BB:SS.F) nor the libvirt '
                'name of a parent under devices/virtual: %s does not exist'
                % path)
    # stricter than nova, which only checks that the path exists: "mtty"
    # (the class directory devices/virtual/mtty) passes there, but no
    # libvirt node device is named so and nova would never match it
    if not os.path.isdir(os.path.join(path, 'mdev_supported_types')):
        return ('names no mdev parent: %s has no mdev_supported_types (a '
                'virtual parent is named <class>_<device>, e.g. mtty_mtty)'
                % path)
    return None


def _option_file(conf, name, group, unset='the configuration'):
    """The file that sets ``[group] name`` (oslo.config's public
    ``get_location``), for messages."""
    try:
        loc = conf.get_location(name, group)
    except Exception:  # noqa: B902 - location is only for the message
        return 'the configuration'
    return loc.detail if loc and loc.detail else unset


def check_mdev_config(mdev_config, sysfs_root='/sys', where=None):
    """Errors nova itself would refuse to start with
    (nova/virt/libvirt/driver.py LibvirtDriver._get_supported_vgpu_types:
    an address given twice, "duplicate types for PCI ID";
    _validate_device_address: see :func:`device_address_problem`).

    ``where(mdev_type)`` names the file that sets the type's addresses.
    """
    seen = {}
    errors = []
    for mdev_type, addresses in mdev_config.device_addresses:
        option = '[mdev_%s] device_addresses in %s' % (
            mdev_type, where(mdev_type) if where else 'the configuration')
        for address in addresses:
            if not address:
                continue
            other = seen.get(address)
            if other is not None:
                errors.append('%s: %s is already used by [mdev_%s]' % (
                    option, address, other))
                continue
            seen[address] = mdev_type
            problem = device_address_problem(address, sysfs_root)
            if problem:
                errors.append('%s: %r %s' % (option, address, problem))
    return errors


def mdev_config_errors(conf, mdev_config):
    """:func:`check_mdev_config` of ``mdev_config``, the
    :class:`mdev_mapping.MdevConfig` of the configuration ``conf`` (which
    names the files)."""
    return check_mdev_config(
        mdev_config, conf.exporter.sysfs_root,
        where=lambda t: _option_file(conf, 'device_addresses', 'mdev_%s' % t))


_SECRET_OPTION = re.compile(
    r'^\s*(password|token|application_credential_secret|secret)\s*=\s*\S',
    re.MULTILINE)


def exposed_secret_files(conf):
    """Configuration files that hold a credential and that every user of
    the host can read."""
    exposed = []
    for path in conf.config_file or ():
        try:
            mode = os.stat(path).st_mode
            if not mode & stat.S_IROTH:
                continue
            with open(path, encoding='utf-8', errors='replace') as f:
                if _SECRET_OPTION.search(f.read(1 << 20)):
                    exposed.append(path)
        except OSError:
            continue
    return exposed


def unknown_enabled_types(conf, discovery):
    """Errors for [devices] enabled_mdev_types entries that no parent of
    this host offers (only when discovery of mdevs was complete)."""
    if not discovery.kind_complete('mdev'):
        return []
    offered = {t for p in discovery.mdev_parents for t in p.type_ids}
    missing = [t for t in conf.devices.enabled_mdev_types
               if t not in offered]
    if not missing:
        return []
    where = _option_file(conf, 'enabled_mdev_types', 'devices',
                         unset='the command line')
    return ['[devices] enabled_mdev_types in %s: type(s) %s offered by no '
            'mdev parent under %s (offered here: %s); set [exporter] '
            'check_enabled_types = false if this configuration is shared '
            'by hosts with other GPU models' % (
                where, ', '.join(missing), conf.exporter.sysfs_root,
                ', '.join(sorted(offered)) or 'none')]


def checked_settings(conf):
    """``(settings or None, errors)``: every option read once, so that a
    bad value fails at start, each in one line naming group, option, file
    and what is allowed (oslo.config checks values lazily); then the
    devices nova would refuse and the ladder floors. The settings are
    built once, here, when there is no error."""
    try:
        # the [mdev_<type>] groups, once per load (their values are read
        # below); a bad enabled_mdev_types is one of the value errors
        settings_mod.register_dynamic_opts(conf)
    except (cfg.Error, ValueError):
        pass
    errors = check.value_errors(conf)
    if errors:
        return None, errors
    floor_error = None
    try:
        settings = settings_mod.build(conf)
        mdev_config = settings.mdev
    except floors_mod.FloorError as exc:
        settings, floor_error = None, exc
        mdev_config = settings_mod.mdev_config(conf)
    # each names the file that sets the option
    errors = mdev_config_errors(conf, mdev_config)
    if floor_error is not None:
        errors.append('[profiles] ladder_floors: %s (files: %s)' % (
            floor_error, ', '.join(conf.config_file) or 'none'))
    return (None if errors else settings), errors


def validate(conf):
    """The errors of :func:`checked_settings`."""
    return checked_settings(conf)[1]
