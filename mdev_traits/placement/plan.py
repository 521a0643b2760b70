"""Compute the Placement calls that bring a provider tree to the desired
state (pure: no I/O), in the spirit of neutron's ``placement_report.py``.

A :class:`Plan` can be printed (``describe()``) and tested without a
Placement; :mod:`mdev_traits.placement.executor` carries it out.

Ownership rules (the record is :class:`mdev_traits.placement.record.
Ownership`):

* a provider the exporter describes this cycle gets its wanted traits;
  only traits the record says the exporter set are removed (when the
  record is missing or unreadable, also present traits with a reserved
  prefix, and wanted traits found present are claimed, so that a lost
  record never shrinks ownership);
* a provider it does not describe is only written when the record says
  the exporter created it (deleted, or its inventory reserved) or set
  traits there (those traits, and only those, are withdrawn): never by
  reserved prefix;
* inventories (``manage`` mode) only on providers the record says the
  exporter created, and never on ``OWNER_NOVA`` ones; ``reserved`` stays
  the operator's (see ``reservations`` in the record);
* a provider named with the uuid5 the exporter gives its providers, but
  that the record does not say it created, belongs to another exporter
  (two hosts reporting under one root name): it is never written, and the
  plan names the conflict (:attr:`Plan.conflicts`).
"""

import dataclasses

from mdev_traits.mapping import contract
from mdev_traits.mapping import names
from mdev_traits.placement import ops as ops_mod
from mdev_traits.placement import record as record_mod
from mdev_traits.placement import renames as renames_mod


def _manage(manage):
    """The settings' bool; a mode name ("decorate" is true) is refused."""
    if not isinstance(manage, bool):
        raise TypeError('manage must be True or False, not %r' % (manage,))
    return manage


# the data this module plans with (defined in ops.py)
OWNER_NOVA = ops_mod.OWNER_NOVA
INVENTORY_FIELDS = ops_mod.INVENTORY_FIELDS
ProviderState = ops_mod.ProviderState
TreeSnapshot = ops_mod.TreeSnapshot
CreateProvider = ops_mod.CreateProvider
RenameProvider = ops_mod.RenameProvider
EnsureTraits = ops_mod.EnsureTraits
SetTraits = ops_mod.SetTraits
SetInventories = ops_mod.SetInventories
DeleteProvider = ops_mod.DeleteProvider
Plan = ops_mod.Plan


# ---- planning -------------------------------------------------------------

def _inv_view(record):
    return {f: record.get(f) for f in INVENTORY_FIELDS}


def _same_inventory(a, b):
    return _inv_view(a) == _inv_view(b)


def shrinking(current, new):
    """Resource classes of ``current`` whose capacity or total drops in
    ``new`` (a total kept at the usage by an earlier reservation must not
    fall below that usage either)."""
    return tuple(sorted(
        rc for rc, rec in current.items()
        if ops_mod.capacity(new.get(rc)) < ops_mod.capacity(rec)
        or (new.get(rc) or {}).get('total', 0) < rec.get('total', 0)))


def created_by_us(state, ownership):
    """Whether the record says the exporter created this very provider
    (same name and uuid): the only proof of creation."""
    return ownership.created_uuid(state.name) == state.uuid


def other_exporters(state, ownership):
    """A provider named with the uuid5 the exporter gives its providers
    that the record does not say this exporter created: another host's
    exporter made it (one root name, two hosts), or this host's record was
    lost. Either way it is never written."""
    return (not created_by_us(state, ownership)
            and OWNER_NOVA not in state.traits
            and state.uuid == names.provider_uuid(state.name))


def conflict(state, ownership):
    """{"name (uuid)": one line naming the conflict}."""
    key = '%s (%s)' % (state.name, state.uuid)
    return {key: conflict_line(state, ownership)}


def conflict_line(state, ownership):
    return ('provider %s (%s) was created by an mdev-traits exporter (its '
            'uuid is the uuid5 of its name) but this exporter\'s state file '
            'does not say it created it: another host reports under the '
            'same [exporter] root_provider_name (cloned configuration?)%s. '
            'The exporter leaves it alone.' % (
                state.name, state.uuid,
                '' if ownership.recorded else
                ', or this host\'s state file was lost (delete the provider '
                'if it is this host\'s and has no allocations: the exporter '
                'creates it again)'))


def owned_traits(name, present, desired, ownership):
    """The traits of provider ``name`` the exporter may withdraw.

    What the record says it set; when the record is missing or unreadable
    and only on a provider described this cycle (``desired``), also the
    present traits with a reserved prefix and the wanted traits already
    present (a lost record never shrinks ownership)."""
    recorded = frozenset(ownership.traits.get(name, frozenset()))
    if ownership.recorded or desired is None:
        return recorded
    reserved = {t for t in present
                if t.startswith(contract.RESERVED_PREFIXES)}
    return recorded | reserved | (frozenset(desired.trait_names) & present)


def plan_traits(desired, state, ownership, withdraw=True):
    """(new trait set, added, removed, owned after) for one provider."""
    present = frozenset(state.traits)
    want = frozenset(desired.trait_names) if desired else frozenset()
    owned = owned_traits(state.name, present, desired, ownership)
    if not withdraw or (desired is not None and desired.partial):
        removable = frozenset()
    else:
        removable = (owned & present) - want
    new = (present - removable) | want
    added = tuple(sorted(new - present))
    removed = tuple(sorted(present - new))
    # we own what we keep of what we owned, plus what we add now
    owned_after = ((owned & new) | (want - present))
    return new, added, removed, owned_after


def operator_reserved(current, recorded):
    """The operator's share of ``reserved`` in inventory record
    ``current``: what Placement shows, unless it is exactly the value the
    exporter set itself (``recorded`` = (operator's, set)), then the
    operator's value from before. Anyone changing it afterwards makes the
    new value the operator's: never less than an operator asked for."""
    shown = (current or {}).get('reserved', 0)
    if recorded is not None and shown == recorded[1]:
        return recorded[0]
    return shown


def plan_inventories(desired, state, ownership, withdraw=True):
    """(new inventories or None when unchanged, changed rcs, owned rcs)."""
    current = {rc: dict(rec) for rc, rec in state.inventories.items()}
    want = dict(desired.inventories) if desired else {}
    owned = ownership.owned_rcs(state.name)
    recorded = ownership.reservations.get(state.name, {})
    new = dict(current)
    if withdraw and not (desired is not None and desired.partial):
        for rc in owned - set(want):
            new.pop(rc, None)
    for rc, rec in want.items():
        merged = dict(current.get(rc, {}))
        merged.update(rec)
        # the operator's reserved stays (bounded by the new total)
        kept = (operator_reserved(current[rc], recorded.get(rc))
                if rc in current else 0)
        merged['reserved'] = min(merged.get('total', 0),
                                 max(rec.get('reserved', 0), kept))
        new[rc] = merged
    changed = tuple(sorted(
        rc for rc in set(new) | set(current)
        if rc not in new or rc not in current
        or not _same_inventory(new[rc], current[rc])))
    owned_after = frozenset(want) | (owned & set(new))
    if not changed:
        return None, (), owned_after
    return new, changed, owned_after


def plan_existing(desired, state, ownership, manage, withdraw=True,
                  created=None):
    """Operations for one provider that exists (or is created in this
    plan: ``created=True``) and has a desired entry.

    Returns (ops, owned traits, owned resource classes, notes, conflicts).
    """
    if created is None:
        created = created_by_us(state, ownership)
    if not created and other_exporters(state, ownership):
        return ([], frozenset(ownership.traits.get(state.name, ())),
                frozenset(), [], conflict(state, ownership))
    ops = []
    notes = []
    new_traits, added, removed, owned_t = plan_traits(
        desired, state, ownership, withdraw)
    owned_rc = frozenset()
    if added or removed:
        ops.append(SetTraits(state.name, state.uuid, state.generation,
                             tuple(sorted(new_traits)), added, removed))
    if not manage:
        return ops, owned_t, owned_rc, notes, {}
    if not created:
        if desired.inventories:
            notes.append('provider %s was not created by the exporter (per '
                         'its state file): its inventory is left alone' %
                         state.name)
    elif OWNER_NOVA in state.traits:
        owned_rc = ownership.owned_rcs(state.name)
        if desired.inventories:
            notes.append('provider %s is owned by nova (OWNER_NOVA): '
                         'its inventory is left to nova-compute' %
                         state.name)
    else:
        new_inv, changed, owned_rc = plan_inventories(
            desired, state, ownership, withdraw)
        if new_inv is not None:
            recorded = ownership.reservations.get(state.name, {})
            ops.append(SetInventories(
                state.name, state.uuid, state.generation, new_inv,
                changed, shrinking(state.inventories, new_inv),
                operator_reserved={
                    rc: operator_reserved(rec, recorded.get(rc))
                    for rc, rec in sorted(state.inventories.items())
                    if rc not in new_inv}))
    return ops, owned_t, owned_rc, notes, {}


def plan_vanished(state, ownership, manage, complete, withdraw=True):
    """Operations for a provider the exporter does not describe (its
    device is gone, or it is someone else's).

    ``complete``: whether discovery of this provider's kind succeeded.
    Returns (ops, owned traits, owned resource classes, still created,
    conflicts).
    """
    name = state.name
    created = created_by_us(state, ownership)
    owned_t = frozenset(ownership.traits.get(name, ())) & state.traits
    nova_owned = OWNER_NOVA in state.traits
    owned_rc = (ownership.owned_rcs(name) if created and not nova_owned
                else frozenset())
    if not (created or owned_t):
        conflicts = (conflict(state, ownership)
                     if other_exporters(state, ownership) else {})
        return [], frozenset(), frozenset(), False, conflicts
    if not complete or not withdraw:
        # discovery failed (a missing device may only be unreadable), or
        # the withdrawal is held back: keep everything
        return [], owned_t, owned_rc, created, {}
    if manage and created and not nova_owned:
        # Our provider: all of its inventory is ours to reserve when it
        # cannot be deleted.
        reserve = (owned_rc or set(state.inventories)) & set(
            state.inventories)
        recorded = ownership.reservations.get(name, {})
        return [DeleteProvider(
            name, state.uuid, tuple(sorted(reserve)),
            generation=state.generation,
            operator_reserved={
                rc: operator_reserved(state.inventories[rc],
                                      recorded.get(rc))
                for rc in sorted(reserve)})], \
            frozenset(), frozenset(), False, {}
    ops = []
    if owned_t:
        ops.append(SetTraits(
            name, state.uuid, state.generation,
            tuple(sorted(state.traits - owned_t)), (),
            tuple(sorted(owned_t))))
    # nova-compute owns the inventory of providers marked OWNER_NOVA (it
    # may have adopted one we created): never take it away; in decorate
    # mode the exporter never writes inventories
    return ops, frozenset(), owned_rc, created, {}


def replan(desired_tree, state, ownership, manage, withdraw=True):
    """One provider planned again against a fresh read (after a 409).

    Returns (ops, owned traits, owned resource classes, created uuid or
    None): the re-plan's view, which is what gets recorded.
    """
    manage = _manage(manage)
    desired = desired_tree.by_name().get(state.name)
    if desired is None:
        ops, owned_t, owned_rc, created, _c = plan_vanished(
            state, ownership, manage,
            desired_tree.provider_complete(state.name), withdraw)
    else:
        created = created_by_us(state, ownership)
        ops, owned_t, owned_rc, _n, _c = plan_existing(
            desired, state, ownership, manage, withdraw, created)
    return ops, owned_t, owned_rc, state.uuid if created else None


def replan_provider(desired_tree, state, ownership, manage, withdraw=True):
    """Operations for one provider, re-planned against a fresh read."""
    return replan(desired_tree, state, ownership, manage, withdraw)[0]


def plan(desired_tree, snapshot, ownership, manage, known_traits=frozenset(),
         withdraw=True):
    """The operations that make ``snapshot`` match ``desired_tree``.

    ``manage``: whether the exporter also creates providers and writes
    inventories (``[exporter] mode = manage``, a bool);
    ``ownership`` is the record of what the exporter set and created;
    ``known_traits`` are custom traits known to exist already (no ``PUT
    /traits`` needed); ``withdraw=False`` plans additions only.
    """
    result = Plan()
    new_owned = record_mod.Ownership(withdrawal_hold=ownership.withdrawal_hold)
    manage = _manage(manage)
    root = snapshot.root
    desired_by_name = desired_tree.by_name()
    provider_ops = []
    # providers created under an earlier name of their device
    renamed = renames_mod.renames(desired_tree, snapshot, ownership, manage)
    ownership = renames_mod.moved(ownership, renamed)

    def own(name, traits, rcs, created_uuid):
        if traits:
            new_owned.traits[name] = frozenset(traits)
        if rcs:
            new_owned.resource_classes[name] = frozenset(rcs)
        if created_uuid:
            new_owned.created[name] = created_uuid
            if ownership.reservations.get(name):
                new_owned.reservations[name] = dict(
                    ownership.reservations[name])

    def count_before(state, desired):
        owned = owned_traits(state.name, state.traits, desired,
                             ownership) & state.traits
        if owned or created_by_us(state, ownership):
            result.owned_providers_before += 1
        result.owned_traits_before += len(owned)

    if ownership.created_uuid(root.name) == root.uuid:
        new_owned.created[root.name] = root.uuid

    for name, desired in sorted(desired_by_name.items()):
        state = snapshot.providers.get(name)
        created = None
        if state is None and name in renamed:
            old = renamed[name]
            provider_ops.append(RenameProvider(name, old.uuid, old.name,
                                               root.uuid))
            state = dataclasses.replace(old, name=name)
            count_before(state, desired)
            created = True
            # ours under either name until the rename is done
            new_owned.created[old.name] = old.uuid
        elif state is None:
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
            created = True
        else:
            count_before(state, desired)
            created = created_by_us(state, ownership)
        ops, owned_t, owned_rc, notes, conflicts = plan_existing(
            desired, state, ownership, manage, withdraw, created)
        provider_ops.extend(ops)
        result.notes.extend(notes)
        result.conflicts.update(conflicts)
        own(name, owned_t, owned_rc, state.uuid if created else None)
        removed = {t for op in ops if isinstance(op, SetTraits)
                   for t in op.removed}
        if removed:
            result.withdrawn_traits[name] = frozenset(removed)

    # Providers under our root that no longer match a discovered device.
    renamed_from = {state.name for state in renamed.values()}
    for name, state in sorted(snapshot.providers.items()):
        if name in desired_by_name or name in renamed_from:
            continue
        count_before(state, None)
        ops, owned_t, owned_rc, created, conflicts = plan_vanished(
            state, ownership, manage, desired_tree.provider_complete(name),
            withdraw)
        provider_ops.extend(ops)
        result.conflicts.update(conflicts)
        own(name, owned_t, owned_rc, state.uuid if created else None)
        if ops:
            # counted as a provider withdrawn (its traits with it)
            result.withdrawn_providers.add(name)

    custom_needed = {t for op in provider_ops if isinstance(op, SetTraits)
                     for t in op.added if t.startswith('CUSTOM_')}
    custom_needed -= set(known_traits)
    if custom_needed:
        result.ops.append(EnsureTraits(tuple(sorted(custom_needed))))
    result.ops.extend(provider_ops)
    result.ownership = new_owned
    return result


def withdrawal(the_plan):
    """``(large, content, summary)`` of what ``the_plan`` withdraws.

    ``large``: more than half of the providers the exporter owned before
    (deleted, or all of its traits withdrawn from them), or traits
    withdrawn from the providers it still describes that make more than
    half of all the traits it owned (hardware does not vanish like that; a
    broken read does). ``content`` (``{'providers': [...], 'traits':
    {name: [...]}}``) tells the same withdrawal on consecutive cycles from
    a changing one.
    """
    traits = sum(len(t) for t in the_plan.withdrawn_traits.values())
    providers = len(the_plan.withdrawn_providers)
    large = bool(traits or providers) and (
        providers * 2 > the_plan.owned_providers_before
        or traits * 2 > the_plan.owned_traits_before)
    content = {'providers': sorted(the_plan.withdrawn_providers),
               'traits': {n: sorted(t) for n, t in
                          sorted(the_plan.withdrawn_traits.items())}}
    summary = ('%d of %d trait(s) and %d of %d provider(s)' % (
        traits, the_plan.owned_traits_before, providers,
        the_plan.owned_providers_before))
    return large, content, summary


def covered(content, confirmed):
    """Whether withdrawal ``content`` is part of the ``confirmed`` one (the
    rest of a withdrawal already carried out, e.g. a provider whose
    deletion waits for its allocations to go)."""
    if not confirmed:
        return False
    if not set(content['providers']) <= set(confirmed['providers']):
        return False
    return all(set(t) <= set(confirmed['traits'].get(n, ()))
               for n, t in content['traits'].items())
