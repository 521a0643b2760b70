"""Load GPU capability profiles and operator rules (I/O, service layer).

The shipped vendor profiles (``mdev_traits/profiles/*.yaml``) and the
operator's files in ``[profiles] directory`` are read here and handed, as
plain :class:`mdev_traits.mapping.gpu_rules.RuleSet` data, to the pure
GPU enricher (:func:`mdev_traits.mapping.gpu.make_enricher`).

Operator files: ``*.yaml`` and ``*.yml``, in file name order (later files
win); names starting with ``.`` are ignored (write ``.x.yaml``, then rename
it); each file is read with a size cap, as a regular file only, parsed with
``yaml.safe_load`` and validated as a whole: a bad file is reported in one
line (file, rule, field) and skipped entirely, the others still apply.
"""

import functools
import os

from oslo_config import cfg
from oslo_log import log as logging

from mdev_traits.conf import exporter as exporter_conf
from mdev_traits.discovery import sysfs
from mdev_traits.mapping import floors as floors_mod
from mdev_traits.mapping import gpu as gpu_mapping
from mdev_traits.mapping import gpu_rules

LOG = logging.getLogger(__name__)

BUILTIN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           'profiles')
SUFFIXES = ('.yaml', '.yml')
DEFAULT_MAX_BYTES = 256 * 1024


def profile_files(directory):
    """Sorted paths of the profile files in ``directory``.

    :returns: [] when the directory does not exist.
    :raises sysfs.SysfsReadError: it exists but cannot be listed.
    """
    entries = sysfs.list_dir(directory)
    if entries is None:
        return []
    return [os.path.join(directory, name) for name in entries
            if not name.startswith('.') and name.endswith(SUFFIXES)]


def load_file(path, label, operator, max_bytes=DEFAULT_MAX_BYTES):
    """Rules of one file.

    :param label: how the file is named in sources and errors.
    :raises gpu_rules.ProfileError: unreadable, too large or invalid.
    """
    try:
        data = sysfs.read_bytes(path, max_bytes)
    except sysfs.SysfsReadError as exc:
        raise gpu_rules.ProfileError(label, exc.reason)
    if data is None:
        raise gpu_rules.ProfileError(label, 'vanished while being read')
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError:
        raise gpu_rules.ProfileError(label, 'not valid UTF-8')
    return gpu_rules.parse_text(text, label, operator)


def load_directory(directory, operator, max_bytes=DEFAULT_MAX_BYTES,
                   label=None):
    """(rules in order, errors) of every file in ``directory``.

    :param label: callable path -> name shown to the operator (default:
        the path).
    """
    label = label or (lambda path: path)
    try:
        paths = profile_files(directory)
    except sysfs.SysfsReadError as exc:
        return (), ('%s: %s; no rule from it applies' % (exc.path,
                                                         exc.reason),)
    rules = []
    errors = []
    for path in paths:
        try:
            rules.extend(load_file(path, label(path), operator, max_bytes))
        except gpu_rules.ProfileError as exc:
            errors.append('%s; the file is skipped' % exc)
    return tuple(rules), tuple(errors)


@functools.lru_cache(maxsize=1)
def load_builtin():
    """(rules, errors) of the shipped profiles (read once)."""
    return load_directory(BUILTIN_DIR, operator=False,
                          label=os.path.basename)


def load_rule_set(builtin=True, directory=None,
                  max_bytes=DEFAULT_MAX_BYTES):
    """The :class:`gpu_rules.RuleSet` to hand to the enricher."""
    builtin_rules, builtin_errors = load_builtin() if builtin else ((), ())
    operator_rules, operator_errors = (), ()
    if directory:
        operator_rules, operator_errors = load_directory(
            directory, operator=True, max_bytes=max_bytes)
    return gpu_rules.RuleSet(builtin=builtin_rules,
                             operator=operator_rules,
                             errors=builtin_errors + operator_errors)


def rule_set_from_conf(conf):
    group = conf.profiles
    return load_rule_set(builtin=group.builtin, directory=group.directory,
                         max_bytes=group.max_file_size)


def enrichers_from_conf(conf, floors=None):
    """The GPU capability enricher(s) for ``conf``: [] when disabled (or
    when ``conf`` has no [profiles] group)."""
    try:
        group = conf.profiles
        enabled = group.enabled
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError, AttributeError):
        return []
    if not enabled:
        return []
    return [gpu_mapping.make_enricher(
        rule_set_from_conf(conf),
        manage=conf.exporter.mode == exporter_conf.MODE_MANAGE,
        display_heads_inventory=group.display_head_inventory,
        floors=floors if floors is not None else floors_mod.DEFAULT)]
