"""Load the shipped profiles and the operator's rule files (I/O).

The shipped vendor profiles (``mdev_traits/profiles/*.yaml``, next to this
module) and the operator's files in ``[profiles] directory`` are read here
and handed, as plain :class:`mdev_traits.mapping.gpu_rules.RuleSet` data,
to the pure GPU enricher (:func:`mdev_traits.mapping.gpu.make_enricher`).

Files: ``*.yaml`` and ``*.yml``, in file name order (later files win);
names starting with ``.`` are ignored (write ``.x.yaml``, then rename it);
each file is read with a size cap, as a regular file only (a FIFO or a
device is refused, never waited on), parsed and validated as a whole
(:mod:`mdev_traits.profiles.parser`): a bad file is reported in one line
(file, rule, field) and skipped entirely, the others still apply.

These are configuration files, not sysfs: they are not read with
the sysfs reader of discovery, but with
:func:`mdev_traits.fileutil.read_capped`.
"""

import errno
import functools
import os

from mdev_traits import fileutil
from mdev_traits.mapping import gpu_rules
from mdev_traits.profiles import parser

BUILTIN_DIR = os.path.dirname(os.path.abspath(__file__))
SUFFIXES = ('.yaml', '.yml')
DEFAULT_MAX_BYTES = 256 * 1024


def read_regular_file(path, max_bytes):
    """The content of the regular file ``path``, at most ``max_bytes``
    (:func:`mdev_traits.fileutil.read_capped`: a FIFO never blocks).

    :returns: the bytes, or None when ``path`` does not exist.
    :raises fileutil.ReadError: not a regular file ("is a directory", "not a
        regular file"), unreadable (the system's reason) or larger than
        ``max_bytes``.
    """
    return fileutil.read_capped(path, max_bytes)


def profile_files(directory):
    """Sorted paths of the profile files in ``directory``.

    :returns: [] when the directory does not exist.
    :raises fileutil.ReadError: it exists but cannot be listed.
    """
    try:
        entries = sorted(os.listdir(directory))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise fileutil.ReadError(
            directory, 'not a directory' if exc.errno == errno.ENOTDIR
            else fileutil.reason(exc))
    return [os.path.join(directory, name) for name in entries
            if not name.startswith('.') and name.endswith(SUFFIXES)]


def load_file(path, label, operator, max_bytes=DEFAULT_MAX_BYTES):
    """Rules of one file.

    :param label: how the file is named in sources and errors.
    :raises parser.ProfileError: unreadable, too large or invalid.
    """
    try:
        data = read_regular_file(path, max_bytes)
    except fileutil.ReadError as exc:
        raise parser.ProfileError(label, exc.reason)
    if data is None:
        raise parser.ProfileError(label, 'vanished while being read')
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError:
        raise parser.ProfileError(label, 'not valid UTF-8')
    return parser.parse_text(text, label, operator)


def load_directory(directory, operator, max_bytes=DEFAULT_MAX_BYTES,
                   label=None):
    """(rules in order, errors) of every file in ``directory``.

    :param label: callable path -> name shown to the operator (default:
        the path).
    """
    label = label or (lambda path: path)
    try:
        paths = profile_files(directory)
    except fileutil.ReadError as exc:
        return (), ('%s: %s; no rule from it applies' % (exc.path,
                                                         exc.reason),)
    rules = []
    errors = []
    for path in paths:
        try:
            rules.extend(load_file(path, label(path), operator, max_bytes))
        except parser.ProfileError as exc:
            errors.append('%s; the file is skipped' % exc)
    return tuple(rules), tuple(errors)


@functools.lru_cache(maxsize=1)
def load_builtin():
    """(rules, errors) of the shipped profiles (read once)."""
    return load_directory(BUILTIN_DIR, operator=False,
                          label=os.path.basename)


def load_rule_set(builtin=True, directory=None,
                  max_bytes=DEFAULT_MAX_BYTES):
    """The :class:`gpu_rules.RuleSet` to hand to the enricher.

    :param builtin: with the shipped profiles.
    :param directory: the operator's rule files, or None.
    :param max_bytes: the size cap of one operator file.
    """
    builtin_rules, builtin_errors = load_builtin() if builtin else ((), ())
    operator_rules, operator_errors = (), ()
    if directory:
        operator_rules, operator_errors = load_directory(
            directory, operator=True, max_bytes=max_bytes)
    return gpu_rules.RuleSet(builtin=builtin_rules,
                             operator=operator_rules,
                             errors=builtin_errors + operator_errors)
