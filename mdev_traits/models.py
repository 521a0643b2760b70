"""Plain data returned by discovery and consumed by mapping.

Discovery sources (``mdev_traits.discovery.*``) do the I/O and return these
dataclasses; the mapping layer (``mdev_traits.mapping``) turns them into the
desired provider tree without any I/O.
"""

import dataclasses
import typing


@dataclasses.dataclass(frozen=True)
class PciInfo:
    """What sysfs says about a PCI device (all ids lower-case hex, no 0x)."""

    address: str                      # "0000:3b:00.0"
    vendor: typing.Optional[str] = None      # "10de"
    device: typing.Optional[str] = None      # "1eb8"
    subsystem_vendor: typing.Optional[str] = None
    subsystem_device: typing.Optional[str] = None
    pci_class: typing.Optional[str] = None   # "030000"
    numa_node: typing.Optional[int] = None   # None when -1 / unknown
    driver: typing.Optional[str] = None      # name of the ``driver`` link
    driver_version: typing.Optional[str] = None  # module/<driver>/version
    # why module/<driver>/version exists but could not be read (then
    # driver_version is None): it costs the version traits only, and the
    # device's provider gets traits added, none removed, this cycle
    driver_version_error: typing.Optional[str] = None


@dataclasses.dataclass(frozen=True)
class TypeDescription:
    """What a GPU type's own text says, parsed by discovery
    (:mod:`mdev_traits.discovery.gpu_description`): the mdev type's
    ``description`` (NVIDIA ``num_heads=4, frl_config=60,
    framebuffer=2048M, max_resolution=5120x2880``; Intel GVT-g
    ``low_gm_size``/``high_gm_size``/``resolution``) and the NVIDIA vGPU
    type name (``GRID T4-2Q``: 2 GiB).

    A value is None when the text does not give it; ``problems`` names each
    field that is there but not understood (``num_heads=²``): that field
    only is left out, and the GPU's provider gets traits added, none
    removed, for the cycle.
    """

    display_heads: typing.Optional[int] = None
    # (width, height)
    max_resolution: typing.Optional[typing.Tuple[int, int]] = None
    # from the description (framebuffer, or low_gm_size + high_gm_size)
    framebuffer_mb: typing.Optional[int] = None
    # from the NVIDIA vGPU type name (-<GB><series>), whatever the vendor:
    # whether it applies is the mapping's decision
    name_framebuffer_mb: typing.Optional[int] = None
    problems: typing.Tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class MdevType:
    """One ``mdev_supported_types/<type>`` directory of a parent."""

    type_id: str                      # directory name, e.g. "nvidia-231"
    name: typing.Optional[str] = None
    description: typing.Optional[str] = None
    available_instances: int = 0
    device_api: typing.Optional[str] = None
    software_version: typing.Optional[str] = None
    compatible_type: typing.Tuple[str, ...] = ()
    # compatible_<field> -> values, field lower-case as in sysfs
    compatible: typing.Tuple[
        typing.Tuple[str, typing.Tuple[str, ...]], ...] = ()
    dynamic_resources: typing.Tuple[str, ...] = ()
    # UUIDs of mdevs of this type that exist on this parent
    instances: typing.Tuple[str, ...] = ()
    # ``description`` and ``name`` parsed (discovery fills it)
    description_fields: TypeDescription = TypeDescription()

    @property
    def compatible_map(self):
        return dict(self.compatible)


@dataclasses.dataclass(frozen=True)
class MdevParent:
    """A device registered with the mdev bus (``class/mdev_bus/<name>``)."""

    name: str                         # sysfs name: "0000:3b:00.0", "matrix"
    bus: typing.Optional[str] = None  # "pci", "css", "matrix", "virtual"
    pci: typing.Optional[PciInfo] = None
    types: typing.Tuple[MdevType, ...] = ()
    # True when the parent could not be read completely: mapping must not
    # derive removals from it (the reconciler leaves its provider alone).
    partial: bool = False
    # types listed in mdev_supported_types but not read, because the
    # collector was told to read only the enabled ones
    unread_type_ids: typing.Tuple[str, ...] = ()
    # the device's subsystem (the last part of its ``subsystem`` link:
    # "pci", "css", "matrix", or the class of a class device such as
    # "mtty"): with ``name`` it makes libvirt's node-device name
    subsystem: typing.Optional[str] = None
    # types whose directory exists but whose attributes could not be read
    # (garbage, vanished meanwhile): offered, but not described this cycle
    damaged_type_ids: typing.Tuple[str, ...] = ()

    @property
    def type_ids(self):
        """Every type the parent offers, read, unread or damaged."""
        return tuple(sorted({t.type_id for t in self.types}
                            | set(self.unread_type_ids)
                            | set(self.damaged_type_ids)))

    @property
    def is_pci(self):
        return self.pci is not None

    def get_type(self, type_id):
        for t in self.types:
            if t.type_id == type_id:
                return t
        return None


# The vdpa bus driver that hands a vDPA device to user space (QEMU) through
# a /dev/vhost-vdpa-N character device; ``virtio_vdpa`` binds it to the
# host's own virtio drivers instead.
VDPA_DRIVER_VHOST = 'vhost_vdpa'
VDPA_DRIVER_VIRTIO = 'virtio_vdpa'


@dataclasses.dataclass(frozen=True)
class VdpaDevice:
    """A vDPA device (``bus/vdpa/devices/<name>`` plus what iproute2's
    ``vdpa`` tool reports about it, see mdev_traits.discovery.vdpa).

    Numbers are None when the kernel or the tool does not report them.
    Feature names are as the ``vdpa`` tool prints them (``MQ``,
    ``VERSION_1``, ``RING_PACKED``; a bit the tool has no name for is
    ``bit_<n>``).
    """

    name: str                                  # "vdpa0"
    device_type: typing.Optional[str] = None   # virtio class: "net", "block"
    mgmtdev: typing.Optional[str] = None       # "pci/0000:3b:00.2"
    # driver of the management device ("mlx5_core", "ifcvf"), or the name
    # of a management device that is not on a bus ("vdpasim_net")
    mgmtdev_driver: typing.Optional[str] = None
    driver: typing.Optional[str] = None        # vdpa bus driver bound
    vhost_dev: typing.Optional[str] = None     # "vhost-vdpa-0"
    vendor_id: typing.Optional[int] = None     # decimal, as reported
    max_vqs: typing.Optional[int] = None
    max_vq_size: typing.Optional[int] = None
    max_vq_pairs: typing.Optional[int] = None
    mtu: typing.Optional[int] = None
    mac: typing.Optional[str] = None
    # the device's own features (``bit_<n>``), only when the kernel reported
    # them (netlink VDPA_ATTR_DEV_FEATURES); ``features_source`` says where
    # they were read, ``features_unknown`` why they are not known (then
    # none is published: never the management device's upper bound)
    supported_features: typing.Tuple[str, ...] = ()
    features_source: typing.Optional[str] = None
    features_unknown: typing.Optional[str] = None
    # what the management device allows (mgmtdev show dev_features): an
    # upper bound a device may offer only part of; shown, never published
    mgmtdev_features: typing.Tuple[str, ...] = ()
    negotiated_features: typing.Tuple[str, ...] = ()
    parent: typing.Optional[str] = None        # sysfs name of the parent
    # the closest PCI device above the vDPA device (a VF, a PF, or the PF
    # of a scalable function) and its physical function when it is a VF
    pci: typing.Optional[PciInfo] = None
    physfn: typing.Optional[str] = None
    # network interfaces of the physical function (``physfn/net/*``, or
    # ``net/*`` of the PCI device itself when it is not a VF)
    pf_netdevs: typing.Tuple[str, ...] = ()
    # not every attribute could be read: add traits, remove nothing
    partial: bool = False
    # what the tool or kernel could not say (an older iproute2), for
    # --dry-run
    notes: typing.Tuple[str, ...] = ()

    @property
    def usable_by_vms(self):
        """Bound to vhost_vdpa with its character device present."""
        return (self.driver == VDPA_DRIVER_VHOST
                and self.vhost_dev is not None)


# -- GPU sources (DiscoveryResult.gpu_infos, DiscoveryResult.pci_gpus) ------

@dataclasses.dataclass(frozen=True)
class GpuInfo:
    """What a capability source (NVML) says about one physical GPU."""

    address: str                      # PF address as sysfs names it
    source: str                       # "nvml"
    name: typing.Optional[str] = None  # "NVIDIA H100 PCIe"
    vendor: typing.Optional[str] = None
    device: typing.Optional[str] = None
    # (major, minor), e.g. (9, 0)
    cuda_compute_capability: typing.Optional[typing.Tuple[int, int]] = None
    memory_mb: typing.Optional[int] = None
    driver_version: typing.Optional[str] = None
    # SR-IOV virtual functions of this GPU (sysfs virtfnN links): an mdev
    # parent or a vGPU VF among them is a slice of this GPU
    virtual_functions: typing.Tuple[str, ...] = ()


# PciGpu.mode
GPU_MODE_VGPU_VF = 'vgpu-vf'
GPU_MODE_PASSTHROUGH = 'passthrough'


@dataclasses.dataclass(frozen=True)
class PciGpu:
    """A GPU PCI function that nova schedules with PCI in Placement.

    ``vgpu-vf``: an SR-IOV VF carrying an NVIDIA vGPU without the mdev
    bus (``<vf>/nvidia/creatable_vgpu_types``, ``current_vgpu_type``);
    ``passthrough``: a whole GPU bound to vfio-pci.
    """

    pci: PciInfo
    mode: str                         # GPU_MODE_*
    physfn: typing.Optional[str] = None   # PF address of a VF
    # (id, name) the VF can take now, from nvidia/creatable_vgpu_types
    creatable_vgpu_types: typing.Tuple[typing.Tuple[int, str], ...] = ()
    # (id, name or None) from nvidia/current_vgpu_type; None when 0 (unset)
    current_vgpu_type: typing.Optional[
        typing.Tuple[int, typing.Optional[str]]] = None
    # the name of current_vgpu_type parsed (discovery fills it)
    current_type_fields: TypeDescription = TypeDescription()

    @property
    def address(self):
        return self.pci.address


# Kinds of hardware; a discovery source reports the kinds it covers as
# incomplete when it failed, so that only those providers are kept as they
# are (never removed) for that cycle.
KIND_MDEV = 'mdev'
KIND_VDPA = 'vdpa'
KIND_GPU = 'gpu'
ALL_KINDS = frozenset((KIND_MDEV, KIND_VDPA, KIND_GPU))


@dataclasses.dataclass(frozen=True)
class DiscoveryResult:
    """Everything one cycle of discovery found.

    Each collector fills the fields of the kinds it covers; results are
    merged field by field (tuples are concatenated).

    ``complete`` is False when a source failed as a whole (for example the
    mdev bus directory could not be listed): the reconciler then removes
    nothing of that source's kind (``incomplete`` names the kinds; a
    result with ``complete=False`` and no ``incomplete`` kind counts as
    incomplete for every kind).
    """

    mdev_parents: typing.Tuple[MdevParent, ...] = ()
    # filled by the vdpa source (mdev_traits.discovery.vdpa)
    vdpa_devices: typing.Tuple[VdpaDevice, ...] = ()
    # physical GPUs as a capability source (NVML) reports them
    gpu_infos: typing.Tuple[GpuInfo, ...] = ()
    # GPU functions nova schedules with PCI in Placement (the vgpu_vf
    # source: vGPU VFs and whole GPUs bound to vfio-pci)
    pci_gpus: typing.Tuple[PciGpu, ...] = ()
    complete: bool = True
    incomplete: typing.FrozenSet[str] = frozenset()
    errors: typing.Tuple[str, ...] = ()
    # False when the tree read does not look like sysfs at all
    # (discovery.root): nothing found or missed may justify a withdrawal,
    # not even of a trait on a device that was found
    trusted: bool = True

    def kind_complete(self, kind):
        if kind in self.incomplete:
            return False
        return self.complete or bool(self.incomplete)


def merge_results(results):
    """Merge the results of several collectors into one."""
    fields = {}
    complete = True
    incomplete = set()
    errors = []
    trusted = True
    for result in results:
        trusted = trusted and result.trusted
        for field in dataclasses.fields(DiscoveryResult):
            if field.name in ('complete', 'incomplete', 'errors',
                              'trusted'):
                continue
            fields.setdefault(field.name, []).extend(
                getattr(result, field.name))
        if not result.complete and not result.incomplete:
            # a source that did not say which kinds: all are suspect
            incomplete.update(ALL_KINDS)
        incomplete.update(result.incomplete)
        complete = complete and result.complete
        errors.extend(result.errors)
    return DiscoveryResult(complete=complete and not incomplete,
                           incomplete=frozenset(incomplete),
                           errors=tuple(errors), trusted=trusted,
                           **{k: tuple(v) for k, v in fields.items()})
