"""The desired provider tree of a host (pure), assembled from the mapping
of each kind of hardware (:mod:`mdev_traits.mapping.mdev`, ...).

Nothing here does I/O: the input is :class:`mdev_traits.models.DiscoveryResult`
plus configuration as plain data, the output is a :class:`DesiredTree` that
the reconciler compares with what Placement holds.
"""

import dataclasses
import typing

from mdev_traits.mapping import names
from mdev_traits import models


@dataclasses.dataclass(frozen=True)
class DesiredProvider:
    name: str
    uuid: str
    parent_device: str
    mdev_type: typing.Optional[str]
    resource_class: typing.Optional[str]
    # {resource_class: {total, reserved, min_unit, max_unit, step_size,
    #  allocation_ratio}}; empty when the parent offers nothing.
    inventories: typing.Dict[str, dict]
    # trait -> where it came from (for --dry-run)
    traits: typing.Dict[str, typing.Tuple[str, ...]]
    # the parent could not be read completely: add, never remove
    partial: bool = False
    # models.KIND_*: which discovery source it comes from
    kind: str = models.KIND_MDEV
    # what could not be read and what it leaves out (``--dry-run``)
    notes: typing.Tuple[str, ...] = ()

    @property
    def trait_names(self):
        return frozenset(self.traits)

    def to_dict(self):
        return {
            'name': self.name,
            'uuid': self.uuid,
            'parent_device': self.parent_device,
            'mdev_type': self.mdev_type,
            'resource_class': self.resource_class,
            'inventories': self.inventories,
            'traits': sorted(self.traits),
            'trait_sources': {t: list(s) for t, s in
                              sorted(self.traits.items())},
            'partial': self.partial,
            'kind': self.kind,
            'notes': list(self.notes),
        }


@dataclasses.dataclass(frozen=True)
class DesiredTree:
    root_name: str
    providers: typing.Tuple[DesiredProvider, ...]
    # False when discovery failed as a whole: nothing may be removed
    complete: bool = True
    warnings: typing.Tuple[str, ...] = ()
    # kinds whose discovery failed: their providers are never removed
    incomplete: typing.FrozenSet[str] = frozenset()

    def kind_complete(self, kind):
        if kind in self.incomplete:
            return False
        return self.complete or bool(self.incomplete)

    def provider_complete(self, provider_name):
        """Whether discovery of the kind of ``provider_name`` succeeded."""
        return self.kind_complete(
            names.provider_kind(self.root_name, provider_name))

    def by_name(self):
        return {p.name: p for p in self.providers}

    def to_dict(self):
        return {
            'root_provider': {'name': self.root_name},
            'complete': self.complete,
            'incomplete': sorted(self.incomplete),
            'warnings': list(self.warnings),
            'providers': [p.to_dict() for p in self.providers],
        }


def build_tree(discovery, mdev_config, root_name, enrichers=(),
               extra_providers=()):
    """The desired provider tree for one host (pure).

    ``extra_providers`` are callables ``(discovery, root_name, warnings) ->
    [DesiredProvider]`` for other kinds of hardware; ``enrichers`` are
    callables ``(providers, discovery, warnings) -> providers`` that add
    capability traits (GPU profiles, operator rules).
    """
    from mdev_traits.mapping import mdev as mdev_mapping

    warnings = list(discovery.errors)
    providers = mdev_mapping.mdev_providers(discovery, mdev_config,
                                            root_name, warnings)
    for extra in extra_providers:
        providers.extend(extra(discovery, root_name, warnings))
    for enrich in enrichers:
        providers = list(enrich(providers, discovery, warnings))
    providers.sort(key=lambda p: p.name)
    return DesiredTree(root_name=root_name, providers=tuple(providers),
                       complete=discovery.complete,
                       incomplete=frozenset(discovery.incomplete),
                       warnings=tuple(warnings))
