"""One reconcile step: lock and read the record, read the tree, plan,
record, execute, record.

Record before write: what a cycle will own (a union of what the record
says and what the plan adds or creates) is saved durably before the first
request that changes Placement, and again when a re-plan after a 409 or a
reservation changes it; the final record is saved at the end. A cycle cut
anywhere (5xx, timeout, SIGKILL) thus leaves no trait or provider that the
record does not name, and the next cycle withdraws what is stale. On an
unchanged host nothing is written, neither to Placement nor to the record.

Withdrawal guard: a cycle that would withdraw more than half of the
exporter's traits or providers at once (see
:func:`mdev_traits.placement.plan.withdrawal`) only adds, and logs what it
holds back, until ``withdrawal_confirm_cycles`` consecutive cycles found
the same withdrawal (counted in the record, so that ``--once`` runs count
too).
"""

import dataclasses
import typing

from oslo_log import log as logging

from mdev_traits.mapping import names
from mdev_traits.placement import executor as executor_mod
from mdev_traits.placement import inuse
from mdev_traits.placement import plan as plan_mod
from mdev_traits.placement import reader as reader_mod
from mdev_traits.placement import record as record_mod
from mdev_traits.placement import state as state_mod

LOG = logging.getLogger(__name__)


class NothingPublished(Exception):
    """The cycle could not publish anything (reason in the message)."""

    kind = 'nothing_published'


class StateRefused(NothingPublished):
    """The state file belongs to another host: a configuration error."""

    kind = 'state_file'


@dataclasses.dataclass
class SyncResult:
    plan: plan_mod.Plan
    outcome: executor_mod.Outcome
    providers: int = 0
    traits: int = 0
    root_uuid: typing.Optional[str] = None

    @property
    def ok(self):
        return self.outcome.ok

    @property
    def held(self):
        """Names of the providers whose inventory in use is kept reserved
        instead of taken away (see :mod:`mdev_traits.placement.inuse`)."""
        return self.outcome.held


class _Recorder(object):
    """Keeps the record in step while a plan runs (see the module doc)."""

    def __init__(self, store, old, intended, final):
        self.store = store
        # the record as the cycle found it
        self.old = old
        # what is on disk while the cycle runs: a superset of ``final``
        self.intended = intended
        # what the record will say once the cycle ends
        self.final = final

    def save(self):
        self.store.save(self.intended)

    def reserving(self, name, reservations):
        self.intended.reservations.setdefault(name, {}).update(reservations)
        self.save()

    def defined(self, traits):
        """Placement answered ``201 Created`` to these custom traits: the
        exporter defined them (recorded after the answer, never before:
        a trait someone else defined must never be listed)."""
        for own in (self.final, self.intended):
            own.defined = frozenset(own.defined) | frozenset(traits)
        self.save()

    def reserved(self, name, reservations):
        for own in (self.final, self.intended):
            if reservations:
                own.reservations[name] = dict(reservations)
            else:
                own.reservations.pop(name, None)

    def replan_view(self):
        """The ownership a re-plan works from: what is recorded now, with
        this cycle's intended additions. A trait the first plan meant to
        add that the re-plan finds present stays the exporter's: its write
        may have landed with the answer lost (a retried request then gets
        the 409), and it cannot be told from someone else's same write."""
        return self.intended.copy()

    def replanned(self, name, traits, rcs, created_uuid):
        """The re-plan's view of provider ``name`` is what the record says
        at the end of the cycle (until then, the union with what was
        recorded before stays on disk)."""
        entry = record_mod.Ownership(withdrawal_hold=(
            self.intended.withdrawal_hold))
        for field, value in (('traits', traits), ('resource_classes', rcs)):
            getattr(self.final, field).pop(name, None)
            if value:
                getattr(self.final, field)[name] = frozenset(value)
                getattr(entry, field)[name] = frozenset(value)
        self.final.created.pop(name, None)
        if created_uuid:
            self.final.created[name] = created_uuid
            entry.created[name] = created_uuid
        self.intended = record_mod.merge(self.intended, entry)
        self.save()


class Reconciler(object):

    def __init__(self, client, root_name, manage, state_store,
                 create_root_provider=False, max_retries=3,
                 withdrawal_confirm_cycles=3):
        """``manage``: ``[exporter] mode = manage`` (a bool)."""
        self.client = client
        self.root_name = root_name
        self.manage = manage
        self.state = state_store
        self.create_root_provider = create_root_provider
        self.withdrawal_confirm_cycles = withdrawal_confirm_cycles
        self.reader = reader_mod.TreeReader(client, root_name)
        self.executor = executor_mod.Executor(client, self.reader,
                                              max_retries=max_retries)
        # reservations of inventory in use: they outlive a cycle
        self.holds = inuse.Holds()
        # conflict lines logged already (one error per conflict)
        self._conflicts = frozenset()

    def _snapshot(self, ownership):
        try:
            return self.reader.read()
        except reader_mod.RootProviderMissing:
            if not self.create_root_provider:
                raise NothingPublished(
                    'compute node resource provider %r not found in '
                    'Placement: is nova-compute running here and is '
                    '[exporter] root_provider_name its hypervisor_hostname? '
                    'Nothing was created (set [exporter] '
                    'create_root_provider = true to create it).'
                    % self.root_name)
        uuid = names.provider_uuid(self.root_name)
        # record before write
        ownership.created[self.root_name] = uuid
        intended = record_mod.merge(ownership, record_mod.Ownership(
            withdrawal_hold=ownership.withdrawal_hold))
        self.state.save(intended)
        resp = self.client.post('/resource_providers',
                                {'name': self.root_name, 'uuid': uuid})
        if resp.status not in (200, 409):
            raise NothingPublished('cannot create root provider %s: %s %s'
                                   % (self.root_name, resp.status,
                                      resp.error_detail))
        LOG.info('Created root resource provider %s (%s)', self.root_name,
                 uuid)
        if resp.status == 200:
            # just created: no children to read (2 requests fewer on a
            # new host, see benchmarks/first_sync.py)
            return self.reader.created_root(resp.body)
        return self.reader.read()

    def _guarded_plan(self, desired_tree, snapshot, ownership):
        """(plan, withdraw): the plan, additions only while a large
        withdrawal is held back."""
        args = (desired_tree, snapshot, ownership, self.manage,
                self.executor.known_traits)
        the_plan = plan_mod.plan(*args)
        large, content, summary = plan_mod.withdrawal(the_plan)
        prev = ownership.withdrawal_hold
        needed = self.withdrawal_confirm_cycles
        if not (content['providers'] or content['traits']):
            the_plan.ownership.withdrawal_hold = None
            return the_plan, True
        if prev and prev['cycles'] >= needed and plan_mod.covered(
                content, prev):
            # the rest of a withdrawal carried out already
            the_plan.ownership.withdrawal_hold = prev
            return the_plan, True
        if not large or needed <= 1:
            the_plan.ownership.withdrawal_hold = None
            return the_plan, True
        same = prev and {k: prev[k] for k in content} == content
        cycles = prev['cycles'] + 1 if same else 1
        hold = dict(content, cycles=cycles)
        if cycles >= needed:
            the_plan.ownership.withdrawal_hold = hold
            LOG.warning('Withdrawing %s at once: found on %d cycles in a '
                        'row', summary, cycles)
            return the_plan, True
        held = plan_mod.plan(*args, withdraw=False)
        held.ownership.withdrawal_hold = hold
        LOG.warning(
            'Holding back the withdrawal of %s at once (more than half of '
            'what the exporter owns; a broken read looks like that): '
            'additions only; it is carried out when %d more cycle(s) in a '
            'row find the same ([exporter] withdrawal_confirm_cycles = %d)',
            summary, needed - cycles, needed)
        return held, False

    def plan(self, desired_tree):
        """Read the record and Placement; return (snapshot, ownership,
        plan). Does not lock the record: :meth:`sync` does."""
        ownership = self.state.load()
        snapshot = self._snapshot(ownership)
        the_plan, _withdraw = self._guarded_plan(desired_tree, snapshot,
                                                 ownership)
        return snapshot, ownership, the_plan

    def sync(self, desired_tree):
        try:
            with self.state.lock():
                return self._sync(desired_tree)
        except state_mod.ForeignHost as exc:
            raise StateRefused(str(exc))
        except state_mod.StateError as exc:
            raise NothingPublished('state file: %s; nothing more was '
                                   'written to Placement' % exc)

    def _log_conflicts(self, conflicts):
        """One error per conflict (provider name and uuid), not one per
        cycle."""
        for key, line in sorted(conflicts.items()):
            if key not in self._conflicts:
                LOG.error('%s', line)
        self._conflicts = frozenset(conflicts)

    def _sync(self, desired_tree):
        ownership = self.state.load()
        snapshot = self._snapshot(ownership)
        the_plan, withdraw = self._guarded_plan(desired_tree, snapshot,
                                                ownership)
        for note in the_plan.notes:
            LOG.info(note)
        self._log_conflicts(the_plan.conflicts)
        final = the_plan.ownership
        # the custom traits the exporter defined stay recorded (cleanup
        # deletes them); the executor adds those it defines this cycle
        final.defined = frozenset(ownership.defined)
        recorder = _Recorder(self.state, ownership,
                             record_mod.merge(ownership, final), final)
        # record before write (nothing written when unchanged)
        recorder.save()

        def replan(name, fresh):
            ops, traits, rcs, created = plan_mod.replan(
                desired_tree, fresh, recorder.replan_view(), self.manage,
                withdraw)
            recorder.replanned(name, traits, rcs, created)
            return ops

        outcome = self.executor.run(the_plan, replan=replan,
                                    recorder=recorder, holds=self.holds)
        for failure in outcome.failed:
            LOG.warning('Placement refused a change: %s', failure)
        # where inventory in use was kept (reserved) instead of taken away,
        # or where the changes did not all complete, keep owning all that
        # was recorded
        for name in outcome.failed_providers | outcome.held:
            record_mod.keep_provider(final, recorder.intended, name)
        final.defined = (frozenset(ownership.defined) | final.defined
                         | frozenset(self.executor.defined))
        self.state.save(final)
        published = [p for p in desired_tree.providers
                     if p.name in snapshot.providers or
                     any(isinstance(op, plan_mod.CreateProvider)
                         and op.name == p.name for op in the_plan.ops)]
        return SyncResult(
            plan=the_plan, outcome=outcome,
            providers=len(published),
            traits=sum(len(p.traits) for p in published),
            root_uuid=snapshot.root.uuid)
