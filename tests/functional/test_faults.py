"""The daemon against a real Placement that goes away and comes back,
with its metrics listener and hotplug wake-ups."""

import logging
import threading
import urllib.request

import fixtures

from mdev_traits.cmd import exporter as exporter_cmd
from mdev_traits.conf import check as conf_check
from mdev_traits.daemon import loop as daemon_mod
from tests.functional import base


class TestFaults(base.PlacementTestCase):

    def _daemon(self, conf_path):
        conf = exporter_cmd.build_conf()
        conf(['--config-file', conf_path], project='mdev-traits')
        self.assertEqual([], conf_check.checked_settings(conf)[1])
        daemon = daemon_mod.Daemon(conf)
        thread = threading.Thread(target=daemon.run, daemon=True)
        self.addCleanup(thread.join, 30)
        self.addCleanup(daemon.stop)
        return daemon, thread

    def _published(self, name, trait='CUSTOM_MDEV_TYPE_NVIDIA_231'):
        try:
            return (self.provider(name) is not None
                    and trait in self.traits(name))
        except Exception:  # noqa: B902 - Placement may be down
            return False

    def test_placement_down_at_start_then_back(self):
        logs = self.useFixture(fixtures.FakeLogger(
            level=logging.INFO, format='%(levelname)s %(message)s'))
        builder, conf = self.make_host(
            'flaky', [('0000:3b:00.0', '535.129.03')],
            extra='[exporter]\ninterval = 3600\nretry_initial_delay = 0.2\n'
                  'hotplug = false\n\n[metrics]\nlisten_port = 0\n')
        self.placement.stop()
        daemon, thread = self._daemon(conf)
        thread.start()
        self.assertTrue(self.wait_for(lambda: daemon.failures >= 4))
        # one error line for the state change, not one per retry
        errors = [line for line in logs.output.splitlines()
                  if line.startswith('ERROR') and 'unavailable' in line]
        self.assertEqual(1, len(errors), logs.output)
        self.placement.start()
        self.assertTrue(self.wait_for(
            lambda: self._published('flaky_pci_0000_3b_00_0')))
        self.assertTrue(self.wait_for(lambda: daemon.failures == 0))
        self.assertIn('works again', logs.output)
        # the metrics listener says so too
        url = 'http://127.0.0.1:%d/metrics' % daemon.metrics.port
        with urllib.request.urlopen(url, timeout=10) as resp:
            text = resp.read().decode()
        self.assertIn('mdev_traits_last_success_timestamp_seconds', text)
        self.assertIn('mdev_traits_errors_total{kind="placement_'
                      'unavailable"}', text)
        self.assertIn('mdev_traits_devices_published 1.0', text)

    def test_placement_goes_away_and_comes_back(self):
        builder, conf = self.make_host(
            'bounce', [('0000:3b:00.0', '535.129.03')],
            extra='[exporter]\ninterval = 1\nretry_initial_delay = 0.2\n'
                  'hotplug = false\n')
        daemon, thread = self._daemon(conf)
        thread.start()
        self.assertTrue(self.wait_for(
            lambda: self._published('bounce_pci_0000_3b_00_0')))
        self.placement.stop()
        # a second GPU appears while Placement is away
        builder.add_pci_mdev_parent('0000:5e:00.0', types=base.T4_TYPES,
                                    driver_version='535.129.03', **base.T4)
        self.assertTrue(self.wait_for(lambda: daemon.failures >= 2))
        self.placement.start()
        self.assertTrue(self.wait_for(
            lambda: self._published('bounce_pci_0000_5e_00_0')))
        self.assertTrue(self._published('bounce_pci_0000_3b_00_0'))

    def test_hotplug_event_triggers_a_cycle(self):
        builder, conf = self.make_host(
            'hot', [('0000:3b:00.0', '535.129.03')],
            extra='[exporter]\ninterval = 3600\nhotplug = false\n')
        daemon, thread = self._daemon(conf)
        thread.start()
        self.assertTrue(self.wait_for(
            lambda: self._published('hot_pci_0000_3b_00_0')))
        from mdev_traits.daemon import hotplug
        debouncer = hotplug.Debouncer(daemon.wake, 0.2)
        debouncer.start()
        self.addCleanup(debouncer.stop)
        builder.add_pci_mdev_parent('0000:5e:00.0', types=base.T4_TYPES,
                                    driver_version='535.129.03', **base.T4)
        # the kernel sends "add" for the PCI device, then "change" with
        # MDEV_STATE=registered when the driver registers the mdev parent
        debouncer.on_event('add', 'pci', {})
        debouncer.on_event('change', 'pci', {'MDEV_STATE': 'registered'})
        self.assertTrue(self.wait_for(
            lambda: self._published('hot_pci_0000_5e_00_0'), timeout=20))
        self.assertEqual(1, debouncer.triggers)

    def test_wrong_credentials_publish_nothing_then_fixed(self):
        builder, conf = self.make_host(
            'creds', [('0000:3b:00.0', '535.129.03')])
        with open(conf) as f:
            text = f.read()
        with open(conf, 'w') as f:
            # noauth2 makes any other token a non-admin user: 403
            f.write(text.replace('token = admin', 'token = someone'))
        proc = self.run_cli('--config-file', conf, '--once')
        self.assertEqual(1, proc.returncode, proc.stderr)
        self.assertIn('credentials refused', proc.stderr)
        self.assertIsNone(self.provider('creds'))
        with open(conf, 'w') as f:
            f.write(text)
        proc = self.run_cli('--config-file', conf, '--once')
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertTrue(self._published('creds_pci_0000_3b_00_0'))
