"""Profile and operator rule files: validation and loading."""

import os

import fixtures
import testtools

from mdev_traits.profiles import loader as profiles_loader
from mdev_traits.profiles import parser as profiles_parser

GOOD = """\
version: 1
description: site rules
rules:
  - name: gold
    match: {address: "0000:3b:*", vendor: "10de"}
    set: {display_heads: 2}
    traits: [CUSTOM_GOLD]
"""


class TestShippedProfiles(testtools.TestCase):

    def test_valid_and_named_by_file(self):
        rules, errors = profiles_loader.load_directory(
            profiles_loader.BUILTIN_DIR, operator=False,
            label=os.path.basename)
        self.assertEqual((), errors)
        self.assertEqual({'intel.yaml', 'nvidia.yaml'},
                         {r.filename for r in rules})
        self.assertEqual('profile nvidia.yaml:vgpu-q-series', [
            r.origin for r in rules if r.name == 'vgpu-q-series'][0])
        # intel.yaml sorts first
        self.assertEqual('intel.yaml', rules[0].filename)

    def test_packaged(self):
        # setup.cfg package_data ships them
        with open(os.path.join(os.path.dirname(__file__), '..', '..',
                               'setup.cfg')) as f:
            self.assertIn('profiles/*.yaml', f.read())


class TestValidation(testtools.TestCase):

    def error(self, text, operator=True):
        exc = self.assertRaises(profiles_parser.ProfileError, profiles_parser.parse_text,
                                text, '/etc/p/site.yaml', operator)
        self.assertNotIn('\n', str(exc))
        return exc

    def rule(self, body):
        return 'rules:\n  - name: r1\n' + body

    def test_good(self):
        (rule,) = profiles_parser.parse_text(GOOD, 'site.yaml', operator=True)
        self.assertEqual('gold', rule.name)
        self.assertEqual((('address', ('0000:3b:*',)),
                          ('vendor', ('10de',))), rule.match)
        self.assertEqual((('display_heads', 2),), rule.set)
        self.assertEqual(('CUSTOM_GOLD',), rule.traits)
        self.assertEqual('operator rule site.yaml:gold', rule.origin)

    def test_message_names_file_rule_field(self):
        exc = self.error(self.rule(
            '    match: {}\n    set: {display_heads: four}\n'))
        self.assertEqual('/etc/p/site.yaml: rule r1: field '
                         'set.display_heads: must be an integer >= 0, '
                         "got 'four'", str(exc))
        self.assertEqual(('/etc/p/site.yaml', 'r1', 'set.display_heads'),
                         (exc.filename, exc.rule, exc.field))

    def test_errors(self):
        for body, field, words in (
                ('    match: {vendor: 0x10de}\n    set: {cuda: true}\n',
                 'match.vendor', 'quote ids'),
                ('    match: {vendor: [true]}\n    set: {cuda: true}\n',
                 'match.vendor', 'must be a non-empty string'),
                ('    match: {vendor: []}\n    set: {cuda: true}\n',
                 'match.vendor', 'non-empty list'),
                ('    match: {device: 2235}\n    set: {cuda: true}\n',
                 'match.device', 'quote ids'),
                ('    match: {colour: red}\n    set: {cuda: true}\n',
                 'match.colour', 'unknown field'),
                ('    match: {kind: vm}\n    set: {cuda: true}\n',
                 'match.kind', 'unknown kind'),
                ('    match: {}\n    set: {cuda_compute_capability: 8.6}\n',
                 'set.cuda_compute_capability', 'quoted'),
                ('    match: {}\n    set: {cuda: yes please}\n',
                 'set.cuda', 'true or false'),
                ('    match: {}\n    set: {apis: [METAL]}\n',
                 'set.apis', 'unknown API'),
                ('    match: {}\n    set: {apis: VULKAN}\n',
                 'set.apis', 'must be a list'),
                ('    match: {}\n    set: {max_resolution: 4k}\n',
                 'set.max_resolution', '<width>x<height>'),
                ('    match: {}\n    set: {framebuffer_mb: 0}\n',
                 'set.framebuffer_mb', '>= 1'),
                ('    match: {}\n    set: {teraflops: 9}\n',
                 'set.teraflops', 'unknown capability'),
                ('    match: {}\n    traits: [HW_GPU_API_VULKAN]\n',
                 'traits', 'only add CUSTOM_'),
                ('    match: {}\n    traits: [custom-gold]\n',
                 'traits', 'invalid trait name'),
                ('    match: {}\n    traits: CUSTOM_A\n',
                 'traits', 'must be a list'),
                ('    set: {cuda: true}\n', 'match', 'is required'),
                ('    match: {}\n    exec: rm -rf /\n', 'exec',
                 'unknown field')):
            exc = self.error(self.rule(body))
            self.assertEqual('r1', exc.rule, body)
            self.assertEqual(field, exc.field, body)
            self.assertIn(words, exc.message, body)

    def test_rule_without_effect(self):
        exc = self.error(self.rule('    match: {}\n'))
        self.assertIn('sets no capability and adds no trait', str(exc))

    def test_rule_names(self):
        exc = self.error('rules:\n  - match: {}\n    set: {cuda: true}\n')
        self.assertEqual(('#1', 'name'), (exc.rule, exc.field))
        exc = self.error('rules:\n'
                         '  - {name: a, match: {}, set: {cuda: true}}\n'
                         '  - {name: a, match: {}, set: {cuda: true}}\n')
        self.assertEqual(('a', 'name'), (exc.rule, exc.field))
        self.assertIn('duplicate', str(exc))
        exc = self.error('rules:\n  - just a string\n')
        self.assertEqual('#1', exc.rule)

    def test_top_level(self):
        self.assertIn('not valid YAML at line 2',
                      str(self.error('rules:\n\t- {name: a}\n')))
        self.assertIn('must be a mapping', str(self.error('')))
        self.assertIn('must be a mapping', str(self.error('- a\n- b\n')))
        self.assertEqual('version', self.error(
            'version: 2\nrules: []\n').field)
        self.assertEqual('rules', self.error('rules: {}\n').field)
        self.assertIn('unknown top-level field', str(self.error(
            'rules: []\nhooks: [x]\n')))

    def test_no_python_objects(self):
        # yaml.safe_load: tags that build objects are refused
        exc = self.error('rules: !!python/object/apply:os.system '
                         '["true"]\n')
        self.assertIn('not valid YAML', str(exc))

    def test_shipped_may_use_standard_traits(self):
        (rule,) = profiles_parser.parse_text(
            'rules:\n  - {name: a, match: {}, traits: [HW_GPU_API_DXVA]}\n',
            'vendor.yaml', operator=False)
        self.assertEqual(('HW_GPU_API_DXVA',), rule.traits)


class TestOperatorDirectory(testtools.TestCase):

    def setUp(self):
        super(TestOperatorDirectory, self).setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def load(self, **kw):
        return profiles_loader.load_rule_set(builtin=False, directory=self.dir,
                                          **kw)

    def test_missing_directory_is_no_rules(self):
        rs = profiles_loader.load_rule_set(
            builtin=False, directory=os.path.join(self.dir, 'nope'))
        self.assertEqual(((), ()), (rs.operator, rs.errors))

    def test_order_and_later_wins(self):
        self.write('20-late.yaml', 'rules:\n  - {name: late, match: {}, '
                   'set: {display_heads: 2}}\n')
        self.write('10-early.yml', 'rules:\n  - {name: early, match: {}, '
                   'set: {display_heads: 8}}\n')
        self.write('README', 'not a rule file')
        rs = self.load()
        self.assertEqual(['early', 'late'], [r.name for r in rs.operator])
        self.assertEqual(os.path.join(self.dir, '20-late.yaml'),
                         rs.operator[1].filename)
        self.assertTrue(all(r.operator for r in rs.operator))
        self.assertEqual((), rs.errors)

    def test_bad_file_skipped_entirely(self):
        self.write('10-good.yaml', GOOD)
        # the first rule is fine, the second is not: nothing of the file
        self.write('20-bad.yaml',
                   'rules:\n'
                   '  - {name: fine, match: {}, traits: [CUSTOM_FINE]}\n'
                   '  - {name: broken, match: {}, set: {display_heads: -1}}'
                   '\n')
        rs = self.load()
        self.assertEqual(['gold'], [r.name for r in rs.operator])
        (error,) = rs.errors
        self.assertEqual('%s: rule broken: field set.display_heads: must '
                         'be an integer >= 0, got -1; the file is skipped'
                         % os.path.join(self.dir, '20-bad.yaml'), error)

    def test_dotfiles_ignored(self):
        self.write('.10-new.yaml.swp', 'garbage: [')
        self.write('.20-new.yaml', 'garbage: [')
        self.write('30-ok.yaml', GOOD)
        rs = self.load()
        self.assertEqual(['gold'], [r.name for r in rs.operator])
        self.assertEqual((), rs.errors)

    def test_size_cap(self):
        self.write('10-big.yaml', GOOD + '# ' + 'x' * 4096 + '\n')
        rs = self.load(max_bytes=1024)
        self.assertEqual((), rs.operator)
        (error,) = rs.errors
        self.assertIn('10-big.yaml: larger than 1024 bytes; the file is '
                      'skipped', error)

    def test_not_a_regular_file(self):
        os.mkfifo(os.path.join(self.dir, '10-fifo.yaml'))
        os.mkdir(os.path.join(self.dir, '20-dir.yaml'))
        self.write('30-ok.yaml', GOOD)
        rs = self.load()
        self.assertEqual(['gold'], [r.name for r in rs.operator])
        self.assertEqual(2, len(rs.errors))
        self.assertIn('not a regular file', rs.errors[0])
        self.assertIn('is a directory', rs.errors[1])

    def test_not_utf8(self):
        with open(os.path.join(self.dir, '10-x.yaml'), 'wb') as f:
            f.write(b'rules: [\xff]\n')
        (error,) = self.load().errors
        self.assertIn('not valid UTF-8', error)

    def test_builtin_plus_operator(self):
        self.write('10-good.yaml', GOOD)
        rs = profiles_loader.load_rule_set(builtin=True, directory=self.dir)
        self.assertTrue(rs.builtin)
        self.assertEqual(['gold'], [r.name for r in rs.operator])
        rs = profiles_loader.load_rule_set(builtin=False, directory=None)
        self.assertEqual((), rs.builtin + rs.operator)
