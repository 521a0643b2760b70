"""The ownership record (placement/record.py) and its file
(placement/state.py): format, migration, moved-aside files, host check,
lock."""

import fcntl
import glob
import json
import os

import fixtures
import testtools

from mdev_traits.mapping import names
from mdev_traits.placement import reconciler
from mdev_traits.placement import record
from mdev_traits.placement import state

P = 'cn1_pci_0000_3b_00_0'


def sample():
    return record.Ownership(
        traits={P: frozenset({'CUSTOM_A', 'CUSTOM_B'})},
        resource_classes={P: frozenset({'VGPU'})},
        created={P: 'u-1'},
        reservations={P: {'VGPU': (2, 4)}})


class TestRecord(testtools.TestCase):

    def test_round_trip(self):
        own = sample()
        own.withdrawal_hold = {'providers': [P], 'traits': {}, 'cycles': 1}
        data = json.loads(json.dumps(own.to_dict()))
        back = record.Ownership.from_dict(data)
        self.assertEqual(own, back)

    def test_malformed_is_an_error(self):
        self.assertRaises(TypeError, record.Ownership.from_dict,
                          {'providers': {P: {'traits': 'CUSTOM_A'}}})
        self.assertRaises(TypeError, record.Ownership.from_dict,
                          {'created': ['x']})

    def test_v1_migration(self):
        own = record.Ownership.from_v1({
            P: {'traits': ['CUSTOM_A'], 'resource_classes': ['VGPU']},
            'cn1_pci_0000_5e_00_0': {'traits': ['CUSTOM_B'],
                                     'resource_classes': []}})
        # v1 managed inventories only on what it created (uuid5 of name)
        self.assertEqual({P: names.provider_uuid(P)}, own.created)
        self.assertEqual({'CUSTOM_B'},
                         own.traits['cn1_pci_0000_5e_00_0'])

    def test_defined_traits_round_trip(self):
        own = sample()
        own.defined = frozenset({'CUSTOM_B', 'CUSTOM_A'})
        data = json.loads(json.dumps(own.to_dict()))
        # a sorted list in the file
        self.assertEqual(['CUSTOM_A', 'CUSTOM_B'], data['defined_traits'])
        self.assertEqual(own, record.Ownership.from_dict(data))
        copy = own.copy()
        self.assertEqual(own.defined, copy.defined)

    def test_defined_traits_absent_is_empty(self):
        # a record written before defined_traits was recorded, and an
        # empty one, which is left out of the file
        data = sample().to_dict()
        self.assertNotIn('defined_traits', data)
        self.assertEqual(frozenset(),
                         record.Ownership.from_dict(data).defined)
        self.assertEqual(frozenset(), record.Ownership.from_v1({}).defined)

    def test_defined_traits_malformed_is_an_error(self):
        self.assertRaises(TypeError, record.Ownership.from_dict,
                          {'defined_traits': 'CUSTOM_A'})

    def test_merge_keeps_every_defined_trait(self):
        old = sample()
        old.defined = frozenset({'CUSTOM_A'})
        new = record.Ownership(defined=frozenset({'CUSTOM_C'}))
        self.assertEqual({'CUSTOM_A', 'CUSTOM_C'},
                         record.merge(old, new).defined)
        # a new record that does not list them does not drop them
        self.assertEqual({'CUSTOM_A'},
                         record.merge(old, record.Ownership()).defined)

    def test_merge_is_a_union(self):
        old = sample()
        new = record.Ownership(traits={P: frozenset({'CUSTOM_C'})},
                               created={'x': 'u-2'})
        merged = record.merge(old, new)
        self.assertEqual({'CUSTOM_A', 'CUSTOM_B', 'CUSTOM_C'},
                         merged.traits[P])
        self.assertEqual({P: 'u-1', 'x': 'u-2'}, merged.created)
        self.assertEqual({'VGPU': (2, 4)}, merged.reservations[P])
        self.assertTrue(merged.recorded)


class TestStateStore(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(self.tmp, 'state.json')
        self.logger = self.useFixture(fixtures.FakeLogger())

    def store(self, host_id='host-a', **kwargs):
        return state.StateStore(self.path, 'cn1', host_id=host_id, **kwargs)

    def test_missing_file_is_no_record(self):
        self.assertFalse(self.store().load().recorded)

    def test_save_load_and_no_rewrite_when_unchanged(self):
        self.assertTrue(self.store().save(sample()))
        store = self.store()
        own = store.load()
        self.assertTrue(own.recorded)
        self.assertEqual(sample().traits, own.traits)
        before = os.stat(self.path)
        self.assertFalse(store.save(own))
        after = os.stat(self.path)
        self.assertEqual(before.st_ino, after.st_ino)
        with open(self.path) as f:
            data = json.load(f)
        self.assertEqual((2, 'host-a'), (data['version'], data['host_id']))
        # 0644 in a directory root owns, else 0640 (see state.py)
        self.assertEqual(0o644 if os.stat(self.tmp).st_uid == 0 else 0o640,
                         before.st_mode & 0o777)

    def test_unparsable_file_is_moved_aside(self):
        with open(self.path, 'w') as f:
            f.write('{"version": 2, ')
        own = self.store().load()
        self.assertFalse(own.recorded)
        self.assertFalse(os.path.exists(self.path))
        (aside,) = glob.glob(self.path + '.corrupt-*')
        with open(aside) as f:
            self.assertEqual('{"version": 2, ', f.read())
        self.assertIn(aside, self.logger.output)

    def test_unknown_version_and_other_root_are_moved_aside(self):
        for data in ({'version': 9}, {'version': 2, 'root_provider': 'x'}):
            with open(self.path, 'w') as f:
                json.dump(data, f)
            self.assertFalse(self.store().load().recorded)
            self.assertFalse(os.path.exists(self.path))
            for aside in glob.glob(self.path + '.corrupt-*'):
                os.unlink(aside)

    def test_record_from_another_host_is_refused(self):
        self.store().save(sample())
        with open(self.path, 'rb') as f:
            before = f.read()
        self.assertRaises(state.ForeignHost, self.store('host-b').load)
        with open(self.path, 'rb') as f:
            self.assertEqual(before, f.read())
        # no host id known here: not checked
        self.assertTrue(self.store(None).load().recorded)

    def test_lock_times_out(self):
        fd = os.open(self.path + '.lock', os.O_RDONLY | os.O_CREAT)
        self.addCleanup(os.close, fd)
        fcntl.flock(fd, fcntl.LOCK_EX)
        store = self.store(lock_timeout=0.2)
        with testtools.ExpectedException(state.LockTimeout,
                                         '.*holds the lock.*'):
            with store.lock():
                pass
        fcntl.flock(fd, fcntl.LOCK_UN)
        with store.lock():
            pass

    def test_unwritable_directory_is_an_error(self):
        store = state.StateStore('/proc/mdev-traits/state.json', 'cn1')
        self.assertRaises(state.StateError, store.save, sample())

    def test_in_memory(self):
        store = state.StateStore('', 'cn1')
        self.assertFalse(store.load().recorded)
        store.save(sample())
        self.assertEqual(sample().created, store.load().created)
        self.assertTrue(store.load().recorded)

    def test_host_id(self):
        path = os.path.join(self.tmp, 'machine-id')
        with open(path, 'w') as f:
            f.write('0123abcd\n')
        self.assertEqual('0123abcd', state.read_host_id(path))
        self.assertIsNone(state.read_host_id(path + '.missing'))


class TestRecorderKeepsDefinedTraits(testtools.TestCase):
    """placement/reconciler.py: what the exporter defined is on disk as
    soon as Placement answered 201, and no later save of the cycle drops
    it."""

    def test_defined_then_replanned_and_reserved(self):
        saved = []

        class Store(object):
            def save(self, own):
                saved.append(own.copy())

        old = record.Ownership(defined=frozenset({'CUSTOM_OLD'}))
        final = record.Ownership(defined=frozenset(old.defined))
        rec = reconciler._Recorder(Store(), old, record.merge(old, final),
                                   final)
        rec.defined(['CUSTOM_NEW'])
        self.assertEqual({'CUSTOM_OLD', 'CUSTOM_NEW'}, saved[-1].defined)
        rec.replanned(P, {'CUSTOM_NEW'}, (), None)
        rec.reserving(P, {'VGPU': (0, 2)})
        for own in saved:
            self.assertIn('CUSTOM_OLD', own.defined)
        self.assertEqual({'CUSTOM_OLD', 'CUSTOM_NEW'}, saved[-1].defined)
        self.assertEqual({'CUSTOM_OLD', 'CUSTOM_NEW'}, final.defined)
