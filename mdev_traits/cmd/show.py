"""``mdev-traits-exporter show``: what a host publishes, in operator terms.

    mdev-traits-exporter show --config-file FILE [--host NAME] [--traits]

Reads the provider tree of the compute node (``[exporter]
root_provider_name``, or ``--host``) from Placement, with plain GETs
(:class:`mdev_traits.placement.reader.TreeReader`), never from sysfs, and
prints per device provider its inventory and its capabilities in operator
terms (:mod:`mdev_traits.mapping.describe`): mdev type, driver version,
"CUDA 7.5", "OpenGL up to 4.6", display heads, resolution, framebuffer,
vDPA levels. Traits the contract does not explain (``OWNER_NOVA``,
operator traits) are listed as they are; ``--traits`` lists every trait.
Exit status: 0; 1 Placement unreachable or the host has no provider.
"""

import sys

from oslo_config import cfg

from mdev_traits.mapping import describe as describe_mod
from mdev_traits.placement import client as client_mod
from mdev_traits.placement import reader as reader_mod

PROG = 'mdev-traits-exporter show'
LABEL_WIDTH = 18

cli_opts = [
    cfg.StrOpt('host', metavar='NAME',
               help='The compute node provider to show (default: '
                    '[exporter] root_provider_name).'),
    cfg.BoolOpt('traits', default=False,
                help='Also list every trait of each provider, sorted.'),
]


def _out(text=''):
    sys.stdout.write(text + '\n')


def inventory_text(inventories):
    """``VGPU=8, VGPU_DISPLAY_HEAD=32`` (totals, reserved shown when
    set)."""
    parts = []
    for rc, rec in sorted(inventories.items()):
        text = '%s=%d' % (rc, rec.get('total', 0))
        if rec.get('reserved'):
            text += ' (%d reserved)' % rec['reserved']
        parts.append(text)
    return ', '.join(parts) or 'no inventory'


def provider_lines(state, with_traits):
    """The lines ``show`` prints for one provider."""
    lines = ['%s  [%s]' % (state.name, inventory_text(state.inventories))]
    desc = describe_mod.describe(state.traits)

    def row(label, text):
        lines.append('  %-*s %s' % (LABEL_WIDTH, label + ':', text))

    for label, text in desc.lines:
        row(label, text)
    if desc.other:
        row('other traits', ', '.join(desc.other))
    if with_traits:
        row('traits', '%d' % len(state.traits))
        lines.extend('    %s' % t for t in sorted(state.traits))
    else:
        row('traits', '%d (--traits lists them)' % len(state.traits))
    return lines


def run(conf, settings):
    host = conf.host or settings.exporter.root_provider_name
    client = client_mod.new_client(settings.placement.connect)
    reader = reader_mod.TreeReader(client, host)
    try:
        snapshot = reader.read()
    except reader_mod.RootProviderMissing:
        sys.stderr.write('%s: error: no resource provider %s in Placement '
                         '(is nova-compute running there, and is it the '
                         'hypervisor_hostname?)\n' % (PROG, host))
        return 1
    except (client_mod.PlacementUnavailable, reader_mod.ReadError) as exc:
        sys.stderr.write('%s: error: Placement unavailable: %s\n' % (
            PROG, exc))
        return 1
    providers = [snapshot.providers[n] for n in sorted(snapshot.providers)]
    _out('%s: %d device provider(s)' % (host, len(providers)))
    for state in providers:
        _out()
        for line in provider_lines(state, conf.traits):
            _out(line)
    return 0
