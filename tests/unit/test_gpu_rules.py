"""Profile and operator rule files: validation and loading."""

import os

import fixtures
import jsonschema
import testtools
import yaml

from mdev_traits import fileutil
from mdev_traits.mapping import gpu_contract
from mdev_traits.mapping import gpu_rules
from mdev_traits.profiles import loader as profiles_loader
from mdev_traits.profiles import parser as profiles_parser
from mdev_traits.profiles import schema as schema_mod

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
        exc = self.assertRaises(profiles_parser.ProfileError,
                                profiles_parser.parse_text,
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


class TestBounded(testtools.TestCase):
    """What a file costs is bounded whatever it holds: YAML aliases
    expand one node many times within the size cap."""

    def refused(self, text):
        return str(self.assertRaises(profiles_parser.ProfileError,
                                     profiles_parser.parse_text, text,
                                     'site.yaml', operator=True))

    def test_aliased_rules(self):
        # 80,000 references to one (bad) rule: about 400 KB of text
        text = ('rules:\n- &r {name: bad, match: {kind: nope}, '
                'traits: [CUSTOM_X]}\n' + '- *r\n' * 80000)
        self.assertEqual('site.yaml: too large to be a rule file: more '
                         'than 1000 rules', self.refused(text))

    def test_aliased_values(self):
        # few rules, each referring to one list of 1,000 traits
        traits = ', '.join('CUSTOM_T%d' % i for i in range(1000))
        text = 'x: &t [%s]\nrules:\n' % traits + ''.join(
            '- {name: r%d, match: {kind: mdev}, traits: *t}\n' % i
            for i in range(200))
        self.assertEqual('site.yaml: too large to be a rule file: more '
                         'than 100000 values once its aliases are '
                         'expanded', self.refused(text))

    def test_nested_too_deeply(self):
        self.assertEqual('site.yaml: not valid YAML: nested too deeply',
                         self.refused('rules: ' + '[' * 5000 + ']' * 5000))
        self.assertEqual('site.yaml: too large to be a rule file: nested '
                         'more than 32 levels deep',
                         self.refused('rules: ' + '[' * 40 + ']' * 40))

    def test_a_trailing_newline_is_no_match(self):
        # Python's "$" matches before a final newline; a YAML "|" block
        # ends with one
        self.assertIn("unknown kind 'mdev\\n'", self.refused(
            'rules:\n- name: a\n  match: {kind: "mdev\\n"}\n'
            '  traits: [CUSTOM_X]\n'))


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
        return profiles_loader.load_rule_set(builtin=False,
                                             directory=self.dir, **kw)

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


class TestSchema(testtools.TestCase):
    """The file format is a JSON schema; the messages are its own."""

    def nodes(self, node=schema_mod.SCHEMA, path='$'):
        yield path, node
        for key, child in node.get('properties', {}).items():
            yield from self.nodes(child, '%s.%s' % (path, key))
        if 'items' in node:
            yield from self.nodes(node['items'], path + '[]')
        for index, child in enumerate(node.get('allOf', ())):
            yield path + '&%d' % index, child

    def test_valid_draft_2020_12(self):
        jsonschema.Draft202012Validator.check_schema(schema_mod.SCHEMA)
        self.assertEqual(jsonschema.Draft202012Validator.META_SCHEMA,
                         profiles_parser.validator().META_SCHEMA)

    def test_every_constraint_has_a_message(self):
        # a node that can fail names what is wrong in the operator's words,
        # never jsonschema's own text
        for path, node in self.nodes():
            if set(node) & {'type', 'const', 'pattern', 'anyOf'}:
                self.assertIn('x-message', node, path)
            if node.get('additionalProperties') is False:
                self.assertIn('x-unknown', node, path)
            for required in node.get('required', ()):
                child = node['properties'][required]
                self.assertTrue(child.get('x-required') or
                                child.get('x-message'), path)

    def test_enumerations_come_from_the_code(self):
        self.assertEqual(gpu_rules.MATCH_FIELDS, tuple(
            schema_mod.MATCH['properties']))
        self.assertEqual(gpu_contract.CAPABILITIES, tuple(
            schema_mod.SET['properties']))

    def test_shipped_profiles_validate_against_the_schema(self):
        paths = profiles_loader.profile_files(profiles_loader.BUILTIN_DIR)
        self.assertEqual(['intel.yaml', 'nvidia.yaml'],
                         [os.path.basename(p) for p in paths])
        for path in paths:
            with open(path, encoding='utf-8') as f:
                data = yaml.safe_load(f)
            self.assertEqual([], [
                e.message for e in
                profiles_parser.validator().iter_errors(data)], path)
            self.assertTrue(data['rules'])

    def error(self, text, operator=True):
        exc = self.assertRaises(profiles_parser.ProfileError,
                                profiles_parser.parse_text, text,
                                'site.yaml', operator)
        self.assertEqual(1, len(str(exc).splitlines()))
        return str(exc)

    def test_top_level_messages(self):
        for text, expected in (
                ('', 'site.yaml: must be a mapping with a "rules" list, '
                     'got None'),
                ('{}\n', 'site.yaml: field rules: must be a list of '
                         'rules, got None'),
                ('rules: {}\n', 'site.yaml: field rules: must be a list '
                                'of rules, got {}'),
                ('version: 2\nrules: []\n', 'site.yaml: field version: '
                 'unsupported version 2 (this exporter reads version 1)'),
                ('version: true\nrules: []\n', 'site.yaml: field version: '
                 'unsupported version True (this exporter reads version '
                 '1)'),
                ('description: 5\nrules: []\n', 'site.yaml: field '
                 'description: must be a string'),
                ('rules: []\nhooks: 1\n', "site.yaml: unknown top-level "
                 "field 'hooks' (known: version, description, rules)"),
                ('rules:\n  - x\n', "site.yaml: rule #1: must be a "
                                    "mapping, got 'x'")):
            self.assertEqual(expected, self.error(text), text)

    def test_rule_messages(self):
        rule = 'rules:\n  - name: r1\n'
        for body, expected in (
                ('    set: {cuda: true}\n', 'field match: is required '
                 '(use {} to match every GPU)'),
                ('    match: {kind: vm}\n    set: {cuda: true}\n',
                 "field match.kind: unknown kind 'vm' (known: mdev, "
                 "vgpu-vf, passthrough)"),
                ('    match: {kind: [mdev, "*"]}\n    set: {cuda: true}\n',
                 "field match.kind: unknown kind '*' (known: mdev, "
                 "vgpu-vf, passthrough)"),
                ('    match: {vendor: 4318}\n    set: {cuda: true}\n',
                 'field match.vendor: must be a string or a non-empty '
                 'list of strings, got 4318 (quote ids and versions: '
                 '"4318")'),
                ('    match: {vendor: ""}\n    set: {cuda: true}\n',
                 "field match.vendor: must be a non-empty string, got "
                 "''"),
                ('    match: {}\n    set: {display_heads: 2.0}\n',
                 'field set.display_heads: must be an integer >= 0, got '
                 '2.0'),
                ('    match: {}\n    set: {cuda: 1}\n',
                 'field set.cuda: must be true or false, got 1'),
                ('    match: {}\n    set: {max_resolution: "0x100"}\n',
                 "field set.max_resolution: must be \"<width>x<height>\", "
                 "got '0x100'"),
                ('    match: {}\n    set: {apis: [METAL]}\n',
                 "field set.apis: unknown API name 'METAL' (VULKAN, DXVA, "
                 "DIRECT2D, OPENGL_V<x>_<y>, OPENCL_V<x>_<y>, "
                 "VULKAN_V<x>_<y>, DIRECTX_V<x>, DIRECT3D_V<x>_<y>)"),
                ('    match: {}\n    set: {}\n    traits: []\n',
                 'sets no capability and adds no trait'),
                ('    match: {}\n    traits: [5]\n',
                 'field traits: invalid trait name 5 (CUSTOM_ followed by '
                 'A-Z, 0-9 and _, at most 255 characters)'),
                ('    match: {}\n    traits: [CUSTOM_PCI_DEVICE_1EB8]\n',
                 'field traits: CUSTOM_PCI_DEVICE_1EB8 uses a prefix '
                 'reserved for the traits the exporter derives itself '
                 '(CUSTOM_MDEV_, CUSTOM_PCI_VENDOR_, CUSTOM_PCI_DEVICE_, '
                 'CUSTOM_VDPA_, CUSTOM_VIRTIO_)')):
            self.assertEqual('site.yaml: rule r1: ' + expected,
                             self.error(rule + body), body)

    def test_first_problem_in_document_order(self):
        text = ('rules:\n'
                '  - {name: a, match: {}, set: {cuda: true}}\n'
                '  - {name: b, match: {}, set: {framebuffer_mb: 0, '
                'cuda: x}}\n'
                '  - {name: c, match: {colour: red}, set: {cuda: true}}\n')
        self.assertEqual('site.yaml: rule b: field set.framebuffer_mb: must '
                         'be an integer >= 1, got 0', self.error(text))

    def test_canonical_values(self):
        (rule,) = profiles_parser.parse_text(
            'rules:\n  - name: r\n'
            '    match: {kind: [MDEV, vgpu-VF], vendor: "10DE"}\n'
            '    set: {cuda_compute_capability: "08.06", apis: '
            '[vulkan, direct3d_v12_0], max_resolution: "03840x02160", '
            'cuda: null}\n', 'site.yaml', operator=True)
        self.assertEqual((('kind', ('mdev', 'vgpu-vf')),
                          ('vendor', ('10de',))), rule.match)
        self.assertEqual((('cuda_compute_capability', '8.6'),
                          ('apis', ('VULKAN', 'DIRECT3D_V12_0')),
                          ('max_resolution', '3840x2160'),
                          ('cuda', None)), rule.set)


class TestReadRegularFile(testtools.TestCase):

    def setUp(self):
        super(TestReadRegularFile, self).setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path

    def path(self, name, data=None):
        path = os.path.join(self.dir, name)
        if data is not None:
            with open(path, 'wb') as f:
                f.write(data)
        return path

    def reason(self, path, max_bytes=16):
        return self.assertRaises(fileutil.ReadError,
                                 profiles_loader.read_regular_file, path,
                                 max_bytes).reason

    def test_size_cap(self):
        self.assertEqual(b'x' * 16, profiles_loader.read_regular_file(
            self.path('a', b'x' * 16), 16))
        self.assertEqual('larger than 16 bytes',
                         self.reason(self.path('b', b'x' * 17)))
        self.assertEqual('larger than 16 bytes',
                         self.reason(self.path('c', b'x' * 100000)))

    def test_missing(self):
        self.assertIsNone(profiles_loader.read_regular_file(
            self.path('nope'), 16))

    def test_not_regular(self):
        fifo = self.path('fifo')
        os.mkfifo(fifo)
        # refused without waiting for a writer
        self.assertEqual('not a regular file', self.reason(fifo))
        os.mkdir(self.path('dir'))
        self.assertEqual('is a directory', self.reason(self.path('dir')))
        self.assertEqual('not a regular file', self.reason('/dev/null'))

    def test_symlink_to_regular_file_is_read(self):
        os.symlink(self.path('a', b'rules: []\n'), self.path('link.yaml'))
        self.assertEqual(b'rules: []\n', profiles_loader.read_regular_file(
            self.path('link.yaml'), 16))

    def test_directory_that_is_a_file(self):
        rs = profiles_loader.load_rule_set(
            builtin=False, directory=self.path('file', b''))
        self.assertEqual(('%s: not a directory; no rule from it applies'
                          % self.path('file'),), rs.errors)

    def test_no_sysfs_reader(self):
        # /etc is configuration, not sysfs: the loader has its own reader
        import mdev_traits.profiles.loader as module
        with open(module.__file__) as f:
            source = f.read()
        self.assertNotIn('discovery', source.replace(
            'the sysfs reader of discovery', ''))
