"""Trait contract v2: version buckets from the fleet, ladder floors, the
per-provider budget (pure functions)."""

import os
import re

import testtools
import yaml

from mdev_traits.mapping import budget
from mdev_traits.mapping import floors
from mdev_traits.mapping import gpu
from mdev_traits.mapping import gpu_contract
from mdev_traits.mapping import gpu_rules
from mdev_traits.mapping import gpu_traits
from mdev_traits.mapping import requirements as req_mod
from mdev_traits.mapping import versions
from mdev_traits import models
from mdev_traits.profiles import loader as profiles_loader

B = 'CUSTOM_MDEV_SWVER_NVIDIA_535_%d'
DOC = os.path.join(os.path.dirname(__file__), '..', '..', 'doc', 'source')


class TestVersionBuckets(testtools.TestCase):

    def test_own_bucket_only_without_fleet(self):
        self.assertEqual([B % 129], versions.bucket_traits(
            'nvidia', 535, 129))

    def test_lower_known_minors_highest_first(self):
        known = {B % 54, B % 104, B % 129, B % 161,
                 'CUSTOM_MDEV_SWVER_NVIDIA_550_54',
                 'CUSTOM_MDEV_SWVER_NVIDIA_53_5_1',   # another major
                 B % 54 + '0', 'CUSTOM_MDEV_SWVER_NVIDIA_535_0104',
                 'HW_GPU_API_VULKAN'}
        self.assertEqual([B % 129, B % 104, B % 54, B % 0],
                         versions.bucket_traits('nvidia', 535, 129,
                                                known | {B % 0}))
        # 540 is above 129; 0104 is not the name bucket() makes
        self.assertNotIn(B % 540, versions.bucket_traits(
            'nvidia', 535, 129, known))

    def test_at_most_max_buckets(self):
        known = {B % k for k in range(300)}
        got = versions.bucket_traits('nvidia', 535, 129, known,
                                     max_buckets=3)
        self.assertEqual([B % 129, B % 128, B % 127, B % 126], got)
        self.assertEqual([B % 129], versions.bucket_traits(
            'nvidia', 535, 129, known, max_buckets=0))

    def test_date_like_minor_is_bounded(self):
        warnings = []
        known = {'CUSTOM_MDEV_SWVER_NVIDIA_1_%d' % k for k in range(50)}
        got = versions.bucket_traits('nvidia', 1, 20240101, known,
                                     warnings=warnings)
        self.assertEqual(['CUSTOM_MDEV_SWVER_NVIDIA_1_20240101'], got)
        self.assertEqual(1, len(warnings))
        self.assertIn('1.20240101', warnings[0])

    def test_prefix_is_what_the_catalog_lists(self):
        self.assertTrue(versions.bucket('nvidia', 1, 2).startswith(
            versions.BUCKET_PREFIX))
        self.assertEqual('CUSTOM_MDEV_SWVER_', versions.BUCKET_PREFIX)


class TestFloors(testtools.TestCase):

    def test_defaults_are_the_shipped_profiles_minimum(self):
        """Every device of the shipped profiles is at or above each
        default floor (else it would lose a family)."""
        rules, errors = profiles_loader.load_builtin()
        self.assertEqual((), errors)
        cuda = []
        apis = {}
        for rule in rules:
            values = dict(rule.set)
            if values.get('cuda_compute_capability'):
                cuda.append(tuple(int(x) for x in
                                  values['cuda_compute_capability']
                                  .split('.')))
            for api in values.get('apis') or ():
                family, _, version = api.partition('_V')
                if version:
                    apis.setdefault(family, []).append(api)
        self.assertEqual(min(cuda), floors.DEFAULT.cuda)
        for family, levels in apis.items():
            # every device of the family has the floor: the lowest level
            # all of them imply (OpenCL 3.0 implies 1.2, not 2.0)
            implied = [set(floors.version_key(n.partition('_V')[2])
                           for n in gpu_traits.api_names(api, floors.NONE)
                           if '_V' in n)
                       for api in levels]
            common = set.intersection(*implied)
            self.assertEqual(max(common), floors.DEFAULT.api(family),
                             family)

    def test_parse(self):
        f = floors.parse({'cuda': '5.2', 'OpenGL': '4.5',
                          'resolution': '1920x1080'})
        self.assertEqual((5, 2), f.cuda)
        self.assertEqual((4, 5, ''), f.api('OPENGL'))
        self.assertEqual((1920, 1080), f.resolution)
        for bad in ({'cuda': 'x'}, {'nope': '1'}, {'resolution': '1x1'},
                    {'display_heads': '²'}, {'opengl': '4.x'}):
            self.assertRaises(floors.FloorError, floors.parse, bad)

    def test_raise_to_floor(self):
        up = floors.raise_to_floor
        self.assertEqual('HW_GPU_API_OPENGL_V4_4',
                         up('HW_GPU_API_OPENGL_V1_1'))
        self.assertEqual('CUSTOM_HW_GPU_API_OPENGL_V4_6',
                         up('CUSTOM_HW_GPU_API_OPENGL_V4_6'))
        self.assertEqual('HW_GPU_CUDA_COMPUTE_CAPABILITY_V3_0',
                         up('HW_GPU_CUDA_COMPUTE_CAPABILITY_V1_0'))
        self.assertEqual('HW_GPU_RESOLUTION_W1024H768',
                         up('HW_GPU_RESOLUTION_W800H600'))
        # levels of Jetson SoCs only: the next level a PCI GPU can have
        self.assertEqual('CUSTOM_HW_GPU_CUDA_COMPUTE_CAPABILITY_V7_5',
                         up('HW_GPU_CUDA_COMPUTE_CAPABILITY_V7_2'))
        self.assertEqual('HW_GPU_CUDA_COMPUTE_CAPABILITY_V6_0',
                         up('HW_GPU_CUDA_COMPUTE_CAPABILITY_V5_3'))
        self.assertEqual('CUSTOM_HW_GPU_CUDA_COMPUTE_CAPABILITY_V8_9',
                         up('CUSTOM_HW_GPU_CUDA_COMPUTE_CAPABILITY_V8_7'))
        # wider than the floor: not inside it, published as is
        self.assertEqual('HW_GPU_RESOLUTION_W1280H720',
                         up('HW_GPU_RESOLUTION_W1280H720'))
        self.assertEqual('HW_GPU_API_DIRECTX_V12',
                         up('HW_GPU_API_DIRECTX_V10'))
        self.assertEqual('HW_GPU_API_OPENCL_V1_2',
                         up('HW_GPU_API_OPENCL_V1_0'))
        self.assertEqual('CUSTOM_VGPU_FRAMEBUFFER_MB_1024', up(
            'CUSTOM_VGPU_FRAMEBUFFER_MB_512',
            floors.parse({'framebuffer_mb': '1024'})))
        self.assertEqual('HW_GPU_API_VULKAN', up('HW_GPU_API_VULKAN'))
        self.assertEqual(B % 0, up(B % 0))

    def test_at_least_holds_for_every_published_name(self):
        """A device publishes a name iff its level is at least the name's
        (from the floor up), for every family and level."""
        for cc in gpu_contract.CUDA_KNOWN:
            published = set(gpu_traits.cuda_traits(cc))
            for other in gpu_contract.CUDA_KNOWN:
                name = set(gpu_traits.cuda_traits(other)) - set(
                    t for lower in gpu_contract.CUDA_KNOWN if lower < other
                    for t in gpu_traits.cuda_traits(lower))
                if not name:
                    continue
                self.assertEqual(other <= cc, name <= published,
                                 (cc, other))
        for w, h in gpu_contract.STANDARD_RESOLUTIONS:
            published = set(gpu_traits.resolution_traits('%dx%d' % (w, h)))
            for ow, oh in gpu_contract.STANDARD_RESOLUTIONS:
                name = gpu_contract.RESOLUTION.format(w=ow, h=oh)
                inside = (floors.raise_to_floor(name) == name)
                if inside:
                    self.assertEqual(ow <= w and oh <= h,
                                     name in published, (w, h, name))
                else:
                    self.assertNotIn(name, published)

    def test_docs_and_demo_never_ask_below_the_floor(self):
        from mdev_traits import demo
        asked = set()
        for page in ('flavors.rst', 'live-migration.rst', 'configure.rst'):
            with open(os.path.join(DOC, page), encoding='utf-8') as f:
                text = f.read()
            asked |= set(re.findall(r'--required ([A-Z0-9_]+)', text))
            asked |= set(re.findall(r'trait\d*:([A-Z0-9_]+)=required',
                                    text))
        for _label, required in demo.DEMO_QUERIES:
            asked |= set(required.split(','))
        self.assertTrue(asked)
        for trait in asked:
            self.assertEqual(trait, floors.raise_to_floor(trait), trait)

    def test_requirements_never_below_the_floor(self):
        reqs = req_mod.requirements(
            ['HW_GPU_API_OPENGL_V1_1', 'HW_GPU_CUDA_COMPUTE_CAPABILITY_V2_0',
             'HW_GPU_RESOLUTION_W640H480', B % 129], 'VGPU')
        self.assertEqual(
            ['CUSTOM_MDEV_SWVER_NVIDIA_535_129',
             'HW_GPU_API_OPENGL_V4_4',
             'HW_GPU_CUDA_COMPUTE_CAPABILITY_V3_0',
             'HW_GPU_RESOLUTION_W1024H768'], sorted(reqs.traits))


def t4_traits(known=frozenset(), version='535.129.03', floors_=None):
    mtype = models.MdevType(
        type_id='nvidia-231', name='GRID T4-2Q', available_instances=8,
        device_api='vfio-pci',
        description='num_heads=4, frl_config=60, framebuffer=2048M, '
                    'max_resolution=7680x4320, max_instance=8')
    parent = models.MdevParent(
        name='0000:3b:00.0', bus='pci',
        pci=models.PciInfo(address='0000:3b:00.0', vendor='10de',
                           device='1eb8', driver='nvidia',
                           driver_version=version),
        types=(mtype,))
    from mdev_traits.mapping import mdev as mdev_mapping
    from mdev_traits.mapping import tree
    rules, _errors = profiles_loader.load_builtin()
    enrich = gpu.make_enricher(gpu_rules.RuleSet(builtin=rules),
                               floors=floors_ or floors.DEFAULT)
    warnings = []
    desired = tree.build_tree(
        models.DiscoveryResult(mdev_parents=(parent,)),
        mdev_mapping.MdevConfig(enabled_types=('nvidia-231',)), 'cn1',
        enrichers=[enrich, budget.make_limiter()], known_traits=known)
    return desired.providers[0].traits, list(desired.warnings) + warnings


class TestBudget(testtools.TestCase):

    def test_t4_2q_fits_the_default_budget_with_full_fleet(self):
        known = {B % k for k in range(130)}
        traits, warnings = t4_traits(known)
        self.assertLessEqual(len(traits), budget.DEFAULT_MAX_TRAITS)
        # the budget drops nothing; the bucket limit says what it left out
        self.assertEqual(1, len(warnings), warnings)
        self.assertIn('only the %d highest are published'
                      % versions.DEFAULT_MAX_BUCKETS, warnings[0])
        self.assertIn('started under 535.%d or older are not offered'
                      % (128 - versions.DEFAULT_MAX_BUCKETS), warnings[0])
        swver = [t for t in traits if 'SWVER' in t]
        self.assertEqual(1 + versions.DEFAULT_MAX_BUCKETS, len(swver))
        self.assertIn(B % 129, swver)

    def test_a_branch_history_fits_without_warning(self):
        known = {B % k for k in (54, 86, 104, 129, 154, 161, 183, 216, 230,
                                 247, 261, 274)}
        traits, warnings = t4_traits(known, version='535.288.01')
        self.assertEqual([], warnings)
        swver = {t for t in traits if 'SWVER' in t}
        self.assertEqual(known | {B % 288}, swver)

    def test_fleet_buckets_go_first_then_whole_families(self):
        traits = {t: ('x',) for t in gpu_traits.resolution_traits('7680x4320')}
        traits.update({B % k: ('x',) for k in range(100, 130)})
        traits['CUSTOM_MDEV_TYPE_NVIDIA_231'] = ('x',)
        kept, dropped = budget.limit(traits, 40)
        self.assertEqual(40, len(kept))
        self.assertIn(B % 129, kept)
        self.assertNotIn(B % 100, kept)
        self.assertIn(B % 128, kept)
        kept, dropped = budget.limit(traits, 16)
        self.assertEqual(2, len(kept))
        # resolutions are all gone, not some of them
        self.assertFalse([t for t in kept if 'RESOLUTION' in t])
        self.assertIn('CUSTOM_MDEV_TYPE_NVIDIA_231', kept)
        self.assertIn(B % 129, kept)

    def test_hard_bound_whatever_the_input(self):
        traits = {'CUSTOM_MDEV_COMPAT_X_%d' % i: ('x',) for i in range(1000)}
        traits['CUSTOM_MDEV_TYPE_A'] = ('x',)
        traits[B % 7] = ('x',)
        kept, dropped = budget.limit(traits, 10 ** 6)
        self.assertEqual(budget.HARD_MAX_TRAITS, len(kept))
        self.assertIn('CUSTOM_MDEV_TYPE_A', kept)
        self.assertIn(B % 7, kept)
        self.assertTrue(dropped)

    def test_limiter_warns_once_per_provider(self):
        traits, warnings = t4_traits(
            floors_=floors.parse({'opengl': '1.1', 'cuda': '1.0',
                                  'direct3d': '6.0', 'directx': '10',
                                  'opencl': '1.0', 'resolution': '320x240'}))
        self.assertLessEqual(len(traits), budget.DEFAULT_MAX_TRAITS)
        self.assertEqual(1, len(warnings))
        self.assertIn('max_traits_per_provider', warnings[0])


class TestProfilesYaml(testtools.TestCase):

    def test_floor_reasons_match_profiles(self):
        # the comment of DEFAULT_FLOORS names rules that exist
        path = os.path.join(profiles_loader.BUILTIN_DIR, 'nvidia.yaml')
        with open(path, encoding='utf-8') as f:
            data = yaml.safe_load(f)
        self.assertIn('cuda-3.0-kepler-grid',
                      [r['name'] for r in data['rules']])
