"""What a host should publish, as plain data (pure): one
:class:`DesiredProvider` per device and the :class:`DesiredTree` that holds
them, which the reconciler compares with what Placement holds.

Each kind of hardware (:mod:`mdev_traits.mapping.kinds`) makes its
providers from these; :func:`mdev_traits.mapping.tree.build_tree`
assembles the tree. Nothing here imports a kind or the assembly, so that
both import this module and not each other.
"""

import dataclasses
import typing

from mdev_traits.mapping import collect
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


def mapping_failed(provider_name, exc):
    """The warning for a provider whose mapping raised: it is kept with
    what is known, add-only, for this cycle."""
    return ('mapping %s failed (%s: %s): its traits are added, none '
            'removed, this cycle' % (provider_name, type(exc).__name__, exc))


def cap_provider(provider, warnings):
    """``provider`` with at most :data:`collect.MAX_TRAITS_PER_PROVIDER`
    valid traits (:func:`collect.cap_traits`), with one warning naming it
    when something was left out."""
    kept, invalid, over = collect.cap_traits(provider.traits)
    if invalid:
        warnings.append('provider %s: %d invalid trait name(s) left out: %s'
                        % (provider.name, len(invalid),
                           ', '.join(names.shorten(t, 80)
                                     for t in invalid[:3])))
    if over:
        warnings.append('provider %s: %d traits, more than %d: %d left out '
                        '(each source in turn keeps its first ones in name '
                        'order)' % (provider.name, len(kept) + over,
                                    collect.MAX_TRAITS_PER_PROVIDER, over))
    if not invalid and not over:
        return provider
    return dataclasses.replace(provider, traits=kept)
