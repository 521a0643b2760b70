"""A thin, counted client for the Placement REST API over openstacksdk.

Every request goes through openstacksdk's placement proxy (a keystoneauth
adapter configured from ``[placement]``), with the microversion pinned to
:data:`MICROVERSION`:

* 1.39 is the newest microversion that all supported Placement releases
  (Yoga and later) serve; it has ``in_tree`` (1.14), ``required`` on
  allocation candidates and provider lists (1.18/1.22), error ``code`` in
  409 answers (1.23, needed to tell ``placement.concurrent_update`` from
  ``placement.inventory.inuse``), and consumer generations (1.28).
"""

import collections
import dataclasses
import logging as std_logging
import typing

from keystoneauth1 import exceptions as ks_exc
from oslo_log import log as logging

from mdev_traits.placement import failures

LOG = logging.getLogger(__name__)

MICROVERSION = '1.39'

CONCURRENT_UPDATE = 'placement.concurrent_update'
INVENTORY_IN_USE = 'placement.inventory.inuse'
PROVIDER_IN_USE = 'placement.resource_provider.inuse'
DUPLICATE_NAME = 'placement.duplicate_name'


class PlacementUnavailable(Exception):
    """Placement could not be reached or did not answer usefully.

    ``kind`` names the failure without request details (exception class or
    HTTP status), to log one line per change of state.
    """

    def __init__(self, message, kind='unavailable'):
        super().__init__(message)
        self.kind = kind


@dataclasses.dataclass
class Response:
    status: int
    body: typing.Any
    method: str
    url: str

    @property
    def ok(self):
        return 200 <= self.status < 300

    @classmethod
    def nothing_to_do(cls, method):
        """A success for a write that turned out not to be needed."""
        return cls(200, {}, method, None)

    @property
    def sent(self):
        """False for :meth:`nothing_to_do` answers."""
        return self.url is not None

    @property
    def error_code(self):
        """The ``code`` of the first error in a Placement error body."""
        try:
            return self.body['errors'][0].get('code')
        except (KeyError, IndexError, TypeError, AttributeError):
            return None

    @property
    def error_detail(self):
        try:
            err = self.body['errors'][0]
            return err.get('detail') or err.get('title')
        except (KeyError, IndexError, TypeError, AttributeError):
            return str(self.body)[:300]

    def __str__(self):
        return '%s %s -> %s' % (self.method, self.url, self.status)


class PlacementClient(object):
    """Sends requests, returns :class:`Response`, counts them."""

    def __init__(self, adapter=None, microversion=MICROVERSION,
                 adapter_factory=None, outcome=None):
        """``adapter`` or ``adapter_factory()`` (called at the first
        request, and again after it failed: openstacksdk discovers the API
        version when it builds the proxy, so Placement may be down then).
        ``outcome``: the :class:`failures.Outcome` the adapter's transport
        records (see :func:`proxy_from_session`), to say why a request
        failed.
        """
        self._adapter = adapter
        self._adapter_factory = adapter_factory
        self.outcome = outcome or failures.Outcome()
        self.microversion = microversion
        # (method, status) -> count; status 0 when no answer came back
        self.requests = collections.Counter()

    def _unavailable(self, method, url, exc, prefix=''):
        """Every keystoneauth (and SDK) failure: one line, with its
        kind in operator words (refused, name not found, TLS, timeout,
        wrong path, ...) and the URL."""
        self.requests[(method, 0)] += 1
        kind, text = failures.describe(exc, self.outcome)
        return PlacementUnavailable('%s %s: %s%s' % (method, url, prefix,
                                                     text), kind=kind)

    def request(self, method, url, body=None):
        kwargs = {'microversion': self.microversion,
                  'headers': {'Accept': 'application/json'}}
        if body is not None:
            kwargs['json'] = body
        adapter = self._get_adapter(method, url)
        self.outcome.reset()
        try:
            resp = adapter.request(url, method, raise_exc=False, **kwargs)
        except ks_exc.ClientException as exc:
            # keystoneauth's own errors: transport, and authentication
            # (Keystone answering 5xx or 401 while getting a token)
            raise self._unavailable(method, url, exc) from exc
        self.requests[(method, resp.status_code)] += 1
        try:
            data = resp.json() if resp.content else None
        except ValueError:
            data = resp.text
        result = Response(resp.status_code, data, method, url)
        if resp.status_code in (401, 403):
            raise PlacementUnavailable(
                '%s: credentials refused: %s' % (result, result.error_detail),
                kind='HTTP %d' % resp.status_code)
        if resp.status_code >= 500:
            raise PlacementUnavailable(
                '%s: %s' % (result, result.error_detail),
                kind='HTTP %d' % resp.status_code)
        return result

    def _get_adapter(self, method, url):
        if self._adapter is None:
            self.outcome.reset()
            try:
                self._adapter = self._adapter_factory()
            except Exception as exc:  # noqa: B902 - keystoneauth and sdk
                # raise many kinds of errors when the service is down
                raise self._unavailable(method, url, exc,
                                        'cannot reach Placement: ') from exc
        return self._adapter

    def get(self, url):
        return self.request('GET', url)

    def put(self, url, body):
        return self.request('PUT', url, body)

    def post(self, url, body):
        return self.request('POST', url, body)

    def delete(self, url):
        return self.request('DELETE', url)

    def request_counts(self):
        """{"GET": n, ...} over all statuses."""
        counts = collections.Counter()
        for (method, _status), n in self.requests.items():
            counts[method] += n
        return dict(counts)

    def write_count(self):
        return sum(n for (m, _s), n in self.requests.items() if m != 'GET')


class QuietRetries(std_logging.LoggerAdapter):
    """The logger handed to keystoneauth (``Adapter(logger=...)``): its
    WARNING for each connect retry (``keystoneauth1/session.py``
    ``Session._send_request``, "Failure: ... Retrying in 0.5s") becomes
    DEBUG. A failure is reported once per change of state by the exporter
    (one line for ``--once``), not once per retry."""

    def warning(self, msg, *args, **kwargs):
        self.debug(msg, *args, **kwargs)


def proxy_from_session(session, config, outcome=None):
    """openstacksdk's placement proxy over the ready keystoneauth
    ``session`` (timeouts and retries are the session's), for the
    openstacksdk ``config`` (a ``CloudRegion``, which holds the adapter
    options: service type, interfaces, endpoint override, region); its
    transport records into ``outcome`` (see :mod:`failures`)."""
    from openstack import connection

    if outcome is not None:
        failures.watch(session, outcome)
    conn = connection.Connection(config=config)
    proxy = conn.placement
    proxy.logger = QuietRetries(std_logging.getLogger('keystoneauth.session'),
                                {})
    return proxy


def new_client(connect):
    """A :class:`PlacementClient` whose adapter is ``connect(outcome=...)``,
    made at the first request (see :class:`PlacementClient`)."""
    outcome = failures.Outcome()
    return PlacementClient(
        adapter_factory=lambda: connect(outcome=outcome), outcome=outcome)
