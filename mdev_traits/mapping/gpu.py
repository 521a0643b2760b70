"""GPU capabilities as standard traits (pure).

For each GPU slice a guest can get, capabilities are resolved from four
sources, later ones overriding earlier ones:

1. the shipped vendor profiles (``mdev_traits/profiles/*.yaml``: CUDA
   compute capability by PCI device id, APIs by vGPU series, ...);
2. what the hardware says: the mdev type's ``description`` in sysfs
   (heads, maximum resolution, framebuffer) and the vGPU type name;
3. NVML (the physical GPU's CUDA compute capability and memory);
4. the operator's rules (``[profiles] directory``).

and then turned into traits (:mod:`mdev_traits.mapping.gpu_contract`),
each with the source it came from so that ``--dry-run`` explains why a GPU
does or does not match a flavor.

Two consumers: :func:`make_enricher` adds the traits (and, in manage mode,
``VGPU_DISPLAY_HEAD`` inventory) to the mdev providers of the desired
tree; :func:`device_spec_entries` gives nova's ``[pci] device_spec`` for
GPUs nova schedules with PCI in Placement (vGPU on SR-IOV VFs, whole-GPU
passthrough), whose provider traits nova itself sets.

Nothing here does I/O.
"""

import dataclasses
import re
import typing

from mdev_traits.mapping import collect
from mdev_traits.mapping import floors as floors_mod
from mdev_traits.mapping import gpu_contract
from mdev_traits.mapping import gpu_rules
from mdev_traits.mapping import names
from mdev_traits.mapping import tree
from mdev_traits import models

NVIDIA_VENDOR = '10de'

# Numbers in what the hardware says are ASCII digits, and short: ``\d``
# alone would also match other scripts' digits, and int() refuses more
# than sys.int_max_str_digits of them (a ValueError that once stopped the
# whole host from being published).
_NUMBER = r'([0-9]{1,18})'
_SIZE_RE = re.compile(r'^' + _NUMBER + r'\s*(?:([KMGT])(?:I?B)?|B)?$',
                      re.IGNORECASE | re.ASCII)
_RESOLUTION_RE = re.compile(r'^' + _NUMBER + r'\s*[xX]\s*' + _NUMBER + '$',
                            re.ASCII)
_COUNT_RE = re.compile(r'^' + _NUMBER + '$', re.ASCII)
_ITEM_SPLIT_RE = re.compile(r'[,\n]')
# NVIDIA vGPU type names end in -<framebuffer GB><series letter>[variant]:
# "GRID T4-2Q", "NVIDIA A40-2B4", "NVIDIA H200X-1-18C" (MIG-backed:
# -<compute slices>-<GB><series>).
_NVIDIA_TYPE_NAME_RE = re.compile(r'-([0-9]{1,6})([A-Z])[0-9]*$', re.ASCII)

_SIZE_FACTOR_MB = {None: 1, 'K': 1.0 / 1024, 'M': 1, 'G': 1024,
                   'T': 1024 * 1024}


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


# -- parsing what the hardware says ------------------------------------------

def _size_mb(text):
    match = _SIZE_RE.match(text.strip())
    if not match:
        return None
    value = int(match.group(1)) * _SIZE_FACTOR_MB[
        match.group(2).upper() if match.group(2) else None]
    return int(value)


def _resolution(text):
    match = _RESOLUTION_RE.match(text.strip())
    if not match:
        return None
    return int(match.group(1)), int(match.group(2))


def parse_description(text):
    """Facts in an mdev type's ``description``.

    NVIDIA vGPU types: ``num_heads=4, frl_config=60, framebuffer=2048M,
    max_resolution=5120x2880, max_instance=8``. Intel GVT-g types:
    ``low_gm_size: 128MB\\nhigh_gm_size: 512MB\\nfence: 4\\nresolution:
    1920x1200\\nweight: 4`` (the guest's graphics memory is low + high).

    :returns: ({capability: value}, [problems]) with capabilities among
        ``display_heads``, ``max_resolution`` ("WxH") and
        ``framebuffer_mb``.
    """
    facts = {}
    problems = []
    if not text:
        return facts, problems
    items = {}
    for item in _ITEM_SPLIT_RE.split(text):
        key, sep, value = item.partition('=')
        if not sep:
            key, sep, value = item.partition(':')
        if sep and key.strip():
            items[key.strip().lower()] = value.strip()

    def bad(key):
        problems.append('%s=%r is not understood' % (key, items[key]))

    if 'num_heads' in items:
        # str.isdigit() is True for "²", which int() refuses
        if _COUNT_RE.match(items['num_heads']):
            facts['display_heads'] = int(items['num_heads'])
        else:
            bad('num_heads')
    for key in ('max_resolution', 'resolution'):
        if key in items:
            res = _resolution(items[key])
            if res is None:
                bad(key)
            else:
                facts['max_resolution'] = '%dx%d' % res
            break
    if 'framebuffer' in items:
        size = _size_mb(items['framebuffer'])
        if size is None:
            bad('framebuffer')
        else:
            facts['framebuffer_mb'] = size
    elif 'low_gm_size' in items or 'high_gm_size' in items:
        total = 0
        for key in ('low_gm_size', 'high_gm_size'):
            if key in items:
                size = _size_mb(items[key])
                if size is None:
                    bad(key)
                    total = None
                    break
                total += size
        if total:
            facts['framebuffer_mb'] = total
    return facts, problems


def type_name_framebuffer_mb(type_name):
    """Framebuffer in MiB from an NVIDIA vGPU type name, or None."""
    if not type_name:
        return None
    match = _NVIDIA_TYPE_NAME_RE.search(type_name.strip())
    if not match or int(match.group(1)) == 0:
        return None
    return int(match.group(1)) * 1024


def _cc_tuple(text):
    major, minor = text.split('.')
    return int(major), int(minor)


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

    facts, problems = parse_description(target.description)
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
        size = type_name_framebuffer_mb(target.type_name)
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
    traits = capability_traits(caps, floors)
    for trait, sources in extra.items():
        traits.setdefault(trait, [])
        traits[trait].extend(s for s in sources if s not in traits[trait])
    return Resolved(capabilities=caps,
                    traits={t: tuple(s) for t, s in sorted(traits.items())})


# -- capabilities -> traits --------------------------------------------------

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
    width, height = _resolution(resolution)
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


# -- mdev providers -----------------------------------------------------------

def _gpu_index(discovery):
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
        gpus = _gpu_index(discovery)
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
                       or bool(parse_description(mdev_type.description)[1]))
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


# -- PCI devices for nova's [pci] device_spec ---------------------------------

@dataclasses.dataclass(frozen=True)
class DeviceSpecEntry:
    """What nova's ``[pci] device_spec`` needs for one PCI GPU function.

    ``spec`` is None for a device that cannot be offered now (a VF without
    a vGPU type); ``note`` says what it is or why it is left out.
    """

    address: str
    note: str
    spec: typing.Optional[typing.Dict[str, str]] = None
    traits: typing.Dict[str, typing.Tuple[str, ...]] = dataclasses.field(
        default_factory=dict)


def pci_gpu_target(gpu, gpu_info=None):
    """GpuTarget of a :class:`mdev_traits.models.PciGpu`, or None for a
    VF without a vGPU type."""
    pci = gpu.pci
    physical = gpu.physfn or pci.address
    if gpu_info is not None:
        physical = gpu_info.address
    if gpu.mode == models.GPU_MODE_VGPU_VF:
        if gpu.current_vgpu_type is None:
            return None
        type_id, type_name = gpu.current_vgpu_type
        return GpuTarget(kind=gpu_rules.KIND_VGPU_VF, address=pci.address,
                         physical_address=physical, vendor=pci.vendor,
                         device=pci.device, driver=pci.driver,
                         type_id=str(type_id), type_name=type_name)
    return GpuTarget(kind=gpu_rules.KIND_PASSTHROUGH, address=pci.address,
                     physical_address=physical, vendor=pci.vendor,
                     device=pci.device, driver=pci.driver)


def vgpu_resource_class(type_id, type_name):
    """Resource class for VFs carrying one vGPU type (nova normalises it
    the same way): ``NVIDIA H200X-1-18C`` -> ``CUSTOM_NVIDIA_H200X_1_18C``.
    """
    return names.custom_trait(type_name or 'NVIDIA_VGPU_%s' % type_id)


def device_spec_entries(discovery, rule_set, warnings=None,
                        floors=floors_mod.DEFAULT):
    """One :class:`DeviceSpecEntry` per vGPU VF and passthrough GPU."""
    warnings = [] if warnings is None else warnings
    gpus = _gpu_index(discovery)
    entries = []
    for gpu in sorted((g for g in discovery.gpus
                       if isinstance(g, models.PciGpu)),
                      key=lambda g: g.address):
        pci = gpu.pci
        gpu_info = gpus.get(pci.address) or gpus.get(gpu.physfn or '')
        target = pci_gpu_target(gpu, gpu_info)
        if target is None:
            entries.append(DeviceSpecEntry(
                address=pci.address,
                note='SR-IOV VF of %s without a vGPU type '
                     '(nvidia/current_vgpu_type is 0): left out' % (
                         gpu.physfn or 'an unknown GPU')))
            continue
        resolved = resolve(target, rule_set, gpu_info, warnings, floors)
        spec = {}
        if pci.vendor:
            spec['vendor_id'] = pci.vendor
        if pci.device:
            spec['product_id'] = pci.device
        spec['address'] = pci.address
        if gpu.mode == models.GPU_MODE_VGPU_VF:
            type_id, type_name = gpu.current_vgpu_type
            spec['resource_class'] = vgpu_resource_class(type_id, type_name)
            # the vGPU manager owns the VF: libvirt must not detach it
            spec['managed'] = 'no'
            note = 'SR-IOV VF of %s, vGPU type %s %r' % (
                gpu.physfn or 'an unknown GPU', type_id, type_name)
        else:
            spec['resource_class'] = gpu_contract.PASSTHROUGH_RESOURCE_CLASS
            note = 'whole GPU bound to %s' % (pci.driver or 'no driver')
        traits, invalid, over = collect.cap_traits(resolved.traits)
        if invalid or over:
            warnings.append('%s: %d trait(s) left out of its device_spec '
                            '(at most %d valid names)' % (
                                pci.address, len(invalid) + over,
                                collect.MAX_TRAITS_PER_PROVIDER))
        if traits:
            spec['traits'] = ','.join(sorted(traits))
        entries.append(DeviceSpecEntry(address=pci.address, note=note,
                                       spec=spec, traits=traits))
    return entries
