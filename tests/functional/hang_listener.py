"""A TCP listener that accepts connections and never answers.

The fault a Placement behind a stuck load balancer or a frozen API
process shows: the connection is established (so no connect error comes
back quickly), the request is sent, and no byte of an answer ever comes.
Only a client-side read timeout ends the wait.

With ``discovery=True`` it answers ``GET /`` with Placement's version
document (as ``placement/handlers/root.py`` ``home`` does) and hangs on
every other request: version discovery succeeds, the API requests then
never get an answer.

Standard library only, on loopback. ``accepted`` counts connections,
``hung`` the requests left without an answer; every connection is held
open until :meth:`stop`.
"""

import json
import socket
import threading

# Placement's root document (placement/handlers/root.py, microversion
# range of Placement 2024.1)
VERSIONS = json.dumps({'versions': [{
    'id': 'v1.0', 'max_version': '1.39', 'min_version': '1.0',
    'status': 'CURRENT', 'links': [{'rel': 'self', 'href': ''}]}]})


class HangListener(object):

    def __init__(self, host='127.0.0.1', discovery=False):
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self.host = host
        self.port = self._sock.getsockname()[1]
        self.discovery = discovery
        self.accepted = 0
        self.hung = 0
        self._lock = threading.Lock()
        self._held = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self):
        return 'http://%s:%d' % (self.host, self.port)

    def start(self):
        self._thread.start()
        return self

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                self._held.append(conn)
            threading.Thread(target=self._handle, args=(conn,),
                             daemon=True).start()

    def _read_request(self, conn, buf):
        """(request line, rest of the buffer), or (None, b'')."""
        while b'\r\n\r\n' not in buf:
            try:
                data = conn.recv(65536)
            except OSError:
                return None, b''
            if not data:
                return None, b''
            buf += data
        head, _, rest = buf.partition(b'\r\n\r\n')
        return head.split(b'\r\n', 1)[0].decode('latin-1'), rest

    def _handle(self, conn):
        conn.settimeout(None)
        buf = b''
        while not self._stop.is_set():
            line, buf = self._read_request(conn, buf)
            if line is None:
                return
            parts = line.split()
            if self.discovery and len(parts) > 1 and parts[1] == '/':
                body = VERSIONS.encode()
                try:
                    conn.sendall(b'HTTP/1.1 200 OK\r\n'
                                 b'Content-Type: application/json\r\n'
                                 b'Content-Length: %d\r\n\r\n%s' % (
                                     len(body), body))
                except OSError:
                    return
                continue
            with self._lock:
                self.hung += 1
            # no answer, ever: wait until the client gives up or stop()
            self._stop.wait()
            return

    def stop(self):
        self._stop.set()
        self._thread.join(5)
        with self._lock:
            held, self._held = self._held, []
        for conn in held:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()
        self._sock.close()
