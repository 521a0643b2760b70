"""Evidence before withdrawal and bounded output (issue 9, items 4 and 10)
against a real Placement: sysfs trees are damaged between cycles from
outside the exporter, and Placement's own answers show that nothing was
withdrawn and that every other provider was still published."""

import logging
import os
import shutil

import fixtures

from mdev_traits.cmd import exporter as exporter_cmd
from mdev_traits.conf import settings as settings_mod
from mdev_traits.daemon import loop as daemon_mod
from mdev_traits.mapping import budget
from mdev_traits.mapping import collect
from tests.functional import base

A = '0000:3b:00.0'
B = '0000:5e:00.0'
C = '0000:86:00.0'
VERSION = '535.129.03'
TYPE_231 = 'CUSTOM_MDEV_TYPE_NVIDIA_231'
SWVER = 'CUSTOM_MDEV_SWVER_NVIDIA_535_129'
HEADS_4 = 'HW_GPU_MAX_DISPLAY_HEADS_4'


def rp(host, address):
    return '%s_pci_%s' % (host, address.replace(':', '_').replace('.', '_'))


class TestEvidence(base.PlacementTestCase):

    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(
            level=logging.INFO, format='%(levelname)s %(message)s'))

    def host(self, name, extra=''):
        builder, conf = self.make_host(
            name, [(A, VERSION), (B, VERSION)],
            extra='[profiles]\ndirectory = %s\n%s' % (
                os.path.join(self.tmp, name, 'profiles.d'), extra))
        os.makedirs(os.path.join(self.tmp, name, 'profiles.d'))
        return builder, conf

    def snapshot(self, host, addresses=(A, B)):
        return {a: (self.traits(rp(host, a)), self.inventories(rp(host, a)))
                for a in addresses}

    def cycle(self, exporter):
        result = exporter.cycle()
        self.assertTrue(result.ok, result.outcome.failed)
        return result

    def test_superscript_in_description(self):
        builder, conf = self.host('ev-heads')
        exporter = self.exporter(conf)
        self.cycle(exporter)
        self.assertIn(HEADS_4, self.traits(rp('ev-heads', A)))
        before = self.traits(rp('ev-heads', A))
        # the driver now says num_heads=² on A (and a new GPU appears)
        builder.set_type_attr(A, 'nvidia-231', 'description',
                              'num_heads=\u00b2, frl_config=60, '
                              'framebuffer=4096M, max_resolution=7680x4320')
        builder.add_pci_mdev_parent(C, driver_version=VERSION,
                                    types=base.T4_TYPES, **base.T4)
        self.cycle(exporter)
        # nothing withdrawn from A, the others fully published
        self.assertLessEqual(before, self.traits(rp('ev-heads', A)))
        self.assertIn(HEADS_4, self.traits(rp('ev-heads', B)))
        self.assertIn(HEADS_4, self.traits(rp('ev-heads', C)))
        self.assertIn("num_heads='\u00b2' is not understood",
                      self.logs.output)
        self.assertNotIn('invalid literal', self.logs.output)

    def test_invalid_driver_version_costs_version_traits_only(self):
        builder, conf = self.host('ev-ver')
        exporter = self.exporter(conf)
        self.cycle(exporter)
        before = self.snapshot('ev-ver')
        self.assertIn(SWVER, before[A][0])
        builder.write('module/nvidia/version', b'\xff\xfe535.129\n')
        builder.add_pci_mdev_parent(C, types=base.T4_TYPES, **base.T4)
        self.cycle(exporter)
        # both GPUs are still there with everything they had
        self.assertEqual(before, self.snapshot('ev-ver'))
        # the new GPU is published, without a version trait
        new = self.traits(rp('ev-ver', C))
        self.assertIn(TYPE_231, new)
        self.assertNotIn(SWVER, new)
        self.assertEqual(4, self.inventories(rp('ev-ver', C))['VGPU']['total'])
        self.assertIn('not valid UTF-8', self.logs.output)

    def test_damaged_enabled_type_still_starts(self):
        builder, conf = self.host('ev-type')
        self.cycle(self.exporter(conf))
        before = self.snapshot('ev-type')
        for address in (A, B):
            builder.set_type_attr(address, 'nvidia-231',
                                  'available_instances', b'\xff\n')
        proc = self.run_cli('--config-file', conf, '--once')
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertNotIn('enabled_mdev_types', proc.stderr)
        self.assertEqual(before, self.snapshot('ev-type'))

    def test_mistyped_sysfs_root_once(self):
        builder, conf = self.host('ev-root')
        self.cycle(self.exporter(conf))
        before = self.snapshot('ev-root')
        for check in ('true', 'false'):
            bad = self.write_conf(
                'ev-root', builder.root + '-typo', ['nvidia-231'], 'manage',
                True, '[exporter]\ncheck_enabled_types = %s\n' % check)
            proc = self.run_cli('--config-file', bad, '--once')
            self.assertEqual(exporter_cmd.EXIT_CONFIG, proc.returncode)
            lines = proc.stderr.strip().splitlines()
            self.assertEqual(1, len(lines), proc.stderr)
            self.assertIn('[exporter] sysfs_root', lines[0])
            self.assertNotIn('enabled_mdev_types', lines[0])
        # the daemon refuses to start the same way
        proc = self.run_cli('--config-file', bad)
        self.assertEqual(exporter_cmd.EXIT_CONFIG, proc.returncode)
        self.assertIn('[exporter] sysfs_root', proc.stderr)
        self.assertEqual(before, self.snapshot('ev-root'))

    def test_root_stops_looking_like_sysfs_between_cycles(self):
        builder, conf = self.host('ev-gone', extra='[exporter]\n'
                                  'check_enabled_types = false\n')
        exporter = self.exporter(conf)
        self.cycle(exporter)
        before = self.snapshot('ev-gone')
        # the tree is replaced by an empty directory (a bind mount that
        # went away): no devices/, no bus/
        os.rename(builder.root, builder.root + '.away')
        os.mkdir(builder.root)
        self.cycle(exporter)
        self.assertEqual(before, self.snapshot('ev-gone'))
        self.assertEqual(1, self.logs.output.count('[exporter] sysfs_root'))
        self.cycle(exporter)
        # logged when it appeared, not every cycle
        self.assertEqual(1, self.logs.output.count('[exporter] sysfs_root'))
        # a directory with devices/ and bus/ but no device is trusted: the
        # GPUs are really gone and the exporter's providers go with them
        shutil.rmtree(builder.root)
        os.rename(builder.root + '.away', builder.root)
        builder.remove_parent(A)
        builder.remove_parent(B)
        # (every GPU at once: on the third cycle that finds the same, see
        # [exporter] withdrawal_confirm_cycles)
        for _ in range(3):
            self.cycle(exporter)
        self.assertIsNone(self.provider(rp('ev-gone', A)))
        self.assertIsNone(self.provider(rp('ev-gone', B)))

    def test_reload_to_a_mistyped_root_is_refused(self):
        builder, conf_path = self.host('ev-hup')
        conf = exporter_cmd.build_conf()
        conf(['--config-file', conf_path], project='mdev-traits')
        bad_path = os.path.join(self.tmp, 'ev-hup', 'bad.conf')
        with open(bad_path, 'w') as f:
            f.write('[exporter]\nsysfs_root = %s\n' % (builder.root + 'x'))

        def reload_conf():
            new = exporter_cmd.build_conf()
            new(['--config-file', conf_path, '--config-file', bad_path],
                project='mdev-traits')
            return new, settings_mod.load(new)

        daemon = daemon_mod.Daemon(conf, reload_conf=reload_conf)
        self.assertTrue(daemon.run_cycle())
        daemon._reload = True
        daemon._do_reload()
        self.assertIs(conf, daemon.conf)
        self.assertEqual(builder.root, daemon.settings.exporter.sysfs_root)
        self.assertIn('reload failed', self.logs.output)
        self.assertIn('[exporter] sysfs_root = %sx' % builder.root,
                      self.logs.output)
        # the running configuration still publishes
        builder.add_pci_mdev_parent(C, driver_version=VERSION,
                                    types=base.T4_TYPES, **base.T4)
        self.assertTrue(daemon.run_cycle())
        self.assertIn(TYPE_231, self.traits(rp('ev-hup', C)))

    def test_rule_file_saved_half_edited(self):
        builder, conf = self.host('ev-rules')
        path = os.path.join(self.tmp, 'ev-rules', 'profiles.d',
                            '10-site.yaml')
        with open(path, 'w') as f:
            f.write('rules:\n  - name: gold\n    match: {address: "%s"}\n'
                    '    traits: [CUSTOM_GOLD]\n' % A)
        exporter = self.exporter(conf)
        self.cycle(exporter)
        self.assertIn('CUSTOM_GOLD', self.traits(rp('ev-rules', A)))
        before = self.snapshot('ev-rules')
        with open(path, 'w') as f:
            f.write('rules:\n  - name: gold\n    match: {address: "%s"\n' % A)
        builder.add_pci_mdev_parent(C, driver_version=VERSION,
                                    types=base.T4_TYPES, **base.T4)
        self.cycle(exporter)
        self.cycle(exporter)
        self.assertEqual(before, self.snapshot('ev-rules'))
        self.assertIn(HEADS_4, self.traits(rp('ev-rules', C)))
        # the file is named once, not every cycle
        self.assertEqual(1, self.logs.output.count('10-site.yaml'),
                         self.logs.output)
        # saved again, without the rule: now it is withdrawn
        with open(path, 'w') as f:
            f.write('rules: []\n')
        self.cycle(exporter)
        self.assertNotIn('CUSTOM_GOLD', self.traits(rp('ev-rules', A)))

    def test_rule_cannot_use_reserved_prefix(self):
        _, conf = self.host('ev-reserved')
        path = os.path.join(self.tmp, 'ev-reserved', 'profiles.d',
                            '20-forge.yaml')
        with open(path, 'w') as f:
            f.write('rules:\n  - name: forge\n    match: {}\n'
                    '    traits: [CUSTOM_PCI_VENDOR_1AF4]\n')
        self.cycle(self.exporter(conf))
        self.assertNotIn('CUSTOM_PCI_VENDOR_1AF4',
                         self.traits(rp('ev-reserved', A)))
        line = [li for li in self.logs.output.splitlines()
                if '20-forge.yaml' in li]
        self.assertEqual(1, len(line), self.logs.output)
        self.assertIn('rule forge', line[0])
        self.assertIn('reserved', line[0])

    def test_bounded_traits_per_provider(self):
        builder, conf = self.host('ev-cap')
        exporter = self.exporter(conf)
        self.cycle(exporter)
        # a date-like driver minor and a compatible_* list of thousands
        builder.write('module/nvidia/version', '1.20240101.3')
        builder.set_type_attr(A, 'nvidia-231', 'compatible_pci_ids',
                              ','.join('10de:%04x' % i for i in range(3000)))
        self.cycle(exporter)
        for address in (A, B):
            traits = self.traits(rp('ev-cap', address))
            # trait contract v2: at most [exporter] max_traits_per_provider
            # (64) of the exporter's own, nova's OWNER_NOVA aside
            self.assertLessEqual(len(traits - {'OWNER_NOVA'}),
                                 budget.DEFAULT_MAX_TRAITS)
            self.assertLessEqual(len(traits),
                                 collect.MAX_TRAITS_PER_PROVIDER)
            self.assertIn(TYPE_231, traits)
            # a date-like minor: its own bucket only
            self.assertEqual(['CUSTOM_MDEV_SWVER_NVIDIA_1_20240101'],
                             sorted(t for t in traits if 'SWVER' in t))
            for trait in traits:
                self.assertLessEqual(len(trait), 255)
        # B has no long compatible_* list: its capabilities stay whole
        self.assertIn(HEADS_4, self.traits(rp('ev-cap', B)))
        self.assertIn('provider %s:' % rp('ev-cap', A), self.logs.output)
