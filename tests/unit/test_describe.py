"""Traits back into operator terms (mdev_traits.mapping.describe)."""

import testtools

from mdev_traits.mapping import contract
from mdev_traits.mapping import describe
from mdev_traits.mapping import floors
from mdev_traits.mapping import gpu_contract
from mdev_traits.mapping import gpu_traits
from mdev_traits.mapping import names


class TestDescribe(testtools.TestCase):

    def test_template_regex(self):
        regex = describe.template_regex('MDEV_SWVER_{driver}_{major}_{minor}',
                                        'always')
        match = regex.match('CUSTOM_MDEV_SWVER_MY_DRV_535_129')
        self.assertEqual(('MY_DRV', '535', '129'),
                         match.group('driver', 'major', 'minor'))
        self.assertIsNone(regex.match('MDEV_SWVER_NVIDIA_535_129'))
        regex = describe.template_regex(gpu_contract.MAX_DISPLAY_HEADS,
                                        'optional')
        self.assertTrue(regex.match('HW_GPU_MAX_DISPLAY_HEADS_4'))
        self.assertTrue(regex.match('CUSTOM_HW_GPU_MAX_DISPLAY_HEADS_16'))

    def test_gpu(self):
        # every version (no floors): "up to"
        none = floors.NONE
        traits = set(gpu_traits.api_traits('OPENGL_V4_6', none) +
                     gpu_traits.api_traits('OPENCL_V3_0', none) +
                     gpu_traits.api_traits('VULKAN') +
                     gpu_traits.cuda_traits((8, 6)))
        # as the mapping names them, from the contract's templates
        custom = names.custom_trait
        traits |= {
            custom(contract.MDEV_TYPE.format(type_id='nvidia-558')),
            custom(contract.MDEV_SWVER.format(driver='nvidia', major=550,
                                              minor=0)),
            custom(contract.MDEV_SWVER.format(driver='nvidia', major=550,
                                              minor=54)),
            gpu_contract.MAX_DISPLAY_HEADS.format(k=1),
            gpu_contract.MAX_DISPLAY_HEADS.format(k=2),
            gpu_contract.RESOLUTION.format(w=2560, h=1600),
            gpu_contract.RESOLUTION.format(w=1920, h=1200),
            names.standard_or_custom(gpu_contract.RESOLUTION.format(
                w=3840, h=1200)),
            custom(gpu_contract.FRAMEBUFFER.format(mb=512)),
            custom(gpu_contract.FRAMEBUFFER.format(mb=1024)),
            'OWNER_NOVA', 'CUSTOM_GOLD'}
        desc = describe.describe(traits)
        lines = dict(desc.lines)
        self.assertEqual('NVIDIA_558', lines['mdev type'])
        self.assertEqual('NVIDIA 550.54 (takes VMs started under 550.0 to '
                         '550.54)', lines['driver version'])
        self.assertEqual('CUDA 8.6', lines['CUDA'])
        self.assertEqual('OpenGL up to 4.6, OpenCL up to 3.0, Vulkan',
                         lines['APIs'])
        self.assertEqual('2', lines['display heads'])
        # neither of the two largest contains the other
        self.assertEqual('up to 2560x1600, 3840x1200', lines['resolution'])
        self.assertEqual('1024 MB or more', lines['framebuffer'])
        self.assertEqual(('CUSTOM_GOLD', 'OWNER_NOVA'), desc.other)

    def test_api_versions_from_the_floor(self):
        traits = set(gpu_traits.api_traits('OPENGL_V4_6') +
                     gpu_traits.api_traits('DIRECTX_V12'))
        low = min((t for t in traits if 'OPENGL' in t),
                  key=lambda t: [int(x) for x in t.split('_V')[1].split(
                      '_')])
        self.assertEqual(
            'OpenGL up to 4.6 (traits from %s), DirectX 12' % (
                low.split('_V')[1].replace('_', '.')),
            dict(describe.describe(traits).lines)['APIs'])

    def test_api_versions_with_gaps_are_listed(self):
        desc = describe.describe({'HW_GPU_API_OPENCL_V1_0',
                                  'HW_GPU_API_OPENCL_V2_0',
                                  'HW_GPU_API_DIRECTX_V12'})
        self.assertEqual('OpenCL 1.0, 2.0, DirectX 12', dict(desc.lines)[
            'APIs'])

    def test_vdpa(self):
        desc = describe.describe({
            'CUSTOM_VDPA_TYPE_NET', 'CUSTOM_VDPA_MGMTDEV_DRIVER_MLX5_CORE',
            'CUSTOM_VDPA_MAX_VQ_PAIRS_1', 'CUSTOM_VDPA_MAX_VQ_PAIRS_2',
            'CUSTOM_VDPA_MAX_VQ_PAIRS_3', 'CUSTOM_VDPA_MAX_VQ_SIZE_256',
            'CUSTOM_VIRTIO_NET_F_MQ', 'HW_NIC_MULTIQUEUE',
            'CUSTOM_PHYSNET_PHYSNET1', 'CUSTOM_VNIC_TYPE_VDPA'})
        self.assertEqual([
            ('vDPA type', 'net'), ('vDPA driver', 'mlx5_core'),
            ('queue pairs', 'up to 3'), ('queue size', 'up to 256'),
            ('virtio features', 'VIRTIO_NET_F_MQ'),
            ('physical network', 'PHYSNET1'), ('vNIC type', 'VDPA')],
            list(desc.lines))
        self.assertEqual((), desc.other)
