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

"""Reader and writer for the ``ttar`` plain text archive format.

``ttar`` is the "plain text tar" used by the Prometheus node_exporter to
keep its sysfs/procfs test fixtures reviewable in git
(``collector/fixtures/sys.ttar``; the reference implementation is the
bash script ``ttar`` by Roger Luethi, github.com/ideaship/ttar).  This
module is a pure-stdlib re-implementation that reads and writes the same
format, so that sample hosts can be shipped as readable text and turned
back into real directory trees (with real symlinks) at run time.

The format, one entry per block::

    # Archive created by ttar -c -f sys.ttar sys
    Directory: sys
    Mode: 755
    # ttar - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -
    Path: sys/class/mdev_bus/0000:3b:00.0
    SymlinkTo: ../../devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0
    # ttar - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -
    Path: sys/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0/vendor
    Lines: 1
    0x10de
    Mode: 444
    # ttar - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -

* ``Lines: N`` is followed by exactly N content lines.
* A content line ending in ``EOF`` (not preceded by a backslash) is the
  last line of a file that does not end with a newline; the marker is
  not part of the content.
* NUL bytes are written as ``NULLBYTE``; literal ``EOF`` and ``NULLBYTE``
  in the content are escaped with one backslash.
* Lines starting with ``#`` outside file contents are comments.

Like ttar itself this is meant for text files, directories and symlinks.
Unlike the bash script, :func:`extract` refuses absolute paths, ``..``
components and writes through symlinks that leave the destination, so
that a shipped archive can only ever create files below ``dest_dir``.

Bytes that are not valid UTF-8 survive a round trip as lone surrogates
(``errors='surrogateescape'``); use :func:`write_archive` to save such an
archive.
"""

import collections
import os
import re
import stat

DIVIDER = '# ttar ' + ' '.join(['-'] * 36)
HEADER = '# Archive created by mdev_traits.ttar'

# One token of escaped content: an escaped keyword or a NUL marker.
_TOKEN_RE = re.compile(r'\\(EOF|NULLBYTE)|NULLBYTE')
_KEYWORD_RE = re.compile(
    r'^(Directory|Path|Lines|Mode|SymlinkTo): (.*)$')

Entry = collections.namedtuple('Entry', 'kind path mode data target')
Entry.__doc__ = """One archive member.

``kind`` is ``'dir'``, ``'file'`` or ``'symlink'``; ``data`` is the file
content (str, surrogate-escaped) for files, ``target`` the link target for
symlinks; ``mode`` an int or None.
"""


class TtarError(ValueError):
    """The archive is malformed or would write outside the destination."""

    def __init__(self, message, line_no=None):
        if line_no is not None:
            message = 'line %d: %s' % (line_no, message)
        super(TtarError, self).__init__(message)
        self.line_no = line_no


# -- reading ---------------------------------------------------------------

def _archive_text(archive):
    """Return the archive text for a path, text or bytes argument."""
    if isinstance(archive, bytes):
        return archive.decode('utf-8', 'surrogateescape')
    if isinstance(archive, str) and (not archive or '\n' in archive):
        return archive
    with open(archive, 'r', encoding='utf-8', errors='surrogateescape',
              newline='') as f:
        return f.read()


def _unescape(line):
    def repl(match):
        if match.group(1):
            return match.group(1)
        return '\x00'
    return _TOKEN_RE.sub(repl, line)


def _escape(line):
    line = line.replace('EOF', '\\EOF').replace('NULLBYTE', '\\NULLBYTE')
    return line.replace('\x00', 'NULLBYTE')


def _decode_content(lines):
    out = []
    for i, line in enumerate(lines):
        last = i == len(lines) - 1
        if line.endswith('EOF') and (len(line) == 3 or line[-4] != '\\'):
            if not last:
                raise TtarError('EOF marker before the last content line')
            out.append(_unescape(line[:-3]))
        else:
            out.append(_unescape(line) + '\n')
    return ''.join(out)


def parse(archive):
    """Parse an archive into a list of :class:`Entry`.

    :param archive: a file name (str or path-like), the archive text (a
        str containing a newline) or the archive bytes.
    """
    lines = _archive_text(archive).split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    entries = []
    current = None   # dict describing the entry being built

    def finish():
        if current is not None:
            if current['kind'] is None:
                raise TtarError('Path %r has neither Lines nor SymlinkTo'
                                % current['path'], current['line_no'])
            entries.append(Entry(current['kind'], current['path'],
                                 current['mode'], current['data'],
                                 current['target']))

    i = 0
    while i < len(lines):
        line = lines[i]
        line_no = i + 1
        i += 1
        if line.startswith('#') or not line.strip():
            continue
        match = _KEYWORD_RE.match(line)
        if not match:
            raise TtarError('unknown keyword: %r' % line[:60], line_no)
        keyword, value = match.groups()
        if keyword in ('Directory', 'Path'):
            finish()
            current = dict(kind='dir' if keyword == 'Directory' else None,
                           path=value, mode=None, data=None, target=None,
                           line_no=line_no)
            continue
        if current is None:
            raise TtarError('%s before any Path' % keyword, line_no)
        if keyword == 'Mode':
            try:
                current['mode'] = int(value, 8)
            except ValueError:
                raise TtarError('bad Mode %r' % value, line_no)
        elif current['kind'] is not None:
            raise TtarError('%s after the content of %r'
                            % (keyword, current['path']), line_no)
        elif keyword == 'SymlinkTo':
            current['kind'] = 'symlink'
            current['target'] = value
        else:  # Lines
            try:
                count = int(value, 10)
            except ValueError:
                count = -1
            if count < 0:
                raise TtarError('bad Lines %r' % value, line_no)
            if i + count > len(lines):
                raise TtarError('Lines: %d runs past the end of the archive'
                                % count, line_no)
            try:
                current['data'] = _decode_content(lines[i:i + count])
            except TtarError as e:
                raise TtarError(str(e), line_no)
            current['kind'] = 'file'
            i += count
    finish()
    return entries


def _check_path(path):
    parts = path.split('/')
    if (not path or path.startswith('/') or '..' in parts
            or '\x00' in path):
        raise TtarError('unsafe path in archive: %r' % path)
    return os.path.join(*[p for p in parts if p not in ('', '.')] or ['.'])


def _inside(path, top):
    return path == top or path.startswith(top.rstrip(os.sep) + os.sep)


def _remove_existing(full):
    if os.path.islink(full) or os.path.isfile(full):
        os.unlink(full)
    elif os.path.isdir(full):
        os.rmdir(full)   # refuses non-empty directories, like ttar
    elif os.path.lexists(full):
        os.unlink(full)


def extract(archive, dest_dir):
    """Extract a ttar archive below ``dest_dir``.

    Directories are created as needed; existing files and symlinks at an
    archive path are replaced.  Directory modes are applied last so that
    read-only directories do not stop the extraction.

    :param archive: path, text or bytes (see :func:`parse`).
    :param dest_dir: destination directory (created if missing).
    :returns: list of the archive paths extracted, in archive order.
    """
    entries = parse(archive)
    os.makedirs(dest_dir, exist_ok=True)
    top = os.path.realpath(dest_dir)
    dir_modes = []
    done = []
    for entry in entries:
        rel = _check_path(entry.path)
        full = os.path.join(top, rel)
        # Resolve symlinks extracted earlier before creating anything.
        real = os.path.realpath(full if entry.kind == 'dir'
                                else os.path.dirname(full))
        if not _inside(real, top):
            raise TtarError('%r leaves the destination' % entry.path)
        if entry.kind == 'dir':
            if not os.path.isdir(full) and os.path.lexists(full):
                _remove_existing(full)
            os.makedirs(full, exist_ok=True)
            if entry.mode is not None:
                dir_modes.append((full, entry.mode))
            done.append(entry.path)
            continue
        os.makedirs(os.path.dirname(full), exist_ok=True)
        _remove_existing(full)
        if entry.kind == 'symlink':
            os.symlink(entry.target, full)
        else:
            with open(full, 'wb') as f:
                f.write(entry.data.encode('utf-8', 'surrogateescape'))
            if entry.mode is not None:
                os.chmod(full, entry.mode)
        done.append(entry.path)
    for full, mode in reversed(dir_modes):
        os.chmod(full, mode)
    return done


# -- writing ---------------------------------------------------------------

def _file_block(arcpath, data, mode):
    text = data.decode('utf-8', 'surrogateescape')
    lines = text.split('\n')
    if lines[-1] == '':
        lines.pop()
        tail = False
    else:
        tail = True
        if text.endswith('\\'):
            # "\EOF" would read back as a literal "EOF": the format has no
            # escape for a trailing backslash without a newline.
            raise TtarError('%s: cannot store a file ending in a backslash '
                            'without a trailing newline' % arcpath)
    if '\\\x00' in text:
        # Same problem for "\NULLBYTE": it reads back as "NULLBYTE".
        raise TtarError('%s: cannot store a backslash followed by a NUL '
                        'byte' % arcpath)
    out = ['Path: %s' % arcpath, 'Lines: %d' % len(lines)]
    out.extend(_escape(line) for line in lines)
    if tail:
        out[-1] += 'EOF'
    out.append('Mode: %o' % mode)
    out.append(DIVIDER)
    return out


def _walk(full, arcpath, out):
    st = os.lstat(full)
    if stat.S_ISLNK(st.st_mode):
        out.extend(['Path: %s' % arcpath,
                    'SymlinkTo: %s' % os.readlink(full), DIVIDER])
    elif stat.S_ISDIR(st.st_mode):
        out.extend(['Directory: %s' % arcpath,
                    'Mode: %o' % stat.S_IMODE(st.st_mode), DIVIDER])
        for name in sorted(os.listdir(full), key=os.fsencode):
            _walk(os.path.join(full, name), arcpath + '/' + name, out)
    elif stat.S_ISREG(st.st_mode):
        with open(full, 'rb') as f:
            data = f.read()
        out.extend(_file_block(arcpath, data, stat.S_IMODE(st.st_mode)))
    else:
        raise TtarError('%s: cannot archive special files' % full)


def create(src_dir, arcname=None, header=None):
    """Archive the tree at ``src_dir`` and return the archive text.

    Entries are written depth first in byte order of their names, so the
    output only depends on the tree (names, contents, modes, link
    targets), never on the file system's directory order.

    :param src_dir: directory to archive; symlinks are stored, not
        followed.
    :param arcname: name of ``src_dir`` in the archive.  Default: its
        basename, like ``ttar -C <parent> -c -f x.ttar <basename>``
        (node_exporter's ``sys.ttar`` has a top ``sys`` directory).  ``''``
        archives the *contents* of ``src_dir``, with paths relative to it
        (like ``ttar -C <src_dir> -c -f x.ttar *``), so that extracting
        into a directory recreates the tree right there.
    :param header: optional extra comment text put after the first line;
        each of its lines is prefixed with ``# ``.
    """
    src_dir = os.path.normpath(src_dir)
    if arcname is None:
        arcname = os.path.basename(src_dir)
    arcname = arcname.strip('/')
    out = [HEADER]
    if header:
        out.extend(('# ' + line).rstrip() for line in header.split('\n'))
    if arcname in ('', '.'):
        if not os.path.isdir(src_dir) or os.path.islink(src_dir):
            raise TtarError('%s: not a directory' % src_dir)
        for name in sorted(os.listdir(src_dir), key=os.fsencode):
            _walk(os.path.join(src_dir, name), name, out)
    else:
        _check_path(arcname)
        _walk(src_dir, arcname, out)
    return '\n'.join(out) + '\n'


def write_archive(path, text):
    """Write archive text (possibly surrogate-escaped) to ``path``."""
    with open(path, 'w', encoding='utf-8', errors='surrogateescape',
              newline='\n') as f:
        f.write(text)
