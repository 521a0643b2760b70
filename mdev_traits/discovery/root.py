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

"""Does ``[exporter] sysfs_root`` look like sysfs?

Discovery is evidence for withdrawing traits and providers only when the
tree it read is a sysfs tree: an empty or mistyped root (``/sys/`` typed
``/sy``, a bind mount that is not there) reads as "no device", which must
not mean "withdraw everything".

The test is what every kernel has: ``devices/`` (the device hierarchy,
``Documentation/filesystems/sysfs.rst``, "Top Level Directory Layout")
and ``bus/`` (``drivers/base/bus.c``: ``buses_init`` creates
``/sys/bus``). When the root is the sysfs mount itself or lies on one (a
real host's ``/sys``), the file system must moreover be sysfs: its type in
``/proc/self/mountinfo`` (``Documentation/filesystems/proc.rst``, section
3.5) is ``sysfs`` (``fs/sysfs/mount.c``: ``sysfs_fs_type.name``). A fake
tree for tests and demos (a directory on any other file system with
``devices/`` and ``bus/``) passes the first test only, which is all a
directory that is not ``/sys`` can be asked.
"""

import os

MOUNTINFO = '/proc/self/mountinfo'
# a host with a great many mounts (containers) still has a mountinfo far
# below this; beyond it the file is not read and only the layout counts
MAX_MOUNTINFO_BYTES = 4 * 1024 * 1024
REQUIRED_DIRS = ('devices', 'bus')
SYSFS_TYPE = 'sysfs'
REAL_SYSFS = '/sys'


def _unescape(field):
    """mountinfo escapes space, tab, newline and backslash as ``\\ooo``
    (fs/proc_namespace.c: ``show_mountinfo`` -> ``seq_path_root`` with
    " \\t\\n\\\\")."""
    out = []
    i = 0
    while i < len(field):
        code = field[i + 1:i + 4]
        if (field[i] == '\\' and len(code) == 3
                and all(c in '01234567' for c in code)):
            out.append(chr(int(code, 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return ''.join(out)


def parse_mountinfo(text):
    """[(mount point, file system type)] of a mountinfo text.

    Line format: ``36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3
    /dev/root rw,errors=continue``: the 5th field is the mount point, the
    first field after the ``-`` separator the file system type.
    """
    mounts = []
    for line in text.splitlines():
        fields = line.split(' ')
        try:
            sep = fields.index('-', 6)
            mounts.append((_unescape(fields[4]), fields[sep + 1]))
        except (ValueError, IndexError):
            continue
    return mounts


def fs_type(path, mountinfo_text):
    """The type of the file system ``path`` (resolved) lies on, from the
    longest mount point that contains it (the last one mounted wins), or
    None when no mount point contains it."""
    best = None
    best_len = -1
    for point, kind in parse_mountinfo(mountinfo_text):
        inside = (path == point or point == '/'
                  or path.startswith(point.rstrip('/') + '/'))
        if inside and len(point) >= best_len:
            best, best_len = kind, len(point)
    return best


def _read_mountinfo(path):
    try:
        with open(path, 'rb') as f:
            data = f.read(MAX_MOUNTINFO_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_MOUNTINFO_BYTES:
        return None
    return data.decode('utf-8', 'replace')


def check(sysfs_root, mountinfo=MOUNTINFO):
    """None when ``sysfs_root`` looks like sysfs, else one line saying why
    not (without the option name; callers add it).

    :param mountinfo: path of the mount table (tests pass their own).
    """
    real = os.path.realpath(sysfs_root)
    if not os.path.isdir(real):
        return '%s is not a directory' % sysfs_root
    missing = [d for d in REQUIRED_DIRS
               if not os.path.isdir(os.path.join(real, d))]
    if missing:
        return '%s has no %s (a sysfs tree has %s)' % (
            sysfs_root, ' or '.join('%s/' % d for d in missing),
            ' and '.join('%s/' % d for d in REQUIRED_DIRS))
    text = _read_mountinfo(mountinfo)
    if text is None:
        return None
    kind = fs_type(real, text)
    on_real_sysfs = real == REAL_SYSFS or real.startswith(REAL_SYSFS + '/')
    if on_real_sysfs and kind != SYSFS_TYPE:
        return '%s is on a %s file system, not sysfs' % (
            sysfs_root, kind or 'unknown')
    return None
