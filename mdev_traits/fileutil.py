"""Read a file with a cap, and write one atomically.

:func:`read_capped` reads a regular file, refusing anything else (a FIFO
never blocks the reader) and anything larger than asked: sysfs
attributes (:mod:`mdev_traits.discovery.sysfs`) and the operator's rule
files (:mod:`mdev_traits.profiles.loader`) are read through it.

:func:`write_atomically`: readers see the old content or the new one.

The content goes to a temporary file in the same directory, which gets its
mode (and owner) before anything is written, and is then renamed over
``path`` (``os.replace``: atomic on POSIX file systems). With ``durable``
the file is fsynced before the rename and the directory after it, so that
the new content survives a crash (the ownership record); the status and
metrics files, rewritten every cycle, skip the fsyncs. On any error the
temporary file is removed and the error raised: ``path`` is left as it was.
"""

import os
import stat
import tempfile

# O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused
# after the fstat); it changes nothing for a regular file
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC


class ReadError(Exception):
    """A file exists but cannot be used; ``reason`` says why in a few
    words."""

    def __init__(self, path, reason):
        super(ReadError, self).__init__('%s: %s' % (path, reason))
        self.path = path
        self.reason = reason


def reason(exc):
    """The system's words for an OSError."""
    return os.strerror(exc.errno) if exc.errno else str(exc)


def read_capped(path, max_bytes, regular=False, one_read=False):
    """The content of the regular file ``path``, at most ``max_bytes``.

    :param regular: the caller knows ``path`` is a regular file (from a
        directory scan), which saves the ``fstat``.
    :param one_read: one ``read(2)`` of ``max_bytes + 1``: a sysfs
        attribute gives all it has in the first read (its ``show()`` fills
        one buffer), so the read that would find the end is saved.
    :returns: the bytes, or None when ``path`` does not exist.
    :raises ReadError: not a regular file ("is a directory", "not a
        regular file"), unreadable (the system's reason) or larger than
        ``max_bytes``.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ReadError(path, reason(exc))
    try:
        if not regular:
            mode = os.fstat(fd).st_mode
            if stat.S_ISDIR(mode):
                raise ReadError(path, 'is a directory')
            if not stat.S_ISREG(mode):
                raise ReadError(path, 'not a regular file')
        chunks = []
        left = max_bytes + 1
        while left > 0:
            chunk = os.read(fd, left)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
            if one_read:
                break
    except IsADirectoryError:
        raise ReadError(path, 'is a directory')
    except OSError as exc:
        raise ReadError(path, reason(exc))
    finally:
        os.close(fd)
    data = b''.join(chunks)
    if len(data) > max_bytes:
        raise ReadError(path, 'larger than %d bytes' % max_bytes)
    return data


def write_atomically(path, write, prefix, suffix='.tmp', mode=0o644,
                     owner=None, durable=False, binary=False):
    """Write ``path`` atomically.

    :param write: ``write(f)`` writes the content to the open file ``f``
        (text, UTF-8, unless ``binary``).
    :param prefix: of the temporary file's name (``suffix`` ends it).
    :param mode: the file's permission bits.
    :param owner: ``(uid, gid)`` given to the file, or None to keep the
        writing process's.
    :param durable: fsync the file before the rename and the directory
        after it.
    :raises OSError: nothing was replaced.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=directory)
    try:
        with (os.fdopen(fd, 'wb') if binary else
              os.fdopen(fd, 'w', encoding='utf-8')) as f:
            os.fchmod(f.fileno(), mode)
            if owner is not None:
                os.fchown(f.fileno(), *owner)
            write(f)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if durable:
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
