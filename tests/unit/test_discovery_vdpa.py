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

import errno
import json
import logging
import os
import subprocess

import fixtures
import testtools

from mdev_traits.cmd import exporter as exporter_cmd
from mdev_traits.conf import settings as settings_mod
from mdev_traits.discovery import base
from mdev_traits.discovery import vdpa
from mdev_traits.discovery import vdpa_netlink
from mdev_traits import models
from mdev_traits.testing import sysfs_builder
from mdev_traits.testing import vdpa_tool


def _read(set_name, command):
    with open(os.path.join(vdpa_tool.OUTPUTS_DIR, set_name,
                           vdpa_tool.COMMAND_FILES[command])) as f:
        return f.read()


class FakeReader(object):
    """Stands for vdpa_netlink.Reader: ``answer`` is {name: Features} or
    the NetlinkError to raise."""

    def __init__(self, answer):
        self.answer = answer
        self.asked = []
        self.timeout = None

    def __call__(self, timeout):
        self.timeout = timeout
        return self

    def read(self, names):
        self.asked.append(list(names))
        if isinstance(self.answer, Exception):
            raise self.answer
        return dict(self.answer)


class TestParsing(testtools.TestCase):

    def test_recorded_outputs(self):
        devs = vdpa.parse_section(_read('mlx5', 'dev show'), 'dev', 'x')
        self.assertEqual({'vdpa0', 'vdpa1'}, set(devs))
        self.assertEqual({'type': 'network', 'mgmtdev': 'pci/0000:3b:00.2',
                          'vendor_id': 5555, 'max_vqs': 17,
                          'max_vq_size': 256}, devs['vdpa0'])
        mgmt = vdpa.parse_section(_read('mlx5', 'mgmtdev show'), 'mgmtdev',
                                  'x')
        self.assertEqual(257, mgmt['pci/0000:3b:00.3']['max_supported_vqs'])

    def test_trailing_space_keys_are_stripped(self):
        # iproute2 prints "link " and "link_announce " (vdpa.c
        # pr_out_dev_net_config): both forms must read the same
        cfg = vdpa.parse_section(_read('mlx5', 'dev config show'),
                                 'config', 'x')
        self.assertEqual('up', cfg['vdpa0']['link'])
        self.assertIs(False, cfg['vdpa0']['link_announce'])
        spaced = json.dumps({'config ': {' vdpa0 ': {'max_vq_pairs ': 8}}})
        self.assertEqual({'vdpa0': {'max_vq_pairs': 8}},
                         vdpa.parse_section(spaced, 'config', 'x'))

    def test_empty_and_missing_sections(self):
        self.assertEqual({}, vdpa.parse_section('{"dev":{}}', 'dev', 'x'))
        self.assertEqual({}, vdpa.parse_section('{}', 'dev', 'x'))

    def test_garbage(self):
        for text in ('', '{"dev":', '[]', '"dev"', '{"dev":[]}',
                     '{"dev":{"vdpa0":3}}'):
            self.assertRaises(vdpa.ToolError, vdpa.parse_section, text,
                              'dev', 'x')

    def test_features(self):
        self.assertEqual(('MQ', 'VERSION_1', 'bit_40', 'bit_54', 'RSS'),
                         vdpa.parse_features(
                             ['MQ', ' version_1', 40, 'bit_54', 'RSS'], 'f'))
        self.assertEqual(('MQ', 'CSUM'), vdpa.parse_features('MQ CSUM', 'f'))
        self.assertIsNone(vdpa.parse_features(None, 'f'))
        for bad in ([True], [None], [''], [1.5], {'MQ': 1}, 7):
            self.assertRaises(vdpa.FormatError, vdpa.parse_features, bad,
                              'f')

    def test_numbers(self):
        # vendor_id is printed in decimal: 5555 is Mellanox's 0x15b3
        self.assertEqual(5555, vdpa.parse_uint(5555, 'vendor_id'))
        self.assertEqual(5555, vdpa.parse_uint('5555', 'vendor_id'))
        self.assertEqual(0x15b3, vdpa.parse_uint('0x15b3', 'vendor_id'))
        self.assertIsNone(vdpa.parse_uint(None, 'mtu'))
        for bad in (True, -1, 1.5, 'many', [1]):
            self.assertRaises(vdpa.FormatError, vdpa.parse_uint, bad, 'x')


class _Base(testtools.TestCase):

    def setUp(self):
        super(_Base, self).setUp()
        self.logger = self.useFixture(fixtures.FakeLogger(
            name='mdev_traits.discovery.vdpa', level=logging.DEBUG,
            format='%(levelname)s %(message)s'))
        self.sysfs = self.useFixture(sysfs_builder.FakeSysfs())
        self.builder = self.sysfs.builder
        self.tool = self.useFixture(vdpa_tool.FakeVdpaTool())

    def warnings(self):
        return [line for line in self.logger.output.splitlines()
                if line.startswith(('WARNING', 'ERROR'))]

    def collect(self, command=None, timeout=10, netlink_reader=None):
        collector = vdpa.VdpaCollector(
            self.sysfs.root, command=command or self.tool.path,
            timeout=timeout, netlink_reader=netlink_reader)
        return collector.collect()

    def host(self, *sets, drivers=None, drop=(), mode='ok', fail_on=None):
        vdpa_tool.build_sysfs(self.builder, *sets, drivers=drivers)
        self.tool.use(*sets, drop=drop, mode=mode, fail_on=fail_on)

    def assertIncomplete(self, result):
        self.assertFalse(result.complete)
        self.assertEqual(frozenset({models.KIND_VDPA}), result.incomplete)
        self.assertFalse(result.kind_complete(models.KIND_VDPA))
        self.assertTrue(result.kind_complete(models.KIND_MDEV))


class TestRecordedHosts(_Base):

    def test_mlx5_vfs(self):
        self.host('mlx5')
        result = self.collect()
        self.assertTrue(result.complete, result.errors)
        self.assertEqual((), result.errors)
        vdpa0, vdpa1 = result.vdpa_devices
        self.assertEqual('vdpa0', vdpa0.name)
        self.assertEqual('net', vdpa0.device_type)
        self.assertEqual('pci/0000:3b:00.2', vdpa0.mgmtdev)
        self.assertEqual('mlx5_core', vdpa0.mgmtdev_driver)
        self.assertEqual('vhost_vdpa', vdpa0.driver)
        self.assertEqual('vhost-vdpa-0', vdpa0.vhost_dev)
        self.assertTrue(vdpa0.usable_by_vms)
        self.assertEqual((5555, 17, 256, 8, 1500),
                         (vdpa0.vendor_id, vdpa0.max_vqs, vdpa0.max_vq_size,
                          vdpa0.max_vq_pairs, vdpa0.mtu))
        self.assertEqual('e4:11:c6:d3:45:f0', vdpa0.mac)
        # no iproute2 prints the device's own features; netlink is not
        # read for a tree that is not /sys: none, and why
        self.assertIsNone(vdpa0.features_source)
        self.assertEqual((), vdpa0.supported_features)
        self.assertIn('sysfs_root', vdpa0.features_unknown)
        # the management device's list is kept as an upper bound only:
        # mlx5_vnet.c get_supported_features sets MAC, never RING_PACKED
        self.assertIn('MAC', vdpa0.mgmtdev_features)
        self.assertNotIn('RING_PACKED', vdpa0.mgmtdev_features)
        self.assertIn('MQ', vdpa0.negotiated_features)
        self.assertEqual((), vdpa1.negotiated_features)
        self.assertEqual(2, vdpa1.max_vq_pairs)
        # the VF, its PF and the PF's netdev
        self.assertEqual('0000:3b:00.2', vdpa0.parent)
        self.assertEqual(('15b3', '101e', 'mlx5_core', 0),
                         (vdpa0.pci.vendor, vdpa0.pci.device,
                          vdpa0.pci.driver, vdpa0.pci.numa_node))
        self.assertEqual('0000:3b:00.0', vdpa0.physfn)
        self.assertEqual(('ens1f0np0',), vdpa0.pf_netdevs)
        self.assertFalse(vdpa0.partial)
        # dev show first: without it there is nothing to describe
        self.assertEqual([['-j', 'dev', 'show'], ['-j', 'mgmtdev', 'show'],
                          ['-j', 'dev', 'config', 'show']],
                         self.tool.calls())
        self.assertEqual([], self.warnings())

    def test_ifcvf(self):
        self.host('ifcvf')
        (dev,) = self.collect().vdpa_devices
        # the management device lists bit 40 as a bare number
        self.assertIn('bit_40', dev.mgmtdev_features)
        self.assertEqual((), dev.supported_features)
        self.assertEqual((32902, 32768, 4), (dev.vendor_id, dev.max_vq_size,
                                             dev.max_vq_pairs))
        self.assertEqual(('1af4', '1041', '8086', '001a'),
                         (dev.pci.vendor, dev.pci.device,
                          dev.pci.subsystem_vendor,
                          dev.pci.subsystem_device))
        self.assertEqual('ifcvf', dev.mgmtdev_driver)
        # the FPGA PF has no network interface
        self.assertEqual((), dev.pf_netdevs)

    def test_simulator_on_no_bus(self):
        self.host('vdpa_sim_net')
        (dev,) = self.collect().vdpa_devices
        self.assertEqual('vdpasim_net', dev.mgmtdev)
        self.assertEqual('vdpasim_net', dev.mgmtdev_driver)
        self.assertEqual('vdpasim_net', dev.parent)
        self.assertIsNone(dev.pci)
        # no MQ: the kernel reports no max_vq_pairs
        # (vdpa_dev_net_mq_config_fill)
        self.assertEqual((0, 3, None), (dev.vendor_id, dev.max_vqs,
                                        dev.max_vq_pairs))

    def test_old_iproute2(self):
        self.host('vdpa_sim_net-iproute2-5.12')
        result = self.collect()
        self.assertTrue(result.complete)
        self.assertEqual((), result.errors)
        (dev,) = result.vdpa_devices
        self.assertIsNone(dev.max_vq_pairs)
        self.assertEqual((), dev.supported_features)
        self.assertIsNone(dev.features_source)
        self.assertEqual(2, dev.max_vqs)
        self.assertFalse(dev.partial)
        (note,) = dev.notes
        self.assertIn('Command "config" not found', note)
        self.assertEqual([], self.warnings())

    def test_recorded_old_tool_answers_as_iproute2_5_15(self):
        # vdpa/vdpa.c v5.15.0 cmd_dev: stderr, exit 1, and the newline of
        # the empty JSON writer on stdout
        self.host('mlx5-iproute2-5.15')
        proc = subprocess.run([self.tool.path, '-j', 'dev', 'config',
                               'show'], capture_output=True, check=False)
        self.assertEqual((1, b'\n', b'Command "config" not found\n'),
                         (proc.returncode, proc.stdout, proc.stderr))
        mgmt = json.loads(subprocess.run(
            [self.tool.path, '-j', 'mgmtdev', 'show'], capture_output=True,
            check=True).stdout)
        self.assertEqual({'supported_classes': ['net']},
                         mgmt['mgmtdev']['pci/0000:3b:00.2'])

    def test_ubuntu_22_04_iproute2_5_15(self):
        # a 6.x kernel (HWE) with Ubuntu 22.04's iproute2 5.15: no "dev
        # config show", no max_supported_vqs or dev_features: degrade per
        # field, every device still there
        self.host('mlx5-iproute2-5.15')
        result = self.collect()
        self.assertTrue(result.complete, result.errors)
        self.assertEqual((), result.errors)
        vdpa0, vdpa1 = result.vdpa_devices
        self.assertEqual((17, 256, None, None, None),
                         (vdpa0.max_vqs, vdpa0.max_vq_size,
                          vdpa0.max_vq_pairs, vdpa0.mtu, vdpa0.mac))
        self.assertEqual((), vdpa0.mgmtdev_features)
        self.assertEqual('mlx5_core', vdpa0.mgmtdev_driver)
        self.assertFalse(vdpa0.partial or vdpa1.partial)
        self.assertEqual(['-j', 'dev', 'config', 'show'],
                         self.tool.calls()[-1])
        self.assertEqual([], self.warnings())

    def test_features_read_over_netlink(self):
        # the reader (vdpa_netlink.Reader on the real /sys) gives the
        # device's own features: provisioned CTRL_VQ VERSION_1
        # ACCESS_PLATFORM, less than the management device allows
        self.host('mlx5-provisioned')
        reader = FakeReader({'vdpa0': vdpa_netlink.Features(
            0x300020000, 'VDPA_ATTR_DEV_FEATURES', None, False)})
        result = self.collect(timeout=2, netlink_reader=reader)
        (dev,) = result.vdpa_devices
        self.assertEqual(('bit_17', 'bit_32', 'bit_33'),
                         dev.supported_features)
        self.assertIn('VDPA_ATTR_DEV_FEATURES', dev.features_source)
        self.assertIsNone(dev.features_unknown)
        self.assertIn('MQ', dev.mgmtdev_features)
        self.assertEqual([['vdpa0']], reader.asked)
        self.assertEqual(2, reader.timeout)

    def test_features_not_reported_by_the_kernel(self):
        self.host('mlx5')
        reader = FakeReader({n: vdpa_netlink.Features(
            None, None, vdpa_netlink.NOT_REPORTED, False)
            for n in ('vdpa0', 'vdpa1')})
        result = self.collect(netlink_reader=reader)
        self.assertTrue(result.complete)
        self.assertEqual((), result.errors)
        for dev in result.vdpa_devices:
            self.assertEqual((), dev.supported_features)
            self.assertEqual(vdpa_netlink.NOT_REPORTED, dev.features_unknown)
            self.assertFalse(dev.partial)

    def test_netlink_failure_makes_devices_partial(self):
        self.host('mlx5')
        reader = FakeReader(vdpa_netlink.NetlinkError(
            'no netlink answer within 2s', errno.ETIMEDOUT))
        result = self.collect(netlink_reader=reader)
        self.assertTrue(result.complete)
        (error,) = result.errors
        self.assertIn('no netlink answer', error)
        self.assertTrue(all(d.partial for d in result.vdpa_devices))
        # no vdpa family (module not loaded): steady, not a failure
        reader = FakeReader(vdpa_netlink.NetlinkError(
            'no "vdpa" family', errno.ENOENT))
        result = self.collect(netlink_reader=reader)
        self.assertEqual((), result.errors)
        self.assertFalse(any(d.partial for d in result.vdpa_devices))

    def test_every_key_with_a_trailing_space(self):
        self.host('mlx5', 'ifcvf', mode='trailing-space')
        result = self.collect()
        self.assertTrue(result.complete, result.errors)
        self.assertEqual([8, 2, 4], [d.max_vq_pairs
                                     for d in result.vdpa_devices])
        self.assertIn('MAC', result.vdpa_devices[0].mgmtdev_features)

    def test_drivers(self):
        self.host('mlx5', 'vdpa_sim_net',
                  drivers={'vdpa1': None, 'vdpa2': 'virtio_vdpa'})
        result = self.collect()
        self.assertTrue(result.complete, result.errors)
        by_name = {d.name: d for d in result.vdpa_devices}
        self.assertTrue(by_name['vdpa0'].usable_by_vms)
        self.assertIsNone(by_name['vdpa1'].driver)
        self.assertFalse(by_name['vdpa1'].usable_by_vms)
        self.assertEqual('virtio_vdpa', by_name['vdpa2'].driver)
        self.assertIsNone(by_name['vdpa2'].vhost_dev)
        self.assertFalse(by_name['vdpa2'].usable_by_vms)

    def test_rebind(self):
        self.host('mlx5')
        self.builder.bind_vdpa_device('vdpa0', 'virtio_vdpa')
        by_name = {d.name: d for d in self.collect().vdpa_devices}
        self.assertEqual('virtio_vdpa', by_name['vdpa0'].driver)
        self.builder.bind_vdpa_device('vdpa0', 'vhost_vdpa', index=5)
        by_name = {d.name: d for d in self.collect().vdpa_devices}
        self.assertEqual('vhost-vdpa-5', by_name['vdpa0'].vhost_dev)

    def test_scalable_function_parent(self):
        # an mlx5 SF: the vDPA device sits on an auxiliary device under
        # the PF; the PF is its PCI device
        vdpa_tool.build_sysfs(self.builder, 'mlx5')
        pf = self.builder.pci_dir('0000:3b:00.0')
        self.builder.add_vdpa_device('vdpa9', pf + '/mlx5_core.sf.1',
                                     index=9)
        self.builder.makedirs('bus/auxiliary/devices')
        self.builder.symlink('bus/auxiliary/devices/mlx5_core.sf.1',
                             pf + '/mlx5_core.sf.1')
        self.builder.symlink(pf + '/mlx5_core.sf.1/driver',
                             'bus/auxiliary/drivers/mlx5_core.sf')
        dev = json.loads(_read('mlx5', 'dev show'))['dev']
        dev['vdpa9'] = dict(dev['vdpa0'], mgmtdev='auxiliary/mlx5_core.sf.1')
        self.tool.use_data(dev=dev, config={'vdpa9': {'max_vq_pairs': 16}})
        result = self.collect()
        self.assertTrue(result.complete, result.errors)
        sf = {d.name: d for d in result.vdpa_devices}['vdpa9']
        self.assertEqual('mlx5_core.sf.1', sf.parent)
        self.assertEqual('0000:3b:00.0', sf.pci.address)
        self.assertIsNone(sf.physfn)
        self.assertEqual(('ens1f0np0',), sf.pf_netdevs)
        self.assertEqual('mlx5_core.sf', sf.mgmtdev_driver)


class TestQuietWithoutVdpa(_Base):

    def test_no_vdpa_bus_and_no_tool(self):
        # the vdpa bus module is not loaded and iproute2 has no vdpa: not
        # even a warning, and the result is complete
        result = self.collect(command='/nonexistent/vdpa')
        self.assertTrue(result.complete)
        self.assertEqual((), result.errors)
        self.assertEqual((), result.vdpa_devices)
        self.assertEqual([], self.warnings())
        self.assertIn('DEBUG', self.logger.output)

    def test_vdpa_bus_without_devices(self):
        self.builder.makedirs('bus/vdpa/devices')
        result = self.collect()
        self.assertTrue(result.complete)
        self.assertEqual([], self.tool.calls())
        self.assertEqual([], self.warnings())


class TestToolFailures(_Base):

    def assertOneError(self, result, *words):
        self.assertIncomplete(result)
        self.assertEqual((), result.vdpa_devices)
        (error,) = result.errors
        for word in words:
            self.assertIn(word, error)
        # the service logs result.errors: the collector adds no warning
        self.assertEqual([], self.warnings())
        return error

    def test_tool_missing(self):
        self.host('mlx5')
        error = self.assertOneError(self.collect(command='/nonexistent/vdpa'),
                                    'not installed', '[vdpa] command',
                                    '2 vDPA device(s)')
        self.assertIn('left as they are', error)

    def test_tool_not_executable(self):
        self.host('mlx5')
        os.chmod(self.tool.path, 0o644)
        self.assertOneError(self.collect(), 'permission denied')

    def test_exit_status(self):
        self.host('mlx5', mode='exit1')
        self.assertOneError(self.collect(), 'exited with status 1',
                            'Failed to connect to vdpa Netlink')

    def test_dev_show_fails(self):
        self.host('mlx5', mode='exit1', fail_on=['dev show'])
        self.assertOneError(self.collect(), 'dev show')

    def test_config_show_fails_devices_are_partial(self):
        # not a tool without the command: a failed read, so the devices
        # are described with what is known and get additions only
        self.host('mlx5', mode='exit1', fail_on=['dev config show'])
        result = self.collect()
        self.assertTrue(result.complete)
        (error,) = result.errors
        self.assertIn('dev config show', error)
        self.assertEqual([(None, True), (None, True)],
                         [(d.max_vq_pairs, d.partial)
                          for d in result.vdpa_devices])

    def test_mgmtdev_show_fails_devices_unaffected(self):
        self.host('mlx5', mode='hang', fail_on=['mgmtdev show'])
        result = self.collect(timeout=1)
        self.assertTrue(result.complete)
        (error,) = result.errors
        self.assertIn('mgmtdev show', error)
        self.assertEqual([(8, False), (2, False)],
                         [(d.max_vq_pairs, d.partial)
                          for d in result.vdpa_devices])

    def test_bad_json(self):
        self.host('mlx5', mode='badjson')
        self.assertOneError(self.collect(), 'invalid JSON')

    def test_timeout(self):
        self.host('mlx5', mode='hang')
        self.assertOneError(self.collect(timeout=1), 'did not finish',
                            'command_timeout')

    def test_unsplittable_command(self):
        self.host('mlx5')
        self.assertOneError(self.collect(command='vdpa "'),
                            'cannot be split')

    def test_command_with_arguments(self):
        self.host('mlx5')
        result = self.collect(command='env %s' % self.tool.path)
        self.assertTrue(result.complete, result.errors)
        self.assertEqual(2, len(result.vdpa_devices))


class TestRaces(_Base):

    def test_device_only_in_sysfs(self):
        # created after the tool listed the devices
        self.host('mlx5', drop=['vdpa1'])
        result = self.collect()
        self.assertIncomplete(result)
        self.assertEqual(['vdpa0'], [d.name for d in result.vdpa_devices])
        (error,) = result.errors
        self.assertIn('vdpa1 is only listed by sysfs', error)

    def test_device_only_in_tool(self):
        self.host('mlx5')
        self.builder.remove_vdpa_device('vdpa1')
        result = self.collect()
        self.assertIncomplete(result)
        self.assertIn('only listed by the vdpa tool', result.errors[0])

    def test_vhost_node_missing(self):
        self.host('mlx5')
        node = self.builder.vdpa_dir('vdpa0') + '/vhost-vdpa-0'
        self.builder.remove('class/vhost-vdpa/vhost-vdpa-0')
        self.builder.remove(node)
        result = self.collect()
        self.assertIncomplete(result)
        self.assertEqual(['vdpa1'], [d.name for d in result.vdpa_devices])

    def test_garbage_number_skips_the_device(self):
        self.host('mlx5')
        dev = json.loads(_read('mlx5', 'dev show'))['dev']
        dev['vdpa0']['max_vq_size'] = 'lots'
        self.tool.use_data(dev=dev)
        result = self.collect()
        self.assertIncomplete(result)
        self.assertEqual(['vdpa1'], [d.name for d in result.vdpa_devices])

    def test_unreadable_pci_ids_make_the_device_partial(self):
        self.host('mlx5')
        vf = self.builder.pci_dir('0000:3b:00.2')
        self.builder.write(vf + '/vendor', b'\xff\xfe')
        result = self.collect()
        self.assertTrue(result.complete)
        by_name = {d.name: d for d in result.vdpa_devices}
        self.assertTrue(by_name['vdpa0'].partial)
        self.assertFalse(by_name['vdpa1'].partial)
        self.assertIn('vdpa0', result.errors[0])


class TestConfiguration(testtools.TestCase):

    def test_configure_and_load_collectors(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'x.conf')
        with open(path, 'w') as f:
            f.write('[exporter]\nsysfs_root = %s\n\n[vdpa]\n'
                    'command = /opt/iproute2/sbin/vdpa\n'
                    'command_timeout = 3\n' % tmp)
        conf = exporter_cmd.build_conf()
        conf(['--config-file', path], project='mdev-traits')
        self.assertIn('vdpa', conf.exporter.discovery_sources)
        settings = settings_mod.load(conf)
        collectors = base.load_collectors(
            ['mdev', 'vdpa'], tmp, options=settings.discovery.options())
        collector = collectors[1]
        self.assertIsInstance(collector, vdpa.VdpaCollector)
        self.assertEqual(('/opt/iproute2/sbin/vdpa', 3),
                         (collector.command, collector.timeout))
        # the mdev source reads the enabled types only (none here)
        self.assertEqual(frozenset(), collectors[0].read_types)
        # without options: the defaults
        (plain,) = base.load_collectors(['vdpa'], tmp)
        self.assertEqual(('vdpa', 10), (plain.command, plain.timeout))
        (mdev,) = base.load_collectors(['mdev'], tmp)
        self.assertIsNone(mdev.read_types)
