"""Why Placement could not be reached, in an operator's words.

keystoneauth reports every transport problem met during version discovery
as one ``DiscoveryFailure: Unable to find a version discovery document``:
``keystoneauth1/discover.py`` ``EndpointData._run_discovery`` catches
``DiscoveryFailure``, ``HttpError`` and ``ConnectionError`` for each
candidate URL and logs the cause at DEBUG only. A refused connection, an
unknown host name, https against an http server, a server that never
answers and an endpoint with a wrong path then all read the same.

:class:`TransportWatch` wraps the transport adapters of the keystoneauth
session's ``requests.Session`` (``requests.Session.mount``) and remembers
the outcome of the last request sent (exception, or status of the answer);
:func:`describe` turns an exception, with that outcome, into
``(kind, text)``: ``kind`` one of the names below, ``text`` one line that
names the URL.
"""

import socket
import ssl

from keystoneauth1 import exceptions as ks_exc
import requests

REFUSED = 'connection refused'
NAME_NOT_FOUND = 'name not found'
TLS = 'TLS error'
TIMEOUT = 'timeout'
WRONG_PATH = 'wrong path'
CONNECTION = 'connection failed'
AUTH_REFUSED = 'credentials refused'
AUTH_FAILED = 'authentication failed'
NO_ENDPOINT = 'no endpoint'
CONFIGURATION = 'configuration'

MAX_TEXT = 400


class Outcome(object):
    """The last request the transport sent: ``url`` and either ``error``
    (the exception it raised) or ``status`` (of the answer)."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.url = None
        self.error = None
        self.status = None
        self.timeout = None


class TransportWatch(requests.adapters.BaseAdapter):
    """A transport adapter that records each outcome in ``outcome`` and
    delegates everything to the adapter it replaces."""

    def __init__(self, inner, outcome):
        super().__init__()
        self.inner = inner
        self.outcome = outcome

    def send(self, request, **kwargs):
        self.outcome.reset()
        self.outcome.url = request.url
        self.outcome.timeout = kwargs.get('timeout')
        try:
            resp = self.inner.send(request, **kwargs)
        except Exception as exc:  # noqa: B902 - recorded and re-raised
            self.outcome.error = exc
            raise
        self.outcome.status = resp.status_code
        return resp

    def close(self):
        self.inner.close()


def watch(ks_session, outcome):
    """Record the outcomes of every request ``ks_session`` sends."""
    transport = ks_session.session
    for prefix, inner in list(transport.adapters.items()):
        if not isinstance(inner, TransportWatch):
            transport.mount(prefix, TransportWatch(inner, outcome))
    return outcome


def _chain(exc):
    """``exc`` and every exception behind it (cause, context, urllib3's
    ``reason``, exceptions in ``args``), nearest first."""
    seen = []
    todo = [exc]
    while todo and len(seen) < 20:
        cur = todo.pop(0)
        if not isinstance(cur, BaseException):
            continue
        if any(cur is s for s in seen):
            continue
        seen.append(cur)
        todo.extend([cur.__cause__, cur.__context__,
                     getattr(cur, 'reason', None)])
        todo.extend(a for a in getattr(cur, 'args', ())
                    if isinstance(a, BaseException))
    return seen


def _name(exc):
    return type(exc).__name__


def _transport_kind(exc):
    """(kind, the exception that says why) for a transport failure."""
    chain = _chain(exc)
    checks = (
        (TLS, lambda e: isinstance(e, (ssl.SSLError,
                                       requests.exceptions.SSLError,
                                       ks_exc.SSLError))),
        (NAME_NOT_FOUND, lambda e: (isinstance(e, socket.gaierror)
                                    or _name(e) == 'NameResolutionError')),
        (REFUSED, lambda e: isinstance(e, ConnectionRefusedError)),
        (TIMEOUT, lambda e: isinstance(e, (TimeoutError, socket.timeout,
                                           requests.exceptions.Timeout,
                                           ks_exc.ConnectTimeout))
         or _name(e) in ('ReadTimeoutError', 'ConnectTimeoutError')),
    )
    for kind, test in checks:
        for e in chain:
            if test(e):
                return kind, e
    deepest = chain[-1]
    for e in reversed(chain):
        if isinstance(e, OSError):
            deepest = e
            break
    return CONNECTION, deepest


def _one_line(text):
    text = ' '.join(str(text).split())
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT - 3] + '...'
    return text


def _reason(cause):
    """The operating system's words for ``cause`` (``Connection
    refused``, ``Name or service not known``), else its text."""
    for e in _chain(cause):
        if isinstance(e, OSError) and e.strerror and not isinstance(
                e, ssl.SSLError):
            return e.strerror
    return '%s: %s' % (_name(cause), cause)


def _detail(kind, cause, outcome):
    if kind == TIMEOUT:
        timeout = outcome.timeout if outcome is not None else None
        if isinstance(timeout, tuple):
            timeout = max(t for t in timeout if t is not None)
        if timeout:
            return 'no answer within %gs ([placement] timeout)' % timeout
        return 'no answer in time'
    if kind in (REFUSED, NAME_NOT_FOUND, CONNECTION):
        return _reason(cause)
    if kind == TLS:
        inner = [e for e in _chain(cause) if isinstance(e, ssl.SSLError)]
        text = str(inner[-1] if inner else cause)
        if 'WRONG_VERSION_NUMBER' in text or 'wrong version' in text:
            return '%s (an https URL for a server that speaks http?)' % (
                text)
        return text
    return '%s: %s' % (_name(cause), cause)


def describe(exc, outcome=None):
    """``(kind, text)`` for an exception from keystoneauth or the SDK."""
    try:
        return _describe(exc, outcome)
    except Exception:  # noqa: B902 - never hide the failure itself
        return _name(exc), _one_line('%s: %s' % (_name(exc), exc))


def _describe(exc, outcome):
    if isinstance(exc, ks_exc.DiscoveryFailure) and outcome is not None:
        if outcome.error is not None:
            kind, cause = _transport_kind(outcome.error)
            return kind, _one_line('%s at %s: %s' % (
                kind, outcome.url, _detail(kind, cause, outcome)))
        if outcome.status == 404 or outcome.status == 200:
            return WRONG_PATH, _one_line(
                '%s: %s answered HTTP %d without a Placement version '
                'document (check [placement] endpoint, endpoint_override '
                'or the catalog)' % (WRONG_PATH, outcome.url,
                                     outcome.status))
        if outcome.status is not None:
            return 'HTTP %d' % outcome.status, _one_line(
                'version discovery at %s answered HTTP %d' % (
                    outcome.url, outcome.status))
    if isinstance(exc, ks_exc.ConnectionError):
        kind, cause = _transport_kind(exc)
        url = outcome.url if outcome is not None and outcome.url else None
        where = ' at %s' % url if url else ''
        return kind, _one_line('%s%s: %s' % (kind, where,
                                             _detail(kind, cause, outcome)))
    if isinstance(exc, ks_exc.RequestTimeout):
        return TIMEOUT, _one_line('%s: %s' % (TIMEOUT, exc))
    if isinstance(exc, ks_exc.HttpError):
        # with raise_exc=False only authentication requests raise these
        status = getattr(exc, 'http_status', None)
        kind = AUTH_REFUSED if status in (401, 403) else AUTH_FAILED
        return kind, _one_line('%s: HTTP %s from %s: %s' % (
            kind, status, getattr(exc, 'url', None) or 'Keystone',
            exc.message if hasattr(exc, 'message') else exc))
    if isinstance(exc, ks_exc.EndpointNotFound):
        return NO_ENDPOINT, _one_line('%s: %s' % (NO_ENDPOINT, exc))
    if isinstance(exc, (ks_exc.MissingAuthPlugin, ks_exc.AuthPluginException,
                        ks_exc.OptionError)):
        return CONFIGURATION, _one_line(
            '[placement] authentication options: %s: %s' % (_name(exc),
                                                            exc))
    if isinstance(exc, ks_exc.ClientException):
        return _name(exc), _one_line('%s: %s' % (_name(exc), exc))
    return _name(exc), _one_line('%s: %s' % (_name(exc), exc))
