"""The durable ownership record: load, save and lock the state file.

Public API (the exporter and its ``cleanup`` subcommand use it):

``StateStore(path, root_name, host_id=None, lock_timeout=60)``
    ``lock()``: a context manager holding an exclusive ``fcntl.flock`` on
    ``<path>.lock`` (waits at most ``lock_timeout`` seconds, then raises
    :class:`LockTimeout`). Hold it from :meth:`~StateStore.load` to the last
    :meth:`~StateStore.save` of a cycle, so that ``--once`` beside the
    running daemon cannot lose records.

    ``load()``: the :class:`~mdev_traits.placement.record.Ownership`
    recorded (its fields are described in
    :mod:`mdev_traits.placement.record`), with ``recorded = False`` when
    there is no usable record. A file that cannot be read or parsed (or
    that was written for another root provider) is moved aside to
    ``<path>.corrupt-<UTC time>`` and reported in one line, never silently
    overwritten. A record written on another host (its ``host_id``, the
    host's ``/etc/machine-id``, differs) raises :class:`ForeignHost`. A
    version 1 record is migrated (:meth:`~mdev_traits.placement.record.
    Ownership.from_v1`).

    ``save(ownership)``: write the record durably (write, fsync, rename,
    fsync of the directory); nothing is written when it is unchanged. Raises
    :class:`StateError` when it cannot be written.

``read_host_id(path)``: the host id (first line of ``path``), or None.

Files written by a process running as root get the owner and group of the
state directory, so that a ``--once`` run as root never leaves a file the
service user cannot read: mode 0640 in a directory the service user owns
(``StateDirectory=`` of the systemd unit), 0644 in a directory root owns
(a first ``--once`` before the service is installed; the record holds no
secret, and systemd hands the directory to the service user when the unit
starts).

An empty ``path`` keeps the record in memory only (for the lifetime of the
process).
"""

import contextlib
import datetime
import fcntl
import json
import os
import time

from oslo_log import log as logging

from mdev_traits import fileutil
from mdev_traits.placement import record as record_mod

LOG = logging.getLogger(__name__)

FORMAT_VERSION = record_mod.FORMAT_VERSION
FILE_MODE = 0o640
# in a directory owned by root (see the module doc)
ROOT_DIR_FILE_MODE = 0o644
LOCK_TIMEOUT = 60.0
LOCK_POLL = 0.1


class StateError(Exception):
    """The state file cannot be used safely (message says why)."""


class LockTimeout(StateError):
    pass


class ForeignHost(StateError):
    pass


def read_host_id(path):
    """The first line of ``path`` (``/etc/machine-id``), or None."""
    if not path:
        return None
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            value = f.readline().strip()
    except OSError:
        return None
    return value or None


class StateStore(object):

    def __init__(self, path, root_name, host_id=None,
                 lock_timeout=LOCK_TIMEOUT):
        self.path = path
        self.root_name = root_name
        self.host_id = host_id
        self.lock_timeout = lock_timeout
        # the record as last read from or written to the file (raw data)
        self._last = None
        self._memory = None

    # -- lock ------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self):
        if not self.path:
            yield
            return
        lock_path = self.path + '.lock'
        self._ensure_directory()
        created = not os.path.exists(lock_path)
        try:
            fd = os.open(lock_path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC,
                         FILE_MODE)
        except OSError as exc:
            raise StateError('cannot open the lock file %s: %s' % (
                lock_path, exc))
        try:
            if created:
                self._own(fd)
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise LockTimeout(
                            'another mdev-traits exporter (the daemon?) '
                            'holds the lock on %s: gave up after %ss' % (
                                lock_path, self.lock_timeout))
                    time.sleep(LOCK_POLL)
            yield
        finally:
            os.close(fd)

    # -- load ------------------------------------------------------------
    def load(self):
        """The recorded :class:`~mdev_traits.placement.record.Ownership`."""
        if not self.path:
            if self._memory is None:
                return record_mod.Ownership(recorded=False)
            return self._memory.copy()
        try:
            with open(self.path, encoding='utf-8') as f:
                text = f.read()
        except FileNotFoundError:
            self._last = None
            return record_mod.Ownership(recorded=False)
        except (OSError, UnicodeDecodeError) as exc:
            return self._set_aside('cannot be read (%s)' % exc)
        try:
            data = json.loads(text)
            own = self._parse(data)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return self._set_aside('cannot be parsed (%s)' % exc)
        if own is None:
            return self._set_aside('was written for root provider %r, not '
                                   '%r' % (data.get('root_provider'),
                                           self.root_name))
        self._last = data
        return own

    def _parse(self, data):
        if not isinstance(data, dict):
            raise TypeError('not a JSON object')
        version = data.get('version')
        if version not in (1, FORMAT_VERSION):
            raise ValueError('unknown format version %r' % (version,))
        if data.get('root_provider') != self.root_name:
            return None
        host = data.get('host_id')
        if host and self.host_id and host != self.host_id:
            raise ForeignHost(
                'state file %s was written on another host (host id %s, '
                'this host is %s): it is refused; it was probably copied '
                'with a host image. Move it away (the exporter then starts '
                'a new record) after checking what it lists' % (
                    self.path, host, self.host_id))
        if version == 1:
            return record_mod.Ownership.from_v1(data.get('providers', {}))
        return record_mod.Ownership.from_dict(data)

    def _set_aside(self, why):
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime(
            '%Y%m%dT%H%M%SZ')
        aside = '%s.corrupt-%s' % (self.path, stamp)
        try:
            os.rename(self.path, aside)
        except OSError as exc:
            raise StateError('state file %s %s and cannot be moved aside '
                             '(%s): nothing is published until it is '
                             'fixed or removed' % (self.path, why, exc))
        LOG.error('State file %s %s: moved to %s; ownership falls back to '
                  'the reserved trait prefixes on the providers described '
                  'this cycle', self.path, why, aside)
        self._last = None
        return record_mod.Ownership(recorded=False)

    # -- save ------------------------------------------------------------
    def save(self, ownership):
        if not self.path:
            self._memory = ownership.copy()
            self._memory.recorded = True
            return False
        data = {'version': FORMAT_VERSION, 'root_provider': self.root_name,
                'host_id': self.host_id}
        data.update(ownership.to_dict())
        if data == self._last:
            return False
        try:
            self._ensure_directory()
            mode, owner = self._ownership()
            fileutil.write_atomically(
                self.path,
                lambda f: json.dump(data, f, indent=1, sort_keys=True),
                prefix='.state-', suffix='', mode=mode, owner=owner,
                durable=True)
        except OSError as exc:
            raise StateError('cannot write the state file %s: %s' % (
                self.path, exc))
        self._last = data
        return True

    # -- helpers -----------------------------------------------------------
    def _ensure_directory(self):
        directory = os.path.dirname(os.path.abspath(self.path))
        if os.path.isdir(directory):
            return
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as exc:
            raise StateError('cannot create the state directory %s: %s' % (
                directory, exc))

    def _ownership(self):
        """``(mode, owner)`` of the files written: mode 0640, or 0644 in a
        directory root owns; the state directory's owner and group when
        running as root (else None: the process's own)."""
        st = os.stat(os.path.dirname(os.path.abspath(self.path)))
        mode = ROOT_DIR_FILE_MODE if st.st_uid == 0 else FILE_MODE
        owner = (st.st_uid, st.st_gid) if os.geteuid() == 0 else None
        return mode, owner

    def _own(self, fd):
        """Give the open file ``fd`` (the lock file) :meth:`_ownership`."""
        mode, owner = self._ownership()
        os.fchmod(fd, mode)
        if owner is not None:
            os.fchown(fd, *owner)
