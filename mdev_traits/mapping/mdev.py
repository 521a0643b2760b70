"""Map discovered mediated devices to desired providers (pure): the mdev
kind of hardware (:func:`kind`).

Nothing here does I/O: the input is :class:`mdev_traits.models.DiscoveryResult`
plus the nova-style mdev configuration (:class:`MdevConfig`).
"""

import dataclasses
import re
import typing

from mdev_traits.mapping import collect
from mdev_traits.mapping import contract
from mdev_traits.mapping import desired
from mdev_traits.mapping import kinds
from mdev_traits.mapping import names
from mdev_traits.mapping import versions
from mdev_traits import models

# ASCII digits only, and few of them: int() refuses a string of more than
# sys.int_max_str_digits digits, and other scripts' digits are not versions.
_VERSION = re.compile(
    r'^\s*v?([0-9]{1,18})\.([0-9]{1,18})(?![0-9])(?:\.([0-9]+))?',
    re.ASCII)


# nova/pci/utils.py _PCI_ADDRESS_PATTERN, as nova's parse_address() uses it
# (its "." is not escaped: it matches any character).
NOVA_PCI_ADDRESS = re.compile(
    r'^([\da-fA-F]{4}):([\da-fA-F]{2}):([\da-fA-F]{2}).([0-7])$')


def is_nova_pci_address(address):
    """Whether nova's pci_utils.parse_address() accepts ``address``."""
    return NOVA_PCI_ADDRESS.match(address) is not None


def nova_device_address(libvirt_name, virtual_addresses=()):
    """The address nova keys a parent by in ``[mdev_<type>]
    device_addresses``, or None when nova cannot use the parent.

    nova/virt/libvirt/driver.py LibvirtDriver._get_device_address(): a
    virtual parent named in device_addresses (``mtty_mtty``) keeps its
    libvirt name; any other libvirt name is read as
    ``pci_<domain>_<bus>_<slot>_<function>`` ("{}:{}:{}.{}".format() of
    the parts after the first four characters, extra parts ignored) and
    must pass parse_address(); otherwise (``css_0_0_0313``, ``ap_matrix``,
    an mtty not named in device_addresses) there is none.
    """
    if libvirt_name in virtual_addresses:
        return libvirt_name
    parts = libvirt_name[4:].split('_')
    if len(parts) < 4:
        return None
    address = '{}:{}:{}.{}'.format(*parts)
    return address if is_nova_pci_address(address) else None


@dataclasses.dataclass(frozen=True)
class MdevConfig:
    """nova's [devices]/[mdev_<type>] configuration, as plain data."""

    enabled_types: typing.Tuple[str, ...] = ()
    # type -> parent addresses pinned to it, as written
    device_addresses: typing.Tuple[
        typing.Tuple[str, typing.Tuple[str, ...]], ...] = ()
    # type -> resource class
    mdev_classes: typing.Tuple[typing.Tuple[str, str], ...] = ()
    # type -> cap on the instances of that type on the whole host
    max_instances: typing.Tuple[typing.Tuple[str, int], ...] = ()
    # True: device_addresses name parents by their sysfs name and any
    # parent may get a type (the requirements command describes any mdev,
    # whether nova could use its parent or not)
    any_parent: bool = False
    # buckets of lower minors per provider ([exporter] max_version_buckets)
    max_version_buckets: int = versions.DEFAULT_MAX_BUCKETS

    @property
    def virtual_addresses(self):
        """device_addresses that are not PCI addresses: nova takes them
        as virtual parents (LibvirtDriver._validate_device_address adds
        them to virtual_mdevs once it finds them under
        /sys/devices/virtual)."""
        return frozenset(a for _t, addrs in self.device_addresses
                         for a in addrs if not is_nova_pci_address(a))

    def type_for_parent(self, parent):
        """The enabled type nova would use on ``parent`` (an
        :class:`~mdev_traits.models.MdevParent`), or None.

        nova/virt/libvirt/driver.py LibvirtDriver._get_vgpu_type_per_pgpu:
        the type whose device_addresses hold the parent's address
        (compared as written, so ``0000:3B:00.0`` never matches), else the
        first enabled type without device_addresses
        (_get_supported_vgpu_types: pgpu_type_default) - but only for a
        parent libvirt lists (names.LIBVIRT_MDEV_PARENT_SUBSYSTEMS) and
        that has an address for nova (:func:`nova_device_address`).
        """
        if self.any_parent:
            wanted = parent.name
        else:
            if subsystem(parent) not in names.LIBVIRT_MDEV_PARENT_SUBSYSTEMS:
                return None
            wanted = nova_device_address(
                libvirt_name(parent), self.virtual_addresses)
            if wanted is None:
                return None
        default = None
        for mdev_type in self.enabled_types:
            pinned = dict(self.device_addresses).get(mdev_type, ())
            if wanted in pinned:
                return mdev_type
            if not pinned and default is None:
                default = mdev_type
        return default

    def resource_class(self, mdev_type):
        return dict(self.mdev_classes).get(
            mdev_type, contract.DEFAULT_RESOURCE_CLASS)

    def max_instances_for(self, mdev_type):
        return dict(self.max_instances).get(mdev_type)


def subsystem(parent):
    """The parent's subsystem (its bus when discovery did not record it:
    a bus device's subsystem is its bus)."""
    if parent.subsystem:
        return parent.subsystem
    return parent.bus if parent.bus != 'virtual' else None


def libvirt_name(parent):
    """libvirt's node-device name of an mdev parent."""
    return names.libvirt_node_device_name(subsystem(parent), parent.name)


def parse_version(value):
    """(major, minor) of an M.m[.p] version string, or None."""
    if not value:
        return None
    match = _VERSION.match(value)
    if not match:
        return None
    return int(match.group(1)), int(match.group(2))


def driver_name(parent, mdev_type):
    """Name of the parent's driver.

    The ``driver`` link of a PCI parent when known; otherwise the prefix of
    the type id, since the kernel names types ``<driver>-<group>``
    (drivers/vfio/mdev/mdev_sysfs.c: ``dev_driver_string(parent) + "-"``).
    """
    if parent.pci is not None and parent.pci.driver:
        return parent.pci.driver
    if '-' in mdev_type.type_id:
        return mdev_type.type_id.split('-', 1)[0]
    return None


def version_of(parent, mdev_type):
    """(version text, where it was read) of ``mdev_type`` on ``parent``:
    the type's ``software_version``, else the version of the parent's
    driver module; (None, None) when there is neither."""
    if mdev_type.software_version:
        return mdev_type.software_version, (
            'sysfs class/mdev_bus/%s/mdev_supported_types/%s/'
            'software_version' % (parent.name, mdev_type.type_id))
    pci = parent.pci
    if pci is not None and pci.driver_version:
        return pci.driver_version, 'sysfs module/%s/version' % pci.driver
    return None, None


def compatible_type_traits(mdev_type):
    """The traits that only ``compatible_type`` gives ``mdev_type``
    (``CUSTOM_MDEV_COMPAT_TYPE_*``, unless a compatible_<field> gives the
    same name)."""
    def traits(pairs):
        collector = collect.TraitCollector()
        for field, values in pairs:
            for value in values:
                collector.add(contract.MDEV_COMPAT, 'compatible_%s' % field,
                              field=field, value=value)
        return set(collector.result())
    return frozenset(traits([('type', mdev_type.compatible_type)])
                     - traits(mdev_type.compatible))


def type_traits(parent, mdev_type, warnings, known_traits=frozenset(),
                max_buckets=versions.DEFAULT_MAX_BUCKETS):
    """Traits of ``mdev_type`` enabled on ``parent`` (trait contract v2).

    ``known_traits``: the version bucket traits that exist in Placement
    (:mod:`mdev_traits.mapping.versions`).
    """
    traits = collect.TraitCollector()
    tdir = 'class/mdev_bus/%s/mdev_supported_types/%s' % (
        parent.name, mdev_type.type_id)
    traits.add(contract.MDEV_TYPE, 'enabled type %s ([devices] '
               'enabled_mdev_types)' % mdev_type.type_id,
               type_id=mdev_type.type_id)
    if mdev_type.device_api:
        traits.add(contract.MDEV_DEVICE_API, 'sysfs %s/device_api' % tdir,
                   device_api=mdev_type.device_api)
    pci = parent.pci
    traits.add_pci_ids(pci)

    driver = driver_name(parent, mdev_type)
    version_text, version_src = version_of(parent, mdev_type)
    if version_text is not None:
        version = parse_version(version_text)
        if version is None:
            warnings.append('%s: version %r is not M.m[.p]; no version '
                            'trait published' % (version_src, version_text))
        elif driver is None:
            warnings.append('%s: driver of %s unknown; no version trait '
                            'published' % (version_src, parent.name))
        else:
            major, minor = version
            why = '%s = %s' % (version_src, version_text)
            for name in versions.bucket_traits(
                    driver, major, minor, known_traits, max_buckets,
                    warnings):
                traits.add_exact(name, why if name == versions.bucket(
                    driver, major, minor) else '%s; bucket in Placement '
                    '(a host ran it or an operator created it)' % why)

    compat = list(mdev_type.compatible)
    if mdev_type.compatible_type:
        compat.insert(0, ('type', mdev_type.compatible_type))
    for field, values in compat:
        for value in values:
            if not traits.add(contract.MDEV_COMPAT,
                              'sysfs %s/compatible_%s' % (tdir, field),
                              field=field, value=value):
                break
    for source in traits.truncated():
        warnings.append('mdev parent %s: %s gives more than %d traits; '
                        'only the first %d are kept' % (
                            parent.name, source, collect.MAX_PER_SOURCE,
                            collect.MAX_PER_SOURCE))
    return traits.result()


def inventory(total, resource_class):
    """Inventory of ``total`` instances, or {} when it is 0."""
    if total <= 0:
        return {}
    return {resource_class: {
        'total': total,
        'reserved': 0,
        'min_unit': 1,
        'max_unit': total,
        'step_size': 1,
        'allocation_ratio': 1.0,
    }}


def host_totals(chosen, mdev_config):
    """{parent name: total} for ``chosen`` [(parent, type id, MdevType)].

    nova/virt/libvirt/driver.py LibvirtDriver._get_gpu_inventories:
    ``[mdev_<type>] max_instances`` caps the type on the whole host. The
    existing mdevs of every parent count first; then the parents are taken
    in turn and one whose available instances would take the type over
    the limit gets a total of 0 (no inventory, even for its existing
    mdevs), the others existing + available. nova takes the parents in
    libvirt's listing order, which libvirt does not define; here they are
    taken in the order of their libvirt names, so that the same parents
    get inventory every cycle.
    """
    used = {}
    for _parent, type_id, mdev_type in chosen:
        used[type_id] = used.get(type_id, 0) + len(mdev_type.instances)
    totals = {}
    for parent, type_id, mdev_type in sorted(
            chosen, key=lambda c: libvirt_name(c[0])):
        available = max(mdev_type.available_instances, 0)
        limit = mdev_config.max_instances_for(type_id)
        if limit and used[type_id] + available > limit:
            totals[parent.name] = 0
            continue
        used[type_id] += available
        totals[parent.name] = len(mdev_type.instances) + available
    return totals


def mdev_providers(discovery, mdev_config, root_name, warnings,
                   known_traits=frozenset()):
    """One desired provider per mdev parent (pure)."""
    chosen = []
    for parent in discovery.mdev_parents:
        type_id = mdev_config.type_for_parent(parent)
        mdev_type = parent.get_type(type_id) if type_id else None
        # The enabled type does not exist on this parent (another GPU
        # model): nova offers nothing there either.
        if mdev_type is not None:
            chosen.append((parent, type_id, mdev_type))
    totals = host_totals(chosen, mdev_config)
    by_parent = {c[0].name: c for c in chosen}
    providers = []
    for parent in discovery.mdev_parents:
        name = names.device_provider_name(root_name, libvirt_name(parent))
        traits = {}
        inventories = {}
        rc = type_id = None
        partial = parent.partial
        if parent.name in by_parent:
            _parent, type_id, mdev_type = by_parent[parent.name]
            try:
                rc = mdev_config.resource_class(type_id)
                traits = type_traits(parent, mdev_type, warnings,
                                     known_traits,
                                     mdev_config.max_version_buckets)
                inventories = inventory(totals[parent.name], rc)
            except Exception as exc:  # noqa: B902 - one parent must not
                # stop the others: its provider is add-only this cycle
                warnings.append(desired.mapping_failed(name, exc))
                traits, inventories, partial = {}, {}, True
        providers.append(desired.DesiredProvider(
            name=name,
            uuid=names.provider_uuid(name),
            parent_device=parent.name,
            mdev_type=type_id,
            resource_class=rc,
            inventories=inventories,
            traits=traits,
            partial=partial,
            kind=models.KIND_MDEV,
        ))
    return providers


def kind(mdev_config, enrichers=()):
    """The mdev kind (:class:`~mdev_traits.mapping.kinds.HardwareKind`):
    one provider per mdev parent, as nova's ``mdev_config`` makes it
    (:func:`mdev_providers`), then ``enrichers`` over them (GPU
    capabilities, :func:`mdev_traits.mapping.gpu.make_enricher`; the trait
    budget, :func:`mdev_traits.mapping.budget.make_limiter`)."""
    def mdev_kind_providers(discovery, root_name, warnings, known_traits):
        return mdev_providers(discovery, mdev_config, root_name, warnings,
                              known_traits)
    return kinds.HardwareKind(name=models.KIND_MDEV,
                              providers=mdev_kind_providers,
                              enrichers=tuple(enrichers))
