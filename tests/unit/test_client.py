"""PlacementClient: every kind of failure becomes PlacementUnavailable
with a stable ``kind`` (one log line per change of state)."""

from keystoneauth1 import exceptions as ks_exc
import testtools

from mdev_traits.placement import client as client_mod


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
            (ks_exc.ConnectFailure('refused'), 'ConnectFailure'),
            (ks_exc.ConnectTimeout('slow'), 'ConnectTimeout'),
            (ks_exc.RequestTimeout('slow'), 'RequestTimeout'),
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
        self.assertEqual(200, client.get('/').status)
        self.assertEqual(2, len(calls))
