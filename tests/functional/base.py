"""Shared pieces of the functional tests: a real Placement per module
(started in setUpClass), fake sysfs hosts, and the exporter run in-process
or through its console script."""

import os
import subprocess
import sys
import time
import urllib.parse

import fixtures
import testtools

from mdev_traits.cmd import exporter as exporter_cmd
from mdev_traits.conf import check as conf_check
from mdev_traits.placement import plan as plan_mod  # noqa: F401
from mdev_traits import service
from mdev_traits.testing import placement as placement_fixture
from mdev_traits.testing import sysfs_builder

T4 = dict(vendor='10de', device='1eb8', driver='nvidia')
# Type ids and names of a Tesla T4 as the NVIDIA vGPU manager shows them
# (NVIDIA Virtual GPU Software User Guide, "Virtual GPU Types for
# Supported GPUs"); descriptions as the driver writes them.
T4_TYPES = {
    'nvidia-222': dict(name='GRID T4-1B', available_instances=16,
                       description='num_heads=4, frl_config=45, '
                                   'framebuffer=1024M, '
                                   'max_resolution=5120x2880, '
                                   'max_instance=16'),
    'nvidia-231': dict(name='GRID T4-2Q', available_instances=4,
                       description='num_heads=4, frl_config=60, '
                                   'framebuffer=4096M, '
                                   'max_resolution=7680x4320, '
                                   'max_instance=4'),
}


class PlacementTestCase(testtools.TestCase):
    """One real Placement server for all the tests of a class."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.placement = placement_fixture.PlacementServer()
        cls.placement.start()

    @classmethod
    def tearDownClass(cls):
        cls.placement.cleanup()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def wait_for(self, predicate, timeout=60):
        """Poll ``predicate`` until it is true (True) or ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.2)
        return False

    # -- Placement helpers ------------------------------------------------
    def api(self, method, path, json=None, expect=None):
        status, body = self.placement.request(method, path, json=json)
        if expect is not None:
            self.assertEqual(expect, status, body)
        return status, body

    def provider(self, name):
        _, body = self.api('GET', '/resource_providers?name=%s' %
                           urllib.parse.quote(name), expect=200)
        rps = body['resource_providers']
        return rps[0] if rps else None

    def traits(self, name):
        rp = self.provider(name)
        _, body = self.api('GET', '/resource_providers/%s/traits' %
                           rp['uuid'], expect=200)
        return set(body['traits'])

    def inventories(self, name):
        rp = self.provider(name)
        _, body = self.api('GET', '/resource_providers/%s/inventories' %
                           rp['uuid'], expect=200)
        return body['inventories']

    def _candidates(self, required, resources):
        """(allocation requests, provider summaries) for the query."""
        path = '/allocation_candidates?resources=%s' % resources
        if required:
            path += '&required=%s' % urllib.parse.quote(required,
                                                        safe=',:')
        _, body = self.api('GET', path, expect=200)
        return body['allocation_requests'], body['provider_summaries']

    def _names(self, uuids):
        names = set()
        for uuid in uuids:
            _, rp = self.api('GET', '/resource_providers/%s' % uuid,
                             expect=200)
            names.add(rp['name'])
        return names

    def candidate_providers(self, required=None, resources='VGPU:1'):
        """Names of the providers Placement would allocate from."""
        requests, _ = self._candidates(required, resources)
        return self._names({rp for ar in requests
                            for rp in ar['allocations']})

    def candidate_roots(self, required, resources='VGPU:1'):
        """Names of the root providers Placement offers for the query."""
        requests, summaries = self._candidates(required, resources)
        return self._names({summaries[rp]['root_provider_uuid']
                            for ar in requests for rp in ar['allocations']})

    def create_root(self, name):
        _, body = self.api('POST', '/resource_providers', {'name': name},
                           expect=200)
        return body

    def create_child(self, root, name, vgpus):
        """A provider someone else (nova, an operator) made under
        ``root`` (its record), with a VGPU inventory of ``vgpus``."""
        _, rp = self.api('POST', '/resource_providers', {
            'name': name, 'parent_provider_uuid': root['uuid']}, expect=200)
        inv = {'VGPU': {'total': vgpus, 'reserved': 0, 'min_unit': 1,
                        'max_unit': vgpus, 'step_size': 1,
                        'allocation_ratio': 1.0}}
        self.api('PUT', '/resource_providers/%s/inventories' % rp['uuid'],
                 {'inventories': inv, 'resource_provider_generation': 0},
                 expect=200)
        return rp, inv

    def add_trait(self, name, trait):
        """Someone else adds ``trait`` (created when needed) to provider
        ``name``."""
        self.api('PUT', '/traits/%s' % trait)
        rp = self.provider(name)
        _, body = self.api('GET', '/resource_providers/%s/traits' %
                           rp['uuid'], expect=200)
        self.api('PUT', '/resource_providers/%s/traits' % rp['uuid'], {
            'traits': body['traits'] + [trait],
            'resource_provider_generation':
                body['resource_provider_generation']}, expect=200)

    def trait_exists(self, trait):
        status, _ = self.api('GET', '/traits/%s' % trait)
        return status == 204

    def set_reserved(self, name, reserved, rc='VGPU'):
        """An operator sets ``reserved`` on provider ``name``'s ``rc``."""
        rp = self.provider(name)
        inv = self.inventories(name)
        inv[rc]['reserved'] = reserved
        self.api('PUT', '/resource_providers/%s/inventories' % rp['uuid'],
                 {'inventories': inv,
                  'resource_provider_generation': rp['generation']},
                 expect=200)

    # -- hosts and the exporter ---------------------------------------------
    def make_host(self, name, gpus, enabled=('nvidia-231',), mode='manage',
                  create_root=True, extra=''):
        """A fake sysfs tree with ``gpus`` [(address, driver_version,
        types or None)] and a config file for the exporter."""
        root = os.path.join(self.tmp, name, 'sys')
        builder = sysfs_builder.SysfsBuilder(root)
        for i, (address, version) in enumerate(gpus):
            builder.add_pci_mdev_parent(address, driver_version=version,
                                        numa_node=i % 2, types=T4_TYPES,
                                        **T4)
        conf = self.write_conf(name, root, enabled, mode, create_root,
                               extra)
        return builder, conf

    def write_conf(self, name, sysfs_root, enabled, mode, create_root,
                   extra='', url=None):
        path = os.path.join(self.tmp, name, 'mdev-traits.conf')
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write('[exporter]\nroot_provider_name = %s\nsysfs_root = %s\n'
                    'mode = %s\ncreate_root_provider = %s\n'
                    'state_file = %s\n\n'
                    '[devices]\nenabled_mdev_types = %s\n\n'
                    '[placement]\nauth_type = admin_token\nendpoint = %s\n'
                    'token = admin\n%s\n' % (
                        name, sysfs_root, mode, create_root,
                        os.path.join(self.tmp, name, 'state.json'),
                        ','.join(enabled), url or self.placement.url,
                        extra))
        # it holds a token: not readable by others (the exporter warns)
        os.chmod(path, 0o600)
        return path

    def load_conf(self, conf_path):
        """The parsed configuration object of ``conf_path``, validated."""
        conf = exporter_cmd.build_conf()
        conf(['--config-file', conf_path], project='mdev-traits')
        self.assertEqual([], conf_check.checked_settings(conf)[1])
        return conf

    def exporter(self, conf_path):
        conf = exporter_cmd.build_conf()
        conf(['--config-file', conf_path], project='mdev-traits')
        settings, errors = conf_check.checked_settings(conf)
        self.assertEqual([], errors)
        return service.Exporter(settings)

    def run_cli(self, *args):
        return subprocess.run(
            [sys.executable, '-m', 'mdev_traits.cmd.exporter'] + list(args),
            capture_output=True, text=True, timeout=120,
            stdin=subprocess.DEVNULL)
