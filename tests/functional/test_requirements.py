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


class TestRequirementsRules(base.PlacementTestCase):

    def test_compatible_type_is_not_required(self):
        # seed 002 (the design thread): "compatible_type: not used by mgt
        # tools currently". The source publishes it, the destination's
        # driver does not: it still qualifies.
        src, src_conf = self.make_host('ct-src',
                                       [('0000:3b:00.0', '535.129.03')])
        src.set_type_attr('0000:3b:00.0', 'nvidia-231', 'compatible_type',
                          'nvidia-231')
        _, dst_conf = self.make_host('ct-dst',
                                     [('0000:3b:00.0', '535.129.03')])
        for conf in (src_conf, dst_conf):
            self.assertTrue(self.exporter(conf).cycle().ok)
        self.assertIn('CUSTOM_MDEV_COMPAT_TYPE_NVIDIA_231',
                      self.traits('ct-src_pci_0000_3b_00_0'))
        proc = self.run_cli('requirements', '--config-file', src_conf,
                            '--parent', '0000:3b:00.0', '--type',
                            'nvidia-231', '--check', '--format', 'json')
        self.assertEqual(0, proc.returncode, proc.stderr)
        out = json.loads(proc.stdout)
        required = [r['trait'] for r in out['required']]
        self.assertNotIn('CUSTOM_MDEV_COMPAT_TYPE_NVIDIA_231', required)
        self.assertIn('CUSTOM_MDEV_TYPE_NVIDIA_231', required)
        self.assertIn('CUSTOM_MDEV_COMPAT_TYPE_NVIDIA_231',
                      [s['trait'] for s in out['skipped']])
        self.assertTrue({'ct-src', 'ct-dst'} <= set(
            out['check']['qualifying']))
        self.assertEqual({'ct-src', 'ct-dst'}, self.candidate_roots(
            ','.join(required)) & {'ct-src', 'ct-dst'})

    def test_unparsable_version_fails_closed(self):
        for host, attr, value in (
                ('fc-fullwidth', 'software_version', '\uff11.\uff12'),
                ('fc-garbage', 'software_version', 'release-x')):
            builder, conf = self.make_host(host,
                                           [('0000:3b:00.0', '535.129.03')])
            builder.set_type_attr('0000:3b:00.0', 'nvidia-231', attr, value)
            self.assertTrue(self.exporter(conf).cycle().ok)
            # the exporter publishes no version trait for it...
            self.assertFalse([t for t in self.traits(
                '%s_pci_0000_3b_00_0' % host) if 'SWVER' in t])
            # ...and requirements refuses rather than print requirements
            # that any driver version meets
            proc = self.run_cli('requirements', '--config-file', conf,
                                '--parent', '0000:3b:00.0', '--type',
                                'nvidia-231')
            self.assertEqual(2, proc.returncode, proc.stderr)
            self.assertEqual('', proc.stdout)
            lines = proc.stderr.strip().splitlines()
            self.assertEqual(1, len(lines), proc.stderr)
            self.assertIn('software_version = %r' % value, lines[0])
        # the driver version used in place of software_version
        _, conf = self.make_host('fc-driver', [('0000:3b:00.0', '535.x')])
        proc = self.run_cli('requirements', '--config-file', conf,
                            '--parent', '0000:3b:00.0', '--type',
                            'nvidia-231')
        self.assertEqual(2, proc.returncode, proc.stderr)
        self.assertIn("module/nvidia/version = '535.x'", proc.stderr)
