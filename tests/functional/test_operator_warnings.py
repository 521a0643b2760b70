"""Issue 12, item 2, the cases tests/functional/test_operations.py does
not replay: the exporter's own file without ``[placement]`` beside
nova.conf (nova-compute's credentials were used silently), and unknown
options warned about on reload too, not only at start. Against the real
Placement, with the real command line and daemon."""

import os
import signal
import subprocess
import sys

from tests.functional import base

GPU = [('0000:3b:00.0', '535.129.03')]


class TestCredentialsSource(base.PlacementTestCase):

    def _nova_conf(self):
        path = os.path.join(self.tmp, 'nova.conf')
        with open(path, 'w') as f:
            f.write('[DEFAULT]\ntransport_url = rabbit://h\n'
                    '[devices]\nenabled_mdev_types = nvidia-231\n'
                    '[placement]\nauth_type = admin_token\nendpoint = %s\n'
                    'token = admin\n' % self.placement.url)
        os.chmod(path, 0o600)
        return path

    def _own_conf(self, name, builder):
        path = os.path.join(self.tmp, name, 'mdev-traits.conf')
        with open(path, 'w') as f:
            f.write('[exporter]\nroot_provider_name = %s\n'
                    'sysfs_root = %s\nmode = manage\n'
                    'create_root_provider = true\nstate_file = %s\n' % (
                        name, builder.root,
                        os.path.join(self.tmp, name, 'state.json')))
        return path

    def test_own_file_without_placement_uses_novas_and_says_so(self):
        builder, _ = self.make_host('credsrc', GPU)
        nova = self._nova_conf()
        own = self._own_conf('credsrc', builder)
        proc = self.run_cli('--config-file', nova, '--config-file', own,
                            '--once')
        self.assertEqual(0, proc.returncode, proc.stderr)
        lines = [line for line in proc.stderr.splitlines()
                 if 'Placement credentials' in line]
        self.assertEqual(1, len(lines), proc.stderr)
        self.assertIn('WARNING', lines[0])
        self.assertIn('from %s' % nova, lines[0])
        self.assertIn("the exporter's own file (%s) has no [placement] "
                      "section, so nova-compute's credentials are used"
                      % own, lines[0])
        self.assertIn('CUSTOM_MDEV_TYPE_NVIDIA_231',
                      self.traits('credsrc_pci_0000_3b_00_0'))


class TestUnknownOptionsOnReload(base.PlacementTestCase):

    def test_typo_added_before_a_reload_is_warned_about(self):
        daemon_opts = ('[exporter]\ninterval = 3600\nhotplug = false\n'
                       '[metrics]\nlisten_port = 0\n')
        builder, conf = self.make_host('hup-typo', GPU, extra=daemon_opts)
        log_path = os.path.join(self.tmp, 'daemon.log')
        with open(log_path, 'w') as out:
            proc = subprocess.Popen(
                [sys.executable, '-m', 'mdev_traits.cmd.exporter',
                 '--config-file', conf], stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())

        def log():
            with open(log_path) as f:
                return f.read()

        self.assertTrue(self.wait_for(
            lambda: self.provider('hup-typo_pci_0000_3b_00_0') is not None),
            log())
        self.assertNotIn('unknown option', log())
        # the operator adds an option with a typo and reloads
        self.write_conf('hup-typo', builder.root, ['nvidia-231'], 'manage',
                        True, extra=daemon_opts + '[exporter]\n'
                        'withdrawal_confirm_cylces = 1\n')
        proc.send_signal(signal.SIGHUP)
        self.assertTrue(self.wait_for(
            lambda: 'unknown option [exporter] withdrawal_confirm_cylces'
            in log()), log())
        warned = [line for line in log().splitlines()
                  if 'withdrawal_confirm_cylces' in line]
        self.assertEqual(1, len(warned), log())
        self.assertIn('WARNING', warned[0])
        self.assertIn(conf, warned[0])
        self.assertIsNone(proc.poll())
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(0, proc.wait(timeout=60), log())
