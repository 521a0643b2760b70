"""What the exporter's traits cost nova's scheduler: the allocation
candidates query of a vGPU flavor against a real Placement
(mdev_traits.testing.placement.PlacementServer, SQLite; or MySQL/MariaDB
with ``--db-url``).

N hosts shaped as nova makes them: a compute node with VCPU, MEMORY_MB
and DISK_GB inventory and about 120 CPU and COMPUTE traits, and one
per-GPU child provider with VGPU inventory (nova's libvirt driver names
it ``<host>_pci_<address>``). The first host is made through the API,
the others copied from it in the database (benchmarks/bulk.py). The
query is the one nova's scheduler sends for a flavor with
``resources:VGPU=1``: unnumbered resources (nova.scheduler.utils
ResourceRequest.to_querystring), ``limit`` = [scheduler]
max_placement_results (default 1000), and the forbidden trait that
nova/scheduler/request_filter.py compute_status_filter adds to every
request (``trait:COMPUTE_STATUS_DISABLED=forbidden``, unnumbered group).

Measured, as the median of ``--repeat`` queries (wall time seen by the
client, JSON decoding included), alternated with as many queries of nova
alone (the load of a shared machine drifts alike on both sides), with the
per-GPU children carrying the traits below. Also printed: the CPU time
the Placement process spent on the query (from /proc; less sensitive to
other load on the machine than wall time, 10 ms resolution).
The per-GPU children carry:

* nothing from the exporter (nova alone);
* the traits the exporter's own mapping (this version: trait contract v2,
  default options) produces for the first GPU of the sample host
  ``gpu-host-1`` (Tesla T4, GRID T4-2Q, driver 535.129.03), with a fleet
  that ran every 535 minor from 0 to 129 (the worst case for the version
  buckets);
* with ``--families``: the same, one capability family at a time, and
  what trait contract v1 published (every bucket 0..129, every ladder
  from its lowest level).

    python -m benchmarks.scheduler [--hosts 1000] [--repeat 7]
        [--families] [--db-url mysql+pymysql://...]
"""

import argparse
import collections
import os
import statistics
import sys
import tempfile
import time
import uuid

import os_traits

from mdev_traits.cmd import exporter as exporter_cmd
from mdev_traits.conf import settings as settings_mod
from mdev_traits import demo
from mdev_traits.mapping import budget
from mdev_traits.mapping import names
from mdev_traits.mapping import requirements as req_mod
from mdev_traits.mapping import versions
from mdev_traits import service
from mdev_traits.testing import placement as placement_fixture
from mdev_traits.testing import samples

from benchmarks import bulk as bulk_mod
from benchmarks import hosts as hosts_mod

SAMPLE = 'gpu-host-1'
FLEET_MINORS = range(130)        # every 535 minor up to the sample's
QUERY = ('/allocation_candidates?limit=1000'
         '&required=%21COMPUTE_STATUS_DISABLED'
         '&resources=DISK_GB:40,MEMORY_MB:8192,VCPU:4,VGPU:1')
# what contract v1 published: no floor
V1_FLOORS = ('cuda:1.0,opengl:1.1,direct3d:6.0,directx:10,opencl:1.0,'
             'vulkan:1.0,resolution:320x240')


def compute_traits():
    """About 120 standard traits of a libvirt compute node."""
    every = sorted(os_traits.get_traits())
    cpu = [t for t in every if t.startswith('HW_CPU_X86_')][:60]
    compute = [t for t in every if t.startswith('COMPUTE_')
               and 'STATUS_DISABLED' not in t][:60]
    return cpu + compute


def sample_traits(workdir, extra=''):
    """{trait: sources} of the sample host's first GPU provider, mapped by
    the exporter with its default options (plus ``extra`` config)."""
    hostdir = os.path.join(workdir, SAMPLE)
    sysfs = os.path.join(hostdir, 'sys')
    if not os.path.exists(sysfs):
        samples.get(SAMPLE).extract(sysfs)
    conf_path = os.path.join(hostdir, 'bench-%d.conf' % len(extra))
    demo.write_config(conf_path, SAMPLE, sysfs, 'http://127.0.0.1:1',
                      samples.get(SAMPLE).config,
                      'decorate')
    with open(conf_path, 'a') as f:
        f.write(extra)
    conf = exporter_cmd.build_conf()
    conf(['--config-file', conf_path], project='mdev-traits')
    known = frozenset(versions.bucket('nvidia', 535, k)
                      for k in FLEET_MINORS)
    tree = service.desired_tree(settings_mod.load(conf), known_traits=known)
    return dict(tree.providers[0].traits)


def v1_traits(workdir):
    """What trait contract v1 published for the same GPU."""
    traits = sample_traits(workdir, '\n[profiles]\nladder_floors = %s\n'
                           '[exporter]\nmax_traits_per_provider = %d\n'
                           % (V1_FLOORS, budget.HARD_MAX_TRAITS))
    for k in FLEET_MINORS:
        traits[versions.bucket('nvidia', 535, k)] = ('v1',)
    return traits


def by_family(traits):
    counts = collections.Counter()
    for trait in traits:
        family = req_mod.family_of(trait)
        counts[family.name if family else 'other'] += 1
    return counts


class Fleet(object):
    """N nova-shaped hosts in one Placement."""

    def __init__(self, placement, db_url):
        self.placement = placement
        self.bulk = bulk_mod.Bulk(db_url)
        self.children = []

    def call(self, method, path, body=None, ok=(200, 201, 204)):
        for attempt in range(20):
            status, answer = self.placement.request(method, path, json=body,
                                                    timeout=300)
            if status in ok:
                return answer
            if status not in (409, 500, 503):
                break
            time.sleep(0.05 * (attempt + 1))
        raise RuntimeError('%s %s: %s %s' % (method, path, status, answer))

    def ensure_traits(self, traits):
        for trait in sorted(traits):
            if os_traits.is_custom(trait):
                self.call('PUT', '/traits/%s' % trait)

    def _host(self, name, ctraits):
        """One host through the API, as nova makes it."""
        root = str(uuid.uuid5(names.PROVIDER_UUID_NAMESPACE, name))
        self.call('POST', '/resource_providers', {'name': name,
                                                  'uuid': root})
        self.call('PUT', '/resource_providers/%s/inventories' % root, {
            'resource_provider_generation': 0, 'inventories': {
                'VCPU': {'total': 128, 'allocation_ratio': 4.0},
                'MEMORY_MB': {'total': 512 * 1024, 'reserved': 512},
                'DISK_GB': {'total': 2000}}})
        self.call('PUT', '/resource_providers/%s/traits' % root, {
            'resource_provider_generation': 1, 'traits': ctraits})
        child_name = name + '_pci_0000_3b_00_0'
        child = names.provider_uuid(child_name)
        self.call('POST', '/resource_providers', {
            'name': child_name, 'uuid': child, 'parent_provider_uuid': root})
        self.call('PUT', '/resource_providers/%s/inventories' % child, {
            'resource_provider_generation': 0, 'inventories': {
                'VGPU': {'total': 8, 'max_unit': 8}}})
        return root, child

    def populate(self, count):
        """Host 0 through the API, the others copied in bulk."""
        root, child = self._host('bench-cn-template', compute_traits())
        with self.bulk.engine.begin() as conn:
            first = self.bulk._id(conn, child)
        self.children = [first] + self.bulk.clone_hosts(
            root, child, count - 1, 'bench-cn')

    def set_child_traits(self, traits):
        self.ensure_traits(traits)
        self.bulk.set_traits(self.children, traits)

    def cpu_seconds(self):
        """CPU time (user + system) of the Placement process so far, or
        None where /proc does not tell."""
        try:
            with open('/proc/%d/stat' % self.placement._proc.pid) as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except (OSError, AttributeError):
            return None
        return (int(fields[11]) + int(fields[12])) / float(
            os.sysconf('SC_CLK_TCK'))

    def query(self):
        """(wall seconds, Placement CPU seconds, candidates) of the vGPU
        flavor's query (the second of two: the first one warms up after a
        change)."""
        for _ in range(2):
            cpu0 = self.cpu_seconds()
            own0 = time.process_time()
            t0 = time.perf_counter()
            status, body = self.placement.request('GET', QUERY, timeout=600)
            took = time.perf_counter() - t0
            own = time.process_time() - own0
            cpu1 = self.cpu_seconds()
            if status != 200:
                raise RuntimeError('%s: %s %s' % (QUERY, status, body))
        cpu = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else 0
        return took, cpu, own, len(body['allocation_requests'])

    def compare(self, traits, rounds):
        """{'wall': ([nova alone], [with traits]), 'cpu': (...)} in
        seconds, and the candidates; measured in alternation so that the
        machine's load drifts alike on both sides."""
        self.ensure_traits(traits)
        out = {'wall': ([], []), 'cpu': ([], []), 'client': ([], [])}
        count = 0
        for _ in range(rounds):
            for side, wanted in ((0, ()), (1, traits)):
                self.bulk.set_traits(self.children, wanted)
                took, cpu, own, count = self.query()
                out['wall'][side].append(took)
                out['cpu'][side].append(cpu)
                out['client'][side].append(own)
        return out, count


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--hosts', type=int, default=1000)
    parser.add_argument('--repeat', type=int, default=9,
                        help='queries per side, alternated')
    parser.add_argument('--threads', type=int, default=1,
                        help='populate with this many threads (SQLite '
                             'locks the database: 1)')
    parser.add_argument('--families', action='store_true',
                        help='also measure each family alone and '
                             'contract v1')
    parser.add_argument('--db-url',
                        help='run Placement on this database (e.g. '
                             'mysql+pymysql://user:pw@localhost/placement,'
                             ' an empty database) instead of SQLite')
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix='bench-sched-') as workdir:
        v2 = sample_traits(workdir)
        cases = [('contract v2 (this version)', v2)]
        if args.families:
            v1 = v1_traits(workdir)
            cases.append(('contract v1', v1))
            identity = {t: s for t, s in v2.items()
                        if req_mod.family_of(t) is not None and
                        req_mod.family_of(t).policy in (req_mod.EXACT,
                                                        req_mod.SKIP)}
            for family in sorted(by_family(v1)):
                only = {t: s for t, s in v1.items()
                        if (req_mod.family_of(t) and
                            req_mod.family_of(t).name == family)}
                if len(only) > 2:
                    cases.append(('v1 %s alone' % family, only))
            cases.append(('v2 identity only', identity))
        print('Scheduler benchmark on %s: %d hosts, Placement on %s, '
              'median of %d queries' % (
                  hosts_mod.machine(), args.hosts,
                  'SQLite' if not args.db_url else
                  args.db_url.split('://')[0], args.repeat))
        print('query: GET %s' % QUERY)
        print('\ntraits per GPU provider by family (%s, first GPU, a fleet '
              'that ran 535.0 ... 535.129):' % SAMPLE)
        for label, traits in cases[:2]:
            counts = by_family(traits)
            print('  %-28s %3d: %s' % (label, len(traits), ', '.join(
                '%s %d' % kv for kv in sorted(counts.items(),
                                              key=lambda kv: -kv[1]))))
        server = placement_fixture.PlacementServer(
            workdir=os.path.join(workdir, 'placement'),
            db_url=args.db_url)
        with server:
            fleet = Fleet(server, args.db_url or
                          'sqlite:///%s' % server.db_path)
            t0 = time.perf_counter()
            fleet.populate(args.hosts)
            print('\npopulated %d hosts in %.1f s' % (
                args.hosts, time.perf_counter() - t0))
            print('\n  %-34s %4s %10s %10s %7s %9s' % (
                'per-GPU providers carry', 'n', 'nova alone', 'with them',
                'ratio', 'CPU ratio'))
            ratios = {}
            for label, traits in cases:
                out, count = fleet.compare(traits, args.repeat)
                med = {k: (statistics.median(v[0]),
                           statistics.median(v[1])) for k, v in out.items()}
                ratios[label] = med
                print('  %-34s %4d %7.1f ms %7.1f ms %6.2fx %8.2fx' % (
                    label, len(traits), med['wall'][0] * 1000,
                    med['wall'][1] * 1000, med['wall'][1] / med['wall'][0],
                    med['cpu'][1] / med['cpu'][0] if med['cpu'][0] else 0))
                sys.stdout.flush()
            med = ratios[cases[0][0]]
            print('\n%s at %d hosts (%d candidates): %.1f ms vs %.1f ms '
                  'nova alone, medians of %d alternated queries: %.2fx '
                  '(Placement CPU time: %.1f ms vs %.1f ms, %.2fx; the '
                  'client\'s, reading and decoding the answer: %.1f ms vs '
                  '%.1f ms; goal: at most 1.25x)' % (
                      cases[0][0], args.hosts, count,
                      med['wall'][1] * 1000, med['wall'][0] * 1000,
                      args.repeat, med['wall'][1] / med['wall'][0],
                      med['cpu'][1] * 1000, med['cpu'][0] * 1000,
                      med['cpu'][1] / med['cpu'][0] if med['cpu'][0]
                      else 0, med['client'][1] * 1000,
                      med['client'][0] * 1000))
            fleet.bulk.dispose()
    return 0


if __name__ == '__main__':
    sys.exit(main())
