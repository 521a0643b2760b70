"""Inventory in use is never taken away (pure).

What the executor (:mod:`mdev_traits.placement.executor`) PUTs instead of
a planned inventory that would offer less than instances use, computed
from the provider's current inventories, its usages (``GET
/resource_providers/{uuid}/usages``) and the wanted inventories: where
the usage exceeds what the wanted record offers, the total stays at the
usage and the difference is reserved. A provider whose device is gone but
that Placement refuses to delete (allocations) gets its inventory
reserved instead.

Nothing here does I/O.
"""

import json

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
