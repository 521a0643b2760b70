"""The shared atomic write of the state, status and metrics files."""

import os

import fixtures
import testtools

from mdev_traits import fileutil


class TestWriteAtomically(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(self.tmp, 'out.json')

    def listing(self):
        return sorted(os.listdir(self.tmp))

    def test_text_with_mode_replaces_the_file(self):
        with open(self.path, 'w') as f:
            f.write('old')
        fileutil.write_atomically(self.path, lambda f: f.write('new é'),
                                  prefix='.x-', mode=0o640)
        with open(self.path, encoding='utf-8') as f:
            self.assertEqual('new é', f.read())
        self.assertEqual(0o640, os.stat(self.path).st_mode & 0o777)
        self.assertEqual(['out.json'], self.listing())

    def test_binary_and_durable(self):
        fileutil.write_atomically(self.path, lambda f: f.write(b'\x00a'),
                                  prefix='.x-', binary=True, durable=True)
        with open(self.path, 'rb') as f:
            self.assertEqual(b'\x00a', f.read())
        self.assertEqual(0o644, os.stat(self.path).st_mode & 0o777)

    def test_failed_write_leaves_the_old_file_and_no_temporary(self):
        with open(self.path, 'w') as f:
            f.write('old')

        def broken(f):
            f.write('half')
            raise OSError(28, 'No space left on device')

        self.assertRaises(OSError, fileutil.write_atomically, self.path,
                          broken, prefix='.x-', suffix='.tmp', durable=True)
        with open(self.path) as f:
            self.assertEqual('old', f.read())
        self.assertEqual(['out.json'], self.listing())

    def test_missing_directory_is_an_oserror(self):
        path = os.path.join(self.tmp, 'missing', 'out.json')
        self.assertRaises(OSError, fileutil.write_atomically, path,
                          lambda f: f.write('x'), prefix='.x-')

    def test_owner(self):
        # giving the file its own owner works as any user
        fileutil.write_atomically(self.path, lambda f: f.write('x'),
                                  prefix='.x-',
                                  owner=(os.geteuid(), os.getegid()))
        st = os.stat(self.path)
        self.assertEqual((os.geteuid(), os.getegid()),
                         (st.st_uid, st.st_gid))

    def test_other_owner_as_root(self):
        if os.geteuid() != 0:
            self.skipTest('needs root (chown to another user)')
        fileutil.write_atomically(self.path, lambda f: f.write('x'),
                                  prefix='.x-', owner=(65534, 65534),
                                  mode=0o640)
        st = os.stat(self.path)
        self.assertEqual((65534, 65534, 0o640),
                         (st.st_uid, st.st_gid, st.st_mode & 0o777))
