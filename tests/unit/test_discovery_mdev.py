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

import importlib.util
import logging
import os
import shutil

import fixtures
import testtools

from mdev_traits.discovery import mdev
from mdev_traits.discovery import pci
from mdev_traits.discovery import sysfs
from mdev_traits import models
from mdev_traits.testing import samples
from mdev_traits.testing import sysfs_builder

UUID1 = '4b20d080-1b54-4048-85b3-a6a62d165c01'
UUID2 = '9f1f4c6e-64b2-4d6a-a3d2-5a0c1e7b8d21'
UUID3 = 'e1b3e2d6-1c55-4f36-a2a3-34c9cb9a46b0'
T4 = dict(vendor='10de', device='1eb8', subsystem_device='12a2')
T4_TYPE_IDS = tuple('nvidia-%d' % n for n in range(222, 232))


def _type(**kw):
    attrs = dict(name='GRID T4-2Q',
                 description='num_heads=4, frl_config=60, '
                             'framebuffer=2048M, max_resolution=7680x4320, '
                             'max_instance=8',
                 available_instances=8, device_api='vfio-pci')
    attrs.update(kw)
    return attrs


class _Base(testtools.TestCase):

    def setUp(self):
        super(_Base, self).setUp()
        self.logger = self.useFixture(fixtures.FakeLogger(
            name='mdev_traits.discovery.mdev', level=logging.DEBUG,
            format='%(levelname)s %(message)s'))

    def warnings(self):
        return [line for line in self.logger.output.splitlines()
                if line.startswith('WARNING')]

    def collect(self, root):
        return mdev.MdevCollector(root).collect()


def make_sample_hosts():
    """tools/make_sample_hosts.py, imported."""
    script = os.path.join(os.path.dirname(__file__), '..', '..',
                          'tools', 'make_sample_hosts.py')
    spec = importlib.util.spec_from_file_location('make_sample_hosts',
                                                  script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class SampleHostsTestCase(_Base):
    """Every shipped sample host is discovered as documented."""

    def _collect(self, name):
        fake = self.useFixture(sysfs_builder.FakeSysfs(sample=name))
        result = self.collect(fake.root)
        self.assertTrue(result.complete)
        self.assertEqual((), result.errors)
        self.assertEqual([], self.warnings())
        for parent in result.mdev_parents:
            self.assertFalse(parent.partial)
        return result

    def test_all_samples_known(self):
        # one catalogue (mdev_traits.testing.samples) lists exactly the
        # shipped files, and tools/make_sample_hosts.py builds each
        self.assertEqual(['gpu-host-1', 'gpu-host-2', 'gpu-host-3',
                          'gpu-host-4', 'gpu-host-5', 'mixed-host',
                          'vdpa-host-1', 'vdpa-host-2'], samples.names())
        self.assertEqual(samples.names(),
                         [host.name for host in samples.HOSTS])
        shipped = set(os.listdir(samples.DIRECTORY))
        listed = set()
        for host in samples.HOSTS:
            listed.update(os.path.basename(path) for path in (
                host.archive, host.config, host.vdpa_json) if path)
            self.assertTrue(host.models and host.source, host.name)
        self.assertEqual(sorted(listed), sorted(shipped))
        self.assertEqual(samples.names(),
                         sorted(make_sample_hosts().BUILDERS))
        self.assertRaises(ValueError, samples.get, 'x')

    def test_samples_are_up_to_date(self):
        module = make_sample_hosts()
        for host in samples.HOSTS:
            with open(host.archive, encoding='utf-8', newline='') as f:
                self.assertEqual(f.read(), module.render(host.name),
                                 host.name)
            vdpa = module.render_vdpa(host.name)
            if vdpa is None:
                self.assertIsNone(host.vdpa_json, host.name)
                continue
            with open(host.vdpa_json, encoding='utf-8', newline='') as f:
                self.assertEqual(f.read(), vdpa, host.name)

    def test_gpu_host_1(self):
        result = self._collect('gpu-host-1')
        self.assertEqual(['0000:3b:00.0', '0000:d8:00.0'],
                         [p.name for p in result.mdev_parents])
        gpu0, gpu1 = result.mdev_parents
        for numa, gpu in enumerate((gpu0, gpu1)):
            self.assertEqual('pci', gpu.bus)
            self.assertEqual(models.PciInfo(
                address=gpu.name, vendor='10de', device='1eb8',
                subsystem_vendor='10de', subsystem_device='12a2',
                pci_class='030200', numa_node=numa, driver='nvidia',
                driver_version='535.129.03'), gpu.pci)
            self.assertEqual(T4_TYPE_IDS, tuple(t.type_id for t in gpu.types))
        t = gpu0.get_type('nvidia-231')
        self.assertEqual('GRID T4-2Q', t.name)
        self.assertEqual('num_heads=4, frl_config=60, framebuffer=2048M, '
                         'max_resolution=7680x4320, max_instance=8',
                         t.description)
        self.assertEqual('vfio-pci', t.device_api)
        self.assertEqual(7, t.available_instances)
        self.assertEqual((UUID1,), t.instances)
        self.assertIsNone(t.software_version)
        self.assertEqual((), t.compatible)
        # Time-sliced: with a T4-2Q present, no other type fits.
        self.assertEqual(0, gpu0.get_type('nvidia-222').available_instances)
        self.assertEqual('GRID T4-1B', gpu1.get_type('nvidia-222').name)
        self.assertEqual(16, gpu1.get_type('nvidia-222').available_instances)
        self.assertEqual(8, gpu1.get_type('nvidia-231').available_instances)
        self.assertEqual((), gpu1.get_type('nvidia-231').instances)

    def test_gpu_host_2(self):
        result = self._collect('gpu-host-2')
        self.assertEqual(['0000:00:02.0', '0000:41:00.4', '0000:41:00.5'],
                         [p.name for p in result.mdev_parents])
        igpu, vf4, vf5 = result.mdev_parents
        self.assertEqual(models.PciInfo(
            address='0000:00:02.0', vendor='8086', device='3e92',
            subsystem_vendor='1028', subsystem_device='085a',
            pci_class='030000', numa_node=None, driver='i915',
            driver_version=None), igpu.pci)
        self.assertEqual(['i915-GVTg_V5_4', 'i915-GVTg_V5_8'],
                         [t.type_id for t in igpu.types])
        self.assertEqual('low_gm_size: 128MB\nhigh_gm_size: 512MB\n'
                         'fence: 4\nresolution: 1920x1200\nweight: 4',
                         igpu.types[0].description)
        self.assertEqual('GVTg_V5_8', igpu.types[1].name)
        for vf in (vf4, vf5):
            self.assertEqual(('10de', '2235', '550.54.14', 0),
                             (vf.pci.vendor, vf.pci.device,
                              vf.pci.driver_version, vf.pci.numa_node))
            self.assertEqual(8, len(vf.types))
        self.assertEqual('NVIDIA A40-2Q', vf4.get_type('nvidia-558').name)
        self.assertEqual({1}, {t.available_instances for t in vf4.types})
        self.assertEqual({0}, {t.available_instances for t in vf5.types})
        self.assertEqual((UUID2,), vf5.get_type('nvidia-558').instances)

    def test_gpu_host_3(self):
        result = self._collect('gpu-host-3')
        (gpu,) = result.mdev_parents
        self.assertEqual('0000:3b:00.0', gpu.name)
        self.assertEqual('525.85.05', gpu.pci.driver_version)
        self.assertEqual(T4_TYPE_IDS, tuple(t.type_id for t in gpu.types))
        self.assertEqual(8, gpu.get_type('nvidia-231').available_instances)

    def test_mixed_host(self):
        result = self._collect('mixed-host')
        self.assertEqual(
            [('0.0.0313', 'css'), ('0000:6b:00.0', 'pci'),
             ('matrix', 'matrix'), ('mtty', 'virtual')],
            [(p.name, p.bus) for p in result.mdev_parents])
        ccw, qat, ap, mtty = result.mdev_parents
        for parent in (ccw, ap, mtty):
            self.assertFalse(parent.is_pci)
            self.assertIsNone(parent.pci)
        self.assertEqual('vfio-ccw', ccw.get_type('vfio_ccw-io').device_api)
        self.assertEqual(1, ccw.get_type('vfio_ccw-io').available_instances)
        ap_type = ap.get_type('vfio_ap-passthrough')
        self.assertEqual(('VFIO AP Passthrough Device', 'vfio-ap', 72350,
                          (UUID3,)),
                         (ap_type.name, ap_type.device_api,
                          ap_type.available_instances, ap_type.instances))
        self.assertEqual(['mtty-1', 'mtty-2'],
                         [t.type_id for t in mtty.types])
        self.assertEqual('Dual port serial', mtty.types[1].name)
        self.assertIsNone(mtty.types[1].description)
        self.assertEqual(12, mtty.types[1].available_instances)

        self.assertEqual(('8086', '4940', '0b4000', '4xxx', None),
                         (qat.pci.vendor, qat.pci.device, qat.pci.pci_class,
                          qat.pci.driver, qat.pci.driver_version))
        self.assertEqual(['4xxx-dc', '4xxx-sym'],
                         [t.type_id for t in qat.types])
        sym = qat.get_type('4xxx-sym')
        self.assertEqual('1.2.0', sym.software_version)
        self.assertEqual(('4xxx-sym',), sym.compatible_type)
        self.assertEqual({'pci_ids': ('8086:4940', '8086:4941')},
                         sym.compatible_map)
        self.assertEqual(('aggregator',), sym.dynamic_resources)
        self.assertEqual(16, sym.available_instances)


class BuilderDiscoveryTestCase(_Base):

    def setUp(self):
        super(BuilderDiscoveryTestCase, self).setUp()
        self.fake = self.useFixture(sysfs_builder.FakeSysfs())
        self.b = self.fake.builder
        self.root = self.fake.root

    def add_t4(self, address='0000:3b:00.0', types=None, numa_node=0):
        if types is None:
            types = {'nvidia-231': _type(), 'nvidia-222': _type(
                name='GRID T4-1B', available_instances=16)}
        return self.b.add_pci_mdev_parent(
            address, driver='nvidia', driver_version='535.129.03',
            numa_node=numa_node, types=types, **T4)

    def test_no_mdev_bus(self):
        result = self.collect(self.root)
        self.assertEqual(models.DiscoveryResult(), result)
        self.assertTrue(result.complete)
        self.assertEqual([], self.warnings())

    def test_no_sysfs_at_all(self):
        result = self.collect(os.path.join(self.root, 'nonexistent'))
        self.assertEqual(models.DiscoveryResult(), result)

    def test_empty_mdev_bus(self):
        self.b.makedirs('class/mdev_bus')
        self.assertEqual(models.DiscoveryResult(), self.collect(self.root))

    def test_mdev_bus_not_a_directory(self):
        self.b.makedirs('class')
        self.b.write('class/mdev_bus', 'oops')
        result = self.collect(self.root)
        self.assertFalse(result.complete)
        self.assertEqual((), result.mdev_parents)
        self.assertEqual(1, len(result.errors))
        self.assertIn('class/mdev_bus: not a directory', result.errors[0])
        self.assertEqual(1, len(self.warnings()))

    def test_mdev_bus_unlistable(self):
        self.add_t4()
        real_listdir = os.listdir
        bus_dir = os.path.join(self.root, 'class', 'mdev_bus')

        def listdir(path):
            if path == bus_dir:
                raise PermissionError(13, 'Permission denied')
            return real_listdir(path)

        self.useFixture(fixtures.MonkeyPatch(
            'mdev_traits.discovery.sysfs.os.listdir', listdir))
        result = self.collect(self.root)
        self.assertFalse(result.complete)
        self.assertEqual((), result.mdev_parents)
        self.assertIn('Permission denied', result.errors[0])

    def test_instances_from_both_layouts(self):
        self.add_t4()
        uuids = ['00000000-0000-4000-8000-%012d' % i for i in range(4)]
        self.b.add_instance('0000:3b:00.0', 'nvidia-231', uuids[0])
        self.b.add_instance('0000:3b:00.0', 'nvidia-231', uuids[1],
                            links=('type',))
        self.b.add_instance('0000:3b:00.0', 'nvidia-231', uuids[2],
                            links=('parent',))
        self.b.add_instance('0000:3b:00.0', 'nvidia-222', uuids[3],
                            links=('parent',))
        result = self.collect(self.root)
        (parent,) = result.mdev_parents
        self.assertEqual(tuple(uuids[:3]),
                         parent.get_type('nvidia-231').instances)
        self.assertEqual((uuids[3],),
                         parent.get_type('nvidia-222').instances)
        self.assertFalse(parent.partial)

    def test_instance_uuids_normalised_and_filtered(self):
        self.add_t4()
        upper = 'ABCDEF00-0000-4000-8000-000000000001'
        self.b.add_instance('0000:3b:00.0', 'nvidia-231', upper)
        tdir = self.b.type_dir('0000:3b:00.0', 'nvidia-231')
        self.b.write(tdir + '/devices/not-a-uuid', 'x')
        (parent,) = self.collect(self.root).mdev_parents
        self.assertEqual((upper.lower(),),
                         parent.get_type('nvidia-231').instances)

    def test_non_pci_parents(self):
        self.b.add_ap_matrix()
        self.b.add_ccw_subchannel('0.0.0313')
        self.b.add_ccw_subchannel('0.1.0a01', css='css1')
        self.b.add_virtual_mdev_parent('mtty')
        self.b.add_virtual_mdev_parent(
            'mdpy', types={'mdpy-vga': dict(
                name='mdpy-vga', description='virtual display, '
                '1024x768 framebuffer', device_api='vfio-pci',
                available_instances=4)})
        result = self.collect(self.root)
        self.assertTrue(result.complete)
        self.assertEqual(
            [('0.0.0313', 'css', ('vfio_ccw-io',)),
             ('0.1.0a01', 'css', ('vfio_ccw-io',)),
             ('matrix', 'matrix', ('vfio_ap-passthrough',)),
             ('mdpy', 'virtual', ('mdpy-vga',)),
             ('mtty', 'virtual', ('mtty-1', 'mtty-2'))],
            [(p.name, p.bus, tuple(t.type_id for t in p.types))
             for p in result.mdev_parents])
        self.assertEqual([None] * 5, [p.pci for p in result.mdev_parents])
        # the subsystem as udev reads it (the last part of the link), for
        # libvirt's node-device names
        self.assertEqual(['css', 'css', 'matrix', 'mdpy', 'mtty'],
                         [p.subsystem for p in result.mdev_parents])

    def test_pci_parent_without_subsystem_link(self):
        self.add_t4()
        os.unlink(self.b.path(self.b.parent_dir('0000:3b:00.0'),
                              'subsystem'))
        (parent,) = self.collect(self.root).mdev_parents
        self.assertEqual('pci', parent.bus)
        self.assertEqual('10de', parent.pci.vendor)

    def test_parents_and_types_sorted(self):
        self.add_t4('0000:d8:00.0')
        self.add_t4('0000:3b:00.0', types={
            'nvidia-231': _type(), 'nvidia-225': _type(),
            'nvidia-228': _type()})
        self.b.add_virtual_mdev_parent('mtty')
        result = self.collect(self.root)
        self.assertEqual(['0000:3b:00.0', '0000:d8:00.0', 'mtty'],
                         [p.name for p in result.mdev_parents])
        self.assertEqual(['nvidia-225', 'nvidia-228', 'nvidia-231'],
                         [t.type_id for t in result.mdev_parents[0].types])

    def test_optional_files_missing(self):
        self.add_t4(types={'nvidia-231': dict(available_instances=3,
                                              device_api='vfio-pci')},
                    numa_node=None)
        pdir = self.b.parent_dir('0000:3b:00.0')
        for attr in ('subsystem_vendor', 'subsystem_device', 'class'):
            os.unlink(self.b.path(pdir, attr))
        shutil.rmtree(self.b.path(self.b.type_dir('0000:3b:00.0',
                                                  'nvidia-231'), 'devices'))
        shutil.rmtree(self.b.path('module', 'nvidia'))
        (parent,) = self.collect(self.root).mdev_parents
        self.assertFalse(parent.partial)
        self.assertEqual(models.PciInfo(
            address='0000:3b:00.0', vendor='10de', device='1eb8',
            driver='nvidia'), parent.pci)
        self.assertEqual(models.MdevType(
            type_id='nvidia-231', available_instances=3,
            device_api='vfio-pci'), parent.types[0])
        self.assertEqual([], self.warnings())

    def test_compatible_fields(self):
        self.add_t4(types={'nvidia-231': _type(
            software_version='2.0.1', compatible_type='nvidia-231,nvidia-232',
            compatible={'pci_ids': ['10de:1eb8', '10de:1eb9'],
                        'driver_version': '535.129.03\n535.154.05',
                        'empty': ''},
            dynamic_resources='aggregator clock',
            name='')})
        (parent,) = self.collect(self.root).mdev_parents
        t = parent.types[0]
        self.assertIsNone(t.name)
        self.assertEqual('2.0.1', t.software_version)
        self.assertEqual(('nvidia-231', 'nvidia-232'), t.compatible_type)
        self.assertEqual(
            (('driver_version', ('535.129.03', '535.154.05')),
             ('empty', ()),
             ('pci_ids', ('10de:1eb8', '10de:1eb9'))), t.compatible)
        self.assertEqual(('aggregator', 'clock'), t.dynamic_resources)

    def _assert_type_skipped(self, result, type_id, fragment):
        self.assertTrue(result.complete)
        (parent,) = result.mdev_parents
        self.assertTrue(parent.partial)
        self.assertIsNone(parent.get_type(type_id))
        self.assertIsNotNone(parent.get_type('nvidia-222'))
        self.assertEqual(1, len(result.errors))
        self.assertIn(type_id, result.errors[0])
        self.assertIn(fragment, result.errors[0])
        warnings = self.warnings()
        self.assertEqual(1, len(warnings))
        self.assertIn(type_id, warnings[0])
        self.assertIn(fragment, warnings[0])

    def test_garbage_available_instances(self):
        self.add_t4()
        self.b.set_type_attr('0000:3b:00.0', 'nvidia-231',
                             'available_instances', 'lots')
        self._assert_type_skipped(self.collect(self.root), 'nvidia-231',
                                  "not an integer: 'lots'")

    def test_negative_available_instances(self):
        self.add_t4()
        self.b.set_type_attr('0000:3b:00.0', 'nvidia-231',
                             'available_instances', -1)
        self._assert_type_skipped(self.collect(self.root), 'nvidia-231',
                                  'negative')

    def test_non_utf8_name(self):
        self.add_t4()
        self.b.set_type_attr('0000:3b:00.0', 'nvidia-231', 'name',
                             b'GRID \xff\xfe\n')
        self._assert_type_skipped(self.collect(self.root), 'nvidia-231',
                                  'not valid UTF-8')

    def test_nul_in_description(self):
        self.add_t4()
        self.b.set_type_attr('0000:3b:00.0', 'nvidia-231', 'description',
                             b'a\x00b\n')
        self._assert_type_skipped(self.collect(self.root), 'nvidia-231',
                                  'NUL')

    def test_oversized_attribute(self):
        self.add_t4()
        self.b.set_type_attr('0000:3b:00.0', 'nvidia-231', 'description',
                             b'x' * (sysfs.MAX_READ_BYTES + 1))
        self._assert_type_skipped(self.collect(self.root), 'nvidia-231',
                                  'larger than')

    def test_missing_mandatory_attribute(self):
        self.add_t4()
        self.b.set_type_attr('0000:3b:00.0', 'nvidia-231',
                             'available_instances', None)
        self._assert_type_skipped(self.collect(self.root), 'nvidia-231',
                                  'mandatory attribute is missing')

    def test_empty_device_api(self):
        self.add_t4()
        self.b.set_type_attr('0000:3b:00.0', 'nvidia-231', 'device_api', '')
        self._assert_type_skipped(self.collect(self.root), 'nvidia-231',
                                  'empty mandatory')

    def test_attribute_is_a_directory(self):
        self.add_t4()
        tdir = self.b.type_dir('0000:3b:00.0', 'nvidia-231')
        self.b.remove(tdir + '/name')
        self.b.makedirs(tdir + '/name')
        self._assert_type_skipped(self.collect(self.root), 'nvidia-231',
                                  'is a directory')

    def test_fifo_does_not_block(self):
        self.add_t4()
        tdir = self.b.type_dir('0000:3b:00.0', 'nvidia-231')
        self.b.remove(tdir + '/description')
        os.mkfifo(self.b.path(tdir, 'description'))
        self._assert_type_skipped(self.collect(self.root), 'nvidia-231',
                                  'not a regular file')

    def test_type_vanishes_after_listing(self):
        self.add_t4()
        types_dir = self.b.path(self.b.parent_dir('0000:3b:00.0'),
                                'mdev_supported_types')
        real_list_dir = sysfs.list_dir

        def list_dir(path):
            names = real_list_dir(path)
            if path == types_dir:
                shutil.rmtree(os.path.join(types_dir, 'nvidia-231'))
            return names

        self.useFixture(fixtures.MonkeyPatch(
            'mdev_traits.discovery.sysfs.list_dir', list_dir))
        self._assert_type_skipped(self.collect(self.root), 'nvidia-231',
                                  'vanished')

    def test_type_vanishes_while_reading(self):
        self.add_t4()
        tdir = self.b.path(self.b.type_dir('0000:3b:00.0', 'nvidia-231'))
        real_read_int = sysfs.read_int

        def read_int(path, *args):
            value = real_read_int(path, *args)
            if path.startswith(tdir + os.sep):
                shutil.rmtree(tdir)
            return value

        self.useFixture(fixtures.MonkeyPatch(
            'mdev_traits.discovery.sysfs.read_int', read_int))
        self._assert_type_skipped(self.collect(self.root), 'nvidia-231',
                                  'vanished while being read')

    def test_missing_types_directory(self):
        self.add_t4()
        shutil.rmtree(self.b.path(self.b.parent_dir('0000:3b:00.0'),
                                  'mdev_supported_types'))
        result = self.collect(self.root)
        self.assertTrue(result.complete)
        (parent,) = result.mdev_parents
        self.assertTrue(parent.partial)
        self.assertEqual((), parent.types)
        self.assertEqual(1, len(result.errors))
        self.assertEqual(1, len(self.warnings()))

    def test_garbage_instance_link(self):
        self.add_t4()
        pdir = self.b.parent_dir('0000:3b:00.0')
        self.b.write(pdir + '/' + UUID1 + '/mdev_type', 'not a link')
        result = self.collect(self.root)
        (parent,) = result.mdev_parents
        self.assertTrue(parent.partial)
        self.assertEqual(2, len(parent.types))
        self.assertIn('not a symbolic link', result.errors[0])
        self.assertEqual(1, len(self.warnings()))

    def _assert_parent_skipped(self, result, name, fragment):
        self.assertFalse(result.complete)
        self.assertNotIn(name, [p.name for p in result.mdev_parents])
        self.assertEqual(['mtty'], [p.name for p in result.mdev_parents])
        self.assertEqual(1, len(result.errors))
        self.assertIn(fragment, result.errors[0])
        warnings = self.warnings()
        self.assertEqual(1, len(warnings))
        self.assertIn(name, warnings[0])

    def test_parent_dangling_link(self):
        self.add_t4()
        self.b.add_virtual_mdev_parent('mtty')
        shutil.rmtree(self.b.path(self.b.parent_dir('0000:3b:00.0')))
        self._assert_parent_skipped(self.collect(self.root), '0000:3b:00.0',
                                    'dangling')

    def test_parent_vanishes_while_reading(self):
        self.add_t4()
        self.b.add_virtual_mdev_parent('mtty')
        pdir = self.b.path(self.b.parent_dir('0000:3b:00.0'))
        real_read_int = sysfs.read_int

        def read_int(path, *args):
            value = real_read_int(path, *args)
            if path.startswith(pdir + os.sep) and os.path.isdir(pdir):
                shutil.rmtree(pdir)
            return value

        self.useFixture(fixtures.MonkeyPatch(
            'mdev_traits.discovery.sysfs.read_int', read_int))
        self._assert_parent_skipped(self.collect(self.root), '0000:3b:00.0',
                                    'vanished')

    def test_parent_with_garbage_pci_id(self):
        self.add_t4()
        self.b.add_virtual_mdev_parent('mtty')
        self.b.write(self.b.parent_dir('0000:3b:00.0') + '/vendor', 'nvidia')
        self._assert_parent_skipped(self.collect(self.root), '0000:3b:00.0',
                                    'not a hexadecimal value')

    def test_remove_parent(self):
        self.add_t4()
        self.b.add_instance('0000:3b:00.0', 'nvidia-231', UUID1)
        self.b.add_virtual_mdev_parent('mtty')
        self.b.remove_parent('0000:3b:00.0')
        result = self.collect(self.root)
        self.assertTrue(result.complete)
        self.assertEqual(['mtty'], [p.name for p in result.mdev_parents])
        for rel in ('class/mdev_bus/0000:3b:00.0',
                    'bus/pci/devices/0000:3b:00.0',
                    'bus/pci/drivers/nvidia/0000:3b:00.0',
                    'bus/mdev/devices/' + UUID1):
            self.assertFalse(os.path.lexists(self.b.path(rel)), rel)

    def test_remove_instance_and_type(self):
        self.add_t4()
        self.b.add_instance('0000:3b:00.0', 'nvidia-231', UUID1)
        self.b.remove_instance('0000:3b:00.0', UUID1)
        self.b.remove_type('0000:3b:00.0', 'nvidia-222')
        (parent,) = self.collect(self.root).mdev_parents
        self.assertEqual(['nvidia-231'], [t.type_id for t in parent.types])
        self.assertEqual((), parent.types[0].instances)

    def test_sample_host_can_be_modified(self):
        fake = self.useFixture(sysfs_builder.FakeSysfs(sample='gpu-host-1'))
        fake.builder.set_type_attr('0000:d8:00.0', 'nvidia-231',
                                   'available_instances', 7)
        fake.builder.add_instance('0000:d8:00.0', 'nvidia-231', UUID2)
        result = self.collect(fake.root)
        t = result.mdev_parents[1].get_type('nvidia-231')
        self.assertEqual((7, (UUID2,)), (t.available_instances, t.instances))

    def test_collector_name(self):
        self.assertEqual('mdev', mdev.MdevCollector.name)


class BuilderLayoutTestCase(testtools.TestCase):
    """The fake trees have the symlinks of a real kernel."""

    def setUp(self):
        super(BuilderLayoutTestCase, self).setUp()
        self.b = self.useFixture(sysfs_builder.FakeSysfs()).builder

    def link(self, rel):
        return os.readlink(self.b.path(rel))

    def test_pci_parent_links(self):
        self.b.add_pci_mdev_parent('0000:3b:00.0', driver='nvidia',
                                   types={'nvidia-231': _type()},
                                   instances={'nvidia-231': [UUID1]}, **T4)
        dev = 'devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0'
        self.assertEqual(dev, self.b.parent_dir('0000:3b:00.0'))
        self.assertEqual('../../' + dev,
                         self.link('class/mdev_bus/0000:3b:00.0'))
        self.assertEqual('../../../../bus/pci/drivers/nvidia',
                         self.link(dev + '/driver'))
        self.assertEqual('../../../../bus/pci', self.link(dev + '/subsystem'))
        self.assertEqual('../mdev_supported_types/nvidia-231',
                         self.link('%s/%s/mdev_type' % (dev, UUID1)))
        self.assertEqual('../../../' + UUID1, self.link(
            dev + '/mdev_supported_types/nvidia-231/devices/' + UUID1))
        self.assertEqual('../../../%s/%s' % (dev, UUID1),
                         self.link('bus/mdev/devices/' + UUID1))
        self.assertTrue(os.path.isdir(self.b.path('bus/mdev/devices',
                                                  UUID1)))
        self.assertEqual('../../../../module/nvidia',
                         self.link('bus/pci/drivers/nvidia/module'))

    def test_sriov_vf(self):
        self.b.add_pci_device('0000:41:00.0', '10de', '2235',
                              driver='nvidia')
        self.b.add_pci_mdev_parent('0000:41:00.4', '10de', '2235', 'nvidia',
                                   physfn='0000:41:00.0')
        self.assertEqual('../0000:41:00.0', self.link(
            'devices/pci0000:40/0000:40:00.0/0000:41:00.4/physfn'))
        self.assertEqual('../0000:41:00.4', self.link(
            'devices/pci0000:40/0000:40:00.0/0000:41:00.0/virtfn0'))

    def test_bus_zero_device(self):
        self.assertEqual('pci0000:00',
                         sysfs_builder.default_pci_bridge('0000:00:02.0'))
        self.assertEqual('pci0000:d7/0000:d7:00.0',
                         sysfs_builder.default_pci_bridge('0000:d8:00.0'))

    def test_non_pci_links(self):
        self.b.add_ap_matrix()
        self.b.add_ccw_subchannel()
        self.b.add_virtual_mdev_parent()
        self.assertEqual('../../../bus/matrix',
                         self.link('devices/vfio_ap/matrix/subsystem'))
        self.assertEqual('../../../bus/css',
                         self.link('devices/css0/0.0.0313/subsystem'))
        self.assertEqual('../../../../class/mtty',
                         self.link('devices/virtual/mtty/mtty/subsystem'))
        self.assertEqual('../../devices/virtual/mtty/mtty',
                         self.link('class/mdev_bus/mtty'))

    def test_unknown_parent(self):
        self.assertRaises(KeyError, self.b.parent_dir, 'nope')


class PciInfoTestCase(testtools.TestCase):

    def setUp(self):
        super(PciInfoTestCase, self).setUp()
        self.fake = self.useFixture(sysfs_builder.FakeSysfs())
        self.b = self.fake.builder

    def read(self, address):
        dev = self.b.path(self.b.relpath(os.path.realpath(
            self.b.path('bus/pci/devices', address))))
        return pci.read_pci_info(self.fake.root, dev, address)

    def test_module_differs_from_driver(self):
        self.b.add_pci_device('0000:6b:00.0', '0x8086', '0x4940',
                              pci_class='0x0B4000', driver='4xxx',
                              module='qat_4xxx', driver_version='20.l.1.2.3',
                              numa_node=1)
        info = self.read('0000:6b:00.0')
        self.assertEqual(('8086', '4940', '0b4000', '4xxx', '20.l.1.2.3', 1),
                         (info.vendor, info.device, info.pci_class,
                          info.driver, info.driver_version, info.numa_node))

    def test_unbound_device(self):
        self.b.add_pci_device('0000:3b:00.0', '10de', '1eb8')
        info = self.read('0000:3b:00.0')
        self.assertIsNone(info.driver)
        self.assertIsNone(info.driver_version)
        self.assertIsNone(info.numa_node)

    def test_garbage_numa_node(self):
        self.b.add_pci_device('0000:3b:00.0', '10de', '1eb8',
                              numa_node='zero')
        self.assertRaises(sysfs.SysfsReadError, self.read, '0000:3b:00.0')

    def test_is_pci_address(self):
        self.assertTrue(pci.is_pci_address('0000:3b:00.0'))
        self.assertTrue(pci.is_pci_address('10000:00:1f.7'))
        for name in ('matrix', 'mtty', '0.0.0313', '3b:00.0',
                     '0000:3b:00.8'):
            self.assertFalse(pci.is_pci_address(name), name)


class SysfsReaderTestCase(testtools.TestCase):

    def setUp(self):
        super(SysfsReaderTestCase, self).setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def write(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, 'wb') as f:
            f.write(data)
        return path

    def test_missing_is_none(self):
        missing = os.path.join(self.tmp, 'missing')
        for reader in (sysfs.read_attr, sysfs.read_int, sysfs.read_list,
                       sysfs.read_link, sysfs.link_name, sysfs.list_dir,
                       sysfs.read_bytes):
            self.assertIsNone(reader(missing), reader.__name__)
        self.assertIsNone(sysfs.read_attr(os.path.join(missing, 'x')))

    def test_read_attr(self):
        self.assertEqual('a b', sysfs.read_attr(self.write('f', b' a b\n')))
        self.assertEqual('', sysfs.read_attr(self.write('e', b'')))
        e = self.assertRaises(sysfs.SysfsReadError, sysfs.read_attr,
                              self.write('g', b'\xc3('))
        self.assertEqual(os.path.join(self.tmp, 'g'), e.path)
        self.assertIn('UTF-8', e.reason)
        self.assertIn(e.path, str(e))

    def test_cap(self):
        path = self.write('big', b'1' * 100)
        self.assertEqual('1' * 100, sysfs.read_attr(path, max_bytes=100))
        self.assertRaises(sysfs.SysfsReadError, sysfs.read_attr, path,
                          max_bytes=99)

    def test_read_int(self):
        self.assertEqual(-1, sysfs.read_int(self.write('n', b'-1\n')))
        self.assertEqual(16, sysfs.read_int(self.write('h', b'0x10\n'),
                                            base=16))
        for data in (b'', b'1.5', b'12abc', b'0x10'):
            self.assertRaises(sysfs.SysfsReadError, sysfs.read_int,
                              self.write('bad', data))

    def test_read_list(self):
        self.assertEqual(('a', 'b', 'c', 'd'), sysfs.read_list(
            self.write('l', b'a,b, c\nd,\n')))
        self.assertEqual((), sysfs.read_list(self.write('e', b'\n')))

    def test_links(self):
        target = os.path.join('..', '..', 'bus', 'pci', 'drivers', 'nvidia')
        link = os.path.join(self.tmp, 'driver')
        os.symlink(target, link)
        self.assertEqual(target, sysfs.read_link(link))
        self.assertEqual('nvidia', sysfs.link_name(link))
        os.symlink('..', os.path.join(self.tmp, 'up'))
        self.assertRaises(sysfs.SysfsReadError, sysfs.link_name,
                          os.path.join(self.tmp, 'up'))
        self.assertRaises(sysfs.SysfsReadError, sysfs.link_name,
                          self.write('plain', b'x'))

    def test_list_dir(self):
        for name in ('b', 'a'):
            self.write(name, b'')
        self.assertEqual(['a', 'b'], sysfs.list_dir(self.tmp))
        self.assertRaises(sysfs.SysfsReadError, sysfs.list_dir,
                          os.path.join(self.tmp, 'a'))


class TestReadOnlyEnabledTypes(testtools.TestCase):

    def test_unread_types_are_listed_not_read(self):
        fake = self.useFixture(sysfs_builder.FakeSysfs())
        fake.builder.add_pci_mdev_parent(
            '0000:3b:00.0', vendor='10de', device='1eb8', driver='nvidia',
            types={'nvidia-222': dict(available_instances=16),
                   # garbage in a type that is not enabled: not read at all
                   'nvidia-231': dict(available_instances='garbage')})
        collector = mdev.MdevCollector(fake.root, read_types={'nvidia-222'})
        found = collector.collect()
        (parent,) = found.mdev_parents
        self.assertEqual(['nvidia-222'], [t.type_id for t in parent.types])
        self.assertEqual(('nvidia-231',), parent.unread_type_ids)
        self.assertEqual(('nvidia-222', 'nvidia-231'), parent.type_ids)
        self.assertFalse(parent.partial)
        collector.read_all()
        (parent,) = collector.collect().mdev_parents
        self.assertTrue(parent.partial)
        self.assertEqual((), parent.unread_type_ids)
