import re

import testtools

from mdev_traits.mapping import names


class TestNormalize(testtools.TestCase):

    def test_upper_and_runs(self):
        self.assertEqual('NVIDIA_231', names.normalize('nvidia-231'))
        self.assertEqual('I915_GVTG_V5_4', names.normalize('i915-GVTg_V5_4'))
        self.assertEqual('A_B', names.normalize('--a..:b__'))

    def test_custom_trait(self):
        self.assertEqual('CUSTOM_MDEV_TYPE_NVIDIA_231',
                         names.custom_trait('MDEV_TYPE_nvidia-231'))
        self.assertIsNone(names.custom_trait('---'))

    def test_long_name_is_shortened_stably(self):
        long_value = 'x' * 400
        first = names.custom_trait('MDEV_COMPAT_FIELD', long_value)
        again = names.custom_trait('MDEV_COMPAT_FIELD', long_value)
        other = names.custom_trait('MDEV_COMPAT_FIELD', long_value + 'y')
        self.assertEqual(255, len(first))
        self.assertEqual(first, again)
        self.assertNotEqual(first, other)
        self.assertTrue(re.fullmatch(r'CUSTOM_[A-Z0-9_]+', first))

    def test_standard_or_custom(self):
        self.assertEqual('HW_GPU_API_VULKAN',
                         names.standard_or_custom('hw_gpu_api_vulkan'))
        self.assertEqual(
            'CUSTOM_HW_GPU_CUDA_COMPUTE_CAPABILITY_V9_0',
            names.standard_or_custom('HW_GPU_CUDA_COMPUTE_CAPABILITY_V9_0'))

    def test_provider_names_as_nova(self):
        # nova: '%s_%s' % (nodename, libvirt node-device name)
        self.assertEqual('cn1_pci_0000_3b_00_0',
                         names.device_provider_name('cn1',
                                                    'pci_0000_3b_00_0'))

    def test_libvirt_node_device_names(self):
        # libvirt nodeDeviceGenerateName: <subsystem>_<sysname>, each
        # byte other than [A-Za-z0-9] replaced by "_", case kept
        name = names.libvirt_node_device_name
        self.assertEqual('pci_0000_3b_00_0', name('pci', '0000:3b:00.0'))
        self.assertEqual('css_0_0_0313', name('css', '0.0.0313'))
        self.assertEqual('mtty_mtty', name('mtty', 'mtty'))
        self.assertEqual('mdpy_mdpy', name('mdpy', 'mdpy'))
        # udevProcessAPMatrix hardcodes the name
        self.assertEqual('ap_matrix', name('matrix', 'matrix'))
        # one "_" per byte, no collapsing, no lower-casing
        self.assertEqual('x_A__b', name('x', 'A.-b'))
        self.assertEqual('x_a__', name('x', 'a\u00e9'))

    def test_provider_uuid_deterministic(self):
        self.assertEqual(names.provider_uuid('a'), names.provider_uuid('a'))
        self.assertNotEqual(names.provider_uuid('a'),
                            names.provider_uuid('b'))
