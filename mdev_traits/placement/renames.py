"""Providers the exporter created under an earlier name of their device
(pure): they are renamed, not deleted and created again, so that their
uuid, and the allocations on them, stay.

Before release 0.x the exporter named the provider of a parent that is not
a PCI device ``<root>_<sysfs name>`` (lower-case, runs of characters other
than ``a-z0-9`` as one ``_``), where nova names it ``<root>_<libvirt
node-device name>`` (:func:`mdev_traits.mapping.names.device_provider_name`):
``cn1_mtty`` is now ``cn1_mtty_mtty``. A provider under the old name is
renamed when the record says the exporter created it (that very uuid) and
the new name is not taken.
"""

import re

from mdev_traits import models

_NOT_ALNUM_LOWER = re.compile(r'[^a-z0-9]+')


def legacy_device_provider_name(root_name, parent_name):
    """The name earlier versions gave the provider of a non-PCI parent."""
    return '%s_%s' % (root_name, _NOT_ALNUM_LOWER.sub(
        '_', parent_name.lower()).strip('_'))


def renames(desired_tree, snapshot, ownership, manage):
    """{new name: ProviderState under its old name} (``manage`` mode only:
    only there does the exporter create providers)."""
    if not manage:
        return {}
    found = {}
    for name, desired in desired_tree.by_name().items():
        if (desired.kind != models.KIND_MDEV or not desired.inventories
                or name in snapshot.providers):
            continue
        old = legacy_device_provider_name(snapshot.root.name,
                                          desired.parent_device)
        state = snapshot.providers.get(old)
        if (old == name or state is None or old in desired_tree.by_name()
                or ownership.created_uuid(old) != state.uuid):
            continue
        found[name] = state
    return found


def moved(ownership, found):
    """``ownership`` with each renamed provider's entries under its new
    name (and still under the old one, in case the rename fails)."""
    view = ownership.copy()
    for new, state in found.items():
        old = state.name
        view.created[new] = state.uuid
        for entries in (view.traits, view.resource_classes,
                        view.reservations):
            if old in entries:
                entries[new] = entries[old]
    return view
