"""``mdev-traits-exporter requirements``: what a destination must have.

    mdev-traits-exporter requirements --config-file FILE
        (--mdev UUID | --parent DEVICE --type TYPE | --vdpa NAME)
        [--format extra-specs|osc|json] [--check]

Prints the traits a destination must have to take a device of this host,
following the published compatibility rules
(:mod:`mdev_traits.mapping.requirements`). With ``--check`` it asks
Placement which hosts qualify now and, for each host that does not, which
required traits it lacks. Exit status: 0 (with ``--check``: at least one
host qualifies), 1 none qualifies or Placement unreachable, 2 bad
arguments, unknown device, or a source whose version cannot be read
(nothing is printed then: requirements without the version constraint
would let a VM go to any driver version).
"""

import dataclasses
import json
import sys

from oslo_config import cfg

from mdev_traits.discovery import mdev_instance
from mdev_traits.mapping import mdev as mdev_mapping
from mdev_traits.mapping import names
from mdev_traits.mapping import requirements as req_mod
from mdev_traits.mapping import tree as tree_mod
from mdev_traits import models
from mdev_traits.placement import client as client_mod
from mdev_traits.placement import queries
from mdev_traits import service

FORMATS = ('extra-specs', 'osc', 'json')

cli_opts = [
    cfg.StrOpt('mdev', metavar='UUID',
               help='An mdev of this host, by UUID (as under '
                    '<sysfs_root>/bus/mdev/devices/<uuid>).'),
    cfg.StrOpt('parent', metavar='DEVICE',
               help='A parent device (PCI address or sysfs name); with '
                    '--type.'),
    cfg.StrOpt('type', dest='mdev_type', metavar='TYPE',
               help='An mdev type id of --parent, e.g. nvidia-231.'),
    cfg.StrOpt('vdpa', dest='vdpa_device', metavar='NAME',
               help='A vDPA device of this host, by name (vdpa0).'),
    cfg.StrOpt('format', default='extra-specs', choices=FORMATS,
               help='extra-specs: flavor extra specs, plain and as '
                    'numbered request group 1; osc: an "openstack '
                    'allocation candidate list" command line; json.'),
    cfg.BoolOpt('check', default=False,
                help='Ask Placement now which hosts qualify, and which '
                     'required traits the others lack.'),
]


class UsageError(ValueError):
    pass


def _out(text=''):
    sys.stdout.write(text + '\n')


def source_requirements(conf, settings, found=None):
    """Requirements of the device named on the command line (``conf``:
    its options; ``settings``: the configuration)."""
    choices = [bool(conf.mdev), bool(conf.parent or conf.mdev_type),
               bool(conf.vdpa_device)]
    if sum(choices) != 1:
        raise UsageError('name one device: --mdev UUID, --parent DEVICE '
                         '--type TYPE, or --vdpa NAME')
    if found is None:
        found = service.discover(settings, full=True)
    root_name = settings.exporter.root_provider_name
    floors = settings.profiles.floors
    if conf.vdpa_device:
        tree = tree_mod.build_tree(
            found, root_name,
            service.mapping_extensions(settings, mdev_mapping.MdevConfig()))
        name = names.vdpa_provider_name(root_name, conf.vdpa_device)
        provider = tree.by_name().get(name)
        if provider is None:
            raise UsageError('no vDPA device %s on this host' %
                             conf.vdpa_device)
        return provider, req_mod.requirements(
            provider.trait_names, provider.resource_class,
            floors=floors)
    if conf.mdev:
        source = mdev_instance.find_mdev(found, conf.mdev)
        if source is None:
            raise UsageError('no mdev %s under %s/bus/mdev/devices' % (
                conf.mdev, settings.exporter.sysfs_root))
    else:
        if not (conf.parent and conf.mdev_type):
            raise UsageError('--parent and --type go together')
        try:
            source = mdev_instance.find_parent_type(found, conf.parent,
                                                    conf.mdev_type)
        except mdev_instance.NotFound as exc:
            raise UsageError(str(exc))
    parent, mdev_type = source.parent, source.mdev_type
    check_version(parent, mdev_type)
    configured = settings.mdev
    # the mdev's own type on its parent, whatever is enabled now
    pinned = mdev_mapping.MdevConfig(
        enabled_types=(mdev_type.type_id,),
        device_addresses=((mdev_type.type_id, (parent.name,)),),
        mdev_classes=((mdev_type.type_id,
                       configured.resource_class(mdev_type.type_id)),),
        any_parent=True)
    tree = tree_mod.build_tree(
        dataclasses.replace(found, mdev_parents=(parent,)), root_name,
        [kind for kind in service.mapping_extensions(settings, pinned)
         if kind.name == models.KIND_MDEV])
    if not tree.providers:
        # the mdev kind failed to map it (build_tree keeps the cycle going
        # with a warning): say why instead of an IndexError
        raise UsageError('%s of %s could not be mapped: %s' % (
            mdev_type.type_id, parent.name,
            '; '.join(tree.warnings) or 'no provider'))
    provider = tree.providers[0]
    dynamic = [(s.attribute, s.value) for s in
               mdev_instance.dynamic_settings(settings.exporter.sysfs_root,
                                              source)]
    return provider, req_mod.requirements(
        provider.trait_names, provider.resource_class, dynamic,
        floors=floors,
        not_required=[(t, req_mod.COMPATIBLE_TYPE_REASON) for t in
                      mdev_mapping.compatible_type_traits(mdev_type)])


def check_version(parent, mdev_type):
    """Fail closed: requirements without the version constraint of a
    source whose version cannot be read would let a VM go to any driver
    version."""
    text, source = mdev_mapping.version_of(parent, mdev_type)
    if text is None:
        return
    if mdev_mapping.parse_version(text) is None:
        raise UsageError(
            '%s = %r is not a version (M.m[.p] in ASCII digits): no '
            'requirements printed, they would have no version constraint'
            % (source, text))
    if mdev_mapping.driver_name(parent, mdev_type) is None:
        raise UsageError(
            '%s = %r: the driver of %s is unknown, so no version trait '
            'exists: no requirements printed, they would have no version '
            'constraint' % (source, text, parent.name))


def check(client, reqs):
    """{'query', 'qualifying': {host: [providers]},
    'lacking': {host: (provider, [missing traits])}, 'incomplete':
    [what a bound left out]}."""
    name_of = queries.ProviderNames(client)
    notes = []
    qualifying = {}
    for root, rp_uuid in queries.candidates(client, reqs.query(), notes):
        qualifying.setdefault(name_of(root), set()).add(name_of(rp_uuid))
    # Hosts with free capacity of the resource class that do not qualify
    lacking = {}
    for rp in queries.with_capacity(client, reqs.resource_class or 'VGPU',
                                    notes=notes):
        host = name_of(rp.root_uuid)
        if host in qualifying:
            continue
        lack = req_mod.missing(reqs.traits,
                               queries.traits_of(client, rp.uuid))
        best = lacking.get(host)
        if best is None or len(lack) < len(best[1]):
            lacking[host] = (rp.name, lack)
    if name_of.unresolved:
        notes.append('%d provider name(s) not looked up (more than %d '
                     'lookups): shown by uuid' % (len(name_of.unresolved),
                                                  name_of.limit))
    return {'query': 'GET /allocation_candidates?%s' % reqs.query(),
            'qualifying': {h: sorted(p) for h, p in qualifying.items()},
            'lacking': lacking, 'incomplete': notes}


def print_requirements(provider, reqs, fmt):
    if fmt == 'json':
        return
    if fmt == 'osc':
        _out(reqs.osc_command())
        return
    _out('# Source: %s (%s%s)' % (provider.name, provider.parent_device,
                                  ', type %s' % provider.mdev_type
                                  if provider.mdev_type else ''))
    _out('# Flavor extra specs:')
    for line in reqs.extra_specs():
        _out(line)
    _out('# The same as request group 1:')
    for line in reqs.extra_specs(group=1):
        _out(line)
    for req in reqs.required:
        _out('#   %s: %s' % (req.trait, req.reason))
    if reqs.settings:
        _out('# Settings to apply on the destination device '
             '(dynamic_resources, not traits):')
        for attr, value in reqs.settings:
            _out('#   %s = %s' % (attr, '<unknown>' if value is None
                                  else value))


def print_check(result):
    _out('Hosts that can take it (%s):' % result['query'])
    if not result['qualifying']:
        _out('  none')
    for host, providers in sorted(result['qualifying'].items()):
        _out('  %s  (%s)' % (host, ', '.join(providers)))
    _out('Hosts that cannot:')
    if not result['lacking']:
        _out('  none')
    for host, (provider, lack) in sorted(result['lacking'].items()):
        _out('  %s  lacks %s  (best provider: %s)' % (
            host, ', '.join(lack) or 'nothing (no free capacity?)',
            provider))
    for note in result['incomplete']:
        _out('Incomplete: %s' % note)


def run(conf, settings):
    try:
        provider, reqs = source_requirements(conf, settings)
    except UsageError as exc:
        sys.stderr.write('mdev-traits-exporter requirements: error: %s\n' %
                         exc)
        return 2
    print_requirements(provider, reqs, conf.format)
    result = None
    status = 0
    if conf.check:
        client = client_mod.new_client(settings.placement.connect)
        try:
            result = check(client, reqs)
        except client_mod.PlacementUnavailable as exc:
            sys.stderr.write('mdev-traits-exporter requirements: error: '
                             'Placement unavailable: %s\n' % exc)
            return 1
        if conf.format != 'json':
            print_check(result)
        status = 0 if result['qualifying'] else 1
    if conf.format == 'json':
        out = reqs.to_dict()
        out['source'] = {'provider': provider.name,
                         'device': provider.parent_device,
                         'mdev_type': provider.mdev_type}
        if result is not None:
            out['check'] = {
                'query': result['query'],
                'qualifying': result['qualifying'],
                'lacking': {h: {'provider': p, 'missing': m}
                            for h, (p, m) in result['lacking'].items()}}
            if result['incomplete']:
                out['check']['incomplete'] = result['incomplete']
        json.dump(out, sys.stdout, indent=2, sort_keys=True)
        _out()
    return status
