"""systemd's side of sd_notify, for tests: a datagram socket bound where
``NOTIFY_SOCKET`` points (sd_notify(3)), read with :meth:`recv`."""

import os
import socket

import fixtures


class NotifySocket(fixtures.Fixture):
    """``NotifySocket(timeout=30)``: ``path``, ``environ`` (what systemd
    passes the service) and ``recv()``."""

    def __init__(self, timeout=30):
        super().__init__()
        self.timeout = timeout

    def _setUp(self):
        directory = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(directory, 'notify')
        self.environ = {'NOTIFY_SOCKET': self.path}
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(self.sock.close)
        self.sock.bind(self.path)
        self.sock.settimeout(self.timeout)

    def recv(self, size=4096):
        return self.sock.recv(size)
