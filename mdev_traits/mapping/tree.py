"""The desired provider tree of a host (pure), assembled from the kinds of
hardware it is given (:class:`mdev_traits.mapping.kinds.HardwareKind`).

Nothing here does I/O: the input is :class:`mdev_traits.models.DiscoveryResult`
plus the kinds (configured as plain data), the output is a
:class:`~mdev_traits.mapping.desired.DesiredTree` that the reconciler
compares with what Placement holds.
"""

import dataclasses

from mdev_traits.mapping import desired
from mdev_traits import models


def _name(function, default):
    return getattr(function, '__name__', default)


def build_tree(discovery, root_name, kinds=(), known_traits=frozenset()):
    """The desired provider tree for one host (pure).

    ``kinds`` are :class:`~mdev_traits.mapping.kinds.HardwareKind` objects,
    all treated alike: first each kind's factory makes its providers (in
    the order of ``kinds``), then each kind's enrichers run over that
    kind's providers. A kind without a factory gives no provider.
    ``known_traits`` are the driver version bucket traits that exist in
    Placement (:mod:`mdev_traits.mapping.versions`), as read by
    :mod:`mdev_traits.placement.catalog`, handed to every factory.

    Evidence before withdrawal: a factory or enricher that raises costs
    what it would have given, never a withdrawal. A factory that raises
    leaves the tree incomplete for every kind (the reconciler tells a
    provider's kind by its name, :func:`mdev_traits.mapping.names.
    provider_kind`, and a broken factory's names are unknown); an enricher
    that raises makes every provider partial (traits are added, none
    removed). When discovery is not trusted (the root does not look like
    sysfs) every provider is partial. Every provider gets at most
    :data:`mdev_traits.mapping.collect.MAX_TRAITS_PER_PROVIDER` valid
    traits (:func:`~mdev_traits.mapping.desired.cap_provider`).
    """
    warnings = list(discovery.errors)
    complete = discovery.complete
    incomplete = set(discovery.incomplete)
    made = []
    for kind in kinds:
        providers = []
        if kind.providers is not None:
            try:
                providers = list(kind.providers(discovery, root_name,
                                                warnings, known_traits))
            except Exception as exc:  # noqa: B902 - the other kinds still
                # publish; theirs is unknown, so nothing vanished is removed
                warnings.append(desired.mapping_failed(
                    '%s providers' % kind.name, exc))
                complete = False
                incomplete.update(models.ALL_KINDS)
                incomplete.add(kind.name)
        made.append((kind, providers))
    add_only = not discovery.trusted
    enriched = []
    for kind, providers in made:
        for enrich in kind.enrichers:
            try:
                providers = list(enrich(providers, discovery, warnings))
            except Exception as exc:  # noqa: B902 - keep the providers
                # without that source's traits, add-only
                warnings.append(desired.mapping_failed(
                    _name(enrich, '%s capabilities' % kind.name), exc))
                add_only = True
        enriched.extend(providers)
    if add_only:
        enriched = [p if p.partial else dataclasses.replace(p, partial=True)
                    for p in enriched]
    enriched = [desired.cap_provider(p, warnings) for p in enriched]
    enriched.sort(key=lambda p: p.name)
    return desired.DesiredTree(root_name=root_name,
                               providers=tuple(enriched),
                               complete=complete,
                               incomplete=frozenset(incomplete),
                               warnings=tuple(warnings))
