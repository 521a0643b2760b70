"""The read-only Placement questions of ``requirements --check``, with a
fake client (the functional tests ask the real Placement)."""

import fixtures
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
        answer = {'allocation_requests': [
            {'allocations': {RP: {'resources': {'VGPU': 1}}}}],
            'provider_summaries': {RP: {'root_provider_uuid': ROOT}}}
        client = FakeClient({
            '/allocation_candidates?resources=VGPU:1&limit=1000': (
                200, answer)})
        notes = []
        self.assertEqual(((ROOT, RP),), queries.candidates(
            client, 'resources=VGPU:1', notes))
        self.assertEqual([], notes)

    def test_bounded_and_said(self):
        # nova's own bound ([scheduler] max_placement_results) as limit
        requests = [{'allocations': {'p%d' % i: {}}} for i in range(3)]
        summaries = {'p%d' % i: {'root_provider_uuid': 'r%d' % i}
                     for i in range(3)}
        client = FakeClient({'/allocation_candidates?q&limit=2': (
            200, {'allocation_requests': requests,
                  'provider_summaries': summaries})})
        notes = []
        self.assertEqual((('r0', 'p0'), ('r1', 'p1')),
                         queries.candidates(client, 'q', notes, limit=2))
        self.assertEqual(['only the first 2 allocation candidates were '
                          'asked for: more hosts may qualify'], notes)

    def test_refused_query_selects_nothing(self):
        client = FakeClient({'/allocation_candidates?q&limit=1000': (
            400, {})})
        self.assertEqual((), queries.candidates(client, 'q'))

    def test_other_errors_are_unavailable(self):
        client = FakeClient({'/allocation_candidates?q&limit=1000': (503, {
            'errors': [{'detail': 'down'}]})})
        exc = self.assertRaises(client_mod.PlacementUnavailable,
                                queries.candidates, client, 'q')
        self.assertEqual('GET /allocation_candidates?q&limit=1000 -> 503: '
                         'down',
                         str(exc))


class TestWithCapacity(testtools.TestCase):

    def test_providers_bounded(self):
        records = [{'uuid': 'u%d' % i, 'name': 'n%d' % i,
                    'root_provider_uuid': ROOT} for i in range(5)]
        client = FakeClient({
            '/resource_providers?resources=CUSTOM_X%3AY:1': (
                200, {'resource_providers': records})})
        notes = []
        found = queries.with_capacity(client, 'CUSTOM_X:Y', limit=3,
                                      notes=notes)
        self.assertEqual([queries.Provider('u%d' % i, 'n%d' % i, ROOT)
                          for i in range(3)], list(found))
        self.assertEqual(['5 providers have free CUSTOM_X:Y: only the '
                          'first 3 were looked at'], notes)

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
        self.assertEqual({'other'}, names.unresolved)


class TestCheckSaysWhatIsLeftOut(testtools.TestCase):
    """``requirements --check`` never shows a cut list as complete."""

    class Reqs(object):
        resource_class = 'VGPU'
        traits = ('CUSTOM_A',)

        def query(self):
            return 'resources=VGPU:1&required=CUSTOM_A'

    def test_incomplete_lines(self):
        from mdev_traits.cmd import requirements as requirements_cmd

        requests = [{'allocations': {'p%d' % i: {}}} for i in range(1000)]
        summaries = {'p%d' % i: {'root_provider_uuid': ROOT}
                     for i in range(1000)}
        client = FakeClient({
            '/allocation_candidates?resources=VGPU:1&required=CUSTOM_A'
            '&limit=1000': (200, {'allocation_requests': requests,
                                  'provider_summaries': summaries})})
        result = requirements_cmd.check(client, self.Reqs())
        self.assertEqual(
            ['only the first 1000 allocation candidates were asked for: '
             'more hosts may qualify'], result['incomplete'])
        out = self.useFixture(fixtures.StringStream('stdout'))
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', out.stream))
        requirements_cmd.print_check(result)
        out.stream.flush()
        self.assertIn('Incomplete: only the first 1000 allocation '
                      'candidates were asked for: more hosts may qualify',
                      out.getDetails()['stdout'].as_text())

    def test_complete_lists_say_nothing(self):
        from mdev_traits.cmd import requirements as requirements_cmd

        client = FakeClient({})
        client.answers[
            '/allocation_candidates?resources=VGPU:1&required=CUSTOM_A'
            '&limit=1000'] = (200, {'allocation_requests': [],
                                    'provider_summaries': {}})
        result = requirements_cmd.check(client, self.Reqs())
        self.assertEqual([], result['incomplete'])
