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
"""Functional tests of the embedded Placement service itself.

One real Placement server is shared by all tests of the class (started in
setUpClass, stopped in tearDownClass).  Tests must not assume an empty
database: each one uses its own provider and trait names.
"""

import json
import urllib.error
import uuid

import testtools

from mdev_traits.testing import placement


def _unique(prefix):
    return '%s_%s' % (prefix, uuid.uuid4().hex[:12].upper())


class TestPlacementServer(testtools.TestCase):

    server = None

    @classmethod
    def setUpClass(cls):
        super(TestPlacementServer, cls).setUpClass()
        cls.server = placement.PlacementServer()
        try:
            cls.server.start()
        except BaseException:
            cls.server.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        super(TestPlacementServer, cls).tearDownClass()

    def _request(self, method, path, json=None, expect=(200,)):
        status, body = self.server.request(method, path, json=json)
        self.assertIn(status, expect,
                      '%s %s -> %s: %r' % (method, path, status, body))
        return body

    def _create_provider(self, vgpus=4, traits=()):
        name = _unique('rp').lower()
        rp = self._request('POST', '/resource_providers',
                           json={'name': name})
        rp_uuid = rp['uuid']
        inv = self._request(
            'PUT', '/resource_providers/%s/inventories' % rp_uuid,
            json={'resource_provider_generation': rp['generation'],
                  'inventories': {'VGPU': {'total': vgpus}}})
        for trait in traits:
            self._request('PUT', '/traits/%s' % trait, expect=(201, 204))
        self._request(
            'PUT', '/resource_providers/%s/traits' % rp_uuid,
            json={'resource_provider_generation':
                  inv['resource_provider_generation'],
                  'traits': list(traits)})
        return rp_uuid

    def test_url_is_loopback(self):
        self.assertTrue(self.server.url.startswith('http://127.0.0.1:'))
        body = self._request('GET', '/')
        self.assertEqual('1.39', body['versions'][0]['max_version'])

    def test_allocation_candidates_by_custom_trait(self):
        trait = _unique('CUSTOM_X')
        rp_uuid = self._create_provider(vgpus=4, traits=[trait])
        # A second provider with VGPU but without the trait.
        other = self._create_provider(vgpus=4)

        body = self._request(
            'GET', '/allocation_candidates?resources=VGPU:1&required=%s'
            % trait)
        self.assertEqual([rp_uuid], list(body['provider_summaries']))
        self.assertEqual(1, len(body['allocation_requests']))
        alloc = body['allocation_requests'][0]['allocations']
        self.assertEqual({rp_uuid: {'resources': {'VGPU': 1}}}, alloc)
        self.assertEqual(
            [trait],
            body['provider_summaries'][rp_uuid]['traits'])

        body = self._request(
            'GET', '/allocation_candidates?resources=VGPU:5&required=%s'
            % trait)
        self.assertEqual([], body['allocation_requests'])

        body = self._request(
            'GET', '/allocation_candidates?resources=VGPU:1&required=!%s'
            % trait)
        self.assertIn(other, body['provider_summaries'])
        self.assertNotIn(rp_uuid, body['provider_summaries'])

    def test_osc_trait_list(self):
        trait = _unique('CUSTOM_X')
        rp_uuid = self._create_provider(traits=[trait])
        out = placement.osc(self.server, 'resource', 'provider', 'trait',
                            'list', rp_uuid, '-f', 'json')
        self.assertEqual([{'name': trait}], json.loads(out))

    def test_osc_trait_set_seen_by_api(self):
        trait = _unique('CUSTOM_X')
        rp_uuid = self._create_provider()
        placement.osc(self.server, 'trait', 'create', trait)
        placement.osc(self.server, 'resource', 'provider', 'trait', 'set',
                      '--trait', trait, '--trait', 'HW_CPU_X86_AVX2',
                      rp_uuid)
        body = self._request('GET', '/resource_providers/%s/traits'
                             % rp_uuid)
        self.assertEqual(sorted([trait, 'HW_CPU_X86_AVX2']),
                         sorted(body['traits']))

    def test_osc_error_carries_stderr(self):
        exc = self.assertRaises(
            placement.OSCError, placement.osc, self.server,
            'resource', 'provider', 'show', str(uuid.uuid4()))
        self.assertNotEqual(0, exc.returncode)
        self.assertIn('No resource provider', exc.stderr)

    def test_stop_and_restart_keeps_port_and_data(self):
        trait = _unique('CUSTOM_X')
        rp_uuid = self._create_provider(traits=[trait])
        url = self.server.url
        self.server.stop()
        # Whatever happens below, leave a running server to later tests.
        self.addCleanup(self.server.start)
        self.assertFalse(self.server.running)
        self.assertRaises(urllib.error.URLError,
                          self.server.request, 'GET', '/')

        self.assertEqual(url, self.server.start())
        body = self._request('GET', '/resource_providers/%s/traits'
                             % rp_uuid)
        self.assertEqual([trait], body['traits'])
