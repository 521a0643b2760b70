"""Read-only questions to Placement about other hosts.

What ``mdev-traits-exporter requirements --check`` asks: which providers
an allocation candidates query selects, which providers have free
capacity of a resource class, the traits of one provider, and the names
of providers by uuid. Every request goes through the
:class:`~mdev_traits.placement.client.PlacementClient` (its timeouts and
retries); an unreachable Placement raises
:class:`~mdev_traits.placement.client.PlacementUnavailable`. The number
of requests is bounded: at most :data:`MAX_PROVIDERS` providers with
capacity are returned (each costs a traits request), and at most
:data:`MAX_NAME_LOOKUPS` names are looked up (beyond, the uuid stands
for the name, as for a provider whose name cannot be read).
"""

import dataclasses
import typing
import urllib.parse

from mdev_traits.placement import client as client_mod

MAX_PROVIDERS = 2000
MAX_NAME_LOOKUPS = 4000


@dataclasses.dataclass(frozen=True)
class Provider:
    uuid: str
    name: str
    root_uuid: str


def candidates(client, query):
    """``(root uuid, provider uuid)`` for each provider of each allocation
    request of ``GET /allocation_candidates?<query>``, in Placement's
    order; none when Placement refuses the query (400: e.g. a trait it
    does not know, which no host has then)."""
    resp = client.get('/allocation_candidates?%s' % query)
    if resp.ok:
        summaries = resp.body.get('provider_summaries', {})
        return tuple(
            (summaries[rp_uuid]['root_provider_uuid'], rp_uuid)
            for ar in resp.body.get('allocation_requests', [])
            for rp_uuid in ar['allocations'])
    if resp.status != 400:
        raise client_mod.PlacementUnavailable('%s: %s' % (
            resp, resp.error_detail))
    return ()


def with_capacity(client, resource_class, limit=MAX_PROVIDERS):
    """The providers with at least one free unit of ``resource_class``
    (``GET /resource_providers?resources=<rc>:1``; none when the answer is
    not a list), at most ``limit`` of them."""
    resp = client.get('/resource_providers?resources=%s:1' %
                      urllib.parse.quote(resource_class))
    records = (resp.body or {}).get('resource_providers', [])
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

    def __call__(self, uuid):
        if uuid not in self._names:
            if self.lookups >= self.limit:
                return uuid
            self.lookups += 1
            resp = self.client.get('/resource_providers/%s' % uuid)
            self._names[uuid] = resp.body['name'] if resp.ok else uuid
        return self._names[uuid]
