"""GPU capabilities as standard traits (pure).

For each GPU slice a guest can get, capabilities are resolved from four
sources, later ones overriding earlier ones:

1. the shipped vendor profiles (``mdev_traits/profiles/*.yaml``: CUDA
   compute capability by PCI device id, APIs by vGPU series, ...);
2. what the hardware says: the mdev type's ``description`` in sysfs
   (heads, maximum resolution, framebuffer) and the vGPU type name
   (:mod:`mdev_traits.mapping.gpu_description`);
3. NVML (the physical GPU's CUDA compute capability and memory);
4. the operator's rules (``[profiles] directory``).

and then turned into traits (:mod:`mdev_traits.mapping.gpu_traits`, from
the templates of :mod:`mdev_traits.mapping.gpu_contract`), each with the
source it came from so that ``--dry-run`` explains why a GPU does or does
not match a flavor.

Two consumers: :func:`make_enricher` adds the traits (and, in manage mode,
``VGPU_DISPLAY_HEAD`` inventory) to the mdev providers of the desired
tree; :func:`mdev_traits.mapping.gpu_device_spec.device_spec_entries`
gives nova's ``[pci] device_spec`` for GPUs nova schedules with PCI in
Placement (vGPU on SR-IOV VFs, whole-GPU passthrough), whose provider
traits nova itself sets.

Nothing here does I/O.
"""

import dataclasses
import typing

from mdev_traits.mapping import floors as floors_mod
from mdev_traits.mapping import gpu_contract
from mdev_traits.mapping import gpu_description
from mdev_traits.mapping import gpu_rules
from mdev_traits.mapping import gpu_traits
from mdev_traits.mapping import tree
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
    description: typing.Optional[str] = None
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


def resolve(target, rule_set, gpu_info=None, warnings=None,
            floors=floors_mod.DEFAULT):
    """Capabilities of ``target`` and their traits (see module docstring).

    :param gpu_info: the :class:`mdev_traits.models.GpuInfo` of the
        physical GPU, if a source (NVML) reported one.
    """
    caps = {}
    extra = {}
    _apply_rules(rule_set.builtin, target, caps, extra)

    facts, problems = gpu_description.parse_description(
        target.description)
    for problem in problems:
        if warnings is not None:
            warnings.append('%s: %s; that field is ignored and nothing '
                            'is withdrawn from this GPU this cycle' % (
                                target.description_source or target.address,
                                problem))
    for key, value in sorted(facts.items()):
        caps[key] = (value, target.description_source or 'description')
    if ('framebuffer_mb' not in facts and target.vendor == NVIDIA_VENDOR
            and target.kind != gpu_rules.KIND_PASSTHROUGH):
        size = gpu_description.type_name_framebuffer_mb(target.type_name)
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


# -- mdev providers -----------------------------------------------------------

def gpu_index(discovery):
    """{PCI address: GpuInfo}, VFs of a GPU included."""
    index = {}
    for gpu in discovery.gpus:
        if not isinstance(gpu, models.GpuInfo):
            continue
        index.setdefault(gpu.address, gpu)
        for vf in gpu.virtual_functions:
            index.setdefault(vf, gpu)
    return index


def mdev_target(parent, mdev_type, gpu_info=None):
    pci = parent.pci
    return GpuTarget(
        kind=gpu_rules.KIND_MDEV,
        address=parent.name.lower(),
        physical_address=(gpu_info.address if gpu_info is not None
                          else parent.name.lower()),
        vendor=pci.vendor if pci else None,
        device=pci.device if pci else None,
        driver=pci.driver if pci else None,
        type_id=mdev_type.type_id,
        type_name=mdev_type.name,
        description=mdev_type.description,
        description_source='sysfs class/mdev_bus/%s/mdev_supported_types/'
                           '%s/description' % (parent.name,
                                               mdev_type.type_id))


def display_head_inventory(provider, heads):
    """VGPU_DISPLAY_HEAD inventory beside the provider's VGPU one, or {}.

    Heads are fixed per vGPU type: each vGPU brings ``heads`` of them, so
    total = VGPU total x heads and max_unit = heads. A flavor asks in the
    same request group as the vGPU (``resources1:VGPU=1``,
    ``resources1:VGPU_DISPLAY_HEAD=4``) to land on a type with at least 4
    heads per vGPU.
    """
    vgpu = provider.inventories.get(gpu_contract.VGPU_RESOURCE_CLASS)
    if not vgpu or not heads or heads < 1:
        return {}
    total = vgpu['total'] * heads
    return {gpu_contract.DISPLAY_HEAD_RESOURCE_CLASS: {
        'total': total,
        'reserved': 0,
        'min_unit': 1,
        'max_unit': heads,
        'step_size': 1,
        'allocation_ratio': 1.0,
    }}


def make_enricher(rule_set, manage=False, display_heads_inventory=True,
                  floors=floors_mod.DEFAULT):
    """An enricher for :func:`mdev_traits.mapping.tree.build_tree`.

    Adds the GPU capability traits of the enabled type to each mdev
    provider and, when ``manage`` and ``display_heads_inventory``,
    ``VGPU_DISPLAY_HEAD`` inventory to providers with ``VGPU`` inventory.

    Evidence before withdrawal: the enriched providers are marked partial
    for the cycle (traits are added, never removed) when GPU discovery
    (NVML, ...) failed, when a profile or rule file could not be loaded
    (``rule_set.errors``: the traits it gave are unknown, not gone), and,
    one provider at a time, when resolving its capabilities raised.
    """
    def enrich(providers, discovery, warnings):
        warnings.extend(rule_set.errors)
        parents = {p.name: p for p in discovery.mdev_parents}
        gpus = gpu_index(discovery)
        gpu_complete = discovery.kind_complete(models.KIND_GPU)
        rules_complete = not rule_set.errors
        result = []
        held = 0
        held_rules = 0
        for provider in providers:
            parent = parents.get(provider.parent_device)
            if (provider.kind != models.KIND_MDEV or parent is None
                    or provider.mdev_type is None):
                result.append(provider)
                continue
            mdev_type = parent.get_type(provider.mdev_type)
            if mdev_type is None:
                result.append(provider)
                continue
            try:
                enriched = _enrich_one(provider, parent, mdev_type, gpus,
                                       rule_set, warnings, manage and
                                       display_heads_inventory, floors)
            except Exception as exc:  # noqa: B902 - one parent must not
                # stop the others: keep what the mdev mapping gave, add-only
                warnings.append(tree.mapping_failed(provider.name, exc))
                result.append(dataclasses.replace(provider, partial=True))
                continue
            # a description field that is not understood (num_heads=²)
            # costs that field's traits to add, never a withdrawal
            partial = (provider.partial
                       or bool(gpu_description.parse_description(
                           mdev_type.description)[1]))
            if not gpu_complete and parent.is_pci and not partial:
                partial = True
                held += 1
            if not rules_complete and not partial:
                partial = True
                held_rules += 1
            result.append(dataclasses.replace(enriched, partial=partial))
        if held:
            warnings.append('GPU capability discovery incomplete: %d '
                            'provider(s) only get traits added this cycle, '
                            'none removed' % held)
        if held_rules:
            warnings.append('GPU profile or rule file(s) not loaded: %d '
                            'provider(s) only get traits added until they '
                            'load again, none removed' % held_rules)
        return result
    return enrich


def _enrich_one(provider, parent, mdev_type, gpus, rule_set, warnings,
                head_inventory, floors=floors_mod.DEFAULT):
    """``provider`` with the capability traits of its enabled type."""
    gpu_info = gpus.get(parent.name.lower())
    target = mdev_target(parent, mdev_type, gpu_info)
    resolved = resolve(target, rule_set, gpu_info, warnings, floors)
    traits = {t: tuple(s) for t, s in provider.traits.items()}
    for trait, sources in resolved.traits.items():
        merged = list(traits.get(trait, ()))
        merged.extend(s for s in sources if s not in merged)
        traits[trait] = tuple(merged)
    inventories = dict(provider.inventories)
    if head_inventory and (provider.resource_class ==
                           gpu_contract.VGPU_RESOURCE_CLASS):
        inventories.update(display_head_inventory(
            provider, resolved.value('display_heads')))
    return dataclasses.replace(provider, traits=dict(sorted(traits.items())),
                               inventories=inventories)
