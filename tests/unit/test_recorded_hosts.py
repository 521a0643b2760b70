"""Replay hosts recorded on real hardware (``tests/recorded``).

``h200-passthrough``: an NVIDIA H200 on the nvidia driver with no vGPU
manager, recorded with ``tools/probe_gpu_host.sh`` (its README says what
the exporter made of the real ``/sys`` there: one NVML GPU, no provider,
no device_spec entry). These tests hold the code to that.
"""

import json
import os

import fixtures
import testtools

from mdev_traits.cmd import exporter as exporter_cmd
from mdev_traits.conf import settings as settings_mod
from mdev_traits.discovery import base
from mdev_traits.discovery import nvml as nvml_mod
from mdev_traits.discovery import pci
from mdev_traits.mapping import gpu_device_spec
from mdev_traits.mapping import gpu_resolve
from mdev_traits.mapping import gpu_rules
from mdev_traits import models
from mdev_traits.profiles import loader
from mdev_traits import service
from mdev_traits import ttar

RECORDED = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'recorded')
H200 = os.path.join(RECORDED, 'h200-passthrough')
ADDRESS = '0000:00:06.0'


class RecordedNvml(object):
    """nvidia-ml-py as it answered on the recorded host (``nvml.json``):
    the same values and shapes, byte counts and all."""

    class NVMLError(Exception):
        def __init__(self, value):
            super().__init__(value)
            self.value = value

    NVML_ERROR_NOT_SUPPORTED = 3
    NVML_ERROR_DRIVER_NOT_LOADED = 9
    NVML_ERROR_LIBRARY_NOT_FOUND = 12

    def __init__(self, recorded):
        self.recorded = recorded

    def nvmlInit(self):
        pass

    def nvmlShutdown(self):
        pass

    def nvmlSystemGetDriverVersion(self):
        return self.recorded['driver']

    def nvmlDeviceGetCount(self):
        return len(self.recorded['devices'])

    def nvmlDeviceGetHandleByIndex(self, index):
        return self.recorded['devices'][index]

    def nvmlDeviceGetPciInfo(self, handle):
        return type('PciInfo', (), {
            'busId': handle['busId'],
            'pciDeviceId': int(handle['pciDeviceId'], 16)})()

    def nvmlDeviceGetCudaComputeCapability(self, handle):
        return tuple(handle['cc'])

    def nvmlDeviceGetName(self, handle):
        return handle['name']

    def nvmlDeviceGetMemoryInfo(self, handle):
        return type('Memory', (), {'total': handle['memory_total']})()


class TestH200Passthrough(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.root = self.useFixture(fixtures.TempDir()).path
        with open(os.path.join(H200, 'sysfs.ttar'), encoding='utf-8') as f:
            ttar.extract(f.read(), self.root)
        with open(os.path.join(H200, 'nvml.json'), encoding='utf-8') as f:
            self.nvml = RecordedNvml(json.load(f))

    def settings(self, sources='mdev,vgpu_vf'):
        path = os.path.join(self.root, 'mdev-traits.conf')
        with open(path, 'w') as f:
            f.write('[exporter]\nsysfs_root = %s\ndiscovery_sources = %s\n'
                    'root_provider_name = h200\n' % (self.root, sources))
        conf = exporter_cmd.build_conf()
        conf(['--config-file', path], project='mdev-traits',
             default_config_files=[], default_config_dirs=[])
        return settings_mod.load(conf)

    def test_the_recording_looks_like_sysfs(self):
        self.assertIsNone(base.root_error(self.root))

    def test_pci_device_as_recorded(self):
        device_dir = os.path.realpath(os.path.join(
            self.root, 'bus', 'pci', 'devices', ADDRESS))
        info = pci.read_pci_info(self.root, device_dir, ADDRESS)
        self.assertEqual(
            models.PciInfo(address=ADDRESS, vendor='10de', device='2335',
                           subsystem_vendor='10de', subsystem_device='18bf',
                           pci_class='030200', numa_node=None,
                           driver='nvidia', driver_version='580.159.04'),
            info)

    def test_no_mdev_parent_no_vgpu_vf(self):
        found = base.discover(
            base.load_collectors(['mdev', 'vgpu_vf'], self.root), self.root)
        self.assertTrue(found.complete)
        self.assertTrue(found.trusted)
        self.assertEqual((), found.errors)
        self.assertEqual((), found.mdev_parents)
        self.assertEqual((), found.pci_gpus)

    def test_nvml_answers_read_as_on_the_host(self):
        found = nvml_mod.NvmlCollector(self.root, nvml=self.nvml).collect()
        self.assertTrue(found.complete)
        self.assertEqual(
            (models.GpuInfo(address=ADDRESS, source='nvml',
                            name='NVIDIA H200', vendor='10de',
                            device='2335', cuda_compute_capability=(9, 0),
                            memory_mb=143771, driver_version='580.159.04',
                            virtual_functions=()),),
            found.gpu_infos)

    def test_shipped_profile_agrees_with_the_real_gpu(self):
        # the vendor profile's compute capability for device 2335 is what
        # NVML said on the real H200
        builtin, errors = loader.load_builtin()
        self.assertEqual((), errors)
        target = gpu_resolve.GpuTarget(
            kind=gpu_rules.KIND_PASSTHROUGH, address=ADDRESS,
            physical_address=ADDRESS, vendor='10de', device='2335',
            driver='nvidia')
        resolved = gpu_resolve.resolve(
            target, gpu_rules.RuleSet(builtin=builtin, operator=(),
                                      errors=()))
        real = self.nvml.recorded['devices'][0]['cc']
        self.assertEqual('%d.%d' % tuple(real),
                         str(resolved.value('cuda_compute_capability')))

    def test_nothing_to_publish_and_no_device_spec(self):
        settings = self.settings()
        tree = service.desired_tree(settings)
        self.assertEqual((), tree.providers)
        self.assertEqual((), tree.warnings)
        self.assertTrue(tree.complete)
        found = base.discover(
            base.load_collectors(['mdev', 'vgpu_vf'], self.root), self.root)
        found = models.merge_results([found, nvml_mod.NvmlCollector(
            self.root, nvml=self.nvml).collect()])
        self.assertEqual([], gpu_device_spec.device_spec_entries(
            found, service.rule_set(settings)))
