"""At most N traits per GPU provider (trait contract v2, pure).

Placement returns the traits of every provider of every allocation
candidate's tree, so each trait on a per-GPU provider is paid on every
scheduling request of the cloud (benchmarks/scheduler.py measures it).
The default budget, :data:`DEFAULT_MAX_TRAITS`, is met by the defaults
of the contract (ladder floors, :data:`mdev_traits.mapping.versions.
DEFAULT_MAX_BUCKETS`); :func:`limit` makes it a hard bound whatever the
input (operator rules, many ``compatible_*`` values, a configuration
that lowers the floors). When a provider is over budget it drops, in
this order, until it fits:

1. the version buckets of lower minors that came from the fleet, lowest
   minor first (the device's own bucket stays);
2. whole capability families: the smallest one whose removal is enough,
   else the largest, and again (the family's traits are all gone, so
   every trait still published keeps its "at least" meaning: a flavor
   that asks for that family just does not get this device);
3. as a last resort, names in reverse sorted order, the device's
   identity (type, device_api, PCI ids, own bucket) last.

Each drop is reported in one warning per provider.
"""

import collections
import dataclasses
import re

from mdev_traits.mapping import collect
from mdev_traits.mapping import requirements as req_mod
from mdev_traits import models

DEFAULT_MAX_TRAITS = 64
# whatever the configuration says: the generic per-provider cap that
# build_tree applies to every provider (collect.MAX_TRAITS_PER_PROVIDER)
HARD_MAX_TRAITS = collect.MAX_TRAITS_PER_PROVIDER

_BUCKET = re.compile(r'^CUSTOM_MDEV_SWVER_(.+)_(\d+)_(\d+)$')
_IDENTITY = re.compile(r'^CUSTOM_(MDEV_TYPE|MDEV_DEVICE_API|PCI_VENDOR|'
                       r'PCI_DEVICE)_')


def _fleet_buckets(names):
    """Bucket traits that are not the highest of their (driver, major),
    lowest minor first."""
    best = {}
    found = []
    for name in names:
        match = _BUCKET.match(name)
        if match is None:
            continue
        key = (match.group(1), match.group(2))
        minor = int(match.group(3))
        found.append((minor, key, name))
        best[key] = max(best.get(key, minor), minor)
    return [name for minor, key, name in sorted(found)
            if minor < best[key]]


def _families(names, protected):
    by_family = collections.defaultdict(list)
    for name in names:
        if name in protected:
            continue
        family = req_mod.family_of(name)
        by_family[family.name if family else 'other'].append(name)
    # largest first, then by name: stable
    return sorted(by_family.items(), key=lambda kv: (-len(kv[1]), kv[0]))


def limit(traits, max_traits=DEFAULT_MAX_TRAITS):
    """``(kept traits, [dropped family or name descriptions])``.

    ``traits`` is ``{trait: sources}``; at most ``min(max_traits,
    HARD_MAX_TRAITS)`` are kept.
    """
    budget = max(1, min(int(max_traits), HARD_MAX_TRAITS))
    if len(traits) <= budget:
        return traits, []
    kept = dict(traits)
    dropped = []
    fleet = _fleet_buckets(kept)
    over = len(kept) - budget
    if fleet and over > 0:
        gone = fleet[:over]
        for name in gone:
            del kept[name]
        dropped.append('%d version bucket(s) of lower minors (%s ... %s)'
                       % (len(gone), gone[0], gone[-1]))
    protected = {n for n in kept if _IDENTITY.match(n) or _BUCKET.match(n)}
    protected |= {n for n in kept if n.startswith('CUSTOM_MDEV_COMPAT_')}
    while len(kept) > budget:
        families = _families(kept, protected)
        if not families:
            break
        over = len(kept) - budget
        # the smallest family whose removal is enough, else the largest
        enough = [f for f in families if len(f[1]) >= over]
        family, members = enough[-1] if enough else families[0]
        for name in members:
            del kept[name]
        dropped.append('family %s (%d traits)' % (family, len(members)))
    if len(kept) > budget:
        def rank(name):
            if _IDENTITY.match(name) or _BUCKET.match(name):
                return 0
            return 1 if name in protected else 2
        gone = sorted(kept, key=lambda n: (rank(n), n))[budget:]
        for name in gone:
            del kept[name]
        dropped.append('%d more trait(s): %s' % (
            len(gone), ', '.join(sorted(gone)[:5]) +
            (', ...' if len(gone) > 5 else '')))
    return kept, dropped


def make_limiter(max_traits=DEFAULT_MAX_TRAITS):
    """An enricher of the mdev kind (:func:`mdev_traits.mapping.mdev.kind`)
    that runs last: every mdev (GPU) provider keeps at most
    ``max_traits``."""
    def enrich(providers, discovery, warnings):
        result = []
        for provider in providers:
            if provider.kind != models.KIND_MDEV:
                result.append(provider)
                continue
            kept, dropped = limit(provider.traits, max_traits)
            if dropped:
                warnings.append(
                    'provider %s: %d traits is over the budget of %d per '
                    'GPU '
                    'provider ([exporter] max_traits_per_provider); left '
                    'out: %s' % (provider.name, len(provider.traits),
                                 min(max_traits, HARD_MAX_TRAITS),
                                 '; '.join(dropped)))
                provider = dataclasses.replace(provider, traits=kept)
            result.append(provider)
        return result
    return enrich
