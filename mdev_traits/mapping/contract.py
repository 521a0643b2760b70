"""Trait contract v1, as data.

Operators put these names in flavors (``trait:CUSTOM_...=required``): they
are a public API. Never rename a template; to change one, publish the old
and the new name side by side for at least one release (see
``DEPRECATED_ALIASES``).

Each template is formatted with the discovered values and then normalised
with :func:`mdev_traits.mapping.names.custom_trait` (upper-case, runs of
other characters than A-Z0-9 become ``_``).
"""

# The enabled mdev type on the parent, e.g. nvidia-231.
MDEV_TYPE = 'MDEV_TYPE_{type_id}'
# device_api of that type (vfio-pci, vfio-ccw, vfio-ap, ...): exact match.
MDEV_DEVICE_API = 'MDEV_DEVICE_API_{device_api}'
# PCI ids of the parent device.
PCI_VENDOR = 'PCI_VENDOR_{vendor}'
PCI_DEVICE = 'PCI_DEVICE_{vendor}_{device}'
# Cumulative "bucket" per minor version of the driver: a destination is
# compatible when its major equals the source's and its minor is not lower,
# so a workload at M.m requires MDEV_SWVER_<D>_<M>_<m> and every host at
# M.m' with m' >= m has it.
MDEV_SWVER = 'MDEV_SWVER_{driver}_{major}_{minor}'
# One per value of a compatible_<field> attribute: the destination must
# cover (be a superset of) the source's values.
MDEV_COMPAT = 'MDEV_COMPAT_{field}_{value}'

# Prefixes no one but the exporter should use: when the state file that
# records what the exporter set is lost, traits with these prefixes are
# taken as the exporter's own.
RESERVED_PREFIXES = (
    'CUSTOM_MDEV_',
    'CUSTOM_PCI_VENDOR_',
    'CUSTOM_PCI_DEVICE_',
)

# old trait -> new trait, emitted side by side during a deprecation period.
DEPRECATED_ALIASES = {}

# Resource class of a type when its [mdev_<type>] mdev_class is not set.
DEFAULT_RESOURCE_CLASS = 'VGPU'
