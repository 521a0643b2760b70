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

    @property
    def compatible_map(self):
        return dict(self.compatible)


@dataclasses.dataclass(frozen=True)
class MdevParent:
    """A device registered with the mdev bus (``class/mdev_bus/<name>``)."""

    name: str                         # sysfs name: "0000:3b:00.0", "matrix"
    bus: typing.Optional[str] = None  # "pci", "css", "ap", "virtual", ...
    pci: typing.Optional[PciInfo] = None
    types: typing.Tuple[MdevType, ...] = ()
    # True when the parent could not be read completely: mapping must not
    # derive removals from it (the reconciler leaves its provider alone).
    partial: bool = False

    @property
    def is_pci(self):
        return self.pci is not None

    def get_type(self, type_id):
        for t in self.types:
            if t.type_id == type_id:
                return t
        return None


@dataclasses.dataclass(frozen=True)
class DiscoveryResult:
    """Everything one cycle of discovery found.

    ``complete`` is False when a source failed as a whole (for example the
    mdev bus directory could not be listed): the reconciler then removes
    nothing at all.
    """

    mdev_parents: typing.Tuple[MdevParent, ...] = ()
    complete: bool = True
    errors: typing.Tuple[str, ...] = ()
