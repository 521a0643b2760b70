#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.
"""A real OpenStack Placement service on loopback, for tests and demos.

The service is the unmodified ``openstack-placement`` WSGI application
(``placement.wsgi.init_application()``) with ``auth_strategy = noauth2``
and a SQLite database, served by a threaded stdlib ``wsgiref`` server on
127.0.0.1.

Each server runs in its own child process (``python -m
mdev_traits.testing.placement --managed ...``).  Placement keeps
process-global state that cannot be reset: ``placement.db_api.configure``
is ``run_once`` (a second application in the same process would silently
keep using the first database), the policy enforcer and the trait /
resource class sync caches are module globals, and oslo.log setup is
global.  A child process gives every server a clean slate, keeps placement
and its imports out of the test process, lets ``stop()`` really close the
listening socket, and lets ``start()`` bring the same database back on the
same port.

The child exits by itself if its parent dies (it watches its stdin pipe),
so a killed test runner does not leak listeners.

Run ``python -m mdev_traits.testing.placement`` to get a foreground
server for a demo; it prints its URL on stdout and stops cleanly on
SIGINT/SIGTERM.
"""

import argparse
import json as jsonlib
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import weakref

from mdev_traits import testing

testing.require(__name__, 'fixtures', 'placement')

import fixtures  # noqa: E402 - after the check that names the extra


DEFAULT_MICROVERSION = '1.39'
ADMIN_TOKEN = 'admin'
DEFAULT_HOST = '127.0.0.1'

CONFIG_FILE = 'placement.conf'  # the name placement.wsgi looks for
DB_FILE = 'placement.sqlite'
LOG_FILE = 'placement.log'

_MODULE = 'mdev_traits.testing.placement'
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

_CONFIG_TEMPLATE = """\
[DEFAULT]
debug = {debug}

[api]
auth_strategy = noauth2

[placement_database]
connection = {connection}
# Same call as "placement-manage db sync" (migration.upgrade('head')),
# run by placement itself when the application is loaded.
sync_on_startup = true
"""


class PlacementError(Exception):
    """The embedded Placement service could not be started."""


class OSCError(Exception):
    """The ``openstack`` command exited with a non-zero status."""

    def __init__(self, cmd, returncode, stdout, stderr):
        self.cmd = cmd
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        super(OSCError, self).__init__(
            '%s exited with %d:\n%s' % (' '.join(cmd), returncode, stderr))


def write_config(workdir, db_path=None, debug=False, db_url=None):
    """Write ``placement.conf`` into ``workdir`` and return its path.

    ``db_url``: an SQLAlchemy URL of another database (MySQL, MariaDB)
    instead of the SQLite file ``db_path``.
    """
    if db_path is None:
        db_path = os.path.join(workdir, DB_FILE)
    path = os.path.join(workdir, CONFIG_FILE)
    with open(path, 'w') as f:
        f.write(_CONFIG_TEMPLATE.format(
            connection=db_url or 'sqlite:///' + os.path.abspath(db_path),
            debug=str(bool(debug)).lower()))
    return path


def _no_proxy_opener():
    # Never send loopback requests through an http_proxy from the env.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _reap(proc, stdin):
    """Stop a child server process; safe to call more than once."""
    if stdin is not None and not stdin.closed:
        try:
            stdin.close()
        except OSError:
            pass
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class PlacementServer(object):
    """A Placement service in a child process, listening on loopback.

    :param host: address to bind, 127.0.0.1 by default.
    :param port: port to bind; 0 (default) picks a free one at the first
        ``start()`` and keeps it for later restarts.
    :param db_path: SQLite file; defaults to one inside ``workdir``.
    :param workdir: directory for ``placement.conf``, the database and
        ``placement.log``; a temporary one (removed by ``cleanup()``) is
        created when not given.
    :param start_timeout: seconds to wait for the service to listen.
    :param debug: enable placement debug logging (into the log file).
    """

    def __init__(self, host=DEFAULT_HOST, port=0, db_path=None,
                 workdir=None, start_timeout=60, debug=False, db_url=None):
        self.host = host
        self.port = port
        self.start_timeout = start_timeout
        self.debug = debug
        # The child runs with its work dir as cwd: no relative paths.
        self.workdir = workdir and os.path.abspath(workdir)
        self._rm_workdir = None
        self._db_path = db_path and os.path.abspath(db_path)
        # another database than SQLite (benchmarks): its SQLAlchemy URL
        self.db_url = db_url
        self._proc = None
        self._stdin = None
        self._finalizer = None
        self.startup_time = None

    # -- properties -------------------------------------------------------

    @property
    def db_path(self):
        if self._db_path is not None:
            return self._db_path
        if self.workdir is None:
            return None
        return os.path.join(self.workdir, DB_FILE)

    @property
    def log_path(self):
        if self.workdir is None:
            return None
        return os.path.join(self.workdir, LOG_FILE)

    @property
    def url(self):
        if not self.port:
            raise PlacementError('server has not been started')
        return 'http://%s:%d' % (self.host, self.port)

    @property
    def running(self):
        return self._proc is not None and self._proc.poll() is None

    # -- lifecycle --------------------------------------------------------

    def start(self):
        """Start the service and wait until it answers; returns the URL.

        After ``stop()`` this starts again on the same port and database.
        """
        if self.running:
            return self.url
        if self.workdir is None:
            self.workdir = tempfile.mkdtemp(prefix='placement-')
            # Removed by cleanup(), or at the latest when the interpreter
            # exits (after the child has been reaped).
            self._rm_workdir = weakref.finalize(
                self, shutil.rmtree, self.workdir, ignore_errors=True)
        else:
            os.makedirs(self.workdir, exist_ok=True)
        t0 = time.monotonic()
        cmd = [sys.executable, '-m', _MODULE, '--managed',
               '--host', self.host, '--port', str(self.port),
               '--workdir', self.workdir, '--db', self.db_path]
        if self.debug:
            cmd.append('--debug')
        if self.db_url:
            cmd += ['--db-url', self.db_url]
        env = dict(os.environ)
        if not _PACKAGE_ROOT.endswith(('site-packages', 'dist-packages')):
            env['PYTHONPATH'] = os.pathsep.join(
                p for p in (_PACKAGE_ROOT, env.get('PYTHONPATH')) if p)
        with open(self.log_path, 'ab') as log:
            self._proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=log, cwd=self.workdir, env=env, close_fds=True)
        self._stdin = self._proc.stdin
        self._finalizer = weakref.finalize(
            self, _reap, self._proc, self._stdin)
        try:
            url = self._wait_ready(t0 + self.start_timeout)
            self.port = int(url.rsplit(':', 1)[1])
            self._check_alive()
        except BaseException:
            self.stop()
            raise
        self.startup_time = time.monotonic() - t0
        return self.url

    def _wait_ready(self, deadline):
        """Read the URL line the child prints once it is listening."""
        out = self._proc.stdout
        buf = b''
        with selectors.DefaultSelector() as sel:
            sel.register(out, selectors.EVENT_READ)
            while b'\n' not in buf:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PlacementError(
                        'placement did not start within %ss\n%s'
                        % (self.start_timeout, self.log_tail()))
                if not sel.select(min(remaining, 0.5)):
                    continue
                chunk = os.read(out.fileno(), 4096)
                if not chunk:
                    self._proc.wait(timeout=10)
                    raise PlacementError(
                        'placement exited with %s before listening\n%s'
                        % (self._proc.returncode, self.log_tail()))
                buf += chunk
        # The child closes its stdout once ready.
        out.close()
        line = buf.split(b'\n', 1)[0].decode('utf-8', 'replace').strip()
        if not line.startswith('http://'):
            raise PlacementError('unexpected output from placement: %r\n%s'
                                 % (line, self.log_tail()))
        return line

    def _check_alive(self):
        status, body = self.request('GET', '/')
        if status != 200:
            raise PlacementError('GET / returned %s: %r' % (status, body))

    def stop(self):
        """Stop the service; the work dir and database are kept."""
        if self._finalizer is not None:
            self._finalizer()  # runs _reap() once, then detaches
            self._finalizer = None
        if self._proc is not None and self._proc.stdout is not None:
            self._proc.stdout.close()
        self._proc = None
        self._stdin = None

    def cleanup(self):
        """Stop the service and remove the temporary work dir, if ours."""
        self.stop()
        if self._rm_workdir is not None:
            self._rm_workdir()
            self._rm_workdir = None
            self.workdir = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.cleanup()

    def log_tail(self, size=8192):
        """Return the end of the service's log, for error messages."""
        try:
            with open(self.log_path, 'rb') as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - size))
                return f.read().decode('utf-8', 'replace')
        except (OSError, TypeError):
            return ''

    # -- client -----------------------------------------------------------

    def request(self, method, path, json=None,
                microversion=DEFAULT_MICROVERSION, headers=None,
                timeout=30):
        """Send an admin request; return ``(status, body)``.

        ``body`` is the decoded JSON document, the text of a non-JSON
        response, or ``None`` when the response is empty.
        """
        hdrs = {'X-Auth-Token': ADMIN_TOKEN,
                'Accept': 'application/json'}
        if microversion:
            hdrs['OpenStack-API-Version'] = 'placement %s' % microversion
        data = None
        if json is not None:
            data = jsonlib.dumps(json).encode('utf-8')
            hdrs['Content-Type'] = 'application/json'
        hdrs.update(headers or {})
        req = urllib.request.Request(self.url + path, data=data,
                                     headers=hdrs, method=method.upper())
        try:
            with _no_proxy_opener().open(req, timeout=timeout) as resp:
                return resp.status, _decode(resp)
        except urllib.error.HTTPError as e:
            with e:
                return e.code, _decode(e)


def _decode(resp):
    raw = resp.read()
    if not raw:
        return None
    text = raw.decode('utf-8', 'replace')
    if 'json' in (resp.headers.get('Content-Type') or ''):
        return jsonlib.loads(text)
    return text


class PlacementFixture(fixtures.Fixture):
    """Fixture running a :class:`PlacementServer` for its lifetime.

    Keyword arguments are passed to :class:`PlacementServer`.
    """

    def __init__(self, **server_kwargs):
        super(PlacementFixture, self).__init__()
        self._server_kwargs = server_kwargs
        self.server = None

    def _setUp(self):
        self.server = PlacementServer(**self._server_kwargs)
        self.addCleanup(self.server.cleanup)
        self.server.start()

    @property
    def url(self):
        return self.server.url

    def request(self, *args, **kwargs):
        return self.server.request(*args, **kwargs)


def _openstack_command():
    bindir = os.path.dirname(sys.executable)
    exe = os.path.join(bindir, 'openstack')
    if os.access(exe, os.X_OK):
        return [exe]
    found = shutil.which('openstack')
    if found:
        return [found]
    return [sys.executable, '-m', 'openstackclient.shell']


def osc(server, *args, microversion=DEFAULT_MICROVERSION, timeout=120):
    """Run the real ``openstack`` CLI against ``server``; return stdout.

    ``server`` is a :class:`PlacementServer`, a :class:`PlacementFixture`
    or a URL; ``args`` are the command, e.g. ``'resource', 'provider',
    'list', '-f', 'json'``.  The command line is::

        openstack --os-auth-type admin_token --os-endpoint URL \\
            --os-token admin --os-placement-api-version MICROVERSION ARGS

    Any ``OS_*`` and proxy variables of the calling environment are
    dropped so that only the given endpoint is used.  Raises
    :class:`OSCError` (with the command's stderr) on failure.
    """
    url = server if isinstance(server, str) else server.url
    cmd = _openstack_command() + [
        '--os-auth-type', 'admin_token',
        '--os-endpoint', url,
        '--os-token', ADMIN_TOKEN,
        '--os-placement-api-version', microversion,
    ] + [str(a) for a in args]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith('OS_') and
           k.lower() not in ('http_proxy', 'https_proxy', 'all_proxy')}
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                          capture_output=True, env=env, timeout=timeout,
                          text=True)
    if proc.returncode != 0:
        raise OSCError(cmd, proc.returncode, proc.stdout, proc.stderr)
    return proc.stdout


# -- server side (child process / foreground) ------------------------------

def _build_app(workdir):
    """Build the real placement WSGI app from ``workdir/placement.conf``."""
    # placement.wsgi._get_config_files() reads this variable and loads
    # $OS_PLACEMENT_CONFIG_DIR/placement.conf (nothing else); without it
    # oslo.config would search /etc/placement/placement.conf and friends.
    os.environ['OS_PLACEMENT_CONFIG_DIR'] = workdir
    from placement import wsgi
    return wsgi.init_application()


def _one_at_a_time(app):
    """``app`` handling one request at a time.

    SQLite allows one writer, and a transaction that started reading and
    then writes fails at once with "database is locked" when another
    connection writes meanwhile (SQLite's deadlock avoidance: the busy
    timeout does not apply), which Placement answers with a 500 that no
    production database gives. Clients still interleave their requests
    (the server stays threaded, so a slow client blocks no one while it
    sends), so generation conflicts (409) happen as they do in production;
    only two requests never run inside Placement at the same instant.
    With a MySQL/MariaDB ``db_url`` requests run concurrently.
    """
    lock = threading.Lock()

    def serialized(environ, start_response):
        with lock:
            return list(app(environ, start_response))

    return serialized


def _make_server(host, port, app):
    import socketserver
    from wsgiref import simple_server

    class Handler(simple_server.WSGIRequestHandler):
        def log_message(self, *args):
            pass  # placement.requestlog already logs every request

    class Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
        daemon_threads = True
        allow_reuse_address = True

    return simple_server.make_server(host, port, app, server_class=Server,
                                     handler_class=Handler)


def serve(host=DEFAULT_HOST, port=0, db_path=None, workdir=None,
          debug=False, managed=False, db_url=None):
    """Run a Placement service until SIGINT/SIGTERM (blocking)."""
    own_workdir = workdir is None
    if own_workdir:
        workdir = tempfile.mkdtemp(prefix='placement-')
    stop = threading.Event()

    def _on_signal(signum, frame):
        stop.set()

    old_handlers = {s: signal.signal(s, _on_signal)
                    for s in (signal.SIGINT, signal.SIGTERM)}
    # stdout carries only the URL line: placement's logging (oslo.log,
    # alembic) writes to stdout, so send fd 1 to stderr from here on.
    sys.stdout.flush()
    url_fd = os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    httpd = None
    try:
        write_config(workdir, db_path, debug=debug, db_url=db_url)
        app = _build_app(workdir)
        if not db_url:
            app = _one_at_a_time(app)
        httpd = _make_server(host, port, app)
        bound_port = httpd.server_address[1]
        thread = threading.Thread(target=httpd.serve_forever,
                                  kwargs={'poll_interval': 0.1},
                                  name='placement-wsgi', daemon=True)
        thread.start()
        url = 'http://%s:%d' % (host, bound_port)
        os.write(url_fd, (url + '\n').encode('ascii'))
        os.close(url_fd)
        url_fd = None
        if managed:
            # The parent holds our stdin: EOF means it is gone.
            threading.Thread(target=_wait_eof, args=(stop,),
                             name='parent-watch', daemon=True).start()
        else:
            sys.stderr.write(
                'Placement (noauth2, token "%s") listening on %s\n'
                'database: %s\nPress Ctrl-C to stop.\n'
                % (ADMIN_TOKEN, url,
                   os.path.abspath(db_path or
                                   os.path.join(workdir, DB_FILE))))
            sys.stderr.flush()
        while not stop.wait(0.1):
            if not thread.is_alive():
                break
    finally:
        if url_fd is not None:
            os.close(url_fd)
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        for s, h in old_handlers.items():
            signal.signal(s, h)
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def _wait_eof(stop):
    try:
        while os.read(sys.stdin.fileno(), 4096):
            pass
    except OSError:
        pass
    stop.set()


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m %s' % _MODULE,
        description='Run a real OpenStack Placement service (noauth2, '
                    'SQLite) on loopback and print its URL.')
    parser.add_argument('--host', default=DEFAULT_HOST)
    parser.add_argument('--port', type=int, default=0,
                        help='port to listen on (default: a free one)')
    parser.add_argument('--db', dest='db_path', metavar='PATH',
                        help='SQLite database file (created and synced '
                             'if needed; default: a temporary one)')
    parser.add_argument('--workdir', metavar='DIR',
                        help='directory for placement.conf (default: a '
                             'temporary one, removed on exit)')
    parser.add_argument('--db-url', metavar='URL',
                        help='SQLAlchemy URL of another database (an '
                             'empty MySQL/MariaDB one) instead of SQLite')
    parser.add_argument('--debug', action='store_true')
    parser.add_argument('--managed', action='store_true',
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    serve(host=args.host, port=args.port, db_path=args.db_path,
          workdir=args.workdir, debug=args.debug, managed=args.managed,
          db_url=args.db_url)
    return 0


if __name__ == '__main__':
    sys.exit(main())
