"""GPU capabilities rendered as traits (pure).

"At least" levels of each capability (display heads, resolutions,
framebuffer, CUDA compute capability, graphics and compute APIs) from its
floor up (:mod:`mdev_traits.mapping.floors`), as standard os-traits names
where they exist (:mod:`mdev_traits.mapping.gpu_contract`);
:func:`capability_traits` gives each trait the capability and source it
came from.
"""

import re

from mdev_traits.mapping import floors as floors_mod
from mdev_traits.mapping import gpu_contract
from mdev_traits.mapping import names

# a resolved max_resolution: "WxH" as the mapping writes what discovery
# read (gpu_resolve.description_capabilities) and as rule files must give
# it (gpu_rules)
_RESOLUTION = re.compile(r'^([0-9]{1,18})\s*[xX]\s*([0-9]{1,18})$', re.ASCII)


def _cc_tuple(text):
    major, minor = text.split('.')
    return int(major), int(minor)


def _forward_compatible(name, snapshot):
    """Trait names for standard-looking ``name`` (without CUSTOM_).

    The standard name where os-traits defines it, else ``CUSTOM_`` + name;
    a name that was not standard when the contract was written
    (``snapshot``) keeps its ``CUSTOM_`` name too once os-traits adds it.
    """
    published = [names.standard_or_custom(name)]
    custom = names.shorten(names.CUSTOM_PREFIX + name)
    if name not in snapshot and custom not in published:
        published.append(custom)
    return published


def api_names(api, floors=floors_mod.NONE):
    """Every API name ``api`` implies ("at least" semantics), itself
    included, e.g. OPENGL_V2_0 -> OPENGL_V1_1 ... OPENGL_V2_0; with
    ``floors``, only from the family's floor up (nothing when ``api`` is
    below it)."""
    api = api.upper()
    if api in gpu_contract.API_UNVERSIONED:
        return [api]
    family, _, version = api.partition('_V')
    versions = gpu_contract.API_VERSIONS.get(family)
    if not versions or not version:
        return [api]

    def key(v):
        parts = re.match(r'^(\d+)(?:_(\d+))?([A-Z]?)$', v)
        if parts is None:
            return (0, 0, '')
        return (int(parts.group(1)), int(parts.group(2) or 0),
                parts.group(3))

    excluded = gpu_contract.API_NOT_IMPLIED.get((family, version), ())
    implied = [v for v in versions
               if key(v) < key(version) and v not in excluded]
    floor = floors.api(family)
    if floor is not None:
        if floors_mod.version_key(version) < floor:
            return ['VULKAN'] if family == 'VULKAN' else []
        implied = [v for v in implied if floors_mod.version_key(v) >= floor]
    result = ['%s_V%s' % (family, v) for v in implied + [version]]
    if family == 'VULKAN':
        result.insert(0, 'VULKAN')
    return result


def api_traits(api, floors=floors_mod.DEFAULT):
    """Traits for API ``api`` and every API it implies, from the floor
    up."""
    snapshot = {gpu_contract.API.format(api=a)
                for a in gpu_contract.API_STANDARD}
    traits = []
    for name in api_names(api, floors):
        for trait in _forward_compatible(gpu_contract.API.format(api=name),
                                         snapshot):
            if trait not in traits:
                traits.append(trait)
    return traits


def cuda_traits(cc, floors=floors_mod.DEFAULT):
    """Traits for CUDA compute capability ``cc`` ((major, minor)): every
    known level of a PCI GPU from the floor up to it, and ``cc`` itself
    (nothing below the floor)."""
    if tuple(cc) < floors.cuda:
        return []
    levels = [c for c in gpu_contract.CUDA_KNOWN
              if floors.cuda <= c <= tuple(cc)
              and c not in gpu_contract.CUDA_NOT_ON_PCI]
    if (tuple(cc) not in levels
            and tuple(cc) not in gpu_contract.CUDA_NOT_ON_PCI):
        levels.append(tuple(cc))
    snapshot = {gpu_contract.CUDA_COMPUTE_CAPABILITY.format(major=a, minor=b)
                for a, b in gpu_contract.CUDA_STANDARD}
    traits = []
    for major, minor in levels:
        traits.extend(_forward_compatible(
            gpu_contract.CUDA_COMPUTE_CAPABILITY.format(major=major,
                                                        minor=minor),
            snapshot))
    return traits


def heads_traits(heads, floors=floors_mod.DEFAULT):
    return [gpu_contract.MAX_DISPLAY_HEADS.format(k=k)
            for k in gpu_contract.STANDARD_DISPLAY_HEADS
            if floors.display_heads <= k <= heads]


def resolution_traits(resolution, floors=floors_mod.DEFAULT):
    """Every standard resolution that fits in ``resolution`` both ways and
    is not strictly inside the floor."""
    match = _RESOLUTION.match(resolution.strip())
    width, height = int(match.group(1)), int(match.group(2))
    return [gpu_contract.RESOLUTION.format(w=w, h=h)
            for w, h in gpu_contract.STANDARD_RESOLUTIONS
            if w <= width and h <= height
            and floors_mod.resolution_above(w, h, floors.resolution)]


def framebuffer_traits(framebuffer_mb, floors=floors_mod.DEFAULT):
    traits = []
    size = gpu_contract.FRAMEBUFFER_MIN_MB
    while size < floors.framebuffer_mb:
        size *= 2
    while size <= framebuffer_mb:
        traits.append(names.custom_trait(
            gpu_contract.FRAMEBUFFER.format(mb=size)))
        size *= 2
    return traits


def capability_traits(caps, floors=floors_mod.DEFAULT):
    """{trait: [sources]} for resolved capabilities ``caps``."""
    traits = {}

    def add(names_, why):
        for trait in names_:
            traits.setdefault(trait, [])
            if why not in traits[trait]:
                traits[trait].append(why)

    def why(key):
        value, source = caps[key]
        if isinstance(value, tuple):
            value = ','.join(value)
        return '%s=%s from %s' % (key, value, source)

    if 'display_heads' in caps:
        add(heads_traits(caps['display_heads'][0], floors),
            why('display_heads'))
    if 'max_resolution' in caps:
        add(resolution_traits(caps['max_resolution'][0], floors),
            why('max_resolution'))
    if 'framebuffer_mb' in caps:
        add(framebuffer_traits(caps['framebuffer_mb'][0], floors),
            why('framebuffer_mb'))
    if caps.get('cuda', (False,))[0] and 'cuda_compute_capability' in caps:
        add(cuda_traits(_cc_tuple(caps['cuda_compute_capability'][0]),
                        floors),
            '%s; CUDA offered to the guest per %s' % (
                why('cuda_compute_capability'), caps['cuda'][1]))
    if 'apis' in caps:
        for api in caps['apis'][0]:
            add(api_traits(api, floors), 'apis include %s from %s' % (
                api, caps['apis'][1]))
    return traits
