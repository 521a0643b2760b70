"""Read the compute node's provider tree from Placement.

One cycle on an unchanged host costs one request: the tree is listed with
``GET /resource_providers?in_tree=<root>`` and traits and inventories are
only fetched again for providers whose generation moved (Placement bumps a
provider's generation on every change of its traits, inventories,
aggregates or allocations).
"""

import urllib.parse

from oslo_log import log as logging

from mdev_traits.placement import plan as plan_mod

LOG = logging.getLogger(__name__)


class RootProviderMissing(Exception):
    def __init__(self, name):
        self.name = name
        super().__init__(name)


class ReadError(Exception):
    """Placement answered a read with an unexpected status."""


class TreeReader(object):

    def __init__(self, client, root_name):
        self.client = client
        self.root_name = root_name
        self._root_uuid = None
        # uuid -> ProviderState with traits/inventories as last seen
        self._cache = {}

    def forget(self, uuid=None):
        if uuid is None:
            self._cache.clear()
            self._root_uuid = None
        else:
            self._cache.pop(uuid, None)

    def cached(self, uuid, generation):
        """The provider as last seen, when that was at ``generation``, else
        None."""
        state = self._cache.get(uuid)
        if state is None or generation is None or (
                state.generation != generation):
            return None
        return state

    def update_cached(self, uuid, generation, traits=None,
                      inventories=None):
        """Note what a write to the provider changed (its new generation,
        and the traits or inventories Placement answered with)."""
        state = self._cache.get(uuid)
        if state is None:
            return
        state.generation = generation
        if traits is not None:
            state.traits = traits
        if inventories is not None:
            state.inventories = inventories

    def remember(self, state):
        self._cache[state.uuid] = plan_mod.ProviderState(
            uuid=state.uuid, name=state.name, generation=state.generation,
            parent_uuid=state.parent_uuid, traits=frozenset(state.traits),
            inventories={k: dict(v) for k, v in state.inventories.items()})

    def _check(self, resp):
        if resp.status != 200:
            raise ReadError('%s: %s' % (resp, resp.error_detail))
        return resp.body

    def find_root(self):
        """The root provider's raw record, or None."""
        body = self._check(self.client.get(
            '/resource_providers?name=%s' % urllib.parse.quote(
                self.root_name, safe='')))
        providers = body.get('resource_providers', [])
        return providers[0] if providers else None

    def _list_tree(self, root_uuid):
        resp = self.client.get('/resource_providers?in_tree=%s' % root_uuid)
        if resp.status != 200:
            return None
        return resp.body.get('resource_providers', [])

    def created_root(self, record):
        """The snapshot of a root provider this exporter has just created
        (``record``: Placement's answer to ``POST /resource_providers``):
        it has no children yet, so no read is needed, and the next
        :meth:`read` lists its tree by uuid at once."""
        self._root_uuid = record['uuid']
        return plan_mod.TreeSnapshot(
            root=plan_mod.ProviderState(
                uuid=record['uuid'], name=record['name'],
                generation=record['generation'], parent_uuid=None),
            providers={})

    def read(self):
        """A :class:`~mdev_traits.placement.plan.TreeSnapshot`."""
        records = None
        if self._root_uuid:
            records = self._list_tree(self._root_uuid)
            if records is not None and not any(
                    r['uuid'] == self._root_uuid
                    and r['name'] == self.root_name for r in records):
                records = None
        if records is None:
            root = self.find_root()
            if root is None:
                self._root_uuid = None
                raise RootProviderMissing(self.root_name)
            if root.get('root_provider_uuid', root['uuid']) != root['uuid']:
                LOG.warning('Provider %s is not a root provider; using its '
                            'tree anyway', self.root_name)
            self._root_uuid = root['uuid']
            records = self._list_tree(self._root_uuid)
            if records is None:
                raise ReadError('cannot list the tree of %s' %
                                self.root_name)
        root_state = None
        providers = {}
        prefix = self.root_name + '_'
        seen = set()
        for rec in records:
            if rec['uuid'] == self._root_uuid:
                root_state = plan_mod.ProviderState(
                    uuid=rec['uuid'], name=rec['name'],
                    generation=rec['generation'], parent_uuid=None)
                continue
            if not rec['name'].startswith(prefix):
                continue
            seen.add(rec['uuid'])
            providers[rec['name']] = self._details(rec)
        for uuid in list(self._cache):
            if uuid not in seen:
                self._cache.pop(uuid, None)
        if root_state is None:
            raise ReadError('root provider %s missing from its own tree' %
                            self.root_name)
        return plan_mod.TreeSnapshot(root=root_state, providers=providers)

    def _details(self, rec):
        cached = self._cache.get(rec['uuid'])
        if (cached is not None and cached.generation == rec['generation']
                and cached.name == rec['name']):
            return plan_mod.ProviderState(
                uuid=cached.uuid, name=cached.name,
                generation=cached.generation,
                parent_uuid=rec.get('parent_provider_uuid'),
                traits=cached.traits,
                inventories={k: dict(v)
                             for k, v in cached.inventories.items()})
        return self.read_provider(rec['uuid'], rec['name'],
                                  rec.get('parent_provider_uuid'))

    def read_provider(self, uuid, name=None, parent_uuid=None):
        """Fetch one provider's traits and inventories (2 requests).

        Returns None when the provider is gone.
        """
        for _attempt in range(3):
            traits = self.client.get('/resource_providers/%s/traits' % uuid)
            if traits.status == 404:
                self.forget(uuid)
                return None
            traits = self._check(traits)
            inv = self.client.get('/resource_providers/%s/inventories' % uuid)
            if inv.status == 404:
                self.forget(uuid)
                return None
            inv = self._check(inv)
            generation = inv['resource_provider_generation']
            if traits['resource_provider_generation'] == generation:
                break
            # it changed between the two reads: read both again
        else:
            raise ReadError('provider %s keeps changing while read' % uuid)
        state = plan_mod.ProviderState(
            uuid=uuid, name=name or uuid, generation=generation,
            parent_uuid=parent_uuid, traits=frozenset(traits['traits']),
            inventories=inv['inventories'])
        self.remember(state)
        return state
