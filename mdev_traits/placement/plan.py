"""Compute the Placement calls that bring a provider tree to the desired
state (pure: no I/O), in the spirit of neutron's ``placement_report.py``.

A :class:`Plan` can be printed (``describe()``) and tested without a
Placement; :mod:`mdev_traits.placement.executor` carries it out.
"""

import dataclasses
import typing

from mdev_traits.conf import exporter as exporter_conf
from mdev_traits.mapping import contract
from mdev_traits.mapping import names

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


@dataclasses.dataclass
class Ownership:
    """What the exporter set, per provider name."""

    traits: typing.Dict[str, typing.FrozenSet[str]] = dataclasses.field(
        default_factory=dict)
    resource_classes: typing.Dict[str, typing.FrozenSet[str]] = (
        dataclasses.field(default_factory=dict))

    def owned_traits(self, name, present):
        """Recorded traits, plus present ones in our reserved namespace
        (so a lost or stale state file never leaves our traits behind).
        """
        reserved = {t for t in present
                    if t.startswith(contract.RESERVED_PREFIXES)}
        return frozenset(self.traits.get(name, frozenset())) | reserved

    def owned_rcs(self, name):
        return frozenset(self.resource_classes.get(name, frozenset()))

    def to_dict(self):
        names_ = sorted(set(self.traits) | set(self.resource_classes))
        return {n: {'traits': sorted(self.traits.get(n, ())),
                    'resource_classes': sorted(
                        self.resource_classes.get(n, ()))}
                for n in names_}

    @classmethod
    def from_dict(cls, data):
        own = cls()
        for name, entry in (data or {}).items():
            own.traits[name] = frozenset(entry.get('traits', ()))
            own.resource_classes[name] = frozenset(
                entry.get('resource_classes', ()))
        return own


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

    def describe(self):
        return 'DELETE /resource_providers/%s (%s)' % (self.uuid, self.name)


@dataclasses.dataclass
class Plan:
    ops: typing.List[object] = dataclasses.field(default_factory=list)
    notes: typing.List[str] = dataclasses.field(default_factory=list)
    # ownership once every op succeeded
    ownership: Ownership = dataclasses.field(default_factory=Ownership)

    @property
    def writes(self):
        return len(self.ops)

    def describe(self):
        return [op.describe() for op in self.ops]


# ---- planning -------------------------------------------------------------

def _inv_view(record):
    return {f: record.get(f) for f in INVENTORY_FIELDS}


def _same_inventory(a, b):
    return _inv_view(a) == _inv_view(b)


def capacity(record):
    """What can be allocated from an inventory record (as Placement
    computes it: (total - reserved) * allocation_ratio)."""
    if not record:
        return 0
    return ((record.get('total', 0) - record.get('reserved', 0))
            * record.get('allocation_ratio', 1.0))


def shrinking(current, new):
    """Resource classes of ``current`` whose capacity drops in ``new``."""
    return tuple(sorted(rc for rc, rec in current.items()
                        if capacity(new.get(rc)) < capacity(rec)))


def plan_traits(desired, state, ownership):
    """(new trait set, added, removed, owned after) for one provider."""
    present = frozenset(state.traits)
    want = frozenset(desired.trait_names) if desired else frozenset()
    owned = ownership.owned_traits(state.name, present)
    if desired is not None and desired.partial:
        removable = frozenset()
    else:
        removable = (owned & present) - want
    new = (present - removable) | want
    added = tuple(sorted(new - present))
    removed = tuple(sorted(present - new))
    # we own what we keep of what we owned, plus what we add now
    owned_after = ((owned & new) | (want - present))
    return new, added, removed, owned_after


def plan_inventories(desired, state, ownership):
    """(new inventories or None when unchanged, changed rcs, owned rcs)."""
    current = {rc: dict(rec) for rc, rec in state.inventories.items()}
    want = dict(desired.inventories) if desired else {}
    owned = ownership.owned_rcs(state.name)
    new = dict(current)
    if not (desired is not None and desired.partial):
        for rc in owned - set(want):
            new.pop(rc, None)
    for rc, rec in want.items():
        merged = dict(current.get(rc, {}))
        merged.update(rec)
        new[rc] = merged
    changed = tuple(sorted(
        rc for rc in set(new) | set(current)
        if rc not in new or rc not in current
        or not _same_inventory(new[rc], current[rc])))
    owned_after = frozenset(want) | (owned & set(new))
    if not changed:
        return None, (), owned_after
    return new, changed, owned_after


def plan_existing(desired, state, ownership, manage):
    """Operations for one provider that exists and has a desired entry.

    Returns (ops, owned traits, owned resource classes, notes).
    """
    ops = []
    notes = []
    new_traits, added, removed, owned_t = plan_traits(
        desired, state, ownership)
    owned_rc = frozenset()
    if added or removed:
        ops.append(SetTraits(state.name, state.uuid, state.generation,
                             tuple(sorted(new_traits)), added, removed))
    if manage:
        if OWNER_NOVA in state.traits:
            owned_rc = ownership.owned_rcs(state.name)
            if desired.inventories:
                notes.append('provider %s is owned by nova (OWNER_NOVA): '
                             'its inventory is left to nova-compute' %
                             state.name)
        else:
            new_inv, changed, owned_rc = plan_inventories(
                desired, state, ownership)
            if new_inv is not None:
                ops.append(SetInventories(
                    state.name, state.uuid, state.generation, new_inv,
                    changed, shrinking(state.inventories, new_inv)))
    return ops, owned_t, owned_rc, notes


def plan_vanished(state, ownership, manage, complete):
    # complete: whether discovery of this provider's kind succeeded
    """Operations for a provider of ours whose device is gone.

    Returns (ops, owned traits, owned resource classes).
    """
    owned_t = ownership.owned_traits(state.name, state.traits) & state.traits
    owned_rc = ownership.owned_rcs(state.name)
    created_by_us = state.uuid == names.provider_uuid(state.name)
    if not (owned_t or owned_rc or created_by_us):
        return [], frozenset(), frozenset()
    if not complete:
        # discovery failed: a missing device may only be unreadable
        return [], owned_t, owned_rc
    nova_owned = OWNER_NOVA in state.traits
    if manage and created_by_us and not nova_owned:
        # Our provider: all of its inventory is ours to reserve when it
        # cannot be deleted (also when the state file was lost).
        reserve = (owned_rc or set(state.inventories)) & set(
            state.inventories)
        return [DeleteProvider(state.name, state.uuid, tuple(sorted(reserve)),
                               generation=state.generation)], \
            frozenset(), frozenset()
    ops = []
    if owned_t:
        ops.append(SetTraits(
            state.name, state.uuid, state.generation,
            tuple(sorted(state.traits - owned_t)), (),
            tuple(sorted(owned_t))))
    # nova-compute owns the inventory of providers marked OWNER_NOVA (it
    # may have adopted one we created): never take it away
    if manage and not nova_owned and owned_rc & set(state.inventories):
        inv = {rc: rec for rc, rec in state.inventories.items()
               if rc not in owned_rc}
        ops.append(SetInventories(
            state.name, state.uuid, state.generation, inv,
            tuple(sorted(owned_rc & set(state.inventories))),
            shrinking(state.inventories, inv)))
    return ops, frozenset(), frozenset()


def replan_provider(desired_tree, state, ownership, mode):
    """Operations for one provider, re-planned against a fresh read."""
    manage = mode == exporter_conf.MODE_MANAGE
    desired = desired_tree.by_name().get(state.name)
    if desired is None:
        return plan_vanished(state, ownership, manage,
                             desired_tree.provider_complete(state.name))[0]
    return plan_existing(desired, state, ownership, manage)[0]


def plan(desired_tree, snapshot, ownership, mode, known_traits=frozenset()):
    """The operations that make ``snapshot`` match ``desired_tree``.

    ``ownership`` says what the exporter set before; ``known_traits`` are
    custom traits known to exist already (no ``PUT /traits`` needed).
    """
    result = Plan()
    new_owned = Ownership()
    manage = mode == exporter_conf.MODE_MANAGE
    root = snapshot.root
    desired_by_name = desired_tree.by_name()
    provider_ops = []

    def own(name, traits, rcs):
        if traits:
            new_owned.traits[name] = frozenset(traits)
        if rcs:
            new_owned.resource_classes[name] = frozenset(rcs)

    for name, desired in sorted(desired_by_name.items()):
        state = snapshot.providers.get(name)
        if state is None:
            if not manage:
                if desired.trait_names:
                    result.notes.append(
                        'provider %s does not exist (nova-compute creates it '
                        'when it manages %s); its traits will be published '
                        'once it does' % (name, desired.parent_device))
                continue
            if not desired.inventories:
                # nothing to offer: no provider, as nova would do
                continue
            provider_ops.append(CreateProvider(name, desired.uuid,
                                               root.uuid))
            state = ProviderState(uuid=desired.uuid, name=name,
                                  generation=None, parent_uuid=root.uuid)
        ops, owned_t, owned_rc, notes = plan_existing(
            desired, state, ownership, manage)
        provider_ops.extend(ops)
        result.notes.extend(notes)
        own(name, owned_t, owned_rc)

    # Providers under our root that no longer match a discovered device.
    for name, state in sorted(snapshot.providers.items()):
        if name in desired_by_name:
            continue
        ops, owned_t, owned_rc = plan_vanished(
            state, ownership, manage, desired_tree.provider_complete(name))
        provider_ops.extend(ops)
        own(name, owned_t, owned_rc)

    custom_needed = {t for op in provider_ops if isinstance(op, SetTraits)
                     for t in op.added if t.startswith('CUSTOM_')}
    custom_needed -= set(known_traits)
    if custom_needed:
        result.ops.append(EnsureTraits(tuple(sorted(custom_needed))))
    result.ops.extend(provider_ops)
    result.ownership = new_owned
    return result
