"""The exporter's first sync of a host against nova's own report client
publishing the same provider tree from scratch: requests sent, side by
side, against the real Placement
(mdev_traits.testing.placement.PlacementServer: the unmodified
openstack-placement WSGI app, SQLite, in a child process on loopback).

For each host size (the SysfsBuilder hosts of benchmarks/hosts.py: GPUs
with 40 vGPU types each, one of them enabled):

* the exporter (manage mode, in-process ``service.Exporter``, as
  benchmarks/sync.py runs it) makes its first sync of a new host in a
  fresh Placement (it also creates the custom traits), then of a second
  host of the same shape (its traits exist by then, as for every host
  but the first of a fleet). The tree each one published (compute node,
  one child per GPU with its VGPU inventory and traits) is read back from
  Placement;
* nova's report client (``nova.scheduler.client.report.
  SchedulerReportClient``, nova's own ``[placement]`` loading) publishes
  exactly that tree, the same way, in another fresh Placement: as
  ``ResourceTracker._update_to_placement`` does on a new compute node,
  ``get_provider_subtree_and_ensure_root`` (creates the compute node),
  then the tree is filled in (as ``LibvirtDriver.update_provider_tree``
  would: children, inventories, traits) and flushed with
  ``update_from_provider_tree``. Each host is a new report client (a new
  nova-compute), and the tree nova published is checked equal to the
  exporter's (names, parents, inventories, traits).

Printed: the requests of each side (by method, and with ``--detail`` by
method and URL pattern), and the ratio exporter / nova. Target (issue 11):
the exporter's first sync makes fewer requests than nova for the same
tree.

    python -m benchmarks.first_sync [--gpus 1,2,8,64] [--detail]

Needs nova (``tox -e bench-nova``).
"""

import argparse
import collections
import os
import re
import sys
import tempfile

import nova.conf
from nova import context as nova_context
from nova import objects
from nova.scheduler.client import report

from mdev_traits.testing import placement as placement_fixture

from benchmarks import hosts
from benchmarks import sync

TYPES = 40
_UUID_RE = re.compile(
    r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', re.I)


def pattern(method, url):
    """``PUT /resource_providers/{uuid}/traits``, ``GET
    /traits?name=in:...``: one line per kind of request."""
    path, _, query = url.partition('?')
    path = _UUID_RE.sub('{uuid}', path)
    parts = path.split('/')
    if len(parts) == 3 and parts[1] in ('traits', 'resource_classes'):
        path = '/%s/{name}' % parts[1]
    if query:
        path += '?' + re.sub(r'=([a-z_]+:)?[^&]*', r'=\1...', query)
    return '%s %s' % (method.upper(), path)


class Counted(object):
    """Counts the requests ``func(method, url, ...)`` sends."""

    def __init__(self):
        self.patterns = collections.Counter()

    def wrap(self, func, method_first):
        def request(*args, **kwargs):
            method, url = args[:2] if method_first else args[1::-1]
            self.patterns[pattern(method, url)] += 1
            return func(*args, **kwargs)
        return request

    @property
    def total(self):
        return sum(self.patterns.values())

    def by_method(self):
        counts = collections.Counter()
        for key, n in self.patterns.items():
            counts[key.split()[0]] += n
        return counts


# -- Placement's view ------------------------------------------------------

def read_tree(placement, root_name):
    """{name: (parent name, inventories, traits)} of ``root_name``'s tree,
    and (uuid, name, parent uuid) of each provider, top-down."""
    status, body = placement.request(
        'GET', '/resource_providers?name=%s' % root_name)
    assert status == 200 and body['resource_providers'], (status, body)
    root = body['resource_providers'][0]['uuid']
    _, body = placement.request(
        'GET', '/resource_providers?in_tree=%s' % root)
    providers = body['resource_providers']
    names = {rp['uuid']: rp['name'] for rp in providers}
    tree, order = {}, []
    for rp in sorted(providers,
                     key=lambda rp: (rp['parent_provider_uuid'] is not None,
                                     rp['name'])):
        _, traits = placement.request(
            'GET', '/resource_providers/%s/traits' % rp['uuid'])
        _, inv = placement.request(
            'GET', '/resource_providers/%s/inventories' % rp['uuid'])
        parent = rp['parent_provider_uuid']
        tree[rp['name']] = (names.get(parent), inv['inventories'],
                            frozenset(traits['traits']))
        order.append((rp['uuid'], rp['name'], parent))
    return tree, order


# -- the exporter ----------------------------------------------------------

def exporter_first_sync(placement, workdir, name, gpus):
    root = os.path.join(workdir, name, 'sys')
    hosts.build_host(root, gpus, TYPES)
    exporter = sync.exporter_for(
        sync.write_conf(workdir, name, root, placement.url))
    counted = Counted()
    exporter.client.request = counted.wrap(exporter.client.request, True)
    result = exporter.cycle()
    assert result.ok, result.outcome.failed
    first = Counted()
    first.patterns.update(counted.patterns)
    # the next cycle writes nothing: the first one published it all
    writes = exporter.client.write_count()
    exporter.cycle()
    assert exporter.client.write_count() == writes
    return first, result


# -- nova ------------------------------------------------------------------

def configure_nova(workdir, placement_url):
    path = os.path.join(workdir, 'nova-%s.conf' % placement_url.rsplit(
        ':', 1)[1])
    with open(path, 'w') as f:
        f.write('[placement]\nauth_type = admin_token\nendpoint = %s\n'
                'token = admin\n' % placement_url)
    objects.register_all()
    nova.conf.CONF(args=[], project='nova', default_config_files=[path])


def nova_publish(tree, order):
    """What nova-compute sends to publish ``tree`` on a new compute node
    (ResourceTracker._update_to_placement, startup, nothing to reshape)."""
    context = nova_context.get_admin_context()
    client = report.SchedulerReportClient()
    counted = Counted()
    client._client.request = counted.wrap(client._client.request, False)
    root_uuid, root_name, _ = order[0]
    prov_tree = client.get_provider_subtree_and_ensure_root(
        context, root_uuid, name=root_name)
    for uuid, name, parent in order[1:]:
        prov_tree.new_child(name, parent, uuid=uuid)
    for uuid, name, _parent in order:
        _, inventories, traits = tree[name]
        prov_tree.update_inventory(uuid, inventories)
        prov_tree.update_traits(uuid, traits)
    client.update_from_provider_tree(context, prov_tree)
    return counted


# -- the run ---------------------------------------------------------------

def side_by_side(workdir, gpus, detail):
    name = 'first-%d' % gpus
    exporter, nova_side, published = [], [], []
    with placement_fixture.PlacementServer(
            workdir=os.path.join(workdir, name + '-exporter')) as placement:
        for host in ('a', 'b'):
            counted, result = exporter_first_sync(
                placement, workdir, '%s%s' % (name, host), gpus)
            exporter.append(counted)
            published.append(read_tree(placement, '%s%s' % (name, host)))
    with placement_fixture.PlacementServer(
            workdir=os.path.join(workdir, name + '-nova')) as placement:
        configure_nova(workdir, placement.url)
        for (tree, order), host in zip(published, 'ab'):
            nova_side.append(nova_publish(tree, order))
            theirs, _ = read_tree(placement, '%s%s' % (name, host))
            assert theirs == tree, 'nova published another tree'
    traits = [t for _parent, _inv, t in published[0][0].values()]
    print('%2d GPUs x %d types: %d providers, %d traits (%d distinct)'
          % (gpus, TYPES, len(traits), sum(len(t) for t in traits),
             len(frozenset().union(*traits))))
    ok = True
    for label, ours, theirs in (
            ('new Placement', exporter[0], nova_side[0]),
            ('traits exist ', exporter[1], nova_side[1])):
        ratio = ours.total / float(theirs.total)
        ok = ok and ours.total < theirs.total
        print('  %s: exporter %4d, nova %4d, ratio %.2f  '
              '(exporter: %s; nova: %s)' % (
                  label, ours.total, theirs.total, ratio,
                  _methods(ours), _methods(theirs)))
        if detail:
            for key in sorted(set(ours.patterns) | set(theirs.patterns)):
                print('      %-48s %5d %5d' % (
                    key, ours.patterns[key], theirs.patterns[key]))
    return ok


def _methods(counted):
    by_method = counted.by_method()
    return ', '.join('%s %d' % (m, by_method[m]) for m in sorted(by_method))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--gpus', default='1,2,8,64',
                        help='host sizes (GPUs), comma-separated')
    parser.add_argument('--detail', action='store_true',
                        help='requests by method and URL pattern '
                             '(exporter, nova)')
    args = parser.parse_args(argv)
    print('First sync against nova publishing the same tree, on %s, manage '
          'mode, real Placement (SQLite), requests sent' % hosts.machine())
    ok = True
    with tempfile.TemporaryDirectory(prefix='bench-first-') as workdir:
        for gpus in (int(g) for g in args.gpus.split(',')):
            ok = side_by_side(workdir, gpus, args.detail) and ok
    print('first sync: %s (target: fewer requests than nova for the same '
          'tree)' % ('OK' if ok else 'OVER TARGET'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
