"""First sync and steady-state cycle of a big GPU host against a real
Placement (mdev_traits.testing.placement.PlacementServer: the unmodified
openstack-placement WSGI app, SQLite, in a child process on loopback).

The exporter runs in manage mode (it creates the compute node, the
per-GPU providers, their traits and inventories), in-process, as
``service.Exporter``. Printed for each host size: wall time of the first
sync and of steady-state cycles (median/p95), and the requests each sent
by method (``PlacementClient.requests``). Target: steady-state cycles make
at most 1.2 read requests on average (the tree, and the version bucket
traits every [exporter] trait_catalog_interval = 5 cycles) and no
write.

    python -m benchmarks.sync [--cycles N]   (default 20)
"""

import argparse
import os
import sys
import tempfile

from mdev_traits.cmd import exporter as exporter_cmd
from mdev_traits.conf import settings as settings_mod
from mdev_traits import service
from mdev_traits.testing import placement as placement_fixture

from benchmarks import hosts

SIZES = ((16, 40), (64, 40))
# issue 11: reads per steady-state cycle on average, and no write
READS_BOUND = 1.2


def write_conf(workdir, name, sysfs_root, url, mode='manage',
               create_root=True):
    path = os.path.join(workdir, name + '.conf')
    with open(path, 'w') as f:
        f.write('[exporter]\nroot_provider_name = %s\nsysfs_root = %s\n'
                'mode = %s\ncreate_root_provider = %s\nstate_file = %s\n'
                'discovery_sources = mdev\n\n'
                '[devices]\nenabled_mdev_types = %s\n\n'
                '[placement]\nauth_type = admin_token\nendpoint = %s\n'
                'token = admin\n' % (
                    name, sysfs_root, mode, create_root,
                    os.path.join(workdir, name + '.state.json'),
                    hosts.ENABLED_TYPE, url))
    return path


def exporter_for(conf_path):
    conf = exporter_cmd.build_conf()
    conf(['--config-file', conf_path], project='mdev-traits')
    return service.Exporter(settings_mod.load(conf), log_errors=True)


def counts(client):
    by_method = client.request_counts()
    return ', '.join('%s %d' % (m, by_method[m]) for m in sorted(by_method))


def run_size(placement, workdir, gpus, types, cycles):
    name = 'bench-%dx%d' % (gpus, types)
    root = os.path.join(workdir, name, 'sys')
    hosts.build_host(root, gpus, types)
    exporter = exporter_for(write_conf(workdir, name, root, placement.url))
    client = exporter.client
    t_first, result = hosts.timed(exporter.cycle)
    assert result.ok, result.outcome.failed
    first = counts(client)
    total_first = sum(client.request_counts().values())
    print('%2d GPUs x %d types: %d providers, %d traits published'
          % (gpus, types, result.providers, result.traits))
    print('  first sync   : %8.0f ms, %4d requests (%s)'
          % (t_first * 1000, total_first, first))
    steady = []
    client.requests.clear()
    for _ in range(cycles):
        t, result = hosts.timed(exporter.cycle)
        steady.append(t)
    per_cycle = {m: n / float(cycles)
                 for m, n in client.request_counts().items()}
    print('  steady cycle : %s; requests per cycle: %s; writes: %d'
          % (hosts.summary(steady),
             ', '.join('%s %.1f' % kv for kv in sorted(per_cycle.items())),
             client.write_count()))
    reads = per_cycle.get('GET', 0)
    ok = client.write_count() == 0 and reads <= READS_BOUND
    print('  reads per cycle over %d cycles: %.2f (bound %.1f), writes %d: '
          '%s' % (cycles, reads, READS_BOUND, client.write_count(),
                  'OK' if ok else 'OVER'))
    return ok


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    # enough cycles to include the periodic read of the version bucket
    # traits ([exporter] trait_catalog_interval = 5) several times
    parser.add_argument('--cycles', type=int, default=20)
    args = parser.parse_args(argv)
    print('Sync benchmark on %s, manage mode, real Placement (SQLite)'
          % hosts.machine())
    ok = True
    with tempfile.TemporaryDirectory(prefix='bench-sync-') as workdir:
        with placement_fixture.PlacementServer(
                workdir=os.path.join(workdir, 'placement')) as placement:
            for gpus, types in SIZES:
                ok = run_size(placement, workdir, gpus, types,
                              args.cycles) and ok
    print('steady state: %s (target: at most 1.2 GET and no write per '
          'cycle on average)' % ('OK' if ok else 'OVER TARGET'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
