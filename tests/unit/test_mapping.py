import testtools

from mdev_traits import models
from mdev_traits.mapping import mdev as mdev_mapping
from mdev_traits.mapping import tree


def t4_parent(address='0000:3b:00.0', driver_version='535.129.03',
              types=None, partial=False):
    if types is None:
        types = (
            models.MdevType(type_id='nvidia-222', name='GRID T4-1B',
                            available_instances=16, device_api='vfio-pci'),
            models.MdevType(type_id='nvidia-231', name='GRID T4-4Q',
                            available_instances=3, device_api='vfio-pci',
                            instances=('a-uuid',)),
        )
    return models.MdevParent(
        name=address, bus='pci',
        pci=models.PciInfo(address=address, vendor='10de', device='1eb8',
                           driver='nvidia', driver_version=driver_version,
                           numa_node=0),
        types=types, partial=partial)


def config(*types, **addresses):
    return mdev_mapping.MdevConfig(
        enabled_types=tuple(types),
        device_addresses=tuple(
            (t.replace('_', '-'), tuple(a)) for t, a in addresses.items()))


class TestTypeSelection(testtools.TestCase):

    def test_first_type_without_addresses_is_default(self):
        cfg = config('nvidia-222', 'nvidia-231',
                     nvidia_222=['0000:3b:00.0'])
        self.assertEqual('nvidia-222', cfg.type_for_parent('0000:3b:00.0'))
        self.assertEqual('nvidia-231', cfg.type_for_parent('0000:5e:00.0'))

    def test_no_default_when_all_pinned(self):
        cfg = config('nvidia-222', nvidia_222=['0000:3b:00.0'])
        self.assertIsNone(cfg.type_for_parent('0000:5e:00.0'))

    def test_nothing_enabled(self):
        self.assertIsNone(config().type_for_parent('0000:3b:00.0'))


class TestContractV1(testtools.TestCase):

    def build(self, parents, cfg, complete=True, known=frozenset()):
        return tree.build_tree(
            models.DiscoveryResult(mdev_parents=tuple(parents),
                                   complete=complete),
            cfg, 'cn1', known_traits=known)

    def test_trait_contract(self):
        desired = self.build([t4_parent()], config('nvidia-231'))
        (prov,) = desired.providers
        self.assertEqual('cn1_pci_0000_3b_00_0', prov.name)
        traits = prov.trait_names
        for expected in ('CUSTOM_MDEV_TYPE_NVIDIA_231',
                         'CUSTOM_MDEV_DEVICE_API_VFIO_PCI',
                         'CUSTOM_PCI_VENDOR_10DE',
                         'CUSTOM_PCI_DEVICE_10DE_1EB8',
                         'CUSTOM_MDEV_SWVER_NVIDIA_535_129'):
            self.assertIn(expected, traits)
        self.assertNotIn('CUSTOM_MDEV_SWVER_NVIDIA_535_130', traits)
        self.assertNotIn('CUSTOM_MDEV_TYPE_NVIDIA_222', traits)
        # v2: its own bucket only, when Placement knows no lower one
        swver = [t for t in traits if t.startswith('CUSTOM_MDEV_SWVER_')]
        self.assertEqual(['CUSTOM_MDEV_SWVER_NVIDIA_535_129'], swver)
        # every trait says where it came from
        for trait, sources in prov.traits.items():
            self.assertTrue(sources, trait)

    def test_inventory(self):
        desired = self.build([t4_parent()], config('nvidia-231'))
        inv = desired.providers[0].inventories
        self.assertEqual({'VGPU'}, set(inv))
        # 3 available + 1 existing instance
        self.assertEqual(4, inv['VGPU']['total'])
        self.assertEqual(4, inv['VGPU']['max_unit'])

    def test_mdev_class_and_max_instances(self):
        cfg = mdev_mapping.MdevConfig(
            enabled_types=('nvidia-222',),
            mdev_classes=(('nvidia-222', 'CUSTOM_T4_1B'),),
            max_instances=(('nvidia-222', 5),))
        inv = self.build([t4_parent()], cfg).providers[0].inventories
        self.assertEqual(5, inv['CUSTOM_T4_1B']['total'])

    def test_zero_total_gets_no_inventory(self):
        types = (models.MdevType(type_id='nvidia-231', available_instances=0,
                                 device_api='vfio-pci'),)
        prov = self.build([t4_parent(types=types)],
                          config('nvidia-231')).providers[0]
        self.assertEqual({}, prov.inventories)
        self.assertIn('CUSTOM_MDEV_TYPE_NVIDIA_231', prov.trait_names)

    def test_type_not_on_parent_adds_nothing(self):
        prov = self.build([t4_parent()], config('nvidia-999')).providers[0]
        self.assertEqual({}, prov.traits)
        self.assertEqual({}, prov.inventories)
        self.assertIsNone(prov.mdev_type)

    def test_software_version_wins_and_compat(self):
        mtype = models.MdevType(
            type_id='i915-GVTg_V5_4', available_instances=2,
            device_api='vfio-pci', software_version='1.2.0',
            compatible=(('pci_ids', ('8086:4940', '8086:4941')),),
            compatible_type=('i915-GVTg_V5_4',),
            dynamic_resources=('aggregator',))
        parent = models.MdevParent(
            name='0000:00:02.0', bus='pci',
            pci=models.PciInfo(address='0000:00:02.0', vendor='8086',
                               device='4940', driver='i915',
                               driver_version='9.9.9'),
            types=(mtype,))
        traits = self.build([parent],
                            config('i915-GVTg_V5_4')).providers[0].traits
        self.assertNotIn('CUSTOM_MDEV_SWVER_I915_1_0', traits)
        self.assertIn('CUSTOM_MDEV_SWVER_I915_1_2', traits)
        self.assertNotIn('CUSTOM_MDEV_SWVER_I915_9_0', traits)
        self.assertIn('CUSTOM_MDEV_COMPAT_PCI_IDS_8086_4940', traits)
        self.assertIn('CUSTOM_MDEV_COMPAT_PCI_IDS_8086_4941', traits)
        self.assertIn('CUSTOM_MDEV_COMPAT_TYPE_I915_GVTG_V5_4', traits)
        # dynamic_resources are per-instance settings, not traits
        self.assertFalse([t for t in traits if 'AGGREGATOR' in t])

    def test_non_pci_parent_uses_type_prefix_as_driver(self):
        mtype = models.MdevType(type_id='mtty-2', available_instances=2,
                                device_api='vfio-pci',
                                software_version='2.1')
        parent = models.MdevParent(name='mtty', bus='virtual',
                                   types=(mtype,))
        prov = self.build([parent], config('mtty-2')).providers[0]
        self.assertEqual('cn1_mtty', prov.name)
        self.assertIn('CUSTOM_MDEV_SWVER_MTTY_2_1', prov.trait_names)
        self.assertFalse([t for t in prov.trait_names
                          if t.startswith('CUSTOM_PCI_')])

    def test_garbage_version_warns(self):
        desired = self.build([t4_parent(driver_version='garbage')],
                             config('nvidia-231'))
        self.assertTrue(any('garbage' in w for w in desired.warnings))
        self.assertFalse([t for t in desired.providers[0].trait_names
                          if 'SWVER' in t])

    def test_superset_semantics_of_swver(self):
        """A workload at 535.104 requires ..._535_104: once the trait
        exists in Placement, a host at 535.129 has it, a host at 535.54
        and one at 550.x do not."""
        need = 'CUSTOM_MDEV_SWVER_NVIDIA_535_104'
        known = frozenset([need, 'CUSTOM_MDEV_SWVER_NVIDIA_535_54',
                           'CUSTOM_MDEV_SWVER_NVIDIA_550_127'])

        def traits(version):
            return self.build([t4_parent(driver_version=version)],
                              config('nvidia-231'),
                              known=known).providers[0].trait_names
        self.assertIn(need, traits('535.129.03'))
        self.assertIn('CUSTOM_MDEV_SWVER_NVIDIA_535_54',
                      traits('535.129.03'))
        self.assertIn(need, traits('535.104.05'))
        self.assertNotIn(need, traits('535.54.03'))
        self.assertNotIn(need, traits('550.127.05'))

    def test_deterministic_and_complete_flag(self):
        parents = [t4_parent('0000:5e:00.0'), t4_parent('0000:3b:00.0')]
        a = self.build(parents, config('nvidia-231'), complete=False)
        b = self.build(list(reversed(parents)), config('nvidia-231'),
                       complete=False)
        self.assertEqual(a.to_dict(), b.to_dict())
        self.assertFalse(a.complete)
        self.assertEqual(['cn1_pci_0000_3b_00_0', 'cn1_pci_0000_5e_00_0'],
                         [p.name for p in a.providers])
