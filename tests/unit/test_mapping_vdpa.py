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

import fixtures
import os_traits
import testtools

from mdev_traits.cmd import exporter as exporter_cmd
from mdev_traits.conf import check as conf_check
from mdev_traits.conf import settings as settings_mod
from mdev_traits.mapping import contract
from mdev_traits.mapping import mdev as mdev_mapping
from mdev_traits.mapping import names
from mdev_traits.mapping import tree
from mdev_traits.mapping import vdpa
from mdev_traits.mapping import vdpa_data
from mdev_traits import models
from mdev_traits.placement import plan
from mdev_traits.placement import record

# the device's own features as read over netlink (VDPA_ATTR_DEV_FEATURES
# of an mlx5 VF device created without device_features: mlx5_vnet.c
# get_supported_features less MRG_RXBUF): CSUM GUEST_CSUM MTU MAC HOST_TSO4
# HOST_TSO6 STATUS CTRL_VQ CTRL_VLAN MQ CTRL_MAC_ADDR VERSION_1
# ACCESS_PLATFORM
MLX5_FEATURES = tuple('bit_%d' % b for b in (0, 1, 3, 5, 11, 12, 16, 17, 19,
                                             22, 23, 32, 33))
MLX5_SOURCE = 'netlink VDPA_CMD_DEV_CONFIG_GET vdpa0: VDPA_ATTR_DEV_FEATURES'


def mlx5_device(name='vdpa0', pairs=8, **kw):
    attrs = dict(
        name=name, device_type='net', mgmtdev='pci/0000:3b:00.2',
        mgmtdev_driver='mlx5_core', driver='vhost_vdpa',
        vhost_dev='vhost-vdpa-0', vendor_id=5555, max_vqs=2 * pairs + 1,
        max_vq_size=256, max_vq_pairs=pairs, mtu=1500,
        supported_features=MLX5_FEATURES, features_source=MLX5_SOURCE,
        parent='0000:3b:00.2',
        pci=models.PciInfo(address='0000:3b:00.2', vendor='15b3',
                           device='101e', driver='mlx5_core', numa_node=0),
        physfn='0000:3b:00.0', pf_netdevs=('ens1f0np0',))
    attrs.update(kw)
    return models.VdpaDevice(**attrs)


def build(devices, config=None, complete=True, incomplete=()):
    found = models.DiscoveryResult(vdpa_devices=tuple(devices),
                                   complete=complete,
                                   incomplete=frozenset(incomplete))
    return tree.build_tree(
        found, 'cn1', [mdev_mapping.kind(mdev_mapping.MdevConfig()),
                       vdpa.kind(config or vdpa.VdpaConfig())])


class TestLevels(testtools.TestCase):

    def test_levels(self):
        self.assertEqual([1, 2, 4, 8], vdpa.levels(8))
        self.assertEqual([1, 2, 4, 8, 12], vdpa.levels(12))
        self.assertEqual([1], vdpa.levels(1))
        self.assertEqual(16, len(vdpa.levels(32768)))
        for nothing in (None, 0, -3):
            self.assertEqual([], vdpa.levels(nothing))

    def test_at_least_semantics(self):
        # for every maximum M and wanted minimum N:
        # * a device has some level of any_of_levels(N) iff M >= N;
        # * a device with request_level(N) always has M >= N, and every
        #   device with M >= request_level(N) has it.
        for maximum in range(1, 300):
            have = set(vdpa.levels(maximum))
            for minimum in range(1, 300):
                self.assertEqual(
                    maximum >= minimum,
                    bool(have & set(vdpa.any_of_levels(minimum))),
                    (maximum, minimum))
                level = vdpa.request_level(minimum)
                self.assertGreaterEqual(level, minimum)
                if level in have:
                    self.assertGreaterEqual(maximum, minimum)
                if maximum >= level:
                    self.assertIn(level, have)

    def test_rounding_down_would_be_wrong(self):
        # the largest power of two <= 6 is 4: a device with 5 pairs has
        # it, although it cannot give 6
        self.assertIn(4, vdpa.levels(5))
        self.assertEqual(8, vdpa.request_level(6))
        self.assertEqual([6, 7, 8], vdpa.any_of_levels(6))
        self.assertEqual([4], vdpa.any_of_levels(4))


class TestFeatureTable(testtools.TestCase):

    def test_table_is_consistent(self):
        tables = [vdpa_data.TRANSPORT_FEATURES] + list(
            vdpa_data.DEVICE_FEATURES.values())
        for table in tables:
            bits = [f.bit for f in table]
            self.assertEqual(len(bits), len(set(bits)))
            for feature in table:
                self.assertTrue(0 <= feature.bit < 64)
                self.assertTrue(names.is_valid_trait(
                    names.custom_trait(feature.name)), feature)
                self.assertTrue(feature.name.startswith(
                    ('VIRTIO_F_', 'VIRTIO_NET_F_', 'VIRTIO_BLK_F_')))
                if feature.standard:
                    self.assertIn(feature.standard, os_traits.get_traits())
        # the transport range of virtio_config.h (28..41) is generic
        for feature in vdpa_data.TRANSPORT_FEATURES:
            self.assertTrue(feature.bit in (24, 27) or
                            28 <= feature.bit <= 41)
        for feature in vdpa_data.NET_FEATURES + vdpa_data.BLOCK_FEATURES:
            self.assertFalse(28 <= feature.bit <= 41)

    def test_lookup(self):
        def name(device_type, printed):
            entry = vdpa.feature_entry(device_type, printed)
            return entry and entry.name
        self.assertEqual('VIRTIO_NET_F_MQ', name('net', 'MQ'))
        self.assertEqual('VIRTIO_F_INDIRECT_DESC',
                         name('net', 'RING_INDIRECT_DESC'))
        self.assertEqual('VIRTIO_F_RING_RESET', name('net', 'bit_40'))
        self.assertEqual('VIRTIO_NET_F_GUEST_USO4', name('net', 'bit_54'))
        # bit 12 is HOST_TSO6 on a NIC and MQ on a block device
        self.assertEqual('VIRTIO_NET_F_HOST_TSO6', name('net', 'bit_12'))
        self.assertEqual('VIRTIO_BLK_F_MQ', name('block', 'bit_12'))
        self.assertEqual('VIRTIO_F_VERSION_1', name('block', 'VERSION_1'))
        self.assertIsNone(name('net', 'bit_58'))
        self.assertIsNone(name('net', 'NO_SUCH_FEATURE'))
        self.assertIsNone(name('block', 'MQ'))


class TestTraits(testtools.TestCase):

    def test_mlx5_device(self):
        (prov,) = build([mlx5_device()]).providers
        self.assertEqual('cn1_vdpa_vdpa0', prov.name)
        self.assertEqual(names.provider_uuid('cn1_vdpa_vdpa0'), prov.uuid)
        self.assertEqual('vdpa', names.provider_kind('cn1', prov.name))
        self.assertEqual(models.KIND_VDPA, prov.kind)
        self.assertEqual('vdpa0', prov.parent_device)
        self.assertEqual({'CUSTOM_VDPA_NET': {
            'total': 1, 'reserved': 0, 'min_unit': 1, 'max_unit': 1,
            'step_size': 1, 'allocation_ratio': 1.0}}, prov.inventories)
        expected = {
            'CUSTOM_VDPA_TYPE_NET', 'CUSTOM_VDPA_MGMTDEV_DRIVER_MLX5_CORE',
            'CUSTOM_PCI_VENDOR_15B3', 'CUSTOM_PCI_DEVICE_15B3_101E',
            'CUSTOM_VDPA_MAX_VQ_PAIRS_1', 'CUSTOM_VDPA_MAX_VQ_PAIRS_2',
            'CUSTOM_VDPA_MAX_VQ_PAIRS_4', 'CUSTOM_VDPA_MAX_VQ_PAIRS_8',
            'CUSTOM_VIRTIO_NET_F_CSUM', 'CUSTOM_VIRTIO_NET_F_GUEST_CSUM',
            'CUSTOM_VIRTIO_NET_F_MTU', 'CUSTOM_VIRTIO_NET_F_HOST_TSO4',
            'CUSTOM_VIRTIO_NET_F_HOST_TSO6', 'CUSTOM_VIRTIO_NET_F_STATUS',
            'CUSTOM_VIRTIO_NET_F_CTRL_VQ', 'CUSTOM_VIRTIO_NET_F_CTRL_VLAN',
            'CUSTOM_VIRTIO_NET_F_MQ', 'CUSTOM_VIRTIO_NET_F_CTRL_MAC_ADDR',
            'CUSTOM_VIRTIO_F_VERSION_1', 'CUSTOM_VIRTIO_F_ACCESS_PLATFORM',
            'CUSTOM_VIRTIO_NET_F_MAC',
            'HW_NIC_MULTIQUEUE', 'HW_NIC_OFFLOAD_TX', 'HW_NIC_OFFLOAD_RX',
            'HW_NIC_OFFLOAD_TSO',
        } | {'CUSTOM_VDPA_MAX_VQ_SIZE_%d' % (1 << k) for k in range(9)}
        self.assertEqual(expected, set(prov.traits))
        for trait, sources in prov.traits.items():
            self.assertTrue(sources, trait)
            self.assertTrue(names.is_valid_trait(trait), trait)
        self.assertEqual([MLX5_SOURCE + ' (bit 22)'],
                         list(prov.traits['CUSTOM_VIRTIO_NET_F_MQ']))
        self.assertEqual((), prov.notes)
        self.assertEqual(2, len(prov.traits['HW_NIC_OFFLOAD_TSO']))
        # every CUSTOM_ trait is in the exporter's reserved namespace,
        # except PCI ones (shared with mdev parents)
        for trait in prov.traits:
            if trait.startswith('CUSTOM_'):
                self.assertTrue(trait.startswith(contract.RESERVED_PREFIXES),
                                trait)

    def test_non_power_of_two_maximum(self):
        (prov,) = build([mlx5_device(pairs=6, max_vq_size=1000)]).providers
        pairs = sorted(int(t.rsplit('_', 1)[1]) for t in prov.traits
                       if t.startswith('CUSTOM_VDPA_MAX_VQ_PAIRS_'))
        self.assertEqual([1, 2, 4, 6], pairs)
        self.assertIn('CUSTOM_VDPA_MAX_VQ_SIZE_512', prov.traits)
        self.assertIn('CUSTOM_VDPA_MAX_VQ_SIZE_1000', prov.traits)
        self.assertNotIn('CUSTOM_VDPA_MAX_VQ_SIZE_1024', prov.traits)

    def test_pairs_from_max_vqs(self):
        # older kernels do not report max_vq_pairs: half of max_vqs
        dev = mlx5_device(max_vq_pairs=None, max_vqs=9)
        (prov,) = build([dev]).providers
        self.assertIn('CUSTOM_VDPA_MAX_VQ_PAIRS_4', prov.traits)
        self.assertNotIn('CUSTOM_VDPA_MAX_VQ_PAIRS_8', prov.traits)
        self.assertIn('max_vqs 9',
                      prov.traits['CUSTOM_VDPA_MAX_VQ_PAIRS_4'][0])
        # not for a block device, nor without max_vqs
        for dev in (mlx5_device(max_vq_pairs=None, device_type='block'),
                    mlx5_device(max_vq_pairs=None, max_vqs=None)):
            (prov,) = build([dev]).providers
            self.assertFalse([t for t in prov.traits
                              if 'MAX_VQ_PAIRS' in t])

    def test_simulator_without_mq(self):
        sim = models.VdpaDevice(
            name='vdpa2', device_type='net', mgmtdev='vdpasim_net',
            mgmtdev_driver='vdpasim_net', driver='vhost_vdpa',
            vhost_dev='vhost-vdpa-2', max_vqs=3, max_vq_size=256,
            max_vq_pairs=1,
            supported_features=('MTU', 'MAC', 'CTRL_VQ', 'CTRL_MAC_ADDR',
                                'ANY_LAYOUT', 'VERSION_1',
                                'ACCESS_PLATFORM'),
            features_source='netlink', parent='vdpasim_net')
        (prov,) = build([sim]).providers
        self.assertIn('CUSTOM_VDPA_MGMTDEV_DRIVER_VDPASIM_NET', prov.traits)
        self.assertIn('CUSTOM_VDPA_MAX_VQ_PAIRS_1', prov.traits)
        self.assertIn('CUSTOM_VIRTIO_F_ANY_LAYOUT', prov.traits)
        self.assertNotIn('HW_NIC_MULTIQUEUE', prov.traits)
        self.assertFalse([t for t in prov.traits if 'PCI' in t])

    def test_device_features_source(self):
        dev = mlx5_device(supported_features=('MQ', 'bit_40'))
        (prov,) = build([dev]).providers
        self.assertIn(MLX5_SOURCE, prov.traits['CUSTOM_VIRTIO_NET_F_MQ'][0])
        self.assertIn('CUSTOM_VIRTIO_F_RING_RESET', prov.traits)

    def test_unknown_device_features_publish_none(self):
        # the management device's list is an upper bound: never published
        # as the device's; --dry-run says why there is no feature trait
        dev = mlx5_device(
            supported_features=(), features_source=None,
            features_unknown='the kernel does not report them',
            mgmtdev_features=('MQ', 'MAC', 'VERSION_1'))
        (prov,) = build([dev]).providers
        self.assertFalse([t for t in prov.traits if 'VIRTIO' in t
                          or t.startswith('HW_NIC')])
        (note,) = prov.notes
        self.assertIn('none published', note)
        self.assertIn('the kernel does not report them', note)
        self.assertIn('at most: MQ MAC VERSION_1', note)
        self.assertIn('notes', prov.to_dict())
        # features listed but with no source are not trusted either
        dev = mlx5_device(features_source=None)
        (prov,) = build([dev]).providers
        self.assertFalse([t for t in prov.traits if 'VIRTIO' in t])

    def test_old_tool_notes(self):
        dev = mlx5_device(max_vq_pairs=None, notes=(
            'vdpa dev config show: Command "config" not found',),
            features_source=None, supported_features=())
        (prov,) = build([dev]).providers
        self.assertIn('CUSTOM_VDPA_MAX_VQ_PAIRS_8', prov.traits)
        self.assertEqual(3, len(prov.notes))
        self.assertIn('max_vqs // 2', prov.notes[2])

    def test_unknown_feature_bits_give_nothing(self):
        dev = mlx5_device(supported_features=('bit_58', 'NEW_THING'))
        (prov,) = build([dev]).providers
        self.assertFalse([t for t in prov.traits if 'VIRTIO' in t])


class TestPhysnets(testtools.TestCase):

    def test_neutron_names(self):
        config = vdpa.VdpaConfig(physical_device_mappings=(
            ('physnet1', 'ens1f0np0'), ('phys-net.2', 'ens1f0np0'),
            ('physnet3', 'ens2f0')))
        (prov,) = build([mlx5_device()], config).providers
        # neutron_lib.placement.utils.physnet_trait / vnic_type_trait
        self.assertIn('CUSTOM_PHYSNET_PHYSNET1', prov.traits)
        self.assertIn('CUSTOM_PHYSNET_PHYS_NET_2', prov.traits)
        self.assertNotIn('CUSTOM_PHYSNET_PHYSNET3', prov.traits)
        self.assertIn('CUSTOM_VNIC_TYPE_VDPA', prov.traits)
        self.assertIn('physical_device_mappings physnet1:ens1f0np0',
                      prov.traits['CUSTOM_PHYSNET_PHYSNET1'][0])
        # the same normalisation as os_traits (neutron's), not ours: no
        # trimming of a trailing "_"
        self.assertEqual('CUSTOM_PHYSNET_NET_',
                         vdpa.neutron_trait(contract.NEUTRON_PHYSNET_PREFIX,
                                            'net.'))

    def test_other_pf(self):
        config = vdpa.VdpaConfig(physical_device_mappings=(
            ('physnet1', 'ens2f0'),))
        (prov,) = build([mlx5_device()], config).providers
        self.assertFalse([t for t in prov.traits if 'PHYSNET' in t
                          or 'VNIC' in t])


class TestProviders(testtools.TestCase):

    def test_only_vhost_vdpa_devices(self):
        devices = [
            mlx5_device('vdpa0'),
            mlx5_device('vdpa1', driver='virtio_vdpa', vhost_dev=None),
            mlx5_device('vdpa2', driver=None, vhost_dev=None),
        ]
        desired = build(devices)
        self.assertEqual(['cn1_vdpa_vdpa0'],
                         [p.name for p in desired.providers])
        self.assertEqual((), desired.warnings)

    def test_resource_classes(self):
        blk = mlx5_device('vdpa5', device_type='block')
        desired = build([mlx5_device(), blk])
        self.assertEqual(['CUSTOM_VDPA_NET', 'CUSTOM_VDPA_BLOCK'],
                         [p.resource_class for p in desired.providers])
        config = vdpa.VdpaConfig(resource_class='CUSTOM_ACCEL_{type}_VDPA',
                                 type_resource_classes=(
                                     ('net', 'CUSTOM_SMARTNIC'),))
        desired = build([mlx5_device(), blk], config)
        self.assertEqual(['CUSTOM_SMARTNIC', 'CUSTOM_ACCEL_BLOCK_VDPA'],
                         [p.resource_class for p in desired.providers])
        self.assertEqual({'CUSTOM_SMARTNIC'},
                         set(desired.providers[0].inventories))

    def test_bad_resource_class(self):
        config = vdpa.VdpaConfig(resource_class='VGPU')
        desired = build([mlx5_device()], config)
        self.assertEqual((), desired.providers)
        self.assertIn('not a custom resource class', desired.warnings[0])

    def test_unknown_type(self):
        desired = build([mlx5_device(device_type=None)])
        self.assertEqual((), desired.providers)
        self.assertIn('vdpa0', desired.warnings[0])

    def test_decorate_mode(self):
        desired = build([mlx5_device()], vdpa.VdpaConfig(manage=False))
        self.assertEqual((), desired.providers)
        (warning,) = desired.warnings
        self.assertIn('mode = manage', warning)
        # nothing to say when there is no usable vDPA device
        desired = build([mlx5_device(driver='virtio_vdpa', vhost_dev=None)],
                        vdpa.VdpaConfig(manage=False))
        self.assertEqual((), desired.warnings)

    def test_partial_device(self):
        (prov,) = build([mlx5_device(partial=True, pci=None)]).providers
        self.assertTrue(prov.partial)

    def test_incomplete_vdpa_discovery_keeps_vdpa_providers_only(self):
        desired = build([], complete=False, incomplete=[models.KIND_VDPA])
        self.assertFalse(desired.provider_complete('cn1_vdpa_vdpa0'))
        self.assertTrue(desired.provider_complete('cn1_pci_0000_3b_00_0'))


class TestPlanVdpa(testtools.TestCase):

    def state(self, name='cn1_vdpa_vdpa0'):
        return plan.ProviderState(
            uuid=names.provider_uuid(name), name=name, generation=3,
            parent_uuid='root', traits=frozenset({'CUSTOM_VDPA_TYPE_NET'}),
            inventories={'CUSTOM_VDPA_NET': {'total': 1, 'reserved': 0}})

    def snapshot(self):
        return plan.TreeSnapshot(
            root=plan.ProviderState(uuid='root', name='cn1', generation=1),
            providers={'cn1_vdpa_vdpa0': self.state()})

    def test_created_and_unchanged(self):
        desired = build([mlx5_device()])
        p = plan.plan(desired, plan.TreeSnapshot(
            root=plan.ProviderState(uuid='root', name='cn1', generation=1),
            providers={}), record.Ownership(), True)
        create = [op for op in p.ops if isinstance(op, plan.CreateProvider)]
        self.assertEqual(['cn1_vdpa_vdpa0'], [op.name for op in create])
        self.assertEqual({'CUSTOM_VDPA_NET'},
                         p.ownership.resource_classes['cn1_vdpa_vdpa0'])

    def test_vanished_device_deleted_with_reservation_fallback(self):
        own = record.Ownership(
            traits={'cn1_vdpa_vdpa0': frozenset({'CUSTOM_VDPA_TYPE_NET'})},
            resource_classes={'cn1_vdpa_vdpa0':
                              frozenset({'CUSTOM_VDPA_NET'})},
            created={'cn1_vdpa_vdpa0': names.provider_uuid('cn1_vdpa_vdpa0')})
        p = plan.plan(build([]), self.snapshot(), own, True)
        (op,) = p.ops
        self.assertIsInstance(op, plan.DeleteProvider)
        self.assertEqual(('CUSTOM_VDPA_NET',), op.reserve_rcs)

    def test_vanished_without_state_file_is_left_alone(self):
        # a uuid5 of its name is no proof that this exporter created it
        # (another host with the same root name makes the same uuid5):
        # without a record, it is left alone and the conflict is named
        for own in (record.Ownership(), record.Ownership(recorded=False)):
            p = plan.plan(build([]), self.snapshot(), own, True)
            self.assertEqual([], p.ops)
            (line,) = p.conflicts.values()
            self.assertIn('cn1_vdpa_vdpa0', line)

    def test_failed_vdpa_discovery_removes_nothing(self):
        desired = build([], complete=False, incomplete=[models.KIND_VDPA])
        own = record.Ownership(
            traits={'cn1_vdpa_vdpa0': frozenset({'CUSTOM_VDPA_TYPE_NET'})},
            created={'cn1_vdpa_vdpa0': names.provider_uuid('cn1_vdpa_vdpa0')})
        p = plan.plan(desired, self.snapshot(), own, True)
        self.assertEqual([], p.ops)
        self.assertEqual({'CUSTOM_VDPA_TYPE_NET'},
                         p.ownership.traits['cn1_vdpa_vdpa0'])


class TestConfigFromConf(testtools.TestCase):

    def test_from_conf(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'x.conf')
        with open(path, 'w') as f:
            f.write('[exporter]\nmode = manage\n\n[vdpa]\n'
                    'resource_class = CUSTOM_NIC_{type}\n'
                    'type_resource_classes = block:CUSTOM_DISK\n'
                    'physical_device_mappings = physnet1:ens1f0np0,'
                    'physnet1:ens1f1np1\n')
        conf = exporter_cmd.build_conf()
        conf(['--config-file', path], project='mdev-traits')
        self.assertEqual([], conf_check.checked_settings(conf)[1])
        config = settings_mod.load(conf).vdpa
        self.assertTrue(config.manage)
        self.assertEqual('CUSTOM_NIC_NET', config.resource_class_for('net'))
        self.assertEqual('CUSTOM_DISK', config.resource_class_for('block'))
        self.assertEqual([('physnet1', 'ens1f1np1')],
                         config.physnets_for(['ens1f1np1', 'eth0']))

    def test_bad_values_are_config_errors(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        for line in ('resource_class = VGPU',
                     'type_resource_classes = net:vdpa',
                     'physical_device_mappings = physnet1'):
            path = os.path.join(tmp, 'bad.conf')
            with open(path, 'w') as f:
                f.write('[vdpa]\n%s\n' % line)
            conf = exporter_cmd.build_conf()
            conf(['--config-file', path], project='mdev-traits')
            errors = conf_check.checked_settings(conf)[1]
            self.assertTrue(errors, line)
            self.assertIn('[vdpa]', errors[0])
