"""Placement I/O is bounded in time, and every way of not reaching it is
one line that says which (refused, name not found, TLS, timeout, wrong
path, Keystone failing) with the URL, never a traceback.

Faults come from outside the exporter: a listener that accepts and never
answers (tests/functional/hang_listener.py), a port nobody listens on, a
name under the reserved ``.invalid`` top-level domain (RFC 2606), https
against the real Placement's http port, a path Placement does not serve,
and a Keystone stand-in that answers 503.
"""

import http.server
import logging
import os
import socket
import subprocess
import sys
import threading
import time

import fixtures

from mdev_traits.cmd import exporter as exporter_cmd
from mdev_traits.conf import check as conf_check
from mdev_traits.conf import placement as placement_conf
from mdev_traits.daemon import loop as daemon_mod
from mdev_traits.daemon import systemd
from tests.functional import base
from tests.functional import hang_listener
from tests import notify_socket

GPU = [('0000:3b:00.0', '535.129.03')]


class KeystoneDown(http.server.BaseHTTPRequestHandler):
    """Keystone behind a load balancer whose backends are all down."""

    def _answer(self):
        body = b'{"error": {"code": 503, "title": "Service Unavailable"}}'
        self.send_response(503)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


class TestPlacementIO(base.PlacementTestCase):

    def _listener(self, **kwargs):
        listener = hang_listener.HangListener(**kwargs).start()
        self.addCleanup(listener.stop)
        return listener

    def _host(self, name, url, placement_extra='timeout = 1\n'):
        builder, conf = self.make_host(name, GPU)
        path = self.write_conf(name, builder.root, ('nvidia-231',),
                               'manage', True, url=url,
                               extra=placement_extra)
        return path

    def _once(self, conf):
        # straight to the faults: no proxy from the environment
        env = {k: v for k, v in os.environ.items()
               if k.lower() not in ('http_proxy', 'https_proxy',
                                    'all_proxy')}
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, '-m', 'mdev_traits.cmd.exporter',
             '--config-file', conf, '--once'], capture_output=True,
            text=True, timeout=120, stdin=subprocess.DEVNULL, env=env)
        return proc, time.monotonic() - started

    def _assert_one_line(self, proc, *words):
        self.assertEqual(1, proc.returncode, proc.stderr)
        self.assertNotIn('Traceback', proc.stderr)
        lines = proc.stderr.splitlines()
        self.assertEqual(1, len(lines), proc.stderr)
        self.assertIn('error: Placement unavailable', lines[0])
        for word in words:
            self.assertIn(word, lines[0])
        return lines[0]

    def test_once_against_a_placement_that_never_answers(self):
        listener = self._listener()
        conf = self._host('hang', listener.url)
        proc, elapsed = self._once(conf)
        self._assert_one_line(proc, 'timeout at %s/' % listener.url,
                              'no answer within 1s')
        # version discovery is one request without retry: one timeout
        self.assertEqual(1, listener.hung)
        self.assertLess(elapsed, 30)

    def test_hung_requests_bounded_by_timeout_and_retries(self):
        # discovery answers, every API request then hangs
        listener = self._listener(discovery=True)
        conf = self._host('hang-api', listener.url)
        proc, elapsed = self._once(conf)
        # keystoneauth's line for its retry is DEBUG: one line
        # (the first API request of a cycle lists the version bucket
        # traits, trait contract v2)
        self._assert_one_line(
            proc, 'timeout at %s/traits?name=startswith:' % listener.url)
        attempts = placement_conf.CONNECT_RETRIES + 1
        self.assertEqual(attempts, listener.hung)
        self.assertLess(elapsed, 30)
        # with the defaults, the same run waits attempts x 30 s plus
        # keystoneauth's 0.5 s before its retry: within --once's 90 s
        self.assertLessEqual(
            listener.hung * placement_conf.TIMEOUT + 0.5, 90)

    def test_each_cause_is_named(self):
        closed = socket.socket()
        closed.bind(('127.0.0.1', 0))
        port = closed.getsockname()[1]
        closed.close()
        https = self.placement.url.replace('http://', 'https://')
        cases = [
            ('refused', 'http://127.0.0.1:%d' % port,
             'connection refused at http://127.0.0.1:%d/' % port),
            ('noname', 'http://placement.invalid:8778',
             'name not found at http://placement.invalid:8778/'),
            ('tls', https, 'TLS error at %s/' % https),
            ('path', self.placement.url + '/wrong',
             'wrong path: %s/wrong answered HTTP 404' % self.placement.url),
        ]
        for name, url, words in cases:
            conf = self._host(name, url)
            proc, _ = self._once(conf)
            self._assert_one_line(proc, words)
        self.assertIsNone(self.provider('refused'))

    def test_keystone_answering_503_during_authentication(self):
        server = http.server.HTTPServer(('127.0.0.1', 0), KeystoneDown)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        keystone = 'http://127.0.0.1:%d' % server.server_port
        builder, _ = self.make_host('ks', GPU)
        words = ('authentication failed: HTTP 503 from %s/v3/auth/tokens'
                 % keystone)
        # v3password: straight to POST /v3/auth/tokens; password (the
        # generic plugin): version discovery of the identity endpoint
        # first, which keystoneauth reports itself in one WARNING line
        for auth_type in ('v3password', 'password'):
            path = os.path.join(self.tmp, 'ks', 'mdev-traits.conf')
            with open(path, 'w') as f:
                f.write('[exporter]\nroot_provider_name = ks\n'
                        'sysfs_root = %s\nstate_file = %s\n'
                        '[devices]\nenabled_mdev_types = nvidia-231\n'
                        '[placement]\nauth_type = %s\nauth_url = %s/v3\n'
                        'username = mdev-traits\npassword = pw\n'
                        'user_domain_name = Default\nproject_name = service\n'
                        'project_domain_name = Default\ntimeout = 5\n' % (
                            builder.root,
                            os.path.join(self.tmp, 'ks', 'state.json'),
                            auth_type, keystone))
            os.chmod(path, 0o600)
            proc, _ = self._once(path)
            if auth_type == 'v3password':
                self._assert_one_line(proc, words)
                continue
            self.assertEqual(1, proc.returncode, proc.stderr)
            self.assertNotIn('Traceback', proc.stderr)
            lines = proc.stderr.splitlines()
            self.assertIn(words, lines[-1])
            for line in lines[:-1]:
                self.assertIn('WARNING keystoneauth', line)

    def test_daemon_backs_off_and_tells_systemd(self):
        logs = self.useFixture(fixtures.FakeLogger(
            level=logging.INFO, format='%(levelname)s %(message)s'))
        listener = self._listener()
        conf_path = self._host(
            'hang-daemon', listener.url,
            placement_extra='timeout = 1\n[exporter]\ninterval = 3600\n'
                            'retry_initial_delay = 0.2\nhotplug = false\n')
        conf = exporter_cmd.build_conf()
        conf(['--config-file', conf_path], project='mdev-traits')
        self.assertEqual([], conf_check.checked_settings(conf)[1])
        # the sd_notify socket, as systemd passes it
        sock = self.useFixture(notify_socket.NotifySocket())
        daemon = daemon_mod.Daemon(conf, notifier=systemd.Notifier(
            sock.environ))
        thread = threading.Thread(target=daemon.run, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 30)
        self.addCleanup(daemon.stop)
        self.assertEqual(b'READY=1', sock.recv(200))
        self.assertTrue(self.wait_for(lambda: daemon.failures >= 3))
        self.assertTrue(thread.is_alive())
        errors = [line for line in logs.output.splitlines()
                  if line.startswith('ERROR')]
        # one line for the state change, not one per failed cycle
        self.assertEqual(1, len(errors), logs.output)
        self.assertIn('timeout at %s/' % listener.url, errors[0])
        self.assertNotIn('Traceback', logs.output)
        self.assertIn('Placement credentials: [placement] auth_type = '
                      'admin_token, endpoint = %s from %s' % (
                          listener.url, conf_path), logs.output)

    def test_ready_before_a_slow_first_cycle_ends(self):
        # the unit's start timeout must not kill a daemon whose first
        # cycle waits for Placement: READY=1 comes ready_within into it
        listener = self._listener()
        conf_path = self._host(
            'slow-start', listener.url,
            placement_extra='timeout = 4\n[exporter]\ninterval = 3600\n'
                            'retry_initial_delay = 60\nhotplug = false\n')
        conf = exporter_cmd.build_conf()
        conf(['--config-file', conf_path], project='mdev-traits')
        sock = self.useFixture(notify_socket.NotifySocket())
        daemon = daemon_mod.Daemon(conf, notifier=systemd.Notifier(
            sock.environ), ready_within=0.5)
        thread = threading.Thread(target=daemon.run, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 30)
        self.addCleanup(daemon.stop)
        self.assertEqual(b'READY=1\nSTATUS=started; first cycle still '
                         b'running', sock.recv(200))
        # the first cycle is still waiting for its answer
        self.assertEqual(0, daemon.failures)
        self.assertTrue(self.wait_for(lambda: listener.hung == 1))
        # then it fails on the timeout; the status says so, no second
        # READY=1
        self.assertRegex(sock.recv(1000).decode(),
                         r'^STATUS=no full sync yet; last cycle failed \(1 '
                         r'in a row\): Placement unavailable: .*timeout at ')
        self.assertEqual(1, daemon.failures)
