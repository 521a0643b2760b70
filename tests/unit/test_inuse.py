"""The in-use inventory policy, without Placement: what is written instead
of an inventory that would offer less than is allocated."""

import testtools

from mdev_traits.placement import inuse
from mdev_traits.placement import plan


def rec(total, reserved=0, max_unit=None, min_unit=1, ratio=1.0):
    return {'total': total, 'reserved': reserved, 'min_unit': min_unit,
            'max_unit': total if max_unit is None else max_unit,
            'step_size': 1, 'allocation_ratio': ratio}


class TestKeepInUse(testtools.TestCase):

    def test_nothing_in_use_returns_the_wanted_object(self):
        wanted = {'VGPU': rec(2)}
        inventories, kept = inuse.keep_in_use(
            wanted, {'VGPU': rec(4)}, {'VGPU': 2})
        self.assertIs(wanted, inventories)
        self.assertEqual([], kept)

    def test_lowered_total_keeps_the_usage_reserving_the_difference(self):
        wanted = {'VGPU': rec(2)}
        inventories, kept = inuse.keep_in_use(
            wanted, {'VGPU': rec(4)}, {'VGPU': 3})
        self.assertEqual({'VGPU': rec(3, reserved=1, max_unit=2)},
                         inventories)
        self.assertEqual([('VGPU', 2, 3)], kept)
        # the wanted inventories are not changed
        self.assertEqual({'VGPU': rec(2)}, wanted)

    def test_removed_class_is_kept_fully_reserved(self):
        current = {'VGPU': rec(4), 'VGPU_DISPLAY_HEAD': rec(16, max_unit=4)}
        inventories, kept = inuse.keep_in_use(
            {'VGPU': rec(4)}, current, {'VGPU': 1, 'VGPU_DISPLAY_HEAD': 4})
        self.assertEqual(rec(4), inventories['VGPU'])
        self.assertEqual(rec(4, reserved=4, max_unit=4),
                         inventories['VGPU_DISPLAY_HEAD'])
        self.assertEqual([('VGPU_DISPLAY_HEAD', 0, 4)], kept)

    def test_units_fit_the_kept_total(self):
        wanted = {'X': rec(8, max_unit=8, min_unit=4)}
        inventories, kept = inuse.keep_in_use(
            wanted, {'X': rec(8)}, {'X': 10})
        self.assertEqual((10, 2, 8, 4), (
            inventories['X']['total'], inventories['X']['reserved'],
            inventories['X']['max_unit'], inventories['X']['min_unit']))
        inventories, _ = inuse.keep_in_use(
            {'X': rec(0, max_unit=0, min_unit=4)}, {'X': rec(8)}, {'X': 2})
        # max_unit at least 1 and min_unit never above it
        self.assertEqual((2, 2, 1, 1), (
            inventories['X']['total'], inventories['X']['reserved'],
            inventories['X']['max_unit'], inventories['X']['min_unit']))

    def test_allocation_ratio_counts(self):
        wanted = {'X': rec(2, ratio=2.0)}
        inventories, kept = inuse.keep_in_use(
            wanted, {'X': rec(4)}, {'X': 4})
        self.assertIs(wanted, inventories)
        self.assertEqual([], kept)


class TestStillNeeded(testtools.TestCase):

    def test_inventory(self):
        wanted = {'VGPU': rec(2)}
        self.assertTrue(inuse.still_needed(wanted, {'VGPU': 3}))
        self.assertFalse(inuse.still_needed(wanted, {'VGPU': 2}))
        # a class the plan removes, still used
        self.assertTrue(inuse.still_needed(wanted, {'VGPU': 0, 'X': 1}))
        self.assertFalse(inuse.still_needed(wanted, {}))

    def test_delete(self):
        self.assertTrue(inuse.still_needed(None, {'X': 1}, delete=True))
        self.assertFalse(inuse.still_needed(None, {'X': 0}, delete=True))


class TestReserveAll(testtools.TestCase):

    def test_only_the_named_classes_with_the_operators_part(self):
        current = {'VGPU': rec(4, reserved=1), 'OTHER': rec(2)}
        inventories, ours = inuse.reserve_all(current, ('VGPU',),
                                              {'VGPU': 1})
        self.assertEqual({'VGPU': rec(4, reserved=4), 'OTHER': rec(2)},
                         inventories)
        self.assertEqual({'VGPU': (1, 4)}, ours)
        self.assertEqual(rec(4, reserved=1), current['VGPU'])


class TestHoldKey(testtools.TestCase):

    def test_key(self):
        uuid = '9b0c1d3e-5a7f-5e4c-8f1a-0d6e2b4c8a11'
        self.assertEqual('delete', inuse.hold_key(
            plan.DeleteProvider('p', uuid, ())))
        a = plan.SetInventories('p', uuid, 1, {'A': rec(1), 'B': rec(2)},
                                ())
        b = plan.SetInventories('p', uuid, 2, {'B': rec(2), 'A': rec(1)},
                                ())
        self.assertEqual(inuse.hold_key(a), inuse.hold_key(b))
        self.assertNotEqual(inuse.hold_key(a), inuse.hold_key(
            plan.SetInventories('p', uuid, 1, {'A': rec(2)}, ())))


UUID = '9b0c1d3e-5a7f-5e4c-8f1a-0d6e2b4c8a11'


class TestHoldPolicy(testtools.TestCase):
    """Whether a reservation is still in force, from plain data."""

    def shrink(self, total=2, generation=4):
        return plan.SetInventories('p', UUID, generation,
                                   {'VGPU': rec(total)}, ('VGPU',))

    def test_hold_is_generation_and_key(self):
        op = self.shrink()
        self.assertEqual(inuse.Hold(7, inuse.hold_key(op)),
                         inuse.hold(op, 7))

    def test_repeats_same_generation_same_inventory(self):
        held = inuse.hold(self.shrink(), 5)
        self.assertTrue(inuse.repeats(held, self.shrink(), 5))
        # the planned generation of the op does not matter, the one the
        # provider has does
        self.assertTrue(inuse.repeats(held, self.shrink(generation=1), 5))

    def test_moved_generation_or_other_inventory_does_not_repeat(self):
        held = inuse.hold(self.shrink(), 5)
        self.assertFalse(inuse.repeats(held, self.shrink(), 6))
        self.assertFalse(inuse.repeats(held, self.shrink(total=1), 5))
        self.assertFalse(inuse.repeats(
            held, plan.DeleteProvider('p', UUID, ('VGPU',)), 5))
        self.assertFalse(inuse.repeats(None, self.shrink(), 5))

    def test_delete_hold(self):
        op = plan.DeleteProvider('p', UUID, ('VGPU',))
        held = inuse.hold(op, 3)
        self.assertEqual('delete', held.key)
        self.assertTrue(inuse.repeats(held, op, 3))

    def test_a_trait_write_carries_the_hold_along(self):
        held = inuse.hold(self.shrink(), 5)
        self.assertEqual(inuse.Hold(6, held.key),
                         inuse.after_write(held, 5, 6))
        # made at another generation: left as it is (it no longer
        # repeats, and the op is planned again)
        self.assertIs(held, inuse.after_write(held, 4, 6))
        self.assertIsNone(inuse.after_write(None, 5, 6))

    def test_hold_needed_from_usages(self):
        self.assertTrue(inuse.hold_needed(self.shrink(), {'VGPU': 3}))
        self.assertFalse(inuse.hold_needed(self.shrink(), {'VGPU': 2}))
        self.assertTrue(inuse.hold_needed(self.shrink(),
                                          {'VGPU': 0, 'X': 1}))
        delete = plan.DeleteProvider('p', UUID, ('VGPU',))
        self.assertTrue(inuse.hold_needed(delete, {'VGPU': 1}))
        self.assertFalse(inuse.hold_needed(delete, {'VGPU': 0}))
        self.assertFalse(inuse.hold_needed(delete, {}))

    def test_held_providers_of_the_plan(self):
        other = '1b0c1d3e-5a7f-5e4c-8f1a-0d6e2b4c8a11'
        holds = {UUID: inuse.hold(self.shrink(), 5),
                 other: inuse.Hold(1, 'delete')}
        ops = [plan.EnsureTraits(('CUSTOM_A',)),
               plan.SetTraits('p', UUID, 5, ('CUSTOM_A',), ('CUSTOM_A',),
                              ()),
               plan.SetInventories('q', 'x', 1, {}, ())]
        # any op of a provider that has a hold names it; other holds
        # (providers without an op in the plan) do not count
        self.assertEqual({'p'}, inuse.held_providers(holds, ops))
        self.assertEqual({'p'}, inuse.held_providers(inuse.Holds(holds),
                                                     ops))
        self.assertEqual(set(), inuse.held_providers({}, ops))


class TestHolds(testtools.TestCase):

    def test_set_get_release(self):
        holds = inuse.Holds()
        self.assertIsNone(holds.get(UUID))
        holds.set(UUID, inuse.Hold(1, 'delete'))
        self.assertIn(UUID, holds)
        self.assertEqual(inuse.Hold(1, 'delete'), holds.get(UUID))
        self.assertEqual({UUID: inuse.Hold(1, 'delete')}, holds.as_dict())
        holds.set(UUID, None)
        self.assertNotIn(UUID, holds)
        self.assertEqual(0, len(holds))
        # releasing what is not held is fine
        holds.set(UUID, None)
        self.assertEqual({}, holds.as_dict())
