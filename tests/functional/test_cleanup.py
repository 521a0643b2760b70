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

    def add_trait(self, name, trait):
        self.api('PUT', '/traits/%s' % trait)
        rp = self.provider(name)
        _, body = self.api('GET', '/resource_providers/%s/traits' %
                           rp['uuid'], expect=200)
        self.api('PUT', '/resource_providers/%s/traits' % rp['uuid'], {
            'traits': body['traits'] + [trait],
            'resource_provider_generation':
                body['resource_provider_generation']}, expect=200)

    def trait_exists(self, trait):
        status, _ = self.api('GET', '/traits/%s' % trait)
        return status == 204

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
        self.assertIn('Custom traits no provider has any more: would '
                      'delete ', proc.stdout)
        self.assertIn('Driver version traits kept (they may be thresholds '
                      'of flavors): CUSTOM_MDEV_SWVER_NVIDIA_510_47',
                      proc.stdout)
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
        # the custom traits of the record only cl-deco had are gone from
        # Placement, those cl-other has stay; version buckets stay (an
        # operator's threshold looks the same), and so does every custom
        # trait the record does not list
        self.assertFalse(self.trait_exists('CUSTOM_MDEV_TYPE_NVIDIA_222'))
        self.assertIn('Custom traits no provider has any more: delete ',
                      proc.stdout)
        self.assertTrue(self.trait_exists('CUSTOM_MDEV_TYPE_NVIDIA_231'))
        self.assertTrue(self.trait_exists('CUSTOM_MDEV_SWVER_NVIDIA_510_47'))
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
        # on another host deletes those that no provider has any more
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
