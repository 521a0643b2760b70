"""``mdev-traits-exporter cleanup`` against a real Placement: what the
exporter published per its record goes, everything else stays."""

import json
import os
import uuid

from tests.functional import base


class TestCleanup(base.PlacementTestCase):

    def _nova_tree(self, root, addresses):
        """What nova-compute's libvirt driver creates: the compute node
        and a child per pGPU with VGPU inventory and OWNER_NOVA."""
        root_rp = self.create_root(root)
        inv = {'VGPU': {'total': 4, 'reserved': 0, 'min_unit': 1,
                        'max_unit': 4, 'step_size': 1,
                        'allocation_ratio': 1.0}}
        for address in addresses:
            _, rp = self.api('POST', '/resource_providers', {
                'name': '%s_pci_%s' % (root, address.replace(':', '_')
                                       .replace('.', '_')),
                'parent_provider_uuid': root_rp['uuid']}, expect=200)
            _, body = self.api(
                'PUT', '/resource_providers/%s/inventories' % rp['uuid'],
                {'inventories': inv, 'resource_provider_generation': 0},
                expect=200)
            self.api('PUT', '/resource_providers/%s/traits' % rp['uuid'], {
                'traits': ['OWNER_NOVA'],
                'resource_provider_generation':
                    body['resource_provider_generation']}, expect=200)
        return inv

    def all_traits(self):
        _, body = self.api('GET', '/traits', expect=200)
        return set(body['traits'])

    def tree(self, root):
        """{provider name: (traits, inventories)} under ``root``."""
        rp = self.provider(root)
        _, body = self.api('GET', '/resource_providers?in_tree=%s' %
                           rp['uuid'], expect=200)
        return {p['name']: (self.traits(p['name']),
                            self.inventories(p['name']))
                for p in body['resource_providers']}

    def test_decorate_host(self):
        # cl-deco runs a type (nvidia-222) and a driver (510.47) no other
        # host here runs; cl-other shares the GPU model
        addresses = ('0000:3b:00.0', '0000:5e:00.0')
        nova_inv = self._nova_tree('cl-deco', addresses)
        _, conf = self.make_host('cl-deco', [(a, '510.47.03')
                                             for a in addresses],
                                 enabled=('nvidia-222',),
                                 mode='decorate', create_root=False)
        _, other = self.make_host('cl-other', [('0000:3b:00.0',
                                                '535.129.03')])
        for c in (conf, other):
            self.assertTrue(self.exporter(c).cycle().ok)
        name = 'cl-deco_pci_0000_3b_00_0'
        self.add_trait(name, 'CUSTOM_OPERATOR_GOLD')
        self.add_trait('cl-deco', 'CUSTOM_OPERATOR_RACK_7')
        # an operator's driver threshold on no provider yet, and someone
        # else's unused custom trait
        self.api('PUT', '/traits/CUSTOM_MDEV_SWVER_NVIDIA_470_1',
                 expect=201)
        self.api('PUT', '/traits/CUSTOM_HW_GPU_SOMETHING_ELSE', expect=201)
        self.assertIn('CUSTOM_MDEV_SWVER_NVIDIA_510_47', self.traits(name))
        self.assertIn('CUSTOM_MDEV_TYPE_NVIDIA_222', self.traits(name))
        other_before = self.tree('cl-other')
        before = self.tree('cl-deco')

        proc = self.run_cli('cleanup', '--config-file', conf, '--dry-run')
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertIn('%s: would remove %d trait(s); kept: '
                      'CUSTOM_OPERATOR_GOLD, OWNER_NOVA' % (
                          name, len(before[name][0]) - 2), proc.stdout)
        self.assertIn('Custom traits the exporter defined that no provider '
                      'has any more: would delete ', proc.stdout)
        self.assertIn('Dry run: nothing was changed.', proc.stdout)
        self.assertEqual(before, self.tree('cl-deco'))

        proc = self.run_cli('cleanup', '--config-file', conf)
        self.assertEqual(0, proc.returncode, proc.stderr)
        after = self.tree('cl-deco')
        # nova's providers and inventories, OWNER_NOVA and the
        # operator's traits stay; nothing of the exporter's is left
        self.assertEqual(set(before), set(after))
        self.assertEqual({'OWNER_NOVA', 'CUSTOM_OPERATOR_GOLD'},
                         after[name][0])
        self.assertEqual({'OWNER_NOVA'},
                         after['cl-deco_pci_0000_5e_00_0'][0])
        self.assertEqual({'CUSTOM_OPERATOR_RACK_7'}, after['cl-deco'][0])
        for _traits, inv in after.values():
            for rc, rec in inv.items():
                self.assertEqual(nova_inv[rc]['total'], rec['total'])
        # the custom traits cl-deco defined that only it had are gone
        # from Placement (its version bucket included), those cl-other
        # has stay, and so does every custom trait it did not define
        self.assertFalse(self.trait_exists('CUSTOM_MDEV_TYPE_NVIDIA_222'))
        self.assertIn('Custom traits the exporter defined that no provider '
                      'has any more: delete ', proc.stdout)
        self.assertTrue(self.trait_exists('CUSTOM_MDEV_TYPE_NVIDIA_231'))
        self.assertFalse(self.trait_exists(
            'CUSTOM_MDEV_SWVER_NVIDIA_510_47'))
        self.assertTrue(self.trait_exists('CUSTOM_MDEV_SWVER_NVIDIA_470_1'))
        self.assertTrue(self.trait_exists('CUSTOM_HW_GPU_SOMETHING_ELSE'))
        self.assertTrue(self.trait_exists('CUSTOM_OPERATOR_GOLD'))
        self.assertEqual(other_before, self.tree('cl-other'))
        # the record no longer lists them; a second run has nothing to do
        with open(os.path.join(self.tmp, 'cl-deco', 'state.json')) as f:
            self.assertEqual({}, json.load(f)['providers'])
        proc = self.run_cli('cleanup', '--config-file', conf)
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertIn('No record', proc.stdout)
        self.assertEqual(after, self.tree('cl-deco'))

    def test_manage_host_with_a_vgpu_in_use(self):
        # the compute node provider is nova's
        self.create_root('cl-man')
        _, conf = self.make_host('cl-man', [('0000:3b:00.0', '512.10.01'),
                                            ('0000:5e:00.0', '512.10.01')],
                                 create_root=False)
        self.assertTrue(self.exporter(conf).cycle().ok)
        busy = self.provider('cl-man_pci_0000_5e_00_0')
        consumer = str(uuid.uuid4())
        self.api('PUT', '/allocations/%s' % consumer, {
            'allocations': {busy['uuid']: {'resources': {'VGPU': 1}}},
            'project_id': 'p', 'user_id': 'u', 'consumer_generation': None,
            'consumer_type': 'INSTANCE'}, expect=204)

        proc = self.run_cli('cleanup', '--config-file', conf)
        # the free provider is deleted; Placement refuses the busy one
        self.assertEqual(3, proc.returncode, proc.stdout)
        self.assertIn('cl-man_pci_0000_3b_00_0: delete the provider',
                      proc.stdout)
        self.assertIn('cl-man_pci_0000_5e_00_0: Placement refused to '
                      'delete it', proc.stderr)
        self.assertIsNone(self.provider('cl-man_pci_0000_3b_00_0'))
        self.assertIsNotNone(self.provider('cl-man_pci_0000_5e_00_0'))
        # the busy one's traits are still in use: not deleted
        self.assertTrue(self.trait_exists('CUSTOM_MDEV_TYPE_NVIDIA_231'))
        # the record keeps what is left
        with open(os.path.join(self.tmp, 'cl-man', 'state.json')) as f:
            self.assertEqual(['cl-man_pci_0000_5e_00_0'],
                             list(json.load(f)['providers']))

        # the VM is gone: a second run finishes
        self.api('DELETE', '/allocations/%s' % consumer, expect=204)
        proc = self.run_cli('cleanup', '--config-file', conf)
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertIsNone(self.provider('cl-man_pci_0000_5e_00_0'))
        self.assertEqual(set(), self.candidate_roots(None) & {'cl-man'})
        # nova's compute node provider stays
        self.assertIsNotNone(self.provider('cl-man'))

    def test_unreachable_placement(self):
        _, conf = self.make_host('cl-down', [('0000:3b:00.0', '535.1.0')])
        conf = self.write_conf('cl-down', os.path.join(self.tmp, 'cl-down',
                                                       'sys'),
                               ('nvidia-231',), 'manage', True,
                               url='http://127.0.0.1:9')
        proc = self.run_cli('cleanup', '--config-file', conf)
        self.assertEqual(1, proc.returncode)
        self.assertIn('Placement unavailable', proc.stderr)

    def test_daemon_recreates_a_trait_cleanup_deleted_elsewhere(self):
        # a running exporter knows the custom traits it created; cleanup
        # on another host deletes those it defined that no provider has
        # any more
        builder, conf = self.make_host('cl-again',
                                       [('0000:3b:00.0', '497.33.01')])
        exporter = self.exporter(conf)
        self.assertTrue(exporter.cycle().ok)
        version = os.path.join(builder.root, 'module', 'nvidia', 'version')

        def driver(value):
            os.chmod(version, 0o644)
            with open(version, 'w') as f:
                f.write(value + '\n')

        driver('535.129.03')
        self.assertTrue(exporter.cycle().ok)
        trait = 'CUSTOM_MDEV_SWVER_NVIDIA_497_33'
        self.api('DELETE', '/traits/%s' % trait, expect=204)
        # back to the old driver: its buckets are wanted again
        driver('497.33.01')
        for _cycle in range(2):
            if exporter.cycle().ok:
                break
        self.assertTrue(exporter.cycle().ok)
        self.assertIn(trait, self.traits('cl-again_pci_0000_3b_00_0'))


class TestDefinedTraits(base.PlacementTestCase):
    """cleanup deletes the custom traits the exporter defined (Placement
    answered 201 to its PUT /traits) once no provider has them, and no
    other (a Placement of its own: which host defines a trait first
    matters)."""

    def state(self, name):
        with open(os.path.join(self.tmp, name, 'state.json')) as f:
            return json.load(f)

    def driver(self, builder, value):
        version = os.path.join(builder.root, 'module', 'nvidia', 'version')
        os.chmod(version, 0o644)
        with open(version, 'w') as f:
            f.write(value + '\n')

    def test_only_defined_traits_are_deleted(self):
        threshold = 'CUSTOM_MDEV_SWVER_NVIDIA_550_54'
        physnet = 'CUSTOM_PHYSNET_CLDEF'
        # an operator's driver threshold for the version about to be
        # rolled out (trait contract v2), created before any host runs
        # it, and neutron's physnet trait on the compute node provider
        # (nova's)
        self.api('PUT', '/traits/%s' % threshold, expect=201)
        self.api('PUT', '/traits/%s' % physnet, expect=201)
        self.create_root('cl-def')
        self.add_trait('cl-def', physnet)
        builder, conf = self.make_host('cl-def', [('0000:3b:00.0',
                                                   '525.85.05')],
                                       create_root=False)
        exporter = self.exporter(conf)
        self.assertTrue(exporter.cycle().ok)
        # a driver upgrade to the threshold's version: the exporter's PUT
        # /traits of the bucket is answered 204 (it existed): not its own
        self.driver(builder, '550.54.14')
        self.assertTrue(exporter.cycle().ok)
        # another: it defines the new bucket and keeps the lower one
        self.driver(builder, '550.90.07')
        self.assertTrue(exporter.cycle().ok)
        gpu = 'cl-def_pci_0000_3b_00_0'
        self.assertIn(threshold, self.traits(gpu))
        self.assertIn('CUSTOM_MDEV_SWVER_NVIDIA_550_90', self.traits(gpu))
        self.assertNotIn('CUSTOM_MDEV_SWVER_NVIDIA_525_85', self.traits(gpu))
        defined = set(self.state('cl-def')['defined_traits'])
        self.assertTrue({'CUSTOM_MDEV_SWVER_NVIDIA_525_85',
                         'CUSTOM_MDEV_SWVER_NVIDIA_550_90',
                         'CUSTOM_MDEV_TYPE_NVIDIA_231'} <= defined)
        self.assertNotIn(threshold, defined)
        self.assertNotIn(physnet, defined)
        # an unchanged cycle writes nothing, the state file included
        path = os.path.join(self.tmp, 'cl-def', 'state.json')
        before = os.stat(path)
        self.assertTrue(exporter.cycle().ok)
        after = os.stat(path)
        self.assertEqual((before.st_ino, before.st_mtime_ns),
                         (after.st_ino, after.st_mtime_ns))
        # another host with the same GPU model, another driver: it finds
        # the type traits (defined by cl-def) and defines its own bucket
        _, peer = self.make_host('cl-peer', [('0000:3b:00.0',
                                              '535.129.03')])
        self.assertTrue(self.exporter(peer).cycle().ok)
        self.assertEqual(['CUSTOM_MDEV_SWVER_NVIDIA_535_129'],
                         self.state('cl-peer')['defined_traits'])

        proc = self.run_cli('cleanup', '--config-file', conf, '--dry-run')
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertIn('Custom traits the exporter defined that no provider '
                      'has any more: would delete 2 (CUSTOM_MDEV_SWVER_'
                      'NVIDIA_525_85, CUSTOM_MDEV_SWVER_NVIDIA_550_90); ',
                      proc.stdout)
        self.assertIn('Custom traits the exporter set but did not define, '
                      'kept (not its own): %s\n' % threshold, proc.stdout)
        self.assertTrue(self.trait_exists('CUSTOM_MDEV_SWVER_NVIDIA_525_85'))

        proc = self.run_cli('cleanup', '--config-file', conf)
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertIn('Custom traits the exporter defined that no provider '
                      'has any more: delete 2 (CUSTOM_MDEV_SWVER_NVIDIA_'
                      '525_85, CUSTOM_MDEV_SWVER_NVIDIA_550_90); ',
                      proc.stdout)
        self.assertIn('still on other providers, kept', proc.stdout)
        self.assertIsNone(self.provider(gpu))
        # its own buckets are gone, the one it withdrew at the upgrade
        # included
        self.assertFalse(self.trait_exists('CUSTOM_MDEV_SWVER_NVIDIA_525_85'))
        self.assertFalse(self.trait_exists('CUSTOM_MDEV_SWVER_NVIDIA_550_90'))
        # the operator's threshold and neutron's trait stay
        self.assertTrue(self.trait_exists(threshold))
        self.assertEqual({physnet}, self.traits('cl-def'))
        # what cl-peer still has stays, and stays in the record
        self.assertTrue(self.trait_exists('CUSTOM_MDEV_TYPE_NVIDIA_231'))
        self.assertIn('CUSTOM_MDEV_TYPE_NVIDIA_231',
                      self.traits('cl-peer_pci_0000_3b_00_0'))
        rest = set(self.state('cl-def')['defined_traits'])
        self.assertIn('CUSTOM_MDEV_TYPE_NVIDIA_231', rest)
        self.assertFalse({'CUSTOM_MDEV_SWVER_NVIDIA_525_85',
                          'CUSTOM_MDEV_SWVER_NVIDIA_550_90'} & rest)

        # cl-peer's cleanup keeps the type traits (cl-peer did not define
        # them) and deletes its own bucket
        proc = self.run_cli('cleanup', '--config-file', peer)
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertIn('delete 1 (CUSTOM_MDEV_SWVER_NVIDIA_535_129)',
                      proc.stdout)
        self.assertIn('kept (not its own): ', proc.stdout)
        self.assertFalse(self.trait_exists('CUSTOM_MDEV_SWVER_NVIDIA_535_129'))
        self.assertTrue(self.trait_exists('CUSTOM_MDEV_TYPE_NVIDIA_231'))
        # no provider has them any more: cl-def's cleanup, run again,
        # deletes what it defined
        proc = self.run_cli('cleanup', '--config-file', conf)
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertFalse(self.trait_exists('CUSTOM_MDEV_TYPE_NVIDIA_231'))
        self.assertNotIn('defined_traits', self.state('cl-def'))
        self.assertTrue(self.trait_exists(threshold))
        self.assertTrue(self.trait_exists(physnet))
