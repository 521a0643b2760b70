"""The operator's guide (``doc/source``) is run, not just shown.

Every ``.. code-block:: console`` of every page is executed, in the order
of the pages in the ``toctree`` of ``index.rst`` and of the blocks in each
page, against one real Placement and a simulated cloud (see
:class:`GuideCloud`), and its output is compared with the one the guide
shows. The convention is documented for writers in
``doc/source/contributing.rst``; in short:

* ``console`` blocks are run. A line starting with a prompt is a command:
  ``$ `` for the admin workstation (the ``openstack`` CLI with admin
  credentials), ``root@<host>:<dir># `` for a compute host of the
  simulated cloud. A command continues on the next line when it ends with
  ``\\``. The lines up to the next prompt are the expected output (stdout
  and stderr together): compared line by line (trailing spaces ignored),
  a line ``...`` stands for any number of lines, ``...`` inside a line for
  any text on that line. The command must exit with status 0, or with N
  when its last line ends with the comment ``# exit status N``.
* blocks of any other language whose ``:caption:`` is an absolute path,
  optionally followed by `` on <host>`` (default: ``gpu-host-1``), are
  files: the test writes their text, as shown, at that path of that host
  (mode 0640) when it reaches them. Other blocks (``shell``, captions that
  are not paths) are shown only.
* each host is a directory standing for its ``/``: ``/etc``, ``/var``,
  ``/run`` and ``/sys`` in commands and in written files are read there
  (the host's ``/sys`` is a sample host tree from
  ``mdev_traits/samples/hosts`` or a vDPA tree), and the host directory
  is taken out of the output again. The exporter's options whose default
  is such a path get the host's path through oslo.config's environment
  variables (``OS_EXPORTER__SYSFS_ROOT``, ...), and its ``[placement]``
  credentials are replaced the same way by the test Placement's
  (``OS_PLACEMENT__AUTH_TYPE=admin_token``, ...: the environment wins over
  configuration files). The ``openstack`` CLI gets ``OS_AUTH_TYPE``,
  ``OS_ENDPOINT``, ``OS_TOKEN`` and ``OS_PLACEMENT_API_VERSION=1.39``.
  ``vdpa`` is the recorded-output stand-in of
  :mod:`mdev_traits.testing.vdpa_tool`, ``systemctl`` and ``journalctl``
  those in ``tests/functional/fake_systemctl.py``. ``LC_ALL=C``.
"""

import configparser
import dataclasses
import difflib
import glob
import os
import re
import signal
import subprocess
import sys
import time
import typing
import uuid

import fixtures
from keystoneauth1 import loading as ks_loading
import testtools

from mdev_traits.cmd import exporter as exporter_cmd
from mdev_traits.conf import check as conf_check
from mdev_traits.conf import settings as settings_mod
from mdev_traits import conf as mdev_conf
from mdev_traits.mapping import gpu_contract
from mdev_traits import service
from mdev_traits.testing import placement as placement_fixture
from mdev_traits.testing import samples
from mdev_traits.testing import vdpa_tool
from tests.functional import base

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DOC_SOURCE = os.path.join(REPO, 'doc', 'source')
FAKE_SYSTEMCTL = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              'fake_systemctl.py')

# The host a file block belongs to when its caption names none: the
# guide's "this host".
DEFAULT_HOST = 'gpu-host-1'
FILE_MODE = 0o640
COMMAND_TIMEOUT = 300

# -- the guide's convention ------------------------------------------------

DIRECTIVE_RE = re.compile(r'^(?P<indent>\s*)\.\. code-block::\s*'
                          r'(?P<lang>\S+)\s*$')
OPTION_RE = re.compile(r'^\s+:(?P<name>[\w-]+):\s*(?P<value>.*?)\s*$')
PROMPT_RE = re.compile(r'^(?:(?P<user>[a-z_][\w-]*)@(?P<host>[\w.-]+):'
                       r'[^\s#$]*# |\$ )(?P<command>.*)$')
STATUS_RE = re.compile(r'#\s*exit status (?P<status>\d+)\s*$')
CAPTION_FILE_RE = re.compile(r'^(?P<path>/\S+)(?: on (?P<host>[\w.-]+))?$')
TOCTREE_RE = re.compile(r'^\.\. toctree::\s*$')
# absolute paths of a host that live in its directory
REROOT_RE = re.compile(r'(?<![\w.~/-])/(etc|var|run|sys)(?![\w.-])')
ELLIPSIS = '...'


class GuideError(Exception):
    """The guide breaks the convention (not a failed command)."""


@dataclasses.dataclass
class CodeBlock:
    page: str
    lineno: int          # of the directive
    lang: str
    options: typing.Dict[str, str]
    lines: typing.List[str]
    first_line: int = 0  # line number of lines[0]


@dataclasses.dataclass
class FileItem:
    page: str
    lineno: int
    host: str
    path: str
    text: str


@dataclasses.dataclass
class CommandItem:
    page: str
    lineno: int
    host: typing.Optional[str]   # None: the admin workstation
    command: str
    expected: typing.List[str]
    status: int = 0

    def where(self):
        return '%s:%d' % (self.page, self.lineno)


def code_blocks(path):
    """The ``code-block`` directives of an rst file, in order."""
    with open(path, encoding='utf-8') as f:
        lines = f.read().splitlines()
    page = (os.path.relpath(path, DOC_SOURCE)
            if path.startswith(DOC_SOURCE + os.sep) else
            os.path.basename(path))
    blocks = []
    i = 0
    while i < len(lines):
        match = DIRECTIVE_RE.match(lines[i])
        if not match:
            i += 1
            continue
        indent = len(match.group('indent'))
        lineno = i + 1
        i += 1
        options = {}
        while i < len(lines):
            opt = OPTION_RE.match(lines[i])
            if not opt or len(lines[i]) - len(lines[i].lstrip()) <= indent:
                break
            options[opt.group('name')] = opt.group('value')
            i += 1
        body = []
        first_line = i + 1
        while i < len(lines):
            line = lines[i]
            if line.strip() and len(line) - len(line.lstrip()) <= indent:
                break
            body.append(line)
            i += 1
        while body and not body[0].strip():
            body.pop(0)
            first_line += 1
        while body and not body[-1].strip():
            body.pop()
        if not body:
            raise GuideError('%s:%d: empty code-block' % (page, lineno))
        margin = min(len(b) - len(b.lstrip()) for b in body if b.strip())
        blocks.append(CodeBlock(page, lineno, match.group('lang'), options,
                                [b[margin:].rstrip() for b in body],
                                first_line))
    return blocks


def console_commands(block):
    """The commands of a ``console`` block, with their expected output."""
    items = []
    lines = block.lines
    i = 0
    while i < len(lines):
        match = PROMPT_RE.match(lines[i])
        if not match:
            raise GuideError('%s:%d: console block line without a prompt '
                             'before it: %r' % (block.page, block.lineno,
                                                lines[i]))
        start = i
        command = [match.group('command')]
        while command[-1].endswith('\\'):
            i += 1
            if i >= len(lines):
                raise GuideError('%s:%d: "\\" on the last line' % (
                    block.page, block.lineno))
            command.append(lines[i])
        i += 1
        expected = []
        while i < len(lines) and not PROMPT_RE.match(lines[i]):
            expected.append(lines[i])
            i += 1
        while expected and not expected[-1].strip():
            expected.pop()
        status = STATUS_RE.search(command[-1])
        items.append(CommandItem(
            page=block.page, lineno=block.first_line + start,
            host=match.group('host'), command='\n'.join(command),
            expected=expected,
            status=int(status.group('status')) if status else 0))
    return items


def file_item(block):
    """A :class:`FileItem` for a block whose caption is a path, else
    None."""
    caption = block.options.get('caption')
    if not caption or block.lang == 'console':
        return None
    match = CAPTION_FILE_RE.match(caption)
    if not match:
        return None
    return FileItem(block.page, block.lineno,
                    match.group('host') or DEFAULT_HOST, match.group('path'),
                    '\n'.join(block.lines) + '\n')


def page_items(path):
    items = []
    for block in code_blocks(path):
        if block.lang == 'console':
            items.extend(console_commands(block))
        else:
            item = file_item(block)
            if item is not None:
                items.append(item)
    return items


def guide_pages(source=DOC_SOURCE):
    """index.rst, then the pages of its toctree, in order."""
    index = os.path.join(source, 'index.rst')
    pages = [index]
    with open(index, encoding='utf-8') as f:
        lines = f.read().splitlines()
    in_toc = False
    for line in lines:
        if TOCTREE_RE.match(line):
            in_toc = True
            continue
        if in_toc:
            if not line.strip() or OPTION_RE.match(line):
                continue
            if not line.startswith(' '):
                in_toc = False
                continue
            pages.append(os.path.join(source, line.strip() + '.rst'))
    return pages


def output_regex(expected):
    parts = []
    for line in expected:
        if line.strip() == ELLIPSIS:
            parts.append(r'(?:[^\n]*\n)*?')
        else:
            pieces = line.rstrip().split(ELLIPSIS)
            parts.append(r'[^\n]*'.join(re.escape(p) for p in pieces) +
                         r'\n')
    return re.compile(''.join(parts))


def normalise_output(text):
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return ''.join(line + '\n' for line in lines)


def output_matches(expected, actual):
    return output_regex(expected).fullmatch(
        normalise_output(actual)) is not None


def reroot(text, root):
    return REROOT_RE.sub(lambda m: root + m.group(0), text)


# -- the simulated cloud -----------------------------------------------------

def _clean_env():
    return {k: v for k, v in os.environ.items()
            if not k.startswith(('OS_', 'NOTIFY_SOCKET', 'WATCHDOG_'))
            and k.lower() not in ('http_proxy', 'https_proxy', 'all_proxy')}


def rerooted_defaults(root):
    """oslo.config environment variables giving the exporter's options
    whose default is a path of the host (``/sys``, ``/var/lib/...``,
    ``/etc/...``) the path under ``root``."""
    env = {}
    for group, opts in mdev_conf.list_opts():
        for opt in opts:
            default = opt.default
            if isinstance(default, str) and REROOT_RE.match(default):
                env['OS_%s__%s' % (group.upper(), opt.dest.upper())] = (
                    reroot(default, root))
    return env


class GuideCloud(object):
    """The cloud the guide talks about, around one Placement; every host
    is a sample host of ``mdev_traits/samples/hosts``.

    * ``gpu-host-1`` ("this host" of the guide): two Tesla T4, GRID T4-2Q,
      driver 535.129.03, one vGPU in use; nova-compute's providers exist,
      the guide configures and runs the exporter.
    * ``gpu-host-5``: the same hardware, driver 535.161.07; ``gpu-host-3``
      (one T4 under 525.85.05); ``gpu-host-2`` (A40-2Q on SR-IOV VFs and
      an Intel iGPU with GVT-g). nova's providers exist and the exporter
      has published them (``decorate`` mode) before the guide starts.
    * ``vdpa-host-1``: ConnectX-6 Dx VFs with mlx5_vdpa, only nova's
      compute node provider; the guide runs the exporter in ``manage``
      mode. ``vdpa-host-2``: an Intel IFC VF (ifcvf), published before the
      guide starts. Their ``vdpa`` tool plays back the sample's
      ``<host>.vdpa.json``.
    """

    GPU_HOSTS = (
        # name (= sample host), published before the guide starts
        ('gpu-host-1', False),
        ('gpu-host-2', True),
        ('gpu-host-3', True),
        ('gpu-host-5', True),
    )
    VDPA_HOSTS = (
        ('vdpa-host-1', False),
        ('vdpa-host-2', True),
    )
    WORKSTATION = 'workstation'

    def __init__(self, use_fixture, workdir, placement):
        self.use_fixture = use_fixture
        self.workdir = workdir
        self.placement = placement
        self.bindir = os.path.dirname(sys.executable)
        # the exporters of the background hosts, as their daemons
        self.background = []

    def hosts(self):
        return ([h[0] for h in self.GPU_HOSTS]
                + [h[0] for h in self.VDPA_HOSTS])

    def root(self, host):
        return os.path.join(self.workdir, 'hosts',
                            host or self.WORKSTATION)

    def _check_host(self, item):
        if item.host is not None and item.host not in self.hosts():
            raise GuideError('%s:%d: no host %s in the simulated cloud '
                             '(%s)' % (item.page, item.lineno, item.host,
                                       ', '.join(self.hosts())))

    # -- building ------------------------------------------------------------
    def _sample(self, name):
        """Extract sample host ``name`` as the host's ``/sys``; return its
        configuration snippet."""
        root = self._host_dirs(name)
        sample = samples.get(name)
        sample.extract(os.path.join(root, 'sys'))
        with open(sample.config, encoding='utf-8') as f:
            return f.read()

    def build(self):
        for name, publish in self.GPU_HOSTS:
            conf = self._background_conf(name, 'decorate',
                                         self._sample(name))
            self.nova_providers(name, conf)
            if publish:
                self.publish(conf)
        for name, publish in self.VDPA_HOSTS:
            snippet = self._sample(name)
            tool = self.use_fixture(vdpa_tool.FakeVdpaTool(
                os.path.join(self.root(name), 'usr')))
            tool.use_sample(name)
            self.nova_root(name)
            if publish:
                self.publish(self._background_conf(
                    name, 'manage',
                    snippet + '\n[vdpa]\ncommand = %s\n' % tool.path))
        self._host_dirs(None)

    def _host_dirs(self, host):
        root = self.root(host)
        for sub in ('etc', 'var/lib', 'run', 'root', 'usr/bin'):
            os.makedirs(os.path.join(root, sub), exist_ok=True)
        with open(FAKE_SYSTEMCTL) as src:
            body = src.read().split('\n', 1)[1]
        for tool in ('systemctl', 'journalctl'):
            path = os.path.join(root, 'usr', 'bin', tool)
            with open(path, 'w') as dst:
                dst.write('#!%s\n%s' % (sys.executable, body))
            os.chmod(path, 0o755)
        return root

    def _background_conf(self, name, mode, extra):
        """Configuration of a host the guide does not configure itself."""
        root = self.root(name)
        path = os.path.join(self.workdir, 'background', name + '.conf')
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write('[exporter]\nroot_provider_name = %s\nsysfs_root = %s\n'
                    'mode = %s\nstate_file = %s\n'
                    'trait_catalog_interval = 1\n\n[placement]\n'
                    'auth_type = admin_token\nendpoint = %s\n'
                    'token = admin\n\n%s\n' % (
                        name, os.path.join(root, 'sys'), mode,
                        os.path.join(root, 'var', 'lib', 'state.json'),
                        self.placement.url, extra))
        os.chmod(path, 0o600)
        return path

    def api(self, method, path, json=None, expect=None):
        status, body = self.placement.request(method, path, json=json)
        if expect is not None and status != expect:
            raise AssertionError('%s %s: %s %r' % (method, path, status,
                                                   body))
        return body

    def nova_root(self, name):
        """The compute node provider, as nova-compute creates it."""
        return self.api('POST', '/resource_providers', {
            'name': name, 'uuid': str(uuid.uuid4())}, expect=200)

    def nova_providers(self, name, conf_path):
        """What nova-compute's libvirt driver creates for the vGPUs of
        the host: a child ``<root>_pci_*`` per pGPU, random uuid, VGPU
        inventory (free instances + the mdevs that exist), ``OWNER_NOVA``;
        and an allocation for the VM of each existing mdev."""
        root = self.nova_root(name)
        conf = exporter_cmd.build_conf()
        conf(['--config-file', conf_path], project='mdev-traits')
        conf.set_override('mode', 'manage', group='exporter')
        settings = settings_mod.load(conf)
        found = service.discover(settings)
        parents = {p.name: p for p in found.mdev_parents}
        tree = service.desired_tree(settings)
        for provider in tree.providers:
            inv = provider.inventories.get(gpu_contract.VGPU_RESOURCE_CLASS)
            if not inv:
                continue
            rp = self.api('POST', '/resource_providers', {
                'name': provider.name, 'uuid': str(uuid.uuid4()),
                'parent_provider_uuid': root['uuid']}, expect=200)
            body = self.api(
                'PUT', '/resource_providers/%s/inventories' % rp['uuid'],
                {'inventories': {'VGPU': {
                    'total': inv['total'], 'max_unit': inv['max_unit'],
                    'reserved': 0, 'min_unit': 1, 'step_size': 1,
                    'allocation_ratio': 1.0}},
                 'resource_provider_generation': 0}, expect=200)
            self.api('PUT', '/resource_providers/%s/traits' % rp['uuid'], {
                'traits': ['OWNER_NOVA'],
                'resource_provider_generation':
                    body['resource_provider_generation']}, expect=200)
            mdev_type = parents[provider.parent_device].get_type(
                provider.mdev_type)
            for _mdev in mdev_type.instances:
                self.api('PUT', '/allocations/%s' % uuid.uuid4(), {
                    'allocations': {rp['uuid']: {'resources': {'VGPU': 1}}},
                    'project_id': str(uuid.uuid4()),
                    'user_id': str(uuid.uuid4()),
                    'consumer_generation': None,
                    'consumer_type': 'INSTANCE'}, expect=204)

    def publish(self, conf_path):
        conf = exporter_cmd.build_conf()
        conf(['--config-file', conf_path], project='mdev-traits')
        settings, errors = conf_check.checked_settings(conf)
        if errors:
            raise AssertionError(errors)
        exporter = service.Exporter(settings)
        result = exporter.cycle()
        if not result.ok:
            raise AssertionError(result.outcome.failed)
        self.background.append(exporter)

    def tick(self):
        """One cycle of every background host's exporter, as its daemon
        runs one every interval (between two pages of the guide): they
        pick up the version buckets other hosts created meanwhile."""
        for exporter in self.background:
            result = exporter.cycle()
            if not result.ok:
                raise AssertionError(result.outcome.failed)

    # -- running -----------------------------------------------------------
    def env(self, host):
        root = self.root(host)
        env = _clean_env()
        env.update({
            'HOME': os.path.join(root, 'root'),
            'LC_ALL': 'C',
            'PYTHONUNBUFFERED': '1',
            'PATH': os.pathsep.join([os.path.join(root, 'usr', 'bin'),
                                     self.bindir,
                                     os.environ.get('PATH', '')]),
            # the openstack CLI of the admin workstation
            'OS_AUTH_TYPE': 'admin_token',
            'OS_ENDPOINT': self.placement.url,
            'OS_TOKEN': placement_fixture.ADMIN_TOKEN,
            'OS_PLACEMENT_API_VERSION':
                placement_fixture.DEFAULT_MICROVERSION,
            # the exporter: the environment wins over its files
            'OS_PLACEMENT__AUTH_TYPE': 'admin_token',
            'OS_PLACEMENT__ENDPOINT': self.placement.url,
            'OS_PLACEMENT__TOKEN': placement_fixture.ADMIN_TOKEN,
            'FAKE_SYSTEMD_ROOT': root,
            'FAKE_SYSTEMD_UNIT_DIR': os.path.join(REPO, 'etc'),
        })
        env.update(rerooted_defaults(root))
        return env

    def write_file(self, item):
        self._check_host(item)
        root = self.root(item.host)
        path = reroot(item.path, root)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w', encoding='utf-8') as f:
            f.write(reroot(item.text, root))
        os.chmod(path, FILE_MODE)
        return path

    def run(self, item):
        self._check_host(item)
        root = self.root(item.host)
        proc = subprocess.run(
            ['bash', '-c', 'set -o pipefail\n' + reroot(item.command, root)],
            cwd=os.path.join(root, 'root'), env=self.env(item.host),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, timeout=COMMAND_TIMEOUT)
        output = proc.stdout.decode('utf-8', 'replace').replace(root, '')
        return proc.returncode, output

    def stop_services(self):
        """Stop what the fake systemctl started: the process groups whose
        leader's pid it recorded, if that process still runs with this
        host's environment (not a reused pid)."""
        for pid_file in sorted(glob.glob(os.path.join(
                self.workdir, 'hosts', '*', 'run', '*.pid'))):
            root = os.path.dirname(os.path.dirname(pid_file))
            try:
                with open(pid_file) as f:
                    pid = int(f.read().strip())
                with open('/proc/%d/environ' % pid, 'rb') as f:
                    ours = (b'FAKE_SYSTEMD_ROOT=%s\0' % root.encode()
                            in f.read())
            except (OSError, ValueError):
                continue
            if not ours:
                continue
            try:
                os.killpg(pid, signal.SIGTERM)
            except OSError:
                continue
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.1)
            if _alive(pid):
                os.killpg(pid, signal.SIGKILL)


def _alive(pid):
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (OSError, IndexError):
        return False


def _failure(item, status, output):
    diff = '\n'.join(difflib.unified_diff(
        item.expected, normalise_output(output).splitlines(),
        'expected (the guide)', 'actual', lineterm=''))
    return ('%s: %s\nexit status %d (expected %d)\n%s' % (
        item.where(), item.command, status, item.status, diff or output))


class TestGuide(base.PlacementTestCase):
    """Run the guide, page by page, command by command."""

    def test_guide(self):
        cloud = GuideCloud(self.useFixture, self.tmp, self.placement)
        cloud.build()
        self.addCleanup(cloud.stop_services)
        failures = []

        def check(item, status, output, ok):
            if not ok:
                failures.append(_failure(item, status, output))
                # later commands depend on this one
                return False

        ran = run_guide(cloud, check)
        if failures:
            self.fail('\n'.join(failures))
        self.assertGreater(ran, 0, 'the guide has no console block')


def run_guide(cloud, on_result):
    """Run every page; ``on_result(item, status, output, ok)`` is called
    for each command and stops the run when it returns False. Returns the
    number of commands run."""
    ran = 0
    for page in guide_pages():
        cloud.tick()
        for item in page_items(page):
            if isinstance(item, FileItem):
                cloud.write_file(item)
                continue
            status, output = cloud.run(item)
            ok = (status == item.status
                  and output_matches(item.expected, output))
            ran += 1
            if on_result(item, status, output, ok) is False:
                return ran
    return ran


def main(argv=None):
    """``python -m tests.functional.test_docs [WORKDIR]``: run the guide
    and print every command with its actual output (to write or update
    the expected output), marking those that do not match."""
    args = sys.argv[1:] if argv is None else argv
    workdir = args[0] if args else None
    stack = fixtures.Fixture()
    stack.setUp()
    try:
        if workdir is None:
            workdir = stack.useFixture(fixtures.TempDir()).path
        server = placement_fixture.PlacementServer()
        stack.addCleanup(server.cleanup)
        server.start()
        cloud = GuideCloud(stack.useFixture, workdir, server)
        cloud.build()
        stack.addCleanup(cloud.stop_services)
        failed = []

        def show(item, status, output, ok):
            prompt = ('root@%s:~# ' % item.host) if item.host else '$ '
            sys.stdout.write('%s %s\n%s%s\n' % (
                '  ' if ok else '!!', item.where(), prompt, item.command))
            if status != item.status:
                sys.stdout.write('(exit status %d)\n' % status)
            sys.stdout.write(normalise_output(output))
            sys.stdout.write('\n')
            if not ok:
                failed.append(item.where())

        ran = run_guide(cloud, show)
        sys.stdout.write('%d command(s), %d differ from the guide: %s\n' % (
            ran, len(failed), ', '.join(failed) or 'none'))
        return 1 if failed else 0
    finally:
        stack.cleanUp()


# -- the convention itself (no Placement) ------------------------------------

class TestConvention(testtools.TestCase):

    def _page(self, text):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'page.rst')
        with open(path, 'w') as f:
            f.write(text)
        return page_items(path)

    def test_parse(self):
        items = self._page(
            'Title\n=====\n\n'
            '.. code-block:: ini\n   :caption: /etc/nova/nova.conf on h2\n\n'
            '   [devices]\n   enabled_mdev_types = nvidia-231\n\n'
            '.. code-block:: ini\n   :caption: not a file\n\n   [a]\n\n'
            '.. code-block:: shell\n\n   systemctl restart x\n\n'
            '.. code-block:: console\n\n'
            '   $ openstack resource provider list \\\n'
            '       -f value -c name\n   a\n   ...\n\n'
            '   root@h1:~# false  # exit status 1\n'
            '   # not a prompt\n')
        self.assertEqual(3, len(items))
        self.assertEqual(('h2', '/etc/nova/nova.conf',
                          '[devices]\nenabled_mdev_types = nvidia-231\n'),
                         (items[0].host, items[0].path, items[0].text))
        self.assertIsNone(items[1].host)
        self.assertEqual('openstack resource provider list \\\n'
                         '    -f value -c name', items[1].command)
        self.assertEqual(['a', '...'], items[1].expected)
        self.assertEqual(('page.rst:21', 'page.rst:26'),
                         (items[1].where(), items[2].where()))
        self.assertEqual(('h1', 1, ['# not a prompt']),
                         (items[2].host, items[2].status,
                          items[2].expected))

    def test_match(self):
        self.assertTrue(output_matches(['a', '...', 'z'], 'a\nb\nc\nz\n'))
        self.assertTrue(output_matches(['a', '...', 'z'], 'a\nz\n'))
        self.assertFalse(output_matches(['a', '...', 'z'], 'a\nb\n'))
        self.assertTrue(output_matches(['x ... y'], 'x 12 y  \n'))
        self.assertFalse(output_matches(['x ... y'], 'x 1\n2 y\n'))
        self.assertTrue(output_matches([], '\n'))
        self.assertFalse(output_matches([], 'noise\n'))

    def test_reroot(self):
        self.assertEqual(
            'cat /r/etc/nova/nova.conf /r/sys/class http://h/etc/x '
            '/opt/etc /r/var/lib',
            reroot('cat /etc/nova/nova.conf /sys/class http://h/etc/x '
                   '/opt/etc /var/lib', '/r'))

    def test_rerooted_defaults(self):
        env = rerooted_defaults('/r')
        self.assertEqual('/r/sys', env['OS_EXPORTER__SYSFS_ROOT'])
        self.assertTrue(env['OS_EXPORTER__STATE_FILE'].startswith('/r/var/'))

    def test_guide_pages_exist(self):
        pages = guide_pages()
        self.assertGreater(len(pages), 1)
        for page in pages:
            self.assertTrue(os.path.exists(page), page)
            page_items(page)  # follows the convention


class TestGuideFiles(testtools.TestCase):
    """What the run of the guide cannot check: the test Placement replaces
    the Keystone settings of the guide's ``[placement]`` sections."""

    def test_placement_sections_load(self):
        for name in list(os.environ):
            if name.startswith('OS_'):
                self.useFixture(fixtures.EnvironmentVariable(name))
        tmp = self.useFixture(fixtures.TempDir()).path
        checked = 0
        for page in guide_pages():
            for item in page_items(page):
                if (not isinstance(item, FileItem)
                        or not item.path.endswith('.conf')
                        or '[placement]' not in item.text):
                    continue
                path = os.path.join(tmp, 'file.conf')
                with open(path, 'w') as f:
                    f.write(item.text)
                conf = exporter_cmd.build_conf()
                conf(['--config-file', path], project='mdev-traits')
                plugin = ks_loading.load_auth_from_conf_options(
                    conf, 'placement')
                where = '%s:%d %s' % (item.page, item.lineno, item.path)
                self.assertIsNotNone(plugin, where)
                # every option of the section is one keystoneauth knows
                # (oslo.config silently ignores a misspelt one)
                parser = configparser.ConfigParser(
                    interpolation=None, default_section='not DEFAULT')
                parser.read_string(item.text)
                unknown = sorted(set(parser['placement'])
                                 - set(conf.placement))
                self.assertEqual([], unknown, where)
                checked += 1
        self.assertGreaterEqual(checked, 3)


if __name__ == '__main__':
    sys.exit(main())
