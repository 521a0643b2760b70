"""Trait contract v2, as data.

Operators put these names in flavors (``trait:CUSTOM_...=required``): they
are a public API. Never rename a template; to change one, publish the old
and the new name side by side for at least one release (see
``DEPRECATED_ALIASES``). v2 is the first released contract: the
unreleased v1 published every version bucket from 0 and every capability
ladder from its lowest level (223 traits on a T4-2Q under 535.129); v2
publishes buckets from the fleet (:mod:`mdev_traits.mapping.versions`),
ladders from a floor (:mod:`mdev_traits.mapping.floors`), at most
:data:`mdev_traits.mapping.budget.DEFAULT_MAX_TRAITS` per GPU provider.

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
# "Bucket" per minor version of the driver: a destination is compatible
# when its major equals the source's and its minor is not lower, so a
# workload at M.m requires MDEV_SWVER_<D>_<M>_<m> and every host at M.m'
# with m' >= m has it: its own minor's, and those of the lower minors
# whose trait exists in Placement (a host ran it, or an operator created
# it), at most [exporter] max_version_buckets of them.
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
    'CUSTOM_VDPA_',
    'CUSTOM_VIRTIO_',
)

# -- vDPA devices (mdev_traits.mapping.vdpa), on their own providers -------

# virtio device type as the vdpa tool names the class: net, block.
VDPA_TYPE = 'VDPA_TYPE_{type}'
# Driver of the vDPA management device (mlx5_core, ifcvf), or the name of
# a management device that is on no bus (vdpasim_net).
VDPA_MGMTDEV_DRIVER = 'VDPA_MGMTDEV_DRIVER_{driver}'
# "At least" levels: one per power of two k <= the maximum, plus the
# maximum itself, so that requiring the level L matches every device whose
# maximum is >= L when L is a power of two, and exactly the devices whose
# maximum is L otherwise (see the README for the rule flavors follow).
VDPA_MAX_VQ_PAIRS = 'VDPA_MAX_VQ_PAIRS_{level}'
VDPA_MAX_VQ_SIZE = 'VDPA_MAX_VQ_SIZE_{level}'
# One per offered virtio feature: CUSTOM_<feature name in the virtio
# specification> (VIRTIO_F_*, VIRTIO_NET_F_*, VIRTIO_BLK_F_*), from the
# table in mdev_traits.mapping.vdpa_data.
VIRTIO_FEATURE = '{name}'
# neutron's own trait names (neutron_lib.placement.utils physnet_trait and
# vnic_type_trait: os_traits.normalize_name(prefix + value), which adds
# CUSTOM_; prefixes from neutron_lib.placement.constants), published for
# [vdpa] physical_device_mappings: CUSTOM_PHYSNET_<PHYSNET> and
# CUSTOM_VNIC_TYPE_VDPA. They are not reserved: neutron agents set them
# on their providers too.
NEUTRON_PHYSNET_PREFIX = 'PHYSNET_'
NEUTRON_VNIC_TYPE_PREFIX = 'VNIC_TYPE_'
NEUTRON_VNIC_TYPE_VDPA = 'vdpa'
# Resource class of a vDPA device when [vdpa] resource_class is not set
# ({type} is the upper-case device type: CUSTOM_VDPA_NET).
VDPA_DEFAULT_RESOURCE_CLASS = 'CUSTOM_VDPA_{type}'

# old trait -> new trait, emitted side by side during a deprecation period.
DEPRECATED_ALIASES = {}

# Resource class of a type when its [mdev_<type>] mdev_class is not set.
DEFAULT_RESOURCE_CLASS = 'VGPU'
