"""Kinds of hardware as peers (mapping/kinds.py, mapping/tree.py), typed
discovery fields, and the type description parsed by discovery."""

import dataclasses

import testtools

from mdev_traits.discovery import gpu_description
from mdev_traits.discovery import mdev as mdev_discovery
from mdev_traits.discovery import vgpu_vf

from mdev_traits.mapping import desired
from mdev_traits.mapping import gpu
from mdev_traits.mapping import gpu_device_spec
from mdev_traits.mapping import gpu_rules
from mdev_traits.mapping import kinds
from mdev_traits.mapping import mdev as mdev_mapping
from mdev_traits.mapping import names
from mdev_traits.mapping import tree
from mdev_traits.mapping import vdpa
from mdev_traits import models
from mdev_traits.profiles import loader as profiles_loader
from mdev_traits.testing import sysfs_builder

T4_2Q = ('num_heads=4, frl_config=60, framebuffer=2048M, '
         'max_resolution=7680x4320, max_instance=8')
CONFIG = mdev_mapping.MdevConfig(enabled_types=('nvidia-231',))


def t4_parent(address='0000:3b:00.0', description=T4_2Q):
    return models.MdevParent(
        name=address, bus='pci',
        pci=models.PciInfo(address=address, vendor='10de', device='1eb8',
                           driver='nvidia', driver_version='535.129.03'),
        types=(gpu_description.describe_mdev_type(models.MdevType(
            type_id='nvidia-231', name='GRID T4-2Q', description=description,
            available_instances=4, device_api='vfio-pci')),))


def vdpa_device(name='vdpa0'):
    return models.VdpaDevice(
        name=name, device_type='net', mgmtdev='pci/0000:3b:00.2',
        mgmtdev_driver='mlx5_core', driver=models.VDPA_DRIVER_VHOST,
        vhost_dev='vhost-vdpa-0', max_vqs=17, max_vq_size=256,
        max_vq_pairs=8,
        pci=models.PciInfo(address='0000:3b:00.2', vendor='15b3',
                           device='101e', driver='mlx5_core'))


def widget_provider(root_name, device, traits):
    name = '%s_widget_%s' % (root_name, device)
    return desired.DesiredProvider(
        name=name, uuid=names.provider_uuid(name), parent_device=device,
        mdev_type=None, resource_class='CUSTOM_WIDGET',
        inventories={'CUSTOM_WIDGET': {'total': 1}},
        traits={t: ('widget test',) for t in traits}, kind='widget')


class TestBuildTree(testtools.TestCase):

    def test_no_kinds(self):
        found = models.DiscoveryResult(mdev_parents=(t4_parent(),),
                                       errors=('a read failed',))
        built = tree.build_tree(found, 'cn1')
        self.assertEqual((), built.providers)
        self.assertTrue(built.complete)
        self.assertEqual(frozenset(), built.incomplete)
        self.assertEqual(('a read failed',), built.warnings)
        self.assertEqual('cn1', built.root_name)
        self.assertEqual(built, tree.build_tree(found, 'cn1', []))

    def test_no_kinds_incomplete_discovery_stays_incomplete(self):
        found = models.DiscoveryResult(
            complete=False, incomplete=frozenset([models.KIND_VDPA]))
        built = tree.build_tree(found, 'cn1', ())
        self.assertFalse(built.kind_complete(models.KIND_VDPA))
        self.assertTrue(built.kind_complete(models.KIND_MDEV))

    def test_a_test_kind_works_like_the_built_in_one(self):
        # the vDPA mapping plugged in through a factory written here gives
        # the tree vdpa.kind() gives
        config = vdpa.VdpaConfig()
        found = models.DiscoveryResult(
            mdev_parents=(t4_parent(),),
            vdpa_devices=(vdpa_device('vdpa0'), vdpa_device('vdpa1')))

        def factory(discovery, root_name, warnings, known_traits):
            return vdpa.vdpa_providers(discovery, config, root_name,
                                       warnings)

        mine = kinds.HardwareKind(name=models.KIND_VDPA, providers=factory)
        built_in = tree.build_tree(
            found, 'cn1', [mdev_mapping.kind(CONFIG), vdpa.kind(config)])
        plugged = tree.build_tree(
            found, 'cn1', [mdev_mapping.kind(CONFIG), mine])
        self.assertEqual(built_in, plugged)
        self.assertEqual(['cn1_pci_0000_3b_00_0', 'cn1_vdpa_vdpa0',
                          'cn1_vdpa_vdpa1'],
                         [p.name for p in plugged.providers])

    def test_a_new_kind_gets_known_traits_enrichers_cap_and_order(self):
        seen = {}

        def factory(discovery, root_name, warnings, known_traits):
            seen['known'] = known_traits
            warnings.append('widget factory ran')
            return [widget_provider(root_name, 'b', ['CUSTOM_W_B']),
                    widget_provider(root_name, 'a',
                                    ['CUSTOM_W_A', 'not a trait'])]

        def enrich(providers, discovery, warnings):
            # an enricher sees its own kind's providers only
            seen['enriched'] = sorted(p.name for p in providers)
            return [dataclasses.replace(
                p, traits=dict(p.traits, CUSTOM_W_SEEN=('enricher',)))
                for p in providers]

        widget = kinds.HardwareKind(name='widget', providers=factory,
                                    enrichers=(enrich,))
        built = tree.build_tree(
            models.DiscoveryResult(mdev_parents=(t4_parent(),)), 'cn1',
            [mdev_mapping.kind(CONFIG), widget],
            known_traits=frozenset(['CUSTOM_MDEV_SWVER_NVIDIA_535_1']))
        self.assertEqual(frozenset(['CUSTOM_MDEV_SWVER_NVIDIA_535_1']),
                         seen['known'])
        self.assertEqual(['cn1_widget_a', 'cn1_widget_b'], seen['enriched'])
        by_name = built.by_name()
        # sorted by name whatever the factory's order
        self.assertEqual(['cn1_pci_0000_3b_00_0', 'cn1_widget_a',
                          'cn1_widget_b'], [p.name for p in built.providers])
        # the invalid name is left out, like any kind's (cap_provider)
        self.assertEqual({'CUSTOM_W_A', 'CUSTOM_W_SEEN'},
                         set(by_name['cn1_widget_a'].traits))
        self.assertNotIn('CUSTOM_W_SEEN',
                         by_name['cn1_pci_0000_3b_00_0'].traits)
        self.assertIn('widget factory ran', built.warnings)
        self.assertTrue(any('cn1_widget_a' in w and 'invalid' in w
                            for w in built.warnings), built.warnings)
        self.assertTrue(built.complete)

    def test_a_new_kinds_factory_raising_holds_every_kind(self):
        def factory(discovery, root_name, warnings, known_traits):
            raise RuntimeError('widget broke')

        built = tree.build_tree(
            models.DiscoveryResult(mdev_parents=(t4_parent(),)), 'cn1',
            [mdev_mapping.kind(CONFIG),
             kinds.HardwareKind(name='widget', providers=factory)])
        self.assertEqual(['cn1_pci_0000_3b_00_0'],
                         [p.name for p in built.providers])
        self.assertFalse(built.complete)
        for kind in models.ALL_KINDS | {'widget'}:
            self.assertFalse(built.kind_complete(kind), kind)
        self.assertTrue(any('widget providers' in w and 'widget broke' in w
                            for w in built.warnings), built.warnings)

    def test_the_mdev_factory_is_no_special_case(self):
        # before, the mdev mapping was called outside the loop over the
        # other kinds and its failure stopped the whole tree
        def broken(discovery, root_name, warnings, known_traits):
            raise ValueError('mdev broke')

        built = tree.build_tree(
            models.DiscoveryResult(vdpa_devices=(vdpa_device(),)), 'cn1',
            [kinds.HardwareKind(name=models.KIND_MDEV, providers=broken),
             vdpa.kind(vdpa.VdpaConfig())])
        self.assertEqual(['cn1_vdpa_vdpa0'],
                         [p.name for p in built.providers])
        self.assertFalse(built.kind_complete(models.KIND_MDEV))

    def test_an_enricher_raising_makes_every_provider_partial(self):
        def enrich(providers, discovery, warnings):
            raise RuntimeError('rules broke')

        built = tree.build_tree(
            models.DiscoveryResult(mdev_parents=(t4_parent(),),
                                   vdpa_devices=(vdpa_device(),)),
            'cn1', [mdev_mapping.kind(CONFIG, [enrich]),
                    vdpa.kind(vdpa.VdpaConfig())])
        self.assertEqual(2, len(built.providers))
        self.assertTrue(all(p.partial for p in built.providers))
        self.assertTrue(built.complete)

    def test_a_kind_without_a_factory_adds_nothing(self):
        found = models.DiscoveryResult(mdev_parents=(t4_parent(),))
        rules, _errors = profiles_loader.load_builtin()
        pci_gpus = gpu_device_spec.kind(gpu_rules.RuleSet(builtin=rules))
        self.assertIsNone(pci_gpus.providers)
        self.assertEqual(models.KIND_GPU, pci_gpus.name)
        self.assertEqual(
            tree.build_tree(found, 'cn1', [mdev_mapping.kind(CONFIG)]),
            tree.build_tree(found, 'cn1',
                            [mdev_mapping.kind(CONFIG), pci_gpus]))


class TestPciGpuKind(testtools.TestCase):

    def test_device_spec_entries_through_the_kind(self):
        fake = self.useFixture(sysfs_builder.FakeSysfs(sample='gpu-host-4'))
        found = vgpu_vf.VgpuVfCollector(fake.root).collect()
        rules, _errors = profiles_loader.load_builtin()
        rule_set = gpu_rules.RuleSet(builtin=rules)
        warnings = []
        entries = gpu_device_spec.kind(rule_set).device_spec(found, warnings)
        self.assertEqual(
            gpu_device_spec.device_spec_entries(found, rule_set, []),
            entries)
        self.assertEqual([], warnings)
        vf = {e.address: e for e in entries}['0000:41:00.4']
        # the framebuffer from the VF's type name, as discovery parsed it
        self.assertIn('CUSTOM_VGPU_FRAMEBUFFER_MB_16384', vf.traits)
        self.assertEqual(
            ("framebuffer_mb=18432 from vGPU type name "
             "'NVIDIA H200X-1-18C'",),
            vf.traits['CUSTOM_VGPU_FRAMEBUFFER_MB_16384'])


class TestTypedDiscovery(testtools.TestCase):

    def test_merge_keeps_each_field_typed(self):
        info = models.GpuInfo(address='0000:41:00.0', source='nvml')
        vf = models.PciGpu(pci=models.PciInfo(address='0000:41:00.4'),
                           mode=models.GPU_MODE_VGPU_VF,
                           physfn='0000:41:00.0')
        whole = models.PciGpu(pci=models.PciInfo(address='0000:c1:00.0'),
                              mode=models.GPU_MODE_PASSTHROUGH)
        device = vdpa_device()
        merged = models.merge_results([
            models.DiscoveryResult(gpu_infos=(info,)),
            models.DiscoveryResult(pci_gpus=(vf,)),
            models.DiscoveryResult(vdpa_devices=(device,),
                                   pci_gpus=(whole,)),
            models.DiscoveryResult(mdev_parents=(t4_parent(),))])
        self.assertEqual((info,), merged.gpu_infos)
        self.assertEqual((vf, whole), merged.pci_gpus)
        self.assertEqual((device,), merged.vdpa_devices)
        self.assertEqual(1, len(merged.mdev_parents))
        self.assertTrue(all(isinstance(g, models.GpuInfo)
                            for g in merged.gpu_infos))
        self.assertTrue(all(isinstance(g, models.PciGpu)
                            for g in merged.pci_gpus))
        self.assertFalse(hasattr(merged, 'gpus'))


class TestDescriptionInDiscovery(testtools.TestCase):

    def test_collector_parses_the_description(self):
        fake = self.useFixture(sysfs_builder.FakeSysfs())
        fake.builder.add_pci_mdev_parent(
            '0000:3b:00.0', vendor='10de', device='1eb8', driver='nvidia',
            driver_version='535.129.03', types={'nvidia-231': dict(
                name='GRID T4-2Q', available_instances=4,
                device_api='vfio-pci',
                description='num_heads=\u00b2, framebuffer=2048M, '
                            'max_resolution=5120x2880')})
        (parent,) = mdev_discovery.MdevCollector(
            fake.root).collect().mdev_parents
        fields = parent.types[0].description_fields
        self.assertEqual(models.TypeDescription(
            display_heads=None, max_resolution=(5120, 2880),
            framebuffer_mb=2048, name_framebuffer_mb=2048,
            problems=("num_heads='\u00b2' is not understood",)), fields)

    def test_gvt_g_and_nothing(self):
        self.assertEqual(
            models.TypeDescription(max_resolution=(1920, 1200),
                                   framebuffer_mb=640),
            gpu_description.type_description(
                'low_gm_size: 128MB\nhigh_gm_size: 512MB\nfence: 4\n'
                'resolution: 1920x1200\nweight: 4', 'GVTg_V5_4'))
        self.assertEqual(models.TypeDescription(),
                         gpu_description.type_description(None, None))

    def test_mapping_reads_the_typed_fields_not_the_text(self):
        rules, _errors = profiles_loader.load_builtin()
        enrich = gpu.make_enricher(gpu_rules.RuleSet(builtin=rules))
        parsed = t4_parent()
        # the same text, not parsed by discovery: nothing from it
        unparsed = t4_parent()
        unparsed = dataclasses.replace(unparsed, types=(dataclasses.replace(
            unparsed.types[0],
            description_fields=models.TypeDescription()),))

        def traits(parent):
            built = tree.build_tree(
                models.DiscoveryResult(mdev_parents=(parent,)), 'cn1',
                [mdev_mapping.kind(CONFIG, [enrich])])
            return built.providers[0].traits

        self.assertIn('HW_GPU_MAX_DISPLAY_HEADS_4', traits(parsed))
        self.assertIn('HW_GPU_RESOLUTION_W7680H4320', traits(parsed))
        self.assertNotIn('HW_GPU_MAX_DISPLAY_HEADS_4', traits(unparsed))
        self.assertNotIn('HW_GPU_RESOLUTION_W7680H4320', traits(unparsed))
