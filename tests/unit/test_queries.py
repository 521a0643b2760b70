"""The read-only Placement questions of ``requirements --check``, with a
fake client (the functional tests ask the real Placement)."""

import testtools

from mdev_traits.placement import client as client_mod
from mdev_traits.placement import queries

ROOT = 'r0000000-0000-0000-0000-000000000000'
RP = 'p0000000-0000-0000-0000-000000000000'


class FakeClient(object):

    def __init__(self, answers):
        # url -> (status, body)
        self.answers = answers
        self.calls = []

    def get(self, url):
        self.calls.append(url)
        status, body = self.answers.get(url, (404, {'errors': [
            {'detail': 'not found'}]}))
        return client_mod.Response(status, body, 'GET', url)


class TestCandidates(testtools.TestCase):

    def test_roots_and_providers_of_each_request(self):
        client = FakeClient({'/allocation_candidates?resources=VGPU:1': (
            200, {'allocation_requests': [
                {'allocations': {RP: {'resources': {'VGPU': 1}}}}],
                'provider_summaries': {RP: {'root_provider_uuid': ROOT}}})})
        self.assertEqual(((ROOT, RP),), queries.candidates(
            client, 'resources=VGPU:1'))

    def test_refused_query_selects_nothing(self):
        client = FakeClient({'/allocation_candidates?q': (400, {})})
        self.assertEqual((), queries.candidates(client, 'q'))

    def test_other_errors_are_unavailable(self):
        client = FakeClient({'/allocation_candidates?q': (503, {
            'errors': [{'detail': 'down'}]})})
        exc = self.assertRaises(client_mod.PlacementUnavailable,
                                queries.candidates, client, 'q')
        self.assertEqual('GET /allocation_candidates?q -> 503: down',
                         str(exc))


class TestWithCapacity(testtools.TestCase):

    def test_providers_bounded(self):
        records = [{'uuid': 'u%d' % i, 'name': 'n%d' % i,
                    'root_provider_uuid': ROOT} for i in range(5)]
        client = FakeClient({
            '/resource_providers?resources=CUSTOM_X%3AY:1': (
                200, {'resource_providers': records})})
        found = queries.with_capacity(client, 'CUSTOM_X:Y', limit=3)
        self.assertEqual([queries.Provider('u%d' % i, 'n%d' % i, ROOT)
                          for i in range(3)], list(found))

    def test_unreadable_list_is_empty(self):
        client = FakeClient({})
        self.assertEqual((), queries.with_capacity(client, 'VGPU'))


class TestTraitsAndNames(testtools.TestCase):

    def test_traits(self):
        client = FakeClient({'/resource_providers/%s/traits' % RP: (
            200, {'traits': ['A', 'B']})})
        self.assertEqual(('A', 'B'), queries.traits_of(client, RP))
        self.assertEqual((), queries.traits_of(client, ROOT))

    def test_names_looked_up_once_and_bounded(self):
        client = FakeClient({'/resource_providers/%s' % RP: (
            200, {'name': 'host1'})})
        names = queries.ProviderNames(client, limit=2)
        self.assertEqual('host1', names(RP))
        self.assertEqual('host1', names(RP))
        # unreadable: the uuid stands for the name
        self.assertEqual(ROOT, names(ROOT))
        self.assertEqual(2, len(client.calls))
        # over the bound: no more requests
        self.assertEqual('other', names('other'))
        self.assertEqual(2, len(client.calls))
        self.assertEqual('host1', names(RP))
