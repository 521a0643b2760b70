"""Write a file atomically: readers see the old content or the new one.

The content goes to a temporary file in the same directory, which gets its
mode (and owner) before anything is written, and is then renamed over
``path`` (``os.replace``: atomic on POSIX file systems). With ``durable``
the file is fsynced before the rename and the directory after it, so that
the new content survives a crash (the ownership record); the status and
metrics files, rewritten every cycle, skip the fsyncs. On any error the
temporary file is removed and the error raised: ``path`` is left as it was.
"""

import os
import tempfile


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
