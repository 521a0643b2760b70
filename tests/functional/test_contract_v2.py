"""Trait contract v2 against the real Placement: version buckets from the
fleet, the v1 names withdrawn on upgrade, bounded versions and budget."""

import dataclasses
import json

from mdev_traits.mapping import budget
from mdev_traits.mapping import floors
from mdev_traits.mapping import gpu_traits
from mdev_traits.mapping import versions
from mdev_traits import service
from tests.functional import base

B = 'CUSTOM_MDEV_SWVER_NVIDIA_535_%d'
TYPE = 'CUSTOM_MDEV_TYPE_NVIDIA_231'
EVERY = 3
EXTRA = '\n[exporter]\ntrait_catalog_interval = %d\n' % EVERY


def swver(traits):
    return sorted(t for t in traits if t.startswith('CUSTOM_MDEV_SWVER_'))


class TestFleetBuckets(base.PlacementTestCase):

    def host(self, name, version):
        _builder, conf = self.make_host(
            name, [('0000:3b:00.0', version)], extra=EXTRA)
        return self.exporter(conf)

    def gpu_traits(self, name):
        return self.traits(name + '_pci_0000_3b_00_0')

    def test_later_hosts_carry_the_bucket_of_any_source(self):
        later = self.host('fleet-b', '535.129.03')
        older = self.host('fleet-c', '535.54.03')
        branch = self.host('fleet-d', '550.54.14')
        for exporter in (later, older, branch):
            self.assertTrue(exporter.cycle().ok)
        # nobody ran 535.104 yet
        self.assertIn(B % 129, self.gpu_traits('fleet-b'))
        self.assertNotIn(B % 104, self.gpu_traits('fleet-b'))
        source = self.host('fleet-a', '535.104.05')
        self.assertTrue(source.cycle().ok)
        # the source carries its own bucket from its first cycle on
        self.assertIn(B % 104, self.gpu_traits('fleet-a'))
        # ... and the later host within EVERY cycles
        cycles = 0
        while B % 104 not in self.gpu_traits('fleet-b'):
            self.assertLess(cycles, EVERY, 'bucket not carried in time')
            self.assertTrue(later.cycle().ok)
            self.assertIn(B % 104, self.gpu_traits('fleet-a'))
            self.assertTrue(source.cycle().ok)
            cycles += 1
        for _ in range(EVERY):
            for exporter in (older, branch):
                exporter.cycle()
        self.assertNotIn(B % 104, self.gpu_traits('fleet-c'))
        self.assertNotIn(B % 104, self.gpu_traits('fleet-d'))
        # Placement offers exactly the hosts at 535.m' >= 104
        self.assertEqual({'fleet-a', 'fleet-b'}, self.candidate_roots(
            '%s,%s' % (TYPE, B % 104)))

        # requirements keeps asking for the source's own bucket
        proc = self.run_cli(
            'requirements', '--config-file',
            source.settings.config_files[0], '--parent', '0000:3b:00.0',
            '--type', 'nvidia-231', '--format', 'json')
        self.assertEqual(0, proc.returncode, proc.stderr)
        required = [r['trait'] for r in json.loads(proc.stdout)['required']]
        self.assertEqual([B % 104], swver(required))

        # steady state: at most 1.2 reads per cycle on average, no write
        later.client.requests.clear()
        for _ in range(5 * EVERY):
            self.assertTrue(later.cycle().ok)
        counts = later.client.request_counts()
        self.assertEqual({'GET'}, set(counts))
        self.assertLessEqual(counts['GET'], 5 * EVERY * (1 + 1.0 / EVERY))
        self.assertEqual(0, later.client.write_count())

    def test_operator_threshold_trait(self):
        host = self.host('fleet-op', '470.161.07')
        self.assertTrue(host.cycle().ok)
        self.assertEqual(['CUSTOM_MDEV_SWVER_NVIDIA_470_161'],
                         swver(self.gpu_traits('fleet-op')))
        # an operator defines a threshold a flavor uses
        threshold = 'CUSTOM_MDEV_SWVER_NVIDIA_470_100'
        self.api('PUT', '/traits/%s' % threshold, expect=201)
        for _ in range(EVERY):
            host.cycle()
        self.assertIn(threshold, self.gpu_traits('fleet-op'))

    def test_date_like_minor_publishes_its_own_bucket_only(self):
        host = self.host('fleet-date', '1.20240101.3')
        result = host.cycle()
        self.assertTrue(result.ok)
        self.assertEqual(['CUSTOM_MDEV_SWVER_NVIDIA_1_20240101'],
                         swver(self.gpu_traits('fleet-date')))
        self.assertLessEqual(len(self.gpu_traits('fleet-date')),
                             budget.DEFAULT_MAX_TRAITS)


class TestUpgradeFromV1(base.PlacementTestCase):

    def test_v1_names_are_withdrawn_others_kept(self):
        _builder, conf = self.make_host(
            'v1-host', [('0000:3b:00.0', '535.129.03')])
        exporter = self.exporter(conf)
        tree = service.desired_tree(exporter.settings, exporter.collectors)
        (provider,) = tree.providers
        # what trait contract v1 published for this GPU: every bucket
        # 0..129 and the ladders from their lowest level
        v1 = dict(provider.traits)
        v1.update({B % k: ('v1',) for k in range(130)})
        for name in (gpu_traits.cuda_traits((7, 5), floors.NONE)
                     + gpu_traits.api_traits('OPENGL_V4_6', floors.NONE)
                     + gpu_traits.api_traits('DIRECT3D_V12_0', floors.NONE)
                     + gpu_traits.api_traits('DIRECTX_V12', floors.NONE)
                     + gpu_traits.api_traits('OPENCL_V3_0', floors.NONE)
                     + gpu_traits.resolution_traits('7680x4320', floors.NONE)):
            v1[name] = ('v1',)
        v1_tree = dataclasses.replace(tree, providers=(dataclasses.replace(
            provider, traits=v1),))
        self.assertTrue(exporter.reconciler.sync(v1_tree).ok)
        name = provider.name
        published = self.traits(name)
        self.assertIn(B % 0, published)
        self.assertIn('HW_GPU_API_OPENGL_V1_1', published)
        self.assertGreater(len(published), 200)
        # an operator's own trait on the same provider
        rp = self.provider(name)
        self.api('PUT', '/traits/CUSTOM_OPERATOR_RACK_7', expect=201)
        self.api('PUT', '/resource_providers/%s/traits' % rp['uuid'], {
            'resource_provider_generation': rp['generation'],
            'traits': sorted(published | {'CUSTOM_OPERATOR_RACK_7'})},
            expect=200)

        # upgrade: the same exporter, contract v2 mapping; more than half
        # of its traits go at once, so the withdrawal guard acts on the
        # third cycle that finds the same ([exporter]
        # withdrawal_confirm_cycles)
        for _ in range(3):
            self.assertTrue(exporter.cycle().ok)
        after = self.traits(name)
        self.assertNotIn(B % 0, after)
        self.assertNotIn('HW_GPU_API_OPENGL_V1_1', after)
        self.assertNotIn('HW_GPU_RESOLUTION_W800H600', after)
        self.assertNotIn('HW_GPU_CUDA_COMPUTE_CAPABILITY_V2_0', after)
        self.assertIn('CUSTOM_OPERATOR_RACK_7', after)
        self.assertIn(B % 129, after)
        self.assertIn('HW_GPU_API_OPENGL_V4_4', after)
        mine = after - {'CUSTOM_OPERATOR_RACK_7'}
        self.assertLessEqual(len(mine), budget.DEFAULT_MAX_TRAITS)
        # B % 0 .. 128 exist in Placement now: the catalog may add the
        # [exporter] max_version_buckets highest below 129 on the next
        # read, never more
        for _ in range(6):
            exporter.cycle()
        after = self.traits(name)
        buckets = sorted(swver(after), key=lambda t: int(t.split('_')[-1]))
        # the highest ones, without a gap (the 64-trait budget may take
        # the lowest of them on this type)
        self.assertLessEqual(len(buckets), 1 + versions.DEFAULT_MAX_BUCKETS)
        self.assertGreater(len(buckets), 9)
        self.assertEqual([B % k for k in range(130 - len(buckets), 130)],
                         buckets)
        self.assertLessEqual(len(after - {'CUSTOM_OPERATOR_RACK_7'}),
                             budget.DEFAULT_MAX_TRAITS)
