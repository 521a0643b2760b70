"""The systemd unit, judged by systemd, and the install story that leads
to it: the unit's ExecStart, README.rst "Install" and doc/source/install.rst
agree, and ``systemd-analyze verify`` accepts the unit with the exporter
where the guide installs it (under a temporary root).

``systemd-analyze`` (systemd 250 or later, for ``security --offline``) is
installed by ``.ci/run`` where apt is available; without it the tests
that need it are skipped with that reason.
"""

import os
import re
import shlex
import shutil
import subprocess

import fixtures
import testtools

from mdev_traits.conf import placement as placement_conf
from mdev_traits.conf import vdpa as vdpa_conf
from mdev_traits.daemon import loop as daemon_mod
from tests.functional import fake_systemctl

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
UNIT_NAME = 'mdev-traits-exporter.service'
UNIT = os.path.join(TOP, 'etc', UNIT_NAME)
NVML_DROPIN = os.path.join(TOP, 'etc', UNIT_NAME + '.d', 'nvml.conf')
README = os.path.join(TOP, 'README.rst')
INSTALL = os.path.join(TOP, 'doc', 'source', 'install.rst')
DOCS = os.path.join(TOP, 'doc', 'source')
# the unit directories systemd-analyze needs under --root: the targets
# the unit is ordered against
SYSTEM_UNITS = ('/usr/lib/systemd/system', '/lib/systemd/system')
MAX_EXPOSURE = 2.5


def read_unit(*paths):
    """{key: [values]} of the [Service] section, drop-ins applied."""
    unit = {}
    for path in paths:
        fake_systemctl.read_unit_file(path, unit)
    return unit.get('Service', {})


def exec_program(unit_values):
    return shlex.split(unit_values['ExecStart'][-1])[0]


def literal_blocks(text):
    """The text of every ``::`` literal block and ``code-block`` of an
    rst text, in order."""
    blocks = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        if (stripped.startswith('.. code-block::')
                or line.rstrip().endswith('::')
                and not stripped.startswith('.. ')):
            indent = len(line) - len(stripped)
            i += 1
            body = []
            while i < len(lines) and (
                    not lines[i].strip()
                    or len(lines[i]) - len(lines[i].lstrip()) > indent):
                if not lines[i].lstrip().startswith(':'):
                    body.append(lines[i].strip())
                i += 1
            blocks.append('\n'.join(b for b in body if b))
            continue
        i += 1
    return blocks


def section(path, title):
    """The text of the rst section ``title`` (with its subsections)."""
    with open(path) as f:
        text = f.read()
    match = re.search(r'^%s\n=+\n(.*?)(?=^[^\n]+\n=+\n|\Z)' %
                      re.escape(title), text, re.M | re.S)
    return match.group(1) if match else ''


def install_commands(path, title):
    """The shell commands of the literal blocks of section ``title``,
    continuation lines joined, comments dropped, spaces normalised."""
    commands = []
    for block in literal_blocks(section(path, title)):
        for cmd in block.replace('\\\n', ' ').splitlines():
            cmd = cmd.split('#', 1)[0].strip()
            if cmd:
                commands.append(' '.join(cmd.split()))
    return commands


def systemd_analyze():
    path = shutil.which('systemd-analyze')
    if path is None:
        return None, 'systemd-analyze is not installed'
    out = subprocess.run([path, '--version'], capture_output=True,
                         text=True).stdout
    match = re.match(r'systemd (\d+)', out)
    if not match or int(match.group(1)) < 250:
        return None, 'systemd-analyze is too old for security --offline'
    return path, None


class TestInstallStory(testtools.TestCase):
    """README "Install", install.rst and the unit say the same."""

    def setUp(self):
        super().setUp()
        self.unit = read_unit(UNIT)
        self.program = exec_program(self.unit)

    def _venv(self, commands, where):
        venvs = [c.split()[-1] for c in commands
                 if c.startswith('python3 -m venv ')]
        self.assertEqual(1, len(venvs), '%s: %s' % (where, commands))
        return venvs[0]

    def test_readme_install_and_unit_agree(self):
        commands = install_commands(README, 'Install')
        venv = self._venv(commands, 'README')
        self.assertEqual(os.path.join(venv, 'bin', 'mdev-traits-exporter'),
                         self.program)
        self.assertIn('%s/bin/pip install .' % venv, commands)
        self.assertIn('cp etc/%s /etc/systemd/system/' % UNIT_NAME,
                      commands)
        self.assertIn('systemctl enable --now mdev-traits-exporter',
                      commands)
        # every file the steps copy from the checkout is there
        for cmd in commands:
            for word in cmd.split():
                if word.startswith('etc/'):
                    self.assertTrue(os.path.exists(os.path.join(TOP, word)),
                                    word)

    def test_install_guide_and_unit_agree(self):
        commands = install_commands(INSTALL, 'Install the package')
        venv = self._venv(commands, 'install.rst')
        self.assertEqual(os.path.join(venv, 'bin', 'mdev-traits-exporter'),
                         self.program)
        self.assertIn('%s/bin/pip install .' % venv, commands)
        unit_steps = install_commands(INSTALL, 'The systemd unit')
        self.assertIn('cp %s/lib/systemd/system/%s /etc/systemd/system/' % (
            venv, UNIT_NAME), unit_steps)
        # the NVML drop-in where the package puts it (setup.cfg)
        self.assertIn(
            'cp %s/share/mdev-traits/%s.d/nvml.conf '
            '/etc/systemd/system/%s.d/' % (venv, UNIT_NAME, UNIT_NAME),
            unit_steps)
        with open(os.path.join(TOP, 'setup.cfg')) as f:
            setup = f.read()
        self.assertIn('share/mdev-traits/%s.d =\n        etc/%s.d/nvml.conf'
                      % (UNIT_NAME, UNIT_NAME), setup)
        self.assertIn('lib/systemd/system =\n        etc/%s' % UNIT_NAME,
                      setup)

    def test_no_unpublished_package_name(self):
        # no release on PyPI yet: "pip install mdev-traits" cannot work
        for path in [README] + [os.path.join(DOCS, p)
                                for p in os.listdir(DOCS)
                                if p.endswith('.rst')]:
            with open(path) as f:
                text = f.read()
            self.assertIsNone(
                re.search(r"pip install '?mdev-traits", text), path)

    def test_every_documented_execstart_runs_the_same_program(self):
        for name in os.listdir(DOCS):
            if not name.endswith('.rst'):
                continue
            with open(os.path.join(DOCS, name)) as f:
                for line in f:
                    line = line.strip()
                    if line.startswith('ExecStart=') and line != \
                            'ExecStart=':
                        self.assertEqual(
                            self.program,
                            shlex.split(line[len('ExecStart='):])[0],
                            '%s: %s' % (name, line))


class TestUnit(testtools.TestCase):
    """What the unit promises, read from the file."""

    def test_restart_and_start_timeouts(self):
        unit = read_unit(UNIT)
        self.assertEqual(['2'], unit['RestartPreventExitStatus'])
        self.assertEqual(['notify'], unit['Type'])
        start_timeout = int(unit['TimeoutStartSec'][-1])
        # the daemon says READY=1 before the start timeout expires, with
        # room to spare
        self.assertLessEqual(daemon_mod.READY_WITHIN * 2, start_timeout)
        # and a first cycle against a Placement that never answers gives
        # up on its first request within the start timeout
        self.assertLess(placement_conf.TIMEOUT
                        * (placement_conf.CONNECT_RETRIES + 1) + 0.5,
                        start_timeout)
        watchdog = int(unit['WatchdogSec'][-1])
        self.assertGreater(watchdog, start_timeout)

    def test_nvml_dropin_opens_only_the_nvidia_devices(self):
        merged = read_unit(UNIT, NVML_DROPIN)
        self.assertEqual(['yes'], read_unit(UNIT)['PrivateDevices'])
        self.assertEqual('no', merged['PrivateDevices'][-1])
        self.assertEqual('closed', merged['DevicePolicy'][-1])
        self.assertEqual(['char-nvidia-frontend rw'], merged['DeviceAllow'])
        self.assertEqual('all', merged['ProcSubset'][-1])
        # everything else stays
        self.assertEqual(['yes'], merged['NoNewPrivileges'])
        self.assertEqual(read_unit(UNIT)['SystemCallFilter'],
                         merged['SystemCallFilter'])

    def test_vdpa_command_help_does_not_suggest_sudo(self):
        self.assertEqual(['yes'], read_unit(UNIT)['NoNewPrivileges'])
        (opt,) = [o for o in vdpa_conf.vdpa_opts if o.name == 'command']
        self.assertNotIn('sudo -n', opt.help)
        self.assertNotRegex(open(README).read(), r'sudo -n vdpa')


class TestSystemdAnalyze(testtools.TestCase):
    """systemd's own verdict, where systemd-analyze is installed."""

    def setUp(self):
        super().setUp()
        self.analyze, why = systemd_analyze()
        if self.analyze is None:
            self.skipTest(why)
        self.root = self.useFixture(fixtures.TempDir()).path

    def _root(self, dropins=(), program=True):
        """A root with the unit in /etc/systemd/system, the system's own
        units, /bin/kill (ExecReload) and, if ``program``, an executable
        where ExecStart says."""
        units = os.path.join(self.root, 'etc', 'systemd', 'system')
        os.makedirs(units)
        shutil.copy(UNIT, units)
        if dropins:
            os.makedirs(os.path.join(units, UNIT_NAME + '.d'))
            for path in dropins:
                shutil.copy(path, os.path.join(units, UNIT_NAME + '.d'))
        for src in SYSTEM_UNITS:
            if os.path.isdir(src) and not os.path.islink(src):
                shutil.copytree(src, os.path.join(
                    self.root, 'usr', 'lib', 'systemd', 'system'),
                    symlinks=True)
                break
        # verify checks that the programs are executable files
        programs = ['/bin/kill']
        if program:
            programs.append(exec_program(read_unit(UNIT)))
        for path in programs:
            dest = self.root + path
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with open(dest, 'w') as f:
                f.write('#!/bin/sh\n')
            os.chmod(dest, 0o755)

    def _run(self, *args):
        return subprocess.run([self.analyze] + list(args),
                              capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)

    def _exposure(self, proc):
        match = re.search(r'Overall exposure level for \S+: ([0-9.]+)',
                          proc.stdout + proc.stderr)
        self.assertIsNotNone(match, proc.stdout + proc.stderr)
        return float(match.group(1))

    def test_security_of_the_shipped_unit(self):
        proc = self._run('security', '--offline=true', UNIT)
        self.assertLessEqual(self._exposure(proc), MAX_EXPOSURE,
                             proc.stdout)

    def test_security_with_the_nvml_dropin(self):
        self._root(dropins=[NVML_DROPIN])
        proc = self._run('security', '--offline=true',
                         '--root=%s' % self.root, UNIT_NAME)
        self.assertLessEqual(self._exposure(proc), MAX_EXPOSURE,
                             proc.stdout)
        # the drop-in is what systemd-analyze judged
        self.assertIn('char-nvidia-frontend:rw', proc.stdout)

    def test_verify_with_the_exporter_where_the_guide_installs_it(self):
        self._root(dropins=[NVML_DROPIN])
        proc = self._run('verify', '--root=%s' % self.root,
                         os.path.join(self.root, 'etc', 'systemd', 'system',
                                      UNIT_NAME))
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertEqual('', proc.stderr)

    def test_verify_refuses_a_missing_exporter(self):
        # the check above is a real one: without the program, systemd
        # says the unit cannot start, as the old /usr/bin path did
        self._root(program=False)
        proc = self._run('verify', '--root=%s' % self.root,
                         os.path.join(self.root, 'etc', 'systemd', 'system',
                                      UNIT_NAME))
        self.assertNotEqual(0, proc.returncode)
        self.assertIn('%s is not executable' % exec_program(
            read_unit(UNIT)), proc.stderr)
