#!/usr/bin/env python3
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

"""A stand-in for ``systemctl`` on the simulated hosts of the guide's tests.

Standard library only: ``tests/functional/test_docs.py`` copies this file
as ``<host root>/usr/bin/systemctl``. It runs the units the guide installs
the way systemd would, for what the guide relies on:

* the unit is ``$FAKE_SYSTEMD_ROOT/etc/systemd/system/<unit>.service`` or,
  when the host has none, the one the package ships
  (``$FAKE_SYSTEMD_UNIT_DIR/<unit>.service``: ``pip install`` puts it in
  ``<prefix>/lib/systemd/system``); drop-ins
  ``/etc/systemd/system/<unit>.service.d/*.conf`` are applied in name
  order, an empty ``ExecStart=`` resetting the list, as systemd does;
* ``start``, ``restart`` and ``enable --now`` run ``ExecStart`` (its
  program looked up by name in ``PATH``, since the venv of the guide is
  not at the same place here) in a new session, with stdout and stderr in
  ``/var/log/<unit>.log``, and, for ``Type=notify``, wait like systemd
  for ``READY=1`` on ``NOTIFY_SOCKET`` (failing if the process exits
  first);
* ``stop`` sends SIGTERM, ``reload`` SIGHUP, ``is-active`` prints
  ``active`` or ``inactive``; ``daemon-reload`` and ``enable`` do
  nothing.

Installed as ``journalctl`` too, it prints the log of a unit:
``journalctl -u <unit> -o cat [-n N] [--no-pager]``.

``User=``, ``Group=``, ``SupplementaryGroups=`` and the sandboxing options
are not applied. The pid of a running unit is in ``/run/<unit>.pid``.
"""

import glob
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time

READY_TIMEOUT = 90


def _root():
    return os.environ['FAKE_SYSTEMD_ROOT']


def _unit_name(arg):
    return arg if arg.endswith('.service') else arg + '.service'


def read_unit_file(path, unit):
    """Merge ``path`` into ``unit`` ({section: {key: [values]}}); an empty
    assignment resets the key, as systemd does for list settings."""
    # systemd allows repeated keys: no configparser
    section = None
    with open(path) as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith(('#', ';')):
                continue
            if line.startswith('[') and line.endswith(']'):
                section = unit.setdefault(line[1:-1], {})
                continue
            key, _, value = line.partition('=')
            key, value = key.strip(), value.strip()
            if section is None:
                continue
            if not value:
                section[key] = []
            else:
                section.setdefault(key, []).append(value)
    return unit


def load_unit(name):
    local = os.path.join(_root(), 'etc', 'systemd', 'system', name)
    shipped = os.path.join(os.environ.get('FAKE_SYSTEMD_UNIT_DIR', ''),
                           name)
    path = local if os.path.exists(local) else shipped
    if not os.path.exists(path):
        return None
    unit = read_unit_file(path, {})
    for dropin in sorted(glob.glob(local + '.d/*.conf')):
        read_unit_file(dropin, unit)
    return unit


def _pid_file(name):
    return os.path.join(_root(), 'run', name + '.pid')


def _pid(name):
    try:
        with open(_pid_file(name)) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except OSError:
        return None
    return pid


def start(name):
    if _pid(name):
        return 0
    unit = load_unit(name)
    if unit is None:
        sys.stderr.write('Failed to start %s: Unit %s not found.\n'
                         % (name, name))
        return 5
    service = unit.get('Service', {})
    exec_start = service.get('ExecStart') or []
    if not exec_start:
        sys.stderr.write('%s has no ExecStart=\n' % name)
        return 1
    argv = shlex.split(exec_start[-1])
    program = shutil.which(os.path.basename(argv[0]))
    if program is None:
        sys.stderr.write('%s: %s not found in PATH\n' % (name, argv[0]))
        return 203
    argv[0] = program
    notify = (service.get('Type') or ['simple'])[-1] == 'notify'
    env = dict(os.environ)
    sock = None
    if notify:
        address = '\0fake-systemd-%d-%s' % (os.getpid(), name)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(address)
        env['NOTIFY_SOCKET'] = '@' + address[1:]
    log_dir = os.path.join(_root(), 'var', 'log')
    os.makedirs(log_dir, exist_ok=True)
    os.makedirs(os.path.dirname(_pid_file(name)), exist_ok=True)
    with open(os.path.join(log_dir, name[:-len('.service')] + '.log'),
              'ab') as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=log, env=env, start_new_session=True,
                                cwd='/')
    with open(_pid_file(name), 'w') as f:
        f.write('%d\n' % proc.pid)
    if sock is None:
        return 0
    deadline = time.monotonic() + READY_TIMEOUT
    sock.settimeout(0.2)
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                sys.stderr.write(
                    'Job for %s failed because the control process exited '
                    'with error code.\n' % name)
                return 1
            try:
                message = sock.recv(4096).decode('utf-8', 'replace')
            except socket.timeout:
                continue
            if 'READY=1' in message.split('\n'):
                return 0
    finally:
        sock.close()
    sys.stderr.write('Job for %s failed because a timeout was exceeded.\n'
                     % name)
    return 1


def stop(name):
    pid = _pid(name)
    if pid is None:
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _pid(name):
        time.sleep(0.1)
    return 0


def journal(argv):
    unit, lines, output = None, None, None
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg in ('-u', '--unit'):
            unit = args.pop(0)
        elif arg in ('-n', '--lines'):
            lines = int(args.pop(0))
        elif arg in ('-o', '--output'):
            output = args.pop(0)
        elif arg != '--no-pager':
            sys.stderr.write('fake journalctl: %s is not simulated\n' % arg)
            return 1
    if unit is None or output != 'cat':
        sys.stderr.write('fake journalctl: only -u UNIT -o cat is '
                         'simulated\n')
        return 1
    name = _unit_name(unit)[:-len('.service')]
    try:
        with open(os.path.join(_root(), 'var', 'log', name + '.log')) as f:
            text = f.read().splitlines()
    except FileNotFoundError:
        text = []
    if lines is not None:
        text = text[-lines:] if lines else []
    sys.stdout.write(''.join(line + '\n' for line in text))
    if not text:
        sys.stdout.write('-- No entries --\n')
    return 0


def main(argv):
    if os.path.basename(sys.argv[0]) == 'journalctl':
        return journal(argv)
    args = [a for a in argv if not a.startswith('-')]
    flags = [a for a in argv if a.startswith('-')]
    if not args:
        sys.stderr.write('fake systemctl: no command\n')
        return 1
    command, units = args[0], [_unit_name(u) for u in args[1:]]
    if command in ('daemon-reload', 'disable'):
        return 0
    status = 0
    for name in units:
        if command == 'enable':
            if '--now' in flags:
                status = status or start(name)
        elif command == 'start':
            status = status or start(name)
        elif command == 'restart':
            stop(name)
            status = status or start(name)
        elif command == 'stop':
            status = status or stop(name)
        elif command == 'reload':
            pid = _pid(name)
            if pid is None:
                sys.stderr.write('Failed to reload %s: not active\n' % name)
                return 1
            os.kill(pid, signal.SIGHUP)
        elif command == 'is-active':
            active = _pid(name) is not None
            sys.stdout.write('active\n' if active else 'inactive\n')
            status = status or (0 if active else 3)
        else:
            sys.stderr.write('fake systemctl: %s is not simulated\n'
                             % command)
            return 1
    return status


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
