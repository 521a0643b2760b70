"""The daemon's health record, status line, heartbeat and status file."""

import os

import fixtures
import testtools

from mdev_traits.cmd import status as status_cmd
from mdev_traits import health
from mdev_traits.daemon import systemd
from tests import notify_socket

T0 = 1795990000  # 2026-11-29 22:06:40 UTC


class Clock(object):

    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now


def full(providers=2, traits=446, writes=0):
    return health.CycleReport(ok=True, full=True, providers=providers,
                              traits=traits, writes=writes)


class TestHealth(testtools.TestCase):

    def test_status_line(self):
        clock = Clock()
        rec = health.Health(clock=clock)
        self.assertEqual('no full sync yet', rec.status_line())
        rec.record(full())
        self.assertEqual('last full sync 2026-11-29 22:06:40 UTC: 2 '
                         'provider(s), 446 trait(s)', rec.status_line())
        clock.now += 60
        rec.record(health.failed('Placement unavailable: refused'))
        rec.record(health.failed('Placement unavailable: refused'))
        self.assertEqual('last full sync 2026-11-29 22:06:40 UTC: 2 '
                         'provider(s), 446 trait(s); last cycle failed (2 '
                         'in a row): Placement unavailable: refused',
                         rec.status_line())
        rec.record(health.CycleReport(ok=True, full=False,
                                      held_back=('a', 'b')))
        self.assertTrue(rec.status_line().endswith(
            '; last cycle partial; 2 thing(s) held back'))

    def test_heartbeat_every_interval(self):
        clock = Clock()
        rec = health.Health(heartbeat_interval=3600, clock=clock)
        rec.record(full(writes=3))
        self.assertIsNone(rec.heartbeat())
        clock.now += 3600
        rec.record(health.failed('x'))
        self.assertEqual(
            'Alive: last full sync 2026-11-29 22:06:40 UTC: 2 provider(s), '
            '446 trait(s); last cycle failed (1 in a row): x; 2 cycle(s) '
            'in the last 3600s, 1 failed, 3 change(s) written',
            rec.heartbeat())
        self.assertIsNone(rec.heartbeat())
        self.assertIsNone(health.Health(clock=clock).heartbeat())

    def test_cycle_line_has_counts_only(self):
        rep = health.CycleReport(ok=True, providers=2, traits=446, writes=3,
                                 traits_added=446, held_back=('x',))
        self.assertEqual(
            'Published 2 provider(s) with 446 trait(s) under h: 3 change(s) '
            'written (0 provider(s) created, 0 deleted; 446 trait(s) '
            'added, 0 removed; 0 inventory update(s)); 1 thing(s) held '
            'back (status subcommand)', health.cycle_line(rep, 'h'))

    def test_status_file_round_trip_and_problems(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'status.json')
        clock = Clock()
        rec = health.Health(clock=clock)
        rec.record(full())
        health.write_status(path, rec.to_dict('decorate', 'h', 60))
        data = health.read_status(path)
        self.assertEqual([], status_cmd.problems(data, T0 + 10))
        self.assertEqual(['the status is 181s old (more than 180s): is the '
                          'exporter running?'],
                         status_cmd.problems(data, T0 + 181))
        self.assertEqual([], status_cmd.problems(data, T0 + 181, 200))
        text = status_cmd.render(data, T0 + 10, [])
        self.assertIn('Last full sync: 2026-11-29 22:06:40 UTC (10s ago): '
                      '2 provider(s), 446 trait(s)\n', text)
        self.assertIn('Held back:      nothing\n', text)
        with open(path, 'w') as f:
            f.write('{"format": 99}')
        self.assertRaises(ValueError, health.read_status, path)


class TestNotifierBound(testtools.TestCase):

    def test_a_manager_that_does_not_read_does_not_block(self):
        # a manager that never reads
        sock = self.useFixture(notify_socket.NotifySocket())
        self.useFixture(fixtures.MonkeyPatch(
            'mdev_traits.daemon.systemd.SEND_TIMEOUT', 0.2))
        notifier = systemd.Notifier(sock.environ)
        sent = []
        for _ in range(100000):  # bounded: the queue fills up far sooner
            sent.append(notifier.status('x' * 1000))
            if not sent[-1]:
                break
        # the queue filled up: the next notification failed, after the
        # timeout, instead of blocking
        self.assertTrue(sent[0])
        self.assertFalse(sent[-1])
