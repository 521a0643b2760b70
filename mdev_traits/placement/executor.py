"""Carry out a :class:`~mdev_traits.placement.plan.Plan`.

Generations are carried from one write to the next on the same provider.
A write refused with ``409 placement.concurrent_update`` (someone else,
typically nova-compute, changed the provider) makes the executor re-read
that provider, plan it again against what is there now, and retry, a
bounded number of times. A shrink refused with ``409
placement.inventory.inuse`` becomes a reservation (never delete inventory
that instances use).
"""

import dataclasses
import typing
import urllib.parse

from oslo_log import log as logging

from mdev_traits.placement import client as client_mod
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

    # -- single operations ------------------------------------------------
    def _ensure_traits(self, op, outcome):
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

    def _put(self, url, body, op, generations):
        gen = generations.get(op.uuid, op.generation)
        body = dict(body, resource_provider_generation=gen)
        return self.client.put(url, body)

    def _set_traits(self, op, generations):
        resp = self._put('/resource_providers/%s/traits' % op.uuid,
                         {'traits': list(op.traits)}, op, generations)
        if resp.status == 200:
            generations[op.uuid] = resp.body['resource_provider_generation']
            self._update_cache(op.uuid, generations[op.uuid],
                               traits=frozenset(resp.body['traits']))
            LOG.info('Traits of %s: added %s, removed %s', op.name,
                     ', '.join(op.added) or '-', ', '.join(op.removed) or '-')
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
        resp = self._put('/resource_providers/%s/inventories' % op.uuid,
                         {'inventories': op.inventories}, op, generations)
        if resp.status == 200:
            generations[op.uuid] = resp.body['resource_provider_generation']
            self._update_cache(op.uuid, generations[op.uuid],
                               inventories=resp.body['inventories'])
            LOG.info('Inventories of %s set: %s', op.name,
                     ', '.join('%s=%s' % (rc, r['total']) for rc, r in
                               sorted(op.inventories.items())) or 'none')
        elif resp.error_code == client_mod.INVENTORY_IN_USE:
            return self._reserve_in_use(op, generations, resp)
        return resp

    def _reserve_in_use(self, op, generations, refused):
        """Instances use more than the new inventory offers: keep the
        total at what is used and reserve the difference, then warn."""
        usages = self.client.get('/resource_providers/%s/usages' % op.uuid)
        if usages.status != 200:
            return refused
        used = usages.body.get('usages', {})
        current = self.reader.read_provider(op.uuid, op.name)
        if current is None:
            return refused
        generations[op.uuid] = current.generation
        inventories = {rc: dict(rec) for rc, rec in op.inventories.items()}
        for rc, rec in current.inventories.items():
            in_use = used.get(rc, 0)
            if in_use <= 0:
                continue
            want = inventories.get(rc, {}).get('total', 0)
            if want >= in_use:
                continue
            kept = dict(rec, **inventories.get(rc, {}))
            kept['total'] = in_use
            kept['reserved'] = in_use - want
            kept['max_unit'] = max(1, min(kept.get('max_unit', in_use),
                                          in_use))
            inventories[rc] = kept
            LOG.warning('%s: %s total would drop to %d but %d are '
                        'allocated: keeping total %d with %d reserved '
                        'until the consumers go away (%s)', op.name, rc,
                        want, in_use, in_use, in_use - want,
                        ', '.join(self._consumers(op.uuid)) or 'unknown')
        retry = plan_mod.SetInventories(op.name, op.uuid, current.generation,
                                        inventories, op.changed)
        return self._put('/resource_providers/%s/inventories' % op.uuid,
                         {'inventories': inventories}, retry, generations)

    def _consumers(self, uuid):
        resp = self.client.get('/resource_providers/%s/allocations' % uuid)
        if resp.status != 200:
            return []
        return sorted(resp.body.get('allocations', {}))

    def _delete_provider(self, op, generations):
        resp = self.client.delete('/resource_providers/%s' % op.uuid)
        if resp.status in (204, 404):
            self.reader.forget(op.uuid)
            LOG.info('Deleted resource provider %s (%s): its device is '
                     'gone', op.name, op.uuid)
            return resp
        if resp.status == 409 and op.reserve_rcs:
            current = self.reader.read_provider(op.uuid, op.name)
            if current is None:
                return resp
            inventories = {}
            for rc, rec in current.inventories.items():
                rec = dict(rec)
                if rc in op.reserve_rcs:
                    rec['reserved'] = rec['total']
                inventories[rc] = rec
            LOG.warning('Device of %s is gone but the provider has '
                        'allocations (consumers: %s): reserving its '
                        'inventory instead of deleting it', op.name,
                        ', '.join(self._consumers(op.uuid)) or 'unknown')
            if inventories == current.inventories:
                return client_mod.Response(200, {}, 'PUT', 'noop')
            generations[op.uuid] = current.generation
            put = plan_mod.SetInventories(op.name, op.uuid,
                                          current.generation, inventories,
                                          tuple(op.reserve_rcs))
            return self._set_inventories(put, generations)
        return resp

    def _update_cache(self, uuid, generation, traits=None, inventories=None):
        cached = self.reader._cache.get(uuid)
        if cached is None:
            return
        cached.generation = generation
        if traits is not None:
            cached.traits = traits
        if inventories is not None:
            cached.inventories = inventories

    # -- the plan ----------------------------------------------------------
    def run(self, the_plan, replan=None):
        """Execute ``the_plan``.

        ``replan(name, fresh_state) -> [ops]`` recomputes one provider's
        operations after a generation conflict.
        """
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
