"""Audit of issues 9 and 11 against the real Placement: the failures issue
9 observed, replayed as they happened (the real command line, a state
file lost between runs, an operator's rule file), and issue 11's "at
least" semantics checked for every ladder name the shipped sample hosts
publish, through Placement's own allocation candidates."""

import collections
import json
import os
import re

from mdev_traits import demo
from mdev_traits.mapping import floors
from mdev_traits.testing import placement as placement_fixture
from mdev_traits.testing import samples
from mdev_traits.testing import sysfs_builder
from tests.functional import base
from tests.functional import test_gpu_capabilities as caps
from tests.functional import test_ownership

CUDA = re.compile(r'^(?:CUSTOM_)?HW_GPU_CUDA_COMPUTE_CAPABILITY_V')
GPUS = (('0000:3b:00.0', '535.129.03'), ('0000:5e:00.0', '535.129.03'))


def child(root, address):
    return '%s_pci_%s' % (root, address.replace(':', '_').replace('.', '_'))


class TestLostRecordThenRuleSwitchesCudaOff(
        test_ownership.OwnershipTestCase):
    """Issue 9: "after its state file is lost [...] 20 CUDA traits stayed
    in Placement after a rule switched CUDA off, while the run reported
    success"."""

    def once(self, conf):
        proc = self.run_cli('--config-file', conf, '--once')
        self.assertEqual(0, proc.returncode, proc.stderr)
        return proc

    def osc_traits(self, name):
        out = placement_fixture.osc(
            self.placement, 'resource', 'provider', 'trait', 'list',
            self.provider(name)['uuid'], '-f', 'json')
        return {row['name'] for row in json.loads(out)}

    def test_rule_switching_cuda_off_after_the_record_was_lost(self):
        self.nova_tree('cudaoff', GPUS[0][0])
        root = self.provider('cudaoff')
        self.api('POST', '/resource_providers', {
            'name': child('cudaoff', GPUS[1][0]),
            'parent_provider_uuid': root['uuid']}, expect=200)
        profiles = os.path.join(self.tmp, 'cudaoff', 'profiles.d')
        os.makedirs(profiles)
        builder, conf = self.host(
            'cudaoff', gpus=GPUS, mode='decorate', create_root=False,
            extra='[profiles]\ndirectory = %s\n' % profiles)
        names = [child('cudaoff', a) for a, _v in GPUS]
        # nova's OWNER_NOVA and an operator's trait beside the exporter's
        for name in names:
            self.set_traits(name, ['OWNER_NOVA', 'CUSTOM_RACK_7'])
        self.once(conf)
        for name in names:
            self.assertTrue({t for t in self.traits(name) if CUDA.match(t)},
                            name)
        # the record is lost between runs: a file the service user could
        # not read was moved aside (as a damaged one is)
        state = self.state_path('cudaoff')
        os.rename(state, state + '.moved-aside')
        self.once(conf)
        # an operator's rule switches CUDA off on every T4
        with open(os.path.join(profiles, '50-no-cuda.yaml'), 'w') as f:
            f.write('rules:\n  - name: no-cuda\n    match: {device: "1eb8"}\n'
                    '    set: {cuda: false}\n')
        self.once(conf)
        for name in names:
            traits = self.osc_traits(name)
            self.assertEqual(set(), {t for t in traits if CUDA.match(t)},
                             name)
            # everyone else's traits stay; the rest of the exporter's too
            self.assertTrue({'OWNER_NOVA', 'CUSTOM_RACK_7',
                             test_ownership.TYPE_231} <= traits, traits)
        self.assertEqual(set(), {t for t in self.candidate_roots(
            'HW_GPU_CUDA_COMPUTE_CAPABILITY_V7_0')} & {'cudaoff'})


class _Family(object):
    """A ladder family of published names: (family, level) per name."""

    PATTERNS = (
        ('cuda', re.compile(
            r'^(?:CUSTOM_)?HW_GPU_CUDA_COMPUTE_CAPABILITY_V(\d+)_(\d+)$')),
        ('heads', re.compile(r'^(?:CUSTOM_)?HW_GPU_MAX_DISPLAY_HEADS_(\d+)$')),
        ('framebuffer', re.compile(r'^CUSTOM_VGPU_FRAMEBUFFER_MB_(\d+)$')),
        ('resolution', re.compile(
            r'^(?:CUSTOM_)?HW_GPU_RESOLUTION_W(\d+)H(\d+)$')),
        ('swver', re.compile(r'^CUSTOM_MDEV_SWVER_(.+_\d+)_(\d+)$')),
        ('api', re.compile(r'^(?:CUSTOM_)?HW_GPU_API_([A-Z0-9]+?)_V'
                           r'(\d+)(?:_(\d+))?([A-Z]?)$')),
    )

    @classmethod
    def parse(cls, name):
        """(family key, level, componentwise) or None."""
        for kind, pattern in cls.PATTERNS:
            match = pattern.match(name)
            if match is None:
                continue
            groups = match.groups()
            if kind == 'resolution':
                return kind, (int(groups[0]), int(groups[1])), True
            if kind == 'swver':
                return 'swver_' + groups[0], (int(groups[1]),), False
            if kind == 'api':
                return ('api_' + groups[0],
                        (int(groups[1]), int(groups[2] or 0), groups[3]),
                        False)
            return kind, tuple(int(g) for g in groups), False
        return None


def covers(top, level, componentwise):
    if componentwise:
        return all(t >= v for t, v in zip(top, level))
    return top >= level


class TestAtLeastForEveryPublishedName(base.PlacementTestCase):
    """Issue 11: every capability stays requestable with a plain
    ``trait:X=required`` and "at least" holds for every published name:
    Placement offers, for each ladder name X, exactly the GPUs whose own
    level in X's family is at least X's."""

    def test_sample_hosts(self):
        hosts = []
        for sample in samples.HOSTS:
            host = sample.name
            if not host.startswith('gpu-host-'):
                continue
            hostdir = os.path.join(self.tmp, host)
            os.makedirs(hostdir)
            sysfs = sample.extract(os.path.join(hostdir, 'sys'))
            conf = os.path.join(hostdir, 'mdev-traits.conf')
            demo.write_config(conf, host, sysfs, self.placement.url,
                              sample.config, 'manage')
            with open(conf, 'a') as f:
                f.write('\n[exporter]\ntrait_catalog_interval = 1\n')
            hosts.append(self.exporter(conf))
        self.assertGreaterEqual(len(hosts), 4)
        # and the other T4 series and an A100 (more levels per family)
        for host, ids, types, enabled in (
                ('at-t4-1b', caps.T4, caps.T4_TYPES, 'nvidia-222'),
                ('at-t4-2a', caps.T4, caps.T4_TYPES, 'nvidia-226'),
                ('at-t4-4c', caps.T4, caps.T4_TYPES, 'nvidia-234'),
                ('at-a100', caps.A100, caps.A100_TYPES, 'nvidia-472')):
            root = os.path.join(self.tmp, host, 'sys')
            builder = sysfs_builder.SysfsBuilder(root)
            builder.add_pci_mdev_parent('0000:3b:00.0', types=types,
                                        driver_version='535.104.05', **ids)
            hosts.append(self.exporter(self.write_conf(
                host, root, [enabled], 'manage', True,
                '[exporter]\ntrait_catalog_interval = 1\n')))
        # two rounds: the later hosts pick the earlier ones' buckets up
        for _ in range(2):
            for exporter in hosts:
                self.assertTrue(exporter.cycle().ok)
        _, body = self.api('GET', '/resource_providers', expect=200)
        published = {}
        for rp in body['resource_providers']:
            if rp['parent_provider_uuid'] is None:
                continue
            _, inv = self.api('GET', '/resource_providers/%s/inventories'
                              % rp['uuid'], expect=200)
            if 'VGPU' not in inv['inventories']:
                continue
            published[rp['name']] = self.traits(rp['name'])
        self.assertGreaterEqual(len(published), 8, published)
        # each provider's levels per family, from what it published
        levels = collections.defaultdict(dict)
        names = {}
        for name, traits in published.items():
            for trait in traits:
                parsed = _Family.parse(trait)
                if parsed is None:
                    continue
                family, level, componentwise = parsed
                names[trait] = parsed
                levels[name].setdefault(family, []).append(level)
        families = {family for family, _l, _c in names.values()}
        for expected in ('cuda', 'heads', 'framebuffer', 'resolution'):
            self.assertIn(expected, families)
        self.assertTrue([f for f in families if f.startswith('swver_')])
        self.assertTrue([f for f in families if f.startswith('api_')])
        # the 535 branch is run at two minors in the samples: the later
        # host carries the earlier one's bucket
        self.assertIn('CUSTOM_MDEV_SWVER_NVIDIA_535_129',
                      published['gpu-host-5_pci_0000_3b_00_0'])
        self.assertIn('CUSTOM_MDEV_SWVER_NVIDIA_535_104',
                      published['gpu-host-1_pci_0000_3b_00_0'])
        for trait, (family, level, componentwise) in sorted(names.items()):
            # published from the floor up, never below it
            self.assertEqual(trait, floors.raise_to_floor(trait), trait)
            expected = {name for name, per in levels.items()
                        if any(covers(top, level, componentwise)
                               for top in per.get(family, ()))}
            self.assertEqual(expected, self.candidate_providers(trait),
                             trait)


class TestGuardAndRoot(test_ownership.OwnershipTestCase):
    """Issue 9, items 4 and 5, the cases the other modules do not replay:
    the withdrawal guard on traits (not providers), and a mistyped
    ``sysfs_root`` with no enabled type at all."""

    def test_mass_trait_withdrawal_waits_for_three_cycles(self):
        profiles = os.path.join(self.tmp, 'tguard', 'profiles.d')
        os.makedirs(profiles)
        _builder, conf = self.host(
            'tguard', extra='[profiles]\ndirectory = %s\n'
            '[exporter]\nmax_traits_per_provider = 128\n' % profiles)
        rule = os.path.join(profiles, '10-tags.yaml')
        tags = ['CUSTOM_TAG_%02d' % i for i in range(60)]
        with open(rule, 'w') as f:
            f.write('rules:\n  - name: tags\n    match: {}\n'
                    '    traits: [%s]\n' % ', '.join(tags))
        name = child('tguard', '0000:3b:00.0')
        self.assertTrue(self.exporter(conf).cycle().ok)
        before = self.traits(name)
        self.assertTrue(set(tags) <= before)
        # more than half of the exporter's traits would go at once
        self.assertGreater(len(tags) * 2, len(before))
        with open(rule, 'w') as f:
            f.write('rules: []\n')
        for _ in range(2):
            self.assertTrue(self.exporter(conf).cycle().ok)
            self.assertEqual(before, self.traits(name),
                             self.logs.output[-1500:])
        held = [line for line in self.logs.output.splitlines()
                if line.startswith('WARNING Holding back')]
        self.assertEqual(2, len(held), self.logs.output[-3000:])
        self.assertTrue(self.exporter(conf).cycle().ok)
        after = self.traits(name)
        self.assertEqual(set(), set(tags) & after)
        self.assertEqual(before - set(tags), after)

    def test_mistyped_root_without_enabled_types(self):
        builder, conf = self.host('noenabled')
        self.assertTrue(self.exporter(conf).cycle().ok)
        name = child('noenabled', '0000:3b:00.0')
        before = (self.traits(name), self.inventories(name))
        bad = self.conf('noenabled', builder.root + '-typo', enabled=())
        proc = self.run_cli('--config-file', bad, '--once')
        self.assertNotEqual(0, proc.returncode, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        self.assertEqual(1, len(lines), proc.stderr)
        self.assertIn('[exporter] sysfs_root', lines[0])
        self.assertEqual(before, (self.traits(name), self.inventories(name)))
        self.assertIsNotNone(self.provider(name))


# The 535 LTS branch as NVIDIA released it (vGPU 16.x host drivers):
# a fleet upgraded in waves runs many of its minors at once.
LTS_535 = ('535.54.06', '535.104.06', '535.129.03', '535.154.02',
           '535.161.05', '535.183.04', '535.216.01', '535.230.02',
           '535.247.02', '535.261.04', '535.288.01')


class TestBucketsOfAWholeBranch(base.PlacementTestCase):
    """Issue 11: "every host at M.m' with m' >= m carries the bucket of
    any source at M.m within a bounded time", for a whole LTS branch (the
    eleven 535 minors below): ``[exporter] max_version_buckets`` (15) leaves
    room for a branch's release history, so a VM created on 535.54 (its
    requirements ask for ``..._535_54``) is offered the 535.288 host; with
    a smaller limit, the exporter says which sources lose the host."""

    def test_newest_host_carries_the_oldest_sources_bucket(self):
        exporters = []
        for i, version in enumerate(LTS_535):
            _, conf = self.make_host(
                'lts-%d' % i, [('0000:3b:00.0', version)],
                extra='[exporter]\ntrait_catalog_interval = 1\n')
            exporters.append(self.exporter(conf))
        for _ in range(2):
            for exporter in exporters:
                self.assertTrue(exporter.cycle().ok)
        newest = self.traits('lts-%d_pci_0000_3b_00_0' % (len(LTS_535) - 1))
        oldest = 'CUSTOM_MDEV_SWVER_NVIDIA_535_54'
        self.assertIn(oldest, self.traits('lts-0_pci_0000_3b_00_0'))
        swver = {t for t in newest if t.startswith('CUSTOM_MDEV_SWVER_')}
        # every minor of the branch, the newest host's own included
        self.assertEqual(len(LTS_535), len(swver), sorted(swver))
        self.assertIn('CUSTOM_MDEV_SWVER_NVIDIA_535_288', newest)
        self.assertIn(oldest, newest)
        # the source's own requirement finds the newest host
        self.assertIn('lts-%d' % (len(LTS_535) - 1), self.candidate_roots(
            'CUSTOM_MDEV_TYPE_NVIDIA_231,' + oldest))


class TestReservedPrefixOnlyWithoutARecord(test_ownership.OwnershipTestCase):
    """Issue 9, item 1: "The reserved-prefix fallback applies only when
    the record is missing or unreadable". With a healthy record, a trait
    with a reserved prefix that someone else set on a provider the
    exporter describes stays."""

    def test_healthy_record_keeps_a_reserved_prefix_trait_of_others(self):
        self.nova_tree('rsv')
        _builder, conf = self.host(
            'rsv', mode='decorate', create_root=False,
            extra='[exporter]\nwithdrawal_confirm_cycles = 1\n')
        name = child('rsv', '0000:3b:00.0')
        self.assertTrue(self.exporter(conf).cycle().ok)
        theirs = 'CUSTOM_PCI_VENDOR_15B3'
        self.set_traits(name, self.traits(name) | {theirs})
        for _ in range(2):
            self.assertTrue(self.exporter(conf).cycle().ok)
        traits = self.traits(name)
        self.assertIn(theirs, traits)
        self.assertIn('OWNER_NOVA', traits)
        self.assertNotIn(theirs, self.record('rsv')['providers'][name][
            'traits'])


class TestRequirementsFromTheFloor(base.PlacementTestCase):
    """Issue 11: ``requirements`` never asks for a level below a floor,
    and what it asks for is published: the source itself qualifies in
    Placement's allocation candidates (sample hosts, real CLI)."""

    def _sample(self, host):
        sample = samples.get(host)
        hostdir = os.path.join(self.tmp, host)
        os.makedirs(hostdir)
        sample.extract(os.path.join(hostdir, 'sys'))
        conf = os.path.join(hostdir, 'mdev-traits.conf')
        demo.write_config(conf, host, os.path.join(hostdir, 'sys'),
                          self.placement.url, sample.config, 'manage')
        self.assertTrue(self.exporter(conf).cycle().ok)
        return conf

    def test_sample_devices(self):
        cases = [
            ('gpu-host-1', ['--mdev', demo.DEMO_SOURCE_MDEV]),
            ('gpu-host-2', ['--parent', '0000:00:02.0', '--type',
                            'i915-GVTg_V5_4']),
        ]
        for host, device in cases:
            conf = self._sample(host)
            proc = self.run_cli('requirements', '--config-file', conf,
                                *device, '--format', 'json')
            self.assertEqual(0, proc.returncode, proc.stderr)
            out = json.loads(proc.stdout)
            required = [r['trait'] for r in out['required']]
            self.assertTrue(required, proc.stdout)
            for trait in required:
                self.assertEqual(trait, floors.raise_to_floor(trait),
                                 (host, trait))
            # a ladder name among them, and each one plain: the source
            # qualifies with every one of them required at once
            self.assertTrue([t for t in required if _Family.parse(t)],
                            required)
            self.assertIn(host, self.candidate_roots(','.join(required)),
                          (host, required))
