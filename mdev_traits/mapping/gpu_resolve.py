"""GPU capabilities of a GPU slice, resolved (pure).

For each GPU slice a guest can get (a :class:`GpuTarget`: an mdev type on
its parent, a vGPU VF, a whole GPU), capabilities are resolved from four
sources, later ones overriding earlier ones:

1. the shipped vendor profiles (``mdev_traits/profiles/*.yaml``: CUDA
   compute capability by PCI device id, APIs by vGPU series, ...);
2. what the hardware says: the mdev type's ``description`` in sysfs
   (heads, maximum resolution, framebuffer) and the vGPU type name, as
   discovery parsed them (:class:`mdev_traits.models.TypeDescription`);
3. NVML (the physical GPU's CUDA compute capability and memory);
4. the operator's rules (``[profiles] directory``).

and then turned into traits (:mod:`mdev_traits.mapping.gpu_traits`, from
the templates of :mod:`mdev_traits.mapping.gpu_contract`), each with the
source it came from so that ``--dry-run`` explains why a GPU does or does
not match a flavor.

Two consumers: the mdev kind's capability enricher
(:func:`mdev_traits.mapping.gpu.make_enricher`) and the ``device_spec``
entries of GPUs nova schedules with PCI in Placement
(:func:`mdev_traits.mapping.gpu_device_spec.device_spec_entries`).

Nothing here does I/O.
"""

import dataclasses
import typing

from mdev_traits.mapping import floors as floors_mod
from mdev_traits.mapping import gpu_rules
from mdev_traits.mapping import gpu_traits
from mdev_traits import models

NVIDIA_VENDOR = '10de'


@dataclasses.dataclass(frozen=True)
class GpuTarget:
    """One kind of GPU slice a guest gets, as rules match it."""

    kind: str                          # gpu_rules.KIND_*
    address: str                       # mdev parent, VF or whole GPU
    physical_address: str              # the physical GPU (PF)
    vendor: typing.Optional[str] = None
    device: typing.Optional[str] = None
    driver: typing.Optional[str] = None
    type_id: typing.Optional[str] = None
    type_name: typing.Optional[str] = None
    # what the type's own text says (models.TypeDescription)
    description: models.TypeDescription = models.TypeDescription()
    # where description came from, for trait_sources
    description_source: typing.Optional[str] = None

    def match_values(self, field):
        if field == 'address':
            return (self.address, self.physical_address)
        if field == 'type':
            return (self.type_id,)
        return (getattr(self, field),)


@dataclasses.dataclass(frozen=True)
class Resolved:
    """Capabilities of a target and the traits derived from them."""

    # capability -> (value, source)
    capabilities: typing.Dict[str, typing.Tuple[typing.Any, str]]
    # trait -> sources
    traits: typing.Dict[str, typing.Tuple[str, ...]]

    def value(self, capability):
        entry = self.capabilities.get(capability)
        return entry[0] if entry else None


# -- resolving capabilities --------------------------------------------------

def _apply_rules(rules, target, caps, traits):
    for rule in rules:
        if not gpu_rules.rule_matches(rule, target):
            continue
        for key, value in rule.set:
            if value is None:
                caps.pop(key, None)
            else:
                caps[key] = (value, rule.origin)
        for trait in rule.traits:
            traits.setdefault(trait, [])
            if rule.origin not in traits[trait]:
                traits[trait].append(rule.origin)


def description_capabilities(description):
    """{capability: value} of what a type's own text says (a
    :class:`~mdev_traits.models.TypeDescription`): ``display_heads``,
    ``max_resolution`` ("WxH") and ``framebuffer_mb``, where given."""
    caps = {}
    if description.display_heads is not None:
        caps['display_heads'] = description.display_heads
    if description.max_resolution is not None:
        caps['max_resolution'] = '%dx%d' % description.max_resolution
    if description.framebuffer_mb is not None:
        caps['framebuffer_mb'] = description.framebuffer_mb
    return caps


def resolve(target, rule_set, gpu_info=None, warnings=None,
            floors=floors_mod.DEFAULT):
    """Capabilities of ``target`` and their traits (see module docstring).

    :param gpu_info: the :class:`mdev_traits.models.GpuInfo` of the
        physical GPU, if a source (NVML) reported one.
    """
    caps = {}
    extra = {}
    _apply_rules(rule_set.builtin, target, caps, extra)

    facts = description_capabilities(target.description)
    for problem in target.description.problems:
        if warnings is not None:
            warnings.append('%s: %s; that field is ignored and nothing '
                            'is withdrawn from this GPU this cycle' % (
                                target.description_source or target.address,
                                problem))
    for key, value in sorted(facts.items()):
        caps[key] = (value, target.description_source or 'description')
    if ('framebuffer_mb' not in facts and target.vendor == NVIDIA_VENDOR
            and target.kind != gpu_rules.KIND_PASSTHROUGH):
        size = target.description.name_framebuffer_mb
        if size:
            caps['framebuffer_mb'] = (size, 'vGPU type name %r' %
                                      target.type_name)

    if gpu_info is not None:
        src = '%s of %s' % (gpu_info.source.upper(), gpu_info.address)
        if gpu_info.cuda_compute_capability:
            caps['cuda_compute_capability'] = (
                '%d.%d' % tuple(gpu_info.cuda_compute_capability), src)
        if (gpu_info.memory_mb and
                target.kind == gpu_rules.KIND_PASSTHROUGH):
            caps['framebuffer_mb'] = (gpu_info.memory_mb, src)

    _apply_rules(rule_set.operator, target, caps, extra)
    traits = gpu_traits.capability_traits(caps, floors)
    for trait, sources in extra.items():
        traits.setdefault(trait, [])
        traits[trait].extend(s for s in sources if s not in traits[trait])
    return Resolved(capabilities=caps,
                    traits={t: tuple(s) for t, s in sorted(traits.items())})


def gpu_index(discovery):
    """{PCI address: GpuInfo}, VFs of a GPU included."""
    index = {}
    for gpu in discovery.gpu_infos:
        index.setdefault(gpu.address, gpu)
        for vf in gpu.virtual_functions:
            index.setdefault(vf, gpu)
    return index
