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


def device_provider_suffix(parent_name, is_pci):
    """What nova's libvirt driver appends to the compute node name.

    A PCI parent 0000:3b:00.0 is libvirt's node device ``pci_0000_3b_00_0``;
    a non-PCI parent gets its sysfs name, lower-case, with runs of other
    characters than [a-z0-9] replaced by ``_``.
    """
    lowered = _NOT_ALNUM_LOWER.sub('_', parent_name.lower()).strip('_')
    if is_pci:
        return 'pci_' + lowered
    return lowered


def device_provider_name(root_name, parent_name, is_pci):
    return '%s_%s' % (root_name, device_provider_suffix(parent_name, is_pci))


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
