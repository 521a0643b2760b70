"""Property-based tests: whatever sysfs holds, discovery does not crash,
every published trait is valid, and a failed read never removes anything.
"""

import os
import re
import shutil
import tempfile

from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st
import testtools

from mdev_traits.discovery import mdev as mdev_discovery
from mdev_traits.mapping import contract
from mdev_traits.mapping import desired as desired_mod
from mdev_traits.mapping import mdev as mdev_mapping
from mdev_traits.mapping import names
from mdev_traits.mapping import tree
from mdev_traits.placement import plan
from mdev_traits.placement import record
from mdev_traits.testing import sysfs_builder

CUSTOM_RE = re.compile(r'^CUSTOM_[A-Z0-9_]{1,248}$')

type_ids = st.text(
    alphabet=st.characters(blacklist_characters='/\x00',
                           blacklist_categories=('Cs',)),
    min_size=1, max_size=40).filter(lambda s: s not in ('.', '..'))
attr_bytes = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(lambda s: s.encode('utf-8', 'replace')),
    st.integers(-5, 10 ** 30).map(lambda i: str(i).encode()),
    st.sampled_from([b'vfio-pci\n', b'535.129.03\n', b'1.2\n',
                     b'8086:4940,8086:4941\n', b'x' * 70000]),
)
type_attrs = st.dictionaries(
    st.sampled_from(['name', 'description', 'available_instances',
                     'device_api', 'software_version', 'compatible_type',
                     'compatible_pci_ids', 'compatible_ch ips',
                     'dynamic_resources']),
    attr_bytes, max_size=9)
hosts = st.lists(
    st.tuples(st.integers(0, 255), st.text(min_size=0, max_size=20),
              st.dictionaries(type_ids, type_attrs, max_size=4)),
    max_size=3)


def build(root, host):
    builder = sysfs_builder.SysfsBuilder(root)
    for bus, version, types in host:
        address = '0000:%02x:00.0' % bus
        builder.add_pci_mdev_parent(address, vendor='10de', device='1eb8',
                                    driver='nvidia',
                                    driver_version=version or None)
        for type_id, attrs in types.items():
            tdir = builder.type_dir(address, type_id)
            os.makedirs(builder.path(tdir, 'devices'), exist_ok=True)
            for attr, value in attrs.items():
                with open(builder.path(tdir, attr), 'wb') as f:
                    f.write(value)
    return builder


class TestDiscoveryProperties(testtools.TestCase):

    @settings(max_examples=60, deadline=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(hosts)
    def test_any_tree_gives_valid_traits(self, host):
        root = tempfile.mkdtemp()
        try:
            build(root, host)
            found = mdev_discovery.MdevCollector(root).collect()
        finally:
            shutil.rmtree(root)
        enabled = tuple({t.type_id for p in found.mdev_parents
                         for t in p.types})
        desired = tree.build_tree(
            found, 'cn-1',
            [mdev_mapping.kind(mdev_mapping.MdevConfig(
                enabled_types=enabled))])
        for provider in desired.providers:
            for trait in provider.traits:
                self.assertTrue(
                    CUSTOM_RE.match(trait) or names.is_valid_trait(trait),
                    trait)
                self.assertLessEqual(len(trait), 255)
            for rc, inv in provider.inventories.items():
                self.assertGreater(inv['total'], 0)
                self.assertTrue(re.match(r'^(VGPU|CUSTOM_[A-Z0-9_]+)$',
                                         rc))


trait_sets = st.frozensets(st.sampled_from([
    'OWNER_NOVA', 'CUSTOM_OPS', 'CUSTOM_MDEV_TYPE_NVIDIA_231',
    'CUSTOM_MDEV_TYPE_NVIDIA_222', 'CUSTOM_PCI_VENDOR_10DE',
    'CUSTOM_MDEV_SWVER_NVIDIA_535_1', 'HW_GPU_API_VULKAN']), max_size=7)


class TestPlanProperties(testtools.TestCase):

    @settings(max_examples=200, deadline=None)
    @given(present=trait_sets, wanted=trait_sets, owned=trait_sets,
           vanished=st.booleans(), mode=st.booleans())
    def test_failed_read_never_removes(self, present, wanted, owned,
                                       vanished, mode):
        name = 'cn1_pci_0000_3b_00_0'
        providers = ()
        if not vanished:
            providers = (desired_mod.DesiredProvider(
                name=name, uuid=names.provider_uuid(name),
                parent_device='0000:3b:00.0', mdev_type=None,
                resource_class=None, inventories={},
                traits={t: ('test',) for t in wanted}, partial=True),)
        desired = desired_mod.DesiredTree(root_name='cn1',
                                          providers=providers,
                                          complete=False,
                                          incomplete=frozenset({'mdev'}))
        snap = plan.TreeSnapshot(
            root=plan.ProviderState(uuid='r', name='cn1', generation=1),
            providers={name: plan.ProviderState(
                uuid=names.provider_uuid(name), name=name, generation=3,
                traits=present, inventories={'VGPU': {'total': 4}})})
        own = record.Ownership(
            traits={name: owned},
            resource_classes={name: frozenset({'VGPU'})},
            created={name: names.provider_uuid(name)})
        result = plan.plan(desired, snap, own, mode)
        for op in result.ops:
            self.assertNotIsInstance(op, plan.DeleteProvider)
            self.assertEqual((), getattr(op, 'removed', ()))
            if isinstance(op, plan.SetInventories):
                self.assertIn('VGPU', op.inventories)
        # and nothing owned is forgotten
        self.assertTrue((owned & present) <= result.ownership.traits.get(
            name, frozenset()))

    @settings(max_examples=200, deadline=None)
    @given(present=trait_sets, wanted=trait_sets, owned=trait_sets,
           recorded=st.booleans())
    def test_never_removes_what_it_does_not_own(self, present, wanted,
                                                owned, recorded):
        name = 'cn1_pci_0000_3b_00_0'
        desired = desired_mod.DesiredTree(root_name='cn1', providers=(
            desired_mod.DesiredProvider(
                name=name, uuid='u', parent_device='0000:3b:00.0',
                mdev_type=None, resource_class=None, inventories={},
                traits={t: ('test',) for t in wanted}),))
        snap = plan.TreeSnapshot(
            root=plan.ProviderState(uuid='r', name='cn1', generation=1),
            providers={name: plan.ProviderState(
                uuid='nova', name=name, generation=3, traits=present)})
        own = record.Ownership(traits={name: owned}, recorded=recorded)
        result = plan.plan(desired, snap, own, False)
        # the record, or (record lost) the reserved prefixes: nothing else
        removable = set(owned)
        if not recorded:
            removable |= {t for t in present
                          if t.startswith(contract.RESERVED_PREFIXES)}
        for op in result.ops:
            if isinstance(op, plan.SetTraits):
                self.assertTrue(set(op.removed) <= removable)
                self.assertTrue(wanted <= set(op.traits))
        # a lost record never shrinks ownership: what is wanted and there
        # is recorded
        if not recorded:
            self.assertTrue((wanted & present) <= result.ownership.traits.get(
                name, frozenset()))
