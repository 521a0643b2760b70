"""What an operator sees: the command line, configuration errors and
warnings, reload, the log, the status subcommand and systemd's status
line, against a real Placement."""

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pbr.version

from mdev_traits.cmd import exporter as exporter_cmd
from tests.functional import base
from tests import notify_socket

UUID = '4b20d080-1b54-4048-85b3-a6a62d165c01'
# a log line of the first publish of a 2-GPU host was 7,155 characters
MAX_LINE = 600


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def metrics_port_answers(port):
    try:
        with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % port,
                                    timeout=5) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


class TestCommandLine(base.PlacementTestCase):

    def test_options_before_or_after_the_subcommand(self):
        builder, conf = self.make_host('order',
                                       [('0000:3b:00.0', '535.129.03')])
        builder.add_instance('0000:3b:00.0', 'nvidia-231', UUID)
        self.assertEqual(0, self.run_cli('--config-file', conf,
                                         '--once').returncode)
        for sub, args in (('requirements', ['--mdev', UUID]),
                          ('device-spec', ['--format', 'json']),
                          ('status', ['--format', 'json'])):
            after = self.run_cli(sub, '--config-file', conf, *args)
            before = self.run_cli('--config-file', conf, sub, *args)
            equals = self.run_cli('--config-file=%s' % conf, '--debug',
                                  sub, *args)
            if sub == 'status':
                # "updated_at" is the same, the age may differ by a second
                self.assertEqual(*(json.loads(p.stdout)['updated_at']
                                   for p in (after, before)))
            else:
                self.assertEqual(after.stdout, before.stdout)
                self.assertEqual(after.stdout, equals.stdout)
            self.assertEqual(after.returncode, before.returncode,
                             before.stderr)
            self.assertEqual(after.returncode, equals.returncode,
                             equals.stderr)
        self.assertIn('CUSTOM_MDEV_TYPE_NVIDIA_231',
                      self.run_cli('--config-file', conf, 'requirements',
                                   '--mdev', UUID).stdout)

    def test_version_and_help(self):
        proc = self.run_cli('--version')
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertEqual(
            pbr.version.VersionInfo('mdev-traits').version_string(),
            (proc.stdout + proc.stderr).strip())
        proc = self.run_cli('--help')
        self.assertEqual(0, proc.returncode, proc.stderr)
        lines = proc.stdout.splitlines()
        for name, (_module, summary) in exporter_cmd.SUBCOMMANDS.items():
            # one line each: the name and its whole summary
            self.assertEqual(1, len([line for line in lines
                                     if line.split() == [name] +
                                     summary.split()]), proc.stdout)
        self.assertIn('--once', proc.stdout)

    def test_config_error_names_group_option_file_and_allowed_values(self):
        _, conf = self.make_host('plain', [('0000:3b:00.0', '535.129')],
                                 extra='[metrics]\nlisten_port = 99999\n')
        with open(conf) as f:
            text = f.read().replace('mode = manage', 'mode = fast')
        with open(conf, 'w') as f:
            f.write(text)
        proc = self.run_cli('--config-file', conf, '--once')
        self.assertEqual(2, proc.returncode, proc.stderr)
        self.assertEqual([
            'mdev-traits-exporter: error: configuration: [exporter] mode = '
            'fast in %s is not valid; allowed: one of: decorate, manage'
            % conf,
            'mdev-traits-exporter: error: configuration: [metrics] '
            'listen_port = 99999 in %s is not valid; allowed: a port '
            'number from 0 to 65535' % conf], proc.stderr.splitlines())
        self.assertIsNone(self.provider('plain'))

    def test_unknown_options_of_the_own_file_only(self):
        _, conf = self.make_host(
            'typo', [('0000:3b:00.0', '535.129.03')],
            extra='[exporter]\nintervall = 10\n[exproter]\ninterval = 5\n')
        nova_conf = os.path.join(self.tmp, 'nova.conf')
        with open(nova_conf, 'w') as f:
            f.write('[DEFAULT]\ntransport_url = rabbit://h\n'
                    '[libvirt]\nvirt_type = kvm\n'
                    '[devices]\nenabled_mdev_types = nvidia-231\n'
                    '[mdev_nvidia-231]\ndevice_addresses = 0000:3b:00.0\n')
        proc = self.run_cli('--config-file', nova_conf, '--config-file',
                            conf, '--once')
        self.assertEqual(0, proc.returncode, proc.stderr)
        warnings = [line for line in proc.stderr.splitlines()
                    if 'WARNING' in line and 'Configuration:' in line]
        self.assertEqual(2, len(warnings), proc.stderr)
        self.assertIn('%s: unknown option [exporter] intervall: ignored'
                      % conf, warnings[0])
        self.assertIn('%s: unknown section [exproter]: ignored' % conf,
                      warnings[1])
        self.assertNotIn('virt_type', proc.stderr)
        self.assertNotIn('transport_url', proc.stderr)
        self.assertIn('CUSTOM_MDEV_TYPE_NVIDIA_231',
                      self.traits('typo_pci_0000_3b_00_0'))


class TestHealth(base.PlacementTestCase):

    def test_once_logs_counts_and_leaves_metrics_and_status(self):
        prom = os.path.join(self.tmp, 'mdev_traits.prom')
        builder, conf = self.make_host(
            'once2', [('0000:3b:00.0', '535.129.03'),
                      ('0000:5e:00.0', '535.129.03')],
            extra='[metrics]\ntextfile = %s\n' % prom)
        proc = self.run_cli('--config-file', conf, '--once')
        self.assertEqual(0, proc.returncode, proc.stderr)
        lines = proc.stderr.splitlines()
        self.assertEqual([], [len(line) for line in lines
                              if len(line) > MAX_LINE])
        published = [line for line in lines if 'INFO' in line
                     and 'Published 2 provider(s)' in line]
        self.assertEqual(1, len(published), proc.stderr)
        traits = len(self.traits('once2_pci_0000_3b_00_0'))
        self.assertIn('2 provider(s) created, 0 deleted; %d trait(s) '
                      'added, 0 removed; 2 inventory update(s)' %
                      (2 * traits), published[0])
        with open(prom) as f:
            self.assertIn('mdev_traits_devices_published 2.0', f.read())
        status = self.run_cli('--config-file', conf, 'status')
        self.assertEqual(0, status.returncode, status.stdout)
        out = status.stdout.splitlines()
        self.assertTrue(out[1].startswith('Last full sync: '), out)
        self.assertTrue(out[1].endswith(': 2 provider(s), %d trait(s)' %
                                        (2 * traits)), out)
        self.assertIn('Held back:      nothing', out)
        self.assertIn('Healthy:        yes', out)
        # nothing to change: one line that says so
        proc = self.run_cli('--config-file', conf, '--once')
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertIn('Published 2 provider(s) with %d trait(s) under '
                      'once2: nothing to change' % (2 * traits),
                      proc.stderr)
        # sysfs that cannot be read: nothing is removed, and status says
        # why
        builder.remove('class/mdev_bus')
        builder.write('class/mdev_bus', 'not a directory')
        proc = self.run_cli('--config-file', conf, '--once')
        self.assertEqual(0, proc.returncode, proc.stderr)
        status = self.run_cli('--config-file', conf, 'status', '--format',
                              'json')
        self.assertEqual(1, status.returncode, status.stdout)
        data = json.loads(status.stdout)
        self.assertFalse(data['healthy'])
        self.assertEqual(1, len(data['held_back']), data)
        self.assertIn('removals of mdev providers and traits: discovery '
                      'incomplete (', data['held_back'][0])
        self.assertIn('class/mdev_bus: not a directory',
                      data['held_back'][0])
        self.assertIn('did not sync fully', data['problems'][0])
        for gpu in ('3b', '5e'):
            self.assertIn('CUSTOM_MDEV_TYPE_NVIDIA_231', self.traits(
                'once2_pci_0000_%s_00_0' % gpu))

    def test_status_says_what_is_added_only(self):
        builder, conf = self.make_host('partial',
                                       [('0000:3b:00.0', '535.129.03')])
        self.assertEqual(0, self.run_cli('--config-file', conf,
                                         '--once').returncode)
        # the enabled type cannot be read any more: the GPU's traits are
        # added, none removed, and status says so
        builder.set_type_attr('0000:3b:00.0', 'nvidia-231',
                              'available_instances', '-1')
        proc = self.run_cli('--config-file', conf, '--once')
        status = self.run_cli('--config-file', conf, 'status', '--format',
                              'json')
        self.assertEqual(1, status.returncode, (proc.stderr, status.stdout))
        data = json.loads(status.stdout)
        self.assertIn('trait removals on 1 provider(s) '
                      '(partial_pci_0000_3b_00_0): what was read of them '
                      'is partial (', data['held_back'][0])
        self.assertIn('CUSTOM_MDEV_TYPE_NVIDIA_231',
                      self.traits('partial_pci_0000_3b_00_0'))

    def test_status_lists_what_waits_for_nova(self):
        # decorate mode: nova has no provider for this GPU yet
        self.create_root('waits')
        _, conf = self.make_host('waits', [('0000:3b:00.0', '535.129.03')],
                                 mode='decorate', create_root=False)
        proc = self.run_cli('--config-file', conf, '--once')
        self.assertEqual(0, proc.returncode, proc.stderr)
        status = self.run_cli('--config-file', conf, 'status')
        self.assertEqual(0, status.returncode, status.stdout)
        self.assertIn('  provider waits_pci_0000_3b_00_0 does not exist '
                      '(nova-compute creates it', status.stdout)

    def test_status_without_a_status_file(self):
        _, conf = self.make_host('nostatus', [('0000:3b:00.0', '535.129')])
        proc = self.run_cli('status', '--config-file', conf)
        self.assertEqual(2, proc.returncode)
        self.assertIn('cannot read the status file %s' % os.path.join(
            self.tmp, 'nostatus', 'status.json'), proc.stderr)


class TestDaemon(base.PlacementTestCase):

    def _start(self, conf, env=None):
        log = os.path.join(self.tmp, 'daemon.log')
        out = open(log, 'w')
        self.addCleanup(out.close)
        proc = subprocess.Popen(
            [sys.executable, '-X', 'faulthandler', '-m',
             'mdev_traits.cmd.exporter', '--config-file', conf],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            text=True,
            env=dict(os.environ, **(env or {})))
        self.addCleanup(lambda: proc.poll() is None and proc.kill())

        def read():
            with open(log) as f:
                return f.read()
        return proc, read

    def test_status_heartbeat_and_reload_that_tells_the_truth(self):
        port_a, port_b = free_port(), free_port()
        sock = self.useFixture(notify_socket.NotifySocket(timeout=60))
        daemon_opts = ('[exporter]\ninterval = 1\nheartbeat_interval = 1\n'
                       'hotplug = false\n')
        builder, conf = self.make_host(
            'health', [('0000:3b:00.0', '535.129.03'),
                       ('0000:5e:00.0', '535.129.03')],
            extra=daemon_opts + '[metrics]\nlisten_port = %d\n' % port_a)
        proc, log = self._start(conf, sock.environ)
        # systemd's status line
        status_lines = []
        while not any('last full sync' in s for s in status_lines):
            status_lines.extend(
                m for m in sock.recv(4096).decode().split('\n')
                if m.startswith('STATUS='))
        self.assertRegex(status_lines[-1],
                         r'^STATUS=last full sync \d{4}-\d\d-\d\d '
                         r'\d\d:\d\d:\d\d UTC: 2 provider\(s\), \d+ '
                         r'trait\(s\)$')
        # no one reads any more: the daemon's notifications fail (and
        # must not block it)
        sock.sock.close()
        # the heartbeat
        self.assertTrue(self.wait_for(lambda: 'Alive: last full sync'
                                      in log()), log())
        status = self.run_cli('--config-file', conf, 'status')
        self.assertEqual(0, status.returncode, status.stdout)
        self.assertIn('Healthy:        yes', status.stdout)
        self.assertTrue(metrics_port_answers(port_a))
        # reload: the metrics port and debug apply, log_dir needs a
        # restart and says so
        self.write_conf('health', builder.root, ['nvidia-231'], 'manage',
                        True, extra=daemon_opts + (
                            '[metrics]\nlisten_port = %d\n[DEFAULT]\n'
                            'debug = true\nlog_dir = %s\n' % (
                                port_b, os.path.join(self.tmp, 'logs'))))
        proc.send_signal(signal.SIGHUP)
        self.assertTrue(self.wait_for(lambda: metrics_port_answers(port_b)),
                        log())
        self.assertFalse(metrics_port_answers(port_a))
        self.assertTrue(self.wait_for(lambda: 'DEBUG' in log()), log())
        # a driver upgrade: one INFO line with counts
        builder.write('module/nvidia/version', '535.161.07')
        self.assertTrue(self.wait_for(
            lambda: 'CUSTOM_MDEV_SWVER_NVIDIA_535_161' in self.traits(
                'health_pci_0000_5e_00_0')))
        # a wrong value at reload: said once, the daemon goes on
        with open(conf) as f:
            text = f.read().replace('mode = manage', 'mode = fast')
        with open(conf, 'w') as f:
            f.write(text)
        proc.send_signal(signal.SIGHUP)
        self.assertTrue(self.wait_for(lambda: 'reload failed' in log()))
        # a value argparse refuses (a command-line option set in a file)
        # does not end the daemon either
        with open(conf, 'w') as f:
            f.write(text.replace('debug = true', 'debug = maybe'))
        proc.send_signal(signal.SIGHUP)
        self.assertTrue(self.wait_for(
            lambda: log().count('reload failed') == 2), log())
        self.assertIsNone(proc.poll())
        self.assertIn("argument --debug: Invalid Boolean value: maybe",
                      log())
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGABRT)
            proc.wait(timeout=30)
            self.fail(log()[-8000:])
        self.assertEqual(0, proc.returncode, log())
        lines = log().splitlines()
        # full trait lists only at DEBUG
        self.assertEqual([], [len(line) for line in lines
                              if len(line) > MAX_LINE
                              and ' DEBUG ' not in line])
        # trait contract v2: the new bucket; the old one stays (its trait
        # exists in Placement: a host ran 535.129)
        self.assertTrue([line for line in lines if ' DEBUG ' in line
                         and 'Traits of health_pci_0000_3b_00_0: added '
                         'CUSTOM_MDEV_SWVER_NVIDIA_535_161' in line], log())
        reloaded = [line for line in lines
                    if 'Configuration reloaded:' in line]
        self.assertEqual(1, len(reloaded), log())
        self.assertTrue(reloaded[0].endswith(
            'Configuration reloaded: [DEFAULT] debug, [DEFAULT] log_dir, '
            '[metrics] listen_port'), reloaded[0])
        restart = [line for line in lines if 'only after a restart' in line]
        self.assertEqual(1, len(restart), log())
        self.assertTrue(restart[0].endswith(': [DEFAULT] log_dir'))
        # one line for the first publish, one for the upgrade, none for
        # the cycles that changed nothing
        published = [line for line in lines if ' INFO ' in line
                     and 'Published 2 provider(s)' in line]
        self.assertEqual(2, len(published), log())
        self.assertIn('0 provider(s) created, 0 deleted', published[1])
        failed = [line for line in lines if 'mode = fast' in line]
        self.assertEqual(1, len(failed), log())
        self.assertIn('Configuration reload failed, the previous '
                      'configuration stays in force: [exporter] mode = '
                      'fast in %s is not valid; allowed: one of: decorate, '
                      'manage' % conf, failed[0])
        self.assertNotIn('LocationInfo', log())
