"""GPU capabilities as traits: parsing, tables, resolution, enricher."""

import os_traits
import testtools

from mdev_traits.mapping import floors
from mdev_traits.mapping import gpu
from mdev_traits.mapping import gpu_contract
from mdev_traits.mapping import gpu_description
from mdev_traits.mapping import gpu_rules
from mdev_traits.mapping import gpu_traits
from mdev_traits.mapping import mdev as mdev_mapping
from mdev_traits.mapping import tree
from mdev_traits import models
from mdev_traits.profiles import loader as profiles_loader

T4_2Q = ('num_heads=4, frl_config=60, framebuffer=2048M, '
         'max_resolution=7680x4320, max_instance=8')
T4_2A = ('num_heads=1, frl_config=60, framebuffer=2048M, '
         'max_resolution=1280x1024, max_instance=8')
GVT_V5_4 = ('low_gm_size: 128MB\nhigh_gm_size: 512MB\nfence: 4\n'
            'resolution: 1920x1200\nweight: 4')
CUDA = 'HW_GPU_CUDA_COMPUTE_CAPABILITY_V%s'
CUSTOM_CUDA = 'CUSTOM_HW_GPU_CUDA_COMPUTE_CAPABILITY_V%s'


def builtin():
    rules, errors = profiles_loader.load_builtin()
    assert errors == (), errors
    return gpu_rules.RuleSet(builtin=rules)


def target(type_name='GRID T4-2Q', description=T4_2Q, vendor='10de',
           device='1eb8', kind=gpu_rules.KIND_MDEV, type_id='nvidia-231',
           address='0000:3b:00.0', physical=None, driver='nvidia'):
    return gpu.GpuTarget(kind=kind, address=address,
                         physical_address=physical or address,
                         vendor=vendor, device=device, driver=driver,
                         type_id=type_id, type_name=type_name,
                         description=description,
                         description_source='sysfs %s/description' % type_id)


class TestDescription(testtools.TestCase):

    def test_nvidia(self):
        self.assertEqual(({'display_heads': 4, 'max_resolution': '7680x4320',
                           'framebuffer_mb': 2048}, []),
                         gpu_description.parse_description(T4_2Q))

    def test_gvt_g(self):
        # the guest's graphics memory is low (aperture) + high
        self.assertEqual(({'max_resolution': '1920x1200',
                           'framebuffer_mb': 640}, []),
                         gpu_description.parse_description(GVT_V5_4))

    def test_sizes(self):
        for text, mb in (('1024M', 1024), ('2G', 2048), ('512MB', 512),
                         ('4096', 4096), ('1GiB', 1024),
                         ('1048576K', 1024)):
            self.assertEqual(mb, gpu_description.parse_description(
                'framebuffer=%s' % text)[0]['framebuffer_mb'], text)

    def test_garbage_is_reported_not_fatal(self):
        facts, problems = gpu_description.parse_description(
            'num_heads=many, framebuffer=lots, max_resolution=big')
        self.assertEqual({}, facts)
        self.assertEqual(3, len(problems))
        self.assertIn("num_heads='many'", problems[0])

    def test_no_description(self):
        self.assertEqual(({}, []), gpu_description.parse_description(None))
        self.assertEqual(({}, []), gpu_description.parse_description(
            'services=sym, rings=2'))

    def test_type_name_framebuffer(self):
        self.assertEqual(2048, gpu_description.type_name_framebuffer_mb(
            'GRID T4-2Q'))
        self.assertEqual(2048, gpu_description.type_name_framebuffer_mb(
            'NVIDIA A40-2B4'))
        self.assertEqual(18 * 1024, gpu_description.type_name_framebuffer_mb(
            'NVIDIA H200X-1-18C'))
        self.assertIsNone(
            gpu_description.type_name_framebuffer_mb('GVTg_V5_4'))
        self.assertIsNone(gpu_description.type_name_framebuffer_mb(None))


class TestTables(testtools.TestCase):

    def test_standard_tables_are_os_traits_names(self):
        standard = set(os_traits.get_traits())
        for k in gpu_contract.STANDARD_DISPLAY_HEADS:
            self.assertIn(gpu_contract.MAX_DISPLAY_HEADS.format(k=k),
                          standard)
        for w, h in gpu_contract.STANDARD_RESOLUTIONS:
            self.assertIn(gpu_contract.RESOLUTION.format(w=w, h=h),
                          standard)
        for major, minor in gpu_contract.CUDA_STANDARD:
            self.assertIn(CUDA % ('%d_%d' % (major, minor)), standard)
        for api in gpu_contract.API_STANDARD:
            self.assertIn('HW_GPU_API_' + api, standard)

    def test_heads_at_least(self):
        self.assertEqual(['HW_GPU_MAX_DISPLAY_HEADS_1',
                          'HW_GPU_MAX_DISPLAY_HEADS_2',
                          'HW_GPU_MAX_DISPLAY_HEADS_4'],
                         gpu_traits.heads_traits(4))
        self.assertEqual(gpu_traits.heads_traits(2),
                         gpu_traits.heads_traits(3))
        self.assertEqual([], gpu_traits.heads_traits(0))

    def test_resolutions_fit_both_ways(self):
        fits = gpu_traits.resolution_traits('5120x2880')
        self.assertIn('HW_GPU_RESOLUTION_W3840H2160', fits)
        self.assertNotIn('HW_GPU_RESOLUTION_W7680H4320', fits)
        # 1366x768 is wider than 1280x1024 is: not inside
        fits = gpu_traits.resolution_traits('1280x1024')
        self.assertIn('HW_GPU_RESOLUTION_W1280H1024', fits)
        self.assertIn('HW_GPU_RESOLUTION_W1280H800', fits)
        self.assertNotIn('HW_GPU_RESOLUTION_W1366H768', fits)
        self.assertNotIn('HW_GPU_RESOLUTION_W1920H1080', fits)

    def test_framebuffer_powers_of_two(self):
        self.assertEqual(['CUSTOM_VGPU_FRAMEBUFFER_MB_512',
                          'CUSTOM_VGPU_FRAMEBUFFER_MB_1024',
                          'CUSTOM_VGPU_FRAMEBUFFER_MB_2048'],
                         gpu_traits.framebuffer_traits(3072))
        self.assertEqual([], gpu_traits.framebuffer_traits(256))

    def test_cuda_at_least(self):
        traits = gpu_traits.cuda_traits((8, 0))
        self.assertIn(CUDA % '7_0', traits)
        self.assertNotIn(CUDA % '7_2', traits)    # Jetson AGX Xavier only
        self.assertIn(CUDA % '3_0', traits)       # the floor
        self.assertNotIn(CUDA % '2_1', traits)
        self.assertIn(CUDA % '1_0', gpu_traits.cuda_traits((8, 0),
                                                           floors.NONE))
        # below the floor
        self.assertEqual([], gpu_traits.cuda_traits((2, 1)))
        self.assertIn(CUSTOM_CUDA % '7_5', traits)
        self.assertIn(CUSTOM_CUDA % '8_0', traits)
        self.assertNotIn(CUSTOM_CUDA % '8_6', traits)
        self.assertNotIn(CUDA % '7_5', traits)
        traits = gpu_traits.cuda_traits((12, 0))
        for level in ('8_9', '9_0', '10_0', '10_3', '11_0', '12_0'):
            self.assertIn(CUSTOM_CUDA % level, traits)
        self.assertNotIn(CUSTOM_CUDA % '12_1', traits)
        # a level NVIDIA has not published yet (from NVML) is still there
        self.assertIn(CUSTOM_CUDA % '13_5', gpu_traits.cuda_traits((13, 5)))

    def test_forward_compatible_standard_name(self):
        # once os-traits defines a name that was custom, both are published
        self.patch(os_traits, 'get_traits',
                   lambda *a, **k: [CUDA % '7_5', CUDA % '7_0'])
        from mdev_traits.mapping import names
        names._standard_traits.cache_clear()
        self.addCleanup(names._standard_traits.cache_clear)
        self.assertEqual([CUDA % '7_5', CUSTOM_CUDA % '7_5'],
                         gpu_traits.cuda_traits((7, 5))[-2:])

    def test_opengl_at_least(self):
        traits = gpu_traits.api_traits('OPENGL_V4_6')
        self.assertEqual('HW_GPU_API_OPENGL_V4_4', traits[0])   # floor
        self.assertIn('HW_GPU_API_OPENGL_V4_5', traits)
        self.assertEqual('CUSTOM_HW_GPU_API_OPENGL_V4_6', traits[-1])
        self.assertEqual(3, len(traits))   # 4.4 ... 4.6
        self.assertEqual(18, len(gpu_traits.api_traits('OPENGL_V4_6',
                                                       floors.NONE)))
        self.assertEqual([], gpu_traits.api_traits('OPENGL_V3_3'))

    def test_opencl_3_does_not_imply_2(self):
        self.assertEqual(['HW_GPU_API_OPENCL_V1_2',
                          'CUSTOM_HW_GPU_API_OPENCL_V3_0'],
                         gpu_traits.api_traits('OPENCL_V3_0'))
        self.assertEqual(['HW_GPU_API_OPENCL_V1_0', 'HW_GPU_API_OPENCL_V1_1',
                          'HW_GPU_API_OPENCL_V1_2',
                          'CUSTOM_HW_GPU_API_OPENCL_V3_0'],
                         gpu_traits.api_traits('OPENCL_V3_0', floors.NONE))
        self.assertIn('HW_GPU_API_OPENCL_V2_0', gpu_traits.api_traits(
            'OPENCL_V2_1'))

    def test_directx_direct3d_vulkan(self):
        self.assertEqual(['HW_GPU_API_DIRECTX_V12'],
                         gpu_traits.api_traits('DIRECTX_V12'))
        d3d = gpu_traits.api_traits('DIRECT3D_V11_1', floors.NONE)
        self.assertIn('HW_GPU_API_DIRECT3D_V9_0L', d3d)
        self.assertEqual(['HW_GPU_API_DIRECT3D_V11_1'],
                         gpu_traits.api_traits('DIRECT3D_V11_1'))
        self.assertIn('HW_GPU_API_DIRECT3D_V11_1', d3d)
        self.assertNotIn('HW_GPU_API_DIRECT3D_V11_2', d3d)
        self.assertEqual(['HW_GPU_API_VULKAN'],
                         gpu_traits.api_traits('VULKAN'))
        self.assertEqual(['HW_GPU_API_VULKAN', 'CUSTOM_HW_GPU_API_VULKAN_V1_0',
                          'CUSTOM_HW_GPU_API_VULKAN_V1_1'],
                         gpu_traits.api_traits('VULKAN_V1_1'))
        self.assertEqual(['HW_GPU_API_DXVA'], gpu_traits.api_traits('DXVA'))


class TestCudaTable(testtools.TestCase):
    """The shipped PCI id table (nvidia.yaml), without NVML."""

    def cc(self, device, type_name='NVIDIA X-4C'):
        resolved = gpu.resolve(
            target(device=device, type_name=type_name, description=None),
            builtin())
        return resolved.value('cuda_compute_capability')

    def test_devices(self):
        for device, cc in (
                ('1eb8', '7.5'),   # T4
                ('25b6', '8.6'),   # A2 / A16
                ('2236', '8.6'),   # A10
                ('20b7', '8.0'),   # A30
                ('2235', '8.6'),   # A40
                ('20b5', '8.0'),   # A100 80GB PCIe
                ('20f1', '8.0'),   # A100 PCIe 40GB
                ('27b8', '8.9'),   # L4
                ('26b5', '8.9'),   # L40
                ('26b9', '8.9'),   # L40S
                ('26b1', '8.9'),   # RTX 6000 Ada
                ('2331', '9.0'),   # H100 PCIe
                ('2330', '9.0'),   # H100 SXM5
                ('2335', '9.0'),   # H200
                ('2329', '9.0'),   # H20
                ('2901', '10.0'),  # B200
                ('2bb5', '12.0'),  # RTX PRO 6000 Blackwell Server
                ('1db4', '7.0'),   # V100
                ('1b38', '6.1'),   # P40
                ('13f2', '5.2'),   # M60
                ('13bd', '5.0'),   # M10
                ('102d', '3.7'),   # K80
                ('11bf', '3.0')):  # GRID K2
            self.assertEqual(cc, self.cc(device), device)
        self.assertIsNone(self.cc('ffff'))

    def test_cuda_traits_only_where_the_series_offers_cuda(self):
        rs = builtin()
        for name, has_cuda in (('GRID T4-2Q', True), ('GRID T4-4C', True),
                               ('GRID T4-2B', False), ('GRID T4-2B4', False),
                               ('GRID T4-2A', False)):
            traits = gpu.resolve(target(type_name=name, description=None),
                                 rs).traits
            self.assertEqual(has_cuda, CUSTOM_CUDA % '7_5' in traits, name)

    def test_apis_by_series(self):
        rs = builtin()

        def traits(name):
            return gpu.resolve(target(type_name=name, description=None),
                               rs).traits
        self.assertIn('HW_GPU_API_VULKAN', traits('GRID T4-2Q'))
        self.assertIn('HW_GPU_API_VULKAN', traits('GRID T4-2B'))
        self.assertIn('HW_GPU_API_OPENGL_V4_5', traits('GRID T4-2A'))
        self.assertNotIn('HW_GPU_API_OPENCL_V1_2', traits('GRID T4-2A'))
        compute = traits('GRID T4-4C')
        self.assertNotIn('HW_GPU_API_VULKAN', compute)
        self.assertNotIn('HW_GPU_API_OPENGL_V1_1', compute)
        self.assertIn('CUSTOM_HW_GPU_API_OPENCL_V3_0', compute)

    def test_intel_gvt_g(self):
        rs = builtin()
        resolved = gpu.resolve(target(
            vendor='8086', device='3e92', driver='i915',
            type_id='i915-GVTg_V5_4', type_name='GVTg_V5_4',
            description=GVT_V5_4), rs)
        traits = resolved.traits
        self.assertEqual(['HW_GPU_MAX_DISPLAY_HEADS_1'],
                         [t for t in traits if 'HEADS' in t])
        self.assertIn('HW_GPU_RESOLUTION_W1920H1200', traits)
        self.assertNotIn('HW_GPU_RESOLUTION_W2560H1440', traits)
        self.assertIn('CUSTOM_VGPU_FRAMEBUFFER_MB_512', traits)
        self.assertNotIn('CUSTOM_VGPU_FRAMEBUFFER_MB_1024', traits)
        self.assertIn('HW_GPU_API_VULKAN', traits)
        self.assertFalse([t for t in traits if 'CUDA' in t])
        self.assertEqual('profile intel.yaml:gvt-g',
                         resolved.capabilities['apis'][1])
        # Broadwell: no Vulkan, OpenGL 4.4
        traits = gpu.resolve(target(
            vendor='8086', device='1612', driver='i915',
            type_id='i915-GVTg_V4_2', type_name='GVTg_V4_2',
            description=GVT_V5_4), rs).traits
        self.assertNotIn('HW_GPU_API_VULKAN', traits)
        self.assertIn('HW_GPU_API_OPENGL_V4_4', traits)
        self.assertNotIn('HW_GPU_API_OPENGL_V4_5', traits)
        # the generation is in the type name, whatever the device id:
        # drivers/gpu/drm/i915/gvt/vgpu.c, GRAPHICS_VER == 8 ? 4 : 5
        for type_name, device, gen8 in (('GVTg_V4_8', '0bad', True),
                                        ('GVTg_V5_8', '1612', False)):
            traits = gpu.resolve(target(
                vendor='8086', device=device, driver='i915',
                type_id='i915-' + type_name, type_name=type_name,
                description=GVT_V5_4), rs).traits
            self.assertEqual(not gen8, 'HW_GPU_API_VULKAN' in traits,
                             type_name)
            self.assertEqual(gen8, 'HW_GPU_API_OPENGL_V4_5' not in traits,
                             type_name)

    def test_mig_backed_types(self):
        # NVIDIA vGPU user guide: MIG-backed C-series types
        # -<slices>-<GB>C[ME]
        rs = builtin()
        for name, fb_gb in (('NVIDIA A100-1-5C', 5),
                            ('NVIDIA A100-1-5CME', 5),
                            ('NVIDIA A100-2-10C', 10),
                            ('NVIDIA A100-7-40C', 40),
                            ('NVIDIA H100-1-10C', 10),
                            ('NVIDIA H100-1-10CME', 10),
                            ('NVIDIA H200X-1-18C', 18)):
            self.assertEqual(
                fb_gb * 1024, gpu_description.type_name_framebuffer_mb(name),
                name)
            resolved = gpu.resolve(target(device='20b5', type_name=name,
                                          description=None), rs)
            self.assertEqual('profile nvidia.yaml:vgpu-c-series',
                             resolved.capabilities['apis'][1], name)
            self.assertTrue(resolved.value('cuda'), name)
            self.assertNotIn('HW_GPU_API_VULKAN', resolved.traits, name)
            self.assertIn('CUSTOM_VGPU_FRAMEBUFFER_MB_4096',
                          resolved.traits, name)
        # ME belongs to the MIG C-series names only
        self.assertIsNone(
            gpu_description.type_name_framebuffer_mb('GRID T4-2QME'))
        self.assertIsNone(gpu_description.type_name_framebuffer_mb(
            'NVIDIA A100-1-\uff15C'))


class TestResolve(testtools.TestCase):

    def rule(self, name, match, set_=(), traits=(), operator=True,
             filename='/etc/mdev-traits/profiles.d/10-site.yaml'):
        return gpu_rules.Rule(filename=filename, name=name,
                              operator=operator, match=tuple(match),
                              set=tuple(set_), traits=tuple(traits))

    def test_sources_and_precedence(self):
        # shipped profile < sysfs description < NVML < operator rules
        shipped = self.rule('heads', [('vendor', ('10de',))],
                            [('display_heads', 2),
                             ('cuda_compute_capability', '7.0')],
                            operator=False, filename='nvidia.yaml')
        operator = self.rule('gold', [('address', ('0000:3b:*',))],
                             [('max_resolution', '1920x1080')],
                             traits=['CUSTOM_GOLD'])
        info = models.GpuInfo(address='0000:3b:00.0', source='nvml',
                              cuda_compute_capability=(7, 5))
        rs = gpu_rules.RuleSet(builtin=builtin().builtin + (shipped,),
                               operator=(operator,))
        resolved = gpu.resolve(target(), rs, info)
        caps = resolved.capabilities
        self.assertEqual((4, 'sysfs nvidia-231/description'),
                         caps['display_heads'])
        self.assertEqual(('7.5', 'NVML of 0000:3b:00.0'),
                         caps['cuda_compute_capability'])
        self.assertEqual(('1920x1080', 'operator rule /etc/mdev-traits/'
                          'profiles.d/10-site.yaml:gold'),
                         caps['max_resolution'])
        traits = resolved.traits
        self.assertEqual(('operator rule /etc/mdev-traits/profiles.d/'
                          '10-site.yaml:gold',), traits['CUSTOM_GOLD'])
        self.assertNotIn('HW_GPU_RESOLUTION_W1920H1200', traits)
        (why,) = traits[CUSTOM_CUDA % '7_5']
        self.assertIn('cuda_compute_capability=7.5 from NVML of '
                      '0000:3b:00.0', why)
        self.assertIn('profile nvidia.yaml:vgpu-q-series', why)
        self.assertEqual(('display_heads=4 from sysfs nvidia-231/'
                          'description',),
                         traits['HW_GPU_MAX_DISPLAY_HEADS_4'])

    def test_operator_null_removes_capability(self):
        rs = gpu_rules.RuleSet(
            builtin=builtin().builtin,
            operator=(self.rule('no-cuda', [('kind', ('mdev',))],
                                [('cuda', None)]),))
        traits = gpu.resolve(target(), rs).traits
        self.assertFalse([t for t in traits if 'CUDA' in t])

    def test_later_rule_wins(self):
        rs = gpu_rules.RuleSet(operator=(
            self.rule('a', [], [('display_heads', 8)]),
            self.rule('b', [], [('display_heads', 2)])))
        resolved = gpu.resolve(target(description=None), rs)
        self.assertEqual(2, resolved.value('display_heads'))

    def test_match_fields(self):
        t = target(address='0000:41:00.4', physical='0000:41:00.0')
        for match, expected in (
                ([('address', ('0000:41:00.0',))], True),   # the PF
                ([('address', ('0000:41:00.4',))], True),   # the VF
                ([('address', ('0000:42:*',))], False),
                ([('type', ('nvidia-23?',))], True),
                ([('type_name', ('grid t4-*q',))], True),   # no case
                ([('driver', ('i915',))], False),
                ([('kind', ('vgpu-vf', 'passthrough'))], False),
                ([('vendor', ('10de',)), ('device', ('1eb8', 'ffff'))],
                 True),
                ([('vendor', ('10de',)), ('device', ('ffff',))], False)):
            rule = self.rule('r', match, [('cuda', True)])
            self.assertEqual(expected, gpu_rules.rule_matches(rule, t),
                             match)
        # a field the target does not have never matches
        rule = self.rule('r', [('type_name', ('*',))], [('cuda', True)])
        self.assertFalse(gpu_rules.rule_matches(
            rule, target(type_name=None)))


def t4_parent(address='0000:3b:00.0', types=None):
    types = types or (
        models.MdevType(type_id='nvidia-231', name='GRID T4-2Q',
                        description=T4_2Q, available_instances=3,
                        device_api='vfio-pci', instances=('u',)),
        models.MdevType(type_id='nvidia-226', name='GRID T4-2A',
                        description=T4_2A, available_instances=8,
                        device_api='vfio-pci'),
    )
    return models.MdevParent(
        name=address, bus='pci',
        pci=models.PciInfo(address=address, vendor='10de', device='1eb8',
                           driver='nvidia', driver_version='535.129.03'),
        types=types)


class TestEnricher(testtools.TestCase):

    def build(self, parents, enabled='nvidia-231', manage=False, gpus=(),
              incomplete=frozenset(), rule_set=None):
        discovery = models.DiscoveryResult(
            mdev_parents=tuple(parents), gpus=tuple(gpus),
            complete=not incomplete, incomplete=incomplete)
        cfg = mdev_mapping.MdevConfig(enabled_types=(enabled,))
        enrich = gpu.make_enricher(rule_set or builtin(), manage=manage)
        return tree.build_tree(discovery, cfg, 'cn1', enrichers=[enrich])

    def test_adds_traits_keeps_contract_v1(self):
        plain = tree.build_tree(
            models.DiscoveryResult(mdev_parents=(t4_parent(),)),
            mdev_mapping.MdevConfig(enabled_types=('nvidia-231',)), 'cn1')
        (before,) = plain.providers
        (prov,) = self.build([t4_parent()]).providers
        for trait, sources in before.traits.items():
            self.assertEqual(sources, prov.traits[trait])
        self.assertIn('HW_GPU_MAX_DISPLAY_HEADS_4', prov.traits)
        self.assertIn('HW_GPU_RESOLUTION_W7680H4320', prov.traits)
        self.assertIn('HW_GPU_API_VULKAN', prov.traits)
        self.assertIn(CUSTOM_CUDA % '7_5', prov.traits)
        self.assertEqual(before.inventories, prov.inventories)
        self.assertFalse(prov.partial)
        # explained in --dry-run
        sources = prov.to_dict()['trait_sources']
        self.assertEqual(
            ['display_heads=4 from sysfs class/mdev_bus/0000:3b:00.0/'
             'mdev_supported_types/nvidia-231/description'],
            sources['HW_GPU_MAX_DISPLAY_HEADS_2'])

    def test_other_type_other_traits(self):
        (prov,) = self.build([t4_parent()], enabled='nvidia-226').providers
        self.assertEqual(['HW_GPU_MAX_DISPLAY_HEADS_1'],
                         sorted(t for t in prov.traits if 'HEADS' in t))
        self.assertNotIn('HW_GPU_RESOLUTION_W1920H1080', prov.traits)
        self.assertFalse([t for t in prov.traits if 'CUDA' in t])

    def test_display_head_inventory_in_manage_mode_only(self):
        (prov,) = self.build([t4_parent()], manage=True).providers
        self.assertEqual(4, prov.inventories['VGPU']['total'])
        self.assertEqual({'total': 16, 'reserved': 0, 'min_unit': 1,
                          'max_unit': 4, 'step_size': 1,
                          'allocation_ratio': 1.0},
                         prov.inventories['VGPU_DISPLAY_HEAD'])
        (prov,) = self.build([t4_parent()], manage=False).providers
        self.assertNotIn('VGPU_DISPLAY_HEAD', prov.inventories)

    def test_nvml_wins_over_table_through_vfs(self):
        info = models.GpuInfo(address='0000:3a:00.0', source='nvml',
                              cuda_compute_capability=(8, 6),
                              virtual_functions=('0000:3b:00.0',))
        (prov,) = self.build([t4_parent()], gpus=[info]).providers
        self.assertIn(CUSTOM_CUDA % '8_6', prov.traits)
        self.assertIn('NVML of 0000:3a:00.0',
                      prov.traits[CUSTOM_CUDA % '8_6'][0])

    def test_gpu_discovery_failure_holds_removals(self):
        desired = self.build([t4_parent()],
                             incomplete=frozenset([models.KIND_GPU]))
        (prov,) = desired.providers
        self.assertTrue(prov.partial)
        self.assertIn('GPU capability discovery incomplete', ' '.join(
            desired.warnings))

    def test_rule_errors_become_warnings(self):
        rs = gpu_rules.RuleSet(builtin=builtin().builtin,
                               errors=('x.yaml: rule a: field b: bad; the '
                                       'file is skipped',))
        desired = self.build([t4_parent()], rule_set=rs)
        self.assertIn('x.yaml: rule a: field b: bad; the file is skipped',
                      desired.warnings)

    def test_vdpa_and_unknown_parents_untouched(self):
        other = tree.DesiredProvider(
            name='cn1_vdpa_x', uuid='u', parent_device='vdpa0',
            mdev_type=None, resource_class=None, inventories={},
            traits={'CUSTOM_VDPA_TYPE_NET': ('x',)}, kind=models.KIND_VDPA)
        enrich = gpu.make_enricher(builtin())
        self.assertEqual([other], enrich(
            [other], models.DiscoveryResult(), []))
