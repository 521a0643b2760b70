"""Planning a cleanup (mdev_traits.placement.cleanup, pure parts)."""

import dataclasses

import testtools

from mdev_traits.mapping import names
from mdev_traits.placement import cleanup
from mdev_traits.placement import plan as plan_mod


def state(name, traits, uuid=None):
    return plan_mod.ProviderState(uuid=uuid or names.provider_uuid(name),
                                  name=name, generation=1,
                                  traits=frozenset(traits))


class TestRecord(testtools.TestCase):

    def test_v1_record_created_by_recorded_inventory(self):
        @dataclasses.dataclass
        class V1(object):
            # the version 1 record: no "created"
            traits: dict
            resource_classes: dict

        own = V1(traits={'a': frozenset(['CUSTOM_X']),
                         'b': frozenset(['CUSTOM_Y'])},
                 resource_classes={'b': frozenset(['VGPU'])})
        record = cleanup.record_from_ownership(own)
        self.assertEqual({'b': names.provider_uuid('b')}, record.created)
        self.assertEqual({'a', 'b'}, record.names())

    def test_record_with_created_providers(self):
        @dataclasses.dataclass
        class V2(object):
            traits: dict
            resource_classes: dict
            created: dict

        record = cleanup.record_from_ownership(
            V2({'a': {'CUSTOM_X'}}, {'a': {'VGPU'}}, {'c': 'uuid-c'}))
        self.assertEqual({'c': 'uuid-c'}, record.created)

    def test_remaining(self):
        own = plan_mod.Ownership(
            traits={'a': frozenset(['T']), 'b': frozenset(['U'])},
            resource_classes={'a': frozenset(['VGPU'])})
        rest = cleanup.remaining_ownership(own, {'a'})
        self.assertEqual({'b': frozenset(['U'])}, rest.traits)
        self.assertEqual({}, rest.resource_classes)
        self.assertIn('a', own.traits)


class TestPlan(testtools.TestCase):

    def test_plan(self):
        record = cleanup.Record(
            traits={'nova': frozenset(['CUSTOM_X', 'OWNER_NOVA']),
                    'ours': frozenset(['CUSTOM_X']),
                    'adopted': frozenset(['CUSTOM_X']),
                    'other_uuid': frozenset(['CUSTOM_X']),
                    'gone': frozenset(['CUSTOM_X']),
                    'bare': frozenset(['CUSTOM_X'])},
            created={'ours': names.provider_uuid('ours'),
                     'adopted': names.provider_uuid('adopted'),
                     'other_uuid': names.provider_uuid('other_uuid')})
        providers = [
            state('nova', ['CUSTOM_X', 'OWNER_NOVA', 'CUSTOM_GOLD'],
                  uuid='n'),
            state('ours', ['CUSTOM_X', 'CUSTOM_GOLD']),
            state('adopted', ['CUSTOM_X', 'OWNER_NOVA']),
            state('other_uuid', ['CUSTOM_X'], uuid='someone-else'),
            state('bare', ['OWNER_NOVA'], uuid='x'),
            state('foreign', ['CUSTOM_X'], uuid='f'),
        ]
        actions, clean = cleanup.plan(providers, record)
        by_name = {a.name: a for a in actions}
        # never OWNER_NOVA, never someone else's trait
        nova = by_name['nova']
        self.assertEqual(
            (False, ('CUSTOM_X',), ('CUSTOM_GOLD', 'OWNER_NOVA')),
            (nova.delete, nova.remove, nova.keep))
        self.assertTrue(by_name['ours'].delete)
        self.assertEqual(('CUSTOM_GOLD',), by_name['ours'].keep)
        # adopted by nova: only our traits go
        self.assertFalse(by_name['adopted'].delete)
        # same name, another uuid: not the provider we created
        self.assertFalse(by_name['other_uuid'].delete)
        self.assertNotIn('foreign', by_name)
        self.assertEqual({'bare', 'gone'}, clean)
        self.assertIn('would delete the provider',
                      by_name['ours'].describe(dry_run=True))

    def test_trait_candidates(self):
        record = cleanup.Record(
            traits={'a': frozenset(['CUSTOM_HW_GPU_X', 'HW_GPU_API_VULKAN',
                                    'OWNER_NOVA',
                                    'CUSTOM_MDEV_SWVER_NVIDIA_535_104']),
                    'b': frozenset(['CUSTOM_MDEV_TYPE_NVIDIA_231'])},
            created={})
        # version buckets stay: an operator's threshold looks the same
        self.assertEqual(
            (['CUSTOM_HW_GPU_X', 'CUSTOM_MDEV_TYPE_NVIDIA_231'],
             ['CUSTOM_MDEV_SWVER_NVIDIA_535_104']),
            cleanup.trait_candidates(record))
