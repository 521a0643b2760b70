"""Driver version buckets from the fleet (trait contract v2, pure).

A host whose driver D is at version M.m publishes the bucket
``CUSTOM_MDEV_SWVER_<D>_<M>_<m>`` of its own minor, and the bucket of
every lower minor k < m of the same major whose trait already exists in
Placement: some host of the cloud ran M.k (and so created it), or an
operator created it (``openstack trait create``) to define a threshold a
flavor uses. A workload at M.m requires its own bucket
(``mdev-traits-exporter requirements``); every host at M.m' with m' >= m
carries it once it has seen the trait in Placement (the list of bucket
traits is read at most every ``[exporter] trait_catalog_interval``
cycles, by :mod:`mdev_traits.placement.catalog`).

Trait contract v1 published every k in 0..m: 130 traits for 535.129, and
20 million for a date-like minor (``1.20240101.3``). Now the number of
buckets per provider is at most ``max_buckets`` (the highest known minors
below the own one are kept) and a minor above :data:`MAX_MINOR` publishes
its own bucket only, with a warning.

Nothing here does I/O: the trait names Placement knows come in as data.
"""

from mdev_traits.mapping import contract
from mdev_traits.mapping import names

# NVIDIA's minors are release counters below 1000 (535.288.01); a larger
# minor is a date or a build number, not an order between releases.
MAX_MINOR = 9999
# Buckets of lower minors one provider publishes at most, per driver
# branch (the highest ones known below its own minor). A source whose
# bucket a host does not carry cannot live-migrate there, so the default
# leaves room for a long-term branch's release history (NVIDIA's 535 LTS
# branch: about a dozen minors from 535.54 to 535.288, 2023-2026), and the
# 49 other traits of a T4-2Q plus its own bucket and 15 lower ones make
# exactly the 64-trait budget (mdev_traits.mapping.budget).
DEFAULT_MAX_BUCKETS = 15

# The prefix every bucket trait starts with: the catalog lists these.
BUCKET_PREFIX = names.CUSTOM_PREFIX + contract.MDEV_SWVER.split('{')[0]


def bucket(driver, major, minor):
    """The trait of one version bucket."""
    return names.custom_trait(contract.MDEV_SWVER.format(
        driver=driver, major=major, minor=minor))


def known_minors(known_traits, driver, major, below):
    """Minors k < ``below`` of driver ``driver`` major ``major`` whose
    bucket is in ``known_traits``, sorted high to low."""
    base = bucket(driver, major, 0)
    prefix = base[:-len('0')]
    minors = set()
    for name in known_traits:
        if not name.startswith(prefix):
            continue
        rest = name[len(prefix):]
        # ASCII digits only, no leading zero: the exact name bucket() makes
        if not (rest.isascii() and rest.isdigit()) or len(rest) > 5:
            continue
        if rest != str(int(rest)):
            continue
        k = int(rest)
        if k < below:
            minors.add(k)
    return sorted(minors, reverse=True)


def bucket_traits(driver, major, minor, known_traits=frozenset(),
                  max_buckets=DEFAULT_MAX_BUCKETS, warnings=None):
    """Bucket traits of a device whose driver is at ``major.minor``.

    Its own bucket always comes first; then those of the lower minors
    ``known_traits`` holds, highest first, at most ``max_buckets``.
    """
    own = bucket(driver, major, minor)
    if minor > MAX_MINOR:
        if warnings is not None:
            warnings.append(
                'driver %s version %d.%d: minor above %d is not a release '
                'counter; only its own bucket %s is published' % (
                    driver, major, minor, MAX_MINOR, own))
        return [own]
    lower = known_minors(known_traits, driver, major, minor)
    kept = lower[:max(0, max_buckets)]
    if len(kept) < len(lower) and warnings is not None:
        warnings.append(
            'driver %s %d.%d: %d lower minors have a bucket trait in '
            'Placement, only the %d highest are published ([exporter] '
            'max_version_buckets): workloads started under %s or older '
            'are not offered this host' % (
                driver, major, minor, len(lower), len(kept),
                '%d.%d' % (major, lower[len(kept)])))
    return [own] + [bucket(driver, major, k) for k in kept]
