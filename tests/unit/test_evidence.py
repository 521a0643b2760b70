"""Evidence before withdrawal and bounded output (issue 9, items 4 and 10),
the pure and discovery parts; the end-to-end cases against Placement are
in tests/functional/test_evidence.py."""

import os
import time

import fixtures
import testtools

from mdev_traits.discovery import base as discovery_base
from mdev_traits.discovery import mdev as mdev_discovery
from mdev_traits.discovery import pci
from mdev_traits.discovery import root
from mdev_traits.mapping import collect
from mdev_traits.mapping import gpu
from mdev_traits.mapping import gpu_description
from mdev_traits.mapping import gpu_rules
from mdev_traits.mapping import mdev as mdev_mapping
from mdev_traits.mapping import names
from mdev_traits.mapping import tree as tree_mod
from mdev_traits import models
from mdev_traits.testing import sysfs_builder
from mdev_traits.profiles import parser as profiles_parser

T4 = dict(vendor='10de', device='1eb8', driver='nvidia')
DESC = ('num_heads=4, frl_config=60, framebuffer=2048M, '
        'max_resolution=7680x4320, max_instance=8')


def _parent(name='0000:3b:00.0', version='535.129.03', **type_kw):
    attrs = dict(type_id='nvidia-231', name='GRID T4-2Q', description=DESC,
                 available_instances=4, device_api='vfio-pci')
    attrs.update(type_kw)
    return models.MdevParent(
        name=name, bus='pci',
        pci=models.PciInfo(address=name, vendor='10de', device='1eb8',
                           driver='nvidia', driver_version=version),
        types=(models.MdevType(**attrs),))


CONFIG = mdev_mapping.MdevConfig(enabled_types=('nvidia-231',))


class ParseDigitsTestCase(testtools.TestCase):
    """What the hardware says is parsed with ASCII digits, per field."""

    def test_superscript_heads_costs_that_field_only(self):
        facts, problems = gpu_description.parse_description(
            'num_heads=\u00b2, framebuffer=2048M, max_resolution=5120x2880')
        self.assertNotIn('display_heads', facts)
        self.assertEqual(2048, facts['framebuffer_mb'])
        self.assertEqual('5120x2880', facts['max_resolution'])
        self.assertEqual(1, len(problems))
        self.assertIn('num_heads', problems[0])

    def test_other_scripts_digits_are_not_numbers(self):
        # Arabic-Indic digits: int() would take them, sysfs never writes
        facts, problems = gpu_description.parse_description(
            'num_heads=\u0664, framebuffer=\u0662\u0660M, '
            'max_resolution=\u0661x\u0661')
        self.assertEqual({}, facts)
        self.assertEqual(3, len(problems))

    def test_huge_numbers_do_not_raise(self):
        # int() refuses more than sys.int_max_str_digits digits
        digits = '9' * 5000
        facts, problems = gpu_description.parse_description(
            'num_heads=%s, framebuffer=%sM, max_resolution=%sx2' % (
                digits, digits, digits))
        self.assertEqual({}, facts)
        self.assertEqual(3, len(problems))
        self.assertIsNone(mdev_mapping.parse_version('1.%s' % digits))
        self.assertIsNone(mdev_mapping.parse_version('\u0661.\u0662'))
        self.assertIsNone(
            gpu_description.type_name_framebuffer_mb('T4-\u00b2Q'))

    def test_whole_host_still_maps(self):
        bad = _parent(description='num_heads=\u00b2, framebuffer=2048M')
        good = _parent(name='0000:5e:00.0')
        found = models.DiscoveryResult(mdev_parents=(bad, good))
        tree = tree_mod.build_tree(
            found, CONFIG, 'host',
            enrichers=[gpu.make_enricher(gpu_rules.RuleSet())])
        by_name = tree.by_name()
        bad_p = by_name['host_pci_0000_3b_00_0']
        self.assertIn('CUSTOM_MDEV_TYPE_NVIDIA_231', bad_p.traits)
        self.assertIn('CUSTOM_VGPU_FRAMEBUFFER_MB_2048', bad_p.traits)
        self.assertNotIn('HW_GPU_MAX_DISPLAY_HEADS_1', bad_p.traits)
        # what it had is kept: add-only this cycle
        self.assertTrue(bad_p.partial)
        self.assertFalse(by_name['host_pci_0000_5e_00_0'].partial)
        self.assertIn('HW_GPU_MAX_DISPLAY_HEADS_4',
                      by_name['host_pci_0000_5e_00_0'].traits)
        self.assertTrue(any('num_heads' in w for w in tree.warnings))


class CapTestCase(testtools.TestCase):

    def test_date_like_minor_is_bounded_and_fast(self):
        warnings = []
        started = time.monotonic()
        traits = mdev_mapping.type_traits(
            _parent(version='1.20240101.3'), _parent().types[0], warnings)
        # not a timing assertion: 20 million iterations would take
        # minutes; this only records that the loop stopped early
        self.assertLess(time.monotonic() - started, 60)
        # trait contract v2: a minor above versions.MAX_MINOR publishes its
        # own bucket only, with a warning
        swver = [t for t in traits if t.startswith('CUSTOM_MDEV_SWVER_')]
        self.assertEqual(['CUSTOM_MDEV_SWVER_NVIDIA_1_20240101'], swver)
        self.assertIn('CUSTOM_MDEV_TYPE_NVIDIA_231', traits)
        self.assertTrue(any('1.20240101' in w and 'only its own bucket' in w
                            for w in warnings), warnings)

    def test_collector_bounds_each_source(self):
        c = collect.TraitCollector(per_source=3)
        results = [c.add_exact('CUSTOM_A_%d' % i, 'a') for i in range(5)]
        self.assertEqual([True, True, True, False, False], results)
        self.assertTrue(c.add_exact('CUSTOM_B', 'b'))
        # a name already held takes one more source whatever the count
        self.assertTrue(c.add_exact('CUSTOM_A_0', 'a'))
        self.assertEqual(['a'], c.truncated())
        self.assertEqual(4, len(c.result()))

    def test_cap_takes_sources_in_turn(self):
        traits = {'CUSTOM_V_%03d' % i: ('versions',) for i in range(300)}
        traits['CUSTOM_TYPE'] = ('enabled type',)
        traits['CUSTOM_GOLD'] = ('operator rule',)
        kept, invalid, over = collect.cap_traits(traits)
        self.assertEqual(collect.MAX_TRAITS_PER_PROVIDER, len(kept))
        self.assertEqual([], invalid)
        self.assertEqual(302 - collect.MAX_TRAITS_PER_PROVIDER, over)
        self.assertIn('CUSTOM_TYPE', kept)
        self.assertIn('CUSTOM_GOLD', kept)
        self.assertIn('CUSTOM_V_000', kept)
        self.assertNotIn('CUSTOM_V_299', kept)
        # deterministic, whatever the input order
        again = dict(reversed(list(traits.items())))
        self.assertEqual(kept, collect.cap_traits(again)[0])

    def test_cap_drops_invalid_names(self):
        traits = {'CUSTOM_OK': ('a',), 'CUSTOM_' + 'X' * 300: ('a',),
                  'custom_lower': ('a',), 'NOT_A_STANDARD_TRAIT': ('a',),
                  'HW_GPU_API_VULKAN': ('a',)}
        kept, invalid, over = collect.cap_traits(traits)
        self.assertEqual({'CUSTOM_OK', 'HW_GPU_API_VULKAN'}, set(kept))
        self.assertEqual(3, len(invalid))
        self.assertEqual(0, over)

    def test_tree_caps_every_provider(self):
        many = ','.join('v%d' % i for i in range(2000))
        parent = _parent(compatible=(('x', tuple(many.split(','))),))
        found = models.DiscoveryResult(mdev_parents=(parent,))
        tree = tree_mod.build_tree(found, CONFIG, 'host')
        (provider,) = tree.providers
        self.assertLessEqual(len(provider.traits),
                             collect.MAX_TRAITS_PER_PROVIDER)
        self.assertIn('CUSTOM_MDEV_TYPE_NVIDIA_231', provider.traits)
        for trait in provider.traits:
            self.assertTrue(names.is_valid_trait(trait), trait)
        self.assertTrue(any('host_pci_0000_3b_00_0' in w and 'left out' in w
                            for w in tree.warnings), tree.warnings)


class MappingFailureTestCase(testtools.TestCase):

    def test_one_parent_raising_is_partial_others_published(self):
        real = mdev_mapping.type_traits

        def type_traits(parent, mdev_type, warnings, *args):
            if parent.name == '0000:3b:00.0':
                raise ValueError('boom')
            return real(parent, mdev_type, warnings, *args)

        self.useFixture(fixtures.MockPatchObject(
            mdev_mapping, 'type_traits', type_traits))
        found = models.DiscoveryResult(mdev_parents=(
            _parent(), _parent(name='0000:5e:00.0')))
        tree = tree_mod.build_tree(found, CONFIG, 'host')
        broken = tree.by_name()['host_pci_0000_3b_00_0']
        fine = tree.by_name()['host_pci_0000_5e_00_0']
        self.assertTrue(broken.partial)
        self.assertEqual({}, broken.inventories)
        self.assertFalse(fine.partial)
        self.assertIn('CUSTOM_MDEV_TYPE_NVIDIA_231', fine.traits)
        self.assertTrue(tree.complete)
        self.assertTrue(any('boom' in w and 'host_pci_0000_3b_00_0' in w
                            for w in tree.warnings))

    def test_enricher_raising_on_one_provider(self):
        real = gpu.resolve

        def resolve(target, *args, **kw):
            if target.address == '0000:3b:00.0':
                raise KeyError('bad')
            return real(target, *args, **kw)

        self.useFixture(fixtures.MockPatchObject(gpu, 'resolve', resolve))
        found = models.DiscoveryResult(mdev_parents=(
            _parent(), _parent(name='0000:5e:00.0')))
        tree = tree_mod.build_tree(
            found, CONFIG, 'host',
            enrichers=[gpu.make_enricher(gpu_rules.RuleSet())])
        broken = tree.by_name()['host_pci_0000_3b_00_0']
        fine = tree.by_name()['host_pci_0000_5e_00_0']
        self.assertTrue(broken.partial)
        self.assertIn('CUSTOM_MDEV_TYPE_NVIDIA_231', broken.traits)
        self.assertFalse(fine.partial)
        self.assertIn('HW_GPU_MAX_DISPLAY_HEADS_4', fine.traits)

    def test_factory_raising_keeps_vanished_providers(self):
        def factory(discovery, root_name, warnings):
            raise RuntimeError('vdpa broke')

        found = models.DiscoveryResult(mdev_parents=(_parent(),))
        tree = tree_mod.build_tree(found, CONFIG, 'host',
                                   extra_providers=[factory])
        self.assertFalse(tree.complete)
        self.assertFalse(tree.kind_complete(models.KIND_VDPA))
        self.assertFalse(tree.kind_complete(models.KIND_MDEV))
        self.assertEqual(1, len(tree.providers))

    def test_whole_enricher_raising_makes_every_provider_partial(self):
        def enrich(providers, discovery, warnings):
            raise RuntimeError('rules broke')

        found = models.DiscoveryResult(mdev_parents=(_parent(),))
        tree = tree_mod.build_tree(found, CONFIG, 'host', enrichers=[enrich])
        self.assertTrue(all(p.partial for p in tree.providers))

    def test_untrusted_discovery_makes_every_provider_partial(self):
        found = models.merge_results([
            models.DiscoveryResult(mdev_parents=(_parent(),)),
            discovery_base.untrusted('[exporter] sysfs_root = /x ...')])
        self.assertFalse(found.trusted)
        tree = tree_mod.build_tree(found, CONFIG, 'host')
        self.assertFalse(tree.complete)
        self.assertTrue(all(p.partial for p in tree.providers))
        for kind in models.ALL_KINDS:
            self.assertFalse(tree.kind_complete(kind))


class RuleFilesTestCase(testtools.TestCase):

    def test_reserved_prefix_is_a_validation_error(self):
        for trait in ('CUSTOM_MDEV_TYPE_NVIDIA_231', 'CUSTOM_PCI_VENDOR_10DE',
                      'CUSTOM_VDPA_TYPE_NET', 'CUSTOM_VIRTIO_NET_F_MQ'):
            text = ('rules:\n  - name: sneaky\n    match: {}\n'
                    '    traits: [%s]\n' % trait)
            exc = self.assertRaises(profiles_parser.ProfileError,
                                    profiles_parser.parse_text, text,
                                    '/etc/p.d/10-site.yaml', operator=True)
            self.assertEqual('sneaky', exc.rule)
            self.assertIn('/etc/p.d/10-site.yaml', str(exc))
            self.assertIn('rule sneaky', str(exc))
            self.assertIn('reserved', str(exc))
            self.assertEqual(1, len(str(exc).splitlines()))

    def test_unloadable_rule_file_makes_enriched_providers_partial(self):
        rule_set = gpu_rules.RuleSet(errors=(
            '/etc/p.d/10-site.yaml: not valid YAML at line 3: x; the file '
            'is skipped',))
        found = models.DiscoveryResult(mdev_parents=(_parent(),))
        tree = tree_mod.build_tree(found, CONFIG, 'host',
                                   enrichers=[gpu.make_enricher(rule_set)])
        (provider,) = tree.providers
        self.assertTrue(provider.partial)
        self.assertIn('HW_GPU_MAX_DISPLAY_HEADS_4', provider.traits)
        self.assertEqual(1, sum('10-site.yaml' in w for w in tree.warnings))


class RootTestCase(testtools.TestCase):

    def setUp(self):
        super(RootTestCase, self).setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def mountinfo(self, lines):
        path = os.path.join(self.tmp, 'mountinfo')
        with open(path, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        return path

    def test_layout(self):
        tree = os.path.join(self.tmp, 'sys')
        mounts = self.mountinfo(['1 0 8:1 / / rw - ext4 /dev/sda1 rw'])
        self.assertIn('is not a directory', root.check(tree, mounts))
        os.makedirs(os.path.join(tree, 'devices'))
        self.assertIn('no bus/', root.check(tree, mounts))
        os.makedirs(os.path.join(tree, 'bus'))
        self.assertIsNone(root.check(tree, mounts))
        # the builder makes what every kernel has
        empty = os.path.join(self.tmp, 'empty')
        sysfs_builder.SysfsBuilder(empty)
        self.assertIsNone(root.check(empty, mounts))

    def test_real_sys_must_be_sysfs(self):
        if not (os.path.isdir('/sys/devices') and os.path.isdir('/sys/bus')):
            self.skipTest('no /sys on this host')
        not_sysfs = self.mountinfo([
            '1 0 8:1 / / rw - ext4 /dev/sda1 rw',
            '2 1 0:5 / /sys rw,nosuid - tmpfs tmpfs rw'])
        self.assertIn('tmpfs file system, not sysfs',
                      root.check('/sys', not_sysfs))
        sysfs = self.mountinfo([
            '1 0 8:1 / / rw - ext4 /dev/sda1 rw',
            '22 1 0:21 / /sys rw,nosuid shared:7 - sysfs sysfs rw'])
        self.assertIsNone(root.check('/sys', sysfs))
        # unreadable mount table: the layout alone counts
        self.assertIsNone(root.check('/sys', os.path.join(self.tmp, 'no')))

    def test_parse_mountinfo(self):
        text = ('36 35 98:0 /mnt1 /mnt\\040two rw,noatime master:1 - ext3 '
                '/dev/root rw,errors=continue\n'
                '22 1 0:21 / /sys rw shared:7 - sysfs sysfs rw\n'
                'garbage\n')
        self.assertEqual([('/mnt two', 'ext3'), ('/sys', 'sysfs')],
                         root.parse_mountinfo(text))
        self.assertEqual('sysfs', root.fs_type('/sys/bus', text))
        self.assertIsNone(root.fs_type('/srv', text))

    def test_root_error_names_the_option(self):
        error = discovery_base.root_error(os.path.join(self.tmp, 'sy'))
        self.assertTrue(error.startswith('[exporter] sysfs_root = '))
        self.assertEqual(1, len(error.splitlines()))
        result = discovery_base.discover([], os.path.join(self.tmp, 'sy'))
        self.assertFalse(result.trusted)
        self.assertEqual((error,), result.errors)


class DamagedSysfsTestCase(testtools.TestCase):

    def setUp(self):
        super(DamagedSysfsTestCase, self).setUp()
        self.root = os.path.join(self.useFixture(fixtures.TempDir()).path,
                                 'sys')
        self.builder = sysfs_builder.SysfsBuilder(self.root)
        self.builder.add_pci_mdev_parent(
            '0000:3b:00.0', driver_version='535.129.03', types={
                'nvidia-231': dict(name='GRID T4-2Q', description=DESC,
                                   available_instances=4,
                                   device_api='vfio-pci')}, **T4)

    def test_invalid_driver_version_costs_the_version_only(self):
        self.builder.write('module/nvidia/version', b'\xff\xfe535\n')
        info = pci.read_pci_info(
            self.root, os.path.realpath(os.path.join(
                self.root, 'bus/pci/devices/0000:3b:00.0')), '0000:3b:00.0')
        self.assertIsNone(info.driver_version)
        self.assertIn('not valid UTF-8', info.driver_version_error)
        self.assertEqual('10de', info.vendor)
        found = mdev_discovery.MdevCollector(self.root).collect()
        (parent,) = found.mdev_parents
        self.assertTrue(parent.partial)
        self.assertTrue(found.complete)
        self.assertEqual(('nvidia-231',), tuple(
            t.type_id for t in parent.types))
        traits = tree_mod.build_tree(found, CONFIG, 'h').providers[0].traits
        self.assertIn('CUSTOM_MDEV_TYPE_NVIDIA_231', traits)
        self.assertFalse(any(t.startswith('CUSTOM_MDEV_SWVER_')
                             for t in traits))

    def test_damaged_type_still_offered(self):
        self.builder.set_type_attr('0000:3b:00.0', 'nvidia-231',
                                   'available_instances', b'lots\n')
        found = mdev_discovery.MdevCollector(self.root).collect()
        (parent,) = found.mdev_parents
        self.assertEqual((), parent.types)
        self.assertEqual(('nvidia-231',), parent.damaged_type_ids)
        self.assertIn('nvidia-231', parent.type_ids)
        self.assertTrue(parent.partial)
