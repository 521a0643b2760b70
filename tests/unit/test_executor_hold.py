"""A reservation held for a vanished device (or for inventory in use) is
released once the consumers are gone, although Placement does not bump the
provider's generation when allocations are removed."""

import testtools

from mdev_traits.placement import client as client_mod
from mdev_traits.placement import executor as executor_mod
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
        ex._hold(op, 4)
        self.assertTrue(ex.is_held(op, {UUID: 4}))
        self.assertTrue(ex._hold_needed(op))
        self.assertIn(UUID, ex.held)

    def test_delete_released_when_consumers_left(self):
        ex = self.executor({'CUSTOM_VDPA_NET': 0})
        op = plan.DeleteProvider('cn1_vdpa_vdpa0', UUID, ('CUSTOM_VDPA_NET',))
        ex._hold(op, 4)
        # same generation: Placement did not bump it for the deletion
        self.assertTrue(ex.is_held(op, {UUID: 4}))
        self.assertFalse(ex._hold_needed(op))
        self.assertNotIn(UUID, ex.held)

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
