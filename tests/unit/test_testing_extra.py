"""The test tools are the ``mdev-traits[test]`` extra: without it they
say how to install it, and the demo says so in one line (exit 2)."""

import configparser
import importlib
import io
import os
import sys
from unittest import mock

import fixtures
import testtools

import mdev_traits
from mdev_traits import demo
from mdev_traits import testing

SETUP_CFG = os.path.join(os.path.dirname(__file__), '..', '..',
                         'setup.cfg')
HINT = "pip install '.[test]' in a checkout of mdev-traits"


class TestExtra(testtools.TestCase):

    def without(self, *absent):
        """As if ``absent`` were not installed and the test tools not
        imported yet, until the test ends."""
        for patch in (mock.patch.dict(mdev_traits.__dict__),
                      mock.patch.dict(testing.__dict__),
                      mock.patch.dict(sys.modules,
                                      {name: None for name in absent})):
            patch.start()
            self.addCleanup(patch.stop)
        for name in [n for n in sys.modules
                     if n.startswith('mdev_traits.testing.')
                     or n == 'mdev_traits.demo']:
            del sys.modules[name]

    def unimportable(self, module, *absent):
        self.without(*absent)
        return self.assertRaises(ImportError, importlib.import_module,
                                 module)

    def test_tools_that_need_fixtures_say_how_to_install_it(self):
        for module in ('mdev_traits.testing.sysfs_builder',
                       'mdev_traits.testing.vdpa_tool',
                       'mdev_traits.testing.placement'):
            error = self.unimportable(module, 'fixtures')
            self.assertEqual('%s needs the test extra (missing: fixtures): '
                             '%s' % (module, HINT), str(error))
            self.assertEqual('fixtures', error.name)

    def test_the_placement_fixture_needs_openstack_placement(self):
        error = self.unimportable('mdev_traits.testing.placement',
                                  'placement')
        self.assertIn('(missing: openstack-placement): ' + HINT,
                      str(error))

    def test_catalogue_and_demo_import_without_the_extra(self):
        self.without('fixtures', 'placement')
        samples = importlib.import_module('mdev_traits.testing.samples')
        self.assertEqual('gpu-host-1', samples.get('gpu-host-1').name)
        fresh = importlib.import_module('mdev_traits.demo')
        self.assertIsNot(demo, fresh)

    def test_demo_without_the_extra_exits_2_with_one_line(self):
        stderr = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', stderr))
        self.without('placement')
        self.assertEqual(2, demo.main([]))
        self.assertEqual(['mdev-traits-demo needs the test extra '
                          '(missing: openstack-placement): ' + HINT],
                         stderr.getvalue().splitlines())

    def test_setup_cfg_declares_what_the_tools_import(self):
        cfg = configparser.ConfigParser()
        cfg.read(SETUP_CFG)
        declared = {line.split('#')[0].strip().split('>')[0].split('=')[0]
                    for line in cfg['extras']['test'].splitlines()
                    if line.strip()}
        self.assertEqual(sorted(testing.DISTRIBUTIONS.values()),
                         sorted(declared))
        self.assertIn('mdev-traits-demo = mdev_traits.demo:main',
                      cfg['entry_points']['console_scripts'])
