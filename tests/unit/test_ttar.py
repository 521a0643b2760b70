#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

import os
import stat

import fixtures
import testtools

from mdev_traits import ttar

# Written the way node_exporter's collector/fixtures/sys.ttar is.
NODE_EXPORTER_STYLE = """\
# Archive created by ttar -c -f sysfs/fixtures.ttar fixtures/
Directory: fixtures
Mode: 755
# ttar - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -
Directory: fixtures/class
Mode: 775
# ttar - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -
Path: fixtures/class/net
SymlinkTo: ../devices/virtual/net
# ttar - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -
Path: fixtures/class/version
Lines: 1
1.2.3
Mode: 644
# ttar - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -
Path: fixtures/class/no_newline
Lines: 2
first
secondEOF
Mode: 444
# ttar - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -
Path: fixtures/class/binary
Lines: 1
aNULLBYTEbNULLBYTENULLBYTE\\EOF \\NULLBYTE
Mode: 644
# ttar - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -
Path: fixtures/class/empty
Lines: 0
Mode: 644
# ttar - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -
"""


def _read(path):
    with open(path, 'rb') as f:
        return f.read()


class TtarTestCase(testtools.TestCase):

    def setUp(self):
        super(TtarTestCase, self).setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def _tree(self):
        src = os.path.join(self.tmp, 'src', 'sys')
        os.makedirs(os.path.join(src, 'a', 'b'))
        os.makedirs(os.path.join(src, 'empty_dir'))
        files = {
            'a/plain': b'hello\n',
            'a/multi': b'one\ntwo\n\nfour\n',
            'a/no_newline': b'no newline',
            'a/empty': b'',
            'a/blank_lines': b'\n\n',
            'a/b/keywords': b'EOF NULLBYTE \\EOF \\NULLBYTE\nxEOF\n',
            'a/b/ends_in_eof': b'EOF',
            'a/b/nul': b'\x00a\x00\x00b\n\x00',
            'a/b/latin1': b'caf\xe9\n',
            'a/b/cr': b'dos\r\nline\r\n',
            'a/b/Path: fake': b'Lines: 3\n# ttar comment\n',
        }
        for rel, data in files.items():
            with open(os.path.join(src, rel), 'wb') as f:
                f.write(data)
        os.chmod(os.path.join(src, 'a', 'plain'), 0o444)
        os.chmod(os.path.join(src, 'a', 'b'), 0o700)
        os.symlink('../a/plain', os.path.join(src, 'empty_dir', 'link'))
        os.symlink('/does/not/exist', os.path.join(src, 'dangling'))
        os.symlink('b', os.path.join(src, 'a', 'dirlink'))
        return src, files

    def test_round_trip(self):
        src, files = self._tree()
        text = ttar.create(src)
        self.assertTrue(text.startswith(ttar.HEADER + '\n'))
        dest = os.path.join(self.tmp, 'dest')
        extracted = ttar.extract(text, dest)
        self.assertIn('sys/a/b/nul', extracted)
        for rel, data in files.items():
            self.assertEqual(data, _read(os.path.join(dest, 'sys', rel)),
                             rel)
        self.assertEqual('../a/plain', os.readlink(
            os.path.join(dest, 'sys', 'empty_dir', 'link')))
        self.assertEqual('/does/not/exist',
                         os.readlink(os.path.join(dest, 'sys', 'dangling')))
        self.assertTrue(os.path.islink(os.path.join(dest, 'sys', 'a',
                                                    'dirlink')))
        self.assertEqual(0o444, stat.S_IMODE(os.stat(
            os.path.join(dest, 'sys', 'a', 'plain')).st_mode))
        self.assertEqual(0o700, stat.S_IMODE(os.stat(
            os.path.join(dest, 'sys', 'a', 'b')).st_mode))
        self.assertTrue(os.path.isdir(os.path.join(dest, 'sys', 'empty_dir')))
        # Re-archiving the extracted tree gives the same text.
        self.assertEqual(text, ttar.create(os.path.join(dest, 'sys')))

    def test_create_format(self):
        src = os.path.join(self.tmp, 'fixtures')
        os.makedirs(src)
        with open(os.path.join(src, 'f'), 'wb') as f:
            f.write(b'x\nyEOF\x00')
        os.chmod(os.path.join(src, 'f'), 0o644)
        os.chmod(src, 0o755)
        os.symlink('f', os.path.join(src, 'l'))
        text = ttar.create(src, header='first\nsecond')
        self.assertEqual(
            [ttar.HEADER, '# first', '# second',
             'Directory: fixtures', 'Mode: 755', ttar.DIVIDER,
             'Path: fixtures/f', 'Lines: 2', 'x', 'y\\EOFNULLBYTEEOF',
             'Mode: 644', ttar.DIVIDER,
             'Path: fixtures/l', 'SymlinkTo: f', ttar.DIVIDER, ''],
            text.split('\n'))

    def test_create_arcname(self):
        src = os.path.join(self.tmp, 'whatever')
        os.makedirs(src)
        text = ttar.create(src, arcname='sys')
        self.assertIn('Directory: sys\n', text)
        self.assertRaises(ttar.TtarError, ttar.create, src, arcname='../x')

    def test_create_contents_only(self):
        src, files = self._tree()
        text = ttar.create(src, arcname='')
        self.assertNotIn('Directory: sys', text)
        self.assertIn('Directory: a\n', text)
        dest = os.path.join(self.tmp, 'dest')
        ttar.extract(text, dest)
        for rel, data in files.items():
            self.assertEqual(data, _read(os.path.join(dest, rel)), rel)
        self.assertEqual(text, ttar.create(dest, arcname=''))

    def test_create_is_sorted(self):
        src = os.path.join(self.tmp, 's')
        os.makedirs(src)
        for name in ('b', 'a', 'C', '_'):
            open(os.path.join(src, name), 'w').close()
        paths = [line for line in ttar.create(src).split('\n')
                 if line.startswith('Path: ')]
        self.assertEqual(['Path: s/C', 'Path: s/_', 'Path: s/a',
                          'Path: s/b'], paths)

    def test_create_refuses_ambiguous_content(self):
        src = os.path.join(self.tmp, 's')
        os.makedirs(src)
        with open(os.path.join(src, 'f'), 'wb') as f:
            f.write(b'ends with a backslash\\')
        self.assertRaises(ttar.TtarError, ttar.create, src)
        with open(os.path.join(src, 'f'), 'wb') as f:
            f.write(b'a\\\x00\n')
        self.assertRaises(ttar.TtarError, ttar.create, src)

    def test_create_refuses_special_files(self):
        src = os.path.join(self.tmp, 's')
        os.makedirs(src)
        os.mkfifo(os.path.join(src, 'fifo'))
        self.assertRaises(ttar.TtarError, ttar.create, src)

    def test_extract_node_exporter_style(self):
        dest = os.path.join(self.tmp, 'dest')
        ttar.extract(NODE_EXPORTER_STYLE, dest)
        top = os.path.join(dest, 'fixtures', 'class')
        self.assertEqual(b'1.2.3\n', _read(os.path.join(top, 'version')))
        self.assertEqual(b'first\nsecond',
                         _read(os.path.join(top, 'no_newline')))
        self.assertEqual(b'a\x00b\x00\x00EOF NULLBYTE\n',
                         _read(os.path.join(top, 'binary')))
        self.assertEqual(b'', _read(os.path.join(top, 'empty')))
        self.assertEqual('../devices/virtual/net',
                         os.readlink(os.path.join(top, 'net')))
        self.assertEqual(0o775, stat.S_IMODE(os.stat(top).st_mode))
        self.assertEqual(0o444, stat.S_IMODE(
            os.stat(os.path.join(top, 'no_newline')).st_mode))

    def test_extract_from_path_and_bytes(self):
        archive = os.path.join(self.tmp, 'x.ttar')
        with open(archive, 'w') as f:
            f.write(NODE_EXPORTER_STYLE)
        for source in (archive, NODE_EXPORTER_STYLE.encode()):
            dest = self.useFixture(fixtures.TempDir()).path
            ttar.extract(source, dest)
            self.assertEqual(b'1.2.3\n', _read(os.path.join(
                dest, 'fixtures', 'class', 'version')))

    def test_parse(self):
        entries = ttar.parse(NODE_EXPORTER_STYLE)
        self.assertEqual(
            [('dir', 'fixtures'), ('dir', 'fixtures/class'),
             ('symlink', 'fixtures/class/net'),
             ('file', 'fixtures/class/version'),
             ('file', 'fixtures/class/no_newline'),
             ('file', 'fixtures/class/binary'),
             ('file', 'fixtures/class/empty')],
            [(e.kind, e.path) for e in entries])
        self.assertEqual(0o755, entries[0].mode)
        self.assertEqual('1.2.3\n', entries[3].data)
        self.assertEqual([], ttar.parse(''))

    def test_extract_replaces_existing(self):
        dest = os.path.join(self.tmp, 'dest')
        top = os.path.join(dest, 'fixtures', 'class')
        os.makedirs(top)
        os.symlink('elsewhere', os.path.join(top, 'version'))
        with open(os.path.join(top, 'net'), 'w') as f:
            f.write('old')
        ttar.extract(NODE_EXPORTER_STYLE, dest)
        self.assertFalse(os.path.islink(os.path.join(top, 'version')))
        self.assertEqual(b'1.2.3\n', _read(os.path.join(top, 'version')))
        self.assertTrue(os.path.islink(os.path.join(top, 'net')))

    def test_extract_read_only_directory(self):
        text = ('Directory: ro\nMode: 555\n'
                'Path: ro/f\nLines: 1\nx\nMode: 444\n')
        dest = os.path.join(self.tmp, 'dest')
        ttar.extract(text, dest)
        self.assertEqual(b'x\n', _read(os.path.join(dest, 'ro', 'f')))
        self.assertEqual(0o555, stat.S_IMODE(
            os.stat(os.path.join(dest, 'ro')).st_mode))
        os.chmod(os.path.join(dest, 'ro'), 0o755)

    def test_extract_refuses_unsafe_paths(self):
        dest = os.path.join(self.tmp, 'dest')
        for text in ('Path: /etc/x\nLines: 0\n',
                     'Path: a/../../x\nLines: 0\n',
                     'Directory: ..\n',
                     'Path: link\nSymlinkTo: ' + self.tmp + '\n'
                     'Path: link/escaped\nLines: 0\n',
                     'Path: dlink\nSymlinkTo: ..\n'
                     'Directory: dlink/x\n'):
            self.assertRaises(ttar.TtarError, ttar.extract, text, dest)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, 'escaped')))
        self.assertFalse(os.path.exists(os.path.join(self.tmp, 'x')))

    def test_malformed(self):
        for text in ('Bogus: x\n',
                     'Lines: 1\nx\n',
                     'Path: f\nLines: 3\nx\n',
                     'Path: f\nLines: many\n',
                     'Path: f\nLines: 1\nx\nMode: 9z\n',
                     'Path: f\nLines: 2\naEOF\nb\n',
                     'Path: f\n',
                     'Path: f\nSymlinkTo: x\nLines: 0\n'):
            self.assertRaises(ttar.TtarError, ttar.parse, text)
        e = self.assertRaises(ttar.TtarError, ttar.parse,
                              '# c\nDirectory: d\nWhat\n')
        self.assertEqual(3, e.line_no)

    def test_non_utf8_archive_round_trip(self):
        src = os.path.join(self.tmp, 's')
        os.makedirs(src)
        with open(os.path.join(src, 'f'), 'wb') as f:
            f.write(b'\xff\xfe garbage\n')
        text = ttar.create(src)
        archive = os.path.join(self.tmp, 'x.ttar')
        ttar.write_archive(archive, text)
        dest = os.path.join(self.tmp, 'dest')
        ttar.extract(archive, dest)
        self.assertEqual(b'\xff\xfe garbage\n',
                         _read(os.path.join(dest, 's', 'f')))
