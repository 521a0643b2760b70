"""Map discovered vDPA devices to desired providers (pure).

One child provider of the compute node per vDPA device bound to
vhost_vdpa (``<root>_vdpa_<device>``), with an inventory of 1 and traits
(see contract.py and the README, "vDPA devices"):

* ``CUSTOM_VDPA_TYPE_<TYPE>``, ``CUSTOM_VDPA_MGMTDEV_DRIVER_<DRIVER>`` and
  the PCI ids of the device the vDPA device sits on;
* "at least" levels of the numeric maximums: ``CUSTOM_VDPA_MAX_VQ_PAIRS_<k>``
  and ``CUSTOM_VDPA_MAX_VQ_SIZE_<k>`` for every power of two k up to the
  maximum, and the maximum itself (:func:`levels`);
* one trait per offered virtio feature (mdev_traits.mapping.vdpa_data), and
  its os-traits equivalent where there is one;
* neutron's ``CUSTOM_PHYSNET_<PHYSNET>`` and ``CUSTOM_VNIC_TYPE_VDPA`` for
  devices on a physical function listed in [vdpa] physical_device_mappings.

Devices bound to virtio_vdpa (used by the host), or to no driver, get no
provider. nova does not create vDPA providers, so there is nothing to
decorate: the providers are only published with [exporter] mode = manage.
"""

import dataclasses
import re
import typing

import os_traits

from mdev_traits.mapping import collect
from mdev_traits.mapping import contract
from mdev_traits.mapping import desired
from mdev_traits.mapping import kinds
from mdev_traits.mapping import names
from mdev_traits.mapping import vdpa_data
from mdev_traits import models

_BIT = re.compile(r'^bit_(\d+)$')


@dataclasses.dataclass(frozen=True)
class VdpaConfig:
    """The [vdpa] options the mapping needs, as plain data."""

    # template with {type}: CUSTOM_VDPA_{type}
    resource_class: str = contract.VDPA_DEFAULT_RESOURCE_CLASS
    # virtio type -> resource class, overriding resource_class
    type_resource_classes: typing.Tuple[typing.Tuple[str, str], ...] = ()
    # (physical network, PF network interface)
    physical_device_mappings: typing.Tuple[typing.Tuple[str, str], ...] = ()
    # [exporter] mode = manage
    manage: bool = True

    def resource_class_for(self, device_type):
        by_type = dict(self.type_resource_classes)
        if device_type in by_type:
            return by_type[device_type]
        return self.resource_class.replace(
            '{type}', names.normalize(device_type))

    def physnets_for(self, netdevs):
        """[(physnet, netdev)] of the mappings that name one of
        ``netdevs``, sorted."""
        wanted = set(netdevs)
        return sorted((physnet, netdev) for physnet, netdev
                      in self.physical_device_mappings if netdev in wanted)


def levels(maximum):
    """The "at least" levels published for ``maximum``: every power of two
    not above it, and the maximum itself. Empty for None or < 1.

    >>> levels(12)
    [1, 2, 4, 8, 12]
    """
    if not maximum or maximum < 1:
        return []
    result = []
    k = 1
    while k <= maximum:
        result.append(k)
        k *= 2
    if result[-1] != maximum:
        result.append(maximum)
    return result


def request_level(minimum):
    """The one level to require for "at least ``minimum``" with a plain
    ``required`` trait: the smallest power of two >= ``minimum``.

    Every device with that trait has a maximum >= ``minimum``; a device
    whose maximum lies between ``minimum`` and that power of two is not
    matched (use :func:`any_of_levels` for an exact answer).
    """
    k = 1
    while k < minimum:
        k *= 2
    return k


def any_of_levels(minimum):
    """The levels of which a device with a maximum >= ``minimum`` has at
    least one, and a device with a smaller maximum has none: ``minimum``
    .. the next power of two (Placement ``required=in:A,B,...``)."""
    top = request_level(minimum)
    return list(range(minimum, top + 1)) if minimum < top else [top]


def feature_entry(device_type, printed):
    """The :class:`vdpa_data.Feature` for a feature as the tool printed it
    (``MQ``, ``RING_PACKED``, ``bit_40``), or None."""
    own = vdpa_data.DEVICE_FEATURES.get(device_type, ())
    match = _BIT.match(printed)
    if match:
        bit = int(match.group(1))
        for table in (own, vdpa_data.TRANSPORT_FEATURES):
            for feature in table:
                if feature.bit == bit:
                    return feature
        return None
    for table in (own, vdpa_data.TRANSPORT_FEATURES):
        for feature in table:
            if feature.tool_name == printed:
                return feature
    return None


def neutron_trait(prefix, value):
    """A trait named the way neutron names it (neutron_lib.placement.utils
    physnet_trait / vnic_type_trait: ``os_traits.normalize_name`` of the
    prefix and the value, which adds ``CUSTOM_``): no trimming of ``_``,
    unlike :func:`names.custom_trait`, so that both sides always agree."""
    return os_traits.normalize_name(prefix + value)


def max_vq_pairs(device):
    """(maximum queue pairs, where it comes from) or (None, None).

    ``max_vq_pairs`` of ``vdpa dev config show`` when the kernel reports
    it; for a network device that does not, half of ``max_vqs`` (rounded
    down: a control queue makes the count odd).
    """
    if device.max_vq_pairs:
        return device.max_vq_pairs, 'vdpa dev config show %s: max_vq_pairs ' \
            '%d' % (device.name, device.max_vq_pairs)
    if device.device_type == 'net' and device.max_vqs and \
            device.max_vqs >= 2:
        return device.max_vqs // 2, 'vdpa dev show %s: max_vqs %d (pairs ' \
            '= max_vqs // 2)' % (device.name, device.max_vqs)
    return None, None


def device_traits(device, config):
    """Traits of one vDPA device, with their sources."""
    traits = collect.TraitCollector()
    traits.add(contract.VDPA_TYPE, 'vdpa dev show %s: type' % device.name,
               type=device.device_type)
    if device.mgmtdev_driver:
        traits.add(contract.VDPA_MGMTDEV_DRIVER,
                   'driver of management device %s' % device.mgmtdev,
                   driver=device.mgmtdev_driver)
    traits.add_pci_ids(device.pci)

    pairs, pairs_src = max_vq_pairs(device)
    for level in levels(pairs):
        traits.add(contract.VDPA_MAX_VQ_PAIRS, pairs_src, level=level)
    size_src = 'vdpa dev show %s: max_vq_size %s' % (
        device.name, device.max_vq_size)
    for level in levels(device.max_vq_size):
        traits.add(contract.VDPA_MAX_VQ_SIZE, size_src, level=level)

    # only the device's own features (read from the kernel); never the
    # management device's list, which a device may offer only part of
    # (mdev_traits.discovery.vdpa_netlink)
    feat_src = device.features_source
    for printed in (device.supported_features if feat_src else ()):
        feature = feature_entry(device.device_type, printed)
        if feature is None:
            continue
        src = '%s (bit %d)' % (feat_src, feature.bit)
        traits.add(contract.VIRTIO_FEATURE, src, name=feature.name)
        if feature.standard:
            traits.add_standard(feature.standard, src)

    mapped = (config.physnets_for(device.pf_netdevs)
              if device.device_type == 'net' else [])
    for physnet, netdev in mapped:
        src = '[vdpa] physical_device_mappings %s:%s' % (physnet, netdev)
        traits.add_exact(neutron_trait(contract.NEUTRON_PHYSNET_PREFIX,
                                       physnet), src)
        traits.add_exact(neutron_trait(contract.NEUTRON_VNIC_TYPE_PREFIX,
                                       contract.NEUTRON_VNIC_TYPE_VDPA), src)
    return traits.result()


def device_notes(device):
    """What could not be read about ``device`` and what that leaves out,
    for ``--dry-run``."""
    notes = list(device.notes)
    if not device.features_source:
        note = ('virtio feature traits: none published, the device\'s own '
                'features are unknown (%s)' % (device.features_unknown
                                               or 'not read'))
        if device.mgmtdev_features:
            note += ('; its management device %s allows at most: %s' % (
                device.mgmtdev, ' '.join(device.mgmtdev_features)))
        notes.append(note)
    if device.max_vq_pairs is None and device.device_type == 'net':
        notes.append('no max_vq_pairs from vdpa dev config show: queue '
                     'pairs from max_vqs // 2')
    return tuple(notes)


def inventory_for(resource_class):
    return {resource_class: {
        'total': 1,
        'reserved': 0,
        'min_unit': 1,
        'max_unit': 1,
        'step_size': 1,
        'allocation_ratio': 1.0,
    }}


def vdpa_providers(discovery, config, root_name, warnings):
    """One desired provider per vDPA device usable by VMs (pure)."""
    usable = [d for d in discovery.vdpa_devices if d.usable_by_vms]
    if not usable:
        return []
    if not config.manage:
        warnings.append(
            '%d vDPA device(s) bound to vhost_vdpa (%s) but [exporter] mode '
            'is not manage: vDPA providers are only published with mode = '
            'manage (nova does not create them)' % (
                len(usable), ', '.join(d.name for d in usable)))
        return []
    providers = []
    for device in usable:
        if device.device_type is None:
            warnings.append('vdpa: device %s has a virtio type the vdpa '
                            'tool does not name: no provider' % device.name)
            continue
        rc = config.resource_class_for(device.device_type)
        if not re.fullmatch(r'CUSTOM_[A-Z0-9_]+', rc or ''):
            warnings.append('vdpa: device %s: %r is not a custom resource '
                            'class ([vdpa] resource_class): no provider'
                            % (device.name, rc))
            continue
        name = names.vdpa_provider_name(root_name, device.name)
        partial = device.partial
        try:
            traits = device_traits(device, config)
        except Exception as exc:  # noqa: B902 - one device must not stop
            # the others: its provider is kept, add-only, this cycle
            warnings.append(desired.mapping_failed(name, exc))
            traits, partial = {}, True
        providers.append(desired.DesiredProvider(
            name=name,
            uuid=names.provider_uuid(name),
            parent_device=device.name,
            mdev_type=None,
            resource_class=rc,
            inventories=inventory_for(rc),
            traits=traits,
            partial=partial,
            kind=models.KIND_VDPA,
            notes=device_notes(device),
        ))
    return providers


def kind(config):
    """The vDPA kind (:class:`~mdev_traits.mapping.kinds.HardwareKind`):
    one provider per vDPA device usable by VMs (:func:`vdpa_providers`);
    no enricher, no version bucket."""
    def vdpa_kind_providers(discovery, root_name, warnings,
                            known_traits=frozenset()):
        return vdpa_providers(discovery, config, root_name, warnings)
    return kinds.HardwareKind(name=models.KIND_VDPA,
                              providers=vdpa_kind_providers)
