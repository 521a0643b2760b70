"""Placement load of a fleet of exporters: N simulated GPU hosts against
one real Placement (mdev_traits.testing.placement.PlacementServer).

What is *measured*: every host is a real reconciler (the exporter's
``Reconciler`` with its own ``PlacementClient``, state file and caches,
manage mode) whose cycles are run for real, one host after the other,
against the one Placement: the requests each host-cycle sends (by method)
and the wall time Placement needs to serve them. Hosts share one fake
sysfs tree (the same hardware: GPUS_PER_HOST GPUs x 40 types), discovered
once; each host maps it under its own compute node name (discovery cost
per host is benchmarks/discovery.py's).

What is *computed*: the request rate over time. No one sleeps for real
intervals: a virtual clock starts each host at a random phase in the
first interval and spaces its cycles by ``interval * uniform(1 - jitter,
1 + jitter)`` (the daemon's ``next_wait``, 60 s +-10% by default); each
cycle is charged the requests measured for that host's cycle. The
printed rate is the mean over the simulated window, and the peak is the
busiest simulated second.

Two situations: steady state (nothing changes on any host), and a driver
upgrade on every host at once (module/nvidia/version bumped: every host
adds version buckets to each GPU provider in its next cycle).

    python -m benchmarks.fleet [--hosts 500] [--steps 50,100,250,500]
"""

import argparse
import collections
import dataclasses
import os
import random
import sys
import tempfile
import time

from mdev_traits.discovery import mdev as mdev_discovery
from mdev_traits.mapping import names
from mdev_traits.placement import client as client_mod
from mdev_traits.placement import reconciler as reconciler_mod
from mdev_traits.placement import state as state_mod
from mdev_traits import service
from mdev_traits.testing import placement as placement_fixture

from benchmarks import hosts
from benchmarks import sync as sync_bench

GPUS_PER_HOST = 2
TYPES = 40
UPGRADED = '535.161.07'


class Host(object):
    def __init__(self, name, adapter, workdir):
        self.name = name
        self.client = client_mod.PlacementClient(adapter)
        self.reconciler = reconciler_mod.Reconciler(
            self.client, name, True,
            state_mod.StateStore(os.path.join(workdir, name + '.json'),
                                 name),
            create_root_provider=True)

    def cycle(self, template):
        """One reconcile; returns {method: requests}."""
        self.client.requests.clear()
        result = self.reconciler.sync(for_host(template, self.name))
        assert result.ok, result.outcome.failed
        return self.client.request_counts()


def for_host(template, root_name):
    """The desired tree of a host with the template's hardware."""
    providers = []
    for p in template.providers:
        name = root_name + p.name[len(template.root_name):]
        providers.append(dataclasses.replace(
            p, name=name, uuid=names.provider_uuid(name)))
    return dataclasses.replace(template, root_name=root_name,
                               providers=tuple(providers))


def desired_template(settings, sysfs_root):
    collector = mdev_discovery.MdevCollector(sysfs_root)
    return service.desired_tree(settings, [collector])


def simulate(per_host, interval, jitter, window, seed=1):
    """(mean requests/s, peak requests in one second) over ``window``
    simulated seconds; ``per_host[i]`` lists the requests of host i's
    successive cycles (the last one repeats)."""
    rng = random.Random(seed)
    per_second = collections.Counter()
    total = 0
    for cycles in per_host:
        t = rng.uniform(0, interval)
        k = 0
        while t < window:
            n = cycles[min(k, len(cycles) - 1)]
            per_second[int(t)] += n
            total += n
            k += 1
            t += interval * rng.uniform(1 - jitter, 1 + jitter)
    return total / float(window), max(per_second.values() or [0])


def run_all(hosts_, template):
    """Run one cycle of every host; (per-host counts, wall seconds)."""
    t0 = time.perf_counter()
    counts = [h.cycle(template) for h in hosts_]
    return counts, time.perf_counter() - t0


def total(counts):
    return sum(sum(c.values()) for c in counts)


def by_method(counts):
    acc = collections.Counter()
    for c in counts:
        acc.update(c)
    return ', '.join('%s %d' % kv for kv in sorted(acc.items()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--hosts', type=int, default=500)
    parser.add_argument('--steps', default='50,100,250,500',
                        help='fleet sizes to report (<= --hosts)')
    parser.add_argument('--interval', type=float, default=60.0)
    parser.add_argument('--jitter', type=float, default=0.1)
    parser.add_argument('--window', type=float, default=600.0,
                        help='simulated seconds')
    args = parser.parse_args(argv)
    steps = sorted({min(int(s), args.hosts)
                    for s in args.steps.split(',')} | {args.hosts})

    print('Fleet benchmark on %s: %d hosts x %d GPUs x %d types, one '
          'Placement (SQLite), interval %gs +-%d%%'
          % (hosts.machine(), args.hosts, GPUS_PER_HOST, TYPES,
             args.interval, args.jitter * 100))
    with tempfile.TemporaryDirectory(prefix='bench-fleet-') as workdir:
        root = os.path.join(workdir, 'sys')
        builder = hosts.build_host(root, GPUS_PER_HOST, TYPES)
        with placement_fixture.PlacementServer(
                workdir=os.path.join(workdir, 'placement')) as placement:
            conf_path = sync_bench.write_conf(workdir, 'template', root,
                                              placement.url)
            exporter = sync_bench.exporter_for(conf_path)
            adapter = exporter.client._get_adapter('GET', '/')
            template = desired_template(exporter.settings, root)
            fleet = [Host('fleet-%04d' % i, adapter, workdir)
                     for i in range(args.hosts)]

            first, wall = run_all(fleet, template)
            print('\nmeasured: first sync of %d hosts: %.1f s, %d requests '
                  '(%s), %.1f per host'
                  % (args.hosts, wall, total(first), by_method(first),
                     total(first) / float(args.hosts)))

            print('\nsteady state (measured per host-cycle; rate computed '
                  'over %gs simulated):' % args.window)
            print('  %5s %10s %12s %10s %12s %14s %16s' % (
                'hosts', 'req/cycle', 'writes', 'req/s', 'peak req/s',
                'req/host/int', 'Placement busy'))
            steady = None
            for n in steps:
                counts, wall = run_all(fleet[:n], template)
                writes = sum(v for c in counts for m, v in c.items()
                             if m != 'GET')
                rate, peak = simulate([[sum(c.values())] for c in counts],
                                      args.interval, args.jitter,
                                      args.window)
                print('  %5d %10.2f %12d %10.2f %12d %14.2f %13.1f ms'
                      % (n, total(counts) / float(n), writes, rate, peak,
                         rate * args.interval / n, wall * 1000))
                steady = counts

            # the module's version, and the software_version the vGPU
            # manager reports for its types
            builder.write('module/nvidia/version', UPGRADED)
            for g in range(GPUS_PER_HOST):
                builder.set_type_attr(hosts.gpu_address(g),
                                      hosts.ENABLED_TYPE, 'software_version',
                                      UPGRADED)
            upgraded = desired_template(exporter.settings, root)
            upgrade, wall = run_all(fleet, upgraded)
            after, _ = run_all(fleet, upgraded)
            print('\ndriver upgrade on all %d hosts at once (%s):'
                  % (args.hosts, UPGRADED))
            print('  measured: upgrade cycles %.1f s of Placement time, %d '
                  'requests (%s): first host %d, others %.1f on average'
                  % (wall, total(upgrade), by_method(upgrade),
                     sum(upgrade[0].values()),
                     total(upgrade[1:]) / max(1, len(upgrade) - 1)))
            print('  measured: the cycle after: %d requests (%s)'
                  % (total(after), by_method(after)))
            per_host = [[sum(u.values()), sum(a.values())]
                        for u, a in zip(upgrade, after)]
            rate, peak = simulate(per_host, args.interval, args.jitter,
                                  args.interval)
            print('  computed: first interval after the upgrade: %.2f '
                  'req/s (peak %d in one second), then %.2f req/s as in '
                  'steady state' % (rate, peak, total(after) /
                                    args.interval))
            assert total(steady) <= len(steady)
    return 0


if __name__ == '__main__':
    sys.exit(main())
