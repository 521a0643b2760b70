"""``mdev-traits-demo``: the exporter end to end on sample hosts.

Starts a real Placement (``openstack-placement``, SQLite, noauth2) on
loopback, unpacks the sample hosts (recorded fake sysfs trees,
:data:`mdev_traits.testing.samples.HOSTS`), runs
``mdev-traits-exporter --once`` for each of them, then shows the provider
tree, the traits and an allocation-candidates query that shows superset
matching.

Needs the ``test`` extra (openstack-placement; osc-placement for the
provider listing): ``pip install '.[test]'`` in a checkout, or ``tox -e demo``
which installs the test requirements. Without it, the command says so in
one line and exits 2.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

from mdev_traits import testing
from mdev_traits.testing import samples

# A workload whose vGPU was created under driver 535.104: a destination
# needs the same major (535) and a minor not lower (>= 104), on the same
# GPU model, with the same mdev type. No sample host runs 535.104: the
# operator creates the bucket as a threshold (THRESHOLD_TRAIT), and every
# host at 535.m >= 104 publishes it (trait contract v2: buckets from the
# fleet).
DEMO_QUERIES = [
    ('vGPU of type nvidia-231 (GRID T4-2Q)',
     'CUSTOM_MDEV_TYPE_NVIDIA_231'),
    ('... that a VM started under NVIDIA driver 535.104 can live-migrate '
     'to (same major, minor >= 104)',
     'CUSTOM_MDEV_TYPE_NVIDIA_231,CUSTOM_MDEV_SWVER_NVIDIA_535_104'),
]


THRESHOLD_TRAIT = 'CUSTOM_MDEV_SWVER_NVIDIA_535_104'

# An mdev of the sample gpu-host-1 (GRID T4-2Q on 0000:3b:00.0).
DEMO_SOURCE_HOST = 'gpu-host-1'
DEMO_SOURCE_MDEV = '4b20d080-1b54-4048-85b3-a6a62d165c01'


def write_config(path, host, sysfs_root, url, snippet, mode):
    with open(snippet, encoding='utf-8') as f:
        extra = f.read()
    with open(path, 'w', encoding='utf-8') as f:
        f.write('[DEFAULT]\n'
                'debug = false\n'
                '\n[exporter]\n'
                'root_provider_name = %(host)s\n'
                'sysfs_root = %(root)s\n'
                'mode = %(mode)s\n'
                'create_root_provider = true\n'
                'state_file = %(state)s\n'
                '\n[placement]\n'
                'auth_type = admin_token\n'
                'endpoint = %(url)s\n'
                'token = admin\n\n' % {
                    'host': host, 'root': sysfs_root, 'mode': mode,
                    'state': os.path.join(os.path.dirname(path),
                                          'state.json'),
                    'url': url})
        f.write(extra)


def _say(text=''):
    sys.stdout.write(text + '\n')
    sys.stdout.flush()


def vdpa_tool_for(host, hostdir):
    """``[vdpa] command`` for sample ``host``: the fake ``vdpa`` tool
    playing back what the sample ships in ``<host>.vdpa.json``; None for
    a host without vDPA devices."""
    from mdev_traits.testing import vdpa_tool
    if samples.get(host).vdpa_json is None:
        return None
    tool = vdpa_tool.FakeVdpaTool(os.path.join(hostdir, 'tool'))
    tool.setUp()
    tool.use_sample(host)
    return tool.path


def run(server, workdir, mode='manage', say=_say):
    """The demo against the Placement ``server`` (a
    :class:`~mdev_traits.testing.placement.PlacementServer` that holds no
    other provider); its files go to ``workdir``. Returns the exit
    status."""
    from mdev_traits.testing import placement as placement_fixture

    def run_cmd(cmd):
        say('$ ' + ' '.join(cmd))
        return subprocess.run(cmd, capture_output=True, text=True)

    say('Placement (openstack-placement, SQLite, noauth2) at %s\n' %
        server.url)
    say('An operator defines a driver threshold a flavor uses:')
    say('  PUT /traits/%s  (openstack trait create %s)' % (
        THRESHOLD_TRAIT, THRESHOLD_TRAIT))
    status, _body = server.request('PUT', '/traits/%s' % THRESHOLD_TRAIT)
    say('  -> %d\n' % status)
    for sample in samples.HOSTS:
        host = sample.name
        hostdir = os.path.join(workdir, host)
        sysfs = os.path.join(hostdir, 'sys')
        if os.path.exists(sysfs):
            shutil.rmtree(sysfs)
        os.makedirs(hostdir, exist_ok=True)
        sample.extract(sysfs)
        conf = os.path.join(hostdir, 'mdev-traits.conf')
        write_config(conf, host, sysfs, server.url, sample.config, mode)
        tool = vdpa_tool_for(host, hostdir)
        if tool is not None:
            with open(conf, 'a', encoding='utf-8') as f:
                f.write('\n[vdpa]\ncommand = %s\n' % tool)
        proc = run_cmd([sys.executable, '-m', 'mdev_traits.cmd.exporter',
                        '--config-file', conf, '--once'])
        if proc.returncode != 0:
            say(proc.stderr)
            say('exporter failed for %s (exit %d)' % (
                host, proc.returncode))
            return 1
        say('  exit 0: %s published\n' % host)

    say('Provider tree (openstack resource provider list):')
    try:
        listing = placement_fixture.osc(
            server, 'resource', 'provider', 'list', '-f', 'value',
            '-c', 'name', '-c', 'uuid', '-c', 'parent_provider_uuid')
        say(listing)
    except Exception as exc:  # noqa: B902 - the CLI is optional here
        say('  (openstack CLI unavailable: %s)' % exc)
    status, body = server.request('GET', '/resource_providers')
    providers = sorted(body['resource_providers'],
                       key=lambda p: p['name'])
    for rp in providers:
        if rp['parent_provider_uuid'] is None:
            continue
        _, inv = server.request(
            'GET', '/resource_providers/%s/inventories' % rp['uuid'])
        _, traits = server.request(
            'GET', '/resource_providers/%s/traits' % rp['uuid'])
        invs = ', '.join('%s=%d' % (rc, r['total']) for rc, r in
                         sorted(inv['inventories'].items()))
        shown = sorted(t for t in traits['traits']
                       if 'SWVER' not in t)
        swver = sorted((t for t in traits['traits'] if 'SWVER' in t),
                       key=lambda t: [int(x) if x.isdigit() else x
                                      for x in t.split('_')])
        say('%s  [%s]' % (rp['name'], invs or 'no inventory'))
        for trait in shown:
            say('    %s' % trait)
        if swver:
            say('    %s ... %s (%d version buckets)' % (
                swver[0], swver[-1], len(swver)))
    say('')
    names = {p['uuid']: p['name'] for p in providers}
    for label, required in DEMO_QUERIES:
        path = ('/allocation_candidates?resources=VGPU:1&required=%s' %
                required)
        say('Query: %s' % label)
        say('  GET %s' % path)
        status, body = server.request('GET', path)
        hits = sorted({names.get(rp, rp)
                       for ar in body['allocation_requests']
                       for rp in ar['allocations']})
        say('  -> %d candidate(s): %s\n' % (
            len(hits), ', '.join(hits) or 'none'))
    # Live migration: which hosts can take the vGPU of a VM running on
    # gpu-host-1, and why the others cannot.
    src = dict((h.name, os.path.join(workdir, h.name, 'mdev-traits.conf'))
               for h in samples.HOSTS).get(DEMO_SOURCE_HOST)
    if src:
        say('Live migration: where can the vGPU %s of a VM on %s go?'
            % (DEMO_SOURCE_MDEV, DEMO_SOURCE_HOST))
        proc = run_cmd([sys.executable, '-m', 'mdev_traits.cmd.exporter',
                        'requirements', '--config-file', src, '--mdev',
                        DEMO_SOURCE_MDEV, '--check'])
        say(proc.stdout)
        if proc.returncode not in (0, 1):
            say(proc.stderr)
            return 1
    say(json.dumps({'placement': server.url, 'workdir': workdir}))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog='mdev-traits-demo',
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('--workdir', help='keep the files here '
                        '(default: a temporary directory, removed at exit)')
    parser.add_argument('--mode', default='manage',
                        choices=['manage', 'decorate'])
    args = parser.parse_args(argv)

    absent = testing.missing('fixtures', 'placement')
    if absent:
        sys.stderr.write('mdev-traits-demo needs the test extra (missing: '
                         '%s): %s\n' % (', '.join(absent), testing.INSTALL))
        return 2
    from mdev_traits.testing import placement as placement_fixture

    workdir = args.workdir or tempfile.mkdtemp(prefix='mdev-traits-demo-')
    os.makedirs(workdir, exist_ok=True)
    server = placement_fixture.PlacementServer(
        workdir=os.path.join(workdir, 'placement'))
    try:
        server.start()
        return run(server, workdir, args.mode)
    finally:
        server.stop()
        if hasattr(server, 'cleanup'):
            server.cleanup()
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
