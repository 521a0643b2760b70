"""GPU capability traits, as data (trait contract v2: GPU capabilities).

Like :mod:`mdev_traits.mapping.contract`, these names are a public API:
operators put them in flavors. Every capability is published with "at
least" semantics: a device that has level L also gets every known lower
level down to the family's floor (:data:`DEFAULT_FLOORS`), so a flavor asks
for the minimum it needs (``trait:HW_GPU_MAX_DISPLAY_HEADS_2=required``
matches a 4-head vGPU).

Standard os-traits names are used where os-traits defines them (the
``*_STANDARD`` tables below are the os-traits 3.9 names this contract was
written against). A level os-traits does not cover is published as
``CUSTOM_`` + the name the standard trait would have
(:func:`mdev_traits.mapping.names.standard_or_custom`); if a later
os-traits adds that standard name, both names are published, so flavors
written either way keep matching.
"""

# -- templates ---------------------------------------------------------------

# Display heads: HW_GPU_MAX_DISPLAY_HEADS_<k> for every standard k <= heads.
MAX_DISPLAY_HEADS = 'HW_GPU_MAX_DISPLAY_HEADS_{k}'
# Resolutions: every standard W x H with W <= max W and H <= max H.
RESOLUTION = 'HW_GPU_RESOLUTION_W{w}H{h}'
# Framebuffer: CUSTOM_VGPU_FRAMEBUFFER_MB_<n> for every power of two n from
# FRAMEBUFFER_MIN_MB up to the framebuffer (no os-traits equivalent).
FRAMEBUFFER = 'VGPU_FRAMEBUFFER_MB_{mb}'
FRAMEBUFFER_MIN_MB = 512
# CUDA compute capability of the physical GPU, when the guest gets CUDA.
CUDA_COMPUTE_CAPABILITY = 'HW_GPU_CUDA_COMPUTE_CAPABILITY_V{major}_{minor}'
# Graphics and compute APIs, e.g. API_VULKAN, API_OPENGL_V4_5.
API = 'HW_GPU_API_{api}'

# Inventory of display heads (manage mode only, see README "GPU
# capabilities"): total = VGPU total x heads per vGPU, max_unit = heads.
DISPLAY_HEAD_RESOURCE_CLASS = 'VGPU_DISPLAY_HEAD'
VGPU_RESOURCE_CLASS = 'VGPU'
# Resource class of a whole GPU in nova's [pci] device_spec (nova's own
# example uses PGPU, a standard os-resource-classes name).
PASSTHROUGH_RESOURCE_CLASS = 'PGPU'

# -- os-traits 3.9 tables -----------------------------------------------------

STANDARD_DISPLAY_HEADS = (1, 2, 4, 6, 8)

STANDARD_RESOLUTIONS = (
    (320, 240), (640, 480), (800, 600), (1024, 600), (1024, 768),
    (1152, 864), (1280, 720), (1280, 768), (1280, 800), (1280, 1024),
    (1360, 768), (1366, 768), (1440, 900), (1600, 900), (1600, 1200),
    (1680, 1050), (1920, 1080), (1920, 1200), (2560, 1440), (2560, 1600),
    (3840, 2160), (7680, 4320),
)

# CUDA compute capabilities os-traits defines.
CUDA_STANDARD = (
    (1, 0), (1, 1), (1, 2), (1, 3), (2, 0), (2, 1), (3, 0), (3, 2),
    (3, 5), (3, 7), (5, 0), (5, 2), (5, 3), (6, 0), (6, 1), (6, 2),
    (7, 0), (7, 1), (7, 2),
)
# Every compute capability NVIDIA lists ("CUDA GPUs - Compute Capability",
# https://developer.nvidia.com/cuda-gpus, and the CUDA C++ Programming
# Guide, "Compute Capabilities"), plus those os-traits names: a device at
# level L is published with every level here that is not higher than L.
CUDA_KNOWN = tuple(sorted(set(CUDA_STANDARD) | {
    (7, 5), (8, 0), (8, 6), (8, 7), (8, 9), (9, 0), (10, 0), (10, 3),
    (11, 0), (12, 0), (12, 1),
}))

# Levels no GPU the exporter sees (a PCI function) has: those of NVIDIA's
# systems-on-chip only (Jetson TK1 3.2, TX1 5.3, TX2 6.2, AGX Xavier 7.2,
# Orin 8.7; same NVIDIA list) and 7.1, which os-traits names and no device
# has. Asking for one selects the same devices as asking for the next level
# up, so they are not published (trait contract v2); a flavor or
# ``requirements`` asks for the next level instead
# (:func:`mdev_traits.mapping.floors.raise_to_floor`).
CUDA_NOT_ON_PCI = frozenset([(3, 2), (5, 3), (6, 2), (7, 1), (7, 2),
                             (8, 7)])

# API families with versions, oldest first. A version implies every lower
# version of its family (OpenGL contexts, Direct3D feature levels and the
# DirectX runtime are backward compatible), except where API_NOT_IMPLIED
# says otherwise. The unversioned names (VULKAN, DXVA, DIRECT2D) imply only
# themselves; VULKAN_V<x>_<y> also implies VULKAN.
API_VERSIONS = {
    'OPENGL': ('1_1', '1_2', '1_3', '1_4', '1_5', '2_0', '2_1', '3_0', '3_1',
               '3_2', '3_3', '4_0', '4_1', '4_2', '4_3', '4_4', '4_5', '4_6'),
    'OPENCL': ('1_0', '1_1', '1_2', '2_0', '2_1', '2_2', '3_0'),
    'DIRECTX': ('10', '11', '12'),
    'DIRECT3D': ('6_0', '7_0', '8_0', '8_1', '9_0', '9_0B', '9_0C', '9_0L',
                 '10_0', '10_1', '11_0', '11_1', '11_2', '11_3', '12_0',
                 '12_1', '12_2'),
    'VULKAN': ('1_0', '1_1', '1_2', '1_3', '1_4'),
}
# OpenCL 3.0 made every 2.x feature optional (Khronos, "OpenCL 3.0
# specification"): 3.0 implies 1.2, not 2.x.
API_NOT_IMPLIED = {
    ('OPENCL', '3_0'): ('2_0', '2_1', '2_2'),
}
API_UNVERSIONED = ('VULKAN', 'DXVA', 'DIRECT2D')

API_STANDARD = frozenset(
    ['VULKAN', 'DXVA', 'DIRECT2D']
    + ['OPENGL_V%s' % v for v in API_VERSIONS['OPENGL'][:-1]]
    + ['OPENCL_V%s' % v for v in API_VERSIONS['OPENCL'][:-1]]
    + ['DIRECTX_V%s' % v for v in API_VERSIONS['DIRECTX']]
    + ['DIRECT3D_V%s' % v for v in API_VERSIONS['DIRECT3D'][:-2]])

# -- floors (trait contract v2) -----------------------------------------------

# Each ladder is published from a floor up. A level that every device the
# shipped profiles cover has tells the scheduler nothing, and every trait
# is paid on every scheduling request (Placement returns the traits of
# every provider of every candidate tree): a flavor that asks for a level
# below the floor is asked for the floor instead (``requirements`` and
# :func:`mdev_traits.mapping.floors.raise_to_floor` do so). A device below
# the floor of a family publishes no trait of that family. Configurable with
# [profiles] ladder_floors; the figures behind these defaults are in
# benchmarks/README.rst. Why each default:
DEFAULT_FLOORS = {
    # the lowest compute capability of the shipped profiles: GRID K1/K2
    # (Kepler, nvidia.yaml rule cuda-3.0-kepler-grid)
    'cuda': '3.0',
    # Intel Gen8 (Broadwell) GVT-g has OpenGL 4.4, every NVIDIA vGPU with
    # graphics 4.6 (intel.yaml, nvidia.yaml)
    'opengl': '4.4',
    # Broadwell: Direct3D feature level 11_1; NVIDIA 12_0
    'direct3d': '11.1',
    # DirectX 12 on every shipped profile with DirectX
    'directx': '12',
    # OpenCL 3.0 implies 1.2 only (not the optional 2.x), Broadwell has 2.0:
    # every OpenCL device has 1.2
    'opencl': '1.2',
    # no shipped profile names a Vulkan version (only HW_GPU_API_VULKAN)
    'vulkan': '1.0',
    # the smallest EDID of an Intel GVT-g vGPU is 1024x768
    # (drivers/gpu/drm/i915/gvt/display.h, enum intel_vgpu_edid)
    'resolution': '1024x768',
    # every vGPU has at least one head
    'display_heads': '1',
    # the smallest NVIDIA vGPU types have 512 MiB (-0B, -0Q)
    'framebuffer_mb': '512',
}
# profile API family -> floor key
API_FLOOR_KEYS = {'OPENGL': 'opengl', 'OPENCL': 'opencl',
                  'DIRECT3D': 'direct3d', 'DIRECTX': 'directx',
                  'VULKAN': 'vulkan'}

# Capabilities a profile rule can set (see mdev_traits.profiles.schema).
CAPABILITIES = ('cuda_compute_capability', 'cuda', 'apis', 'display_heads',
                'max_resolution', 'framebuffer_mb')
