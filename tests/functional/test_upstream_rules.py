"""nova's and libvirt's own rules, end to end against a real Placement:
libvirt's node-device names of mdev parents, nova's choice of a type per
parent, its device_addresses validation and its host-wide max_instances
(nova/virt/libvirt/driver.py, libvirt src/node_device/node_device_udev.c).
"""

import json
import os

from mdev_traits.cmd import exporter as exporter_cmd
from mdev_traits.conf import settings as settings_mod
from mdev_traits.mapping import names
from mdev_traits.placement import record as record_mod
from mdev_traits import service
from mdev_traits.testing import sysfs_builder
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


class TestGpuNames(base.PlacementTestCase):
    """The shipped profiles read the names the drivers write."""

    def host(self, name, address, ids, types, enabled):
        root = os.path.join(self.tmp, name, 'sys')
        builder = sysfs_builder.SysfsBuilder(root)
        builder.add_pci_mdev_parent(address, numa_node=0, types=types,
                                    **ids)
        conf = self.write_conf(name, root, [enabled], 'manage', True)
        self.assertTrue(self.exporter(conf).cycle().ok)
        return '%s_pci_%s' % (name, address.replace(':', '_').replace(
            '.', '_'))

    def test_mig_backed_vgpu_types(self):
        # NVIDIA vGPU user guide, MIG-backed C-series types of an A100
        # 80GB PCIe: -<compute slices>-<GB>C, ME with media extensions.
        # The description gives no framebuffer: the name does.
        names = (('NVIDIA A100-1-5CME', 1), ('NVIDIA A100-2-10C', 3))
        types = {}
        for i, (name, n) in enumerate(names):
            types['nvidia-%d' % (700 + i)] = dict(
                name=name, available_instances=1, device_api='vfio-pci',
                description='num_heads=1, frl_config=60, '
                            'max_resolution=4096x2160, max_instance=%d' % n)
        a100 = dict(vendor='10de', device='20b5', driver='nvidia',
                    driver_version='550.54.14')
        small = self.host('mig-me', '0000:3b:00.0', a100, types,
                          'nvidia-700')
        large = self.host('mig-2', '0000:3b:00.0', a100, types,
                          'nvidia-701')
        for rp, fb in ((small, 4096), (large, 8192)):
            traits = self.traits(rp)
            # C-series: CUDA and OpenCL, no graphics
            self.assertIn('CUSTOM_HW_GPU_CUDA_COMPUTE_CAPABILITY_V8_0',
                          traits, rp)
            self.assertFalse([t for t in traits if 'VULKAN' in t], rp)
            self.assertIn('CUSTOM_VGPU_FRAMEBUFFER_MB_%d' % fb, traits, rp)
            self.assertNotIn('CUSTOM_VGPU_FRAMEBUFFER_MB_%d' % (fb * 2),
                             traits, rp)
        # a flavor asking for 8 GiB of framebuffer and CUDA gets the
        # 2-10C slice only
        self.assertEqual({large}, self.candidate_providers(
            'CUSTOM_VGPU_FRAMEBUFFER_MB_8192,'
            'CUSTOM_HW_GPU_CUDA_COMPUTE_CAPABILITY_V8_0') & {small, large})

    def test_gvt_g_generation_from_the_type(self):
        # drivers/gpu/drm/i915/gvt/vgpu.c: GVTg_V4_* on Gen8 (Broadwell),
        # GVTg_V5_* on Gen9 (here a Coffee Lake UHD 630, 8086:3e92)
        def gvt(type_name):
            return {'i915-' + type_name: dict(
                name=type_name, available_instances=2,
                device_api='vfio-pci',
                description='low_gm_size: 128MB\nhigh_gm_size: 512MB\n'
                            'fence: 4\nresolution: 1920x1200\nweight: 4')}
        bdw = self.host('gvt-bdw', '0000:00:02.0',
                        dict(vendor='8086', device='1616', driver='i915'),
                        gvt('GVTg_V4_4'), 'i915-GVTg_V4_4')
        cfl = self.host('gvt-cfl', '0000:00:02.0',
                        dict(vendor='8086', device='3e92', driver='i915'),
                        gvt('GVTg_V5_4'), 'i915-GVTg_V5_4')
        self.assertIn('HW_GPU_API_OPENGL_V4_4', self.traits(bdw))
        self.assertNotIn('HW_GPU_API_OPENGL_V4_5', self.traits(bdw))
        self.assertNotIn('HW_GPU_API_VULKAN', self.traits(bdw))
        self.assertIn('HW_GPU_API_VULKAN', self.traits(cfl))
        self.assertEqual({cfl}, self.candidate_providers(
            'HW_GPU_API_VULKAN') & {bdw, cfl})


class TestRenameOldProviders(base.PlacementTestCase):
    """Providers the exporter created under the names it gave non-PCI
    parents before (``<root>_mtty``) get nova's name, keeping their uuid
    and allocations (mdev_traits.placement.renames)."""

    def test_old_name_is_renamed_with_its_allocation(self):
        builder, _ = self.make_host('ren', [])
        builder.add_virtual_mdev_parent('mtty')
        conf_path = self.write_conf('ren', builder.root, ['mtty-2'],
                                    'manage', True, MTTY_CONF)
        # what an earlier exporter left: its provider, its inventory, a
        # VM's allocation, and its record of having created the provider
        root = self.create_root('ren')
        old_uuid = names.provider_uuid('ren_mtty')
        self.api('POST', '/resource_providers', {
            'name': 'ren_mtty', 'uuid': old_uuid,
            'parent_provider_uuid': root['uuid']}, expect=200)
        status, _ = self.api('PUT', '/resource_classes/CUSTOM_MTTY')
        self.assertIn(status, (201, 204))
        self.api('PUT', '/resource_providers/%s/inventories' % old_uuid, {
            'resource_provider_generation': 0,
            'inventories': {'CUSTOM_MTTY': {'total': 12, 'max_unit': 12}}},
            expect=200)
        consumer = '0c3b5f0e-7a4c-4a3e-9d0e-0c1f0b3a0a02'
        self.api('PUT', '/allocations/%s' % consumer, {
            'allocations': {old_uuid: {'resources': {'CUSTOM_MTTY': 1}}},
            'project_id': 'p', 'user_id': 'u', 'consumer_generation': None,
            'consumer_type': 'INSTANCE'}, expect=204)
        conf = exporter_cmd.build_conf()
        conf(['--config-file', conf_path], project='mdev-traits')
        service.state_store(settings_mod.load(conf)).save(record_mod.Ownership(
            created={'ren': root['uuid'], 'ren_mtty': old_uuid},
            resource_classes={'ren_mtty': frozenset({'CUSTOM_MTTY'})}))

        result = self.exporter(conf_path).cycle()
        self.assertTrue(result.ok, result.outcome.failed)
        self.assertIsNone(self.provider('ren_mtty'))
        rp = self.provider('ren_mtty_mtty')
        self.assertEqual(old_uuid, rp['uuid'])
        self.assertEqual(root['uuid'], rp['parent_provider_uuid'])
        _, body = self.api('GET', '/allocations/%s' % consumer, expect=200)
        self.assertEqual({old_uuid: {'CUSTOM_MTTY': 1}}, {
            k: v['resources'] for k, v in body['allocations'].items()})
        self.assertIn('CUSTOM_MDEV_TYPE_MTTY_2', self.traits('ren_mtty_mtty'))
        self.assertEqual(12, self.inventories(
            'ren_mtty_mtty')['CUSTOM_MTTY']['total'])
        # the record follows: a second cycle writes nothing
        again = self.exporter(conf_path)
        again.cycle()
        self.assertEqual(0, again.client.write_count())

    def test_a_provider_not_recorded_as_ours_is_not_renamed(self):
        builder, _ = self.make_host('noren', [])
        builder.add_virtual_mdev_parent('mtty')
        conf_path = self.write_conf('noren', builder.root, ['mtty-2'],
                                    'manage', True, MTTY_CONF)
        root = self.create_root('noren')
        # someone else's provider that happens to have the old name
        _, other = self.api('POST', '/resource_providers', {
            'name': 'noren_mtty', 'parent_provider_uuid': root['uuid']},
            expect=200)
        self.assertTrue(self.exporter(conf_path).cycle().ok)
        self.assertEqual(other['uuid'], self.provider('noren_mtty')['uuid'])
        self.assertEqual(names.provider_uuid('noren_mtty_mtty'),
                         self.provider('noren_mtty_mtty')['uuid'])
