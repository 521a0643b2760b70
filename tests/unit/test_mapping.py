import dataclasses

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


def virtual_parent(name='mtty', subsystem='mtty', type_id='mtty-2',
                   available=2):
    return models.MdevParent(
        name=name, bus='virtual', subsystem=subsystem,
        types=(models.MdevType(type_id=type_id,
                               available_instances=available,
                               device_api='vfio-pci'),))


class TestTypeSelection(testtools.TestCase):
    """nova/virt/libvirt/driver.py _get_vgpu_type_per_pgpu."""

    def test_first_type_without_addresses_is_default(self):
        cfg = config('nvidia-222', 'nvidia-231',
                     nvidia_222=['0000:3b:00.0'])
        self.assertEqual('nvidia-222', cfg.type_for_parent(t4_parent()))
        self.assertEqual('nvidia-231',
                         cfg.type_for_parent(t4_parent('0000:5e:00.0')))

    def test_no_default_when_all_pinned(self):
        cfg = config('nvidia-222', nvidia_222=['0000:3b:00.0'])
        self.assertIsNone(cfg.type_for_parent(t4_parent('0000:5e:00.0')))

    def test_nothing_enabled(self):
        self.assertIsNone(config().type_for_parent(t4_parent()))

    def test_addresses_compare_as_written(self):
        # nova compares the configured string with the address it makes
        # of libvirt's (lower-case) name
        cfg = config('nvidia-222', nvidia_222=['0000:3B:00.0'])
        self.assertIsNone(cfg.type_for_parent(t4_parent()))

    def test_virtual_parent_only_when_named(self):
        mtty = virtual_parent()
        # the default type: nova has no address for mtty_mtty
        self.assertIsNone(config('mtty-2').type_for_parent(mtty))
        # named by its libvirt node-device name
        self.assertEqual('mtty-2', config(
            'mtty-2', mtty_2=['mtty_mtty']).type_for_parent(mtty))
        # the sysfs name is not what nova reads
        self.assertIsNone(config(
            'mtty-2', mtty_2=['mtty']).type_for_parent(mtty))

    def test_parents_nova_cannot_use(self):
        ap = virtual_parent('matrix', 'matrix', 'vfio_ap-passthrough')
        ccw = virtual_parent('0.0.0313', 'css', 'vfio_ccw-io')
        mdpy = virtual_parent('mdpy', 'mdpy', 'mdpy-vga')
        for parent, libvirt in ((ap, 'ap_matrix'), (ccw, 'css_0_0_0313'),
                                (mdpy, 'mdpy_mdpy')):
            type_id = parent.types[0].type_id
            self.assertEqual(libvirt, mdev_mapping.libvirt_name(parent))
            self.assertIsNone(config(type_id).type_for_parent(parent))
            # by sysfs name; by libvirt name only for mdpy, which libvirt
            # does not list (naming ap_matrix or css_0_0_0313 refuses to
            # start: see test_service)
            pinned = mdev_mapping.MdevConfig(
                enabled_types=(type_id,),
                device_addresses=((type_id, (parent.name,) + (
                    (libvirt,) if libvirt == 'mdpy_mdpy' else ())),))
            self.assertIsNone(pinned.type_for_parent(parent), libvirt)

    def test_nova_device_address(self):
        addr = mdev_mapping.nova_device_address
        self.assertEqual('0000:3b:00.0', addr('pci_0000_3b_00_0'))
        self.assertIsNone(addr('css_0_0_0313'))
        self.assertIsNone(addr('ap_matrix'))
        self.assertIsNone(addr('mtty_mtty'))
        self.assertEqual('mtty_mtty', addr('mtty_mtty', {'mtty_mtty'}))
        # a 5-digit PCI domain (VMD) is no address for nova
        self.assertIsNone(addr('pci_10000_00_1f_7'))

    def test_requirements_pin_any_parent(self):
        ap = virtual_parent('matrix', 'matrix', 'vfio_ap-passthrough')
        cfg = mdev_mapping.MdevConfig(
            enabled_types=('vfio_ap-passthrough',),
            device_addresses=(('vfio_ap-passthrough', ('matrix',)),),
            any_parent=True)
        self.assertEqual('vfio_ap-passthrough', cfg.type_for_parent(ap))


class TestVersions(testtools.TestCase):

    def test_ascii_digits_only(self):
        parse = mdev_mapping.parse_version
        self.assertEqual((535, 129), parse('535.129.03'))
        self.assertEqual((1, 2), parse('v1.2'))
        # fullwidth and Arabic-Indic digits are digits to int(), not here
        self.assertIsNone(parse('\uff11.\uff12'))
        self.assertIsNone(parse('\u0661.\u0662'))
        self.assertIsNone(parse('garbage'))

    def test_compatible_type_traits(self):
        mtype = models.MdevType(
            type_id='x-1', compatible_type=('x-1', 'x-2'),
            compatible=(('type_x', ('2',)),))
        # COMPAT_TYPE_X_2 is also what compatible_type_x = 2 gives
        self.assertEqual({'CUSTOM_MDEV_COMPAT_TYPE_X_1'},
                         mdev_mapping.compatible_type_traits(mtype))


class TestMaxInstances(testtools.TestCase):
    """nova/virt/libvirt/driver.py _get_gpu_inventories: a limit for the
    whole host."""

    def totals(self, parents, limit, *types):
        types = types or ('nvidia-231',)
        cfg = mdev_mapping.MdevConfig(
            enabled_types=types,
            max_instances=((types[0], limit),) if limit else ())
        desired = tree.build_tree(
            models.DiscoveryResult(mdev_parents=tuple(parents)), 'cn1',
            [mdev_mapping.kind(cfg)])
        return {p.parent_device: p.inventories.get('VGPU', {}).get('total')
                for p in desired.providers}

    def gpu(self, address, available, existing=0):
        return t4_parent(address, types=(models.MdevType(
            type_id='nvidia-231', available_instances=available,
            device_api='vfio-pci',
            instances=tuple('u%d' % i for i in range(existing))),))

    def test_two_gpus_of_eight_with_a_limit_of_eight(self):
        totals = self.totals([self.gpu('0000:5e:00.0', 8),
                              self.gpu('0000:3b:00.0', 8)], 8)
        self.assertEqual({'0000:3b:00.0': 8, '0000:5e:00.0': None}, totals)

    def test_existing_mdevs_count_first(self):
        # 3 in use on the second GPU: 3 + 8 > 10, the first GPU gets none;
        # the second (3 + 4 available) fits after it is skipped
        totals = self.totals([self.gpu('0000:3b:00.0', 8),
                              self.gpu('0000:5e:00.0', 4, existing=3)], 10)
        self.assertEqual({'0000:3b:00.0': None, '0000:5e:00.0': 7}, totals)

    def test_parent_over_the_limit_loses_its_existing_mdevs_too(self):
        # 2 + 2 in use; the first GPU brings the type to 6, the second
        # would take it to 8
        totals = self.totals([self.gpu('0000:3b:00.0', 2, existing=2),
                              self.gpu('0000:5e:00.0', 2, existing=2)], 6)
        self.assertEqual({'0000:3b:00.0': 4, '0000:5e:00.0': None}, totals)

    def test_no_limit(self):
        totals = self.totals([self.gpu('0000:3b:00.0', 8),
                              self.gpu('0000:5e:00.0', 8)], None)
        self.assertEqual({'0000:3b:00.0': 8, '0000:5e:00.0': 8}, totals)


class TestContractV1(testtools.TestCase):

    def build(self, parents, cfg, complete=True, known=frozenset()):
        return tree.build_tree(
            models.DiscoveryResult(mdev_parents=tuple(parents),
                                   complete=complete),
            'cn1', [mdev_mapping.kind(cfg)], known_traits=known)

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
            max_instances=(('nvidia-222', 16),))
        inv = self.build([t4_parent()], cfg).providers[0].inventories
        self.assertEqual(16, inv['CUSTOM_T4_1B']['total'])
        # nova does not cap a parent at the limit: 16 > 5, it gets none
        cfg = dataclasses.replace(cfg, max_instances=(('nvidia-222', 5),))
        self.assertEqual({}, self.build([t4_parent()],
                                        cfg).providers[0].inventories)

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
                                   subsystem='mtty', types=(mtype,))
        prov = self.build([parent], config(
            'mtty-2', mtty_2=['mtty_mtty'])).providers[0]
        self.assertEqual('cn1_mtty_mtty', prov.name)
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
