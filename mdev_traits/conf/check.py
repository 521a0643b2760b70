"""Configuration checks whose messages an operator can act on.

* :func:`value_errors`: every registered option read once (oslo.config
  checks values lazily), each bad value as one line that names the group,
  the option, where it was set and what is allowed, in plain words.
* :func:`unknown_options`: options and sections of the exporter's *own*
  file that no option of the exporter takes (a typo such as
  ``intervall = 10`` is otherwise ignored without a word). The own file is
  the last ``--config-file``: the guide passes nova's configuration first
  and the exporter's last, so nova's options in ``nova.conf`` are not
  reported.
* :func:`changed_options`: what a reload changes, by name.

Options are known from the configuration object itself (its public
mapping interface: registered groups and options), plus the deprecated
names of the declared options (the ``oslo.config.opts`` entry points that
``etc/mdev-traits-config-generator.conf`` names, keystoneauth's
``[placement]`` options and those of the common and configured auth
plugins).
"""

import glob
import importlib.metadata
import os

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading as ks_loading
from oslo_config import cfg
from oslo_config import types

from mdev_traits.conf import placement as placement_conf

DEFAULT = 'DEFAULT'
# the namespaces of etc/mdev-traits-config-generator.conf
NAMESPACES = ('mdev_traits', 'oslo.log')
# dynamic groups: each [mdev_<type>] is declared as this template
MDEV_TEMPLATE = 'mdev_$mdev_type'
# a bound on the lines one check writes
MAX_REPORTED = 20


def _norm(name):
    return name.replace('-', '_')


def _entry_point_opts():
    eps = importlib.metadata.entry_points()
    group = 'oslo.config.opts'
    eps = (eps.select(group=group) if hasattr(eps, 'select')
           else eps.get(group, ()))
    listed = []
    for ep in eps:
        if ep.name in NAMESPACES:
            listed.extend(ep.load()())
    return listed


# auth plugins whose options a [placement] section commonly holds (nova's
# and the exporter's documented setups), besides the configured one
COMMON_AUTH_PLUGINS = ('password', 'v3password', 'v3applicationcredential',
                       'token', 'v3token', 'admin_token', 'none',
                       'http_basic')


def _placement_opts(conf):
    """keystoneauth's ``[placement]`` options, with those of the common
    auth plugins and of the configured one: which plugin applies may be
    set elsewhere (another file, the environment) than its options."""
    opts = (ks_loading.get_session_conf_options()
            + ks_loading.get_auth_common_conf_options()
            + ks_loading.get_adapter_conf_options(include_deprecated=True))
    try:
        configured = conf[placement_conf.GROUP].auth_type
    except (cfg.Error, ValueError):
        configured = None
    for name in COMMON_AUTH_PLUGINS + ((configured,) if configured else ()):
        try:
            opts = opts + ks_loading.get_auth_plugin_conf_options(name)
        except ks_exceptions.NoMatchingPlugin:
            continue
    return [(placement_conf.GROUP, opts)]


def declared_opts(conf):
    """{group: {option dest: Opt}} of every option the exporter declares
    (``DEFAULT`` for the default group; ``[mdev_<type>]`` under
    :data:`MDEV_TEMPLATE`)."""
    index = {}
    for group, opts in _entry_point_opts() + _placement_opts(conf):
        group = getattr(group, 'name', group) or DEFAULT
        for opt in opts:
            index.setdefault(group, {}).setdefault(opt.dest, opt)
    return index


def _template(group):
    return MDEV_TEMPLATE if group.startswith('mdev_') else group


def registered(conf):
    """{group: set of option names} registered on ``conf`` (through its
    public mapping interface), with the dynamic ``[mdev_<type>]`` groups
    of the enabled types once they are registered
    (:func:`mdev_traits.conf.settings.register_dynamic_opts`, at load)."""
    groups = {DEFAULT: set()}
    for name in conf:
        try:
            value = conf[name]
        except (cfg.Error, ValueError):
            groups[DEFAULT].add(name)
            continue
        if isinstance(value, cfg.ConfigOpts.GroupAttr):
            groups[name] = set(value)
        else:
            groups[DEFAULT].add(name)
    return groups


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


def _files(conf):
    """The configuration files in the order oslo.config reads them."""
    files = list(conf.config_file or ())
    for directory in ([conf.config_dir] if conf.config_dir else []):
        files.extend(sorted(glob.glob(os.path.join(directory, '*.conf'))))
    return files


def _setting(path, group, name):
    """The text of ``[group] name`` in ``path`` (last one wins), or None."""
    sections = {}
    try:
        cfg.ConfigParser(path, sections).parse()
    except (OSError, cfg.Error, UnicodeDecodeError):
        return None
    for section, options in sections.items():
        if (DEFAULT if section.lower() == 'default' else section) != group:
            continue
        for key in (name, name.replace('_', '-')):
            if options.get(key):
                return options[key][-1]
    return None


def where_set(conf, group, name):
    """(where ``[group] name`` is set, in words; its text or None)."""
    env = 'OS_%s__%s' % (group.upper(), name.upper())
    if env in os.environ:
        return 'the environment (%s)' % env, None
    for path in reversed(_files(conf)):
        raw = _setting(path, group, name)
        if raw is not None:
            return path, raw
    return 'the configuration', None


def describe_error(conf, group, name, opt, exc):
    """One line about a bad value of ``[group] name``."""
    where, raw = where_set(conf, group, name)
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
    declared = declared_opts(conf)
    errors = []
    for group, names in sorted(registered(conf).items()):
        values = conf if group == DEFAULT else conf[group]
        for name in sorted(names):
            try:
                values[name]
            except (cfg.ConfigFileValueError, ValueError) as exc:
                opt = declared.get(_template(group), {}).get(name)
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
             for g, names in registered(conf).items()}
    for group, opts in declared_opts(conf).items():
        targets = ([g for g in known if g.startswith('mdev_')]
                   if group == MDEV_TEMPLATE else [group])
        for opt in opts.values():
            for target in targets:
                known.setdefault(target, set()).add(_norm(opt.dest))
            for dep in opt.deprecated_opts:
                dep_group = dep.group or DEFAULT
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
        group = DEFAULT if section.lower() == 'default' else section
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


# -- reload -----------------------------------------------------------------

def _values(conf):
    values = {}
    for group, names in registered(conf).items():
        view = conf if group == DEFAULT else conf[group]
        for name in names:
            try:
                values[(group, name)] = view[name]
            except (cfg.Error, ValueError):
                values[(group, name)] = None
    return values


def changed_options(old, new):
    """Sorted ``(group, option)`` whose value differs between two
    configuration objects. Options registered on one of them only (the
    auth plugin's, registered once the Placement client is loaded) are
    left out."""
    before, after = _values(old), _values(new)
    return sorted(key for key in set(before) & set(after)
                  if before[key] != after[key])


def option_name(key):
    group, name = key
    return '[%s] %s' % (group, name)


def needs_restart(key):
    """Whether a changed option applies only after a restart: the
    logging options of oslo.log except ``debug`` (the log handlers are
    set up once, at start)."""
    group, name = key
    return group == DEFAULT and name != 'debug'
