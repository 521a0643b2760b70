"""PlacementClient: every kind of failure becomes PlacementUnavailable
with a stable ``kind`` (one log line per change of state)."""

import socket
import ssl

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
import requests
import testtools

from mdev_traits.cmd import exporter as exporter_cmd
from mdev_traits.conf import placement as placement_conf
from mdev_traits.placement import client as client_mod
from mdev_traits.placement import failures


class FakeResponse(object):

    def __init__(self, status, body=b'{}'):
        self.status_code = status
        self.content = body
        self.text = body.decode()

    def json(self):
        import json
        return json.loads(self.content)


class FakeAdapter(object):

    def __init__(self, outcome):
        self.outcome = outcome
        self.calls = []

    def request(self, url, method, **kwargs):
        self.calls.append((method, url, kwargs))
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


class TestClient(testtools.TestCase):

    def test_microversion_pinned(self):
        adapter = FakeAdapter(FakeResponse(200, b'{"a": 1}'))
        client = client_mod.PlacementClient(adapter)
        resp = client.get('/x')
        self.assertEqual({'a': 1}, resp.body)
        self.assertEqual('1.39', adapter.calls[0][2]['microversion'])
        self.assertEqual({'GET': 1}, client.request_counts())

    def test_failures(self):
        cases = [
            (ks_exc.ConnectFailure('refused'), failures.CONNECTION),
            (ks_exc.ConnectTimeout('slow'), failures.TIMEOUT),
            (ks_exc.RequestTimeout('slow'), failures.TIMEOUT),
            (ks_exc.SSLError('bad'), failures.TLS),
            (ks_exc.ServiceUnavailable(http_status=503, url='http://k/v3'),
             failures.AUTH_FAILED),
            (ks_exc.Unauthorized(http_status=401), failures.AUTH_REFUSED),
            (ks_exc.EndpointNotFound('no placement'), failures.NO_ENDPOINT),
            (ks_exc.UnknownConnectionError('odd', None),
             failures.CONNECTION),
            (FakeResponse(503, b'{"errors": [{"title": "down"}]}'),
             'HTTP 503'),
            (FakeResponse(401, b'{}'), 'HTTP 401'),
            (FakeResponse(403, b'{}'), 'HTTP 403'),
        ]
        for outcome, kind in cases:
            client = client_mod.PlacementClient(FakeAdapter(outcome))
            exc = self.assertRaises(client_mod.PlacementUnavailable,
                                    client.get, '/resource_providers')
            self.assertEqual(kind, exc.kind)

    def test_conflict_is_an_answer_with_its_code(self):
        body = (b'{"errors": [{"code": "placement.concurrent_update", '
                b'"detail": "generation conflict"}]}')
        client = client_mod.PlacementClient(FakeAdapter(
            FakeResponse(409, body)))
        resp = client.put('/resource_providers/u/traits', {})
        self.assertEqual(client_mod.CONCURRENT_UPDATE, resp.error_code)
        self.assertEqual(1, client.write_count())

    def test_adapter_built_lazily_and_retried(self):
        calls = []

        def factory():
            calls.append(1)
            if len(calls) == 1:
                raise ks_exc.DiscoveryFailure('placement down')
            return FakeAdapter(FakeResponse(200))

        client = client_mod.PlacementClient(adapter_factory=factory)
        exc = self.assertRaises(client_mod.PlacementUnavailable,
                                client.get, '/')
        self.assertEqual('DiscoveryFailure', exc.kind)
        self.assertIn('cannot reach Placement', str(exc))
        self.assertEqual(200, client.get('/').status)
        self.assertEqual(2, len(calls))


def chained(*excs):
    """Raise ``excs[-1]`` while handling ``excs[-2]``, ... as urllib3,
    requests and keystoneauth chain them; return the last one."""
    try:
        if len(excs) == 1:
            raise excs[0]
        try:
            raise chained(*excs[:-1])
        except BaseException:
            raise excs[-1]
    except BaseException as exc:
        return exc


class TestFailureKinds(testtools.TestCase):
    """The operator's words for what keystoneauth reports."""

    def _describe(self, exc, **outcome):
        rec = failures.Outcome()
        for key, value in outcome.items():
            setattr(rec, key, value)
        return failures.describe(exc, rec)

    def test_transport_failures(self):
        url = 'http://placement.example:8778/'
        refused = chained(ConnectionRefusedError(111, 'Connection refused'),
                          requests.exceptions.ConnectionError('pool'))
        name = chained(socket.gaierror(-2, 'Name or service not known'),
                       requests.exceptions.ConnectionError('pool'))
        tls = chained(ssl.SSLError(1, '[SSL: WRONG_VERSION_NUMBER] wrong '
                                      'version number'),
                      requests.exceptions.SSLError('pool'))
        timeout = requests.exceptions.ReadTimeout('read timed out')
        discovery = ks_exc.DiscoveryFailure('Unable to find a version '
                                            'discovery document')
        for error, kind, words in [
                (refused, failures.REFUSED, 'Connection refused'),
                (name, failures.NAME_NOT_FOUND, 'Name or service not known'),
                (tls, failures.TLS, 'speaks http'),
                (timeout, failures.TIMEOUT, 'no answer within 30s')]:
            got_kind, text = self._describe(discovery, url=url, error=error,
                                            timeout=30.0)
            self.assertEqual(kind, got_kind)
            self.assertIn(words, text)
            self.assertIn(url, text)
            self.assertNotIn('\n', text)
            # the same cause raised by keystoneauth outside discovery
            wrapped = chained(error, ks_exc.ConnectFailure('Unable to '
                                                           'establish'))
            self.assertEqual(kind, self._describe(wrapped, url=url)[0])

    def test_wrong_path(self):
        discovery = ks_exc.DiscoveryFailure('Unable to find a version '
                                            'discovery document')
        for status in (404, 200):
            kind, text = self._describe(
                discovery, url='http://placement.example/wrong',
                status=status)
            self.assertEqual(failures.WRONG_PATH, kind)
            self.assertIn('http://placement.example/wrong answered HTTP %d'
                          % status, text)
        kind, text = self._describe(discovery, url='http://p/', status=503)
        self.assertEqual('HTTP 503', kind)

    def test_keystone_answering_5xx(self):
        exc = ks_exc.ServiceUnavailable(
            http_status=503, url='http://keystone.example/v3/auth/tokens',
            message='down for maintenance')
        kind, text = self._describe(exc)
        self.assertEqual(failures.AUTH_FAILED, kind)
        self.assertIn('HTTP 503 from http://keystone.example/v3/auth/tokens',
                      text)

    def test_long_text_is_one_bounded_line(self):
        exc = ks_exc.ClientException('a\nb ' * 500)
        kind, text = self._describe(exc)
        self.assertLessEqual(len(text), failures.MAX_TEXT)
        self.assertNotIn('\n', text)


class TestTimeBounds(testtools.TestCase):
    """Every request is bounded: default [placement] timeout of about 30 s
    and one connect retry, taken by the session keystoneauth builds."""

    def _conf(self, text=''):
        import os
        import tempfile
        fd, path = tempfile.mkstemp()
        self.addCleanup(os.unlink, path)
        with os.fdopen(fd, 'w') as f:
            f.write(text)
        conf = exporter_cmd.build_conf()
        conf(['--config-file', path], project='mdev-traits')
        return conf

    def test_default_timeout_and_retries(self):
        conf = self._conf()
        self.assertEqual(30.0, conf.placement.timeout)
        self.assertEqual(1, conf.placement.connect_retries)
        sess = ks_loading.load_session_from_conf_options(conf, 'placement')
        self.assertEqual(30.0, sess.timeout)
        # one request against a Placement that never answers: every
        # attempt waits for the timeout, keystoneauth sleeps 0.5 s before
        # its retry; --once must end within 90 s
        worst = (conf.placement.timeout
                 * (conf.placement.connect_retries + 1) + 0.5)
        self.assertLessEqual(worst, 90)
        # the sample configuration shows the same defaults
        opts = {o.dest: o for o in placement_conf.list_opts()[0][1]}
        self.assertEqual(30.0, opts['timeout'].default)
        self.assertEqual(1, opts['connect_retries'].default)

    def test_operator_can_change_them(self):
        conf = self._conf('[placement]\ntimeout = 5\nconnect_retries = 0\n')
        sess = ks_loading.load_session_from_conf_options(conf, 'placement')
        self.assertEqual(5.0, sess.timeout)
        self.assertEqual(0, conf.placement.connect_retries)


class TestQuietRetries(testtools.TestCase):

    def test_retry_warning_becomes_debug(self):
        import logging
        import fixtures
        logs = self.useFixture(fixtures.FakeLogger(
            name='keystoneauth.session', level=logging.DEBUG,
            format='%(levelname)s %(message)s'))
        log = client_mod.QuietRetries(
            logging.getLogger('keystoneauth.session'), {})
        log.warning('Failure: %s. Retrying in %.1fs.', 'refused', 0.5)
        self.assertEqual('DEBUG Failure: refused. Retrying in 0.5s.\n',
                         logs.output)
