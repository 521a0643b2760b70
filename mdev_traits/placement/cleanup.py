"""Remove what the exporter published, per its ownership record.

Used by ``mdev-traits-exporter cleanup`` (uninstall, rollback). What is
removed, and nothing else:

* on every provider of the record that Placement still holds: the traits
  the record says the exporter set (never ``OWNER_NOVA``, never a trait
  someone else set);
* the providers the record says the exporter created (same name and
  uuid), unless nova-compute adopted them (``OWNER_NOVA``): deleted, child
  providers before their parent. Placement refuses to delete a provider
  that has allocations (a VM uses the device): it is left as it is and
  reported, run ``cleanup`` again once the VMs are gone;
* the custom traits the record says the exporter defined (Placement
  answered ``201 Created`` to its ``PUT /traits``; ``defined_traits``,
  see :mod:`mdev_traits.placement.record`), version buckets included,
  whether or not a provider of this host has them: ``DELETE
  /traits/{name}``, which Placement refuses (409) while any provider of
  any host has the trait, so nothing another host uses goes away. A custom
  trait the exporter set but did not define (it existed: an operator's
  driver threshold, neutron's ``CUSTOM_PHYSNET_*``, another host's) is
  never deleted; it is reported as kept.

:func:`plan` is pure; :class:`Cleaner` sends the requests.
"""

import dataclasses
import typing
import urllib.parse

from mdev_traits.mapping import names
from mdev_traits.placement import plan as plan_mod

# traits cleanup never removes, whatever a record says
NEVER_REMOVED = frozenset([plan_mod.OWNER_NOVA])
# attempts at a trait update that races with another writer (409)
MAX_ATTEMPTS = 3


@dataclasses.dataclass(frozen=True)
class Record:
    """What cleanup needs of the ownership record, per provider name."""

    traits: typing.Dict[str, typing.FrozenSet[str]]
    # name -> uuid of the providers the exporter created
    created: typing.Dict[str, str]
    # custom traits the exporter defined (Placement answered 201)
    defined: typing.FrozenSet[str] = frozenset()

    def names(self):
        return set(self.traits) | set(self.created)


def record_from_ownership(own):
    """The :class:`Record` of the exporter's ownership record (what
    :meth:`mdev_traits.placement.state.StateStore.load` returns; a version
    1 file is migrated there, :meth:`~mdev_traits.placement.record.
    Ownership.from_v1`). A record written before ``defined`` existed
    names no trait the exporter defined."""
    return Record(traits={n: frozenset(t) for n, t in own.traits.items()},
                  created=dict(own.created), defined=frozenset(own.defined))


def remaining_ownership(own, cleaned, deleted_traits=()):
    """A copy of the record ``own`` without the providers in ``cleaned``
    (whatever fields its version has) and without the defined custom
    traits in ``deleted_traits``."""
    rest = dataclasses.replace(own)
    for field in dataclasses.fields(own):
        value = getattr(own, field.name)
        if isinstance(value, dict):
            setattr(rest, field.name, {k: v for k, v in value.items()
                                       if k not in cleaned})
    rest.defined = frozenset(own.defined) - frozenset(deleted_traits)
    return rest


@dataclasses.dataclass(frozen=True)
class Action:
    """What cleanup does to one provider."""

    name: str
    uuid: str
    delete: bool
    # traits removed (all of them, for a provider deleted)
    remove: typing.Tuple[str, ...]
    # traits left in place (not the exporter's)
    keep: typing.Tuple[str, ...]

    def describe(self, dry_run=False):
        would = 'would ' if dry_run else ''
        if self.delete:
            text = '%s: %sdelete the provider (the exporter created it)' % (
                self.name, would)
        else:
            text = '%s: %sremove %d trait(s)' % (self.name, would,
                                                 len(self.remove))
        if self.keep:
            text += '; %s: %s' % (
                'it also has' if self.delete else 'kept',
                abridged(self.keep))
        return text


def abridged(items, limit=5):
    items = sorted(items)
    if len(items) <= limit:
        return ', '.join(items)
    return '%s and %d more' % (', '.join(items[:limit]), len(items) - limit)


def plan(providers, record):
    """The :class:`Action` per provider (pure).

    ``providers``: the :class:`~mdev_traits.placement.plan.ProviderState`
    of the providers Placement holds (children before their parents, as
    they should be deleted); a provider of the record that is not there
    is gone already. Returns (actions, names of the record's providers
    that need nothing).
    """
    actions = []
    clean = set()
    for state in providers:
        if state.name not in record.names():
            continue
        present = frozenset(state.traits)
        created = record.created.get(state.name) == state.uuid
        if created and plan_mod.OWNER_NOVA not in present:
            actions.append(Action(
                state.name, state.uuid, True, tuple(sorted(present)),
                tuple(sorted(present - record.traits.get(
                    state.name, frozenset())))))
            continue
        owned = (record.traits.get(state.name, frozenset()) & present) \
            - NEVER_REMOVED
        if not owned:
            clean.add(state.name)
            continue
        actions.append(Action(state.name, state.uuid, False,
                              tuple(sorted(owned)),
                              tuple(sorted(present - owned))))
    seen = {s.name for s in providers}
    clean |= record.names() - seen
    return actions, clean


def trait_candidates(record):
    """(custom traits cleanup may delete: those the exporter defined,
    custom traits it set but did not define: kept, not its own), sorted.

    Only the record says which the exporter defined: a name (a version
    bucket, ``CUSTOM_PHYSNET_*``) cannot tell an operator's or another
    service's trait from the exporter's.
    """
    defined = {t for t in record.defined
               if t.startswith(names.CUSTOM_PREFIX)}
    custom = {t for traits in record.traits.values() for t in traits
              if t.startswith(names.CUSTOM_PREFIX)}
    return sorted(defined), sorted(custom - defined)


class Cleaner(object):
    """Carries out a cleanup with a
    :class:`~mdev_traits.placement.client.PlacementClient`."""

    def __init__(self, client, reader):
        self.client = client
        self.reader = reader

    def apply(self, action):
        """Carry out ``action``: None when done, else why not."""
        if action.delete:
            resp = self.client.delete('/resource_providers/%s' %
                                      action.uuid)
            if resp.ok or resp.status == 404:
                return None
            return 'Placement refused to delete it: %s %s (allocations: ' \
                'a VM still uses it?)' % (resp.status, resp.error_detail)
        remove = frozenset(action.remove)
        for _attempt in range(MAX_ATTEMPTS):
            state = self.reader.read_provider(action.uuid, action.name)
            if state is None:
                return None
            body = {'traits': sorted(frozenset(state.traits) - remove),
                    'resource_provider_generation': state.generation}
            resp = self.client.put('/resource_providers/%s/traits' %
                                   action.uuid, body)
            if resp.ok or resp.status == 404:
                return None
            if resp.status != 409:
                break
        return 'Placement refused the change: %s %s' % (
            resp.status, resp.error_detail)

    def users(self, trait):
        """uuids of the providers that have ``trait``."""
        resp = self.client.get('/resource_providers?required=%s' %
                               urllib.parse.quote(trait))
        if resp.status != 200:
            return None
        return {rp['uuid'] for rp in resp.body.get('resource_providers', ())}

    def delete_trait(self, trait):
        """'deleted', 'in use' or 'gone'; None when refused otherwise."""
        resp = self.client.delete('/traits/%s' % urllib.parse.quote(trait))
        if resp.status == 204:
            return 'deleted'
        if resp.status == 409:
            return 'in use'
        if resp.status == 404:
            return 'gone'
        return None
