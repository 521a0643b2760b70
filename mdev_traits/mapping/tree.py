"""The desired provider tree of a host (pure), assembled from the mapping
of each kind of hardware (:mod:`mdev_traits.mapping.mdev`, ...).

Nothing here does I/O: the input is :class:`mdev_traits.models.DiscoveryResult`
plus configuration as plain data, the output is a :class:`DesiredTree` that
the reconciler compares with what Placement holds.
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


def build_tree(discovery, mdev_config, root_name, enrichers=(),
               extra_providers=(), known_traits=frozenset()):
    """The desired provider tree for one host (pure).

    ``extra_providers`` are callables ``(discovery, root_name, warnings) ->
    [DesiredProvider]`` for other kinds of hardware; ``enrichers`` are
    callables ``(providers, discovery, warnings) -> providers`` that add
    capability traits (GPU profiles, operator rules). ``known_traits``
    are the driver version bucket traits that exist in Placement
    (:mod:`mdev_traits.mapping.versions`), as read by
    :mod:`mdev_traits.placement.catalog`.

    Evidence before withdrawal: a factory or enricher that raises costs
    what it would have given, never a withdrawal (the tree becomes
    incomplete, or the providers partial); when discovery is not trusted
    (the root does not look like sysfs) every provider is partial. Every
    provider gets at most :data:`collect.MAX_TRAITS_PER_PROVIDER` valid
    traits (:func:`cap_provider`).
    """
    from mdev_traits.mapping import mdev as mdev_mapping

    warnings = list(discovery.errors)
    complete = discovery.complete
    incomplete = set(discovery.incomplete)
    providers = mdev_mapping.mdev_providers(discovery, mdev_config,
                                            root_name, warnings,
                                            known_traits)
    for extra in extra_providers:
        try:
            providers.extend(extra(discovery, root_name, warnings))
        except Exception as exc:  # noqa: B902 - the other kinds still
            # publish; theirs is unknown, so nothing vanished is removed
            warnings.append(mapping_failed(
                getattr(extra, '__name__', 'providers'), exc))
            complete = False
            incomplete.update(models.ALL_KINDS)
    add_only = not discovery.trusted
    for enrich in enrichers:
        try:
            providers = list(enrich(providers, discovery, warnings))
        except Exception as exc:  # noqa: B902 - keep the providers
            # without that source's traits, add-only
            warnings.append(mapping_failed(
                getattr(enrich, '__name__', 'capabilities'), exc))
            add_only = True
    if add_only:
        providers = [p if p.partial else dataclasses.replace(p, partial=True)
                     for p in providers]
    providers = [cap_provider(p, warnings) for p in providers]
    providers.sort(key=lambda p: p.name)
    return DesiredTree(root_name=root_name, providers=tuple(providers),
                       complete=complete,
                       incomplete=frozenset(incomplete),
                       warnings=tuple(warnings))
