import testtools

from mdev_traits.mapping import desired as desired_mod
from mdev_traits.mapping import names
from mdev_traits.placement import plan
from mdev_traits.placement import record

ROOT = plan.ProviderState(uuid='root-uuid', name='cn1', generation=1)
PNAME = 'cn1_pci_0000_3b_00_0'


def desired(traits=('CUSTOM_MDEV_TYPE_NVIDIA_231',), total=4, partial=False,
            complete=True):
    inv = {'VGPU': {'total': total, 'reserved': 0, 'min_unit': 1,
                    'max_unit': total, 'step_size': 1,
                    'allocation_ratio': 1.0}} if total else {}
    prov = desired_mod.DesiredProvider(
        name=PNAME, uuid=names.provider_uuid(PNAME),
        parent_device='0000:3b:00.0', mdev_type='nvidia-231',
        resource_class='VGPU', inventories=inv,
        traits={t: ('test',) for t in traits}, partial=partial)
    return desired_mod.DesiredTree(root_name='cn1', providers=(prov,),
                                   complete=complete)


def snapshot(traits=(), inventories=None, uuid='nova-uuid', gen=5):
    providers = {}
    if traits is not None:
        providers[PNAME] = plan.ProviderState(
            uuid=uuid, name=PNAME, generation=gen,
            parent_uuid='root-uuid', traits=frozenset(traits),
            inventories=inventories or {})
    return plan.TreeSnapshot(root=ROOT, providers=providers)


UUID = names.provider_uuid(PNAME)
CREATED = record.Ownership(created={PNAME: UUID},
                           resource_classes={PNAME: frozenset({'VGPU'})})
NOVA_INV = {'VGPU': {'total': 4, 'reserved': 0, 'min_unit': 1,
                     'max_unit': 4, 'step_size': 1,
                     'allocation_ratio': 1.0}}


class TestPlanDecorate(testtools.TestCase):

    def test_adds_traits_keeps_others(self):
        p = plan.plan(desired(), snapshot(('OWNER_NOVA', 'CUSTOM_OPS'),
                                          NOVA_INV),
                      record.Ownership(), False)
        ensure, set_traits = p.ops
        self.assertIsInstance(ensure, plan.EnsureTraits)
        self.assertEqual(('CUSTOM_MDEV_TYPE_NVIDIA_231',), ensure.traits)
        self.assertEqual(5, set_traits.generation)
        self.assertEqual({'OWNER_NOVA', 'CUSTOM_OPS',
                          'CUSTOM_MDEV_TYPE_NVIDIA_231'},
                         set(set_traits.traits))
        self.assertEqual((), set_traits.removed)
        # decorate never touches inventories
        self.assertFalse([o for o in p.ops
                          if isinstance(o, plan.SetInventories)])
        self.assertEqual({'CUSTOM_MDEV_TYPE_NVIDIA_231'},
                         p.ownership.traits[PNAME])

    def test_unchanged_makes_no_op(self):
        p = plan.plan(desired(), snapshot(('OWNER_NOVA',
                                           'CUSTOM_MDEV_TYPE_NVIDIA_231')),
                      record.Ownership(), False,
                      known_traits={'CUSTOM_MDEV_TYPE_NVIDIA_231'})
        self.assertEqual([], p.ops)

    def test_removes_only_owned(self):
        own = record.Ownership(traits={PNAME: frozenset({'CUSTOM_OLD'})})
        p = plan.plan(desired(), snapshot(
            ('CUSTOM_OLD', 'CUSTOM_OPS', 'CUSTOM_MDEV_TYPE_NVIDIA_231')),
            own, False)
        (op,) = p.ops
        self.assertEqual(('CUSTOM_OLD',), op.removed)
        self.assertIn('CUSTOM_OPS', op.traits)

    def test_reserved_prefix_owned_without_state(self):
        p = plan.plan(desired(), snapshot(
            ('CUSTOM_MDEV_TYPE_NVIDIA_222', 'CUSTOM_MDEV_TYPE_NVIDIA_231')),
            record.Ownership(recorded=False), False)
        (op,) = p.ops
        self.assertEqual(('CUSTOM_MDEV_TYPE_NVIDIA_222',), op.removed)

    def test_reserved_prefix_not_owned_with_a_record(self):
        # a record that does not name the trait: someone else set it
        p = plan.plan(desired(), snapshot(
            ('CUSTOM_MDEV_TYPE_NVIDIA_222', 'CUSTOM_MDEV_TYPE_NVIDIA_231')),
            record.Ownership(), False)
        self.assertEqual([], p.ops)
        self.assertNotIn(PNAME, p.ownership.traits)

    def test_partial_parent_never_removes(self):
        own = record.Ownership(traits={PNAME: frozenset({'CUSTOM_OLD'})})
        p = plan.plan(desired(traits=(), partial=True),
                      snapshot(('CUSTOM_OLD',)), own, False)
        self.assertEqual([], p.ops)
        self.assertEqual({'CUSTOM_OLD'}, p.ownership.traits[PNAME])

    def test_missing_provider_is_a_note_in_decorate(self):
        p = plan.plan(desired(), snapshot(None), record.Ownership(),
                      False)
        self.assertEqual([], p.ops)
        self.assertIn('does not exist', p.notes[0])

    def test_vanished_device_loses_our_traits_only_when_complete(self):
        tree_ = desired_mod.DesiredTree(root_name='cn1', providers=(),
                                        complete=True)
        snap = snapshot(('OWNER_NOVA', 'CUSTOM_MDEV_TYPE_NVIDIA_231'))
        own = record.Ownership(traits={
            PNAME: frozenset({'CUSTOM_MDEV_TYPE_NVIDIA_231'})})
        p = plan.plan(tree_, snap, own, False)
        (op,) = p.ops
        self.assertEqual(('OWNER_NOVA',), op.traits)
        incomplete = desired_mod.DesiredTree(root_name='cn1',
                                             providers=(), complete=False)
        p = plan.plan(incomplete, snap, own, False)
        self.assertEqual([], p.ops)
        self.assertEqual(own.traits, p.ownership.traits)


class TestPlanManage(testtools.TestCase):

    def test_creates_provider_with_uuid5_then_traits_and_inventory(self):
        p = plan.plan(desired(), snapshot(None), record.Ownership(), True)
        kinds = [type(o) for o in p.ops]
        self.assertEqual([plan.EnsureTraits, plan.CreateProvider,
                          plan.SetTraits, plan.SetInventories], kinds)
        self.assertEqual(names.provider_uuid(PNAME), p.ops[1].uuid)
        self.assertEqual('root-uuid', p.ops[1].parent_uuid)
        self.assertEqual(4, p.ops[3].inventories['VGPU']['total'])
        self.assertEqual({'VGPU'}, p.ownership.resource_classes[PNAME])

    def test_keeps_foreign_inventory(self):
        other = {'CUSTOM_OTHER': dict(NOVA_INV['VGPU'], total=9)}
        p = plan.plan(desired(total=2),
                      snapshot(('CUSTOM_MDEV_TYPE_NVIDIA_231',), other,
                               uuid=UUID),
                      CREATED, True)
        (op,) = p.ops
        self.assertEqual({'CUSTOM_OTHER', 'VGPU'}, set(op.inventories))
        self.assertEqual(9, op.inventories['CUSTOM_OTHER']['total'])

    def test_owner_nova_inventory_untouched(self):
        p = plan.plan(desired(total=2),
                      snapshot(('OWNER_NOVA', 'CUSTOM_MDEV_TYPE_NVIDIA_231'),
                               NOVA_INV), record.Ownership(), True)
        self.assertEqual([], p.ops)
        self.assertTrue(p.notes)

    def test_vanished_created_by_us_is_deleted(self):
        uuid = names.provider_uuid(PNAME)
        tree_ = desired_mod.DesiredTree(root_name='cn1', providers=())
        p = plan.plan(tree_, snapshot(('CUSTOM_MDEV_TYPE_NVIDIA_231',),
                                      NOVA_INV, uuid=uuid),
                      record.Ownership(resource_classes={
                          PNAME: frozenset({'VGPU'})},
                          created={PNAME: uuid}), True)
        (op,) = p.ops
        self.assertIsInstance(op, plan.DeleteProvider)
        self.assertEqual(('VGPU',), op.reserve_rcs)

    def test_replan_provider(self):
        fresh = snapshot(('OWNER_NOVA',), NOVA_INV, gen=9).providers[PNAME]
        ops = plan.replan_provider(desired(), fresh, record.Ownership(),
                                   False)
        self.assertEqual(9, ops[0].generation)


def inv(total, reserved=0):
    return {'VGPU': {'total': total, 'reserved': reserved, 'min_unit': 1,
                     'max_unit': total, 'step_size': 1,
                     'allocation_ratio': 1.0}}


class TestOwnershipRules(testtools.TestCase):
    """Ownership is a record, never a guess (pure planning rules)."""

    def _nova_pci(self, traits):
        # nova's PCI-in-Placement provider: "<root>_<PCI address>"
        return plan.ProviderState(
            uuid='5a0c7c0e-6b1e-4d77-9a39-1f1d3b3c9c11',
            name='cn1_0000:81:00.4', generation=3, parent_uuid='root-uuid',
            traits=frozenset(traits), inventories={})

    def test_undescribed_provider_is_never_written(self):
        nova = self._nova_pci({'CUSTOM_PCI_VENDOR_10DE', 'OWNER_NOVA'})
        snap = snapshot(('CUSTOM_MDEV_TYPE_NVIDIA_231',))
        snap.providers[nova.name] = nova
        for own in (record.Ownership(), record.Ownership(recorded=False)):
            for mode in (False, True):
                p = plan.plan(desired(), snap, own, mode)
                self.assertFalse([o for o in p.ops
                                  if getattr(o, 'name', None) == nova.name])
                self.assertNotIn(nova.name, p.ownership.traits)

    def test_recorded_traits_of_an_undescribed_provider_are_withdrawn(self):
        nova = self._nova_pci({'CUSTOM_PCI_VENDOR_10DE', 'CUSTOM_GOLD'})
        own = record.Ownership(traits={nova.name: frozenset({'CUSTOM_GOLD'})})
        snap = snapshot(None)
        snap.providers[nova.name] = nova
        tree_ = desired_mod.DesiredTree(root_name='cn1', providers=())
        (op,) = plan.plan(tree_, snap, own, False).ops
        self.assertEqual(('CUSTOM_GOLD',), op.removed)
        self.assertEqual(('CUSTOM_PCI_VENDOR_10DE',), op.traits)

    def test_lost_record_claims_wanted_traits_already_present(self):
        snap = snapshot(('CUSTOM_HW_GPU_API_CUDA', 'CUSTOM_OPS'))
        want = ('CUSTOM_MDEV_TYPE_NVIDIA_231', 'CUSTOM_HW_GPU_API_CUDA')
        lost = plan.plan(desired(traits=want), snap,
                         record.Ownership(recorded=False), False)
        self.assertEqual(set(want), lost.ownership.traits[PNAME])
        # with a record that does not name it, it stays someone else's
        kept = plan.plan(desired(traits=want), snap, record.Ownership(),
                         False)
        self.assertEqual({'CUSTOM_MDEV_TYPE_NVIDIA_231'},
                         kept.ownership.traits[PNAME])

    def test_manage_writes_no_inventory_where_it_created_nothing(self):
        p = plan.plan(desired(total=2), snapshot((), inv(4)),
                      record.Ownership(), True)
        self.assertFalse([o for o in p.ops
                          if isinstance(o, plan.SetInventories)])
        self.assertIn('not created by the exporter', p.notes[0])
        self.assertNotIn(PNAME, p.ownership.created)

    def test_uuid5_provider_not_in_record_is_another_exporters(self):
        snap = snapshot(('CUSTOM_MDEV_TYPE_NVIDIA_222',), inv(16),
                        uuid=UUID)
        # described: no trait, no inventory written
        p = plan.plan(desired(), snap, record.Ownership(), True)
        self.assertEqual([], p.ops)
        self.assertEqual(1, len(p.conflicts))
        self.assertIn(PNAME, list(p.conflicts.values())[0])
        # not described: not deleted
        tree_ = desired_mod.DesiredTree(root_name='cn1', providers=())
        p = plan.plan(tree_, snap, record.Ownership(), True)
        self.assertEqual([], p.ops)
        self.assertIn('root_provider_name', list(p.conflicts.values())[0])

    def test_created_provider_with_another_uuid_is_not_ours(self):
        # nova deleted ours and made its own under the same name
        own = record.Ownership(created={PNAME: UUID})
        tree_ = desired_mod.DesiredTree(root_name='cn1', providers=())
        p = plan.plan(tree_, snapshot((), inv(4), uuid='nova-uuid'), own,
                      True)
        self.assertEqual([], p.ops)
        self.assertEqual({}, p.ownership.created)

    def test_operator_reserved_is_kept(self):
        snap = snapshot(('CUSTOM_MDEV_TYPE_NVIDIA_231',), inv(4, 2),
                        uuid=UUID)
        p = plan.plan(desired(total=4), snap, CREATED, True,
                      known_traits={'CUSTOM_MDEV_TYPE_NVIDIA_231'})
        self.assertEqual([], p.ops)
        # fewer instances: the reservation stays, bounded by the total
        (op,) = plan.plan(desired(total=1), snap, CREATED, True).ops
        self.assertEqual(1, op.inventories['VGPU']['reserved'])

    def test_only_our_own_reservation_is_taken_back(self):
        own = record.Ownership(created={PNAME: UUID},
                               resource_classes={PNAME: frozenset({'VGPU'})},
                               reservations={PNAME: {'VGPU': (1, 4)}})
        # Placement still shows what we set: back to the operator's 1
        (op,) = [o for o in plan.plan(
            desired(total=4), snapshot((), inv(4, 4), uuid=UUID), own,
            True).ops if isinstance(o, plan.SetInventories)]
        self.assertEqual(1, op.inventories['VGPU']['reserved'])
        # someone changed it since: their value stays
        ops = plan.plan(desired(total=4),
                        snapshot((), inv(4, 3), uuid=UUID), own,
                        True).ops
        self.assertFalse([o for o in ops
                          if isinstance(o, plan.SetInventories)])

    def test_withdrawal_size(self):
        own = record.Ownership(traits={PNAME: frozenset(
            {'CUSTOM_A', 'CUSTOM_B', 'CUSTOM_C'})})
        snap = snapshot(('CUSTOM_A', 'CUSTOM_B', 'CUSTOM_C'))
        small = plan.plan(desired(traits=('CUSTOM_A', 'CUSTOM_B')), snap,
                          own, False)
        self.assertFalse(plan.withdrawal(small)[0])
        large = plan.plan(desired(traits=('CUSTOM_A',)), snap, own,
                          False)
        is_large, content, summary = plan.withdrawal(large)
        self.assertTrue(is_large)
        self.assertIn('2 of 3 trait(s)', summary)
        self.assertEqual({PNAME: ['CUSTOM_B', 'CUSTOM_C']},
                         content['traits'])
        # same withdrawal, same content; additions only removes nothing
        again = plan.plan(desired(traits=('CUSTOM_A',)), snap, own,
                          False)
        self.assertEqual(content, plan.withdrawal(again)[1])
        self.assertTrue(plan.covered(plan.withdrawal(small)[1],
                                     dict(content, cycles=3)))
        held = plan.plan(desired(traits=('CUSTOM_A',)), snap, own,
                         False, withdraw=False)
        self.assertEqual([], held.ops)
        self.assertEqual(own.traits, held.ownership.traits)

    def test_vanished_created_provider_records_operator_reserved(self):
        own = record.Ownership(created={PNAME: UUID},
                               resource_classes={PNAME: frozenset({'VGPU'})})
        tree_ = desired_mod.DesiredTree(root_name='cn1', providers=())
        (op,) = plan.plan(tree_, snapshot((), inv(4, 2), uuid=UUID), own,
                          True).ops
        self.assertEqual({'VGPU': 2}, op.operator_reserved)
        self.assertEqual({PNAME}, plan.plan(
            tree_, snapshot((), inv(4, 2), uuid=UUID), own,
            True).withdrawn_providers)


class TestManageFlag(testtools.TestCase):

    def test_a_mode_name_is_refused(self):
        # the settings decide manage once; "decorate" must not read as true
        for mode in ('manage', 'decorate', None):
            self.assertRaises(TypeError, plan.plan, desired(),
                              snapshot(None), record.Ownership(), mode)
            self.assertRaises(TypeError, plan.replan_provider, desired(),
                              snapshot(None).root, record.Ownership(), mode)
