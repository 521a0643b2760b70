"""What options exist, where each is set, what a reload changed.

* :func:`declared_opts`: every option the exporter declares (the
  ``oslo.config.opts`` entry points that
  ``etc/mdev-traits-config-generator.conf`` names, keystoneauth's
  ``[placement]`` options and those of the common and configured auth
  plugins), with their deprecated names.
* :func:`registered`: the options registered on a configuration object,
  known from its public mapping interface (registered groups and options).
* :func:`where_set`: where the value of an option comes from (the
  environment or the last configuration file that sets it), for messages.
* :func:`changed_options`: what a reload changes, by name
  (:func:`option_name`), and whether it applies only after a restart
  (:func:`needs_restart`).

The configuration checks themselves are in :mod:`mdev_traits.conf.check`.
"""

import glob
import importlib.metadata
import os

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

from mdev_traits.conf import placement as placement_conf

DEFAULT = 'DEFAULT'
# the namespaces of etc/mdev-traits-config-generator.conf
NAMESPACES = ('mdev_traits', 'oslo.log')
# dynamic groups: each [mdev_<type>] is declared as this template
MDEV_TEMPLATE = 'mdev_$mdev_type'


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


def template(group):
    """The group under which ``group``'s options are declared."""
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


# -- where a value is set ----------------------------------------------------

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
