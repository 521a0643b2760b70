"""Every configuration check, with messages an operator can act on.

:func:`checked_settings` is the entry point, at start and at each
reload: every option read once and each bad value reported, then the
devices nova would refuse and the ladder floors; the settings are built
once, there, when there is no error.

* :func:`value_errors`: every registered option read once (oslo.config
  checks values lazily), each bad value as one line that names the group,
  the option, where it was set and what is allowed, in plain words.
* :func:`unknown_options`: options and sections of the exporter's *own*
  file that no option of the exporter takes (a typo such as
  ``intervall = 10`` is otherwise ignored without a word). The own file is
  the last ``--config-file``: the guide passes nova's configuration first
  and the exporter's last, so nova's options in ``nova.conf`` are not
  reported.
* :func:`mdev_config_errors`: the ``[mdev_<type>]`` settings nova refuses
  to start with, refused at start too, with the file that sets them.
* :func:`exposed_secret_files`: configuration files that hold a
  credential and that every user of the host can read.
* :func:`unknown_enabled_types`: enabled mdev types no parent offers.

Which options exist and where a value is set come from
:mod:`mdev_traits.conf.options`; files and locations from oslo.config's
public API (``ConfigOpts.get_location``, ``config_file``, the
configuration object's mapping interface, ``cfg.ConfigParser``).
"""

import os
import re
import stat

from oslo_config import cfg
from oslo_config import types

from mdev_traits.conf import options as conf_options
from mdev_traits.conf import settings as settings_mod
from mdev_traits.mapping import floors as floors_mod
from mdev_traits.mapping import mdev as mdev_mapping

# a bound on the lines one check writes
MAX_REPORTED = 20


def _norm(name):
    return name.replace('-', '_')


# -- values -----------------------------------------------------------------

def _number(kind, low, high):
    if low is not None and high is not None:
        return '%s from %s to %s' % (kind, low, high)
    if low is not None:
        return '%s of at least %s' % (kind, low)
    if high is not None:
        return '%s of at most %s' % (kind, high)
    return kind


def allowed(value_type):
    """What ``value_type`` accepts, in words (None when it says nothing
    more than "text")."""
    t = value_type
    if isinstance(t, types.Boolean):
        return 'true or false'
    if isinstance(t, types.Port):
        return _number('a port number', t.min, t.max)
    if isinstance(t, types.Integer):
        return _number('a whole number', t.min, t.max)
    if isinstance(t, types.Float):
        return _number('a number', t.min, t.max)
    if isinstance(t, types.HostAddress):
        return 'an IP address or a host name'
    if isinstance(t, types.List):
        item = allowed(t.item_type) if t.item_type else None
        return 'a comma-separated list%s' % (
            ', each %s' % item if item else '')
    if isinstance(t, types.Dict):
        item = allowed(t.value_type) if t.value_type else None
        return 'comma-separated key:value pairs%s' % (
            ', each value %s' % item if item else '')
    if isinstance(t, types.String):
        if t.choices:
            return 'one of: %s' % ', '.join(str(c) for c in t.choices)
        words = []
        if t.regex is not None:
            words.append('text matching the regular expression %s' %
                         t.regex.pattern)
        if t.max_length:
            words.append('at most %d characters' % t.max_length)
        return ', '.join(words) or None
    return None


def describe_error(conf, group, name, opt, exc):
    """One line about a bad value of ``[group] name``."""
    where, raw = conf_options.where_set(conf, group, name)
    shown = ''
    if raw is not None and not getattr(opt, 'secret', False):
        shown = ' = %s' % raw
    words = allowed(opt.type) if opt is not None else None
    reason = ('allowed: %s' % words if words else
              getattr(exc, 'msg', None) or str(exc))
    return '[%s] %s%s in %s is not valid; %s' % (
        group, name, shown, where, reason)


def value_errors(conf):
    """One line per option whose value is not valid."""
    declared = conf_options.declared_opts(conf)
    errors = []
    for group, names in sorted(conf_options.registered(conf).items()):
        values = conf if group == conf_options.DEFAULT else conf[group]
        for name in sorted(names):
            try:
                values[name]
            except (cfg.ConfigFileValueError, ValueError) as exc:
                template = conf_options.template(group)
                opt = declared.get(template, {}).get(name)
                cause = exc.__cause__ or exc.__context__ or exc
                errors.append(describe_error(conf, group, name, opt, cause))
    return errors


# -- unknown options ----------------------------------------------------------

def own_file(conf):
    """The exporter's own configuration file: the last ``--config-file``
    (nova's configuration, when passed, comes first)."""
    files = list(conf.config_file or ())
    return files[-1] if files else None


def known_names(conf):
    """{group: set of option names a file may use in it}."""
    known = {g: {_norm(n) for n in names}
             for g, names in conf_options.registered(conf).items()}
    for group, opts in conf_options.declared_opts(conf).items():
        targets = ([g for g in known if g.startswith('mdev_')]
                   if group == conf_options.MDEV_TEMPLATE else [group])
        for opt in opts.values():
            for target in targets:
                known.setdefault(target, set()).add(_norm(opt.dest))
            for dep in opt.deprecated_opts:
                dep_group = dep.group or conf_options.DEFAULT
                dep_targets = targets if dep.group is None else [dep_group]
                for target in dep_targets:
                    known.setdefault(target, set()).add(
                        _norm(dep.name or opt.dest))
    return known


def unknown_options(conf, path=None):
    """Lines about the options and sections of ``path`` (default: the own
    file) that the exporter does not know; at most :data:`MAX_REPORTED`
    (then a count of the others)."""
    path = path or own_file(conf)
    if not path:
        return []
    sections = {}
    try:
        cfg.ConfigParser(path, sections).parse()
    except (OSError, cfg.Error, UnicodeDecodeError):
        return []  # oslo.config itself reports a file it cannot read
    known = known_names(conf)
    found = []
    for section, options in sections.items():
        group = (conf_options.DEFAULT if section.lower() == 'default'
                 else section)
        if group not in known:
            hint = ''
            if group.startswith(('mdev_', 'vgpu_')):
                hint = ' (its type is not in [devices] enabled_mdev_types)'
            found.append('%s: unknown section [%s]%s: ignored' % (
                path, section, hint))
            continue
        for option in options:
            if _norm(option) not in known[group]:
                found.append('%s: unknown option [%s] %s: ignored' % (
                    path, section, option))
    if len(found) > MAX_REPORTED:
        more = len(found) - MAX_REPORTED
        found = found[:MAX_REPORTED] + [
            '%s: %d more unknown option(s) or section(s)' % (path, more)]
    return found


# -- devices ------------------------------------------------------------------

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
    errors = value_errors(conf)
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
