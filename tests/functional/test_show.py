"""``mdev-traits-exporter show`` reads what a host published back from a
real Placement and prints it in operator terms."""

import os
import re

from mdev_traits.testing import vdpa_tool
from tests.functional import base


class TestShow(base.PlacementTestCase):

    def _rows(self, stdout, provider):
        """{label: text} of ``provider``'s block of the output."""
        block = stdout.split('\n\n')
        mine = [b for b in block if b.startswith(provider + '  [')]
        self.assertEqual(1, len(mine), stdout)
        rows = {}
        for line in mine[0].splitlines()[1:]:
            match = re.match(r'^  (\S[^:]*):\s+(.*)$', line)
            if match:
                rows[match.group(1)] = match.group(2)
        return mine[0], rows

    def test_gpu_host_in_operator_terms(self):
        _, conf = self.make_host('sh-gpu', [('0000:3b:00.0', '535.129.03'),
                                            ('0000:d8:00.0', '535.129.03')])
        self.assertTrue(self.exporter(conf).cycle().ok)
        name = 'sh-gpu_pci_0000_3b_00_0'
        # a trait of someone else's on the provider: shown as it is
        self.add_trait(name, 'CUSTOM_OPERATOR_GOLD')

        proc = self.run_cli('show', '--config-file', conf)
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertTrue(proc.stdout.startswith(
            'sh-gpu: 2 device provider(s)\n'), proc.stdout)
        text, rows = self._rows(proc.stdout, name)
        inv = self.inventories(name)
        self.assertIn('[VGPU=%d' % inv['VGPU']['total'], text)
        self.assertEqual('NVIDIA_231', rows['mdev type'])
        self.assertEqual('VFIO_PCI', rows['device_api'])
        self.assertEqual('10DE:1EB8', rows['PCI device'])
        self.assertEqual('NVIDIA 535.129 (takes VMs started under 535.0 to '
                         '535.129)', rows['driver version'])
        # Tesla T4 (Turing): CUDA compute capability 7.5
        self.assertEqual('CUDA 7.5', rows['CUDA'])
        self.assertIn('OpenGL up to 4.6', rows['APIs'])
        # nvidia-231 of the fixture: num_heads=4, 7680x4320, 4096M
        self.assertEqual('4', rows['display heads'])
        self.assertEqual('up to 7680x4320', rows['resolution'])
        self.assertEqual('4096 MB or more', rows['framebuffer'])
        self.assertEqual('CUSTOM_OPERATOR_GOLD', rows['other traits'])
        traits = self.traits(name)
        self.assertEqual('%d (--traits lists them)' % len(traits),
                         rows['traits'])
        # short: no trait names unless asked
        self.assertNotIn('HW_GPU_RESOLUTION_W640H480', proc.stdout)
        self.assertLess(max(len(line) for line in
                            proc.stdout.splitlines()), 160)

        proc = self.run_cli('show', '--config-file', conf, '--traits')
        self.assertEqual(0, proc.returncode, proc.stderr)
        text, _ = self._rows(proc.stdout, name)
        listed = {line.strip() for line in text.splitlines()
                  if line.startswith('    ')}
        # exactly Placement's traits of the provider
        self.assertEqual(traits, listed)

    def test_vdpa_levels(self):
        root = os.path.join(self.tmp, 'sh-vdpa', 'sys')
        builder = base.sysfs_builder.SysfsBuilder(root)
        vdpa_tool.build_sysfs(builder, 'mlx5')
        tool = self.useFixture(vdpa_tool.FakeVdpaTool(
            os.path.join(self.tmp, 'sh-vdpa', 'tool')))
        tool.use('mlx5')
        conf = self.write_conf(
            'sh-vdpa', root, (), 'manage', True,
            extra='[vdpa]\ncommand = %s\ncommand_timeout = 5\n'
                  'physical_device_mappings = physnet1:ens1f0np0\n'
                  % tool.path)
        self.assertTrue(self.exporter(conf).cycle().ok)
        proc = self.run_cli('show', '--config-file', conf)
        self.assertEqual(0, proc.returncode, proc.stderr)
        # recorded mlx5 outputs: vdpa0 created with max_vqp 8, vdpa1 with
        # 2; max_vq_size 256
        _, rows = self._rows(proc.stdout, 'sh-vdpa_vdpa_vdpa0')
        self.assertEqual('net', rows['vDPA type'])
        self.assertEqual('mlx5_core', rows['vDPA driver'])
        self.assertEqual('up to 8', rows['queue pairs'])
        self.assertEqual('up to 256', rows['queue size'])
        self.assertEqual('PHYSNET1', rows['physical network'])
        self.assertEqual('VDPA', rows['vNIC type'])
        # (no virtio feature traits: a fake tree's device features are not
        # read, see mdev_traits.discovery.vdpa; the unit tests cover them)
        _, rows = self._rows(proc.stdout, 'sh-vdpa_vdpa_vdpa1')
        self.assertEqual('up to 2', rows['queue pairs'])

    def test_unknown_host(self):
        _, conf = self.make_host('sh-none', [('0000:3b:00.0', '535.129.03')])
        proc = self.run_cli('show', '--config-file', conf, '--host',
                            'sh-no-such-host')
        self.assertEqual(1, proc.returncode)
        self.assertIn('no resource provider sh-no-such-host', proc.stderr)
        self.assertEqual('', proc.stdout)
