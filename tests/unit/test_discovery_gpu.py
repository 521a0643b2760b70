"""GPU capability discovery sources: NVML (faked) and vGPU VFs (sysfs)."""

import logging
import os

import fixtures
import testtools

from mdev_traits.discovery import base
from mdev_traits.discovery import nvml
from mdev_traits.discovery import vgpu_vf
from mdev_traits import models
from mdev_traits.testing import fake_nvml
from mdev_traits.testing import gpu_builder
from mdev_traits.testing import sysfs_builder


class _Base(testtools.TestCase):

    def setUp(self):
        super(_Base, self).setUp()
        self.logger = self.useFixture(fixtures.FakeLogger(
            level=logging.DEBUG))
        self.fake = self.useFixture(sysfs_builder.FakeSysfs())
        self.root = self.fake.root
        self.b = self.fake.builder

    def warnings(self):
        return [line for line in self.logger.output.splitlines()
                if 'WARNING' in line or 'Skipping' in line]


class TestNvml(_Base):

    def collect(self, fake):
        return nvml.NvmlCollector(self.root, nvml=fake).collect()

    def test_gpus(self):
        gpu_builder.add_vgpu_pf(self.b, '0000:41:00.0')
        gpu_builder.add_vgpu_vf(self.b, '0000:41:00.4', '0000:41:00.0')
        gpu_builder.add_vgpu_vf(self.b, '0000:41:00.5', '0000:41:00.0')
        fake = fake_nvml.FakeNvml([
            fake_nvml.FakeGpu('0000:41:00.0', device='2335',
                              name='NVIDIA H200', cuda_compute_capability=(
                                  9, 0), memory_mb=143771),
            fake_nvml.FakeGpu('0000:3b:00.0')])
        result = self.collect(fake)
        self.assertTrue(result.complete)
        expected = [
            models.GpuInfo(address='0000:3b:00.0', source='nvml',
                           name='Tesla T4', vendor='10de', device='1eb8',
                           cuda_compute_capability=(7, 5), memory_mb=15360,
                           driver_version='550.90.05'),
            models.GpuInfo(address='0000:41:00.0', source='nvml',
                           name='NVIDIA H200', vendor='10de', device='2335',
                           cuda_compute_capability=(9, 0), memory_mb=143771,
                           driver_version='550.90.05',
                           virtual_functions=('0000:41:00.4',
                                              '0000:41:00.5')),
        ]
        self.assertEqual(expected, list(result.gpu_infos))
        self.assertEqual((), result.pci_gpus)
        # every init is paired with a shutdown
        self.assertEqual(['nvmlInit', 'nvmlShutdown'], fake.calls)
        self.assertEqual(0, fake.initialized)

    def test_quiet_without_nvidia(self):
        for code in (fake_nvml.NVML_ERROR_LIBRARY_NOT_FOUND,
                     fake_nvml.NVML_ERROR_DRIVER_NOT_LOADED):
            result = self.collect(fake_nvml.FakeNvml(init_error=code))
            self.assertEqual(models.DiscoveryResult(), result)
        self.assertEqual([], self.warnings())

    def test_quiet_without_the_library(self):
        collector = nvml.NvmlCollector(self.root)
        self.patch(nvml, 'MODULE', 'mdev_traits_no_such_module')
        self.assertEqual(models.DiscoveryResult(), collector.collect())
        self.assertEqual([], self.warnings())
        self.assertIn('not installed', self.logger.output)

    def test_init_failure_is_incomplete_gpu(self):
        result = self.collect(fake_nvml.FakeNvml(
            init_error=fake_nvml.NVML_ERROR_NO_PERMISSION))
        self.assertFalse(result.kind_complete(models.KIND_GPU))
        self.assertTrue(result.kind_complete(models.KIND_MDEV))
        self.assertIn('initialisation failed', result.errors[0])

    def test_one_bad_gpu(self):
        fake = fake_nvml.FakeNvml([
            fake_nvml.FakeGpu('0000:3b:00.0',
                              pci_error=fake_nvml.NVML_ERROR_UNKNOWN),
            fake_nvml.FakeGpu('0000:5e:00.0', cuda_compute_capability=None,
                              memory_mb=None)])
        result = self.collect(fake)
        (gpu,) = result.gpu_infos
        self.assertEqual('0000:5e:00.0', gpu.address)
        self.assertIsNone(gpu.cuda_compute_capability)
        self.assertIsNone(gpu.memory_mb)
        self.assertFalse(result.kind_complete(models.KIND_GPU))
        self.assertEqual(0, fake.initialized)

    def test_bus_id(self):
        self.assertEqual('0000:3b:00.0',
                         nvml.normalize_bus_id(b'00000000:3B:00.0'))
        self.assertEqual('0001:3b:00.0',
                         nvml.normalize_bus_id('00000001:3B:00.0'))

    def test_registered_plugin(self):
        self.assertIn('nvml', base.available_collectors())
        self.assertIn('vgpu_vf', base.available_collectors())


class TestVgpuVf(_Base):

    def collect(self):
        return vgpu_vf.VgpuVfCollector(self.root).collect()

    def test_parse_creatable(self):
        self.assertEqual(
            ((1414, 'NVIDIA H200X-1-18C'), (1415, 'NVIDIA H200X-1-35C')),
            vgpu_vf.parse_creatable_types(
                'ID    : vGPU Name\n1414  : NVIDIA H200X-1-18C\n'
                '1415  : NVIDIA H200X-1-35C\n\n'))
        self.assertEqual(((1414, 'NVIDIA H200X-1-18C'),),
                         vgpu_vf.parse_creatable_types(
                             '1414 : NVIDIA H200X-1-18C'))
        self.assertEqual((), vgpu_vf.parse_creatable_types(''))

    def test_sample_host(self):
        fake = self.useFixture(sysfs_builder.FakeSysfs(sample='gpu-host-4'))
        result = vgpu_vf.VgpuVfCollector(fake.root).collect()
        self.assertTrue(result.complete)
        self.assertEqual([], self.warnings())
        by_address = {g.address: g for g in result.pci_gpus}
        self.assertEqual(['0000:41:00.4', '0000:41:00.5', '0000:41:00.6',
                          '0000:41:00.7', '0000:c1:00.0'],
                         sorted(by_address))
        vf = by_address['0000:41:00.4']
        self.assertEqual(models.GPU_MODE_VGPU_VF, vf.mode)
        self.assertEqual('0000:41:00.0', vf.physfn)
        self.assertEqual((1414, 'NVIDIA H200X-1-18C'), vf.current_vgpu_type)
        # the type's name, parsed by discovery: 18 GiB of framebuffer
        self.assertEqual(models.TypeDescription(name_framebuffer_mb=18432),
                         vf.current_type_fields)
        self.assertEqual((), result.gpu_infos)
        self.assertEqual('2335', vf.pci.device)
        # named from a sibling's creatable list
        self.assertEqual((1416, 'NVIDIA H200X-2-35C'),
                         by_address['0000:41:00.6'].current_vgpu_type)
        free = by_address['0000:41:00.7']
        self.assertIsNone(free.current_vgpu_type)
        self.assertEqual(3, len(free.creatable_vgpu_types))
        whole = by_address['0000:c1:00.0']
        self.assertEqual(models.GPU_MODE_PASSTHROUGH, whole.mode)
        self.assertEqual('vfio-pci', whole.pci.driver)
        self.assertEqual('26b9', whole.pci.device)
        self.assertIsNone(whole.physfn)
        # the PF (bound to nvidia) is neither
        self.assertNotIn('0000:41:00.0', by_address)

    def test_ignores_other_devices(self):
        self.b.add_pci_device('0000:3b:00.0', '10de', '1eb8',
                              driver='nvidia')            # vGPU host GPU
        self.b.add_pci_device('0000:5e:00.0', '15b3', '101d',
                              pci_class='020000', driver='vfio-pci')  # NIC
        self.b.add_pci_device('0000:6e:00.0', '10de', '2236',
                              pci_class='030200')           # unbound GPU
        result = self.collect()
        self.assertEqual((), result.pci_gpus)
        self.assertTrue(result.complete)

    def test_no_pci_bus(self):
        self.assertEqual(models.DiscoveryResult(), self.collect())

    def test_garbage_current_type(self):
        gpu_builder.add_vgpu_pf(self.b, '0000:41:00.0')
        dev = gpu_builder.add_vgpu_vf(self.b, '0000:41:00.4', '0000:41:00.0',
                                      current=1414)
        gpu_builder.add_vgpu_vf(self.b, '0000:41:00.5', '0000:41:00.0',
                                current=1414)
        self.b.write(dev + '/nvidia/current_vgpu_type', 'lots')
        result = self.collect()
        self.assertEqual(['0000:41:00.5'],
                         [g.address for g in result.pci_gpus])
        self.assertFalse(result.kind_complete(models.KIND_GPU))
        self.assertIn('not an integer', result.errors[0])
        # the name of 1414 is unknown: no VF lists it
        self.assertEqual((1414, None), result.pci_gpus[0].current_vgpu_type)

    def test_vanished_device(self):
        gpu_builder.add_passthrough_gpu(self.b, '0000:c1:00.0')
        os.unlink(self.b.path('bus/pci/devices/0000:c1:00.0'))
        os.symlink('../../../devices/gone', self.b.path(
            'bus/pci/devices/0000:c1:00.0'))
        result = self.collect()
        self.assertEqual((), result.pci_gpus)
        self.assertTrue(result.complete)
