"""``mdev-traits-exporter device-spec``: nova [pci] device_spec entries."""

import io
import json
import os
import sys

import fixtures
import testtools

from mdev_traits.cmd import device_spec
from mdev_traits.cmd import exporter
from mdev_traits.discovery import base
from mdev_traits.discovery import nvml
from mdev_traits.discovery import vgpu_vf
from mdev_traits.mapping import gpu_device_spec
from mdev_traits.testing import fake_nvml
from mdev_traits.testing import sysfs_builder
from mdev_traits.profiles import loader as profiles_loader

CUSTOM_CUDA = 'CUSTOM_HW_GPU_CUDA_COMPUTE_CAPABILITY_V%s'


class TestEntries(testtools.TestCase):

    def setUp(self):
        super(TestEntries, self).setUp()
        self.fake = self.useFixture(sysfs_builder.FakeSysfs(
            sample='gpu-host-4'))

    def entries(self, nvml_module=None, rule_set=None):
        collectors = [vgpu_vf.VgpuVfCollector(self.fake.root)]
        if nvml_module is not None:
            collectors.append(nvml.NvmlCollector(self.fake.root,
                                                 nvml=nvml_module))
        found = base.discover(collectors)
        rule_set = rule_set or profiles_loader.load_rule_set()
        warnings = []
        return gpu_device_spec.device_spec_entries(
            found, rule_set, warnings), warnings

    def test_sample_host(self):
        entries, warnings = self.entries()
        self.assertEqual([], warnings)
        by_address = {e.address: e for e in entries}
        vf = by_address['0000:41:00.4']
        self.assertEqual({
            'vendor_id': '10de', 'product_id': '2335',
            'address': '0000:41:00.4',
            'resource_class': 'CUSTOM_NVIDIA_H200X_1_18C',
            'managed': 'no'}, {k: v for k, v in vf.spec.items()
                               if k != 'traits'})
        traits = vf.spec['traits'].split(',')
        self.assertEqual(sorted(traits), traits)
        # H200 (table): CUDA 9.0; C-series: CUDA, OpenCL, no graphics
        self.assertIn(CUSTOM_CUDA % '9_0', traits)
        self.assertIn(CUSTOM_CUDA % '8_0', traits)
        self.assertIn('HW_GPU_CUDA_COMPUTE_CAPABILITY_V7_0', traits)
        self.assertIn('CUSTOM_HW_GPU_API_OPENCL_V3_0', traits)
        self.assertNotIn('HW_GPU_API_VULKAN', traits)
        # framebuffer from the type name: 18 GB
        self.assertIn('CUSTOM_VGPU_FRAMEBUFFER_MB_16384', traits)
        self.assertNotIn('CUSTOM_VGPU_FRAMEBUFFER_MB_32768', traits)
        self.assertEqual('CUSTOM_NVIDIA_H200X_2_35C',
                         by_address['0000:41:00.6'].spec['resource_class'])
        free = by_address['0000:41:00.7']
        self.assertIsNone(free.spec)
        self.assertIn('without a vGPU type', free.note)
        whole = by_address['0000:c1:00.0']
        self.assertEqual('PGPU', whole.spec['resource_class'])
        self.assertNotIn('managed', whole.spec)
        traits = whole.spec['traits'].split(',')
        # L40S passed through: graphics and CUDA 8.9
        self.assertIn('HW_GPU_API_VULKAN', traits)
        self.assertIn(CUSTOM_CUDA % '8_9', traits)
        self.assertNotIn(CUSTOM_CUDA % '9_0', traits)

    def test_nvml_and_operator_rules(self):
        fake = fake_nvml.FakeNvml([
            fake_nvml.FakeGpu('0000:c1:00.0', device='26b9',
                              name='NVIDIA L40S',
                              cuda_compute_capability=(8, 9),
                              memory_mb=46068)])
        tmp = self.useFixture(fixtures.TempDir()).path
        with open(os.path.join(tmp, '50-site.yaml'), 'w') as f:
            f.write('rules:\n'
                    '  - name: h200-pool\n'
                    '    match: {address: "0000:41:00.0", kind: vgpu-vf}\n'
                    '    traits: [CUSTOM_POOL_TRAINING]\n')
        entries, _ = self.entries(fake, profiles_loader.load_rule_set(
            directory=tmp))
        by_address = {e.address: e for e in entries}
        whole = by_address['0000:c1:00.0']
        # NVML memory: 46068 MiB -> up to 32768
        self.assertIn('CUSTOM_VGPU_FRAMEBUFFER_MB_32768', whole.traits)
        self.assertIn('NVML of 0000:c1:00.0',
                      whole.traits[CUSTOM_CUDA % '8_9'][0])
        vf = by_address['0000:41:00.5']
        self.assertEqual(('operator rule %s:h200-pool'
                          % os.path.join(tmp, '50-site.yaml'),),
                         vf.traits['CUSTOM_POOL_TRAINING'])
        self.assertNotIn('CUSTOM_POOL_TRAINING', whole.traits)

    def test_render_ini(self):
        entries, _ = self.entries()
        text = device_spec.render_ini(entries, explain=True)
        lines = text.splitlines()
        self.assertIn('[pci]', lines)
        self.assertIn('report_in_placement = true', lines)
        specs = [json.loads(line.split(' = ', 1)[1]) for line in lines
                 if line.startswith('device_spec = ')]
        self.assertEqual(['0000:41:00.4', '0000:41:00.5', '0000:41:00.6',
                          '0000:c1:00.0'], [s['address'] for s in specs])
        self.assertIn('# 0000:41:00.7: SR-IOV VF of 0000:41:00.0 without a '
                      'vGPU type (nvidia/current_vgpu_type is 0): left out',
                      lines)
        self.assertTrue([line for line in lines if line.startswith(
            '#   %s <- cuda_compute_capability=9.0 from profile '
            'nvidia.yaml:cuda-9.0-hopper' % (CUSTOM_CUDA % '9_0'))])
        self.assertNotIn('<-', device_spec.render_ini(entries))

    def test_render_empty(self):
        self.assertIn('# no vGPU VF and no GPU bound to vfio-pci found',
                      device_spec.render_ini([]))
        self.assertEqual([], json.loads(device_spec.render_json([])))


class TestCommand(testtools.TestCase):

    def run_main(self, *args):
        out = io.StringIO()
        err = io.StringIO()
        self.patch(sys, 'stdout', out)
        self.patch(sys, 'stderr', err)
        rc = exporter.main(['device-spec'] + list(args))
        return rc, out.getvalue(), err.getvalue()

    def test_subcommand(self):
        fake = self.useFixture(sysfs_builder.FakeSysfs(sample='gpu-host-4'))
        tmp = self.useFixture(fixtures.TempDir()).path
        conf = os.path.join(tmp, 'mdev-traits.conf')
        with open(conf, 'w') as f:
            f.write('[exporter]\nsysfs_root = %s\n[profiles]\n'
                    'directory = %s\n' % (fake.root, tmp))
        # no NVML on this test host, whatever is installed
        self.patch(nvml, 'MODULE', 'mdev_traits_no_such_module')
        rc, out, err = self.run_main('--config-file', conf, '--format',
                                     'json')
        self.assertEqual(0, rc, err)
        data = json.loads(out)
        self.assertEqual(5, len(data))
        self.assertEqual('CUSTOM_NVIDIA_H200X_1_18C',
                         data[0]['device_spec']['resource_class'])
        self.assertIn(CUSTOM_CUDA % '9_0', data[0]['trait_sources'])
        rc, out, err = self.run_main('--config-file', conf)
        self.assertEqual(0, rc, err)
        self.assertEqual(4, out.count('\ndevice_spec = {'))

    def test_bad_format_is_refused(self):
        # oslo.config refuses a value outside the choices (exit status 1
        # through SystemExit, with the valid values on stderr)
        self.assertRaises(SystemExit, self.run_main, '--format', 'yaml')
