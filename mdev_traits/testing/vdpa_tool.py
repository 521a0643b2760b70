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

"""A fake ``vdpa`` tool for tests, and fake sysfs trees that match it.

:class:`FakeVdpaTool` installs ``fake_vdpa.py`` as an executable and
chooses what it prints: one or more recorded host outputs from
``vdpa_outputs/<set>/`` (merged, devices can be left out), and a failure
mode. :func:`build_sysfs` creates the sysfs side of the same sets with a
:class:`~mdev_traits.testing.sysfs_builder.SysfsBuilder`.
"""

import json
import os
import shutil
import stat
import sys

from mdev_traits import testing

testing.require(__name__, 'fixtures')

import fixtures  # noqa: E402 - after the check that names the extra

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUTS_DIR = os.path.join(HERE, 'vdpa_outputs')
SCRIPT = os.path.join(HERE, 'fake_vdpa.py')

COMMAND_FILES = {
    'mgmtdev show': 'mgmtdev.json',
    'dev show': 'dev.json',
    'dev config show': 'config.json',
}
SECTIONS = {'mgmtdev show': 'mgmtdev', 'dev show': 'dev',
            'dev config show': 'config'}

# The sysfs side of each recorded set: PCI devices (add_pci_device
# arguments plus the netdevs of the device) and vDPA devices (name,
# parent: PCI address or directory).
CX6DX = dict(vendor='15b3', pci_class='0x020000', driver='mlx5_core',
             numa_node=0)
SYSFS_LAYOUTS = {
    'mlx5': dict(
        pci=[dict(address='0000:3b:00.0', device='101d',
                  netdevs=['ens1f0np0'], **CX6DX),
             dict(address='0000:3b:00.2', device='101e',
                  physfn='0000:3b:00.0', **CX6DX),
             dict(address='0000:3b:00.3', device='101e',
                  physfn='0000:3b:00.0', **CX6DX)],
        vdpa=[('vdpa0', '0000:3b:00.2'), ('vdpa1', '0000:3b:00.3')]),
    'ifcvf': dict(
        pci=[dict(address='0000:af:00.0', vendor='8086', device='0b30',
                  pci_class='0x120000', driver='dfl-pci', numa_node=1),
             dict(address='0000:af:00.5', vendor='1af4', device='1041',
                  subsystem_vendor='8086', subsystem_device='001a',
                  pci_class='0x020000', driver='ifcvf', numa_node=1,
                  physfn='0000:af:00.0')],
        vdpa=[('vdpa3', '0000:af:00.5')]),
    'vdpa_sim_net': dict(
        mgmtdevs=['vdpasim_net'],
        vdpa=[('vdpa2', 'devices/vdpasim_net')]),
}
SYSFS_LAYOUTS['vdpa_sim_net-iproute2-5.12'] = SYSFS_LAYOUTS['vdpa_sim_net']
SYSFS_LAYOUTS['mlx5-iproute2-5.15'] = SYSFS_LAYOUTS['mlx5']
SYSFS_LAYOUTS['mlx5-provisioned'] = dict(
    pci=SYSFS_LAYOUTS['mlx5']['pci'][:2], vdpa=[('vdpa0', '0000:3b:00.2')])


def recorded(set_name, command):
    """The parsed recorded output of ``command`` for ``set_name``, or None
    when that tool has no such command (no file recorded)."""
    path = os.path.join(OUTPUTS_DIR, set_name, COMMAND_FILES[command])
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def recorded_outputs(*set_names):
    """{command: parsed output} of ``set_names``, merged."""
    data = {}
    for command in COMMAND_FILES:
        section = SECTIONS[command]
        merged = {}
        for set_name in set_names:
            merged.update(recorded(set_name, command).get(section, {}))
        data[command] = {section: merged}
    return data


def recorded_outputs_text(*set_names):
    """What a vDPA sample host ships as ``<host>.vdpa.json``."""
    # keys in the order the tool prints them
    return json.dumps(recorded_outputs(*set_names), indent=1) + '\n'


def build_sysfs(builder, *set_names, drivers=None):
    """Create the PCI devices, netdevs and vDPA devices of ``set_names``.

    :param drivers: {vDPA device name: driver} to bind some devices to
        another driver than vhost_vdpa (``virtio_vdpa``, or None).
    """
    drivers = drivers or {}
    index = 0
    for set_name in set_names:
        layout = SYSFS_LAYOUTS[set_name]
        for spec in layout.get('pci', ()):
            spec = dict(spec)
            netdevs = spec.pop('netdevs', ())
            address = spec.pop('address')
            vendor = spec.pop('vendor')
            device = spec.pop('device')
            builder.add_pci_device(address, vendor, device, **spec)
            for ifname in netdevs:
                builder.add_netdev(address, ifname)
        for mgmtdev in layout.get('mgmtdevs', ()):
            builder.add_vdpa_mgmtdev(mgmtdev)
        for name, parent in layout['vdpa']:
            builder.add_vdpa_device(name, parent,
                                    driver=drivers.get(name, 'vhost_vdpa'),
                                    index=index)
            index += 1
    return builder


class FakeVdpaTool(fixtures.Fixture):
    """The fake ``vdpa`` executable; ``path`` is what ``[vdpa] command``
    should be set to. Without :meth:`use`, it lists nothing."""

    def __init__(self, directory=None):
        super(FakeVdpaTool, self).__init__()
        self.directory = directory
        self.path = None

    def _setUp(self):
        if self.directory is None:
            self.directory = self.useFixture(fixtures.TempDir()).path
        bindir = os.path.join(self.directory, 'bin')
        os.makedirs(bindir, exist_ok=True)
        self.path = os.path.join(bindir, 'vdpa')
        with open(SCRIPT) as src:
            body = src.read().split('\n', 1)[1]
        with open(self.path, 'w') as dst:
            dst.write('#!%s\n' % sys.executable)
            dst.write(body)
        os.chmod(self.path, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP
                 | stat.S_IROTH | stat.S_IXOTH)
        self.log = os.path.join(self.directory, 'calls.log')
        self.outputs_dir = os.path.join(self.directory, 'outputs')
        self.use()

    @property
    def scenario_path(self):
        return self.path + '.json'

    def use(self, *set_names, drop=(), mode='ok', fail_on=None):
        """Print the merged recorded outputs of ``set_names``.

        :param drop: vDPA device names left out of ``dev show`` and ``dev
            config show`` (removed with ``vdpa dev del``).
        :param mode: ``ok``, ``exit1``, ``badjson``, ``hang`` or
            ``trailing-space`` (see fake_vdpa.py).
        :param fail_on: the commands ``mode`` applies to (default: all).
        """
        data = {}
        unsupported = []
        for command in COMMAND_FILES:
            section = SECTIONS[command]
            merged = {}
            outputs = [recorded(s, command) for s in set_names]
            if set_names and all(o is None for o in outputs):
                unsupported.append(command)
            for output in outputs:
                merged.update((output or {}).get(section, {}))
            for name in drop:
                if section != 'mgmtdev':
                    merged.pop(name, None)
            data[command] = merged
        self.use_data(data['mgmtdev show'], data['dev show'],
                      data['dev config show'], mode=mode, fail_on=fail_on,
                      unsupported=unsupported)

    def use_sample(self, name):
        """Print what sample host ``name`` ships in ``<name>.vdpa.json``
        (:attr:`mdev_traits.testing.samples.SampleHost.vdpa_json`)."""
        from mdev_traits.testing import samples
        path = samples.get(name).vdpa_json
        if path is None:
            raise ValueError('sample host %s has no vDPA outputs' % name)
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
        self.use_data(*(data[command][SECTIONS[command]]
                        for command in COMMAND_FILES))

    def use_data(self, mgmtdev=None, dev=None, config=None, mode='ok',
                 fail_on=None, raw=None, unsupported=()):
        """Print ``{"mgmtdev": mgmtdev}``, ``{"dev": dev}`` and
        ``{"config": config}`` (compact, as the tool prints them), or the
        text in ``raw`` ({command: text}) where given; the commands in
        ``unsupported`` answer as an iproute2 without them does."""
        if os.path.isdir(self.outputs_dir):
            shutil.rmtree(self.outputs_dir)
        os.makedirs(self.outputs_dir)
        given = {'mgmtdev show': mgmtdev, 'dev show': dev,
                 'dev config show': config}
        outputs = {}
        for command, filename in COMMAND_FILES.items():
            text = (raw or {}).get(command)
            if text is None:
                text = json.dumps({SECTIONS[command]: given[command] or {}},
                                  separators=(',', ':')) + '\n'
            path = os.path.join(self.outputs_dir, filename)
            with open(path, 'w') as f:
                f.write(text)
            outputs[command] = path
        scenario = {'outputs': outputs, 'mode': mode, 'log': self.log,
                    'unsupported': list(unsupported)}
        if fail_on is not None:
            scenario['fail_on'] = list(fail_on)
        with open(self.scenario_path, 'w') as f:
            json.dump(scenario, f)

    def calls(self):
        """The argument lists the tool was run with, oldest first."""
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [line.split() for line in f.read().splitlines()]
