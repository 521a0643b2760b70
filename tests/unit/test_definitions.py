"""Custom traits and resource classes defined before use, with a fake
client: what is known is not asked again."""

import testtools

from mdev_traits.placement import client as client_mod
from mdev_traits.placement import definitions


class FakeClient(object):

    def __init__(self, existing=(), put_status=201):
        self.existing = set(existing)
        self.put_status = put_status
        self.calls = []

    def get(self, url):
        self.calls.append(('GET', url))
        names = url.split('name=in:', 1)[1].split(',')
        return client_mod.Response(200, {'traits': [
            n for n in names if n in self.existing]}, 'GET', url)

    def put(self, url, body):
        self.calls.append(('PUT', url))
        return client_mod.Response(self.put_status, {'errors': [
            {'detail': 'refused'}]}, 'PUT', url)


class TestTraits(testtools.TestCase):

    def test_existing_ones_are_looked_up_not_put(self):
        client = FakeClient(existing={'CUSTOM_A'})
        defs = definitions.Definitions(client)
        created, failures = defs.ensure_traits(('CUSTOM_A', 'CUSTOM_B'))
        self.assertEqual(['CUSTOM_B'], created)
        self.assertEqual([], failures)
        self.assertEqual([('GET', '/traits?name=in:CUSTOM_A,CUSTOM_B'),
                          ('PUT', '/traits/CUSTOM_B')], client.calls)
        # known now: nothing sent
        self.assertEqual(([], []), defs.ensure_traits(('CUSTOM_A',
                                                       'CUSTOM_B')))
        self.assertEqual(2, len(client.calls))

    def test_lookups_chunked(self):
        client = FakeClient()
        defs = definitions.Definitions(client)
        traits = ['CUSTOM_T%03d' % i for i in range(
            definitions.TRAITS_PER_QUERY + 1)]
        defs.ensure_traits(traits)
        gets = [c for c in client.calls if c[0] == 'GET']
        self.assertEqual(2, len(gets))

    def test_listed_traits_need_no_lookup_once(self):
        client = FakeClient()
        defs = definitions.Definitions(client)
        defs.learn_custom_traits({'CUSTOM_A'})
        defs.ensure_traits(('CUSTOM_A', 'CUSTOM_B', 'CUSTOM_C'))
        self.assertEqual([('PUT', '/traits/CUSTOM_B'),
                          ('PUT', '/traits/CUSTOM_C')], client.calls)
        # the next ones are looked up again (the list may be stale)
        defs.ensure_traits(('CUSTOM_D', 'CUSTOM_E'))
        self.assertEqual(('GET', '/traits?name=in:CUSTOM_D,CUSTOM_E'),
                         client.calls[2])

    def test_refused_and_forgotten(self):
        client = FakeClient(put_status=400)
        defs = definitions.Definitions(client)
        created, failures = defs.ensure_traits(('CUSTOM_A',))
        self.assertEqual([], created)
        self.assertEqual(['cannot create trait CUSTOM_A: refused'],
                         failures)
        defs.known_traits.add('CUSTOM_B')
        defs.forget_traits(('CUSTOM_B',))
        self.assertEqual(set(), defs.known_traits)


class TestResourceClasses(testtools.TestCase):

    def test_only_custom_and_once(self):
        client = FakeClient(put_status=204)
        defs = definitions.Definitions(client)
        defs.ensure_resource_classes({'VGPU': {}, 'CUSTOM_X': {}})
        defs.ensure_resource_classes({'CUSTOM_X': {}})
        self.assertEqual([('PUT', '/resource_classes/CUSTOM_X')],
                         client.calls)
