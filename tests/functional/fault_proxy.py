"""A small threaded HTTP proxy in front of the Placement fixture that
injects faults from outside the exporter, the way they happen.

Point the exporter's ``[placement] endpoint`` at :attr:`FaultProxy.url`.
Every request is forwarded to Placement unchanged, except the n-th one
matching a :class:`Fault` (method and path regex), which gets its action:

``503``
    answered 503 by the proxy; Placement never sees the request.
``drop``
    the connection is closed without an answer; Placement never sees it.
``drop_after``
    forwarded (Placement applies it), then the connection is closed
    without an answer: the write happened, the client never learns it.
``delay``
    held ``delay`` seconds (past the client's timeout), then forwarded:
    the write lands after the client gave up.
``call``
    ``hook()`` runs first (for example a concurrent writer that makes the
    request a 409), then the request is forwarded.

``policy(method, path) -> Fault or None`` decides for requests that no
listed fault took (randomized tests).
"""

import dataclasses
import http.client
import http.server
import re
import socket
import threading
import time
import typing
import urllib.parse

ACTIONS = ('503', 'drop', 'drop_after', 'delay', 'call')


@dataclasses.dataclass
class Fault:
    method: str
    path: str  # regex, searched in the path with its query string
    action: str = '503'
    nth: int = 1
    delay: float = 0.0
    hook: typing.Optional[typing.Callable[[], None]] = None
    seen: int = 0
    fired: bool = False

    def __post_init__(self):
        if self.action not in ACTIONS:
            raise ValueError('unknown action %r' % self.action)
        self._regex = re.compile(self.path)

    def matches(self, method, path):
        return method == self.method and bool(self._regex.search(path))


class FaultProxy(object):

    def __init__(self, upstream_url, timeout=30.0):
        parsed = urllib.parse.urlsplit(upstream_url)
        self.upstream = (parsed.hostname, parsed.port or 80)
        self.prefix = parsed.path.rstrip('/')
        self.timeout = timeout
        self.faults = []
        self.policy = None
        # (method, path, action or None) of every request, in order
        self.log = []
        self._lock = threading.Lock()
        # requests being handled (a delayed one outlives its client)
        self._inflight = 0
        self._idle = threading.Condition(self._lock)
        self._server = None
        self._thread = None

    # -- control -----------------------------------------------------------
    def add(self, method, path, action='503', nth=1, delay=0.0, hook=None):
        fault = Fault(method, path, action, nth, delay, hook)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self):
        with self._lock:
            self.faults = []
            self.policy = None

    def faults_fired(self):
        with self._lock:
            return [e for e in self.log if e[2] is not None]

    def wait_idle(self, timeout=30):
        """Wait until no request is being handled (a delayed request
        lands after its client gave up); True when idle."""
        with self._idle:
            return self._idle.wait_for(lambda: self._inflight == 0,
                                       timeout)

    def _enter(self):
        with self._lock:
            self._inflight += 1

    def _leave(self):
        with self._idle:
            self._inflight -= 1
            self._idle.notify_all()

    def _decide(self, method, path):
        with self._lock:
            action = None
            for fault in self.faults:
                if fault.fired or not fault.matches(method, path):
                    continue
                fault.seen += 1
                if fault.seen == fault.nth:
                    fault.fired = True
                    action = fault
                    break
            if action is None and self.policy is not None:
                action = self.policy(method, path)
            self.log.append((method, path, action and action.action))
            return action

    # -- server ------------------------------------------------------------
    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return 'http://%s:%d%s' % (host, port, self.prefix)

    def start(self):
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                # headers and body go out as two writes: without this,
                # Nagle and the client's delayed ACK add 40 ms to each
                self.connection.setsockopt(socket.IPPROTO_TCP,
                                           socket.TCP_NODELAY, 1)

            def _handle(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length) if length else None
                fault = proxy._decide(self.command, self.path)
                action = fault.action if fault else None
                if action == '503':
                    data = (b'{"errors": [{"status": 503, "title": "Service '
                            b'Unavailable", "detail": "injected"}]}')
                    self.send_response(503)
                    self.send_header('Content-Type', 'application/json')
                    self.send_header('Content-Length', str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if action == 'drop':
                    self._drop()
                    return
                if action == 'delay':
                    time.sleep(fault.delay)
                if action == 'call' and fault.hook is not None:
                    fault.hook()
                status, headers, data = proxy._forward(
                    self.command, self.path, self.headers, body)
                if action == 'drop_after':
                    self._drop()
                    return
                self.send_response(status)
                for name, value in headers:
                    if name.lower() in ('connection', 'transfer-encoding',
                                        'content-length', 'date',
                                        'server'):
                        continue
                    self.send_header(name, value)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _drop(self):
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            def _safe_handle(self):
                proxy._enter()
                try:
                    self._handle()
                except (BrokenPipeError, ConnectionResetError):
                    # the client gave up (its timeout): nothing to answer
                    self.close_connection = True
                finally:
                    proxy._leave()

            do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _safe_handle

        self._server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                       Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={'poll_interval': 0.1},
                                        daemon=True)
        self._thread.start()
        return self

    def _forward(self, method, path, headers, body):
        conn = http.client.HTTPConnection(*self.upstream,
                                          timeout=self.timeout)
        try:
            fwd = {k: v for k, v in headers.items()
                   if k.lower() not in ('host', 'connection',
                                        'content-length')}
            conn.request(method, path, body=body, headers=fwd)
            resp = conn.getresponse()
            return resp.status, resp.getheaders(), resp.read()
        finally:
            conn.close()

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(10)
            self._server = None
