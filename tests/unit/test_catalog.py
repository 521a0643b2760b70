"""placement.catalog.TraitCatalog: one read every N cycles, the last list
kept when a read is refused, never an empty list in its place."""

import fixtures
import testtools

from mdev_traits.placement import catalog
from mdev_traits.placement import reader


class Resp(object):
    def __init__(self, status, body=None):
        self.status = status
        self.body = body
        self.error_detail = 'detail'


class FakeClient(object):
    def __init__(self, answers):
        self.answers = list(answers)
        self.urls = []

    def get(self, url):
        self.urls.append(url)
        return self.answers.pop(0)


B = 'CUSTOM_MDEV_SWVER_NVIDIA_535_%d'


class TestTraitCatalog(testtools.TestCase):

    def test_reads_every_n_cycles(self):
        client = FakeClient([Resp(200, {'traits': [B % 1]}),
                             Resp(200, {'traits': [B % 1, B % 2]})])
        cat = catalog.TraitCatalog(client, 'CUSTOM_MDEV_SWVER_', every=3)
        got = [cat.names() for _ in range(4)]
        self.assertEqual([{B % 1}] * 3 + [{B % 1, B % 2}], got)
        self.assertEqual(2, len(client.urls))
        self.assertEqual('/traits?name=startswith:CUSTOM_MDEV_SWVER_',
                         client.urls[0])
        self.assertEqual(2, cat.reads)

    def test_refused_read_keeps_the_last_list(self):
        client = FakeClient([Resp(200, {'traits': [B % 1]}), Resp(503),
                             Resp(200, {'traits': [B % 3]})])
        cat = catalog.TraitCatalog(client, 'CUSTOM_MDEV_SWVER_', every=1)
        self.assertEqual({B % 1}, cat.names())
        self.assertEqual({B % 1}, cat.names())      # 503: last list
        self.assertEqual({B % 3}, cat.names())      # read again at once

    def test_no_list_yet_fails_the_cycle(self):
        cat = catalog.TraitCatalog(FakeClient([Resp(500)]), 'X_')
        self.assertRaises(reader.ReadError, cat.names)

    def test_only_names_with_the_prefix(self):
        client = FakeClient([Resp(200, {'traits': [B % 1, 'HW_X', 7]})])
        cat = catalog.TraitCatalog(client, 'CUSTOM_MDEV_SWVER_')
        self.assertEqual({B % 1}, cat.names())

    def test_first_read_fills_the_known_custom_traits(self):
        client = FakeClient([
            Resp(200, {'traits': [B % 1, 'CUSTOM_PHYSNET_A', 'HW_X']}),
            Resp(200, {'traits': [B % 1, B % 2]})])
        known = set()
        cat = catalog.TraitCatalog(client, 'CUSTOM_MDEV_SWVER_', every=1,
                                   on_first_read=known.update)
        self.assertEqual({B % 1}, cat.names())
        self.assertEqual({B % 1, 'CUSTOM_PHYSNET_A'}, known)
        self.assertEqual('/traits?name=startswith:CUSTOM_', client.urls[0])
        # later reads list the buckets only, and leave ``known`` alone
        self.assertEqual({B % 1, B % 2}, cat.names())
        self.assertEqual('/traits?name=startswith:CUSTOM_MDEV_SWVER_',
                         client.urls[1])
        self.assertEqual({B % 1, 'CUSTOM_PHYSNET_A'}, known)

    def test_refused_first_read_fills_nothing_and_is_tried_again(self):
        client = FakeClient([Resp(503),
                             Resp(200, {'traits': ['CUSTOM_A', B % 1]})])
        known = set()
        cat = catalog.TraitCatalog(client, 'CUSTOM_MDEV_SWVER_',
                                   on_first_read=known.update)
        self.assertRaises(reader.ReadError, cat.names)
        self.assertEqual(set(), known)
        self.assertEqual({B % 1}, cat.names())
        self.assertEqual({'CUSTOM_A', B % 1}, known)
        self.assertEqual(['/traits?name=startswith:CUSTOM_'] * 2,
                         client.urls)

    def test_other_custom_traits_never_push_a_bucket_out(self):
        self.useFixture(fixtures.MockPatchObject(catalog, 'MAX_NAMES', 2))
        client = FakeClient([Resp(200, {'traits': [
            'CUSTOM_A', 'CUSTOM_B', 'CUSTOM_C', B % 1, B % 2]})])
        known = set()
        cat = catalog.TraitCatalog(client, 'CUSTOM_MDEV_SWVER_',
                                   on_first_read=known.update)
        self.assertEqual({B % 1, B % 2}, cat.names())
        self.assertEqual(2, len(known))
