"""The state file (issue 9, item 3) with the real command line against
the real Placement: damaged files are moved aside, a lock keeps two
exporters from losing records, root leaves a file the service user can
read, and a record from another host is refused."""

import fcntl
import glob
import json
import os

from mdev_traits.daemon import loop as daemon_mod
from tests.functional import base

GPU = [('0000:3b:00.0', '535.129.03')]


class TestStateFile(base.PlacementTestCase):

    def host(self, name, extra=''):
        builder, conf = self.make_host(name, GPU, extra=extra)
        return builder, conf, os.path.join(self.tmp, name, 'state.json')

    def once(self, conf):
        return self.run_cli('--config-file', conf, '--once')

    def error_lines(self, proc):
        return [line for line in proc.stderr.splitlines()
                if 'error' in line.lower()]

    def test_damaged_file_is_moved_aside_and_reported(self):
        _, conf, path = self.host('corrupt')
        self.assertEqual(0, self.once(conf).returncode)
        with open(path, 'w') as f:
            f.write('{"version": 2, "created": {"corrupt_pci')
        proc = self.once(conf)
        self.assertEqual(0, proc.returncode, proc.stderr)
        (aside,) = glob.glob(path + '.corrupt-*')
        with open(aside) as f:
            self.assertEqual('{"version": 2, "created": {"corrupt_pci',
                             f.read())
        (line,) = [line for line in proc.stderr.splitlines()
                   if aside in line]
        self.assertIn('cannot be parsed', line)
        with open(path) as f:
            self.assertEqual(2, json.load(f)['version'])

    def test_lock_held_by_another_exporter(self):
        _, conf, path = self.host(
            'locked', extra='[exporter]\nstate_lock_timeout = 1\n')
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path + '.lock', os.O_RDONLY | os.O_CREAT, 0o640)
        self.addCleanup(os.close, fd)
        fcntl.flock(fd, fcntl.LOCK_EX)
        proc = self.once(conf)
        self.assertEqual(1, proc.returncode, proc.stderr)
        (line,) = self.error_lines(proc)
        self.assertIn('holds the lock', line)
        self.assertIsNone(self.provider('locked_pci_0000_3b_00_0'))
        fcntl.flock(fd, fcntl.LOCK_UN)
        proc = self.once(conf)
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertIsNotNone(self.provider('locked_pci_0000_3b_00_0'))

    def test_root_leaves_a_file_the_service_user_can_read(self):
        if os.geteuid() != 0:
            self.skipTest('needs root (the case is a --once run as root)')
        _, conf, path = self.host('asroot')
        state_dir = os.path.dirname(path)
        # the service user's state directory (nobody:nogroup here)
        os.chown(state_dir, 65534, 65534)
        self.assertEqual(0, self.once(conf).returncode)
        for name in (path, path + '.lock'):
            st = os.stat(name)
            self.assertEqual((65534, 65534), (st.st_uid, st.st_gid), name)
            self.assertEqual(0o640, st.st_mode & 0o777, name)
        # in a directory root owns (before the service is installed): the
        # service user can read it all the same
        os.chown(state_dir, 0, 0)
        os.unlink(path)
        self.assertEqual(0, self.once(conf).returncode)
        self.assertEqual(0o644, os.stat(path).st_mode & 0o777)

    def test_record_from_another_host_is_refused(self):
        ids = []
        for i in (1, 2):
            ids.append(os.path.join(self.tmp, 'machine-id-%d' % i))
            with open(ids[-1], 'w') as f:
                f.write('%032x\n' % i)
        builder, conf, path = self.host(
            'cloned', extra='[exporter]\nhost_id_file = %s\n' % ids[0])
        self.assertEqual(0, self.once(conf).returncode)
        with open(path, 'rb') as f:
            before = f.read()
        self.assertEqual('%032x' % 1, json.loads(before)['host_id'])
        # the same record on another host (a cloned image)
        conf = self.write_conf('cloned', builder.root, ['nvidia-231'],
                               'manage', True,
                               extra='[exporter]\nhost_id_file = %s\n' %
                               ids[1])
        proc = self.once(conf)
        self.assertEqual(2, proc.returncode, proc.stderr)
        (line,) = self.error_lines(proc)
        self.assertIn('written on another host', line)
        with open(path, 'rb') as f:
            self.assertEqual(before, f.read())
        # the daemon keeps running and publishes nothing while it is there
        builder.write('module/nvidia/version', '535.161.07')
        daemon = daemon_mod.Daemon(self.load_conf(conf))
        self.assertFalse(daemon.run_cycle())
        self.assertFalse(daemon.run_cycle())
        self.assertEqual(2, daemon.failures)
        self.assertNotIn('CUSTOM_MDEV_SWVER_NVIDIA_535_161',
                         self.traits('cloned_pci_0000_3b_00_0'))
        with open(path, 'rb') as f:
            self.assertEqual(before, f.read())
        # moved away: the daemon works again, with a new record that does
        # not say it created that provider (left alone, see README
        # "Ownership")
        os.rename(path, path + '.from-another-host')
        self.assertTrue(daemon.run_cycle())
        with open(path) as f:
            self.assertEqual({}, json.load(f)['created'])

    def test_version_1_record_is_migrated(self):
        builder, conf, path = self.host('v1')
        self.assertEqual(0, self.once(conf).returncode)
        child = 'v1_pci_0000_3b_00_0'
        with open(path) as f:
            v2 = json.load(f)
        # what the previous release wrote
        with open(path, 'w') as f:
            json.dump({'version': 1, 'root_provider': 'v1', 'providers': {
                child: {'traits': v2['providers'][child]['traits'],
                        'resource_classes': ['VGPU']}}}, f)
        # fewer instances: the provider v1 created is still managed
        builder.set_type_attr('0000:3b:00.0', 'nvidia-231',
                              'available_instances', 2)
        self.assertEqual(0, self.once(conf).returncode)
        self.assertEqual(2, self.inventories(child)['VGPU']['total'])
        with open(path) as f:
            migrated = json.load(f)
        self.assertEqual(2, migrated['version'])
        self.assertEqual(self.provider(child)['uuid'],
                         migrated['created'][child])
