import os
import threading
import time

import fixtures
import testtools

from mdev_traits.cmd import exporter as exporter_cmd
from mdev_traits.conf import check as conf_check
from mdev_traits.conf import settings as settings_mod
from mdev_traits.daemon import loop as daemon_mod
from mdev_traits.daemon import hotplug
from mdev_traits.daemon import metrics as metrics_mod
from mdev_traits import models
from mdev_traits.placement import reconciler as reconciler_mod
from mdev_traits.daemon import systemd
from tests import notify_socket


def make_conf(tmp, text):
    path = os.path.join(tmp, 'test.conf')
    with open(path, 'w') as f:
        f.write(text)
    conf = exporter_cmd.build_conf()
    conf(['--config-file', path], project='mdev-traits')
    return conf, path


class TestBackoff(testtools.TestCase):

    def test_doubles_and_caps(self):
        def fixed(lo, hi):
            return 1.0
        delays = [daemon_mod.backoff_delay(n, 2.0, 60, 0.1, rand=fixed)
                  for n in range(1, 8)]
        self.assertEqual([2, 4, 8, 16, 32, 60, 60], delays)

    def test_jitter_bounds(self):
        for _ in range(200):
            d = daemon_mod.backoff_delay(3, 2.0, 60, 0.1)
            self.assertTrue(7.2 <= d <= 8.8, d)


class TestDebouncer(testtools.TestCase):

    def test_relevant(self):
        self.assertTrue(hotplug.relevant('add', 'pci', {}))
        self.assertTrue(hotplug.relevant('remove', 'mdev', {}))
        self.assertTrue(hotplug.relevant('bind', 'vdpa', {}))
        self.assertTrue(hotplug.relevant('change', 'pci',
                                         {'MDEV_STATE': 'registered'}))
        self.assertFalse(hotplug.relevant('change', 'pci', {}))
        self.assertFalse(hotplug.relevant('add', 'usb', {}))

    def test_burst_makes_one_wake(self):
        woken = []
        deb = hotplug.Debouncer(lambda: woken.append(time.monotonic()),
                                0.2)
        deb.start()
        self.addCleanup(deb.stop)
        for _ in range(20):
            deb.on_event('add', 'mdev')
            time.sleep(0.01)
        self.assertFalse(deb.on_event('change', 'pci', {}))
        deadline = time.monotonic() + 5
        while not woken and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.4)
        self.assertEqual(1, len(woken))
        self.assertEqual(20, deb.events)
        # a later event makes another cycle
        deb.on_event('remove', 'pci')
        deadline = time.monotonic() + 5
        while len(woken) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(2, len(woken))


class TestNotifier(testtools.TestCase):

    def test_notify_over_unix_socket(self):
        sock = self.useFixture(notify_socket.NotifySocket())
        n = systemd.Notifier(dict(sock.environ, WATCHDOG_USEC='20000000'))
        self.assertEqual(10.0, n.watchdog_interval)
        self.assertTrue(n.ready())
        self.assertEqual(b'READY=1', sock.recv(100))
        self.assertTrue(n.watchdog())
        self.assertEqual(b'WATCHDOG=1', sock.recv(100))

    def test_no_socket_is_a_noop(self):
        n = systemd.Notifier({})
        self.assertFalse(n.ready())
        self.assertIsNone(n.watchdog_interval)


class TestMetrics(testtools.TestCase):

    def test_render_and_textfile(self):
        m = metrics_mod.Metrics()
        m.observe_requests({('GET', 200): 3, ('PUT', 409): 1})
        m.observe_requests({('GET', 200): 5, ('PUT', 409): 1})
        m.cycle(0.05, ok=True, providers=2, traits=40, now=1700000000)
        m.error('placement_unavailable')
        text = m.render().decode()
        self.assertIn('mdev_traits_last_success_timestamp_seconds 1.7e+09',
                      text)
        self.assertIn('mdev_traits_placement_requests_total{method="GET",'
                      'status="200"} 5.0', text)
        self.assertIn('mdev_traits_devices_published 2.0', text)
        self.assertIn('mdev_traits_errors_total{kind="placement_'
                      'unavailable"} 1.0', text)
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'mdev_traits.prom')
        m.write_textfile(path)
        with open(path) as f:
            self.assertEqual(text, f.read())
        self.assertEqual(['mdev_traits.prom'], os.listdir(tmp))

    def test_textfile_is_readable_by_node_exporter_under_umask_0077(self):
        # etc/mdev-traits-exporter.service sets UMask=0077; node_exporter
        # runs as another user
        self.addCleanup(os.umask, os.umask(0o077))
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'mdev_traits.prom')
        metrics_mod.Metrics().write_textfile(path)
        self.assertEqual(0o644, os.stat(path).st_mode & 0o777)
        self.assertEqual(['mdev_traits.prom'], os.listdir(tmp))


class TestConfigChecks(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def test_exposed_secret(self):
        conf, path = make_conf(self.tmp, '[placement]\nauth_type = '
                               'admin_token\ntoken = admin\n')
        os.chmod(path, 0o644)
        self.assertEqual([path], conf_check.exposed_secret_files(conf))
        os.chmod(path, 0o640)
        self.assertEqual([], conf_check.exposed_secret_files(conf))

    def test_unknown_enabled_type_names_file(self):
        conf, path = make_conf(self.tmp, '[devices]\nenabled_mdev_types = '
                               'nvidia-231,nvidia-999\n')
        found = models.DiscoveryResult(mdev_parents=(models.MdevParent(
            name='0000:3b:00.0', types=(
                models.MdevType(type_id='nvidia-231'),)),))
        (err,) = conf_check.unknown_enabled_types(conf, found)
        self.assertIn(path, err)
        self.assertIn('nvidia-999', err)
        self.assertNotIn('nvidia-231,', err)
        incomplete = models.DiscoveryResult(complete=False,
                                            incomplete=frozenset({'mdev'}))
        self.assertEqual([], conf_check.unknown_enabled_types(
            conf, incomplete))

    def test_validate_names_bad_option(self):
        conf, path = make_conf(self.tmp, '[exporter]\ninterval = soon\n')
        errors = conf_check.checked_settings(conf)[1]
        self.assertEqual(1, len(errors))
        self.assertIn('[exporter] interval', errors[0])

    def test_duplicate_device_address(self):
        conf, _ = make_conf(self.tmp, '[devices]\nenabled_mdev_types = a,b\n'
                            '[mdev_a]\ndevice_addresses = 0000:3b:00.0\n'
                            '[mdev_b]\ndevice_addresses = 0000:3b:00.0\n')
        errors = conf_check.checked_settings(conf)[1]
        self.assertIn('already used by [mdev_a]', errors[0])

    def _addresses(self, addresses, group='mdev_a'):
        root = os.path.join(self.tmp, 'sys')
        os.makedirs(os.path.join(
            root, 'devices/virtual/mtty/mtty/mdev_supported_types'),
            exist_ok=True)
        conf, path = make_conf(self.tmp, '[exporter]\nsysfs_root = %s\n'
                               '[devices]\nenabled_mdev_types = a\n'
                               '[%s]\ndevice_addresses = %s\n' % (
                                   root, group, addresses))
        return conf_check.checked_settings(conf)[1], path

    def test_device_addresses_as_nova_validates_them(self):
        # nova/virt/libvirt/driver.py _validate_device_address
        for good in ('0000:3b:00.0, 0000:5e:00.0', 'mtty_mtty',
                     # absent, but well-formed: nova does not look it up
                     '0000:af:00.0'):
            self.assertEqual([], self._addresses(good)[0], good)
        for bad in ('0000:5e:00:0', '0000:3B:00.0', '3b:00.0', 'mtty',
                    'ap_matrix', 'css_0_0_0313', 'pci_0000_3b_00_0'):
            errors, path = self._addresses('0000:3b:00.0, ' + bad)
            self.assertEqual(1, len(errors), (bad, errors))
            self.assertIn('[mdev_a] device_addresses in %s' % path,
                          errors[0])
            self.assertIn(repr(bad), errors[0])
        # the same address twice, even for one type: nova's "duplicate
        # types for PCI ID"
        errors, _ = self._addresses('0000:3b:00.0, 0000:3b:00.0')
        self.assertIn('already used by [mdev_a]', errors[0])

    def test_deprecated_vgpu_group(self):
        # nova/conf/devices.py: device_addresses has deprecated_group
        # vgpu_<type>
        errors, _ = self._addresses('0000:5e:00:0', group='vgpu_a')
        self.assertEqual(1, len(errors))
        self.assertIn("'0000:5e:00:0'", errors[0])
        root = os.path.join(self.tmp, 'sys')
        conf, _ = make_conf(self.tmp, '[exporter]\nsysfs_root = %s\n'
                            '[devices]\nenabled_mdev_types = a, b\n'
                            '[vgpu_a]\ndevice_addresses = 0000:3b:00.0\n'
                            '[mdev_b]\n' % root)
        self.assertEqual((('a', ('0000:3b:00.0',)), ('b', ())),
                         settings_mod.load(conf).mdev.device_addresses)


class FakeExporter(object):

    def __init__(self, outcomes):
        self.outcomes = list(outcomes)
        self.calls = 0

    def cycle(self):
        self.calls += 1
        outcome = self.outcomes.pop(0) if self.outcomes else 'ok'
        if outcome == 'down':
            raise reconciler_mod.NothingPublished('down')
        if outcome == 'boom':
            raise RuntimeError('boom')


class FakeNotifier(systemd.Notifier):

    def __init__(self):
        super().__init__({})
        self.sent = []

    def notify(self, state):
        self.sent.append(state)
        return True


class TestDaemon(testtools.TestCase):

    def test_backoff_then_recover_and_ready_once(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        conf, _ = make_conf(tmp, '[exporter]\ninterval = 60\n'
                            'retry_initial_delay = 0.1\n'
                            'interval_jitter = 0\nhotplug = false\n')
        fake = FakeExporter(['down', 'boom', 'down', 'ok'])
        notifier = FakeNotifier()
        daemon = daemon_mod.Daemon(conf,
                                   make_exporter=lambda c, **kw: fake,
                                   notifier=notifier)
        waits = []

        def fake_wait(seconds):
            waits.append(round(seconds, 3))
            if fake.calls >= 4:
                daemon.stop()

        daemon._wait = fake_wait
        t = threading.Thread(target=daemon.run)
        t.start()
        t.join(10)
        self.assertFalse(t.is_alive())
        self.assertEqual([0.1, 0.2, 0.4, 60], waits)
        self.assertEqual(1, notifier.sent.count('READY=1'))
        self.assertIn('STOPPING=1', notifier.sent)
        self.assertEqual(0, daemon.failures)

    def test_failed_reload_keeps_config(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        conf, _ = make_conf(tmp, '[exporter]\nhotplug = false\n')

        def bad_reload():
            raise RuntimeError('[exporter] interval: bad')

        daemon = daemon_mod.Daemon(
            conf, make_exporter=lambda c, **kw: FakeExporter([]),
            reload_conf=bad_reload, notifier=FakeNotifier())
        old = daemon.exporter
        settings = daemon.settings
        daemon._on_hup(None, None)
        daemon._do_reload()
        self.assertIs(old, daemon.exporter)
        self.assertIs(conf, daemon.conf)
        self.assertIs(settings, daemon.settings)


class TestMainErrors(testtools.TestCase):

    def test_unusable_log_dir_is_a_config_error(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'nova.conf')
        with open(path, 'w') as f:
            f.write('[DEFAULT]\nlog_dir = %s/missing/dir\n' % tmp)
        stderr = self.useFixture(fixtures.StringStream('stderr')).stream
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', stderr))
        self.assertEqual(exporter_cmd.EXIT_CONFIG, exporter_cmd.main(
            ['--config-file', path, '--dry-run']))
        stderr.seek(0)
        self.assertIn('cannot set up logging', stderr.read())


class TestLoggerNames(testtools.TestCase):
    """The daemon package kept the logger names operators filter on."""

    def test_names_from_before_the_package(self):
        self.assertEqual(
            ['mdev_traits.hotplug', 'mdev_traits.metrics',
             'mdev_traits.service', 'mdev_traits.systemd'],
            [m.LOG.logger.name for m in (hotplug, metrics_mod, daemon_mod,
                                         systemd)])
