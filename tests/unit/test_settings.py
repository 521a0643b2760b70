"""The configuration as frozen settings (mdev_traits.conf.settings)."""

import ast
import dataclasses
import os

import fixtures
from oslo_config import cfg
import testtools

from mdev_traits.cmd import exporter as exporter_cmd
from mdev_traits.conf import check as conf_check
from mdev_traits.conf import settings as settings_mod
from mdev_traits.daemon import loop as daemon_mod
from mdev_traits.mapping import floors as floors_mod
from mdev_traits import service
from mdev_traits.daemon import systemd

PACKAGE = os.path.dirname(os.path.abspath(service.__file__))


def parse(path):
    conf = exporter_cmd.build_conf()
    conf(['--config-file', path], project='mdev-traits',
         default_config_files=[], default_config_dirs=[])
    return conf


class SettingsTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(self.tmp, 'mdev-traits.conf')

    def write(self, text):
        with open(self.path, 'w') as f:
            f.write(text)
        return self.path


class TestLoad(SettingsTestCase):

    def test_values_are_frozen_plain_data(self):
        conf = parse(self.write(
            '[exporter]\nroot_provider_name = cn1\ninterval = 7\n'
            'discovery_sources = mdev\nstate_file = %s/state.json\n'
            '[metrics]\ntextfile = /x.prom\n'
            '[profiles]\nenabled = false\nladder_floors = cuda:7.0\n'
            '[vdpa]\ncommand = /opt/vdpa\ncommand_timeout = 3\n' % self.tmp))
        settings = settings_mod.load(conf)
        self.assertEqual('cn1', settings.exporter.root_provider_name)
        self.assertEqual(7, settings.exporter.interval)
        self.assertEqual(('mdev',), settings.exporter.discovery_sources)
        self.assertEqual(os.path.join(self.tmp, 'status.json'),
                         settings.exporter.status_path)
        self.assertEqual('/x.prom', settings.metrics.textfile)
        self.assertFalse(settings.profiles.enabled)
        self.assertEqual(floors_mod.parse({'cuda': '7.0'}),
                         settings.profiles.floors)
        self.assertEqual((self.path,), settings.config_files)
        self.assertEqual(
            {'mdev': {'read_types': frozenset()},
             'vdpa': {'command': '/opt/vdpa', 'timeout': 3}},
            settings.discovery.options())
        self.assertRaises(dataclasses.FrozenInstanceError, setattr,
                          settings.exporter, 'interval', 1)
        self.assertRaises(dataclasses.FrozenInstanceError, setattr,
                          settings, 'exporter', None)
        # the settings are read once: a later change of the configuration
        # object does not reach them
        conf.set_override('interval', 9, group='exporter')
        self.assertEqual(7, settings.exporter.interval)

    def test_manage_is_computed_once_for_every_part(self):
        for mode, manage in (('manage', True), ('decorate', False)):
            settings = settings_mod.load(parse(self.write(
                '[exporter]\nmode = %s\n' % mode)))
            self.assertEqual(mode, settings.exporter.mode)
            self.assertIs(manage, settings.exporter.manage)
            # the vDPA mapping takes the same flag
            self.assertIs(manage, settings.vdpa.manage)

    def test_bad_floor_is_a_floor_error(self):
        conf = parse(self.write('[profiles]\nladder_floors = cuda:x\n'))
        self.assertRaises(floors_mod.FloorError, settings_mod.load, conf)
        (error,) = conf_check.checked_settings(conf)[1]
        self.assertIn('[profiles] ladder_floors', error)

    def test_dynamic_groups_are_registered_at_load(self):
        conf = parse(self.write(
            '[devices]\nenabled_mdev_types = nvidia-231, nvidia-232\n'
            '[mdev_nvidia-231]\ndevice_addresses = 0000:3b:00.0\n'
            'mdev_class = CUSTOM_T4\n'
            '[mdev_nvidia-232]\nmax_instances = 4\n'))
        # parsing alone registers no [mdev_<type>] group
        self.assertRaises((cfg.NoSuchOptError, cfg.NoSuchGroupError,
                           KeyError), lambda: conf['mdev_nvidia-231'])
        settings = settings_mod.load(conf)
        self.assertEqual(('nvidia-231', 'nvidia-232'),
                         settings.mdev.enabled_types)
        self.assertEqual((('nvidia-231', ('0000:3b:00.0',)),
                          ('nvidia-232', ())),
                         settings.mdev.device_addresses)
        self.assertEqual('CUSTOM_T4',
                         settings.mdev.resource_class('nvidia-231'))
        self.assertEqual((('nvidia-232', 4),), settings.mdev.max_instances)
        self.assertEqual(('0000:3b:00.0',),
                         tuple(conf['mdev_nvidia-231'].device_addresses))
        self.assertEqual(frozenset({'nvidia-231', 'nvidia-232'}),
                         settings.discovery.options()['mdev']['read_types'])

    def test_checked_settings(self):
        conf = parse(self.write('[exporter]\ninterval = 3\n'))
        settings, errors = conf_check.checked_settings(conf)
        self.assertEqual([], errors)
        self.assertEqual(3, settings.exporter.interval)
        conf = parse(self.write('[exporter]\ninterval = soon\n'))
        settings, errors = conf_check.checked_settings(conf)
        self.assertIsNone(settings)
        self.assertIn('[exporter] interval', errors[0])


class TestExporterTakesSettings(SettingsTestCase):

    def test_a_cycle_reads_no_configuration_object(self):
        # the Exporter and the mapping work from Settings alone
        conf = parse(self.write(
            '[exporter]\nroot_provider_name = cn1\nsysfs_root = %s\n'
            'state_file =\n[profiles]\nenabled = false\n' % self.tmp))
        settings = settings_mod.load(conf)
        tree = service.desired_tree(settings)
        self.assertEqual('cn1', tree.root_name)
        self.assertEqual(0, len(service.gpu_enrichers(settings)))
        enabled = dataclasses.replace(
            settings, profiles=dataclasses.replace(settings.profiles,
                                                   enabled=True))
        self.assertEqual(1, len(service.gpu_enrichers(enabled)))
        exporter = service.Exporter(settings, client=object())
        self.assertIs(settings, exporter.settings)
        self.assertEqual('cn1', exporter.reconciler.root_name)


class FakeExporter(object):

    report = None

    def __init__(self, settings, **kwargs):
        self.settings = settings
        self.cycles = 0

    def cycle(self):
        self.cycles += 1


class TestReload(SettingsTestCase):

    def test_built_once_per_load_and_reload(self):
        self.write('[exporter]\ninterval = 5\nhotplug = false\n'
                   '[devices]\nenabled_mdev_types = a\n')
        loads = []
        real_build = settings_mod.build

        def counting_build(conf):
            loads.append(conf)
            return real_build(conf)

        self.useFixture(fixtures.MonkeyPatch(
            'mdev_traits.conf.settings.build', counting_build))
        conf = parse(self.path)
        settings, errors = conf_check.checked_settings(conf)
        self.assertEqual([], errors)

        def reload_conf():
            new = parse(self.path)
            new_settings, errors = conf_check.checked_settings(new)
            if errors:
                raise RuntimeError('; '.join(errors))
            return new, new_settings

        daemon = daemon_mod.Daemon(
            conf, make_exporter=FakeExporter, reload_conf=reload_conf,
            notifier=systemd.Notifier({}), settings=settings)
        for _ in range(3):
            self.assertTrue(daemon.run_cycle())
        self.assertEqual(1, len(loads))
        self.assertEqual(3, daemon.exporter.cycles)
        # SIGHUP: new values, a new type (its group registered then)
        self.write('[exporter]\ninterval = 9\nhotplug = false\n'
                   '[devices]\nenabled_mdev_types = a, b\n'
                   '[mdev_b]\ndevice_addresses = 0000:3b:00.0\n')
        daemon._on_hup(None, None)
        daemon._do_reload()
        self.assertEqual(2, len(loads))
        self.assertIsNot(settings, daemon.settings)
        self.assertIs(daemon.settings, daemon.exporter.settings)
        self.assertEqual(9, daemon.settings.exporter.interval)
        self.assertEqual(('a', 'b'), daemon.settings.mdev.enabled_types)
        self.assertEqual((('a', ()), ('b', ('0000:3b:00.0',))),
                         daemon.settings.mdev.device_addresses)
        self.assertTrue(daemon.run_cycle())
        self.assertEqual(2, len(loads))
        # a reload that fails validation keeps the running settings
        running = daemon.settings
        self.write('[exporter]\ninterval = soon\n')
        daemon._on_hup(None, None)
        daemon._do_reload()
        self.assertIs(running, daemon.settings)
        self.assertEqual(9, daemon.settings.exporter.interval)


class TestUnknownOptions(SettingsTestCase):

    def test_warning_through_the_public_api(self):
        conf = parse(self.write(
            '[exporter]\nintervall = 1\n'
            '[devices]\nenabled_mdev_types = a\n'
            '[mdev_a]\ndevice_addresses = 0000:3b:00.0\n'
            '[mdev_b]\ndevice_addresses = 0000:5e:00.0\n'))
        settings, errors = conf_check.checked_settings(conf)
        self.assertEqual([], errors)
        logs = self.useFixture(fixtures.FakeLogger(
            name='mdev_traits.cmd.exporter'))
        exporter_cmd.warn_unknown(conf)
        self.assertEqual([
            'Configuration: %s: unknown option [exporter] intervall: '
            'ignored' % self.path,
            'Configuration: %s: unknown section [mdev_b] (its type is not '
            'in [devices] enabled_mdev_types): ignored' % self.path],
            logs.output.splitlines())


def _imports(path):
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            for alias in node.names:
                yield '%s.%s' % (node.module, alias.name)


class TestLayersTakePlainValues(testtools.TestCase):

    def test_mapping_placement_discovery_import_no_configuration(self):
        for layer in ('mapping', 'placement', 'discovery'):
            directory = os.path.join(PACKAGE, layer)
            for name in sorted(os.listdir(directory)):
                if not name.endswith('.py'):
                    continue
                for module in _imports(os.path.join(directory, name)):
                    self.assertFalse(
                        module.startswith(('oslo_config',
                                           'mdev_traits.conf')),
                        '%s/%s imports %s' % (layer, name, module))
