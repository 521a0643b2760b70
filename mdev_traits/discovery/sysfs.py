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

"""Small, defensive readers for sysfs attributes.

Every reader makes the same distinction, so that callers can tell an
absent optional attribute from a broken one:

* the path does not exist -> ``None``;
* anything else that is wrong (unreadable, not a regular file, larger
  than the cap, not UTF-8, not a number, not a symlink, ...) ->
  :class:`SysfsReadError`, which carries the path and a short reason.

Attributes are read with ``O_NONBLOCK`` and only when they are regular
files (``fstat``, or the file type the directory listing gave, see
:func:`scan_dir`), so a FIFO or device node planted in a fake tree cannot
block discovery; reads are capped at :data:`MAX_READ_BYTES` (a sysfs
attribute is at most one page).

A regular file is read with a single ``read()`` of ``MAX_READ_BYTES + 1``
bytes: a read of a regular file, like that of a sysfs attribute (kernfs
hands the whole ``show()`` output to one read), returns less than asked
only at the end of the file. Reading one attribute costs three system
calls (``open``, ``read``, ``close``) when the caller knows the file type
from :func:`scan_dir`, four otherwise.
"""

import errno
import os
import re

from mdev_traits import fileutil

MAX_READ_BYTES = 64 * 1024

_LIST_SPLIT_RE = re.compile(r'[,\s]+')


class SysfsReadError(Exception):
    """A sysfs path exists but could not be read or parsed."""

    def __init__(self, path, reason):
        super(SysfsReadError, self).__init__('%s: %s' % (path, reason))
        self.path = path
        self.reason = reason


def _reason(exc):
    if exc.errno:
        return os.strerror(exc.errno)
    return str(exc)


def _short(value, limit=40):
    if len(value) > limit:
        value = value[:limit] + '...'
    return repr(value)


def read_bytes(path, max_bytes=MAX_READ_BYTES, regular=None):
    """Return the raw content of a regular file, or None if it is missing
    (:func:`mdev_traits.fileutil.read_capped`, in one read).

    :param regular: True when the caller knows ``path`` is a regular file
        (from :func:`scan_dir`), which saves the ``fstat``.
    :raises SysfsReadError: not a regular file, unreadable, or larger than
        ``max_bytes``.
    """
    try:
        return fileutil.read_capped(path, max_bytes, regular=bool(regular),
                                    one_read=True)
    except fileutil.ReadError as exc:
        raise SysfsReadError(exc.path, exc.reason)


def read_attr(path, max_bytes=MAX_READ_BYTES, regular=None):
    """Return a text attribute with surrounding whitespace stripped.

    :returns: the value (possibly ``''``) or None if the file is missing.
    :raises SysfsReadError: unreadable, too large, not UTF-8 or containing
        NUL bytes.
    """
    data = read_bytes(path, max_bytes, regular)
    if data is None:
        return None
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError as e:
        raise SysfsReadError(path, 'not valid UTF-8 (byte 0x%02x at offset '
                             '%d)' % (data[e.start], e.start))
    if '\x00' in text:
        raise SysfsReadError(path, 'contains a NUL byte')
    return text.strip()


def read_int(path, base=10):
    """Return an integer attribute, or None if the file is missing.

    :raises SysfsReadError: as :func:`read_attr`, or not an integer.
    """
    value = read_attr(path)
    if value is None:
        return None
    try:
        return int(value, base)
    except ValueError:
        raise SysfsReadError(path, 'not an integer: %s' % _short(value))


def read_list(path, regular=None):
    """Return a tuple of the comma/space/newline separated items.

    Empty items are dropped, so an empty file gives ``()``.

    :returns: tuple of str, or None if the file is missing.
    :raises SysfsReadError: as :func:`read_attr`.
    """
    value = read_attr(path, regular=regular)
    if value is None:
        return None
    return tuple(item for item in _LIST_SPLIT_RE.split(value) if item)


def read_link(path):
    """Return the target of a symlink as stored, or None if missing.

    :raises SysfsReadError: the path is not a symlink or unreadable.
    """
    try:
        return os.readlink(path)
    except FileNotFoundError:
        return None
    except OSError as e:
        if e.errno == errno.EINVAL:
            raise SysfsReadError(path, 'not a symbolic link')
        raise SysfsReadError(path, _reason(e))


def link_name(path):
    """Return the last component of a symlink's target.

    This is how sysfs names things by reference: ``driver`` ->
    ``../../../../bus/pci/drivers/nvidia`` gives ``nvidia``.

    :returns: str, or None if the link is missing.
    :raises SysfsReadError: not a symlink, unreadable, or a target without
        a usable last component.
    """
    target = read_link(path)
    if target is None:
        return None
    name = os.path.basename(target.rstrip('/'))
    if name in ('', '.', '..'):
        raise SysfsReadError(path, 'unusable link target %s'
                             % _short(target))
    return name


def list_dir(path):
    """Return the sorted entry names of a directory, or None if missing.

    :raises SysfsReadError: not a directory or unlistable.
    """
    names = list_names(path)
    return None if names is None else sorted(names)


def list_names(path):
    """:func:`list_dir` without the sorting (for callers that do not need
    an order)."""
    try:
        return os.listdir(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise SysfsReadError(path, 'not a directory')
    except OSError as e:
        raise SysfsReadError(path, _reason(e))


def scan_dir(path):
    """Return ``{name: os.DirEntry}`` for a directory, or None if it is
    missing.

    ``entry.is_file(follow_symlinks=False)`` then tells a regular file
    from the directory listing itself (``d_type``), without a ``stat``;
    an entry whose type the file system does not report, or a symbolic
    link, counts as not (known to be) a regular file, so that its reader
    checks it with ``fstat``.

    :raises SysfsReadError: not a directory or unlistable.
    """
    try:
        with os.scandir(path) as it:
            return {e.name: e for e in it}
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise SysfsReadError(path, 'not a directory')
    except OSError as e:
        raise SysfsReadError(path, _reason(e))
