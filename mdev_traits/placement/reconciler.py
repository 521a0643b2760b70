"""One reconcile step: read the tree, plan, execute, remember."""

import dataclasses
import typing

from oslo_log import log as logging

from mdev_traits.mapping import names
from mdev_traits.placement import executor as executor_mod
from mdev_traits.placement import plan as plan_mod
from mdev_traits.placement import reader as reader_mod

LOG = logging.getLogger(__name__)


class NothingPublished(Exception):
    """The cycle could not publish anything (reason in the message)."""


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


class Reconciler(object):

    def __init__(self, client, root_name, mode, state_store,
                 create_root_provider=False, max_retries=3):
        self.client = client
        self.root_name = root_name
        self.mode = mode
        self.state = state_store
        self.create_root_provider = create_root_provider
        self.reader = reader_mod.TreeReader(client, root_name)
        self.executor = executor_mod.Executor(client, self.reader,
                                              max_retries=max_retries)

    def _snapshot(self):
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
        resp = self.client.post('/resource_providers',
                                {'name': self.root_name, 'uuid': uuid})
        if resp.status not in (200, 409):
            raise NothingPublished('cannot create root provider %s: %s %s'
                                   % (self.root_name, resp.status,
                                      resp.error_detail))
        LOG.info('Created root resource provider %s (%s)', self.root_name,
                 uuid)
        return self.reader.read()

    def plan(self, desired_tree):
        """Read Placement and return (snapshot, ownership, plan)."""
        snapshot = self._snapshot()
        ownership = self.state.load()
        the_plan = plan_mod.plan(desired_tree, snapshot, ownership,
                                 self.mode, self.executor.known_traits)
        return snapshot, ownership, the_plan

    def sync(self, desired_tree):
        snapshot, ownership, the_plan = self.plan(desired_tree)
        for note in the_plan.notes:
            LOG.info(note)

        def replan(name, fresh):
            return plan_mod.replan_provider(desired_tree, fresh, ownership,
                                            self.mode)

        outcome = self.executor.run(the_plan, replan=replan)
        for failure in outcome.failed:
            LOG.warning('Placement refused a change: %s', failure)
        final = the_plan.ownership
        # where inventory in use was kept (reserved) instead of taken away,
        # it is still ours: keep owning it, so that it is released once
        # the consumers are gone
        held = {op.name for op in the_plan.ops
                if getattr(op, 'uuid', None) in self.executor.held}
        for name in outcome.failed_providers | held:
            # keep remembering what we owned where we could not finish
            final.traits[name] = (final.traits.get(name, frozenset())
                                  | ownership.traits.get(name, frozenset()))
            final.resource_classes[name] = (
                final.resource_classes.get(name, frozenset())
                | ownership.resource_classes.get(name, frozenset()))
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
