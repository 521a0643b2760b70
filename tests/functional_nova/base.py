"""A real Placement, a fake sysfs host, nova-compute's real report client
(:mod:`tests.functional_nova.fake_compute`) and the exporter, run in
rounds."""

import dataclasses
import os
import threading

import fixtures

from mdev_traits.placement import reconciler as reconciler_mod
from mdev_traits import service
from tests.functional import base
from tests.functional_nova import fake_compute

GPUS = ('0000:3b:00.0', '0000:5e:00.0')
VERSION = '535.129.03'
OUR_TRAITS = {'CUSTOM_MDEV_TYPE_NVIDIA_231', 'CUSTOM_PCI_VENDOR_10DE',
              'CUSTOM_PCI_DEVICE_10DE_1EB8',
              'CUSTOM_MDEV_DEVICE_API_VFIO_PCI',
              'CUSTOM_MDEV_SWVER_NVIDIA_535_129'}


@dataclasses.dataclass
class Round:
    """What each side sent during one round."""

    nova_writes: int = 0
    nova_reads: int = 0
    nova_conflicts: int = 0
    nova_errors: tuple = ()
    exporter_writes: int = 0
    exporter_reads: int = 0
    # of those, reads of the version bucket traits ([exporter]
    # trait_catalog_interval: one every 5 cycles by default)
    catalog_reads: int = 0
    exporter_conflicts: int = 0
    exporter_error: str = None
    # our traits that were missing right after nova's periodic
    removed_by_nova: tuple = ()

    @property
    def quiet(self):
        return (self.nova_writes == 0 and self.exporter_writes == 0
                and self.nova_conflicts == 0
                and self.exporter_conflicts == 0
                and not self.nova_errors and self.exporter_error is None)


def child(host, address):
    return '%s_pci_%s' % (host, address.replace(':', '_').replace('.', '_'))


class NovaTestCase(base.PlacementTestCase):

    def setUp(self):
        super().setUp()
        # nova's own log (its 409s are logged as errors before it
        # retries), kept with the test's details
        self.nova_log = self.useFixture(fixtures.FakeLogger(
            name='nova', level='INFO'))

    def make(self, host, mode, nova_types=('nvidia-231',),
             exporter_types=('nvidia-231',)):
        """(builder, exporter, nova) for a host with two T4s."""
        builder, conf = self.make_host(
            host, [(a, VERSION) for a in GPUS], enabled=exporter_types,
            mode=mode, create_root=False,
            extra='[exporter]\ndiscovery_sources = mdev\n')
        self.exporter_conf = conf
        exporter = self.exporter(conf)
        nova = self.nova(host, builder.root, nova_types)
        return builder, exporter, nova

    def nova(self, host, sysfs_root, nova_types=('nvidia-231',),
             compute_uuid=None):
        path = os.path.join(self.tmp, host, 'nova.conf')
        fake_compute.configure(fake_compute.nova_conf(
            path, self.placement.url, nova_types))
        return fake_compute.NovaCompute(host, sysfs_root,
                                        compute_uuid=compute_uuid)

    def published(self, exporter):
        """{provider name: traits} the exporter wants now."""
        tree = service.desired_tree(exporter.settings, exporter.collectors)
        return {p.name: p.trait_names for p in tree.providers}

    # -- running ----------------------------------------------------------
    def run_exporter(self, exporter, result):
        exporter.client.requests.clear()
        catalog = exporter.catalog.reads
        try:
            exporter.cycle()
        except reconciler_mod.NothingPublished as exc:
            result.exporter_error = str(exc)
        counts = exporter.client.requests
        result.catalog_reads = exporter.catalog.reads - catalog
        result.exporter_writes = exporter.client.write_count()
        result.exporter_reads = sum(n for (m, _s), n in counts.items()
                                    if m == 'GET')
        result.exporter_conflicts = sum(n for (_m, s), n in counts.items()
                                        if s == 409)

    def run_nova(self, nova, result, refresh=False, host=None, ours=None):
        nova.reset_counts()
        nova.periodic(refresh=refresh)
        result.nova_errors = tuple(type(e).__name__ for e in nova.errors)
        result.nova_writes = nova.write_count()
        result.nova_conflicts = nova.conflicts()
        result.nova_reads = sum(n for (m, _s), n in nova.requests.items()
                                if m == 'GET')
        if ours:
            missing = set()
            for name, traits in ours.items():
                if self.provider(name) is not None:
                    missing |= traits - self.traits(name)
            result.removed_by_nova = tuple(sorted(missing))

    def round(self, nova, exporter, nova_first, refresh=False, ours=None):
        """One nova periodic and one exporter cycle, in the given order.

        ``ours``: {provider: traits} to check right after nova's run.
        """
        result = Round()
        if nova_first:
            self.run_nova(nova, result, refresh, ours=ours)
            self.run_exporter(exporter, result)
        else:
            self.run_exporter(exporter, result)
            self.run_nova(nova, result, refresh, ours=ours)
        return result

    def concurrent_round(self, nova, exporter, refresh=False):
        """nova's periodic and the exporter's cycle at the same time."""
        result = Round()
        barrier = threading.Barrier(2)

        def run(func, *args):
            barrier.wait()
            func(*args)

        threads = [
            threading.Thread(target=run, args=(self.run_nova, nova, result,
                                               refresh)),
            threading.Thread(target=run, args=(self.run_exporter, exporter,
                                               result))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        return result

    def rounds(self, nova, exporter, count, start=0, ours=None):
        """``count`` rounds, alternating who goes first; every fifth one
        nova refreshes its cache (resource_provider_association_refresh
        is 300 s, the periodic runs every 60 s)."""
        return [self.round(nova, exporter, nova_first=bool(i % 2),
                           refresh=(i % 5 == 4), ours=ours)
                for i in range(start, start + count)]

    # -- Placement state --------------------------------------------------
    def tree(self, host):
        """{name: (uuid, traits, inventories)} under ``host``'s root."""
        root = self.provider(host)
        _, body = self.api('GET', '/resource_providers?in_tree=%s' %
                           root['uuid'], expect=200)
        result = {}
        for rp in body['resource_providers']:
            _, traits = self.api('GET', '/resource_providers/%s/traits' %
                                 rp['uuid'], expect=200)
            _, inv = self.api('GET', '/resource_providers/%s/inventories' %
                              rp['uuid'], expect=200)
            result[rp['name']] = (rp['uuid'], set(traits['traits']),
                                  inv['inventories'])
        return result

    def allocate(self, consumer, allocations):
        """PUT /allocations as nova's scheduler does for an instance."""
        self.api('PUT', '/allocations/%s' % consumer, {
            'allocations': {uuid: {'resources': res}
                            for uuid, res in allocations.items()},
            'project_id': 'p', 'user_id': 'u', 'consumer_generation': None,
            'consumer_type': 'INSTANCE'}, expect=204)

    def free(self, consumer):
        self.api('DELETE', '/allocations/%s' % consumer, expect=204)

    def assertQuiet(self, rounds, reads=1):
        """No write, no conflict, no error on either side; the exporter
        reads the tree once (and the usages of each provider whose
        inventory in use it holds reserved), and the version bucket traits
        at most every [exporter] trait_catalog_interval cycles."""
        for r in rounds:
            self.assertTrue(r.quiet, r)
            self.assertEqual(reads + r.catalog_reads, r.exporter_reads, r)
        every = 5
        self.assertLessEqual(sum(r.catalog_reads for r in rounds),
                             (len(rounds) + every - 1) // every)
