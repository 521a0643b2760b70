"""The exporter end to end against a real Placement."""

import json
import os
import signal
import subprocess
import sys
import time

from mdev_traits.mapping import names
from mdev_traits.testing import placement as placement_fixture
from tests.functional import base

SWVER_535_104 = 'CUSTOM_MDEV_SWVER_NVIDIA_535_104'


class TestManageMode(base.PlacementTestCase):

    def test_superset_matching_across_hosts(self):
        # Three hosts: T4s under drivers 535.129, 535.54 and 550.54.
        hosts = {'sm-new': '535.129.03', 'sm-old': '535.54.03',
                 'sm-next': '550.54.14'}
        # an operator's threshold: 535.104 (no host runs it)
        self.api('PUT', '/traits/%s' % SWVER_535_104, expect=201)
        confs = {}
        for host, version in hosts.items():
            _, confs[host] = self.make_host(
                host, [('0000:3b:00.0', version), ('0000:5e:00.0', version)])
            result = self.exporter(confs[host]).cycle()
            self.assertTrue(result.ok, result.outcome.failed)
        # sm-new ran before sm-old created ..._535_54: its next read of
        # the bucket traits (here: a restart) adds it
        self.assertTrue(self.exporter(confs['sm-new']).cycle().ok)
        hosts = set(hosts)
        # every host offers nvidia-231 on a T4
        self.assertEqual(hosts, self.candidate_roots(
            'CUSTOM_MDEV_TYPE_NVIDIA_231,CUSTOM_PCI_DEVICE_10DE_1EB8,'
            'CUSTOM_MDEV_DEVICE_API_VFIO_PCI') & hosts)
        # a VM created under 535.104 may go to 535.129 only: same major,
        # minor not lower
        self.assertEqual({'sm-new'},
                         self.candidate_roots(SWVER_535_104) & hosts)
        self.assertEqual({'sm-new', 'sm-old'}, self.candidate_roots(
            'CUSTOM_MDEV_SWVER_NVIDIA_535_54') & hosts)
        self.assertEqual({'sm-next'}, self.candidate_roots(
            'CUSTOM_MDEV_SWVER_NVIDIA_550_54') & hosts)
        # a type that is not enabled is not offered
        self.assertNotIn('CUSTOM_MDEV_TYPE_NVIDIA_222',
                         self.traits('sm-new_pci_0000_3b_00_0'))
        # two GPUs x 4 instances, nested under the compute node
        self.assertEqual(
            4, self.inventories('sm-new_pci_0000_3b_00_0')['VGPU']['total'])
        rp = self.provider('sm-new_pci_0000_3b_00_0')
        self.assertEqual(self.provider('sm-new')['uuid'],
                         rp['parent_provider_uuid'])
        self.assertEqual(names.provider_uuid('sm-new_pci_0000_3b_00_0'),
                         rp['uuid'])
        _, body = self.api(
            'GET', '/allocation_candidates?resources=VGPU:8&required=%s'
            % SWVER_535_104, expect=200)
        self.assertEqual([], body['allocation_requests'])

    def test_second_cycle_writes_nothing(self):
        _, conf = self.make_host('steady', [('0000:3b:00.0', '535.129.03')])
        exporter = self.exporter(conf)
        first = exporter.cycle()
        self.assertGreater(exporter.client.write_count(), 0)
        self.assertTrue(first.ok)
        exporter.client.requests.clear()
        exporter.cycle()
        self.assertEqual(0, exporter.client.write_count())
        self.assertEqual({'GET': 1}, exporter.client.request_counts())
        # a restarted exporter (cold caches, same state file) writes
        # nothing either
        again = self.exporter(conf)
        again.cycle()
        self.assertEqual(0, again.client.write_count())

    def test_restart_without_state_makes_no_duplicates(self):
        builder, conf = self.make_host('restart',
                                       [('0000:3b:00.0', '535.129.03')])
        self.exporter(conf).cycle()
        uuid = self.provider('restart_pci_0000_3b_00_0')['uuid']
        os.unlink(os.path.join(self.tmp, 'restart', 'state.json'))
        self.exporter(conf).cycle()
        _, body = self.api('GET', '/resource_providers?in_tree=%s' %
                           self.provider('restart')['uuid'], expect=200)
        self.assertEqual(2, len(body['resource_providers']))
        self.assertEqual(uuid,
                         self.provider('restart_pci_0000_3b_00_0')['uuid'])

    def test_type_change_replaces_only_our_traits(self):
        builder, conf = self.make_host('retype',
                                       [('0000:3b:00.0', '535.129.03')])
        self.exporter(conf).cycle()
        name = 'retype_pci_0000_3b_00_0'
        rp = self.provider(name)
        # an operator adds a trait of their own
        _, cur = self.api('GET', '/resource_providers/%s/traits' %
                          rp['uuid'])
        self.api('PUT', '/traits/CUSTOM_OPERATOR_GOLD', expect=201)
        self.api('PUT', '/resource_providers/%s/traits' % rp['uuid'],
                 {'traits': cur['traits'] + ['CUSTOM_OPERATOR_GOLD'],
                  'resource_provider_generation':
                      cur['resource_provider_generation']}, expect=200)
        conf = self.write_conf('retype', builder.root, ['nvidia-222'],
                               'manage', True)
        self.exporter(conf).cycle()
        traits = self.traits(name)
        self.assertIn('CUSTOM_MDEV_TYPE_NVIDIA_222', traits)
        self.assertNotIn('CUSTOM_MDEV_TYPE_NVIDIA_231', traits)
        self.assertIn('CUSTOM_OPERATOR_GOLD', traits)
        self.assertEqual(16, self.inventories(name)['VGPU']['total'])

    def test_vanished_gpu(self):
        builder, conf = self.make_host('vanish', [
            ('0000:3b:00.0', '535.129.03'), ('0000:5e:00.0', '535.129.03')])
        exporter = self.exporter(conf)
        exporter.cycle()
        busy = self.provider('vanish_pci_0000_5e_00_0')
        consumer = '7d6f5cf8-7a4c-4a3e-9d0e-0c1f0b3a0a01'
        self.api('PUT', '/allocations/%s' % consumer, {
            'allocations': {busy['uuid']: {'resources': {'VGPU': 1}}},
            'project_id': 'p', 'user_id': 'u', 'consumer_generation': None,
            'consumer_type': 'INSTANCE'},
            expect=204)
        builder.remove_parent('0000:3b:00.0')
        builder.remove_parent('0000:5e:00.0')
        # every device gone at once: held back for two cycles (withdrawal
        # guard, [exporter] withdrawal_confirm_cycles = 3), done on the
        # third
        for _ in range(2):
            exporter.cycle()
            self.assertIsNotNone(self.provider('vanish_pci_0000_3b_00_0'))
        exporter.cycle()
        # the free one is gone, the busy one stays, fully reserved
        self.assertIsNone(self.provider('vanish_pci_0000_3b_00_0'))
        inv = self.inventories('vanish_pci_0000_5e_00_0')['VGPU']
        self.assertEqual(inv['total'], inv['reserved'])
        self.assertEqual(set(), self.candidate_roots(None) & {'vanish'})

    def test_osc_trait_list(self):
        _, conf = self.make_host('osc', [('0000:3b:00.0', '535.129.03')])
        self.exporter(conf).cycle()
        uuid = self.provider('osc_pci_0000_3b_00_0')['uuid']
        out = placement_fixture.osc(self.placement, 'resource', 'provider',
                                    'trait', 'list', uuid, '-f', 'json')
        listed = {row['name'] for row in json.loads(out)}
        self.assertIn('CUSTOM_MDEV_TYPE_NVIDIA_231', listed)
        self.assertIn('CUSTOM_PCI_VENDOR_10DE', listed)
        self.assertIn('CUSTOM_MDEV_SWVER_NVIDIA_535_129', listed)


class TestDecorateMode(base.PlacementTestCase):

    def _nova_tree(self, root):
        """What nova-compute's libvirt driver creates for one pGPU."""
        root_rp = self.create_root(root)
        child = '%s_pci_0000_3b_00_0' % root
        _, rp = self.api('POST', '/resource_providers', {
            'name': child, 'parent_provider_uuid': root_rp['uuid']},
            expect=200)
        inv = {'VGPU': {'total': 4, 'reserved': 0, 'min_unit': 1,
                        'max_unit': 4, 'step_size': 1,
                        'allocation_ratio': 1.0}}
        _, body = self.api('PUT', '/resource_providers/%s/inventories' %
                           rp['uuid'], {'inventories': inv,
                                        'resource_provider_generation': 0},
                           expect=200)
        self.api('PUT', '/resource_providers/%s/traits' % rp['uuid'], {
            'traits': ['OWNER_NOVA'],
            'resource_provider_generation':
                body['resource_provider_generation']}, expect=200)
        return rp, inv

    def test_decorate_leaves_nova_alone(self):
        rp, nova_inv = self._nova_tree('deco')
        builder, conf = self.make_host(
            'deco', [('0000:3b:00.0', '535.129.03'),
                     ('0000:5e:00.0', '535.129.03')],
            mode='decorate', create_root=False)
        exporter = self.exporter(conf)
        result = exporter.cycle()
        self.assertTrue(result.ok)
        traits = self.traits(rp['name'])
        self.assertIn('OWNER_NOVA', traits)
        self.assertIn('CUSTOM_MDEV_TYPE_NVIDIA_231', traits)
        self.assertEqual(nova_inv['VGPU']['total'],
                         self.inventories(rp['name'])['VGPU']['total'])
        # the second GPU has no nova provider: decorate creates nothing
        self.assertIsNone(self.provider('deco_pci_0000_5e_00_0'))
        self.assertEqual({'deco'}, self.candidate_roots(
            'CUSTOM_MDEV_TYPE_NVIDIA_231,CUSTOM_PCI_VENDOR_10DE')
            & {'deco'})
        # type no longer enabled: our traits go, nova's stay
        conf = self.write_conf('deco', builder.root, ['nvidia-999'],
                               'decorate', False)
        # (all of them at once: only on the third cycle in a row that
        # finds the same, see the withdrawal guard)
        for _ in range(3):
            self.exporter(conf).cycle()
        self.assertEqual({'OWNER_NOVA'}, self.traits(rp['name']))
        self.assertEqual(nova_inv, {
            rc: {k: v for k, v in rec.items() if k in nova_inv['VGPU']}
            for rc, rec in self.inventories(rp['name']).items()})

    def test_generation_conflict_is_retried(self):
        rp, _ = self._nova_tree('race')
        _, conf = self.make_host('race', [('0000:3b:00.0', '535.129.03')],
                                 mode='decorate', create_root=False)
        exporter = self.exporter(conf)
        tree = base.service.desired_tree(exporter.settings)
        rec = exporter.reconciler
        _, ownership, the_plan = rec.plan(tree)
        # nova writes between our read and our write
        _, cur = self.api('GET', '/resource_providers/%s/traits' %
                          rp['uuid'])
        self.api('PUT', '/traits/CUSTOM_NOVA_LATE', expect=201)
        self.api('PUT', '/resource_providers/%s/traits' % rp['uuid'], {
            'traits': cur['traits'] + ['CUSTOM_NOVA_LATE'],
            'resource_provider_generation':
                cur['resource_provider_generation']}, expect=200)
        outcome = rec.executor.run(
            the_plan, replan=lambda name, fresh: base.plan_mod.
            replan_provider(tree, fresh, ownership, False))
        self.assertTrue(outcome.ok, outcome.failed)
        self.assertEqual(1, outcome.retries)
        traits = self.traits(rp['name'])
        self.assertIn('CUSTOM_NOVA_LATE', traits)
        self.assertIn('CUSTOM_MDEV_TYPE_NVIDIA_231', traits)


class TestCommandLine(base.PlacementTestCase):

    def test_once_without_compute_node_fails_clearly(self):
        _, conf = self.make_host('nocn', [('0000:3b:00.0', '535.129.03')],
                                 mode='manage', create_root=False)
        proc = self.run_cli('--config-file', conf, '--once')
        self.assertEqual(1, proc.returncode, proc.stderr)
        errors = [line for line in proc.stderr.splitlines() if 'nocn' in line]
        self.assertEqual(1, len(errors), proc.stderr)
        self.assertIn("provider 'nocn' not found", errors[0])
        self.assertIsNone(self.provider('nocn'))
        self.assertIsNone(self.provider('nocn_pci_0000_3b_00_0'))

    def test_once_publishes(self):
        _, conf = self.make_host('clionce', [('0000:3b:00.0', '535.129.03')])
        proc = self.run_cli('--config-file', conf, '--once')
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertEqual('', proc.stdout)
        self.assertIn('CUSTOM_MDEV_TYPE_NVIDIA_231',
                      self.traits('clionce_pci_0000_3b_00_0'))

    def test_dry_run_sends_no_request(self):
        # a port where nothing listens: any request would fail the run
        builder, conf = self.make_host('dry', [('0000:3b:00.0', '535.129')])
        conf = self.write_conf('dry', builder.root, ['nvidia-231'],
                               'manage', True, url='http://127.0.0.1:9')
        proc = self.run_cli('--config-file', conf, '--dry-run')
        self.assertEqual(0, proc.returncode, proc.stderr)
        tree = json.loads(proc.stdout)
        (prov,) = tree['providers']
        self.assertEqual('dry_pci_0000_3b_00_0', prov['name'])
        self.assertEqual(4, prov['inventories']['VGPU']['total'])
        self.assertIn('CUSTOM_MDEV_TYPE_NVIDIA_231', prov['traits'])
        self.assertIn('CUSTOM_MDEV_TYPE_NVIDIA_231', prov['trait_sources'])
        self.assertIsNone(self.provider('dry'))

    def test_bad_option_is_a_config_error(self):
        _, conf = self.make_host('badopt', [('0000:3b:00.0', '535.129')],
                                 extra='[exporter]\ninterval = soon\n')
        proc = self.run_cli('--config-file', conf, '--once')
        self.assertEqual(2, proc.returncode, proc.stderr)
        self.assertIn('interval', proc.stderr)


class TestDaemon(base.PlacementTestCase):

    def test_cycles_reload_on_sighup_and_stop_on_sigterm(self):
        builder, conf = self.make_host(
            'daemon', [('0000:3b:00.0', '535.129.03')],
            extra='[exporter]\ninterval = 1\n')
        name = 'daemon_pci_0000_3b_00_0'
        proc = subprocess.Popen(
            [sys.executable, '-m', 'mdev_traits.cmd.exporter',
             '--config-file', conf], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())

        def has(trait):
            return (self.provider(name) is not None
                    and trait in self.traits(name))

        self.assertTrue(self.wait_for(
            lambda: has('CUSTOM_MDEV_TYPE_NVIDIA_231')))
        # the periodic cycle picks up hardware changes (an upgrade)
        builder.write('module/nvidia/version', '535.161.07')
        self.assertTrue(self.wait_for(
            lambda: has('CUSTOM_MDEV_SWVER_NVIDIA_535_161')))
        # SIGHUP reloads the configuration
        self.write_conf('daemon', builder.root, ['nvidia-222'], 'manage',
                        True, extra='[exporter]\ninterval = 1\n')
        proc.send_signal(signal.SIGHUP)
        self.assertTrue(self.wait_for(
            lambda: has('CUSTOM_MDEV_TYPE_NVIDIA_222')))
        # a broken configuration at SIGHUP keeps the old one in force
        self.write_conf('daemon', builder.root, ['nvidia-222'], 'manage',
                        True, extra='[exporter]\ninterval = never\n')
        proc.send_signal(signal.SIGHUP)
        time.sleep(1.5)
        self.assertIsNone(proc.poll())
        # SIGTERM stops it cleanly and leaves the traits published
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        self.assertEqual(0, proc.returncode, err)
        self.assertIn('reload failed', err)
        self.assertIn('CUSTOM_MDEV_TYPE_NVIDIA_222', self.traits(name))
