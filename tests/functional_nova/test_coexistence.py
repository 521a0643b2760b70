"""The exporter and nova-compute's own report client writing the same
provider tree of a real Placement, round after round.

nova's side is its real code (see fake_compute): each periodic it reads
its cached ProviderTree, lets the libvirt driver add the per-GPU
providers (``<root>_pci_*``, ``VGPU`` inventory, ``OWNER_NOVA``) and the
compute node's inventory and traits, and flushes the difference to
Placement with ``update_from_provider_tree``.

What the rounds show about nova's report client:

* It only writes what differs from its *cache*, always with the cached
  provider generation, and replaces a provider's whole trait list when it
  does. Our trait writes bump the generations, so a later write of nova on
  that provider fails with 409 ``placement.concurrent_update``; nova then
  drops its cache of the tree and redoes the periodic from a fresh read,
  which includes our traits: a stale trait list is never written, and nova
  never removes our traits.
* Once both sides are in step, neither writes: nova reads the allocations
  of each provider of its cached tree every periodic (and the whole tree
  every resource_provider_association_refresh), the exporter lists the
  tree once.
"""

import uuid

import fixtures

from tests.functional_nova import base

ROUNDS = 12
NOVA_VGPU = {'total': 4, 'reserved': 0, 'min_unit': 1, 'max_unit': 4,
             'step_size': 1, 'allocation_ratio': 1.0}


class TestNovaManagesVgpus(base.NovaTestCase):
    """nova-compute manages the vGPUs (its providers carry OWNER_NOVA);
    the exporter decorates them, in either mode."""

    def _converge(self, mode, host=None):
        host = host or 'nv-%s' % mode
        builder, exporter, nova = self.make(host, mode)
        names = [base.child(host, a) for a in base.GPUS]
        # Before nova-compute ran there is no compute node: nothing done
        first = base.Round()
        self.run_exporter(exporter, first)
        self.assertIn('not found', first.exporter_error)
        self.assertEqual(0, first.exporter_writes)
        self.assertIsNone(nova.periodic())
        uuids = {n: v[0] for n, v in self.tree(host).items()}
        ours = self.published(exporter)
        self.assertTrue(base.OUR_TRAITS <= ours[names[0]])

        rounds = self.rounds(nova, exporter, ROUNDS, ours=ours)
        # converged after the first round, and quiet for good
        self.assertGreater(rounds[0].exporter_writes, 0)
        self.assertQuiet(rounds[2:])
        self.assertEqual([], [r for r in rounds if r.removed_by_nova])
        tree = self.tree(host)
        self.assertEqual(uuids, {n: v[0] for n, v in tree.items()})
        for name in names:
            _, traits, inv = tree[name]
            self.assertEqual(ours[name] | {'OWNER_NOVA'}, traits)
            self.assertEqual({'VGPU': NOVA_VGPU}, inv)
        _, root_traits, root_inv = tree[host]
        self.assertEqual({'VCPU', 'MEMORY_MB', 'DISK_GB'}, set(root_inv))
        self.assertTrue({'COMPUTE_NODE', 'OWNER_NOVA'} <= root_traits)
        # the exporter never wrote an inventory of nova's
        self.assertEqual(0, exporter.client.requests[('PUT', 409)])
        return builder, exporter, nova, host, names, uuids

    def _driver_upgrade_and_resize(self, builder, exporter, nova, host,
                                   names, uuids):
        # a driver upgrade: we add version buckets, nova has nothing to do
        builder.write('module/nvidia/version', '535.161.07')
        upgraded = self.rounds(nova, exporter, 4)
        self.assertGreater(upgraded[0].exporter_writes, 0)
        self.assertEqual(0, sum(r.nova_writes for r in upgraded))
        self.assertQuiet(upgraded[1:])
        ours = self.published(exporter)
        self.assertIn('CUSTOM_MDEV_SWVER_NVIDIA_535_161', ours[names[0]])
        # fewer instances of the type on one GPU (another type took
        # framebuffer): nova writes the inventory with a generation it
        # cached before our trait writes, gets a 409, re-reads and
        # writes again; our traits stay.
        builder.set_type_attr(base.GPUS[0], 'nvidia-231',
                              'available_instances', 2)
        nova_first = self.round(nova, exporter, nova_first=True, ours=ours)
        self.assertEqual((), nova_first.nova_errors)
        self.assertEqual((), nova_first.removed_by_nova)
        self.assertEqual(0, nova_first.exporter_writes)
        self.assertLessEqual(nova_first.nova_conflicts, 1)
        after = self.rounds(nova, exporter, 6, ours=ours)
        self.assertQuiet(after)
        self.assertEqual([], [r for r in after if r.removed_by_nova])
        tree = self.tree(host)
        self.assertEqual(2, tree[names[0]][2]['VGPU']['total'])
        for name in names:
            self.assertTrue(ours[name] <= tree[name][1])
        # a vGPU created for an instance: available - 1, one mdev more,
        # the same total for nova and for us
        builder.set_type_attr(base.GPUS[1], 'nvidia-231',
                              'available_instances', 3)
        builder.add_instance(base.GPUS[1], 'nvidia-231',
                             '0c9bb6cc-8d54-4c44-a5e5-7d4b3f1c1b51')
        self.assertQuiet(self.rounds(nova, exporter, 3))
        self.assertEqual(uuids, {n: v[0] for n, v in self.tree(host).items()})

    def test_decorate(self):
        self._driver_upgrade_and_resize(*self._converge('decorate'))

    def test_manage(self):
        self._driver_upgrade_and_resize(*self._converge('manage'))

    def _vanished_with_allocation(self, mode):
        builder, exporter, nova, host, names, uuids = self._converge(
            mode, host='nv-gone-%s' % mode)
        tree = self.tree(host)
        self.allocate(str(uuid.uuid4()), {
            tree[host][0]: {'VCPU': 2, 'MEMORY_MB': 2048},
            tree[names[1]][0]: {'VGPU': 1}})
        self.assertQuiet(self.rounds(nova, exporter, 3)[1:])
        builder.remove_parent(base.GPUS[1])
        gone = self.round(nova, exporter, nova_first=False)
        # our traits go; nova's provider, inventory and allocation stay
        self.assertEqual(0, gone.nova_writes)
        after = self.rounds(nova, exporter, 5)
        self.assertQuiet(after)
        tree = self.tree(host)
        self.assertEqual(uuids, {n: v[0] for n, v in tree.items()})
        self.assertEqual({'OWNER_NOVA'}, tree[names[1]][1])
        self.assertEqual({'VGPU': NOVA_VGPU}, tree[names[1]][2])

    def test_decorate_vanished_gpu_with_allocation(self):
        self._vanished_with_allocation('decorate')

    def test_manage_vanished_gpu_with_allocation(self):
        self._vanished_with_allocation('manage')

    def test_concurrent_cycles_converge(self):
        host = 'nv-race'
        builder, exporter, nova = self.make(host, 'manage')
        self.assertIsNone(nova.periodic())
        names = [base.child(host, a) for a in base.GPUS]
        uuids = {n: v[0] for n, v in self.tree(host).items()}
        raced = []
        for i in range(8):
            if i == 3:
                builder.write('module/nvidia/version', '535.161.07')
            if i == 5:
                builder.set_type_attr(base.GPUS[0], 'nvidia-231',
                                      'available_instances', 3)
            raced.append(self.concurrent_round(nova, exporter,
                                               refresh=(i % 4 == 3)))
        # conflicts are retried by both sides, nothing fails
        for r in raced:
            self.assertEqual((), r.nova_errors, r)
            self.assertIsNone(r.exporter_error, r)
        self.assertQuiet(self.rounds(nova, exporter, 6)[1:])
        tree = self.tree(host)
        self.assertEqual(uuids, {n: v[0] for n, v in tree.items()})
        self.assertEqual(3, tree[names[0]][2]['VGPU']['total'])
        for name in names:
            self.assertTrue(base.OUR_TRAITS | {
                'OWNER_NOVA', 'CUSTOM_MDEV_SWVER_NVIDIA_535_161'}
                <= tree[name][1])


class TestExporterManagesVgpus(base.NovaTestCase):
    """nova-compute does not manage vGPUs ([devices] enabled_mdev_types
    empty): it owns the compute node, the exporter (manage mode) the
    per-GPU providers."""

    def setUp(self):
        super().setUp()
        self.log = self.useFixture(fixtures.FakeLogger(
            name='mdev_traits.placement.executor', level='WARNING'))

    def _start(self, host):
        builder, exporter, nova = self.make(host, 'manage', nova_types=())
        self.assertIsNone(nova.periodic())
        names = [base.child(host, a) for a in base.GPUS]
        rounds = self.rounds(nova, exporter, 8)
        self.assertGreater(rounds[0].exporter_writes, 0)
        # nova picks our providers up at its cache refresh (round 4) and
        # then reads their allocations each periodic: reads only
        self.assertQuiet(rounds[1:])
        self.assertEqual(3, rounds[-1].nova_reads)
        tree = self.tree(host)
        for name in names:
            self.assertEqual(4, tree[name][2]['VGPU']['total'])
            self.assertNotIn('OWNER_NOVA', tree[name][1])
        return builder, exporter, nova, names, tree

    def test_total_shrinks_below_usage(self):
        host = 'ex-shrink'
        builder, exporter, nova, names, tree = self._start(host)
        gpu0 = tree[names[0]][0]
        consumer_a = str(uuid.uuid4())
        self.allocate(consumer_a, {tree[host][0]: {'VCPU': 2},
                                   gpu0: {'VGPU': 3}})
        self.assertQuiet(self.rounds(nova, exporter, 2)[1:])
        # only one instance of the type fits now: keep the three in use
        builder.set_type_attr(base.GPUS[0], 'nvidia-231',
                              'available_instances', 1)
        self.round(nova, exporter, nova_first=True)
        inv = self.inventories(names[0])['VGPU']
        # capacity 1, as the device offers, max_unit too
        self.assertEqual((3, 2, 1), (inv['total'], inv['reserved'],
                                     inv['max_unit']))
        self.assertEqual(1, self.log.output.count('are allocated'))
        self.assertIn(consumer_a, self.log.output)
        # remembered: no write, no new warning while the instance is
        # there (a GET of the usages each cycle: Placement does not move
        # the generation of a provider whose allocations are deleted)
        self.assertQuiet(self.rounds(nova, exporter, 5), reads=2)
        self.assertEqual(1, self.log.output.count('are allocated'))
        # shrinking to nothing keeps the usage too (Placement would
        # refuse to delete inventory in use)
        builder.set_type_attr(base.GPUS[0], 'nvidia-231',
                              'available_instances', 0)
        self.round(nova, exporter, nova_first=False)
        inv = self.inventories(names[0])['VGPU']
        self.assertEqual((3, 3), (inv['total'], inv['reserved']))
        self.assertQuiet(self.rounds(nova, exporter, 3), reads=2)
        # the instance goes: the inventory follows the device again
        builder.set_type_attr(base.GPUS[0], 'nvidia-231',
                              'available_instances', 1)
        self.free(consumer_a)
        self.round(nova, exporter, nova_first=True)
        inv = self.inventories(names[0])['VGPU']
        self.assertEqual((1, 0, 1), (inv['total'], inv['reserved'],
                                     inv['max_unit']))
        self.assertQuiet(self.rounds(nova, exporter, 3))

    def test_vanished_gpu_is_reserved_then_deleted(self):
        host = 'ex-vanish'
        builder, exporter, nova, names, tree = self._start(host)
        gpu1 = tree[names[1]][0]
        consumer_b = str(uuid.uuid4())
        self.allocate(consumer_b, {tree[host][0]: {'VCPU': 2},
                                   gpu1: {'VGPU': 1}})
        self.assertQuiet(self.rounds(nova, exporter, 2)[1:])
        builder.remove_parent(base.GPUS[1])
        self.round(nova, exporter, nova_first=False)
        self.assertEqual(gpu1, self.provider(names[1])['uuid'])
        inv = self.inventories(names[1])['VGPU']
        self.assertEqual(inv['total'], inv['reserved'])
        self.assertEqual(1, self.log.output.count('has allocations'))
        # remembered: no DELETE, no write, no warning while in use
        rounds = self.rounds(nova, exporter, 5)
        self.assertQuiet(rounds, reads=2)
        self.assertEqual(0, exporter.client.requests[('DELETE', 409)])
        self.assertEqual(1, self.log.output.count('has allocations'))
        # the instance goes: the provider is deleted
        self.free(consumer_b)
        deleted = self.round(nova, exporter, nova_first=False)
        self.assertIsNone(self.provider(names[1]))
        self.assertIsNotNone(self.provider(names[0]))
        self.assertEqual(1, exporter.client.requests[('DELETE', 204)])
        # nova had the provider in its cache (it learnt our providers at
        # its last refresh): until its next refresh its periodic fails
        # reading that provider's allocations (404), then it recovers.
        self.assertEqual(('ResourceProviderAllocationRetrievalFailed',),
                         deleted.nova_errors)
        self.assertEqual(0, deleted.nova_writes)
        refreshed = self.round(nova, exporter, nova_first=True,
                               refresh=True)
        self.assertEqual((), refreshed.nova_errors)
        self.assertQuiet(self.rounds(nova, exporter, 3))

    def test_nova_adopts_our_providers(self):
        host = 'ex-adopt'
        builder, exporter, nova, names, tree = self._start(host)
        uuids = {n: v[0] for n, v in tree.items()}
        # the operator enables vGPUs in nova and restarts nova-compute
        nova = self.nova(host, builder.root, ('nvidia-231',),
                         compute_uuid=nova.compute_node.uuid)
        adopted = self.round(nova, exporter, nova_first=True)
        self.assertEqual((), adopted.nova_errors)
        self.assertQuiet(self.rounds(nova, exporter, 4)[1:])
        tree = self.tree(host)
        self.assertEqual(uuids, {n: v[0] for n, v in tree.items()})
        for name in names:
            self.assertIn('OWNER_NOVA', tree[name][1])
            self.assertTrue(base.OUR_TRAITS <= tree[name][1])
        # the GPU goes away: the provider is nova's now, we neither
        # delete it nor take its inventory, only our traits
        builder.remove_parent(base.GPUS[1])
        self.rounds(nova, exporter, 1)
        self.assertQuiet(self.rounds(nova, exporter, 3))
        _, traits, inv = self.tree(host)[names[1]]
        self.assertEqual({'OWNER_NOVA'}, traits)
        self.assertEqual({'VGPU': NOVA_VGPU}, inv)
