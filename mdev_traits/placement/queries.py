"""Read-only questions to Placement about other hosts.

What ``mdev-traits-exporter requirements --check`` asks: which providers
an allocation candidates query selects, which providers have free
capacity of a resource class, the traits of one provider, and the names
of providers by uuid. Every request goes through the
:class:`~mdev_traits.placement.client.PlacementClient` (its timeouts and
retries); an unreachable Placement raises
:class:`~mdev_traits.placement.client.PlacementUnavailable`. The number
of requests and the size of the answers are bounded: at most
:data:`MAX_CANDIDATES` allocation requests are asked for, at most
:data:`MAX_PROVIDERS` providers with capacity are returned (each costs a
traits request), and at most :data:`MAX_NAME_LOOKUPS` names are looked up
(beyond, the uuid stands for the name, as for a provider whose name cannot
be read). What a bound leaves out is said, in one sentence appended to
``notes``, so that a list is never shown as complete when it is not.
"""

import dataclasses
import typing
import urllib.parse

from mdev_traits.placement import client as client_mod

# nova asks for at most [scheduler] max_placement_results allocation
# candidates, 1000 by default (nova/conf/scheduler.py;
# nova/scheduler/client/report.py get_allocation_candidates sends it as
# ``limit``, which Placement takes since microversion 1.16).
MAX_CANDIDATES = 1000
MAX_PROVIDERS = 2000
MAX_NAME_LOOKUPS = 4000


@dataclasses.dataclass(frozen=True)
class Provider:
    uuid: str
    name: str
    root_uuid: str


def candidates(client, query, notes=None, limit=MAX_CANDIDATES):
    """``(root uuid, provider uuid)`` for each provider of each allocation
    request of ``GET /allocation_candidates?<query>&limit=<limit>``, in
    Placement's order; none when Placement refuses the query (400: e.g. a
    trait it does not know, which no host has then)."""
    resp = client.get('/allocation_candidates?%s&limit=%d' % (query, limit))
    if resp.ok:
        summaries = resp.body.get('provider_summaries', {})
        requests = resp.body.get('allocation_requests', [])[:limit]
        if len(requests) >= limit and notes is not None:
            notes.append('only the first %d allocation candidates were '
                         'asked for: more hosts may qualify' % limit)
        return tuple(
            (summaries[rp_uuid]['root_provider_uuid'], rp_uuid)
            for ar in requests
            for rp_uuid in ar['allocations'])
    if resp.status != 400:
        raise client_mod.PlacementUnavailable('%s: %s' % (
            resp, resp.error_detail))
    return ()


def with_capacity(client, resource_class, limit=MAX_PROVIDERS, notes=None):
    """The providers with at least one free unit of ``resource_class``
    (``GET /resource_providers?resources=<rc>:1``; none when the answer is
    not a list), at most ``limit`` of them."""
    resp = client.get('/resource_providers?resources=%s:1' %
                      urllib.parse.quote(resource_class))
    records = (resp.body or {}).get('resource_providers', [])
    if len(records) > limit and notes is not None:
        notes.append('%d providers have free %s: only the first %d were '
                     'looked at' % (len(records), resource_class, limit))
    return tuple(Provider(uuid=rp['uuid'], name=rp['name'],
                          root_uuid=rp['root_provider_uuid'])
                 for rp in records[:limit])


def traits_of(client, uuid):
    """The traits of provider ``uuid`` (none when they cannot be read)."""
    resp = client.get('/resource_providers/%s/traits' % uuid)
    return tuple(resp.body.get('traits', [])) if resp.ok else ()


class ProviderNames(object):
    """Provider names by uuid, each looked up once (``GET
    /resource_providers/{uuid}``); the uuid itself when the provider
    cannot be read or after ``limit`` lookups."""

    def __init__(self, client, limit=MAX_NAME_LOOKUPS):
        self.client = client
        self.limit = limit
        self._names: typing.Dict[str, str] = {}
        self.lookups = 0
        # uuids shown for a name because the lookups ran out
        self.unresolved = set()

    def __call__(self, uuid):
        if uuid not in self._names:
            if self.lookups >= self.limit:
                self.unresolved.add(uuid)
                return uuid
            self.lookups += 1
            resp = self.client.get('/resource_providers/%s' % uuid)
            self._names[uuid] = resp.body['name'] if resp.ok else uuid
        return self._names[uuid]
