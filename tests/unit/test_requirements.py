import io
import os
import sys

import fixtures
import testtools

from mdev_traits.cmd import exporter as exporter_cmd
from mdev_traits.mapping import requirements as req
from mdev_traits.testing import sysfs_builder


class TestRequirements(testtools.TestCase):

    SOURCE = {
        'CUSTOM_MDEV_TYPE_NVIDIA_231', 'CUSTOM_MDEV_DEVICE_API_VFIO_PCI',
        'CUSTOM_PCI_VENDOR_10DE', 'CUSTOM_PCI_DEVICE_10DE_1EB8',
        'CUSTOM_MDEV_COMPAT_PCI_IDS_8086_4940',
        'CUSTOM_MDEV_COMPAT_PCI_IDS_8086_4941',
        'HW_GPU_CUDA_COMPUTE_CAPABILITY_V7_0',
        'HW_GPU_CUDA_COMPUTE_CAPABILITY_V7_2',
        'CUSTOM_HW_GPU_CUDA_COMPUTE_CAPABILITY_V7_5',
        'HW_GPU_MAX_DISPLAY_HEADS_1', 'HW_GPU_MAX_DISPLAY_HEADS_4',
        'HW_GPU_RESOLUTION_W1920H1080', 'HW_GPU_API_VULKAN',
        'CUSTOM_OPERATOR_GOLD',
    } | {'CUSTOM_MDEV_SWVER_NVIDIA_535_%d' % k for k in range(130)}

    def test_rules(self):
        r = req.requirements(self.SOURCE, 'VGPU', [('aggregator', '2')])
        self.assertEqual((
            'CUSTOM_HW_GPU_CUDA_COMPUTE_CAPABILITY_V7_5',
            'CUSTOM_MDEV_COMPAT_PCI_IDS_8086_4940',
            'CUSTOM_MDEV_COMPAT_PCI_IDS_8086_4941',
            'CUSTOM_MDEV_DEVICE_API_VFIO_PCI',
            'CUSTOM_MDEV_SWVER_NVIDIA_535_129',
            'CUSTOM_MDEV_TYPE_NVIDIA_231',
            'HW_GPU_API_VULKAN',
            'HW_GPU_MAX_DISPLAY_HEADS_4',
            'HW_GPU_RESOLUTION_W1920H1080'), r.traits)
        skipped = dict(r.skipped)
        self.assertIn('CUSTOM_PCI_DEVICE_10DE_1EB8', skipped)
        self.assertIn('CUSTOM_OPERATOR_GOLD', skipped)
        self.assertIn('implied', skipped['CUSTOM_MDEV_SWVER_NVIDIA_535_3'])
        self.assertEqual((('aggregator', '2'),), r.settings)

    def test_compatible_type_is_not_required(self):
        # seed 002: "compatible_type: not used by mgt tools currently"
        source = {'CUSTOM_MDEV_TYPE_I915_GVTG_V5_4',
                  'CUSTOM_MDEV_COMPAT_TYPE_I915_GVTG_V5_4',
                  'CUSTOM_MDEV_COMPAT_PCI_IDS_8086_4940'}
        r = req.requirements(source, not_required=[(
            'CUSTOM_MDEV_COMPAT_TYPE_I915_GVTG_V5_4',
            req.COMPATIBLE_TYPE_REASON)])
        self.assertEqual(('CUSTOM_MDEV_COMPAT_PCI_IDS_8086_4940',
                          'CUSTOM_MDEV_TYPE_I915_GVTG_V5_4'), r.traits)
        self.assertIn('compatible_type', dict(r.skipped)[
            'CUSTOM_MDEV_COMPAT_TYPE_I915_GVTG_V5_4'])

    def test_versions_of_two_majors_are_separate_families(self):
        r = req.requirements({'CUSTOM_MDEV_SWVER_X_1_0',
                              'CUSTOM_MDEV_SWVER_X_1_3',
                              'CUSTOM_MDEV_SWVER_Y_2_0'})
        self.assertEqual(('CUSTOM_MDEV_SWVER_X_1_3',
                          'CUSTOM_MDEV_SWVER_Y_2_0'), r.traits)

    def test_numeric_not_lexical_levels(self):
        r = req.requirements({'CUSTOM_MDEV_SWVER_X_1_9',
                              'CUSTOM_MDEV_SWVER_X_1_10'})
        self.assertEqual(('CUSTOM_MDEV_SWVER_X_1_10',), r.traits)
        r = req.requirements({'HW_GPU_CUDA_COMPUTE_CAPABILITY_V7_2',
                              'CUSTOM_HW_GPU_CUDA_COMPUTE_CAPABILITY_V10_0',
                              'CUSTOM_HW_GPU_CUDA_COMPUTE_CAPABILITY_V9_0'})
        self.assertEqual(('CUSTOM_HW_GPU_CUDA_COMPUTE_CAPABILITY_V10_0',),
                         r.traits)

    def test_resolution_frontier_and_api_versions(self):
        r = req.requirements({
            'HW_GPU_RESOLUTION_W1920H1080', 'HW_GPU_RESOLUTION_W1920H1200',
            'HW_GPU_RESOLUTION_W2560H1440', 'HW_GPU_RESOLUTION_W1600H1200',
            'HW_GPU_API_OPENGL_V4_5', 'CUSTOM_HW_GPU_API_OPENGL_V4_6',
            'HW_GPU_API_OPENGL_V3_3', 'HW_GPU_API_OPENCL_V1_2',
            'HW_GPU_API_VULKAN'})
        # every other resolution fits inside 2560x1440
        self.assertEqual(('CUSTOM_HW_GPU_API_OPENGL_V4_6',
                          'HW_GPU_API_OPENCL_V1_2', 'HW_GPU_API_VULKAN',
                          'HW_GPU_RESOLUTION_W2560H1440'), r.traits)
        r = req.requirements({'HW_GPU_RESOLUTION_W2560H1440',
                              'HW_GPU_RESOLUTION_W1920H1600'})
        # neither fits inside the other: both are needed
        self.assertEqual(('HW_GPU_RESOLUTION_W1920H1600',
                          'HW_GPU_RESOLUTION_W2560H1440'), r.traits)

    def test_output_forms(self):
        r = req.requirements({'CUSTOM_MDEV_TYPE_NVIDIA_231'}, 'VGPU')
        self.assertEqual(['resources:VGPU=1',
                          'trait:CUSTOM_MDEV_TYPE_NVIDIA_231=required'],
                         r.extra_specs())
        self.assertEqual(['resources1:VGPU=1',
                          'trait1:CUSTOM_MDEV_TYPE_NVIDIA_231=required'],
                         r.extra_specs(group=1))
        self.assertEqual('openstack allocation candidate list --resource '
                         'VGPU=1 --required CUSTOM_MDEV_TYPE_NVIDIA_231 '
                         "-f value -c 'resource provider' "
                         "-c 'inventory used/capacity'",
                         r.osc_command())
        self.assertEqual('resources=VGPU:1&required='
                         'CUSTOM_MDEV_TYPE_NVIDIA_231', r.query())
        self.assertEqual(['CUSTOM_X'], req.missing(['CUSTOM_X', 'B'],
                                                   ['B']))


class TestMappingFails(testtools.TestCase):
    """The mdev kind failing to map the source: one clear error, exit 2
    (build_tree keeps a cycle going; the command has nothing to print)."""

    def test_error_names_the_device_and_why(self):
        fake = self.useFixture(sysfs_builder.FakeSysfs(sample='gpu-host-1'))
        tmp = self.useFixture(fixtures.TempDir()).path
        conf = os.path.join(tmp, 'mdev-traits.conf')
        with open(conf, 'w') as f:
            f.write('[exporter]\nsysfs_root = %s\ndiscovery_sources = mdev\n'
                    '[devices]\nenabled_mdev_types = nvidia-231\n'
                    % fake.root)
        self.useFixture(fixtures.MockPatch(
            'mdev_traits.mapping.mdev.mdev_providers',
            side_effect=RuntimeError('boom')))
        err = io.StringIO()
        self.patch(sys, 'stdout', io.StringIO())
        self.patch(sys, 'stderr', err)
        rc = exporter_cmd.main(['requirements', '--config-file', conf,
                                '--parent', '0000:3b:00.0', '--type',
                                'nvidia-231'])
        self.assertEqual(2, rc)
        self.assertIn('requirements: error: nvidia-231 of 0000:3b:00.0 '
                      'could not be mapped: mapping mdev providers failed '
                      '(RuntimeError: boom)', err.getvalue())
