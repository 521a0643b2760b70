"""Trait and provider name normalisation (trait contract v2).

Normalisation: upper-case; every run of characters outside A-Z0-9 becomes
``_``; leading and trailing ``_`` trimmed; a name over 255 characters (the
limit of Placement's trait name column) is shortened with a stable hash
suffix.
"""

import functools
import hashlib
import re
import uuid

import os_traits

CUSTOM_PREFIX = 'CUSTOM_'
MAX_TRAIT_LENGTH = 255
_HASH_LENGTH = 8
_NOT_ALNUM = re.compile(r'[^A-Z0-9]+')
_NOT_ALNUM_LOWER = re.compile(r'[^a-z0-9]+')

# Namespace of the uuid5 given to providers the exporter creates: the same
# provider name always gets the same UUID, so a race between two cycles or a
# restart can never create duplicates. Never change this value.
PROVIDER_UUID_NAMESPACE = uuid.UUID('6c1b2f0e-3f0b-5b7e-9d1e-6d64657674c1')


def normalize(value):
    """Upper-case ``value`` and squash runs of non [A-Z0-9] into ``_``."""
    return _NOT_ALNUM.sub('_', str(value).upper()).strip('_')


def shorten(name, limit=MAX_TRAIT_LENGTH):
    """Shorten ``name`` to ``limit`` characters with a stable hash suffix."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode('utf-8')).hexdigest().upper()
    suffix = '_' + digest[:_HASH_LENGTH]
    return name[:limit - len(suffix)].rstrip('_') + suffix


# Pure, and called thousands of times per cycle with the same names (one
# per version bucket per GPU): a bounded cache halves mapping time.
@functools.lru_cache(maxsize=16384)
def custom_trait(*parts):
    """``CUSTOM_`` + the normalised parts joined with ``_``.

    Empty parts are dropped. Returns None when nothing is left to name.
    """
    body = '_'.join(p for p in (normalize(part) for part in parts) if p)
    if not body:
        return None
    return shorten(CUSTOM_PREFIX + body)


def standard_or_custom(name):
    """The standard os-traits trait ``name`` or, when os-traits does not
    define it (yet), ``CUSTOM_`` + the same name.

    This keeps a flavor working across an os-traits upgrade that adds the
    standard trait: the exporter then publishes the standard name.
    """
    name = normalize(name)
    if os_traits.is_custom(name):
        return shorten(name)
    if name in _standard_traits():
        return name
    return shorten(CUSTOM_PREFIX + name)


@functools.lru_cache(maxsize=1)
def _standard_traits():
    return frozenset(os_traits.get_traits())


_CUSTOM_TRAIT = re.compile(r'CUSTOM_[A-Z0-9_]+')


# Called for every trait of every provider each cycle (the cap in
# mapping.collect), with the same names cycle after cycle.
@functools.lru_cache(maxsize=16384)
def is_valid_trait(name):
    if not name or not isinstance(name, str) or len(name) > MAX_TRAIT_LENGTH:
        return False
    if name.startswith(CUSTOM_PREFIX):
        return _CUSTOM_TRAIT.fullmatch(name) is not None
    return name in _standard_traits()


# libvirt src/node_device/node_device_driver.c nodeDeviceGenerateName():
# every byte that is not g_ascii_isalnum() becomes "_" (one each, case
# kept).
_NOT_ASCII_ALNUM = re.compile(rb'[^A-Za-z0-9]')

# libvirt src/node_device/node_device_udev.c udevGetDeviceType(): the
# subsystems whose devices libvirt lists as mediated device parents (a PCI
# device, a css subchannel, the vfio-ap matrix, the mtty sample). A parent
# of another subsystem (the mdpy and mbochs samples) has no libvirt node
# device, so nova never sees it.
LIBVIRT_MDEV_PARENT_SUBSYSTEMS = frozenset(('pci', 'css', 'matrix', 'mtty'))


def libvirt_node_device_name(subsystem, sysname):
    """libvirt's node-device name of the device ``sysname`` of
    ``subsystem``: ``pci_0000_3b_00_0``, ``css_0_0_0313``, ``ap_matrix``,
    ``mtty_mtty``.

    libvirt src/node_device/node_device_udev.c udevGenerateDeviceName()
    calls nodeDeviceGenerateName(def, udev_device_get_subsystem(),
    udev_device_get_sysname(), NULL): ``<subsystem>_<sysname>`` with every
    byte other than [A-Za-z0-9] replaced by ``_``; udevProcessAPMatrix()
    hardcodes ``ap_matrix`` (subsystem and sysname are both "matrix").
    A device whose subsystem is unknown is named ``<sysname>`` the same way.
    """
    if subsystem == 'matrix':
        return 'ap_matrix'
    raw = sysname if not subsystem else '%s_%s' % (subsystem, sysname)
    return _NOT_ASCII_ALNUM.sub(
        b'_', raw.encode('utf-8', 'surrogateescape')).decode('ascii')


def device_provider_name(root_name, libvirt_name):
    """nova's name of a per-device provider: ``<nodename>_<libvirt name>``
    (nova/virt/libvirt/driver.py LibvirtDriver._ensure_pgpu_providers:
    ``'%s_%s' % (nodename, pgpu_dev_id)``)."""
    return '%s_%s' % (root_name, libvirt_name)


def provider_uuid(name):
    return str(uuid.uuid5(PROVIDER_UUID_NAMESPACE, name))


VDPA_PROVIDER_INFIX = 'vdpa_'


def vdpa_provider_name(root_name, device_name):
    return '%s_%s%s' % (root_name, VDPA_PROVIDER_INFIX,
                        _NOT_ALNUM_LOWER.sub('_', device_name.lower()))


def provider_kind(root_name, provider_name):
    """Which kind of device a per-device provider under ``root_name``
    describes, from its name (``<root>_vdpa_*`` is vDPA, any other is an
    mdev parent)."""
    if provider_name.startswith('%s_%s' % (root_name, VDPA_PROVIDER_INFIX)):
        return 'vdpa'
    return 'mdev'
