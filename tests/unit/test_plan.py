import testtools

from mdev_traits.mapping import names
from mdev_traits.mapping import tree
from mdev_traits.placement import plan

ROOT = plan.ProviderState(uuid='root-uuid', name='cn1', generation=1)
PNAME = 'cn1_pci_0000_3b_00_0'


def desired(traits=('CUSTOM_MDEV_TYPE_NVIDIA_231',), total=4, partial=False,
            complete=True):
    inv = {'VGPU': {'total': total, 'reserved': 0, 'min_unit': 1,
                    'max_unit': total, 'step_size': 1,
                    'allocation_ratio': 1.0}} if total else {}
    prov = tree.DesiredProvider(
        name=PNAME, uuid=names.provider_uuid(PNAME),
        parent_device='0000:3b:00.0', mdev_type='nvidia-231',
        resource_class='VGPU', inventories=inv,
        traits={t: ('test',) for t in traits}, partial=partial)
    return tree.DesiredTree(root_name='cn1', providers=(prov,),
                            complete=complete)


def snapshot(traits=(), inventories=None, uuid='nova-uuid', gen=5):
    providers = {}
    if traits is not None:
        providers[PNAME] = plan.ProviderState(
            uuid=uuid, name=PNAME, generation=gen,
            parent_uuid='root-uuid', traits=frozenset(traits),
            inventories=inventories or {})
    return plan.TreeSnapshot(root=ROOT, providers=providers)


NOVA_INV = {'VGPU': {'total': 4, 'reserved': 0, 'min_unit': 1,
                     'max_unit': 4, 'step_size': 1,
                     'allocation_ratio': 1.0}}


class TestPlanDecorate(testtools.TestCase):

    def test_adds_traits_keeps_others(self):
        p = plan.plan(desired(), snapshot(('OWNER_NOVA', 'CUSTOM_OPS'),
                                          NOVA_INV),
                      plan.Ownership(), 'decorate')
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
                      plan.Ownership(), 'decorate',
                      known_traits={'CUSTOM_MDEV_TYPE_NVIDIA_231'})
        self.assertEqual([], p.ops)

    def test_removes_only_owned(self):
        own = plan.Ownership(traits={PNAME: frozenset({'CUSTOM_OLD'})})
        p = plan.plan(desired(), snapshot(
            ('CUSTOM_OLD', 'CUSTOM_OPS', 'CUSTOM_MDEV_TYPE_NVIDIA_231')),
            own, 'decorate')
        (op,) = p.ops
        self.assertEqual(('CUSTOM_OLD',), op.removed)
        self.assertIn('CUSTOM_OPS', op.traits)

    def test_reserved_prefix_owned_without_state(self):
        p = plan.plan(desired(), snapshot(
            ('CUSTOM_MDEV_TYPE_NVIDIA_222', 'CUSTOM_MDEV_TYPE_NVIDIA_231')),
            plan.Ownership(), 'decorate')
        (op,) = p.ops
        self.assertEqual(('CUSTOM_MDEV_TYPE_NVIDIA_222',), op.removed)

    def test_partial_parent_never_removes(self):
        own = plan.Ownership(traits={PNAME: frozenset({'CUSTOM_OLD'})})
        p = plan.plan(desired(traits=(), partial=True),
                      snapshot(('CUSTOM_OLD',)), own, 'decorate')
        self.assertEqual([], p.ops)
        self.assertEqual({'CUSTOM_OLD'}, p.ownership.traits[PNAME])

    def test_missing_provider_is_a_note_in_decorate(self):
        p = plan.plan(desired(), snapshot(None), plan.Ownership(),
                      'decorate')
        self.assertEqual([], p.ops)
        self.assertIn('does not exist', p.notes[0])

    def test_vanished_device_loses_our_traits_only_when_complete(self):
        tree_ = tree.DesiredTree(root_name='cn1', providers=(),
                                 complete=True)
        snap = snapshot(('OWNER_NOVA', 'CUSTOM_MDEV_TYPE_NVIDIA_231'))
        p = plan.plan(tree_, snap, plan.Ownership(), 'decorate')
        (op,) = p.ops
        self.assertEqual(('OWNER_NOVA',), op.traits)
        incomplete = tree.DesiredTree(root_name='cn1', providers=(),
                                      complete=False)
        p = plan.plan(incomplete, snap, plan.Ownership(), 'decorate')
        self.assertEqual([], p.ops)


class TestPlanManage(testtools.TestCase):

    def test_creates_provider_with_uuid5_then_traits_and_inventory(self):
        p = plan.plan(desired(), snapshot(None), plan.Ownership(), 'manage')
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
                      snapshot(('CUSTOM_MDEV_TYPE_NVIDIA_231',), other),
                      plan.Ownership(), 'manage')
        (op,) = p.ops
        self.assertEqual({'CUSTOM_OTHER', 'VGPU'}, set(op.inventories))
        self.assertEqual(9, op.inventories['CUSTOM_OTHER']['total'])

    def test_owner_nova_inventory_untouched(self):
        p = plan.plan(desired(total=2),
                      snapshot(('OWNER_NOVA', 'CUSTOM_MDEV_TYPE_NVIDIA_231'),
                               NOVA_INV), plan.Ownership(), 'manage')
        self.assertEqual([], p.ops)
        self.assertTrue(p.notes)

    def test_vanished_created_by_us_is_deleted(self):
        uuid = names.provider_uuid(PNAME)
        tree_ = tree.DesiredTree(root_name='cn1', providers=())
        p = plan.plan(tree_, snapshot(('CUSTOM_MDEV_TYPE_NVIDIA_231',),
                                      NOVA_INV, uuid=uuid),
                      plan.Ownership(resource_classes={
                          PNAME: frozenset({'VGPU'})}), 'manage')
        (op,) = p.ops
        self.assertIsInstance(op, plan.DeleteProvider)
        self.assertEqual(('VGPU',), op.reserve_rcs)

    def test_replan_provider(self):
        fresh = snapshot(('OWNER_NOVA',), NOVA_INV, gen=9).providers[PNAME]
        ops = plan.replan_provider(desired(), fresh, plan.Ownership(),
                                   'decorate')
        self.assertEqual(9, ops[0].generation)
