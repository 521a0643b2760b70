"""The placement layer's read-only questions about other hosts
(mdev_traits.placement.queries, used by ``requirements --check``) against
a real Placement, compared with Placement's own answers."""

from mdev_traits.placement import queries
from tests.functional import base

SWVER = 'CUSTOM_MDEV_SWVER_NVIDIA_535_129'


class TestQueries(base.PlacementTestCase):

    def _hosts(self, prefix):
        """Hosts <prefix>a (driver 535.129) and <prefix>b (525.85)."""
        for host, version in (('a', '535.129.03'), ('b', '525.85.05')):
            _, conf = self.make_host(prefix + host,
                                     [('0000:3b:00.0', version)])
            exporter = self.exporter(conf)
            self.assertTrue(exporter.cycle().ok)
        self.client = exporter.client

    def test_candidates_and_names(self):
        self._hosts('qn')
        query = 'resources=VGPU:1&required=%s' % SWVER
        found = queries.candidates(self.client, query)
        self.assertTrue(found)
        name_of = queries.ProviderNames(self.client)
        self.assertEqual(self.candidate_roots(SWVER),
                         {name_of(root) for root, _ in found})
        self.assertEqual(self.candidate_providers(SWVER),
                         {name_of(rp) for _, rp in found})
        self.assertEqual({'qna'}, {name_of(root) for root, _ in found}
                         & {'qna', 'qnb'})
        # a trait Placement does not know: no host has it
        self.assertEqual((), queries.candidates(
            self.client, 'resources=VGPU:1&required=CUSTOM_NO_SUCH_TRAIT'))
        # a provider that does not exist: its uuid stands for the name
        missing = '00000000-0000-0000-0000-000000000000'
        self.assertEqual(missing, name_of(missing))

    def test_capacity_and_traits(self):
        self._hosts('qc')
        providers = {p.name: p for p in queries.with_capacity(self.client,
                                                              'VGPU')
                     if p.name.startswith('qc')}
        self.assertEqual({'qca_pci_0000_3b_00_0', 'qcb_pci_0000_3b_00_0'},
                         set(providers))
        for name, rp in providers.items():
            self.assertEqual(self.provider(name.split('_')[0])['uuid'],
                             rp.root_uuid)
            self.assertEqual(self.traits(name),
                             set(queries.traits_of(self.client, rp.uuid)))
        self.assertIn(SWVER, queries.traits_of(
            self.client, providers['qca_pci_0000_3b_00_0'].uuid))
        self.assertEqual((), queries.with_capacity(self.client,
                                                   'CUSTOM_NOTHING'))
