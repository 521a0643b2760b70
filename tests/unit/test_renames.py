import testtools

from mdev_traits.mapping import desired as desired_mod
from mdev_traits import models
from mdev_traits.placement import plan
from mdev_traits.placement import record
from mdev_traits.placement import renames

ROOT = plan.ProviderState(uuid='root-uuid', name='cn1', generation=1)
INV = {'CUSTOM_MTTY': {'total': 12, 'reserved': 0, 'min_unit': 1,
                       'max_unit': 12, 'step_size': 1,
                       'allocation_ratio': 1.0}}


def desired(name='cn1_mtty_mtty', parent='mtty', inventories=INV,
            kind=models.KIND_MDEV):
    return desired_mod.DesiredTree(root_name='cn1', providers=(
        desired_mod.DesiredProvider(
            name=name, uuid='new-uuid', parent_device=parent,
            mdev_type='mtty-2', resource_class='CUSTOM_MTTY',
            inventories=inventories,
            traits={'CUSTOM_MDEV_TYPE_MTTY_2': ('x',)}, kind=kind),))


def snapshot(*states):
    return plan.TreeSnapshot(root=ROOT, providers={s.name: s for s in states})


OLD = plan.ProviderState(uuid='old-uuid', name='cn1_mtty', generation=3,
                         parent_uuid='root-uuid', inventories=dict(INV))
OURS = record.Ownership(created={'cn1_mtty': 'old-uuid'},
                        resource_classes={'cn1_mtty': frozenset(
                            {'CUSTOM_MTTY'})})


class TestRenames(testtools.TestCase):

    def test_legacy_names(self):
        name = renames.legacy_device_provider_name
        self.assertEqual('cn1_mtty', name('cn1', 'mtty'))
        self.assertEqual('cn1_0_0_0313', name('cn1', '0.0.0313'))
        self.assertEqual('cn1_matrix', name('cn1', 'matrix'))

    def test_only_our_own_provider_in_manage_mode(self):
        self.assertEqual({'cn1_mtty_mtty': OLD}, renames.renames(
            desired(), snapshot(OLD), OURS, manage=True))
        self.assertEqual({}, renames.renames(desired(), snapshot(OLD), OURS,
                                             manage=False))
        # not recorded as created, or another uuid under that name
        self.assertEqual({}, renames.renames(
            desired(), snapshot(OLD), record.Ownership(), manage=True))
        self.assertEqual({}, renames.renames(
            desired(), snapshot(OLD), record.Ownership(
                created={'cn1_mtty': 'other'}), manage=True))
        # the new name exists already; nothing to offer there
        new = plan.ProviderState(uuid='u', name='cn1_mtty_mtty',
                                 generation=1)
        self.assertEqual({}, renames.renames(
            desired(), snapshot(OLD, new), OURS, manage=True))
        self.assertEqual({}, renames.renames(
            desired(inventories={}), snapshot(OLD), OURS, manage=True))

    def test_plan_renames_and_keeps_the_record(self):
        the_plan = plan.plan(desired(), snapshot(OLD), OURS, True)
        ops = [op for op in the_plan.ops
               if not isinstance(op, plan.EnsureTraits)]
        self.assertIsInstance(ops[0], plan.RenameProvider)
        self.assertEqual(('cn1_mtty_mtty', 'old-uuid', 'cn1_mtty'),
                         (ops[0].name, ops[0].uuid, ops[0].old_name))
        # no delete, no create: traits on the same uuid
        self.assertFalse([op for op in ops if isinstance(
            op, (plan.DeleteProvider, plan.CreateProvider))])
        self.assertEqual({'old-uuid'}, {op.uuid for op in ops})
        self.assertEqual('old-uuid',
                         the_plan.ownership.created['cn1_mtty_mtty'])
        self.assertEqual('old-uuid', the_plan.ownership.created['cn1_mtty'])
        self.assertFalse(the_plan.withdrawn_providers)
