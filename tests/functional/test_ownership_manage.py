"""Withdrawal guard, manage mode writing only its own, and two hosts
under one root name (issue 9, items 5, 6, 7) against the real
Placement."""

import os

from tests.functional import base
from tests.functional import test_ownership

GPUS = [('0000:3b:00.0', '535.129.03'), ('0000:5e:00.0', '535.129.03'),
        ('0000:86:00.0', '535.129.03')]
CONSUMER = '0c3f6a52-2d41-4f5e-8c55-7d2a3b6e1f10'


def child(root, address):
    return '%s_pci_%s' % (root, address.replace(':', '_').replace('.', '_'))


class TestWithdrawalGuard(test_ownership.OwnershipTestCase):

    def test_mass_withdrawal_waits_for_three_cycles(self):
        builder, conf = self.host('guard', gpus=GPUS)
        self.assertTrue(self.exporter(conf).cycle().ok)
        # two of three GPUs vanish (a broken read looks like that) while
        # the third gets a driver update
        builder.remove_parent('0000:3b:00.0')
        builder.remove_parent('0000:5e:00.0')
        builder.write('module/nvidia/version', '535.161.07')
        third = child('guard', '0000:86:00.0')
        for cycle in (1, 2):
            # each cycle a new process (as --once runs): counted in the
            # record
            self.assertTrue(self.exporter(conf).cycle().ok)
            self.assertIsNotNone(self.provider(child('guard',
                                                     '0000:3b:00.0')))
            self.assertIsNotNone(self.provider(child('guard',
                                                     '0000:5e:00.0')))
            # additions go through
            self.assertIn('CUSTOM_MDEV_SWVER_NVIDIA_535_161',
                          self.traits(third))
        held = [line for line in self.logs.output.splitlines()
                if line.startswith('WARNING Holding back')]
        self.assertEqual(2, len(held), self.logs.output[-2000:])
        self.assertIn('2 of 3 provider(s)', held[0])
        self.assertTrue(self.exporter(conf).cycle().ok)
        self.assertIsNone(self.provider(child('guard', '0000:3b:00.0')))
        self.assertIsNone(self.provider(child('guard', '0000:5e:00.0')))
        self.assertIsNotNone(self.provider(child('guard', '0000:86:00.0')))

    def test_a_changing_result_starts_counting_again(self):
        builder, conf = self.host('flap', gpus=GPUS)
        exporter = self.exporter(conf)
        self.assertTrue(exporter.cycle().ok)
        builder.remove_parent('0000:3b:00.0')
        builder.remove_parent('0000:5e:00.0')
        self.assertTrue(exporter.cycle().ok)
        self.assertTrue(exporter.cycle().ok)
        # the read changes: another set would vanish
        builder.add_pci_mdev_parent('0000:5e:00.0', types=base.T4_TYPES,
                                    driver_version='535.129.03', **base.T4)
        builder.remove_parent('0000:86:00.0')
        self.assertTrue(exporter.cycle().ok)
        for address in ('0000:3b:00.0', '0000:86:00.0'):
            self.assertIsNotNone(self.provider(child('flap', address)))


class TestManageWritesOnlyItsOwn(test_ownership.OwnershipTestCase):

    def test_operator_reserved_is_kept(self):
        builder, conf = self.host('opres', gpus=GPUS[:2])
        exporter = self.exporter(conf)
        self.assertTrue(exporter.cycle().ok)
        name = child('opres', '0000:3b:00.0')
        self.set_reserved(name, 2)
        exporter.client.requests.clear()
        self.assertTrue(exporter.cycle().ok)
        self.assertEqual(0, exporter.client.write_count())
        self.assertEqual(2, self.inventories(name)['VGPU']['reserved'])
        # the device vanishes with one vGPU in use: the exporter reserves
        # all of it, and remembers that it did
        uuid = self.provider(name)['uuid']
        self.api('PUT', '/allocations/%s' % CONSUMER, {
            'allocations': {uuid: {'resources': {'VGPU': 1}}},
            'project_id': 'p', 'user_id': 'u', 'consumer_generation': None,
            'consumer_type': 'INSTANCE'}, expect=204)
        builder.remove_parent('0000:3b:00.0')
        self.assertTrue(exporter.cycle().ok)
        inv = self.inventories(name)['VGPU']
        self.assertEqual(inv['total'], inv['reserved'])
        self.assertEqual({'operator': 2, 'set': inv['total']},
                         self.record('opres')['providers'][name][
                             'reservations']['VGPU'])
        # it comes back: the operator's 2 again, not 0
        builder.add_pci_mdev_parent('0000:3b:00.0', types=base.T4_TYPES,
                                    driver_version='535.129.03', **base.T4)
        self.assertTrue(self.exporter(conf).cycle().ok)
        self.assertEqual(2, self.inventories(name)['VGPU']['reserved'])
        self.assertNotIn('reservations',
                         self.record('opres')['providers'][name])

    def test_no_inventory_on_a_provider_it_did_not_create(self):
        root = self.create_root('notmine')
        name = child('notmine', '0000:3b:00.0')
        # someone else made the provider of this GPU, with its inventory
        self.create_child(root, name, 7)
        builder, conf = self.host('notmine', create_root=False)
        self.assertTrue(self.exporter(conf).cycle().ok)
        self.assertEqual(7, self.inventories(name)['VGPU']['total'])
        # it decorates it, as it would nova's
        self.assertIn(test_ownership.TYPE_231, self.traits(name))
        self.assertNotIn(name, self.record('notmine')['created'])


class TestTwoHostsOneRootName(test_ownership.OwnershipTestCase):

    def test_cloned_configuration(self):
        # host A reports under "twin" and creates its GPU's provider
        builder_a, conf_a = self.host('twin-a', gpus=GPUS[:1], root='twin')
        self.assertTrue(self.exporter(conf_a).cycle().ok)
        a_name = child('twin', '0000:3b:00.0')
        a_rp = self.provider(a_name)
        a_traits = self.traits(a_name)
        a_inv = self.inventories(a_name)
        # host B, cloned configuration: same root name, other GPUs (one at
        # the same address, of another model)
        builder_b, conf_b = self.host(
            'twin-b', gpus=[('0000:3b:00.0', '550.54.14'),
                            ('0000:5e:00.0', '550.54.14')],
            create_root=False, root='twin')
        builder_b.set_type_attr('0000:3b:00.0', 'nvidia-231',
                                'available_instances', 1)
        exporter_b = self.exporter(conf_b)
        for _ in range(3):
            self.assertTrue(exporter_b.cycle().ok)
        # A's provider: neither deleted nor rewritten
        self.assertEqual(a_rp['generation'],
                         self.provider(a_name)['generation'])
        self.assertEqual(a_traits, self.traits(a_name))
        self.assertEqual(a_inv, self.inventories(a_name))
        # one error line naming the conflict, not one per cycle
        (line,) = self.errors(a_name)
        self.assertIn('root_provider_name', line)
        # B published its other GPU; A leaves B's provider alone in turn
        b_name = child('twin', '0000:5e:00.0')
        b_rp = self.provider(b_name)
        self.assertIsNotNone(b_rp)
        for _ in range(3):
            self.assertTrue(self.exporter(conf_a).cycle().ok)
        self.assertEqual(b_rp['generation'],
                         self.provider(b_name)['generation'])
        self.assertTrue(self.errors(b_name))
        self.assertTrue(os.path.exists(self.state_path('twin-a')))
