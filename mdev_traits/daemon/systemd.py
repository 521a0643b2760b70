"""sd_notify(3) without a dependency: READY=1, WATCHDOG=1, STOPPING=1.

Does nothing when not started by systemd with ``Type=notify`` (no
``NOTIFY_SOCKET``).
"""

import os
import socket
import threading

from oslo_log import log as logging

# the logger name from before the daemon package (operators filter on it)
LOG = logging.getLogger('mdev_traits.systemd')

# seconds one notification may wait for room in the manager's queue
SEND_TIMEOUT = 5


class Notifier(object):

    def __init__(self, environ=None):
        env = os.environ if environ is None else environ
        self.address = env.get('NOTIFY_SOCKET')
        if self.address and self.address.startswith('@'):
            # abstract namespace socket
            self.address = '\0' + self.address[1:]
        usec = env.get('WATCHDOG_USEC')
        pid = env.get('WATCHDOG_PID')
        self.watchdog_interval = None
        if usec and (not pid or pid == str(os.getpid())):
            try:
                # ping twice per watchdog period, as sd_watchdog_enabled(3)
                # recommends
                self.watchdog_interval = int(usec) / 1e6 / 2
            except ValueError:
                LOG.warning('Ignoring bad WATCHDOG_USEC=%r', usec)
        self._ready_lock = threading.Lock()
        self._ready_sent = False

    def notify(self, state):
        if not self.address:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                # a manager that does not read must not stop the daemon
                sock.settimeout(SEND_TIMEOUT)
                sock.connect(self.address)
                sock.sendall(state.encode('utf-8'))
            return True
        except OSError as exc:
            LOG.debug('sd_notify %s failed: %s', state, exc)
            return False

    def ready(self, status=None):
        """READY=1, once (later calls send nothing and return False)."""
        with self._ready_lock:
            if self._ready_sent:
                return False
            self._ready_sent = True
        if status:
            return self.notify('READY=1\nSTATUS=%s' % status.replace(
                '\n', ' '))
        return self.notify('READY=1')

    def ready_within(self, seconds, status):
        """Send READY=1 with ``status`` after ``seconds`` unless
        :meth:`ready` was called first; returns the timer (``cancel()``).

        The unit's start timeout (``TimeoutStartSec``) then never kills a
        daemon whose first cycle is slow (Placement timing out): systemd
        sees it started, and its watchdog (``WatchdogSec``, active only
        once started, pinged only by the main loop between cycles) takes
        over. No WATCHDOG=1 is sent from here: a cycle that hangs still
        gets the unit restarted.
        """
        timer = threading.Timer(seconds, self.ready, kwargs={
            'status': status})
        timer.daemon = True
        timer.start()
        return timer

    def watchdog(self):
        return self.notify('WATCHDOG=1')

    def stopping(self):
        return self.notify('STOPPING=1')

    def status(self, text):
        return self.notify('STATUS=%s' % text.replace('\n', ' '))
