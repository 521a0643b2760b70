"""README.rst shows what the code prints: its excerpt of the demo's
output and its ``$ mdev-traits-exporter ...`` examples are run and
compared with the README, with the conventions of the guide's test
(:mod:`tests.functional.test_docs`: ``...`` for left-out lines or parts
of a line)."""

import difflib
import os
import subprocess
import sys

import fixtures
import testtools

from mdev_traits import demo
from mdev_traits.testing import samples
from tests.functional import base
from tests.functional.test_docs import _clean_env
from tests.functional.test_docs import COMMAND_TIMEOUT
from tests.functional.test_docs import GuideError
from tests.functional.test_docs import normalise_output
from tests.functional.test_docs import output_matches
from tests.functional.test_docs import REPO
from tests.functional.test_docs import reroot
from tests.functional.test_docs import rerooted_defaults

README = os.path.join(REPO, 'README.rst')
# the paragraph of README.rst whose literal block is the demo's output
README_DEMO_PARAGRAPH = 'What the demo shows'
# README.rst's literal blocks that start with "$ mdev-traits-exporter
# <subcommand>" are run on a sample host: subcommand -> sample host
README_COMMAND_HOSTS = {
    'device-spec': 'gpu-host-4',
}


def readme_demo_excerpt(path=README):
    """The lines of the literal block (``::``) of the README paragraph
    that starts with :data:`README_DEMO_PARAGRAPH`."""
    with open(path, encoding='utf-8') as f:
        lines = f.read().splitlines()
    start = next((i for i, line in enumerate(lines)
                  if line.startswith(README_DEMO_PARAGRAPH)), None)
    if start is None:
        raise GuideError('%s: no paragraph "%s..."' % (
            path, README_DEMO_PARAGRAPH))
    i = start
    while i < len(lines) and not lines[i].rstrip().endswith('::'):
        i += 1
    body = []
    for line in lines[i + 1:]:
        if line.strip() and not line.startswith(' '):
            break
        body.append(line)
    while body and not body[0].strip():
        body.pop(0)
    while body and not body[-1].strip():
        body.pop()
    if not body:
        raise GuideError('%s: no literal block after "%s..."' % (
            path, README_DEMO_PARAGRAPH))
    margin = min(len(b) - len(b.lstrip()) for b in body if b.strip())
    return [b[margin:].rstrip() for b in body]


def readme_commands(path=README):
    """[(line number, command, expected output lines)] of the literal
    blocks of README.rst that start with ``$ mdev-traits-exporter``."""
    with open(path, encoding='utf-8') as f:
        lines = f.read().splitlines()
    found = []
    for i, line in enumerate(lines):
        if not line.rstrip().endswith('::'):
            continue
        body = []
        for following in lines[i + 1:]:
            if following.strip() and not following.startswith(' '):
                break
            body.append(following)
        body = [b for b in body if b.strip()]
        if not body:
            continue
        margin = min(len(b) - len(b.lstrip()) for b in body)
        body = [b[margin:].rstrip() for b in body]
        if body[0].startswith('$ mdev-traits-exporter '):
            found.append((i + 1, body[0][2:], body[1:]))
    return found


class TestReadmeCommands(testtools.TestCase):
    """README.rst's ``$ mdev-traits-exporter ...`` examples print what
    the command prints on the sample host of :data:`README_COMMAND_HOSTS`
    (``/etc/mdev-traits/mdev-traits.conf`` is the sample's configuration
    with its tree as ``sysfs_root``)."""

    def test_commands(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        commands = readme_commands()
        self.assertGreater(len(commands), 0)
        for lineno, command, expected in commands:
            sub = command.split()[1]
            host = README_COMMAND_HOSTS.get(sub)
            where = 'README.rst:%d' % lineno
            self.assertIsNotNone(host, '%s: no sample host for %s (add one '
                                       'to README_COMMAND_HOSTS)' % (
                                           where, sub))
            root = os.path.join(tmp, host)
            if not os.path.isdir(root):
                sample = samples.get(host)
                sample.extract(os.path.join(root, 'sys'))
                with open(sample.config, encoding='utf-8') as f:
                    text = f.read()
                os.makedirs(os.path.join(root, 'etc', 'mdev-traits'))
                with open(os.path.join(root, 'etc', 'mdev-traits',
                                       'mdev-traits.conf'), 'w') as f:
                    f.write('[exporter]\nroot_provider_name = %s\n'
                            'sysfs_root = %s\n\n%s' % (
                                host, os.path.join(root, 'sys'), text))
            env = _clean_env()
            env.update(LC_ALL='C', PATH=os.pathsep.join([
                os.path.dirname(sys.executable), env.get('PATH', '')]))
            env.update(rerooted_defaults(root))
            proc = subprocess.run(
                ['bash', '-c', reroot(command, root)], env=env,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, timeout=COMMAND_TIMEOUT)
            output = proc.stdout.decode('utf-8', 'replace').replace(root, '')
            self.assertEqual(0, proc.returncode, '%s: %s' % (where, output))
            self.assertTrue(output_matches(expected, output), '%s: %s\n%s' % (
                where, command, '\n'.join(difflib.unified_diff(
                    expected, normalise_output(output).splitlines(),
                    'README.rst', 'actual', lineterm=''))))


class TestReadmeDemo(base.PlacementTestCase):
    """README.rst shows what ``tox -e demo`` prints: the demo runs here
    (against this class's Placement, which holds nothing else) and its
    output must match the README's excerpt, ``...`` as in the guide
    (blank lines left out on both sides)."""

    def test_demo_excerpt(self):
        expected = [line for line in readme_demo_excerpt() if line]
        self.assertGreater(len(expected), 10)
        out = []
        status = demo.run(self.placement, self.tmp, say=out.append)
        actual = '\n'.join(out)
        self.assertEqual(0, status, actual)
        actual = ''.join(line + '\n' for line in actual.splitlines()
                         if line.strip())
        if not output_matches(expected, actual):
            self.fail('README.rst demo excerpt differs from the demo:\n'
                      + '\n'.join(difflib.unified_diff(
                          expected, normalise_output(actual).splitlines(),
                          'README.rst', 'demo', lineterm='')))
