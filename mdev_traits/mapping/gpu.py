"""The mdev kind's GPU capability enricher (pure).

:func:`make_enricher` adds to each mdev provider the GPU capability traits
of its enabled type, as :func:`mdev_traits.mapping.gpu_resolve.resolve`
finds them (profiles, what the type's description says, NVML, operator
rules) and, in manage mode, ``VGPU_DISPLAY_HEAD`` inventory. It is one of
the enrichers of the mdev kind (:func:`mdev_traits.mapping.mdev.kind`).

Nothing here does I/O.
"""

import dataclasses

from mdev_traits.mapping import desired
from mdev_traits.mapping import floors as floors_mod
from mdev_traits.mapping import gpu_contract
from mdev_traits.mapping import gpu_resolve
from mdev_traits.mapping import gpu_rules
from mdev_traits import models


def mdev_target(parent, mdev_type, gpu_info=None):
    pci = parent.pci
    return gpu_resolve.GpuTarget(
        kind=gpu_rules.KIND_MDEV,
        address=parent.name.lower(),
        physical_address=(gpu_info.address if gpu_info is not None
                          else parent.name.lower()),
        vendor=pci.vendor if pci else None,
        device=pci.device if pci else None,
        driver=pci.driver if pci else None,
        type_id=mdev_type.type_id,
        type_name=mdev_type.name,
        description=mdev_type.description_fields,
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
    """An enricher of the mdev kind (:func:`mdev_traits.mapping.mdev.kind`,
    :class:`mdev_traits.mapping.kinds.HardwareKind`).

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
        gpus = gpu_resolve.gpu_index(discovery)
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
                warnings.append(desired.mapping_failed(provider.name,
                                                       exc))
                result.append(dataclasses.replace(provider, partial=True))
                continue
            # a description field that is not understood (num_heads=²)
            # costs that field's traits to add, never a withdrawal
            partial = (provider.partial
                       or bool(mdev_type.description_fields.problems))
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
    resolved = gpu_resolve.resolve(target, rule_set, gpu_info, warnings,
                                   floors)
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
