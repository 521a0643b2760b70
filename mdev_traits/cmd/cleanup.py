"""``mdev-traits-exporter cleanup``: take back what the exporter published.

    mdev-traits-exporter cleanup --config-file FILE [--dry-run]

Stop the daemon first (it would publish again). Following the exporter's
ownership record (``[exporter] state_file``) for ``[exporter]
root_provider_name``, it removes the traits the exporter set, deletes the
providers it created and then the custom traits the record says it
defined that no provider of any host has any more
(:mod:`mdev_traits.placement.cleanup`); everything else stays:
``OWNER_NOVA``, every trait someone else set or defined (an operator's
driver threshold included), nova's providers and inventories. What was
removed is taken out of the record.
``--dry-run`` prints what it would do and changes nothing.

Exit status: 0 done (or nothing to do); 1 Placement unreachable or the
compute node provider missing; 2 configuration error; 3 Placement refused
some of it (listed; run it again later).
"""

import sys

from oslo_config import cfg

from mdev_traits.placement import cleanup as cleanup_mod
from mdev_traits.placement import client as client_mod
from mdev_traits.placement import reader as reader_mod
from mdev_traits.placement import state as state_mod
from mdev_traits import service

PROG = 'mdev-traits-exporter cleanup'

cli_opts = [
    cfg.BoolOpt('dry-run', default=False,
                help='Print what would be removed; change nothing.'),
]


def _out(text=''):
    sys.stdout.write(text + '\n')


def _error(text):
    sys.stderr.write('%s: error: %s\n' % (PROG, text))


def _providers(reader, record):
    """The record's providers Placement holds, children first."""
    snapshot = reader.read()
    states = [snapshot.providers[n] for n in sorted(snapshot.providers)]
    root = snapshot.root
    if root.name in record.names():
        full = reader.read_provider(root.uuid, root.name)
        if full is not None:
            states.append(full)
    return states


def _custom_traits(cleaner, candidates, actions, dry_run):
    """Delete (or, with ``dry_run``, list) the ``candidates`` no
    provider has any more; returns (deleted, kept in use, failed)."""
    removing = {}
    for action in actions:
        for trait in action.remove:
            removing.setdefault(trait, set()).add(action.uuid)
    deleted, in_use, failed = [], [], []
    for trait in candidates:
        if dry_run:
            users = cleaner.users(trait)
            if users is None:
                failed.append(trait)
            elif users <= removing.get(trait, set()):
                deleted.append(trait)
            else:
                in_use.append(trait)
            continue
        result = cleaner.delete_trait(trait)
        if result == 'deleted':
            deleted.append(trait)
        elif result == 'in use':
            in_use.append(trait)
        elif result is None:
            failed.append(trait)
    return deleted, in_use, failed


def run(conf, settings):
    root = settings.exporter.root_provider_name
    dry_run = conf.dry_run
    would = 'would ' if dry_run else ''
    store = service.state_store(settings)
    client = client_mod.new_client(settings.placement.connect)
    reader = reader_mod.TreeReader(client, root)
    cleaner = cleanup_mod.Cleaner(client, reader)
    refused = []
    try:
        with store.lock():
            own = store.load()
            record = cleanup_mod.record_from_ownership(own)
            if not record.names():
                _out('No record of providers or traits the exporter set '
                     'under %s (state file: %s)' % (
                         root, settings.exporter.state_file or 'none'))
            try:
                states = _providers(reader, record)
            except reader_mod.RootProviderMissing:
                _error('no resource provider %s in Placement' % root)
                return 1
            actions, clean = cleanup_mod.plan(states, record)
            done = set(clean)
            for action in actions:
                if dry_run:
                    _out(action.describe(dry_run=True))
                    continue
                why = cleaner.apply(action)
                if why is None:
                    _out(action.describe())
                    done.add(action.name)
                else:
                    refused.append('%s: %s' % (action.name, why))
            candidates, foreign = cleanup_mod.trait_candidates(record)
            deleted, in_use, failed = _custom_traits(
                cleaner, candidates, actions, dry_run)
            # deleted now, or by someone else before (404)
            gone = set(candidates) - set(in_use) - set(failed)
            refused.extend('custom trait %s: Placement refused to delete '
                           'it' % t for t in failed)
            _out('Custom traits the exporter defined that no provider has '
                 'any more: %sdelete %d%s%s'
                 % (would, len(deleted),
                    ' (%s)' % _summary(deleted) if deleted else '',
                    '; %d still on other providers, kept' % len(in_use)
                    if in_use else ''))
            if foreign:
                _out('Custom traits the exporter set but did not define, '
                     'kept (not its own): %s' % _summary(foreign))
            if not dry_run:
                store.save(cleanup_mod.remaining_ownership(own, done, gone))
    except client_mod.PlacementUnavailable as exc:
        _error('Placement unavailable: %s' % exc)
        return 1
    except (reader_mod.ReadError, state_mod.StateError) as exc:
        _error(str(exc))
        return 1
    for line in refused:
        _error(line)
    if dry_run:
        _out('Dry run: nothing was changed.')
    return 3 if refused else 0


def _summary(traits):
    return cleanup_mod.abridged(traits, limit=3)
