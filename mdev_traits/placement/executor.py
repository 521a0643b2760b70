"""Carry out a :class:`~mdev_traits.placement.plan.Plan`.

Generations are carried from one write to the next on the same provider.
A write refused with ``409 placement.concurrent_update`` (someone else,
typically nova-compute, changed the provider) makes the executor re-read
that provider, plan it again against what is there now, and retry, a
bounded number of times.

Inventory in use is never taken away. Before a change that lowers the
capacity of a resource class or removes it, the provider's usages are read
(one GET); where instances use more than the new inventory offers, the
total stays at what is used and the difference is reserved, with a warning
that names the consumers. A removal refused anyway with ``409
placement.inventory.inuse`` (an allocation made meanwhile) is handled the
same way, and so is a provider whose device is gone but that Placement
refuses to delete because it has allocations: its inventory is reserved.
What is written then, and whether a reservation is still in force, is
decided without I/O by :mod:`mdev_traits.placement.inuse`; the executor
reads, sends and retries, and keeps the reservations in the
:class:`~mdev_traits.placement.inuse.Holds` it is given.

The ``reserved`` values the executor writes itself are reported to a
recorder (see :meth:`Executor.run`) *before* the request that writes them
(so that they are in the ownership record even if the cycle is cut right
after) and again once written: the record tells the exporter's
reservations from the operator's, and only the exporter's are ever taken
back.
"""

import dataclasses
import typing

from oslo_log import log as logging

from mdev_traits.placement import client as client_mod
from mdev_traits.placement import definitions
from mdev_traits.placement import inuse
from mdev_traits.placement import ops as ops_mod
from mdev_traits.placement import plan as plan_mod

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class Outcome:
    done: int = 0
    failed: typing.List[str] = dataclasses.field(default_factory=list)
    # provider names whose ops did not all complete
    failed_providers: typing.Set[str] = dataclasses.field(
        default_factory=set)
    retries: int = 0
    # provider names of the plan whose inventory in use is kept reserved
    # instead of taken away (or that are kept instead of deleted)
    held: typing.Set[str] = dataclasses.field(default_factory=set)

    @property
    def ok(self):
        return not self.failed


class Executor(object):

    def __init__(self, client, reader, max_retries=3):
        self.client = client
        self.reader = reader
        self.max_retries = max_retries
        self.definitions = definitions.Definitions(client)
        # set by run(): told about the reservations the executor makes
        # and the custom traits it defines
        self.recorder = ops_mod.NoRecorder()
        # set by run(): the reservations in force (the caller's)
        self.holds = inuse.Holds()
        # custom traits Placement answered 201 Created to (this run)
        self.defined = set()

    @property
    def known_traits(self):
        """The custom traits known to exist in Placement."""
        return self.definitions.known_traits

    def learn_custom_traits(self, traits):
        """See :meth:`Definitions.learn_custom_traits
        <mdev_traits.placement.definitions.Definitions.learn_custom_traits>`.
        """
        self.definitions.learn_custom_traits(traits)

    # -- single operations ------------------------------------------------
    def _ensure_traits(self, traits, outcome):
        created, failures = self.definitions.ensure_traits(traits)
        outcome.failed.extend(failures)
        if created:
            self.defined.update(created)
            self.recorder.defined(created)

    def _create_provider(self, op, generations, outcome):
        body = {'name': op.name, 'uuid': op.uuid}
        if op.parent_uuid:
            body['parent_provider_uuid'] = op.parent_uuid
        resp = self.client.post('/resource_providers', body)
        if resp.status == 200:
            generations[op.uuid] = resp.body['generation']
            self.reader.remember(plan_mod.ProviderState(
                uuid=op.uuid, name=op.name,
                generation=resp.body['generation'],
                parent_uuid=op.parent_uuid))
            LOG.info('Created resource provider %s (%s)', op.name, op.uuid)
            return True
        if resp.status == 409:
            # created meanwhile (a race, or a restart): same uuid5, so read
            # it back and go on
            state = self.reader.read_provider(op.uuid, op.name,
                                              op.parent_uuid)
            if state is not None:
                generations[op.uuid] = state.generation
                return True
        outcome.failed.append('cannot create provider %s: %s %s' % (
            op.name, resp.status, resp.error_detail))
        return False

    def _rename_provider(self, op, generations):
        """PUT the provider's new name (mdev_traits.placement.renames)."""
        resp = self.client.put('/resource_providers/%s' % op.uuid, {
            'name': op.name, 'parent_provider_uuid': op.parent_uuid})
        if resp.ok:
            generations[op.uuid] = resp.body['generation']
            self.reader.forget(op.uuid)
            LOG.info('Renamed resource provider %s (%s) to %s, as nova '
                     'names it', op.old_name, op.uuid, op.name)
        return resp

    def _put(self, url, body, op, generations):
        gen = generations.get(op.uuid, op.generation)
        body = dict(body, resource_provider_generation=gen)
        return self.client.put(url, body)

    def _set_traits(self, op, generations):
        before = generations.get(op.uuid, op.generation)
        resp = self._put('/resource_providers/%s/traits' % op.uuid,
                         {'traits': list(op.traits)}, op, generations)
        if resp.status == 200:
            generations[op.uuid] = resp.body['resource_provider_generation']
            self.holds.set(op.uuid, inuse.after_write(
                self.holds.get(op.uuid), before, generations[op.uuid]))
            self.reader.update_cached(op.uuid, generations[op.uuid],
                                      traits=frozenset(resp.body['traits']))
            # full lists at DEBUG: the cycle's INFO line gives counts
            LOG.debug('Traits of %s: added %s, removed %s', op.name,
                      ', '.join(op.added) or '-', ', '.join(op.removed) or '-')
        elif resp.status == 400:
            # e.g. a custom trait deleted since we last saw it (by
            # "cleanup" on another host, once no provider had it): create
            # the added ones again next time
            self.definitions.forget_traits(op.added)
        return resp

    def _set_inventories(self, op, generations):
        self.definitions.ensure_resource_classes(op.inventories)
        inventories = op.inventories
        kept = self._keep_in_use(op, generations) if op.shrinks else None
        if kept is not None:
            inventories = kept[0]
        resp = self._put_inventories(op, generations, inventories,
                                     kept and kept[1])
        if resp.status == 200 and resp.sent:
            LOG.info('Inventories of %s set: %s', op.name,
                     ', '.join('%s=%s' % (rc, r['total']) for rc, r in
                               sorted(inventories.items())) or 'none')
        elif resp.error_code == client_mod.INVENTORY_IN_USE:
            return self._reserve_in_use(op, generations, resp)
        return resp

    def _inventories_set(self, op, resp, generations, held):
        generations[op.uuid] = resp.body['resource_provider_generation']
        self.reader.update_cached(op.uuid, generations[op.uuid],
                                  inventories=resp.body['inventories'])
        self.holds.set(op.uuid, inuse.hold(op, generations[op.uuid])
                       if held else None)

    def _hold_needed(self, op):
        """Whether the allocations that made ``op`` a reservation are
        still there (one GET of the provider's usages).

        The generation cannot tell: Placement bumps it for the providers
        allocations are written *to*, not for those they are removed from
        (placement/objects/allocation.py: delete_all and _set_allocations
        only increment the generation of the providers in the new
        allocations), so consumers going away leave it unchanged.
        """
        resp = self.client.get('/resource_providers/%s/usages' % op.uuid)
        if resp.status != 200:
            return True
        needed = inuse.hold_needed(op, resp.body.get('usages', {}) or {})
        if not needed:
            self.holds.set(op.uuid, None)
        return needed

    def _still_held(self, op, generations):
        """Whether ``op`` would only repeat a reservation in force
        (:func:`inuse.repeats`) that is still needed."""
        return isinstance(op, (plan_mod.SetInventories,
                               plan_mod.DeleteProvider)) and inuse.repeats(
            self.holds.get(op.uuid), op,
            generations.get(op.uuid, op.generation)) and self._hold_needed(op)

    def _current(self, op, generations):
        """The provider as Placement holds it at the generation the op is
        based on (from the reader's cache, else read again)."""
        cached = self.reader.cached(op.uuid,
                                    generations.get(op.uuid, op.generation))
        if cached is not None:
            return cached
        return self.reader.read_provider(op.uuid, op.name)

    def _keep_in_use(self, op, generations, current=None):
        """``(inventories, current)``: ``op.inventories`` with what is in
        use kept (:func:`inuse.keep_in_use`), or None when the usages
        cannot be read (then Placement's own check decides)."""
        usages = self.client.get('/resource_providers/%s/usages' % op.uuid)
        if usages.status != 200:
            return None
        used = usages.body.get('usages', {})
        if current is None:
            current = self._current(op, generations)
        if current is None:
            return None
        inventories, kept = inuse.keep_in_use(
            op.inventories, current.inventories, used)
        if not kept:
            return op.inventories, current
        if inventories != current.inventories:
            consumers = ', '.join(self._consumers(op.uuid)) or 'unknown'
            for rc, offered, in_use in kept:
                LOG.warning('%s: %s would offer %d but %d are allocated: '
                            'keeping total %d with %d reserved until the '
                            'consumers go away (%s)', op.name, rc, offered,
                            in_use, in_use, in_use - min(offered, in_use),
                            consumers)
        return inventories, current

    def _reserve_in_use(self, op, generations, refused):
        """Placement refused to take inventory in use away (an allocation
        came meanwhile): read again, keep what is used, retry once."""
        current = self.reader.read_provider(op.uuid, op.name)
        if current is None:
            return refused
        generations[op.uuid] = current.generation
        kept = self._keep_in_use(op, generations, current=current)
        if kept is None:
            return refused
        return self._put_inventories(op, generations, kept[0], current)

    def _put_inventories(self, op, generations, inventories, current=None):
        """PUT ``inventories`` (``op``'s own, or a version that keeps what
        is in use); a no-op when ``current`` already holds exactly that
        (reserved before, e.g. before a restart)."""
        ours = ops_mod.reservations_of(op, inventories)
        if current is not None and inventories == current.inventories:
            self.holds.set(op.uuid, inuse.hold(op, current.generation))
            self.recorder.reserved(op.name, ours)
            return client_mod.Response.nothing_to_do('PUT')
        if ours:
            self.recorder.reserving(op.name, ours)
        resp = self._put('/resource_providers/%s/inventories' % op.uuid,
                         {'inventories': inventories}, op, generations)
        if resp.status == 200:
            self._inventories_set(op, resp, generations,
                                  held=inventories is not op.inventories)
            self.recorder.reserved(op.name, ours)
        return resp

    def _consumers(self, uuid):
        resp = self.client.get('/resource_providers/%s/allocations' % uuid)
        if resp.status != 200:
            return []
        return sorted(resp.body.get('allocations', {}))

    def _delete_provider(self, op, generations):
        resp = self.client.delete('/resource_providers/%s' % op.uuid)
        if resp.status in (204, 404):
            self.reader.forget(op.uuid)
            self.holds.set(op.uuid, None)
            LOG.info('Deleted resource provider %s (%s): its device is '
                     'gone', op.name, op.uuid)
            return resp
        if resp.status == 409 and resp.error_code in (
                None, client_mod.PROVIDER_IN_USE):
            current = self.reader.read_provider(op.uuid, op.name)
            if current is None:
                return resp
            inventories, ours = inuse.reserve_all(
                current.inventories, op.reserve_rcs, op.operator_reserved)
            generations[op.uuid] = current.generation
            if inventories == current.inventories:
                self.holds.set(op.uuid, inuse.hold(op, current.generation))
                self.recorder.reserved(op.name, ours)
                return client_mod.Response.nothing_to_do('PUT')
            self.recorder.reserving(op.name, ours)
            LOG.warning('Device of %s is gone but the provider has '
                        'allocations (consumers: %s): reserving its '
                        'inventory instead of deleting it', op.name,
                        ', '.join(self._consumers(op.uuid)) or 'unknown')
            put = self._put('/resource_providers/%s/inventories' % op.uuid,
                            {'inventories': inventories}, op, generations)
            if put.status == 200:
                self._inventories_set(op, put, generations, held=True)
                self.recorder.reserved(op.name, ours)
            return put
        return resp

    # -- the plan ----------------------------------------------------------
    def run(self, the_plan, replan=None, recorder=None, holds=None):
        """Execute ``the_plan``.

        ``replan(name, fresh_state) -> [ops]`` recomputes one provider's
        operations after a generation conflict. ``recorder`` is told about
        the executor's own reservations: ``reserving(name, {rc: (operator,
        written)})`` before the request that writes them, ``reserved(name,
        {...})`` once the provider's inventory is written (an empty dict:
        no reservation of the exporter's is left there);
        ``defined([traits])`` after Placement answered ``201 Created`` to
        their ``PUT /traits`` (also collected in :attr:`defined`).
        ``holds``: the :class:`~mdev_traits.placement.inuse.Holds` in
        force, updated in place (kept by the caller from one run to the
        next; a new one when not given). The outcome's ``held`` names the
        plan's providers that have one once the run ends.
        """
        self.recorder = recorder or ops_mod.NoRecorder()
        self.holds = inuse.Holds() if holds is None else holds
        self.defined = set()
        outcome = Outcome()
        generations = {}
        pending = list(the_plan.ops)
        attempts = {}
        while pending:
            op = pending.pop(0)
            if isinstance(op, plan_mod.EnsureTraits):
                self._ensure_traits(op.traits, outcome)
                outcome.done += 1
                continue
            if isinstance(op, plan_mod.CreateProvider):
                if self._create_provider(op, generations, outcome):
                    outcome.done += 1
                else:
                    outcome.failed_providers.add(op.name)
                    pending = [o for o in pending
                               if getattr(o, 'name', None) != op.name]
                continue
            if self._still_held(op, generations):
                # a reservation of inventory in use, still valid
                continue
            if isinstance(op, plan_mod.SetTraits):
                missing = [t for t in op.added if t.startswith('CUSTOM_')
                           and t not in self.known_traits]
                if missing:
                    self._ensure_traits(tuple(missing), outcome)
                resp = self._set_traits(op, generations)
            elif isinstance(op, plan_mod.SetInventories):
                resp = self._set_inventories(op, generations)
            elif isinstance(op, plan_mod.DeleteProvider):
                resp = self._delete_provider(op, generations)
            elif isinstance(op, plan_mod.RenameProvider):
                resp = self._rename_provider(op, generations)
            else:  # pragma: no cover - programming error
                raise TypeError(op)
            if resp.ok:
                outcome.done += 1
                continue
            if (resp.status == 409
                    and resp.error_code == client_mod.CONCURRENT_UPDATE
                    and replan is not None):
                count = attempts.get(op.name, 0) + 1
                attempts[op.name] = count
                if count <= self.max_retries:
                    outcome.retries += 1
                    LOG.debug('%s: generation conflict, re-reading', op.name)
                    fresh = self.reader.read_provider(op.uuid, op.name)
                    generations.pop(op.uuid, None)
                    # drop this provider's remaining ops and plan again
                    pending = [o for o in pending
                               if getattr(o, 'name', None) != op.name]
                    if fresh is not None:
                        pending = list(replan(op.name, fresh)) + pending
                    continue
            outcome.failed.append('%s: %s %s' % (
                op.describe(), resp.status, resp.error_detail))
            outcome.failed_providers.add(op.name)
            pending = [o for o in pending
                       if getattr(o, 'name', None) != op.name]
        outcome.held = inuse.held_providers(self.holds, the_plan.ops)
        return outcome
