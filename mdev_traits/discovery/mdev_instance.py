"""One mdev source of this host: an mdev by UUID, or a parent's type.

What ``mdev-traits-exporter requirements`` asks of discovery: which parent
and type hold an mdev (from a :class:`~mdev_traits.models.DiscoveryResult`,
whose types list their instances), a parent's type by name, and the
current values of the type's ``dynamic_resources`` on an mdev
(``<sysfs_root>/bus/mdev/devices/<uuid>/<attribute>``, read with
:mod:`mdev_traits.discovery.sysfs`).
"""

import dataclasses
import os
import typing

from mdev_traits.discovery import sysfs
from mdev_traits import models


class NotFound(LookupError):
    """The named device or type is not on this host (the message says
    what is there instead)."""


@dataclasses.dataclass(frozen=True)
class MdevSource:
    """A parent and one of its types (and the mdev, when one was named)."""

    parent: models.MdevParent
    mdev_type: models.MdevType
    uuid: typing.Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Setting:
    """A ``dynamic_resources`` attribute and its value on an mdev (None:
    no mdev named, or the attribute could not be read)."""

    attribute: str
    value: typing.Optional[str] = None


def find_mdev(found, uuid):
    """The :class:`MdevSource` of the mdev ``uuid`` (any case) in
    ``found``, or None."""
    uuid = uuid.lower()
    for parent in found.mdev_parents:
        for mdev_type in parent.types:
            if uuid in mdev_type.instances:
                return MdevSource(parent, mdev_type, uuid)
    return None


def find_parent_type(found, parent_name, type_id):
    """The :class:`MdevSource` of type ``type_id`` of the parent
    ``parent_name`` (any case); :class:`NotFound` when either is not
    there."""
    for parent in found.mdev_parents:
        if parent.name.lower() == parent_name.lower():
            mdev_type = parent.get_type(type_id)
            if mdev_type is None:
                raise NotFound('parent %s offers no type %s (it offers: '
                               '%s)' % (parent.name, type_id,
                                        ', '.join(parent.type_ids)))
            return MdevSource(parent, mdev_type)
    raise NotFound('no mdev parent %s on this host (parents: %s)' % (
        parent_name, ', '.join(p.name for p in found.mdev_parents)
        or 'none'))


def dynamic_settings(sysfs_root, source):
    """The ``dynamic_resources`` of ``source``'s type, each with its
    current value on ``source``'s mdev (a tuple of :class:`Setting`, in
    the type's order; values None without an mdev)."""
    settings = []
    for attr in source.mdev_type.dynamic_resources:
        value = None
        if source.uuid:
            path = os.path.join(sysfs_root, 'bus', 'mdev', 'devices',
                                source.uuid.lower(), attr)
            try:
                value = sysfs.read_attr(path)
            except sysfs.SysfsReadError:
                value = None
        settings.append(Setting(attr, value))
    return tuple(settings)
