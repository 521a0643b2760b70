"""PCI GPUs for nova's ``[pci] device_spec`` (pure): the kind of
hardware of vGPU VFs and whole GPUs bound to vfio-pci (:func:`kind`).

GPUs nova schedules with PCI in Placement (vGPU on SR-IOV VFs, whole-GPU
passthrough) get their provider traits from nova itself, out of the
``traits`` of their ``device_spec`` entry: :func:`device_spec_entries`
gives those entries, with the capabilities resolved by
:func:`mdev_traits.mapping.gpu_resolve.resolve` (``mdev-traits-exporter
device-spec``).
"""

import dataclasses
import typing

from mdev_traits.mapping import collect
from mdev_traits.mapping import floors as floors_mod
from mdev_traits.mapping import gpu_contract
from mdev_traits.mapping import gpu_resolve
from mdev_traits.mapping import gpu_rules
from mdev_traits.mapping import kinds
from mdev_traits.mapping import names
from mdev_traits import models


@dataclasses.dataclass(frozen=True)
class DeviceSpecEntry:
    """What nova's ``[pci] device_spec`` needs for one PCI GPU function.

    ``spec`` is None for a device that cannot be offered now (a VF without
    a vGPU type); ``note`` says what it is or why it is left out.
    """

    address: str
    note: str
    spec: typing.Optional[typing.Dict[str, str]] = None
    traits: typing.Dict[str, typing.Tuple[str, ...]] = dataclasses.field(
        default_factory=dict)


def pci_gpu_target(gpu, gpu_info=None):
    """:class:`~mdev_traits.mapping.gpu_resolve.GpuTarget` of a
    :class:`mdev_traits.models.PciGpu`, or None for a VF without a vGPU
    type."""
    pci = gpu.pci
    physical = gpu.physfn or pci.address
    if gpu_info is not None:
        physical = gpu_info.address
    if gpu.mode == models.GPU_MODE_VGPU_VF:
        if gpu.current_vgpu_type is None:
            return None
        type_id, type_name = gpu.current_vgpu_type
        return gpu_resolve.GpuTarget(
            kind=gpu_rules.KIND_VGPU_VF, address=pci.address,
            physical_address=physical, vendor=pci.vendor,
            device=pci.device, driver=pci.driver,
            type_id=str(type_id), type_name=type_name,
            description=gpu.current_type_fields)
    return gpu_resolve.GpuTarget(
        kind=gpu_rules.KIND_PASSTHROUGH, address=pci.address,
        physical_address=physical, vendor=pci.vendor,
        device=pci.device, driver=pci.driver)


def vgpu_resource_class(type_id, type_name):
    """Resource class for VFs carrying one vGPU type (nova normalises it
    the same way): ``NVIDIA H200X-1-18C`` -> ``CUSTOM_NVIDIA_H200X_1_18C``.
    """
    return names.custom_trait(type_name or 'NVIDIA_VGPU_%s' % type_id)


def device_spec_entries(discovery, rule_set, warnings=None,
                        floors=floors_mod.DEFAULT):
    """One :class:`DeviceSpecEntry` per vGPU VF and passthrough GPU."""
    warnings = [] if warnings is None else warnings
    gpus = gpu_resolve.gpu_index(discovery)
    entries = []
    for gpu in sorted(discovery.pci_gpus, key=lambda g: g.address):
        pci = gpu.pci
        gpu_info = gpus.get(pci.address) or gpus.get(gpu.physfn or '')
        target = pci_gpu_target(gpu, gpu_info)
        if target is None:
            entries.append(DeviceSpecEntry(
                address=pci.address,
                note='SR-IOV VF of %s without a vGPU type '
                     '(nvidia/current_vgpu_type is 0): left out' % (
                         gpu.physfn or 'an unknown GPU')))
            continue
        resolved = gpu_resolve.resolve(target, rule_set, gpu_info,
                                       warnings, floors)
        spec = {}
        if pci.vendor:
            spec['vendor_id'] = pci.vendor
        if pci.device:
            spec['product_id'] = pci.device
        spec['address'] = pci.address
        if gpu.mode == models.GPU_MODE_VGPU_VF:
            type_id, type_name = gpu.current_vgpu_type
            spec['resource_class'] = vgpu_resource_class(type_id, type_name)
            # the vGPU manager owns the VF: libvirt must not detach it
            spec['managed'] = 'no'
            note = 'SR-IOV VF of %s, vGPU type %s %r' % (
                gpu.physfn or 'an unknown GPU', type_id, type_name)
        else:
            spec['resource_class'] = gpu_contract.PASSTHROUGH_RESOURCE_CLASS
            note = 'whole GPU bound to %s' % (pci.driver or 'no driver')
        traits, invalid, over = collect.cap_traits(resolved.traits)
        if invalid or over:
            warnings.append('%s: %d trait(s) left out of its device_spec '
                            '(at most %d valid names)' % (
                                pci.address, len(invalid) + over,
                                collect.MAX_TRAITS_PER_PROVIDER))
        if traits:
            spec['traits'] = ','.join(sorted(traits))
        entries.append(DeviceSpecEntry(address=pci.address, note=note,
                                       spec=spec, traits=traits))
    return entries


def kind(rule_set, floors=floors_mod.DEFAULT):
    """The kind of vGPU VFs and whole GPUs bound to vfio-pci
    (:class:`~mdev_traits.mapping.kinds.HardwareKind`), which gives no
    provider, only ``device_spec`` entries.

    nova itself owns the providers of these devices: with ``[pci]
    report_in_placement`` nova-compute creates one per PCI function and
    *replaces* its traits with the ``traits`` tag of the matching
    ``device_spec`` entry (nova/compute/pci_placement_translator.py
    PciResourceProvider.update_provider_tree: ``update_traits`` with the
    set _get_traits_for_dev() reads from the entry's ``traits`` tag), so
    traits the exporter put on such a provider would be undone on nova's
    next update. The kind
    therefore has no provider factory and no enricher: given to
    :func:`~mdev_traits.mapping.tree.build_tree` it adds nothing; its
    output is :func:`device_spec_entries`, which the ``device-spec``
    command prints for the operator to put in nova.conf. Its discovery
    kind is :data:`mdev_traits.models.KIND_GPU` (the vgpu_vf and nvml
    sources).
    """
    def pci_gpu_device_spec(discovery, warnings):
        return device_spec_entries(discovery, rule_set, warnings, floors)
    return kinds.HardwareKind(name=models.KIND_GPU,
                              device_spec=pci_gpu_device_spec)
