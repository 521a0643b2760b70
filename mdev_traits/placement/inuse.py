"""Inventory in use is never taken away (pure).

What the executor (:mod:`mdev_traits.placement.executor`) PUTs instead of
a planned inventory that would offer less than instances use, computed
from the provider's current inventories, its usages (``GET
/resource_providers/{uuid}/usages``) and the wanted inventories: where
the usage exceeds what the wanted record offers, the total stays at the
usage and the difference is reserved. A provider whose device is gone but
that Placement refuses to delete (allocations) gets its inventory
reserved instead.

Such a reservation is a :class:`Hold`, remembered with the provider's
generation in :class:`Holds` (one per reconciler, kept from one cycle to
the next): while the generation does not move and the desired inventory
stays the same, later cycles neither write nor warn again, and only read
the provider's usages (Placement does not bump the generation of a
provider that allocations are removed from); once the consumers go away,
the next cycle sets the plain inventory or deletes the provider.

Nothing here does I/O.
"""

import dataclasses
import json
import typing

from mdev_traits.placement import ops as ops_mod


def keep_in_use(wanted, current, used):
    """``(inventories, kept)``: ``wanted`` with what is in use kept.

    :param wanted: {rc: record} the plan wants to write.
    :param current: {rc: record} the provider has now.
    :param used: {rc: amount} allocated on the provider.
    :returns: ``wanted`` itself (the same object) and ``[]`` when nothing
        in use would be taken away; else a new dict where each such
        resource class has ``total`` = usage and ``reserved`` = what the
        wanted record does not offer of it, and ``kept`` lists ``(rc,
        offered, in_use)`` for them.
    """
    inventories = {rc: dict(rec) for rc, rec in wanted.items()}
    kept = []
    for rc, rec in sorted(current.items()):
        in_use = used.get(rc, 0)
        want = inventories.get(rc)
        if in_use <= 0 or ops_mod.capacity(want) >= in_use:
            continue
        record = dict(rec, **(want or {}))
        offered = max(0, int(ops_mod.capacity(want)))
        record['total'] = in_use
        record['reserved'] = in_use - min(offered, in_use)
        record['max_unit'] = max(1, min(record.get('max_unit', in_use),
                                        in_use))
        record['min_unit'] = min(record.get('min_unit', 1),
                                 record['max_unit'])
        inventories[rc] = record
        kept.append((rc, offered, in_use))
    if not kept:
        return wanted, kept
    return inventories, kept


def still_needed(wanted, used, delete=False):
    """Whether a reservation made instead of ``wanted`` (or instead of
    deleting the provider, ``delete``) is still needed: something is
    allocated beyond what ``wanted`` offers (anything at all for a
    deletion)."""
    if delete:
        return any(v > 0 for v in used.values())
    return any(in_use > ops_mod.capacity(wanted.get(rc))
               for rc, in_use in used.items())


def reserve_all(current, reserve_rcs, operator_reserved):
    """``(inventories, ours)`` of a provider that cannot be deleted: the
    resource classes of ``reserve_rcs`` fully reserved; ``ours`` maps each
    to ``(operator's reserved, reserved written)``."""
    inventories = {}
    ours = {}
    for rc, rec in current.items():
        rec = dict(rec)
        if rc in reserve_rcs:
            rec['reserved'] = rec['total']
            ours[rc] = (operator_reserved.get(rc, 0), rec['total'])
        inventories[rc] = rec
    return inventories, ours


def hold_key(op):
    """What a reservation made for ``op`` is remembered by: ``'delete'``
    for a deletion, else the wanted inventories."""
    if isinstance(op, ops_mod.DeleteProvider):
        return 'delete'
    return json.dumps(op.inventories, sort_keys=True)


@dataclasses.dataclass(frozen=True)
class Hold:
    """A reservation made instead of an op (see :func:`hold_key`), at the
    provider's ``generation`` (the one it has once written)."""
    generation: int
    key: str


def hold(op, generation):
    """The :class:`Hold` of a reservation made instead of ``op``, that
    left the provider at ``generation``."""
    return Hold(generation, hold_key(op))


def repeats(held, op, generation):
    """Whether ``op``, planned against the provider at ``generation``,
    would only repeat the reservation ``held`` (a :class:`Hold` or None):
    the generation did not move and the desired inventory is the same."""
    return held is not None and held == hold(op, generation)


def after_write(held, before, after):
    """``held`` once a write that changes no inventory (traits) moved the
    provider's generation from ``before`` to ``after``: a hold made at
    ``before`` stays in force at ``after``; any other is left as it is."""
    if held is not None and held.generation == before:
        return Hold(after, held.key)
    return held


def hold_needed(op, used):
    """Whether the allocations ``used`` ({rc: amount}, the provider's
    usages) still need a reservation made instead of ``op`` (a
    SetInventories or a DeleteProvider)."""
    delete = isinstance(op, ops_mod.DeleteProvider)
    return still_needed(None if delete else op.inventories, used,
                        delete=delete)


def held_providers(holds, ops):
    """Names of the providers of ``ops`` whose uuid ``holds`` ({uuid:
    Hold}, or :class:`Holds`) has a reservation for."""
    return {op.name for op in ops if getattr(op, 'uuid', None) in holds}


class Holds(object):
    """The reservations in force, {provider uuid: :class:`Hold`}.

    They outlive a cycle: the reconciler owns one and passes it to every
    :meth:`~mdev_traits.placement.executor.Executor.run`; the executor
    sets what this module's functions decide.
    """

    def __init__(self, holds=None):
        self._by_uuid = dict(holds or {})

    def get(self, uuid) -> typing.Optional[Hold]:
        return self._by_uuid.get(uuid)

    def set(self, uuid, held):
        """Remember ``held`` for ``uuid``; None: there is none (any
        reservation there is released)."""
        if held is None:
            self._by_uuid.pop(uuid, None)
        else:
            self._by_uuid[uuid] = held

    def __contains__(self, uuid):
        return uuid in self._by_uuid

    def __len__(self):
        return len(self._by_uuid)

    def as_dict(self):
        return dict(self._by_uuid)
