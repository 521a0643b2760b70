"""Map discovered mediated devices to desired providers (pure).

Nothing here does I/O: the input is :class:`mdev_traits.models.DiscoveryResult`
plus the nova-style mdev configuration (:class:`MdevConfig`).
"""

import dataclasses
import re
import typing

from mdev_traits.mapping import collect
from mdev_traits.mapping import contract
from mdev_traits.mapping import names
from mdev_traits.mapping import tree
from mdev_traits.mapping import versions
from mdev_traits import models

# ASCII digits only, and few of them: int() refuses a string of more than
# sys.int_max_str_digits digits, and other scripts' digits are not versions.
_VERSION = re.compile(
    r'^\s*v?([0-9]{1,18})\.([0-9]{1,18})(?![0-9])(?:\.([0-9]+))?',
    re.ASCII)


@dataclasses.dataclass(frozen=True)
class MdevConfig:
    """nova's [devices]/[mdev_<type>] configuration, as plain data."""

    enabled_types: typing.Tuple[str, ...] = ()
    # type -> parent addresses pinned to it
    device_addresses: typing.Tuple[
        typing.Tuple[str, typing.Tuple[str, ...]], ...] = ()
    # type -> resource class
    mdev_classes: typing.Tuple[typing.Tuple[str, str], ...] = ()
    # type -> cap on instances per parent
    max_instances: typing.Tuple[typing.Tuple[str, int], ...] = ()
    # buckets of lower minors per provider ([exporter] max_version_buckets)
    max_version_buckets: int = versions.DEFAULT_MAX_BUCKETS

    def type_for_parent(self, parent_name):
        """The enabled type nova would use on ``parent_name``, or None.

        ``device_addresses`` pin a type to parents; the first enabled type
        without addresses is the default for every other parent.
        """
        wanted = parent_name.lower()
        default = None
        addresses = dict(self.device_addresses)
        for mdev_type in self.enabled_types:
            pinned = [a.lower() for a in addresses.get(mdev_type, ())]
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
    if mdev_type.software_version:
        version_text = mdev_type.software_version
        version_src = 'sysfs %s/software_version' % tdir
    elif pci is not None and pci.driver_version:
        version_text = pci.driver_version
        version_src = 'sysfs module/%s/version' % pci.driver
    else:
        version_text = version_src = None
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


def inventory_for(mdev_type, resource_class, max_instances=None):
    """Inventory of ``mdev_type`` on one parent, or {} when it offers 0.

    total = available instances + mdevs of that type that already exist
    (they are allocated to instances or free to be reused).
    """
    total = max(mdev_type.available_instances, 0) + len(mdev_type.instances)
    if max_instances is not None:
        total = min(total, max_instances)
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


def mdev_providers(discovery, mdev_config, root_name, warnings,
                   known_traits=frozenset()):
    """One desired provider per mdev parent (pure)."""
    providers = []
    for parent in discovery.mdev_parents:
        name = names.device_provider_name(root_name, parent.name,
                                          parent.is_pci)
        type_id = mdev_config.type_for_parent(parent.name)
        mdev_type = parent.get_type(type_id) if type_id else None
        if type_id and mdev_type is None and not parent.partial:
            # The enabled type does not exist on this parent (another
            # GPU model): nova offers nothing there either.
            type_id = None
        traits = {}
        inventories = {}
        rc = None
        partial = parent.partial
        if mdev_type is not None:
            try:
                rc = mdev_config.resource_class(type_id)
                traits = type_traits(parent, mdev_type, warnings,
                                     known_traits,
                                     mdev_config.max_version_buckets)
                inventories = inventory_for(
                    mdev_type, rc, mdev_config.max_instances_for(type_id))
            except Exception as exc:  # noqa: B902 - one parent must not
                # stop the others: its provider is add-only this cycle
                warnings.append(tree.mapping_failed(name, exc))
                traits, inventories, partial = {}, {}, True
        providers.append(tree.DesiredProvider(
            name=name,
            uuid=names.provider_uuid(name),
            parent_device=parent.name,
            mdev_type=type_id if mdev_type is not None else None,
            resource_class=rc,
            inventories=inventories,
            traits=traits,
            partial=partial,
            kind=models.KIND_MDEV,
        ))
    return providers
