"""Configuration checks and the command line's subcommand split."""

import importlib
import os

import fixtures
from oslo_config import types
import testtools

from mdev_traits.cmd import exporter as exporter_cmd
from mdev_traits.conf import check
from mdev_traits.conf import options as conf_options
from mdev_traits.conf import settings as settings_mod


def make_conf(tmp, *texts):
    paths = []
    for i, text in enumerate(texts):
        path = os.path.join(tmp, '%d.conf' % i)
        with open(path, 'w') as f:
            f.write(text)
        paths.append(path)
    conf = exporter_cmd.build_conf()
    args = []
    for path in paths:
        args += ['--config-file', path]
    conf(args, project='mdev-traits', default_config_files=[],
         default_config_dirs=[])
    # the [mdev_<type>] groups, as a load registers them
    settings_mod.register_dynamic_opts(conf)
    return conf, paths


class TestAllowed(testtools.TestCase):

    def test_words(self):
        self.assertEqual('true or false', check.allowed(types.Boolean()))
        self.assertEqual('a whole number of at least 1',
                         check.allowed(types.Integer(min=1)))
        self.assertEqual('a number from 0.0 to 0.5',
                         check.allowed(types.Float(min=0.0, max=0.5)))
        self.assertEqual('a port number from 0 to 65535',
                         check.allowed(types.Port()))
        self.assertEqual('one of: a, b',
                         check.allowed(types.String(choices=['a', 'b'])))
        self.assertEqual(
            'a comma-separated list, each a whole number',
            check.allowed(types.List(item_type=types.Integer())))
        self.assertIsNone(check.allowed(types.String()))


class TestChecks(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_EXPORTER__INTERVAL'))

    def test_value_errors_name_file_and_allowed(self):
        conf, (path,) = make_conf(
            self.tmp, '[exporter]\ninterval = soon\n'
            '[devices]\nenabled_mdev_types = t1\n'
            '[mdev_t1]\nmax_instances = 0\n')
        self.assertEqual([
            '[exporter] interval = soon in %s is not valid; allowed: a '
            'whole number of at least 1' % path,
            '[mdev_t1] max_instances = 0 in %s is not valid; allowed: a '
            'whole number of at least 1' % path],
            check.value_errors(conf))

    def test_environment_is_named(self):
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_EXPORTER__INTERVAL', 'soon'))
        conf, _ = make_conf(self.tmp, '[exporter]\n')
        (error,) = check.value_errors(conf)
        self.assertIn('in the environment (OS_EXPORTER__INTERVAL)', error)

    def test_keystoneauth_option(self):
        conf, (path,) = make_conf(self.tmp, '[placement]\ntimeout = x\n')
        self.assertEqual(['[placement] timeout = x in %s is not valid; '
                          'allowed: a number' % path],
                         check.value_errors(conf))

    def test_unknown_only_in_the_last_file(self):
        conf, (nova, own) = make_conf(
            self.tmp,
            '[DEFAULT]\ntransport_url = x\n[libvirt]\nvirt_type = kvm\n',
            '[DEFAULT]\ndebug = true\nlog-dir = /tmp\n'
            '[exporter]\nintervall = 1\n'
            '[devices]\nenabled_vgpu_types = t1\n'
            '[mdev_t1]\ndevice_addresses = 0000:3b:00.0\n'
            '[mdev_t2]\ndevice_addresses = 0000:3b:00.0\n'
            '[placement]\nauth_type = password\nusername = u\n'
            'interface = internal\nendpoint = http://x\n')
        self.assertEqual(own, check.own_file(conf))
        self.assertEqual([
            '%s: unknown option [exporter] intervall: ignored' % own,
            '%s: unknown section [mdev_t2] (its type is not in [devices] '
            'enabled_mdev_types): ignored' % own],
            check.unknown_options(conf))
        # nova's file, were it checked, would have its own options
        self.assertEqual(2, len(check.unknown_options(conf, nova)))

    def test_unknown_is_bounded(self):
        conf, (own,) = make_conf(self.tmp, '[exporter]\n' + ''.join(
            'x%d = 1\n' % i for i in range(30)))
        found = check.unknown_options(conf)
        self.assertEqual(check.MAX_REPORTED + 1, len(found))
        self.assertEqual('%s: 10 more unknown option(s) or section(s)' %
                         own, found[-1])

    def test_changed_options(self):
        old, _ = make_conf(self.tmp, '[exporter]\ninterval = 5\n')
        new, _ = make_conf(os.path.join(self.tmp), '[exporter]\n'
                           'interval = 6\n[DEFAULT]\nlog_dir = /x\n')
        self.assertEqual([('DEFAULT', 'log_dir'), ('exporter', 'interval')],
                         conf_options.changed_options(old, new))


class TestSplitSubcommand(testtools.TestCase):

    def test_before_and_after(self):
        split = exporter_cmd.split_subcommand
        self.assertEqual(('requirements', ['--config-file', 'f', '--mdev',
                                           'u']),
                         split(['--config-file', 'f', 'requirements',
                                '--mdev', 'u']))
        self.assertEqual(('requirements', ['--config-file', 'f', '--mdev',
                                           'u']),
                         split(['requirements', '--config-file', 'f',
                                '--mdev', 'u']))
        self.assertEqual(('status', ['--debug']),
                         split(['--debug', 'status']))
        self.assertEqual(('status', ['--config-file=f']),
                         split(['--config-file=f', 'status']))
        # a file named like a subcommand is the option's value
        self.assertEqual(('status', ['--config-file', 'status']),
                         split(['--config-file', 'status', 'status']))
        self.assertEqual((None, ['--log-file', 'status', '--once']),
                         split(['--log-file', 'status', '--once']))
        self.assertEqual((None, ['--once']), split(['--once']))


class TestSubcommandTable(testtools.TestCase):

    def test_each_entry_is_a_module_and_one_short_line(self):
        for name, entry in exporter_cmd.SUBCOMMANDS.items():
            module_name, summary = entry
            module = importlib.import_module(module_name)
            self.assertTrue(callable(module.run), name)
            self.assertIsInstance(module.cli_opts, list)
            # --help prints it after a 24-column name, on one line of 80
            self.assertLessEqual(len(summary), 54, name)
            self.assertNotIn('\n', summary)
