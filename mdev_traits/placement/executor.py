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
What is written then is computed without I/O by
:mod:`mdev_traits.placement.inuse`; the executor reads, sends and retries.

Such a reservation is remembered with the provider's generation: while the
generation does not move and the desired inventory stays the same, later
cycles neither write nor warn again, and only read the provider's usages
(Placement does not bump the generation of a provider that allocations
are removed from); once the consumers go away, the next cycle sets the
plain inventory or deletes the provider.

The ``reserved`` values the executor writes itself are reported to a
recorder (see :meth:`Executor.run`) *before* the request that writes them
(so that they are in the ownership record even if the cycle is cut right
after) and again once written: the record tells the exporter's
reservations from the operator's, and only the exporter's are ever taken
back.
"""

import dataclasses
import typing
import urllib.parse

from oslo_log import log as logging

from mdev_traits.placement import client as client_mod
from mdev_traits.placement import inuse
from mdev_traits.placement import ops as ops_mod
from mdev_traits.placement import plan as plan_mod

LOG = logging.getLogger(__name__)

# custom traits looked up per GET /traits?name=in:... (keeps the URL short)
TRAITS_PER_QUERY = 50


@dataclasses.dataclass
class Outcome:
    done: int = 0
    failed: typing.List[str] = dataclasses.field(default_factory=list)
    # provider names whose ops did not all complete
    failed_providers: typing.Set[str] = dataclasses.field(
        default_factory=set)
    retries: int = 0

    @property
    def ok(self):
        return not self.failed


class Executor(object):

    def __init__(self, client, reader, max_retries=3):
        self.client = client
        self.reader = reader
        self.max_retries = max_retries
        # custom traits and resource classes known to exist in Placement
        self.known_traits = set()
        self.known_resource_classes = set()
        # known_traits holds every custom trait of Placement, listed just
        # now (learn_custom_traits): the next trait creation needs no GET
        self._listed = False
        # uuid -> (generation, key of the planned op): inventory in use
        # that was reserved instead of taken away (see the module doc)
        self.held = {}
        # set by run(): told about the reservations the executor makes
        # and the custom traits it defines
        self.recorder = ops_mod.NoRecorder()
        # custom traits Placement answered 201 Created to (this run)
        self.defined = set()

    def learn_custom_traits(self, traits):
        """``traits``: every custom trait Placement holds, listed in this
        cycle (:class:`~mdev_traits.placement.catalog.TraitCatalog`'s first
        read): the traits to create next are those not in it, without a
        ``GET /traits?name=in:...`` (once; later lists may be stale)."""
        self.known_traits.update(traits)
        self._listed = True

    # -- single operations ------------------------------------------------
    def _existing_traits(self, traits):
        """Which of ``traits`` Placement has already, in one GET per
        :data:`TRAITS_PER_QUERY` (a fleet defines a trait once: every
        other host then finds it instead of PUTting it)."""
        found = set()
        traits = sorted(traits)
        for i in range(0, len(traits), TRAITS_PER_QUERY):
            chunk = traits[i:i + TRAITS_PER_QUERY]
            resp = self.client.get('/traits?name=in:%s' % ','.join(
                urllib.parse.quote(t) for t in chunk))
            if resp.status == 200:
                found.update(resp.body.get('traits', ()))
        return found

    def _ensure_traits(self, op, outcome):
        unknown = [t for t in op.traits if t not in self.known_traits]
        if len(unknown) > 1 and not self._listed:
            self.known_traits.update(self._existing_traits(unknown))
        self._listed = False
        created = []
        for trait in op.traits:
            if trait in self.known_traits:
                continue
            resp = self.client.put('/traits/%s' % urllib.parse.quote(trait),
                                   None)
            if resp.status in (201, 204):
                self.known_traits.add(trait)
            else:
                outcome.failed.append('cannot create trait %s: %s' % (
                    trait, resp.error_detail))
            # 201: the exporter defined it; 204: it existed (someone
            # else's, e.g. an operator's threshold): never recorded
            if resp.status == 201:
                created.append(trait)
        if created:
            self.defined.update(created)
            self.recorder.defined(created)
        return True

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
            self._bump_held(op.uuid, before, generations[op.uuid])
            self.reader.update_cached(op.uuid, generations[op.uuid],
                                      traits=frozenset(resp.body['traits']))
            # full lists at DEBUG: the cycle's INFO line gives counts
            LOG.debug('Traits of %s: added %s, removed %s', op.name,
                      ', '.join(op.added) or '-', ', '.join(op.removed) or '-')
        elif resp.status == 400:
            # e.g. a custom trait deleted since we last saw it (by
            # "cleanup" on another host, once no provider had it): create
            # the added ones again next time
            self.known_traits.difference_update(op.added)
        return resp

    def _ensure_resource_classes(self, inventories):
        for rc in inventories:
            if not rc.startswith('CUSTOM_') or (
                    rc in self.known_resource_classes):
                continue
            resp = self.client.put('/resource_classes/%s' %
                                   urllib.parse.quote(rc), None)
            if resp.status in (201, 204):
                self.known_resource_classes.add(rc)

    def _set_inventories(self, op, generations):
        self._ensure_resource_classes(op.inventories)
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
        if held:
            self._hold(op, generations[op.uuid])
        else:
            self.held.pop(op.uuid, None)

    def _hold(self, op, generation):
        self.held[op.uuid] = (generation, inuse.hold_key(op))

    def _bump_held(self, uuid, before, after):
        held = self.held.get(uuid)
        if held is not None and held[0] == before:
            self.held[uuid] = (after, held[1])

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
        delete = isinstance(op, plan_mod.DeleteProvider)
        needed = inuse.still_needed(
            None if delete else op.inventories,
            resp.body.get('usages', {}) or {}, delete=delete)
        if not needed:
            self.held.pop(op.uuid, None)
        return needed

    def is_held(self, op, generations):
        """Whether ``op`` would only repeat a reservation made at the
        provider's current generation."""
        held = self.held.get(op.uuid)
        if held is None:
            return False
        return held == (generations.get(op.uuid, op.generation),
                        inuse.hold_key(op))

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
            self._hold(op, current.generation)
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
            self.held.pop(op.uuid, None)
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
                self._hold(op, current.generation)
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
    def run(self, the_plan, replan=None, recorder=None):
        """Execute ``the_plan``.

        ``replan(name, fresh_state) -> [ops]`` recomputes one provider's
        operations after a generation conflict. ``recorder`` is told about
        the executor's own reservations: ``reserving(name, {rc: (operator,
        written)})`` before the request that writes them, ``reserved(name,
        {...})`` once the provider's inventory is written (an empty dict:
        no reservation of the exporter's is left there);
        ``defined([traits])`` after Placement answered ``201 Created`` to
        their ``PUT /traits`` (also collected in :attr:`defined`).
        """
        self.recorder = recorder or ops_mod.NoRecorder()
        self.defined = set()
        outcome = Outcome()
        generations = {}
        pending = list(the_plan.ops)
        attempts = {}
        while pending:
            op = pending.pop(0)
            if isinstance(op, plan_mod.EnsureTraits):
                self._ensure_traits(op, outcome)
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
            if isinstance(op, (plan_mod.SetInventories,
                               plan_mod.DeleteProvider)) and self.is_held(
                                   op, generations) and self._hold_needed(op):
                # a reservation of inventory in use, still valid
                continue
            if isinstance(op, plan_mod.SetTraits):
                missing = [t for t in op.added if t.startswith('CUSTOM_')
                           and t not in self.known_traits]
                if missing:
                    self._ensure_traits(plan_mod.EnsureTraits(
                        tuple(missing)), outcome)
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
        return outcome
