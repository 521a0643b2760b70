"""Planning a cleanup (mdev_traits.placement.cleanup, pure parts)."""

import testtools

from mdev_traits.mapping import names
from mdev_traits.placement import cleanup
from mdev_traits.placement import client as client_mod
from mdev_traits.placement import executor as executor_mod
from mdev_traits.placement import ops as ops_mod
from mdev_traits.placement import plan as plan_mod
from mdev_traits.placement import record as record_mod


def state(name, traits, uuid=None):
    return plan_mod.ProviderState(uuid=uuid or names.provider_uuid(name),
                                  name=name, generation=1,
                                  traits=frozenset(traits))


class TestRecord(testtools.TestCase):

    def test_v1_record_created_by_recorded_inventory(self):
        # the version 1 file, as the state store migrates it
        own = record_mod.Ownership.from_v1({
            'a': {'traits': ['CUSTOM_X']},
            'b': {'traits': ['CUSTOM_Y'], 'resource_classes': ['VGPU']}})
        record = cleanup.record_from_ownership(own)
        self.assertEqual({'b': names.provider_uuid('b')}, record.created)
        self.assertEqual({'a', 'b'}, record.names())
        self.assertEqual(frozenset(), record.defined)

    def test_record_with_created_providers(self):
        own = record_mod.Ownership(
            traits={'a': frozenset({'CUSTOM_X'})},
            resource_classes={'a': frozenset({'VGPU'})},
            created={'c': 'uuid-c'}, defined=frozenset({'CUSTOM_X'}))
        record = cleanup.record_from_ownership(own)
        self.assertEqual({'c': 'uuid-c'}, record.created)
        self.assertEqual({'CUSTOM_X'}, record.defined)

    def test_remaining(self):
        own = record_mod.Ownership(
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
                                    'OWNER_NOVA', 'CUSTOM_PHYSNET_PUBLIC',
                                    'CUSTOM_MDEV_SWVER_NVIDIA_535_104',
                                    'CUSTOM_MDEV_SWVER_NVIDIA_535_129']),
                    'b': frozenset(['CUSTOM_MDEV_TYPE_NVIDIA_231'])},
            created={},
            # defined: the exporter's own, also a bucket and one no
            # provider of this host has any more
            defined=frozenset(['CUSTOM_HW_GPU_X',
                               'CUSTOM_MDEV_SWVER_NVIDIA_535_129',
                               'CUSTOM_MDEV_SWVER_NVIDIA_510_47']))
        # only what it defined is deleted; what it set but did not define
        # (an operator's threshold, neutron's physnet, another host's
        # type trait) is kept
        self.assertEqual(
            (['CUSTOM_HW_GPU_X', 'CUSTOM_MDEV_SWVER_NVIDIA_510_47',
              'CUSTOM_MDEV_SWVER_NVIDIA_535_129'],
             ['CUSTOM_MDEV_SWVER_NVIDIA_535_104',
              'CUSTOM_MDEV_TYPE_NVIDIA_231', 'CUSTOM_PHYSNET_PUBLIC']),
            cleanup.trait_candidates(record))

    def test_no_defined_record_deletes_nothing(self):
        # a record written before defined_traits: no trait is the
        # exporter's to delete
        own = record_mod.Ownership(traits={'a': frozenset(['CUSTOM_X'])})
        record = cleanup.record_from_ownership(own)
        self.assertEqual(([], ['CUSTOM_X']),
                         cleanup.trait_candidates(record))

    def test_remaining_without_deleted_traits(self):
        own = record_mod.Ownership(traits={'a': frozenset(['CUSTOM_X'])},
                                   defined=frozenset(['CUSTOM_X', 'CUSTOM_Y']))
        rest = cleanup.remaining_ownership(own, {'a'}, {'CUSTOM_X'})
        self.assertEqual({'CUSTOM_Y'}, rest.defined)
        self.assertEqual({}, rest.traits)
        self.assertEqual({'CUSTOM_X', 'CUSTOM_Y'}, own.defined)


class FakeClient(object):
    """Placement's answers to PUT /traits/{name}, by name."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def get(self, url):
        self.calls.append(('GET', url))
        return client_mod.Response(200, {'traits': []}, 'GET', url)

    def put(self, url, body):
        self.calls.append(('PUT', url))
        status = self.answers[url.rsplit('/', 1)[1]]
        return client_mod.Response(status, {}, 'PUT', url)


class Recorder(ops_mod.NoRecorder):

    def __init__(self, client):
        self.client = client
        self.seen = []

    def defined(self, traits):
        # what Placement had been asked when the record was told
        self.seen.append((list(traits), list(self.client.calls)))


class TestDefinedTraits(testtools.TestCase):

    def test_only_201_is_defined(self):
        client = FakeClient({'CUSTOM_NEW': 201, 'CUSTOM_OPERATORS': 204,
                             'CUSTOM_REFUSED': 400})
        ex = executor_mod.Executor(client, reader=None)
        recorder = Recorder(client)
        outcome = ex.run(plan_mod.Plan(ops=[plan_mod.EnsureTraits((
            'CUSTOM_NEW', 'CUSTOM_OPERATORS', 'CUSTOM_REFUSED'))]),
            recorder=recorder)
        # 204: it existed (someone else's); 400: not created
        self.assertEqual({'CUSTOM_NEW'}, ex.defined)
        self.assertEqual(1, len(recorder.seen))
        traits, calls = recorder.seen[0]
        self.assertEqual(['CUSTOM_NEW'], traits)
        # recorded only after the 201
        self.assertIn(('PUT', '/traits/CUSTOM_NEW'), calls)
        self.assertEqual(1, len(outcome.failed))
        self.assertEqual({'CUSTOM_NEW', 'CUSTOM_OPERATORS'},
                         ex.known_traits)

    def test_known_traits_are_not_defined(self):
        client = FakeClient({'CUSTOM_NEW': 201})
        ex = executor_mod.Executor(client, reader=None)
        ex.known_traits.add('CUSTOM_NEW')
        recorder = Recorder(client)
        ex.run(plan_mod.Plan(ops=[plan_mod.EnsureTraits(('CUSTOM_NEW',))]),
               recorder=recorder)
        self.assertEqual(set(), ex.defined)
        self.assertEqual([], recorder.seen)
        self.assertEqual([], client.calls)
