"""The provider tree as Placement holds it and the operations a
:class:`Plan` is made of (plain data; planned by
:mod:`mdev_traits.placement.plan`, carried out by
:mod:`mdev_traits.placement.executor`)."""

import dataclasses
import typing

from mdev_traits.placement import record as record_mod


OWNER_NOVA = 'OWNER_NOVA'
# The inventory fields the exporter sets and compares.
INVENTORY_FIELDS = ('total', 'reserved', 'min_unit', 'max_unit',
                    'step_size', 'allocation_ratio')


@dataclasses.dataclass
class ProviderState:
    """One provider as Placement holds it."""

    uuid: str
    name: str
    generation: int
    parent_uuid: typing.Optional[str] = None
    traits: typing.FrozenSet[str] = frozenset()
    inventories: typing.Dict[str, dict] = dataclasses.field(
        default_factory=dict)


@dataclasses.dataclass
class TreeSnapshot:
    root: ProviderState
    # name -> provider, for the providers under the root named
    # "<root>_..." (the per-device ones), with traits and inventories.
    providers: typing.Dict[str, ProviderState]


# ---- operations -----------------------------------------------------------

@dataclasses.dataclass
class CreateProvider:
    name: str
    uuid: str
    parent_uuid: typing.Optional[str]

    def describe(self):
        return 'POST /resource_providers name=%s uuid=%s parent=%s' % (
            self.name, self.uuid, self.parent_uuid)


@dataclasses.dataclass
class RenameProvider:
    """Give a provider the exporter created its device's current name
    (:mod:`mdev_traits.placement.renames`)."""
    name: str
    uuid: str
    old_name: str
    parent_uuid: typing.Optional[str]

    def describe(self):
        return 'PUT /resource_providers/%s name=%s (was %s)' % (
            self.uuid, self.name, self.old_name)


@dataclasses.dataclass
class EnsureTraits:
    traits: typing.Tuple[str, ...]

    def describe(self):
        return 'PUT /traits/{%s}' % ','.join(self.traits)


@dataclasses.dataclass
class SetTraits:
    name: str
    uuid: str
    generation: typing.Optional[int]
    traits: typing.Tuple[str, ...]
    added: typing.Tuple[str, ...]
    removed: typing.Tuple[str, ...]

    def describe(self):
        return ('PUT /resource_providers/%s/traits (%s) gen=%s add=%s '
                'remove=%s' % (self.uuid, self.name, self.generation,
                               list(self.added), list(self.removed)))


@dataclasses.dataclass
class SetInventories:
    name: str
    uuid: str
    generation: typing.Optional[int]
    inventories: typing.Dict[str, dict]
    changed: typing.Tuple[str, ...]
    # resource classes whose capacity goes down or that go away: the
    # executor checks their usage first and reserves what is in use
    # instead of taking it away
    shrinks: typing.Tuple[str, ...] = ()
    # {rc: the operator's share of reserved} for the resource classes the
    # op removes (for those it sets, it is their planned "reserved"): the
    # executor records it when it reserves inventory in use instead
    operator_reserved: typing.Dict[str, int] = dataclasses.field(
        default_factory=dict)

    def describe(self):
        return ('PUT /resource_providers/%s/inventories (%s) gen=%s '
                'changed=%s' % (self.uuid, self.name, self.generation,
                                list(self.changed)))


@dataclasses.dataclass
class DeleteProvider:
    name: str
    uuid: str
    # resource classes to reserve entirely when the provider still has
    # allocations (Placement refuses to delete it)
    reserve_rcs: typing.Tuple[str, ...] = ()
    # the provider's generation when planned
    generation: typing.Optional[int] = None
    # {rc: the operator's share of reserved} (kept in the record when the
    # executor reserves the whole inventory instead of deleting)
    operator_reserved: typing.Dict[str, int] = dataclasses.field(
        default_factory=dict)

    def describe(self):
        return 'DELETE /resource_providers/%s (%s)' % (self.uuid, self.name)


@dataclasses.dataclass
class Plan:
    ops: typing.List[object] = dataclasses.field(default_factory=list)
    notes: typing.List[str] = dataclasses.field(default_factory=list)
    # ownership once every op succeeded
    ownership: record_mod.Ownership = dataclasses.field(
        default_factory=record_mod.Ownership)
    # "name (uuid)" -> one line, per provider the exporter must not write
    # (another exporter's, see mdev_traits.placement.plan)
    conflicts: typing.Dict[str, str] = dataclasses.field(
        default_factory=dict)
    # what the plan withdraws: {provider: traits removed}, providers
    # deleted, and how much the exporter owned before (for the
    # withdrawal guard)
    withdrawn_traits: typing.Dict[str, typing.FrozenSet[str]] = (
        dataclasses.field(default_factory=dict))
    withdrawn_providers: typing.Set[str] = dataclasses.field(
        default_factory=set)
    owned_traits_before: int = 0
    owned_providers_before: int = 0

    @property
    def writes(self):
        return len(self.ops)

    def describe(self):
        return [op.describe() for op in self.ops]


# ---- the executor's own reservations ------------------------------------

def capacity(record):
    """What can be allocated from an inventory record (as Placement
    computes it: (total - reserved) * allocation_ratio)."""
    if not record:
        return 0
    return ((record.get('total', 0) - record.get('reserved', 0))
            * record.get('allocation_ratio', 1.0))


def reservations_of(op, inventories):
    """{rc: (operator's reserved, reserved written)} for the resource
    classes where ``inventories`` (what is PUT) reserves more than
    ``op`` planned: the exporter's own reservations."""
    if inventories is op.inventories:
        return {}
    ours = {}
    for rc, rec in inventories.items():
        planned = op.inventories.get(rc)
        written = rec.get('reserved', 0)
        if planned is not None:
            if written == planned.get('reserved', 0):
                continue
            operator = planned.get('reserved', 0)
        else:
            operator = op.operator_reserved.get(rc, 0)
        ours[rc] = (operator, written)
    return ours


class NoRecorder(object):
    """A recorder (see Executor.run) that records nothing."""

    def reserving(self, name, reservations):
        pass

    def reserved(self, name, reservations):
        pass

    def defined(self, traits):
        pass
