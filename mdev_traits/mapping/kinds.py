"""Kinds of hardware, as peers (pure).

Each kind of hardware the exporter describes plugs into
:func:`mdev_traits.mapping.tree.build_tree` the same way, as a
:class:`HardwareKind`:

* a provider factory, ``providers(discovery, root_name, warnings,
  known_traits) -> [DesiredProvider]``: one provider per device of that
  kind (:func:`mdev_traits.mapping.mdev.kind`: mdev parents;
  :func:`mdev_traits.mapping.vdpa.kind`: vDPA devices);
* where needed, enrichers, ``enrich(providers, discovery, warnings) ->
  providers``, that add what other sources say to the kind's own providers
  (the mdev kind: GPU capability traits from profiles, NVML and operator
  rules, :func:`mdev_traits.mapping.gpu.make_enricher`; then the trait
  budget, :func:`mdev_traits.mapping.budget.make_limiter`);
* for a kind whose providers nova makes itself, no factory but the
  entries of nova's ``[pci] device_spec`` that carry its traits
  (:func:`mdev_traits.mapping.gpu_device_spec.kind`: vGPU VFs and
  whole GPUs bound to vfio-pci).

``known_traits`` are the version bucket traits that exist in Placement
(:mod:`mdev_traits.mapping.versions`), for a kind that publishes buckets;
``warnings`` is the list a factory or enricher appends its warnings to.
"""

import dataclasses
import typing

# (discovery, root_name, warnings, known_traits) -> [DesiredProvider]
ProviderFactory = typing.Callable[
    [typing.Any, str, typing.List[str], typing.FrozenSet[str]],
    typing.List[typing.Any]]
# (providers, discovery, warnings) -> providers
Enricher = typing.Callable[
    [typing.List[typing.Any], typing.Any, typing.List[str]],
    typing.Iterable[typing.Any]]
# (discovery, warnings) -> [DeviceSpecEntry]
DeviceSpecFactory = typing.Callable[
    [typing.Any, typing.List[str]], typing.List[typing.Any]]


@dataclasses.dataclass(frozen=True)
class HardwareKind:
    """One kind of hardware and how it is mapped.

    ``name`` is the kind's :data:`mdev_traits.models.KIND_* <mdev_traits.
    models.KIND_MDEV>` (the kind its discovery source reports incomplete
    when it fails). ``providers`` is None for a kind that gives no provider
    (nova owns them); ``enrichers`` run, in order, over the kind's own
    providers once every kind has made its providers; ``device_spec``
    gives the ``[pci] device_spec`` entries of a kind whose providers nova
    makes from them (``mdev-traits-exporter device-spec``).
    """

    name: str
    providers: typing.Optional[ProviderFactory] = None
    enrichers: typing.Tuple[Enricher, ...] = ()
    device_spec: typing.Optional[DeviceSpecFactory] = None
