"""A long randomized run (issue 9, "Tests"): a few hundred cycles of the
in-process exporter against the real Placement, with random faults
injected by the proxy (503, dropped connections, answers lost after the
write, writes that land after the client's timeout, failed reads) and
random sysfs changes (GPUs removed and back, resolution, instances,
driver version, an unreadable mdev class directory). After every cycle:

* nothing of anyone else changed: nova's PCI-in-Placement provider,
  another exporter's provider (same root name), an operator's trait and
  ``reserved`` on one of the exporter's providers;
* a cycle whose discovery was incomplete withdrew nothing;

and once the faults stop, the tree equals the desired one.

Seeded and reproducible: ``MDEV_TRAITS_RANDOM_SEED`` (default below)
picks the run; the seed is in every failure message.
"""

import os
import random
import time

import testtools.content

from mdev_traits.mapping import names
from mdev_traits.placement import reconciler as reconciler_mod
from mdev_traits import service
from tests.functional import base
from tests.functional import fault_proxy
from tests.functional import test_ownership

# about 40 s for 240 cycles on a 2-core machine
SEED = int(os.environ.get('MDEV_TRAITS_RANDOM_SEED', '20261129'))
CYCLES = int(os.environ.get('MDEV_TRAITS_RANDOM_CYCLES', '240'))
ADDRESSES = ['0000:3b:00.0', '0000:5e:00.0', '0000:86:00.0']
ANCHOR = '0000:3b:00.0'  # never removed: carries the operator's data
ROOT = 'rnd'
WRITES = ('PUT', 'POST', 'DELETE')
ACTIONS = ('503', 'drop', 'drop_after', 'delay')
NOVA_PCI = ROOT + '_0000:81:00.4'
OTHER = ROOT + '_pci_0000_d8_00_0'
OPERATOR_TRAIT = 'CUSTOM_OPERATOR_GOLD'
NOVA_TRAITS = {'CUSTOM_PCI_VENDOR_10DE', 'CUSTOM_PCI_DEVICE_10DE_2236',
               'COMPUTE_MANAGED_PCI_DEVICE'}


def inventory(rc_total):
    return {rc: {'total': total, 'reserved': 0, 'min_unit': 1,
                 'max_unit': total, 'step_size': 1, 'allocation_ratio': 1.0}
            for rc, total in rc_total.items()}


class TestRandomized(test_ownership.OwnershipTestCase):

    def setUp(self):
        super().setUp()
        self.rng = random.Random(SEED)
        self.where = 'seed %d' % SEED

    # -- Placement, read directly ------------------------------------------
    def tree(self):
        """{name: (uuid, generation, traits, inventories)} under ROOT,
        re-reading only providers whose generation moved."""
        if self._root is None:
            self._root = self.provider(ROOT)['uuid']
        _, body = self.api('GET', '/resource_providers?in_tree=%s' %
                           self._root, expect=200)
        out = {}
        for rp in body['resource_providers']:
            if rp['uuid'] == self._root:
                continue
            key = (rp['uuid'], rp['generation'])
            cached = self._cache.get(rp['name'])
            if cached is None or cached[:2] != key:
                _, t = self.api('GET', '/resource_providers/%s/traits' %
                                rp['uuid'], expect=200)
                _, i = self.api('GET', '/resource_providers/%s/inventories'
                                % rp['uuid'], expect=200)
                cached = key + (frozenset(t['traits']), i['inventories'])
                self._cache[rp['name']] = cached
            out[rp['name']] = cached
        # a provider deleted and created again keeps its uuid (uuid5 of
        # its name) and starts again at generation 0: forget the gone ones
        for name in set(self._cache) - set(out):
            del self._cache[name]
        return out

    # -- the foreign world ---------------------------------------------------
    def seed_foreign(self):
        root = self.provider(ROOT)
        _, nova = self.api('POST', '/resource_providers', {
            'name': NOVA_PCI, 'parent_provider_uuid': root['uuid']},
            expect=200)
        self.set_traits(NOVA_PCI, NOVA_TRAITS)
        nova = self.provider(NOVA_PCI)
        self.api('PUT', '/resource_classes/CUSTOM_PCI_10DE_2236')
        self.api('PUT', '/resource_providers/%s/inventories' % nova['uuid'],
                 {'inventories': inventory({'CUSTOM_PCI_10DE_2236': 1}),
                  'resource_provider_generation': nova['generation']},
                 expect=200)
        # another host's exporter, same root name (cloned configuration)
        self.api('POST', '/resource_providers', {
            'name': OTHER, 'uuid': names.provider_uuid(OTHER),
            'parent_provider_uuid': root['uuid']}, expect=200)
        other = self.provider(OTHER)
        self.api('PUT', '/resource_providers/%s/inventories' % other['uuid'],
                 {'inventories': inventory({'VGPU': 2}),
                  'resource_provider_generation': 0}, expect=200)
        # an operator's trait and reservation on one of ours
        anchor = child_name(ANCHOR)
        self.set_traits(anchor, self.traits(anchor) | {OPERATOR_TRAIT})
        self.set_reserved(anchor, 1)
        tree = self.tree()
        return {NOVA_PCI: tree[NOVA_PCI], OTHER: tree[OTHER]}

    def check_foreign(self, foreign, tree, cycle):
        msg = '%s, cycle %d' % (self.where, cycle)
        for name, seen in foreign.items():
            # never written: same generation, traits and inventories
            self.assertEqual(seen, tree.get(name), msg)
        anchor = tree[child_name(ANCHOR)]
        self.assertIn(OPERATOR_TRAIT, anchor[2], msg)
        self.assertEqual(1, anchor[3]['VGPU']['reserved'], msg)

    # -- the host ------------------------------------------------------------
    def mutate(self, builder, present, broken):
        """One random change of the host; returns whether the mdev class
        directory is now unreadable (discovery incomplete)."""
        rng = self.rng
        mdev_bus = os.path.join(builder.root, 'class', 'mdev_bus')
        if broken:
            os.unlink(mdev_bus)
            os.rename(mdev_bus + '.saved', mdev_bus)
            return False
        choice = rng.random()
        removable = [a for a in present if a != ANCHOR]
        if choice < 0.15 and removable:
            address = rng.choice(removable)
            builder.remove_parent(address)
            present.remove(address)
        elif choice < 0.3 and len(present) < len(ADDRESSES):
            address = rng.choice([a for a in ADDRESSES if a not in present])
            builder.add_pci_mdev_parent(address, types=base.T4_TYPES,
                                        driver_version=self.version,
                                        **base.T4)
            present.append(address)
        elif choice < 0.45:
            address = rng.choice(present)
            builder.set_type_attr(address, 'nvidia-231', 'description',
                                  test_ownership.description(rng.choice(
                                      ['5120x2880', '7680x4320'])))
        elif choice < 0.6:
            builder.set_type_attr(rng.choice(present), 'nvidia-231',
                                  'available_instances', rng.randint(1, 4))
        elif choice < 0.7:
            self.version = rng.choice(['535.129.03', '535.161.07'])
            builder.write('module/nvidia/version', self.version)
        elif choice < 0.78:
            # a read that fails: class/mdev_bus is not a directory
            os.rename(mdev_bus, mdev_bus + '.saved')
            with open(mdev_bus, 'w') as f:
                f.write('')
            return True
        return False

    def policy(self, method, path):
        if not self.faulty:
            return None
        rng = self.fault_rng
        if method in WRITES and rng.random() < 0.08:
            action = rng.choice(ACTIONS)
            return fault_proxy.Fault(method, '.', action, delay=0.7)
        if method == 'GET' and rng.random() < 0.02:
            return fault_proxy.Fault(method, '.', '503')
        return None

    def test_random_faults_and_changes(self):
        started = time.monotonic()
        self._cache = {}
        self._root = None
        self.version = '535.129.03'
        gpus = [(a, self.version) for a in ADDRESSES]
        # [placement] connect_retries as configured by default (a dropped
        # connection or a timeout is retried once)
        builder, conf = self.host(ROOT, gpus=gpus, timeout=0.5,
                                  retries=None)
        self.assertTrue(self.exporter(conf).cycle().ok)
        foreign = self.seed_foreign()
        self.faulty = True
        self.fault_rng = random.Random(SEED + 1)
        self.proxy.policy = self.policy
        present = list(ADDRESSES)
        broken = False
        exporter = self.exporter(conf)
        failed = incomplete = 0
        for cycle in range(CYCLES):
            broken = self.mutate(builder, present, broken)
            if self.rng.random() < 0.05:
                exporter = self.exporter(conf)  # a restart
            before = self.tree() if broken else None
            try:
                exporter.cycle()
            except reconciler_mod.NothingPublished:
                failed += 1
            # a write delayed past the timeout lands now, not later
            self.assertTrue(self.proxy.wait_idle(), self.where)
            after = self.tree()
            self.check_foreign(foreign, after, cycle)
            if broken:
                if not incomplete:
                    self.assertFalse(service.desired_tree(
                        exporter.settings, exporter.collectors).complete)
                incomplete += 1
                self.check_nothing_withdrawn(before, after, cycle)
        # the faults stop; the host is readable again
        self.faulty = False
        if broken:
            self.mutate(builder, present, broken)
        self.check_converges(builder, conf, foreign)
        elapsed = time.monotonic() - started
        self.assertGreater(failed, 0, 'no fault hit a cycle: %s' %
                           self.where)
        self.assertGreater(incomplete, 0, 'no incomplete cycle: %s' %
                           self.where)
        fired = self.proxy.faults_fired()
        self.assertTrue(fired)
        # what the run did, for the record
        self.addDetail('summary', testtools.content.text_content(
            '%s: %d cycles in %.1fs, %d failed, %d incomplete, %d faults '
            '(%s)' % (
                self.where, CYCLES, elapsed, failed, incomplete, len(fired),
                ', '.join('%s=%d' % (a, sum(1 for f in fired if f[2] == a))
                          for a in ACTIONS))))

    def check_nothing_withdrawn(self, before, after, cycle):
        msg = '%s, cycle %d (discovery incomplete)' % (self.where, cycle)
        for name, seen in before.items():
            self.assertIn(name, after, msg)
            self.assertTrue(seen[2] <= after[name][2],
                            '%s: %s lost %s' % (msg, name,
                                                sorted(seen[2] -
                                                       after[name][2])))

    def check_converges(self, builder, conf, foreign):
        # a calm exporter (long timeout): at most the guard's cycles, then
        # nothing to write
        calm = self.conf(ROOT, builder.root, timeout=30, retries=None)
        exporter = self.exporter(calm)
        for _ in range(6):
            exporter.client.requests.clear()
            result = exporter.cycle()
            self.assertTrue(result.ok, result.outcome.failed)
            if exporter.client.write_count() == 0:
                break
        self.assertEqual(0, exporter.client.write_count(), self.where)
        tree = self.tree()
        self.check_foreign(foreign, tree, -1)
        desired = service.desired_tree(
            exporter.settings, exporter.collectors,
            known_traits=exporter.catalog.names())
        self.assertTrue(desired.complete, self.where)
        wanted = {p.name: p for p in desired.providers}
        ours = {n for n in tree if n not in foreign}
        self.assertEqual(set(wanted), ours, self.where)
        for name, prov in wanted.items():
            traits, inv = tree[name][2], tree[name][3]
            extra = {OPERATOR_TRAIT} if name == child_name(
                ANCHOR) else set()
            self.assertEqual(set(prov.traits) | extra, set(traits),
                             '%s: %s' % (self.where, name))
            for rc, rec in prov.inventories.items():
                self.assertEqual(rec['total'], inv[rc]['total'],
                                 '%s: %s %s' % (self.where, name, rc))
                self.assertEqual(
                    1 if extra and rc == 'VGPU' else 0,
                    inv[rc]['reserved'], '%s: %s %s' % (self.where, name,
                                                        rc))


def child_name(address):
    return '%s_pci_%s' % (ROOT, address.replace(':', '_').replace('.', '_'))
