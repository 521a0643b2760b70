"""GPU capabilities as standard traits, end to end against a real
Placement: a flavor asks for capabilities ("CUDA >= 8.0", "Vulkan", "4
heads at 3840x2160") and GET /allocation_candidates returns exactly the
GPUs that can serve it, without naming an mdev type."""

import json
import os
import urllib.parse

from mdev_traits.discovery import nvml
from mdev_traits.testing import fake_nvml
from mdev_traits.testing import samples
from mdev_traits.testing import sysfs_builder
from tests.functional import base

CUDA_8_0 = 'CUSTOM_HW_GPU_CUDA_COMPUTE_CAPABILITY_V8_0'
CUDA_9_0 = 'CUSTOM_HW_GPU_CUDA_COMPUTE_CAPABILITY_V9_0'
CUDA_7_0 = 'HW_GPU_CUDA_COMPUTE_CAPABILITY_V7_0'


def nv_type(name, heads, fb_mb, resolution, instances):
    """An NVIDIA vGPU type as the host driver describes it."""
    return dict(name=name, available_instances=instances,
                device_api='vfio-pci',
                description='num_heads=%d, frl_config=60, framebuffer=%dM, '
                            'max_resolution=%s, max_instance=%d'
                            % (heads, fb_mb, resolution, instances))


# Type ids as on the real boards are not needed: flavors no longer name
# them. Names and limits: NVIDIA vGPU user guide tables.
T4 = dict(vendor='10de', device='1eb8', driver='nvidia')
T4_TYPES = {
    'nvidia-222': nv_type('GRID T4-1B', 4, 1024, '5120x2880', 16),
    'nvidia-226': nv_type('GRID T4-2A', 1, 2048, '1280x1024', 8),
    'nvidia-231': nv_type('GRID T4-2Q', 4, 2048, '7680x4320', 8),
    'nvidia-234': nv_type('GRID T4-4C', 1, 4096, '4096x2160', 4),
}
A100 = dict(vendor='10de', device='20b5', driver='nvidia')
A100_TYPES = {'nvidia-472': nv_type('NVIDIA A100-4C', 1, 4096,
                                    '4096x2160', 10)}
# H100 CNX (10de:2313) is not in the shipped table: NVML says 9.0
H100 = dict(vendor='10de', device='2313', driver='nvidia')
H100_TYPES = {'nvidia-700': nv_type('NVIDIA H100-4C', 1, 4096,
                                    '4096x2160', 20)}


class GpuHostsMixin(object):

    def gpu_host(self, name, ids, types, enabled, mode='manage',
                 address='0000:3b:00.0', extra='', create_root=True):
        root = os.path.join(self.tmp, name, 'sys')
        builder = sysfs_builder.SysfsBuilder(root)
        builder.add_pci_mdev_parent(address, driver_version='550.54.14',
                                    numa_node=0, types=types, **ids)
        profiles = os.path.join(self.tmp, name, 'profiles.d')
        os.makedirs(profiles, exist_ok=True)
        conf = self.write_conf(name, root, [enabled], mode, create_root,
                               '[profiles]\ndirectory = %s\n%s' % (
                                   profiles, extra))
        return builder, conf, profiles

    def publish(self, conf, nvml_module=None):
        exporter = self.exporter(conf)
        if nvml_module is not None:
            exporter.collectors.append(nvml.NvmlCollector(
                exporter.settings.exporter.sysfs_root, nvml=nvml_module))
        result = exporter.cycle()
        self.assertTrue(result.ok, result.outcome.failed)
        return exporter

    def granular_roots(self, query):
        """Root provider names for a raw allocation candidates query."""
        _, body = self.api('GET', '/allocation_candidates?' + query,
                           expect=200)
        names = set()
        for ar in body['allocation_requests']:
            for rp_uuid in ar['allocations']:
                root = body['provider_summaries'][rp_uuid][
                    'root_provider_uuid']
                _, rp = self.api('GET', '/resource_providers/%s' % root,
                                 expect=200)
                names.add(rp['name'])
        return names


class TestGpuCapabilities(GpuHostsMixin, base.PlacementTestCase):

    def test_cuda_at_least(self):
        _, conf, _ = self.gpu_host('cc-a100', A100, A100_TYPES,
                                   'nvidia-472')
        self.publish(conf)
        _, conf, _ = self.gpu_host('cc-h100', H100, H100_TYPES,
                                   'nvidia-700')
        self.publish(conf, fake_nvml.FakeNvml([fake_nvml.FakeGpu(
            '0000:3b:00.0', device='2313', name='NVIDIA H100 CNX',
            cuda_compute_capability=(9, 0), memory_mb=81559)]))
        _, conf, _ = self.gpu_host('cc-t4', T4, T4_TYPES, 'nvidia-231')
        self.publish(conf)
        hosts = {'cc-a100', 'cc-h100', 'cc-t4'}
        # "a vGPU with at least CUDA compute capability 8.0"
        self.assertEqual({'cc-a100', 'cc-h100'},
                         self.candidate_roots(CUDA_8_0) & hosts)
        self.assertEqual({'cc-h100'},
                         self.candidate_roots(CUDA_9_0) & hosts)
        # a standard os-traits level: every one of them
        self.assertEqual(hosts, self.candidate_roots(CUDA_7_0) & hosts)
        # the H100's level came from NVML (the table does not know 2313)
        self.assertIn(CUDA_9_0, self.traits('cc-h100_pci_0000_3b_00_0'))

    def test_vulkan_q_series_not_c_series(self):
        _, conf, _ = self.gpu_host('api-q', T4, T4_TYPES, 'nvidia-231')
        self.publish(conf)
        _, conf, _ = self.gpu_host('api-c', T4, T4_TYPES, 'nvidia-234')
        self.publish(conf)
        hosts = {'api-q', 'api-c'}
        self.assertEqual({'api-q'},
                         self.candidate_roots('HW_GPU_API_VULKAN') & hosts)
        self.assertEqual({'api-q'}, self.candidate_roots(
            'HW_GPU_API_OPENGL_V4_5,HW_GPU_API_DIRECTX_V12') & hosts)
        # both offer CUDA and OpenCL (Q- and C-series)
        self.assertEqual(hosts, self.candidate_roots(
            'CUSTOM_HW_GPU_API_OPENCL_V3_0,'
            'CUSTOM_HW_GPU_CUDA_COMPUTE_CAPABILITY_V7_5') & hosts)
        # forbidden: a compute-only vGPU
        self.assertEqual({'api-c'}, self.candidate_roots(
            '!HW_GPU_API_VULKAN,CUSTOM_HW_GPU_API_OPENCL_V3_0') & hosts)

    def test_heads_and_resolution(self):
        for host, enabled in (('disp-q', 'nvidia-231'),
                              ('disp-b', 'nvidia-222'),
                              ('disp-a', 'nvidia-226')):
            _, conf, _ = self.gpu_host(host, T4, T4_TYPES, enabled)
            self.publish(conf)
        hosts = {'disp-q', 'disp-b', 'disp-a'}
        # "4 heads at 3840x2160"
        self.assertEqual({'disp-q', 'disp-b'}, self.candidate_roots(
            'HW_GPU_MAX_DISPLAY_HEADS_4,HW_GPU_RESOLUTION_W3840H2160')
            & hosts)
        self.assertEqual({'disp-q'}, self.candidate_roots(
            'HW_GPU_RESOLUTION_W7680H4320') & hosts)
        self.assertEqual(hosts, self.candidate_roots(
            'HW_GPU_MAX_DISPLAY_HEADS_1,HW_GPU_RESOLUTION_W1280H1024')
            & hosts)
        # framebuffer, at least: 1B has 1 GB, 2Q and 2A have 2 GB
        self.assertEqual(hosts, self.candidate_roots(
            'CUSTOM_VGPU_FRAMEBUFFER_MB_1024') & hosts)
        self.assertEqual({'disp-q', 'disp-a'}, self.candidate_roots(
            'CUSTOM_VGPU_FRAMEBUFFER_MB_2048') & hosts)
        # VGPU_DISPLAY_HEAD inventory (manage mode), asked in the same
        # request group as the vGPU
        inv = self.inventories('disp-q_pci_0000_3b_00_0')
        self.assertEqual(8, inv['VGPU']['total'])
        self.assertEqual(32, inv['VGPU_DISPLAY_HEAD']['total'])
        self.assertEqual(4, inv['VGPU_DISPLAY_HEAD']['max_unit'])
        self.assertEqual({'disp-q', 'disp-b'}, self.granular_roots(
            'resources1=VGPU:1,VGPU_DISPLAY_HEAD:4') & hosts)
        self.assertEqual(hosts, self.granular_roots(
            'resources1=VGPU:1,VGPU_DISPLAY_HEAD:1') & hosts)

    def test_operator_rules(self):
        builder, conf, profiles = self.gpu_host('ops', T4, T4_TYPES,
                                                'nvidia-231')
        builder.add_pci_mdev_parent('0000:5e:00.0', driver_version='550.54.14',
                                    numa_node=1, types=T4_TYPES, **T4)
        with open(os.path.join(profiles, '10-site.yaml'), 'w') as f:
            f.write('rules:\n'
                    '  - name: gold\n'
                    '    match: {address: "0000:3b:*"}\n'
                    '    traits: [CUSTOM_GOLD]\n'
                    '  - name: no-vulkan-here\n'
                    '    match: {address: "0000:5e:00.0"}\n'
                    '    set: {apis: [OPENGL_V4_6]}\n')
        # broken: skipped as a whole, reported
        with open(os.path.join(profiles, '20-broken.yaml'), 'w') as f:
            f.write('rules:\n'
                    '  - {name: silver, match: {}, traits: [CUSTOM_SILVER]}\n'
                    '  - {name: bad, match: {}, set: {display_heads: x}}\n')
        # half-written by a tool: ignored
        with open(os.path.join(profiles, '.30-next.yaml'), 'w') as f:
            f.write('rules: [')
        exporter = self.publish(conf)
        gold = 'ops_pci_0000_3b_00_0'
        plain = 'ops_pci_0000_5e_00_0'
        self.assertIn('CUSTOM_GOLD', self.traits(gold))
        self.assertNotIn('CUSTOM_GOLD', self.traits(plain))
        self.assertNotIn('CUSTOM_SILVER', self.traits(gold))
        self.assertNotIn('HW_GPU_API_VULKAN', self.traits(plain))
        self.assertIn('HW_GPU_API_VULKAN', self.traits(gold))
        self.assertEqual({'ops'}, self.candidate_roots('CUSTOM_GOLD'))
        # a later file wins; the exporter removes what it no longer derives
        # (once every file loads: while one does not, it withdraws nothing,
        # see tests/functional/test_evidence.py)
        os.unlink(os.path.join(profiles, '20-broken.yaml'))
        with open(os.path.join(profiles, '40-later.yaml'), 'w') as f:
            f.write('rules:\n'
                    '  - name: vulkan-back\n'
                    '    match: {address: "0000:5e:00.0"}\n'
                    '    set: {apis: [VULKAN]}\n')
        os.unlink(os.path.join(profiles, '10-site.yaml'))
        exporter.cycle()
        self.assertNotIn('CUSTOM_GOLD', self.traits(gold))
        self.assertIn('HW_GPU_API_VULKAN', self.traits(plain))
        self.assertNotIn('HW_GPU_API_OPENGL_V4_5', self.traits(plain))

    def test_decorate_mode_traits_without_head_inventory(self):
        root = self.create_root('deco-gpu')
        rp, _inv = self.create_child(root, 'deco-gpu_pci_0000_3b_00_0', 8)
        _, conf, _ = self.gpu_host('deco-gpu', T4, T4_TYPES, 'nvidia-231',
                                   mode='decorate', create_root=False)
        self.publish(conf)
        traits = self.traits(rp['name'])
        self.assertIn('HW_GPU_MAX_DISPLAY_HEADS_4', traits)
        self.assertIn('HW_GPU_API_VULKAN', traits)
        self.assertEqual(['VGPU'], list(self.inventories(rp['name'])))


class TestCommandLine(GpuHostsMixin, base.PlacementTestCase):

    def test_dry_run_explains(self):
        _, conf, profiles = self.gpu_host('explain', T4, T4_TYPES,
                                          'nvidia-231')
        with open(os.path.join(profiles, '10-bad.yaml'), 'w') as f:
            f.write('rules:\n  - {name: r, match: {}, set: {cuda: maybe}}\n')
        proc = self.run_cli('--config-file', conf, '--dry-run')
        self.assertEqual(0, proc.returncode, proc.stderr)
        tree = json.loads(proc.stdout)
        (prov,) = tree['providers']
        sources = prov['trait_sources']
        self.assertEqual(
            ['cuda_compute_capability=7.5 from profile nvidia.yaml:'
             'cuda-7.5-turing; CUDA offered to the guest per profile '
             'nvidia.yaml:vgpu-q-series'],
            sources['CUSTOM_HW_GPU_CUDA_COMPUTE_CAPABILITY_V7_5'])
        self.assertEqual(
            ['max_resolution=7680x4320 from sysfs class/mdev_bus/'
             '0000:3b:00.0/mdev_supported_types/nvidia-231/description'],
            sources['HW_GPU_RESOLUTION_W3840H2160'])
        self.assertEqual(['apis include VULKAN from profile nvidia.yaml:'
                          'vgpu-q-series'], sources['HW_GPU_API_VULKAN'])
        self.assertEqual(['%s: rule r: field set.cuda: must be true or '
                          "false, got 'maybe'; the file is skipped"
                          % os.path.join(profiles, '10-bad.yaml')],
                         [w for w in tree['warnings'] if '10-bad' in w])
        self.assertEqual(32, prov['inventories']['VGPU_DISPLAY_HEAD'][
            'total'])

    def test_device_spec(self):
        root = os.path.join(self.tmp, 'spec', 'sys')
        samples.get('gpu-host-4').extract(root)
        conf = self.write_conf('spec', root, [], 'manage', True,
                               '[profiles]\ndirectory = %s\n'
                               % os.path.join(self.tmp, 'none'))
        proc = self.run_cli('device-spec', '--config-file', conf)
        self.assertEqual(0, proc.returncode, proc.stderr)
        specs = [json.loads(line.split(' = ', 1)[1])
                 for line in proc.stdout.splitlines()
                 if line.startswith('device_spec = ')]
        self.assertEqual(4, len(specs))
        vf = specs[0]
        self.assertEqual('CUSTOM_NVIDIA_H200X_1_18C', vf['resource_class'])
        self.assertEqual('no', vf['managed'])
        self.assertIn(CUDA_9_0, vf['traits'].split(','))
        self.assertEqual('PGPU', specs[-1]['resource_class'])
        # nova accepts the resource class and the traits as they are:
        # Placement knows the standard ones, CUSTOM_ ones are valid names
        for spec in specs:
            for trait in spec['traits'].split(','):
                if not trait.startswith('CUSTOM_'):
                    self.api('GET', '/traits/%s' % urllib.parse.quote(
                        trait), expect=204)
