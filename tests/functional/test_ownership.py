"""Ownership is a record (issue 9, items 1, 2, 5, 6, 7) against the real
Placement, with faults injected from outside by a proxy
(tests/functional/fault_proxy.py)."""

import json
import logging
import os
import signal
import subprocess
import sys

import fixtures

from mdev_traits.placement import reconciler as reconciler_mod
from tests.functional import base
from tests.functional import fault_proxy

W7680 = 'HW_GPU_RESOLUTION_W7680H4320'
TYPE_231 = 'CUSTOM_MDEV_TYPE_NVIDIA_231'
TRAITS_PUT = r'^/resource_providers/[0-9a-f-]+/traits$'
GPU_A = ('0000:3b:00.0', '535.129.03')
GPU_B = ('0000:5e:00.0', '535.129.03')


def description(resolution):
    return ('num_heads=4, frl_config=60, framebuffer=4096M, '
            'max_resolution=%s, max_instance=4' % resolution)


class OwnershipTestCase(base.PlacementTestCase):

    def setUp(self):
        super().setUp()
        self.proxy = fault_proxy.FaultProxy(self.placement.url).start()
        self.addCleanup(self.proxy.stop)
        self.logs = self.useFixture(fixtures.FakeLogger(
            level=logging.INFO, format='%(levelname)s %(message)s'))

    def host(self, name, gpus=(GPU_A,), mode='manage', create_root=True,
             extra='', root=None, retries=0, timeout=10):
        """A fake host whose exporter talks to Placement through the
        proxy (by default no connect retry, so that a fault cuts the
        cycle); ``root`` names its compute node (default: ``name``)."""
        builder, _ = self.make_host(name, list(gpus), mode=mode,
                                    create_root=create_root)
        return builder, self.conf(name, builder.root, mode=mode,
                                  create_root=create_root, extra=extra,
                                  root=root, retries=retries,
                                  timeout=timeout)

    def conf(self, name, sysfs_root, mode='manage', create_root=True,
             extra='', root=None, enabled=('nvidia-231',), retries=0,
             timeout=10):
        placement = 'timeout = %s\n' % timeout
        if retries is not None:
            placement += 'connect_retries = %d\n' % retries
        path = self.write_conf(
            name, sysfs_root, enabled, mode, create_root,
            extra=placement + extra, url=self.proxy.url)
        if root:
            with open(path) as f:
                text = f.read()
            with open(path, 'w') as f:
                f.write(text.replace('root_provider_name = %s\n' % name,
                                     'root_provider_name = %s\n' % root, 1))
        return path

    def state_path(self, name):
        return os.path.join(self.tmp, name, 'state.json')

    def record(self, name):
        with open(self.state_path(name)) as f:
            return json.load(f)

    def set_resolution(self, builder, gpus, resolution):
        for address, _version in gpus:
            builder.set_type_attr(address, 'nvidia-231', 'description',
                                  description(resolution))

    def nova_tree(self, root, address='0000:3b:00.0'):
        """What nova-compute's libvirt driver creates for one pGPU."""
        root_rp = self.create_root(root)
        child = '%s_pci_%s' % (root, address.replace(':', '_').replace(
            '.', '_'))
        _, rp = self.api('POST', '/resource_providers', {
            'name': child, 'parent_provider_uuid': root_rp['uuid']},
            expect=200)
        self.set_traits(child, ['OWNER_NOVA'])
        return rp

    def set_traits(self, name, traits):
        rp = self.provider(name)
        for trait in traits:
            if trait.startswith('CUSTOM_'):
                self.api('PUT', '/traits/%s' % trait)
        self.api('PUT', '/resource_providers/%s/traits' % rp['uuid'], {
            'traits': sorted(traits),
            'resource_provider_generation': rp['generation']}, expect=200)

    def errors(self, word):
        return [line for line in self.logs.output.splitlines()
                if line.startswith('ERROR') and word in line]


class TestRecordIsTheOwnership(OwnershipTestCase):

    def test_nova_pci_provider_is_never_written(self):
        # the withdrawal guard off: it must not be what keeps nova's
        # traits (a withdrawal from one provider of two would be held)
        builder, conf = self.host(
            'pcip', extra='[exporter]\nwithdrawal_confirm_cycles = 1\n')
        self.assertTrue(self.exporter(conf).cycle().ok)
        # nova's PCI-in-Placement provider: "<root>_<PCI address>", traits
        # from the operator's [pci] device_spec
        root = self.provider('pcip')
        _, pci = self.api('POST', '/resource_providers', {
            'name': 'pcip_0000:81:00.4',
            'parent_provider_uuid': root['uuid']}, expect=200)
        nova_traits = ['CUSTOM_PCI_VENDOR_10DE', 'CUSTOM_PCI_DEVICE_10DE_2236',
                       'COMPUTE_MANAGED_PCI_DEVICE']
        self.set_traits(pci['name'], nova_traits)
        generation = self.provider(pci['name'])['generation']
        # a healthy record, then a lost one, then a damaged one
        self.assertTrue(self.exporter(conf).cycle().ok)
        os.unlink(self.state_path('pcip'))
        self.assertTrue(self.exporter(conf).cycle().ok)
        with open(self.state_path('pcip'), 'w') as f:
            f.write('{"version": 2, "providers": ')
        self.assertTrue(self.exporter(conf).cycle().ok)
        self.assertEqual(set(nova_traits), self.traits(pci['name']))
        self.assertEqual(generation,
                         self.provider(pci['name'])['generation'])
        self.assertIn(TYPE_231, self.traits('pcip_pci_0000_3b_00_0'))

    def test_lost_record_never_shrinks_ownership(self):
        self.nova_tree('lost')
        builder, conf = self.host('lost', mode='decorate',
                                  create_root=False)
        self.assertTrue(self.exporter(conf).cycle().ok)
        child = 'lost_pci_0000_3b_00_0'
        self.assertIn(W7680, self.traits(child))
        # the record is lost (e.g. a root-owned file moved aside)
        os.unlink(self.state_path('lost'))
        self.assertTrue(self.exporter(conf).cycle().ok)
        self.assertIn(W7680, self.record('lost')['providers'][child][
            'traits'])
        # so a later change still withdraws it
        self.set_resolution(builder, [GPU_A], '5120x2880')
        self.assertTrue(self.exporter(conf).cycle().ok)
        traits = self.traits(child)
        self.assertNotIn(W7680, traits)
        self.assertIn('HW_GPU_RESOLUTION_W3840H2160', traits)
        self.assertIn('OWNER_NOVA', traits)


class TestRecordBeforeWrite(OwnershipTestCase):

    def _cut_then_restore(self, name, action, timeout=10, **fault):
        builder, conf = self.host(name, gpus=(GPU_A, GPU_B),
                                  timeout=timeout)
        self.set_resolution(builder, (GPU_A, GPU_B), '5120x2880')
        self.assertTrue(self.exporter(conf).cycle().ok)
        children = ['%s_pci_0000_3b_00_0' % name,
                    '%s_pci_0000_5e_00_0' % name]
        self.assertNotIn(W7680, self.traits(children[0]))
        # max_resolution goes up; the cycle that adds the trait is cut
        self.set_resolution(builder, (GPU_A, GPU_B), '7680x4320')
        self.proxy.add('PUT', TRAITS_PUT, action, **fault)
        self.assertRaises(reconciler_mod.NothingPublished,
                          self.exporter(conf).cycle)
        self.assertEqual(1, len(self.proxy.faults_fired()))
        return builder, conf, children

    def _stale_trait_removed(self, name, builder, conf, children):
        self.assertTrue(self.wait_for(
            lambda: any(W7680 in self.traits(c) for c in children), 20))
        self.set_resolution(builder, (GPU_A, GPU_B), '5120x2880')
        self.assertTrue(self.exporter(conf).cycle().ok)
        for child in children:
            self.assertNotIn(W7680, self.traits(child))

    def test_503_after_a_write(self):
        # the first provider's traits are written, the second gets 503
        builder, conf, children = self._cut_then_restore('cut503', '503',
                                                         nth=2)
        self.assertIn(W7680, self.traits(children[0]))
        self.assertNotIn(W7680, self.traits(children[1]))
        self._stale_trait_removed('cut503', builder, conf, children)

    def test_answer_lost_after_the_write(self):
        builder, conf, children = self._cut_then_restore(
            'cutdrop', 'drop_after')
        self._stale_trait_removed('cutdrop', builder, conf, children)

    def test_write_lands_after_the_timeout(self):
        builder, conf, children = self._cut_then_restore(
            'cutslow', 'delay', timeout=2, delay=4)
        self._stale_trait_removed('cutslow', builder, conf, children)

    def test_creation_whose_answer_is_lost(self):
        builder, conf = self.host('mklost')
        self.assertTrue(self.exporter(conf).cycle().ok)
        builder.add_pci_mdev_parent('0000:5e:00.0', types=base.T4_TYPES,
                                    driver_version='535.129.03', **base.T4)
        self.proxy.add('POST', r'^/resource_providers$', 'drop_after')
        self.assertRaises(reconciler_mod.NothingPublished,
                          self.exporter(conf).cycle)
        child = 'mklost_pci_0000_5e_00_0'
        created = self.provider(child)
        self.assertIsNotNone(created)
        self.assertEqual(created['uuid'],
                         self.record('mklost')['created'][child])
        # the device goes: the provider it created is deleted
        builder.remove_parent('0000:5e:00.0')
        self.assertTrue(self.exporter(conf).cycle().ok)
        self.assertIsNone(self.provider(child))
        self.assertIsNotNone(self.provider('mklost_pci_0000_3b_00_0'))

    def test_sigkill_in_the_middle(self):
        builder, conf = self.host('killed', gpus=(GPU_A, GPU_B))
        self.set_resolution(builder, (GPU_A, GPU_B), '5120x2880')
        self.assertTrue(self.exporter(conf).cycle().ok)
        self.set_resolution(builder, (GPU_A, GPU_B), '7680x4320')
        self.proxy.add('PUT', TRAITS_PUT, 'delay', delay=3)
        proc = subprocess.Popen(
            [sys.executable, '-m', 'mdev_traits.cmd.exporter',
             '--config-file', conf, '--once'], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        self.assertTrue(self.wait_for(lambda: self.proxy.faults_fired(),
                                      60))
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        # the trait was recorded before the request that adds it
        child = 'killed_pci_0000_3b_00_0'
        self.assertIn(W7680, self.record('killed')['providers'][child][
            'traits'])
        # the request lands after the process died
        self._stale = [child, 'killed_pci_0000_5e_00_0']
        self.assertTrue(self.wait_for(
            lambda: W7680 in self.traits(child), 20))
        self.set_resolution(builder, (GPU_A, GPU_B), '5120x2880')
        self.assertTrue(self.exporter(conf).cycle().ok)
        self.assertNotIn(W7680, self.traits(child))

    def test_replan_after_409_is_what_gets_recorded(self):
        self.nova_tree('replan')
        builder, _ = self.host('replan', mode='decorate', create_root=False)
        child = 'replan_pci_0000_3b_00_0'
        # a first cycle with another type: a record exists
        self.assertTrue(self.exporter(self.conf(
            'replan', builder.root, mode='decorate', create_root=False,
            enabled=('nvidia-222',))).cycle().ok)
        conf = self.conf('replan', builder.root, mode='decorate',
                         create_root=False)

        def operator_writes():
            # between the exporter's read and its write, an operator tags
            # the provider
            self.set_traits(child, self.traits(child) | {'CUSTOM_OPS'})

        self.proxy.add('PUT', TRAITS_PUT, 'call', hook=operator_writes)
        result = self.exporter(conf).cycle()
        self.assertTrue(result.ok, result.outcome.failed)
        self.assertEqual(1, result.outcome.retries)
        traits = self.traits(child)
        self.assertIn('CUSTOM_OPS', traits)
        self.assertIn(TYPE_231, traits)
        self.assertNotIn('CUSTOM_MDEV_TYPE_NVIDIA_222', traits)
        recorded = self.record('replan')['providers'][child]['traits']
        self.assertNotIn('CUSTOM_OPS', recorded)
        self.assertNotIn('CUSTOM_MDEV_TYPE_NVIDIA_222', recorded)
        self.assertIn(TYPE_231, recorded)
        # the type is no longer enabled: the exporter withdraws its own
        # traits, the operator's stays
        conf = self.conf('replan', builder.root, mode='decorate',
                         create_root=False, enabled=('nvidia-999',),
                         extra='[exporter]\nwithdrawal_confirm_cycles = 1\n')
        self.assertTrue(self.exporter(conf).cycle().ok)
        self.assertEqual({'OWNER_NOVA', 'CUSTOM_OPS'}, self.traits(child))

    def test_lost_answer_retried_into_a_409(self):
        # [placement] connect_retries = 1: the write lands, its answer is
        # lost, the retry meets the generation it bumped (409)
        builder, conf = self.host('retried', retries=1)
        self.set_resolution(builder, [GPU_A], '5120x2880')
        self.assertTrue(self.exporter(conf).cycle().ok)
        name = 'retried_pci_0000_3b_00_0'
        self.set_resolution(builder, [GPU_A], '7680x4320')
        self.proxy.add('PUT', TRAITS_PUT, 'drop_after')
        result = self.exporter(conf).cycle()
        self.assertTrue(result.ok, result.outcome.failed)
        self.assertEqual(1, result.outcome.retries)
        self.assertIn(W7680, self.traits(name))
        self.assertIn(W7680, self.record('retried')['providers'][name][
            'traits'])
        self.set_resolution(builder, [GPU_A], '5120x2880')
        self.assertTrue(self.exporter(conf).cycle().ok)
        self.assertNotIn(W7680, self.traits(name))

    def test_replan_keeps_what_the_cycle_wrote_before_the_409(self):
        builder, conf = self.host('replan2')
        self.set_resolution(builder, [GPU_A], '5120x2880')
        self.assertTrue(self.exporter(conf).cycle().ok)
        name = 'replan2_pci_0000_3b_00_0'
        # the traits change and so does the inventory; between the traits
        # write and the inventory write, an operator tags the provider
        self.set_resolution(builder, [GPU_A], '7680x4320')
        builder.set_type_attr('0000:3b:00.0', 'nvidia-231',
                              'available_instances', 2)

        def operator_writes():
            self.set_traits(name, self.traits(name) | {'CUSTOM_OPS'})

        self.proxy.add('PUT', r'/inventories$', 'call',
                       hook=operator_writes)
        result = self.exporter(conf).cycle()
        self.assertTrue(result.ok, result.outcome.failed)
        self.assertEqual(1, result.outcome.retries)
        self.assertEqual(2, self.inventories(name)['VGPU']['total'])
        recorded = self.record('replan2')['providers'][name]['traits']
        # what this cycle added before the 409 stays the exporter's
        self.assertIn(W7680, recorded)
        self.assertNotIn('CUSTOM_OPS', recorded)
        self.set_resolution(builder, [GPU_A], '5120x2880')
        self.assertTrue(self.exporter(conf).cycle().ok)
        traits = self.traits(name)
        self.assertNotIn(W7680, traits)
        self.assertIn('CUSTOM_OPS', traits)

    def test_unchanged_cycle_writes_nothing_anywhere(self):
        builder, conf = self.host('calm')
        exporter = self.exporter(conf)
        self.assertTrue(exporter.cycle().ok)
        before = os.stat(self.state_path('calm'))
        exporter.client.requests.clear()
        self.assertTrue(exporter.cycle().ok)
        self.assertEqual({'GET': 1}, exporter.client.request_counts())
        after = os.stat(self.state_path('calm'))
        self.assertEqual((before.st_ino, before.st_mtime_ns),
                         (after.st_ino, after.st_mtime_ns))
