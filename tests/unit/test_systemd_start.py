"""The daemon tells systemd it started before a slow first cycle can
exceed the unit's start timeout, and the watchdog stays the main loop's."""

import os
import threading
import time

import fixtures
import testtools

from mdev_traits.cmd import exporter as exporter_cmd
from mdev_traits.daemon import loop as daemon_mod
from mdev_traits.daemon import systemd
from tests import notify_socket


class RecordingNotifier(systemd.Notifier):

    def __init__(self):
        super().__init__({})
        self.sent = []

    def notify(self, state):
        self.sent.append((time.monotonic(), state))
        return True


class SlowExporter(object):

    def __init__(self, seconds):
        self.seconds = seconds
        self.ended = []

    def cycle(self):
        time.sleep(self.seconds)
        self.ended.append(time.monotonic())


class TestReadyBeforeStartTimeout(testtools.TestCase):

    def _conf(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'mdev-traits.conf')
        with open(path, 'w') as f:
            f.write('[exporter]\ninterval = 3600\nhotplug = false\n')
        conf = exporter_cmd.build_conf()
        conf(['--config-file', path], project='mdev-traits')
        return conf

    def _run(self, cycle_seconds, ready_within):
        exporter = SlowExporter(cycle_seconds)
        notifier = RecordingNotifier()
        daemon = daemon_mod.Daemon(self._conf(),
                                   make_exporter=lambda c, **kw: exporter,
                                   notifier=notifier,
                                   ready_within=ready_within)
        daemon._wait = lambda seconds: daemon.stop()
        thread = threading.Thread(target=daemon.run)
        thread.start()
        thread.join(30)
        self.assertFalse(thread.is_alive())
        return exporter, notifier.sent

    def test_slow_first_cycle_is_ready_early_without_watchdog_ping(self):
        exporter, sent = self._run(cycle_seconds=1.0, ready_within=0.1)
        ready = [(t, s) for t, s in sent if s.startswith('READY=1')]
        self.assertEqual(1, len(ready), sent)
        when, state = ready[0]
        self.assertEqual('READY=1\nSTATUS=started; first cycle still '
                         'running', state)
        self.assertLess(when, exporter.ended[0])
        # the watchdog is pinged by the loop only, after the cycle: a
        # cycle that hangs still gets the unit restarted
        pings = [t for t, s in sent if s == 'WATCHDOG=1']
        self.assertTrue(pings)
        self.assertGreaterEqual(min(pings), exporter.ended[0])

    def test_quick_first_cycle_is_ready_after_it(self):
        exporter, sent = self._run(cycle_seconds=0, ready_within=30)
        ready = [(t, s) for t, s in sent if s.startswith('READY=1')]
        self.assertEqual([('READY=1')], [s for _, s in ready])
        self.assertGreaterEqual(ready[0][0], exporter.ended[0])

    def test_default_is_half_the_start_timeout(self):
        self.assertEqual(45.0, daemon_mod.READY_WITHIN)


class TestNotifierReadyOnce(testtools.TestCase):

    def test_ready_with_status_over_unix_socket_once(self):
        sock = self.useFixture(notify_socket.NotifySocket(timeout=5))
        n = systemd.Notifier(sock.environ)
        timer = n.ready_within(0.05, 'first cycle running')
        self.assertEqual(b'READY=1\nSTATUS=first cycle running',
                         sock.recv(100))
        timer.join(5)
        self.assertFalse(n.ready())
