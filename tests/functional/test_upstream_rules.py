"""nova's and libvirt's own rules, end to end against a real Placement:
libvirt's node-device names of mdev parents, nova's choice of a type per
parent, its device_addresses validation and its host-wide max_instances
(nova/virt/libvirt/driver.py, libvirt src/node_device/node_device_udev.c).
"""

import json

from tests.functional import base

MTTY_CONF = ('[mdev_mtty-2]\ndevice_addresses = mtty_mtty\n'
             'mdev_class = CUSTOM_MTTY\n')


class TestParentNames(base.PlacementTestCase):

    def mixed_host(self, name, mode='manage', extra=MTTY_CONF,
                   enabled=('nvidia-231', 'mtty-2')):
        builder, _ = self.make_host(name, [('0000:3b:00.0', '535.129.03')])
        builder.add_virtual_mdev_parent('mtty')
        builder.add_ap_matrix()
        builder.add_ccw_subchannel('0.0.0313')
        conf = self.write_conf(name, builder.root, enabled, mode, True,
                               extra)
        return builder, conf

    def test_manage_mode_creates_what_nova_would(self):
        _, conf = self.mixed_host('names')
        self.assertTrue(self.exporter(conf).cycle().ok)
        # nova: '<nodename>_<libvirt node-device name>'
        self.assertEqual({'CUSTOM_MTTY': 12}, {
            rc: inv['total'] for rc, inv in
            self.inventories('names_mtty_mtty').items()})
        self.assertIn('CUSTOM_MDEV_TYPE_MTTY_2',
                      self.traits('names_mtty_mtty'))
        self.assertIn('CUSTOM_MDEV_TYPE_NVIDIA_231',
                      self.traits('names_pci_0000_3b_00_0'))
        # nova cannot use the vfio-ap matrix nor vfio-ccw subchannels
        # (_get_device_address has no address for ap_matrix nor
        # css_0_0_0313): no provider; none under the old names either
        for name in ('names_ap_matrix', 'names_css_0_0_0313', 'names_mtty',
                     'names_matrix', 'names_0_0_0313'):
            self.assertIsNone(self.provider(name), name)
        self.assertEqual({'names_mtty_mtty'}, self.candidate_providers(
            'CUSTOM_MDEV_TYPE_MTTY_2', resources='CUSTOM_MTTY:1'))

    def test_decorate_mode_finds_novas_provider(self):
        _, conf = self.mixed_host('dnames', mode='decorate')
        # what nova-compute creates for [mdev_mtty-2] device_addresses =
        # mtty_mtty (_ensure_pgpu_providers)
        root = self.create_root('dnames')
        self.api('POST', '/resource_providers', {
            'name': 'dnames_mtty_mtty', 'parent_provider_uuid':
            root['uuid']}, expect=200)
        self.assertTrue(self.exporter(conf).cycle().ok)
        self.assertIn('CUSTOM_MDEV_TYPE_MTTY_2',
                      self.traits('dnames_mtty_mtty'))

    def test_mtty_without_address_gets_nothing(self):
        # the default type (no device_addresses) is only for parents nova
        # has an address for: PCI ones, not mtty_mtty
        _, conf = self.mixed_host('nomtty', extra='',
                                  enabled=('mtty-2',))
        self.assertTrue(self.exporter(conf).cycle().ok)
        self.assertIsNone(self.provider('nomtty_mtty_mtty'))

    def test_old_style_address_refuses_to_start(self):
        # nova accepts "mtty" (devices/virtual/mtty exists) but never
        # matches it; the exporter refuses it
        _, conf = self.mixed_host(
            'oldmtty', extra='[mdev_mtty-2]\ndevice_addresses = mtty\n')
        proc = self.run_cli('--config-file', conf, '--once')
        self.assertEqual(2, proc.returncode, proc.stderr)
        self.assertIn("[mdev_mtty-2] device_addresses in %s: 'mtty'" % conf,
                      proc.stderr)
        self.assertIn('mtty_mtty', proc.stderr)
        self.assertIsNone(self.provider('oldmtty_pci_0000_3b_00_0'))


class TestDeviceAddresses(base.PlacementTestCase):

    def test_malformed_address_refuses_to_start(self):
        extra = ('[mdev_nvidia-222]\n'
                 'device_addresses = 0000:3b:00.0, 0000:5e:00:0\n')
        _, conf = self.make_host('badaddr', [
            ('0000:3b:00.0', '535.129.03'), ('0000:5e:00.0', '535.129.03')],
            enabled=('nvidia-222', 'nvidia-231'), extra=extra)
        for args in (['--once'], ['--dry-run'], []):
            proc = self.run_cli('--config-file', conf, *args)
            self.assertEqual(2, proc.returncode, proc.stderr)
            errors = [line for line in proc.stderr.splitlines()
                      if 'device_addresses' in line]
            self.assertEqual(1, len(errors), proc.stderr)
            self.assertIn("[mdev_nvidia-222] device_addresses in %s: "
                          "'0000:5e:00:0'" % conf, errors[0])
            self.assertEqual('', proc.stdout)
        # nothing was published: the GPU at 0000:5e:00.0 did not lose its
        # traits to a typo
        self.assertIsNone(self.provider('badaddr_pci_0000_3b_00_0'))
        self.assertIsNone(self.provider('badaddr_pci_0000_5e_00_0'))

    def test_deprecated_vgpu_group(self):
        # nova/conf/devices.py: [vgpu_<type>] device_addresses still counts
        extra = '[vgpu_nvidia-222]\ndevice_addresses = 0000:5e:00.0\n'
        _, conf = self.make_host('vgpugrp', [
            ('0000:3b:00.0', '535.129.03'), ('0000:5e:00.0', '535.129.03')],
            enabled=('nvidia-231', 'nvidia-222'), extra=extra)
        self.assertTrue(self.exporter(conf).cycle().ok)
        self.assertIn('CUSTOM_MDEV_TYPE_NVIDIA_222',
                      self.traits('vgpugrp_pci_0000_5e_00_0'))
        self.assertEqual(16, self.inventories(
            'vgpugrp_pci_0000_5e_00_0')['VGPU']['total'])
        self.assertIn('CUSTOM_MDEV_TYPE_NVIDIA_231',
                      self.traits('vgpugrp_pci_0000_3b_00_0'))
        # a typo in the old group is refused as well
        extra = '[vgpu_nvidia-222]\ndevice_addresses = 0000:5e:00:0\n'
        conf = self.write_conf('vgpugrp', self.tmp + '/vgpugrp/sys',
                               ['nvidia-231', 'nvidia-222'], 'manage', True,
                               extra)
        proc = self.run_cli('--config-file', conf, '--dry-run')
        self.assertEqual(2, proc.returncode, proc.stderr)
        self.assertIn("'0000:5e:00:0'", proc.stderr)


class TestMaxInstances(base.PlacementTestCase):

    def test_limit_for_the_whole_host(self):
        # two GPUs offering 4 nvidia-231 each, limit 4: nova counts the
        # parents in turn, the second would take the type over the limit
        # and gets no inventory
        _, conf = self.make_host('maxinst', [
            ('0000:3b:00.0', '535.129.03'), ('0000:5e:00.0', '535.129.03')],
            extra='[mdev_nvidia-231]\nmax_instances = 4\n')
        proc = self.run_cli('--config-file', conf, '--dry-run')
        self.assertEqual(0, proc.returncode, proc.stderr)
        totals = {p['name']: p['inventories'].get('VGPU', {}).get('total')
                  for p in json.loads(proc.stdout)['providers']}
        self.assertEqual({'maxinst_pci_0000_3b_00_0': 4,
                          'maxinst_pci_0000_5e_00_0': None}, totals)
        self.assertTrue(self.exporter(conf).cycle().ok)
        self.assertEqual(
            4, self.inventories('maxinst_pci_0000_3b_00_0')['VGPU']['total'])
        self.assertIsNone(self.provider('maxinst_pci_0000_5e_00_0'))
        # Placement offers at most 4 vGPUs of that type on the host
        self.assertEqual({'maxinst'}, self.candidate_roots(
            'CUSTOM_MDEV_TYPE_NVIDIA_231', resources='VGPU:4') & {'maxinst'})
        # and no 5th
        self.assertEqual(set(), self.candidate_roots(
            'CUSTOM_MDEV_TYPE_NVIDIA_231', resources='VGPU:5') & {'maxinst'})
        _, body = self.api('GET', '/resource_providers?in_tree=%s' %
                           self.provider('maxinst')['uuid'], expect=200)
        self.assertEqual({'maxinst', 'maxinst_pci_0000_3b_00_0'},
                         {rp['name'] for rp in body['resource_providers']})
