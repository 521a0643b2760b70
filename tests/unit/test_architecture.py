"""The walls between the layers, read from the code's own imports.

Every module under ``mdev_traits/`` is parsed (``ast``, no import): all of
its imports count, function-level ones included, and ``from x import y``
counts as importing ``x.y`` when that is one of our modules. Each
assertion names every offending module and import in one message.

The walls (issue 13, item 8; the team's guide):

* discovery never imports mapping, placement, openstacksdk or
  keystoneauth1 (nor the conf: its sources take plain values);
* mapping imports no conf, no oslo.config, no discovery, and does no I/O
  (no ``open()`` call, no module whose job is I/O: :data:`IO_MODULES`;
  nor the profiles package, whose loader reads files);
* placement imports no discovery and no conf;
* none of the three layers imports the wiring (:data:`WIRING`);
* the profiles package (rule files from /etc) imports no discovery (not
  the sysfs reader) and no conf;
* operator code imports no test tooling (:data:`TEST_TOOLING`, the
  ``mdev-traits[test]`` extra, and the test requirements);
* no import cycle among our modules;
* no operator module over :data:`MAX_LINES` lines.
"""

import ast
import os
import textwrap

import fixtures
import testtools

import mdev_traits

PACKAGE = 'mdev_traits'
PACKAGE_DIR = os.path.dirname(os.path.abspath(mdev_traits.__file__))

MAX_LINES = 450

# What makes up the test tooling (the ``test`` extra): our modules that
# are not operator code, and the test requirements they use.
TEST_TOOLING = ('mdev_traits.testing', 'mdev_traits.ttar',
                'mdev_traits.demo')
TEST_REQUIREMENTS = ('fixtures', 'testtools', 'hypothesis', 'stestr',
                     'placement', 'osc_placement', 'openstackclient')

# Modules whose job is I/O (files, processes, the network, devices). Text
# and data handling is not I/O: re, hashlib, uuid, fnmatch, shlex, json,
# yaml (parsing a string) stay allowed.
IO_MODULES = ('os', 'io', 'subprocess', 'socket', 'ssl', 'shutil',
              'pathlib', 'fcntl', 'tempfile', 'glob', 'mmap', 'select',
              'selectors', 'sqlite3', 'ctypes', 'urllib.request',
              'http.client', 'requests', 'pyudev', 'keystoneauth1',
              'openstack')

# What wires the layers together: the layers never import it.
WIRING = ('mdev_traits.service', 'mdev_traits.daemon', 'mdev_traits.cmd')

WALLS = (
    # (modules under, forbidden imports, why)
    ('mdev_traits.discovery',
     ('mdev_traits.mapping', 'mdev_traits.placement', 'openstack',
      'keystoneauth1', 'mdev_traits.conf', 'oslo_config') + WIRING,
     'discovery reads the host only, configured with plain values'),
    ('mdev_traits.mapping',
     ('mdev_traits.conf', 'oslo_config', 'mdev_traits.discovery',
      'mdev_traits.profiles', 'mdev_traits.placement',
      'mdev_traits.fileutil', 'mdev_traits.health') + IO_MODULES + WIRING,
     'mapping is pure: settings as data, no I/O'),
    ('mdev_traits.placement',
     ('mdev_traits.discovery', 'mdev_traits.conf', 'oslo_config')
     + WIRING,
     'placement gets settings as data and a mapped tree'),
    ('mdev_traits.profiles',
     ('mdev_traits.discovery', 'mdev_traits.conf', 'oslo_config')
     + WIRING,
     'rule files from /etc are not read with the sysfs reader, and their '
     'loader is configured with plain values'),
)


def within(name, prefixes):
    """Whether module ``name`` is one of ``prefixes`` or below one."""
    return any(name == p or name.startswith(p + '.') for p in prefixes)


def package_modules(package_dir, package):
    """{module name: file path} of every ``.py`` below ``package_dir``."""
    modules = {}
    for dirpath, dirnames, filenames in os.walk(package_dir):
        dirnames[:] = sorted(d for d in dirnames if d != '__pycache__')
        rel = os.path.relpath(dirpath, package_dir)
        parts = [package] + ([] if rel == '.' else rel.split(os.sep))
        for filename in sorted(filenames):
            if not filename.endswith('.py'):
                continue
            stem = filename[:-len('.py')]
            name = '.'.join(parts + ([] if stem == '__init__' else [stem]))
            modules[name] = os.path.join(dirpath, filename)
    return modules


def _absolute(module, node, is_package):
    """The module a ``from ... import`` names (relative ones resolved)."""
    if not node.level:
        return node.module
    base = module.split('.')
    if not is_package:
        base = base[:-1]
    base = base[:len(base) - (node.level - 1)]
    return '.'.join(base + ([node.module] if node.module else []))


def module_imports(name, path, known):
    """[(line, imported module)] of module ``name``: every import,
    function-level ones included. ``from x import y`` is ``x.y`` when
    that is a module of ``known`` (or of no package of ours), else ``x``;
    a third party's ``x.y`` is listed as well as ``x``."""
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), path)
    is_package = path.endswith('__init__.py')
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(name, node, is_package)
            ours = within(base, {m.split('.')[0] for m in known})
            for alias in node.names:
                full = '%s.%s' % (base, alias.name)
                if full in known:
                    found.append((node.lineno, full))
                else:
                    found.append((node.lineno, base))
                    if not ours and alias.name != '*':
                        found.append((node.lineno, full))
    return sorted(set(found))


def open_calls(path):
    """Lines of ``open(...)`` calls (the builtin, ``io.open``,
    ``os.open``) in the file at ``path``."""
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), path)
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id == 'open':
            lines.append(node.lineno)
        elif isinstance(func, ast.Attribute) and func.attr in (
                'open', 'fdopen', 'read_text', 'write_text'):
            lines.append(node.lineno)
    return sorted(lines)


class Package(object):
    """The modules of a package and their imports, read from source."""

    def __init__(self, package_dir=PACKAGE_DIR, package=PACKAGE,
                 test_tooling=TEST_TOOLING):
        self.files = package_modules(package_dir, package)
        self.imports = {name: module_imports(name, path, self.files)
                        for name, path in self.files.items()}
        self.test_tooling = test_tooling

    def product(self):
        return sorted(n for n in self.files
                      if not within(n, self.test_tooling))

    def crossings(self, under, forbidden):
        """['module:line imports x'] of modules below ``under``."""
        return ['%s:%d imports %s' % (name, line, target)
                for name in sorted(self.imports) if within(name, (under,))
                for line, target in self.imports[name]
                if within(target, forbidden)]

    def io_calls(self, under):
        return ['%s:%d calls open()' % (name, line)
                for name in sorted(self.files) if within(name, (under,))
                for line in open_calls(self.files[name])]

    def test_tooling_imports(self):
        forbidden = tuple(self.test_tooling) + TEST_REQUIREMENTS
        return ['%s:%d imports %s' % (name, line, target)
                for name in self.product()
                for line, target in self.imports[name]
                if within(target, forbidden)]

    def graph(self):
        return {name: sorted({t for _l, t in imports if t in self.files
                              and t != name})
                for name, imports in self.imports.items()}

    def cycles(self):
        """Strongly connected components of more than one module
        (Tarjan), each sorted, with the imports that close them."""
        graph = self.graph()
        index, low, stack, on_stack, found = {}, {}, [], set(), []

        def connect(node):
            # iterative Tarjan: a bounded loop whatever the depth
            work = [(node, iter(graph[node]))]
            index[node] = low[node] = len(index)
            stack.append(node)
            on_stack.add(node)
            while work:
                current, children = work[-1]
                for child in children:
                    if child not in index:
                        index[child] = low[child] = len(index)
                        stack.append(child)
                        on_stack.add(child)
                        work.append((child, iter(graph[child])))
                        break
                    if child in on_stack:
                        low[current] = min(low[current], index[child])
                else:
                    work.pop()
                    if work:
                        parent = work[-1][0]
                        low[parent] = min(low[parent], low[current])
                    if low[current] == index[current]:
                        component = []
                        while True:
                            member = stack.pop()
                            on_stack.discard(member)
                            component.append(member)
                            if member == current:
                                break
                        if len(component) > 1:
                            found.append(sorted(component))

        for node in sorted(graph):
            if node not in index:
                connect(node)
        return [(component,
                 ['%s:%d imports %s' % (name, line, target)
                  for name in component
                  for line, target in self.imports[name]
                  if target in component and target != name])
                for component in sorted(found)]

    def oversized(self, limit=MAX_LINES):
        sizes = []
        for name in self.product():
            with open(self.files[name], encoding='utf-8') as f:
                count = sum(1 for _line in f)
            if count > limit:
                sizes.append('%s: %d lines' % (name, count))
        return sizes


def report(title, offenders):
    return '%s (%d):\n  %s' % (title, len(offenders),
                               '\n  '.join(offenders))


class ArchitectureMixin(object):
    """The assertions, on ``self.package``."""

    def assertNoCrossing(self, under, forbidden, why):
        offenders = self.package.crossings(under, forbidden)
        self.assertEqual([], offenders, report(
            '%s must not import %s (%s)' % (under, ', '.join(forbidden),
                                            why), offenders))

    def assertNoCycle(self):
        cycles = self.package.cycles()
        lines = ['cycle %s: %s' % (' <-> '.join(members), '; '.join(how))
                 for members, how in cycles]
        self.assertEqual([], lines, report('import cycles', lines))


class TestArchitecture(ArchitectureMixin, testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.package = Package()

    def test_the_package_is_read(self):
        # the walls below mean something only if the modules are there
        for layer in ('mdev_traits.discovery', 'mdev_traits.mapping',
                      'mdev_traits.placement', 'mdev_traits.testing'):
            self.assertTrue([n for n in self.package.files
                             if within(n, (layer,))], layer)
        # ``from mdev_traits.<layer> import <module>`` reads as the module
        placement_imports = {t for name in self.package.files
                             if within(name, ('mdev_traits.placement',))
                             for _l, t in self.package.imports[name]}
        self.assertIn('mdev_traits.placement.plan', placement_imports)

    def test_discovery_wall(self):
        self.assertNoCrossing(*WALLS[0])

    def test_mapping_wall(self):
        self.assertNoCrossing(*WALLS[1])

    def test_mapping_does_no_io(self):
        offenders = self.package.io_calls('mdev_traits.mapping')
        self.assertEqual([], offenders, report(
            'mapping is pure: no file is opened', offenders))

    def test_placement_wall(self):
        self.assertNoCrossing(*WALLS[2])

    def test_profiles_wall(self):
        self.assertNoCrossing(*WALLS[3])

    def test_every_wall_is_checked(self):
        self.assertEqual(4, len(WALLS))

    def test_operator_code_imports_no_test_tooling(self):
        offenders = self.package.test_tooling_imports()
        self.assertEqual([], offenders, report(
            "operator code must not import the test tooling (the "
            "'mdev-traits[test]' extra)", offenders))

    def test_no_import_cycle(self):
        self.assertNoCycle()

    def test_module_size(self):
        offenders = self.package.oversized()
        self.assertEqual([], offenders, report(
            'operator modules over %d lines' % MAX_LINES, offenders))


class TestChecker(ArchitectureMixin, testtools.TestCase):
    """The checker fails on a tiny package that crosses the walls."""

    FILES = {
        'pkg/__init__.py': '',
        'pkg/discovery/__init__.py': '',
        'pkg/discovery/scan.py': 'import os\nfrom pkg.mapping import a\n',
        'pkg/mapping/__init__.py': '',
        'pkg/mapping/a.py': 'from pkg.mapping import b\nimport re\n',
        'pkg/mapping/b.py': (
            'def f():\n'
            '    from . import a\n'
            '    import urllib.request\n'
            '    return open("x")\n'),
        'pkg/mapping/c.py': 'from urllib import parse\nimport hashlib\n',
        'pkg/placement/__init__.py': '',
        'pkg/placement/plan.py': (
            'from pkg import conf\nfrom pkg.conf.opts import X\n'),
        'pkg/conf/__init__.py': '',
        'pkg/conf/opts.py': 'X = 1\n',
        'pkg/service.py': ('from pkg.testing import tool\nimport fixtures\n'
                           + 'x = 1\n' * 5),
        'pkg/testing/__init__.py': '',
        'pkg/testing/tool.py': 'import fixtures\n' + 'x = 1\n' * 10,
    }

    def setUp(self):
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        for rel, text in self.FILES.items():
            path = os.path.join(tmp, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'w', encoding='utf-8') as f:
                f.write(textwrap.dedent(text))
        self.package = Package(os.path.join(tmp, 'pkg'), 'pkg',
                               ('pkg.testing',))

    def test_crossed_walls_are_all_named(self):
        self.assertEqual(['pkg.discovery.scan:2 imports pkg.mapping.a'],
                         self.package.crossings('pkg.discovery',
                                                ('pkg.mapping',)))
        self.assertEqual(['pkg.mapping.b:3 imports urllib.request'],
                         self.package.crossings('pkg.mapping',
                                                IO_MODULES))
        self.assertEqual(['pkg.mapping.b:4 calls open()'],
                         self.package.io_calls('pkg.mapping'))
        self.assertEqual(['pkg.placement.plan:1 imports pkg.conf',
                          'pkg.placement.plan:2 imports pkg.conf.opts'],
                         self.package.crossings('pkg.placement',
                                                ('pkg.conf',)))
        self.assertEqual(['pkg.service:1 imports pkg.testing.tool',
                          'pkg.service:2 imports fixtures'],
                         self.package.test_tooling_imports())
        error = self.assertRaises(
            AssertionError, self.assertNoCrossing, 'pkg.placement',
            ('pkg.conf',), 'settings as data')
        self.assertIn('pkg.placement.plan:1 imports pkg.conf\n  '
                      'pkg.placement.plan:2 imports pkg.conf.opts',
                      str(error))

    def test_a_cycle_through_a_function_level_import_fails(self):
        self.assertEqual(
            [(['pkg.mapping.a', 'pkg.mapping.b'],
              ['pkg.mapping.a:1 imports pkg.mapping.b',
               'pkg.mapping.b:2 imports pkg.mapping.a'])],
            self.package.cycles())
        error = self.assertRaises(AssertionError, self.assertNoCycle)
        self.assertIn('pkg.mapping.a <-> pkg.mapping.b', str(error))

    def test_size_bound_spares_test_tooling(self):
        self.assertEqual(['pkg.service: 7 lines'],
                         self.package.oversized(limit=6))
