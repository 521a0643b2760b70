"""``mdev-traits-exporter requirements`` against a real Placement."""

import json
import shlex

from tests.functional import base

UUID = '4b20d080-1b54-4048-85b3-a6a62d165c01'


class TestRequirements(base.PlacementTestCase):

    def _hosts(self):
        # source: a VM's vGPU on rq-src (driver 535.129); rq-newer runs
        # 535.161 (qualifies), rq-older runs 525.85 (another major)
        src, src_conf = self.make_host('rq-src',
                                       [('0000:3b:00.0', '535.129.03')])
        src.add_instance('0000:3b:00.0', 'nvidia-231', UUID)
        src.write('bus/mdev/devices/%s/aggregator' % UUID, '2')
        src.set_type_attr('0000:3b:00.0', 'nvidia-231', 'dynamic_resources',
                          'aggregator')
        confs = {'rq-src': src_conf}
        for host, version in (('rq-newer', '535.161.07'),
                              ('rq-older', '525.85.05')):
            _, confs[host] = self.make_host(host,
                                            [('0000:3b:00.0', version)])
        for conf in confs.values():
            self.assertTrue(self.exporter(conf).cycle().ok)
        return confs

    def test_check_lists_who_qualifies_and_why_not(self):
        confs = self._hosts()
        proc = self.run_cli('requirements', '--config-file', confs['rq-src'],
                            '--mdev', UUID, '--check', '--format', 'json')
        self.assertEqual(0, proc.returncode, proc.stderr)
        out = json.loads(proc.stdout)
        self.assertIn('CUSTOM_MDEV_SWVER_NVIDIA_535_129',
                      [r['trait'] for r in out['required']])
        self.assertIn('trait:CUSTOM_MDEV_TYPE_NVIDIA_231=required',
                      out['extra_specs'])
        self.assertIn('trait1:CUSTOM_MDEV_DEVICE_API_VFIO_PCI=required',
                      out['extra_specs_group'])
        self.assertEqual([{'attribute': 'aggregator', 'value': '2'}],
                         out['settings'])
        qualifying = set(out['check']['qualifying'])
        self.assertTrue({'rq-src', 'rq-newer'} <= qualifying)
        self.assertNotIn('rq-older', qualifying)
        lacking = out['check']['lacking']['rq-older']
        self.assertEqual(['CUSTOM_MDEV_SWVER_NVIDIA_535_129'],
                         lacking['missing'])
        # Placement agrees with the printed command's query
        self.assertEqual({'rq-src', 'rq-newer'}, self.candidate_roots(
            ','.join(r['trait'] for r in out['required']))
            & {'rq-src', 'rq-newer', 'rq-older'})

    def test_text_and_osc_output(self):
        confs = self._hosts()
        proc = self.run_cli('requirements', '--config-file', confs['rq-src'],
                            '--parent', '0000:3b:00.0', '--type',
                            'nvidia-231', '--check')
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertIn('trait:CUSTOM_MDEV_SWVER_NVIDIA_535_129=required',
                      proc.stdout)
        self.assertIn('rq-older  lacks CUSTOM_MDEV_SWVER_NVIDIA_535_129',
                      proc.stdout)
        proc = self.run_cli('requirements', '--config-file', confs['rq-src'],
                            '--mdev', UUID, '--format', 'osc')
        self.assertEqual(0, proc.returncode, proc.stderr)
        args = shlex.split(proc.stdout)
        self.assertEqual(['openstack', 'allocation', 'candidate', 'list'],
                         args[:4])
        # the printed command runs as is with the real CLI
        from mdev_traits.testing import placement as placement_fixture
        listing = placement_fixture.osc(self.placement, *args[1:])
        rows = [line.split() for line in listing.splitlines()]
        # short: one line per candidate, "<provider uuid> <used/capacity>"
        # (not the table of every trait)
        for line in listing.splitlines():
            self.assertLess(len(line), 120, line)
        self.assertEqual({2}, {len(row) for row in rows}, listing)
        self.assertTrue(all(row[1].startswith('VGPU=') for row in rows))
        # the command selects exactly the providers of the hosts that
        # qualify (the source and the newer driver), not the older one
        hosts = {self.provider_name(row[0]).split('_')[0] for row in rows}
        self.assertEqual({'rq-src', 'rq-newer'},
                         hosts & {'rq-src', 'rq-newer', 'rq-older'})

    def provider_name(self, uuid):
        _, rp = self.api('GET', '/resource_providers/%s' % uuid, expect=200)
        return rp['name']

    def test_unknown_device(self):
        confs = self._hosts()
        proc = self.run_cli('requirements', '--config-file', confs['rq-src'],
                            '--mdev', '00000000-0000-0000-0000-000000000000')
        self.assertEqual(2, proc.returncode)
        self.assertIn('no mdev', proc.stderr)
