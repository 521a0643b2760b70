"""Ladder floors (trait contract v2, pure).

Every GPU capability ladder (CUDA compute capability, API versions,
resolutions, display heads, framebuffer) is published from a floor up
(:data:`mdev_traits.mapping.gpu_contract.DEFAULT_FLOORS`, why each one
there). :class:`Floors` holds them as parsed levels;
:func:`raise_to_floor` turns a trait below its family's floor into the
floor's trait, so that no flavor or requirement asks for a name that is
no longer published.
"""

import dataclasses
import re
import typing

from mdev_traits.mapping import gpu_contract
from mdev_traits.mapping import names

_VERSION = re.compile(r'^(\d+)(?:[._](\d+))?([A-Z]?)$')
_RESOLUTION = re.compile(r'^(\d+)\s*[xX]\s*(\d+)$')

# published names -> (family, level) (CUSTOM_ or not)
_CUDA_TRAIT = re.compile(
    r'^(?:CUSTOM_)?HW_GPU_CUDA_COMPUTE_CAPABILITY_V(\d+)_(\d+)$')
_API_TRAIT = re.compile(r'^(?:CUSTOM_)?HW_GPU_API_([A-Z0-9]+?)_V(\w+)$')
_HEADS_TRAIT = re.compile(r'^(?:CUSTOM_)?HW_GPU_MAX_DISPLAY_HEADS_(\d+)$')
_RESOLUTION_TRAIT = re.compile(r'^(?:CUSTOM_)?HW_GPU_RESOLUTION_W(\d+)H(\d+)$')
_FRAMEBUFFER_TRAIT = re.compile(r'^CUSTOM_VGPU_FRAMEBUFFER_MB_(\d+)$')


class FloorError(ValueError):
    """A floor value that cannot be parsed (message names it)."""


def version_key(text):
    """Order of an API version as the contract spells it (``4_6``,
    ``9_0C``, ``12``) or as an operator writes it (``4.6``)."""
    match = _VERSION.match(str(text).strip().upper())
    if match is None:
        return None
    return (int(match.group(1)), int(match.group(2) or 0), match.group(3))


@dataclasses.dataclass(frozen=True)
class Floors:
    cuda: typing.Tuple[int, int] = (0, 0)
    # API family (OPENGL, ...) -> version key
    apis: typing.Tuple[typing.Tuple[str, tuple], ...] = ()
    resolution: typing.Tuple[int, int] = (0, 0)
    display_heads: int = 0
    framebuffer_mb: int = 0

    def api(self, family):
        return dict(self.apis).get(family)


def parse(values=None):
    """:class:`Floors` from ``{family: text}`` over the defaults.

    :raises FloorError: an unknown family or a value that is not a level.
    """
    merged = dict(gpu_contract.DEFAULT_FLOORS)
    for key, value in (values or {}).items():
        key = str(key).strip().lower()
        if key not in merged:
            raise FloorError('unknown ladder %r (known: %s)' % (
                key, ', '.join(sorted(merged))))
        merged[key] = str(value).strip()

    def bad(key, what):
        return FloorError('%s floor %r is not %s' % (key, merged[key], what))

    cuda = version_key(merged['cuda'])
    if cuda is None or cuda[2]:
        raise bad('cuda', 'a compute capability such as 3.0')
    apis = []
    for family, key in sorted(gpu_contract.API_FLOOR_KEYS.items()):
        level = version_key(merged[key])
        if level is None:
            raise bad(key, 'a version such as 4.4')
        apis.append((family, level))
    res = _RESOLUTION.match(merged['resolution'])
    if res is None or (int(res.group(1)), int(res.group(2))) not in (
            gpu_contract.STANDARD_RESOLUTIONS):
        raise bad('resolution', 'a standard resolution W x H such as '
                  '1024x768')
    ints = {}
    for key in ('display_heads', 'framebuffer_mb'):
        if not merged[key].isascii() or not merged[key].isdigit():
            raise bad(key, 'a whole number')
        ints[key] = int(merged[key])
    return Floors(cuda=cuda[:2], apis=tuple(apis),
                  resolution=(int(res.group(1)), int(res.group(2))),
                  **ints)


DEFAULT = parse()
# no floor at all: every level (what trait contract v1 published)
NONE = Floors(apis=tuple((f, (0, 0, '')) for f in
                         sorted(gpu_contract.API_FLOOR_KEYS)))


def resolution_above(w, h, floor):
    """Whether resolution ``w`` x ``h`` is published given ``floor``: not
    strictly inside it (the floor itself is)."""
    fw, fh = floor
    return (w, h) == (fw, fh) or not (w <= fw and h <= fh)


def raise_to_floor(trait, floors=DEFAULT):
    """``trait`` itself, or the trait of its family's floor when it names
    a level below the floor (every device that has the family has the
    floor, so asking for less asks for nothing more); a CUDA level no PCI
    GPU has (``gpu_contract.CUDA_NOT_ON_PCI``) becomes the next one up."""
    match = _CUDA_TRAIT.match(trait)
    if match:
        level = max((int(match.group(1)), int(match.group(2))), floors.cuda)
        if level not in gpu_contract.CUDA_NOT_ON_PCI:
            if level == (int(match.group(1)), int(match.group(2))):
                return trait
        else:
            # the next level a PCI GPU can have
            up = [c for c in gpu_contract.CUDA_KNOWN if c > level
                  and c not in gpu_contract.CUDA_NOT_ON_PCI]
            if not up:
                return trait
            level = up[0]
        return names.standard_or_custom(
            gpu_contract.CUDA_COMPUTE_CAPABILITY.format(
                major=level[0], minor=level[1]))
    match = _API_TRAIT.match(trait)
    if match and floors.api(match.group(1)) is not None:
        family = match.group(1)
        versions = gpu_contract.API_VERSIONS.get(family, ())
        level = version_key(match.group(2))
        floor = floors.api(family)
        if level is None or level >= floor:
            return trait
        at_floor = [v for v in versions if version_key(v) >= floor]
        if not at_floor:
            return trait
        return names.standard_or_custom(gpu_contract.API.format(
            api='%s_V%s' % (family, at_floor[0])))
    match = _HEADS_TRAIT.match(trait)
    if match:
        if int(match.group(1)) >= floors.display_heads:
            return trait
        up = [k for k in gpu_contract.STANDARD_DISPLAY_HEADS
              if k >= floors.display_heads]
        return (gpu_contract.MAX_DISPLAY_HEADS.format(k=up[0]) if up
                else trait)
    match = _RESOLUTION_TRAIT.match(trait)
    if match:
        w, h = int(match.group(1)), int(match.group(2))
        if resolution_above(w, h, floors.resolution):
            return trait
        return gpu_contract.RESOLUTION.format(w=floors.resolution[0],
                                              h=floors.resolution[1])
    match = _FRAMEBUFFER_TRAIT.match(trait)
    if match:
        if int(match.group(1)) >= floors.framebuffer_mb:
            return trait
        size = 1
        while size < floors.framebuffer_mb:
            size *= 2
        return names.custom_trait(gpu_contract.FRAMEBUFFER.format(mb=size))
    return trait
