"""Discovery (sysfs walk) and mapping time for big GPU hosts.

Builds hosts of 16 and 64 GPUs x 40 vGPU types with SysfsBuilder (see
benchmarks/hosts.py for the attribute set), then times, over several
runs, ``MdevCollector.collect()`` (the sysfs reads), ``build_tree()``
(the pure mapping to traits and inventories) and both together, and
prints median and p95.  Target: 64 x 40 under 100 ms.

    python -m benchmarks.discovery [--runs N] [--profile]
"""

import argparse
import cProfile
import pstats
import sys
import tempfile

from mdev_traits.discovery import mdev as mdev_discovery
from mdev_traits.mapping import mdev as mdev_mapping
from mdev_traits.mapping import tree as tree_mod

from benchmarks import hosts

TARGET_MS = 100.0
SIZES = ((16, 40), (64, 40))


def run_size(gpus, types, runs, profile=False, full=False):
    with tempfile.TemporaryDirectory(prefix='bench-discovery-') as tmp:
        root = tmp + '/sys'
        hosts.build_host(root, gpus, types)
        config = hosts.mdev_config()
        kinds = [mdev_mapping.kind(config)]
        # the daemon reads the enabled types only (MdevCollector.configure);
        # the requirements command reads every type
        collector = mdev_discovery.MdevCollector(
            root, read_types=None if full else config.enabled_types)
        collect_t, map_t, total_t = [], [], []
        # one warm-up run: the dentry cache is warm on a real host too
        found = collector.collect()
        assert found.complete and len(found.mdev_parents) == gpus, found
        for _ in range(runs):
            t_collect, found = hosts.timed(collector.collect)
            t_map, tree = hosts.timed(tree_mod.build_tree, found,
                                      'bench-host', kinds)
            collect_t.append(t_collect)
            map_t.append(t_map)
            total_t.append(t_collect + t_map)
        assert len(tree.providers) == gpus
        traits = sum(len(p.traits) for p in tree.providers)
        print('%2d GPUs x %d types (%d type dirs, %d providers, %d traits)'
              ', %s' % (gpus, types, gpus * types, len(tree.providers),
                        traits, 'every type read (requirements command)'
                        if full else 'enabled types read (daemon)'))
        print('  discovery (MdevCollector.collect): %s'
              % hosts.summary(collect_t))
        print('  mapping   (build_tree)           : %s'
              % hosts.summary(map_t))
        print('  total                            : %s'
              % hosts.summary(total_t))
        if profile:
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(5):
                tree_mod.build_tree(collector.collect(), 'bench-host', kinds)
            prof.disable()
            pstats.Stats(prof).sort_stats('cumulative').print_stats(25)
        return hosts.percentile(total_t, 50)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--runs', type=int, default=21)
    parser.add_argument('--profile', action='store_true',
                        help='print a cProfile of the largest host')
    args = parser.parse_args(argv)
    print('Discovery benchmark on %s' % hosts.machine())
    median = None
    for full in (True, False):
        for gpus, types in SIZES:
            median = run_size(gpus, types, args.runs, full=full,
                              profile=(args.profile and not full
                                       and gpus == SIZES[-1][0]))
    ok = median * 1000 < TARGET_MS
    print('64 x 40 (daemon) median total %.1f ms: %s (target < %.0f ms)' % (
        median * 1000, 'OK' if ok else 'OVER TARGET', TARGET_MS))
    return 0


if __name__ == '__main__':
    sys.exit(main())
