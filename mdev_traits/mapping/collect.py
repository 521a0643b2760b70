"""Collect traits with where each came from (for ``--dry-run``), and
bound how many a provider gets."""

from mdev_traits.mapping import contract
from mdev_traits.mapping import names

# Every trait is paid on every scheduling request, and Placement answers
# a provider's traits in one body: whatever the input (a version with a
# date-like minor, a compatible_* attribute with thousands of values, a
# rule file listing thousands of traits), a provider gets at most this
# many (issue 9, item 10).
MAX_TRAITS_PER_PROVIDER = 256
# One source (one sysfs attribute, one rule) gives at most this many
# traits to a collector, so that nothing builds an unbounded list before
# cap_traits applies.
MAX_PER_SOURCE = MAX_TRAITS_PER_PROVIDER


class TraitCollector(object):
    """trait -> list of sources, with contract normalisation and the
    deprecated aliases of :data:`contract.DEPRECATED_ALIASES`.

    A source gives at most :data:`MAX_PER_SOURCE` trait names: the
    ``add*`` methods return False once it is full (callers looping over a
    range stop there) and :meth:`truncated` names those sources.
    """

    def __init__(self, per_source=MAX_PER_SOURCE):
        self._traits = {}
        self._per_source = per_source
        self._counts = {}
        self._full = []

    def _put(self, name, source):
        if not name:
            return True
        sources = self._traits.get(name)
        if sources is None:
            count = self._counts.get(source, 0)
            if count >= self._per_source:
                if source not in self._full:
                    self._full.append(source)
                return False
            self._counts[source] = count + 1
            sources = self._traits[name] = []
        if source not in sources:
            sources.append(source)
        alias = contract.DEPRECATED_ALIASES.get(name)
        if alias:
            self._put(alias, 'deprecated alias of %s' % name)
        return True

    def add(self, template, source, **values):
        """A ``CUSTOM_`` trait from a contract template."""
        return self._put(names.custom_trait(template.format(**values)),
                         source)

    def add_standard(self, name, source):
        """A standard os-traits name, or ``CUSTOM_`` + it if os-traits
        lacks it."""
        return self._put(names.standard_or_custom(name), source)

    def add_exact(self, name, source):
        return self._put(name, source)

    def add_pci_ids(self, pci):
        """CUSTOM_PCI_VENDOR_* / CUSTOM_PCI_DEVICE_* of a PCI device."""
        if pci is None or not pci.vendor:
            return
        src = 'sysfs PCI ids of %s' % pci.address
        self.add(contract.PCI_VENDOR, src, vendor=pci.vendor)
        if pci.device:
            self.add(contract.PCI_DEVICE, src, vendor=pci.vendor,
                     device=pci.device)

    def truncated(self):
        """Sources that offered more than :data:`MAX_PER_SOURCE` names."""
        return list(self._full)

    def result(self):
        return {k: tuple(v) for k, v in sorted(self._traits.items())}


def cap_traits(traits, limit=MAX_TRAITS_PER_PROVIDER):
    """Bound one provider's ``{trait: sources}`` (pure, deterministic).

    Names that are not valid trait names (:func:`names.is_valid_trait`:
    ``CUSTOM_[A-Z0-9_]+`` of at most 255 characters, or a standard
    os-traits name) are left out. When more than ``limit`` remain, they
    are taken in turns from each source (a trait counts for its first
    source; sources in name order, each source's traits in name order),
    so that one source with many values (version buckets, a long
    ``compatible_*`` list, a big rule) cannot push out the others.

    :returns: (kept ``{trait: sources}`` in name order, invalid names,
        number of valid names left out)
    """
    invalid = sorted(t for t in traits if not names.is_valid_trait(t))
    bad = frozenset(invalid)
    valid = {t: s for t, s in traits.items() if t not in bad}
    if len(valid) <= limit:
        return dict(sorted(valid.items())), invalid, 0
    groups = {}
    for trait in sorted(valid):
        sources = valid[trait]
        groups.setdefault(sources[0] if sources else '', []).append(trait)
    queues = [groups[source] for source in sorted(groups)]
    kept = []
    depth = 0
    while len(kept) < limit:
        for queue in queues:
            if depth < len(queue) and len(kept) < limit:
                kept.append(queue[depth])
        depth += 1
    return ({t: valid[t] for t in sorted(kept)}, invalid,
            len(valid) - len(kept))
