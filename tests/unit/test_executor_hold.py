"""A reservation held for a vanished device (or for inventory in use) is
released once the consumers are gone, although Placement does not bump the
provider's generation when allocations are removed."""

import testtools

from mdev_traits.placement import client as client_mod
from mdev_traits.placement import executor as executor_mod
from mdev_traits.placement import inuse
from mdev_traits.placement import plan

UUID = '9b0c1d3e-5a7f-5e4c-8f1a-0d6e2b4c8a11'
INV = {'CUSTOM_VDPA_NET': {'total': 1, 'reserved': 0, 'min_unit': 1,
                           'max_unit': 1, 'step_size': 1,
                           'allocation_ratio': 1.0}}


class FakeClient(object):

    def __init__(self, usages):
        self.usages = usages
        self.calls = []

    def get(self, url):
        self.calls.append(('GET', url))
        if url.endswith('/usages'):
            return client_mod.Response(
                200, {'usages': self.usages,
                      'resource_provider_generation': 4}, 'GET', url)
        return client_mod.Response(404, {}, 'GET', url)


class TestHoldNeeded(testtools.TestCase):

    def executor(self, usages):
        return executor_mod.Executor(FakeClient(usages), reader=None)

    def test_delete_held_while_allocated(self):
        ex = self.executor({'CUSTOM_VDPA_NET': 1})
        op = plan.DeleteProvider('cn1_vdpa_vdpa0', UUID, ('CUSTOM_VDPA_NET',))
        ex.holds.set(UUID, inuse.hold(op, 4))
        self.assertTrue(inuse.repeats(ex.holds.get(UUID), op, 4))
        self.assertTrue(ex._hold_needed(op))
        self.assertIn(UUID, ex.holds)

    def test_delete_released_when_consumers_left(self):
        ex = self.executor({'CUSTOM_VDPA_NET': 0})
        op = plan.DeleteProvider('cn1_vdpa_vdpa0', UUID, ('CUSTOM_VDPA_NET',))
        ex.holds.set(UUID, inuse.hold(op, 4))
        # same generation: Placement did not bump it for the deletion
        self.assertTrue(inuse.repeats(ex.holds.get(UUID), op, 4))
        self.assertFalse(ex._hold_needed(op))
        self.assertNotIn(UUID, ex.holds)

    def test_shrink_released_when_usage_fits(self):
        op = plan.SetInventories('cn1_pci_0000_3b_00_0', UUID, 4,
                                 {'VGPU': dict(INV['CUSTOM_VDPA_NET'],
                                               total=2, max_unit=2)},
                                 ('VGPU',))
        held = self.executor({'VGPU': 3})
        self.assertTrue(held._hold_needed(op))
        free = self.executor({'VGPU': 2})
        self.assertFalse(free._hold_needed(op))

    def test_unreadable_usages_keep_the_hold(self):
        class Broken(FakeClient):
            def get(self, url):
                return client_mod.Response(503, {}, 'GET', url)
        ex = executor_mod.Executor(Broken({}), reader=None)
        op = plan.DeleteProvider('cn1_vdpa_vdpa0', UUID, ())
        self.assertTrue(ex._hold_needed(op))


class Reader(object):
    """The reader's public cache API, with nothing cached."""

    def cached(self, uuid, generation):
        return None

    def update_cached(self, uuid, generation, traits=None,
                      inventories=None):
        pass


class WritingClient(FakeClient):

    def put(self, url, body):
        self.calls.append(('PUT', url))
        return client_mod.Response(
            200, {'resource_provider_generation': 5,
                  'inventories': body['inventories']}, 'PUT', url)


class TestHoldsAcrossRuns(testtools.TestCase):
    """The reservations in force are the caller's: kept from one run to
    the next, and the outcome names the providers that keep one."""

    def op(self):
        return plan.SetInventories('cn1_pci_0000_3b_00_0', UUID, 4,
                                   {'VGPU': dict(INV['CUSTOM_VDPA_NET'],
                                                 total=2, max_unit=2)},
                                   ('VGPU',))

    def test_held_op_is_skipped_while_needed(self):
        holds = inuse.Holds({UUID: inuse.hold(self.op(), 4)})
        client = WritingClient({'VGPU': 3})
        ex = executor_mod.Executor(client, reader=Reader())
        outcome = ex.run(plan.Plan(ops=[self.op()]), holds=holds)
        self.assertTrue(outcome.ok)
        self.assertEqual(0, outcome.done)
        self.assertEqual({'cn1_pci_0000_3b_00_0'}, outcome.held)
        self.assertEqual([('GET', '/resource_providers/%s/usages' % UUID)],
                         client.calls)
        self.assertEqual(inuse.hold(self.op(), 4), holds.get(UUID))

    def test_released_hold_writes_the_plain_inventory(self):
        holds = inuse.Holds({UUID: inuse.hold(self.op(), 4)})
        client = WritingClient({'VGPU': 2})
        ex = executor_mod.Executor(client, reader=Reader())
        outcome = ex.run(plan.Plan(ops=[self.op()]), holds=holds)
        self.assertTrue(outcome.ok)
        self.assertEqual(1, outcome.done)
        self.assertEqual(set(), outcome.held)
        self.assertIn(('PUT', '/resource_providers/%s/inventories' % UUID),
                      client.calls)
        self.assertNotIn(UUID, holds)

    def test_a_moved_generation_plans_again(self):
        # someone else changed the provider since the reservation: the op
        # is carried out (not skipped), without reading the usages first
        holds = inuse.Holds({UUID: inuse.hold(self.op(), 3)})
        client = WritingClient({'VGPU': 3})
        ex = executor_mod.Executor(client, reader=Reader())
        outcome = ex.run(plan.Plan(ops=[self.op()]), holds=holds)
        self.assertEqual(1, outcome.done)
        self.assertEqual([('PUT', '/resource_providers/%s/inventories' %
                           UUID)], client.calls)
        self.assertEqual(set(), outcome.held)
