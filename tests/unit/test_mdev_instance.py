"""An mdev by UUID, a parent's type, and an mdev's dynamic_resources
values, from a recorded-style sysfs tree (the requirements command's
discovery)."""

import testtools

from mdev_traits.discovery import mdev
from mdev_traits.discovery import mdev_instance
from mdev_traits.testing import sysfs_builder

UUID = '4b20d080-1b54-4048-85b3-a6a62d165c01'
T4 = dict(vendor='10de', device='1eb8', subsystem_device='12a2')
TYPE = dict(name='GRID T4-2Q', available_instances=7,
            device_api='vfio-pci',
            description='num_heads=4, frl_config=60, framebuffer=2048M, '
                        'max_resolution=7680x4320, max_instance=8')


class TestMdevInstance(testtools.TestCase):

    def setUp(self):
        super().setUp()
        fake = self.useFixture(sysfs_builder.FakeSysfs())
        self.b = fake.builder
        self.root = fake.root
        self.b.add_pci_mdev_parent(
            '0000:3b:00.0', driver='nvidia', driver_version='535.129.03',
            numa_node=0, types={'nvidia-231': TYPE, 'nvidia-222': dict(
                TYPE, name='GRID T4-1B')}, **T4)

    def found(self):
        return mdev.MdevCollector(self.root).collect()

    def test_find_mdev_by_uuid_any_case(self):
        self.b.add_instance('0000:3b:00.0', 'nvidia-231', UUID)
        source = mdev_instance.find_mdev(self.found(), UUID.upper())
        self.assertEqual('0000:3b:00.0', source.parent.name)
        self.assertEqual('nvidia-231', source.mdev_type.type_id)
        self.assertEqual(UUID, source.uuid)
        self.assertIsNone(mdev_instance.find_mdev(
            self.found(), '00000000-0000-0000-0000-000000000000'))

    def test_find_parent_type(self):
        source = mdev_instance.find_parent_type(
            self.found(), '0000:3B:00.0', 'nvidia-222')
        self.assertEqual(('0000:3b:00.0', 'nvidia-222', None), (
            source.parent.name, source.mdev_type.type_id, source.uuid))

    def test_unknown_type_or_parent_says_what_is_there(self):
        exc = self.assertRaises(
            mdev_instance.NotFound, mdev_instance.find_parent_type,
            self.found(), '0000:3b:00.0', 'nvidia-999')
        self.assertEqual('parent 0000:3b:00.0 offers no type nvidia-999 '
                         '(it offers: nvidia-222, nvidia-231)', str(exc))
        exc = self.assertRaises(
            mdev_instance.NotFound, mdev_instance.find_parent_type,
            self.found(), '0000:af:00.0', 'nvidia-231')
        self.assertEqual('no mdev parent 0000:af:00.0 on this host '
                         '(parents: 0000:3b:00.0)', str(exc))

    def test_dynamic_settings_of_the_mdev(self):
        self.b.add_instance('0000:3b:00.0', 'nvidia-231', UUID)
        self.b.set_type_attr('0000:3b:00.0', 'nvidia-231',
                             'dynamic_resources', 'aggregator framebuffer')
        self.b.write('bus/mdev/devices/%s/aggregator' % UUID, '2')
        source = mdev_instance.find_mdev(self.found(), UUID)
        self.assertEqual((mdev_instance.Setting('aggregator', '2'),
                          mdev_instance.Setting('framebuffer', None)),
                         mdev_instance.dynamic_settings(self.root, source))
        # a type without an mdev: the attributes, no values
        source = mdev_instance.find_parent_type(
            self.found(), '0000:3b:00.0', 'nvidia-231')
        self.assertEqual((mdev_instance.Setting('aggregator'),
                          mdev_instance.Setting('framebuffer')),
                         mdev_instance.dynamic_settings(self.root, source))

    def test_no_dynamic_resources(self):
        self.b.add_instance('0000:3b:00.0', 'nvidia-231', UUID)
        source = mdev_instance.find_mdev(self.found(), UUID)
        self.assertEqual((), mdev_instance.dynamic_settings(self.root,
                                                            source))
