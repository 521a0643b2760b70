"""Collect traits with where each came from (for ``--dry-run``)."""

from mdev_traits.mapping import contract
from mdev_traits.mapping import names


class TraitCollector(object):
    """trait -> list of sources, with contract normalisation and the
    deprecated aliases of :data:`contract.DEPRECATED_ALIASES`."""

    def __init__(self):
        self._traits = {}

    def _put(self, name, source):
        if not name:
            return
        sources = self._traits.setdefault(name, [])
        if source not in sources:
            sources.append(source)
        alias = contract.DEPRECATED_ALIASES.get(name)
        if alias:
            self._put(alias, 'deprecated alias of %s' % name)

    def add(self, template, source, **values):
        """A ``CUSTOM_`` trait from a contract template."""
        self._put(names.custom_trait(template.format(**values)), source)

    def add_standard(self, name, source):
        """A standard os-traits name, or ``CUSTOM_`` + it if os-traits
        lacks it."""
        self._put(names.standard_or_custom(name), source)

    def add_exact(self, name, source):
        self._put(name, source)

    def add_pci_ids(self, pci):
        """CUSTOM_PCI_VENDOR_* / CUSTOM_PCI_DEVICE_* of a PCI device."""
        if pci is None or not pci.vendor:
            return
        src = 'sysfs PCI ids of %s' % pci.address
        self.add(contract.PCI_VENDOR, src, vendor=pci.vendor)
        if pci.device:
            self.add(contract.PCI_DEVICE, src, vendor=pci.vendor,
                     device=pci.device)

    def result(self):
        return {k: tuple(v) for k, v in sorted(self._traits.items())}
