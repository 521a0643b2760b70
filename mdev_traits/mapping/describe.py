"""Traits back into operator terms (pure): what ``show`` prints.

The patterns are made from the trait contract's own templates
(:mod:`mdev_traits.mapping.contract`, :mod:`mdev_traits.mapping.gpu_contract`)
and tables (API versions, virtio features), so a renamed template is
described under its new name without a change here. Cumulative "at least"
families (driver version buckets, CUDA compute capability, API versions,
display heads, framebuffer, vDPA queue levels) are shown by their highest
level; resolutions by the largest ones (every smaller standard one is
implied); a trait no family explains is listed as it is (``OWNER_NOVA``,
operator traits).
"""

import dataclasses
import re
import typing

from mdev_traits.mapping import contract
from mdev_traits.mapping import gpu_contract
from mdev_traits.mapping import gpu_traits
from mdev_traits.mapping import names
from mdev_traits.mapping import vdpa_data

# template fields that hold a number
_NUMERIC = frozenset(['k', 'w', 'h', 'mb', 'major', 'minor', 'level'])
_FIELD_RE = re.compile(r'\{(\w+)\}')

# How operators spell the API families of gpu_contract.API_VERSIONS and
# API_UNVERSIONED (the trait name is shown when a family is not here).
API_LABELS = {
    'OPENGL': 'OpenGL',
    'OPENCL': 'OpenCL',
    'DIRECTX': 'DirectX',
    'DIRECT3D': 'Direct3D',
    'VULKAN': 'Vulkan',
    'DXVA': 'DXVA',
    'DIRECT2D': 'Direct2D',
}


def template_regex(template, custom):
    """A regex for the traits a contract template gives.

    ``custom``: 'always' (``names.custom_trait``: ``CUSTOM_`` + the
    template), 'optional' (``names.standard_or_custom``: the standard name
    or ``CUSTOM_`` + it).
    """
    parts = []
    pos = 0
    for match in _FIELD_RE.finditer(template):
        parts.append(re.escape(template[pos:match.start()]))
        field = match.group(1)
        parts.append(r'(?P<%s>\d+)' % field if field in _NUMERIC
                     else r'(?P<%s>[A-Z0-9_]+?)' % field)
        pos = match.end()
    parts.append(re.escape(template[pos:]))
    prefix = {'always': names.CUSTOM_PREFIX,
              'optional': '(?:%s)?' % names.CUSTOM_PREFIX}[custom]
    return re.compile('^%s%s$' % (prefix, ''.join(parts)))


@dataclasses.dataclass(frozen=True)
class Description:
    # (label, text), in a fixed order
    lines: typing.Tuple[typing.Tuple[str, str], ...]
    # traits that no family of the contract explains
    other: typing.Tuple[str, ...]


def _int_groups(match, *fields):
    return tuple(int(match.group(f)) for f in fields)


def _version_key(version):
    """Sort key of an API version as the contract spells it (4_6, 9_0B)."""
    match = re.match(r'^(\d+)(?:_(\d+))?([A-Z]?)$', version)
    if match is None:
        return (0, 0, version)
    return (int(match.group(1)), int(match.group(2) or 0), match.group(3))


def _dotted(version):
    return version.replace('_', '.').lower()


def _api_text(apis):
    """``OpenGL up to 4.6, OpenCL 1.2, 3.0, Vulkan`` from API names."""
    families = {}
    for api in apis:
        family, sep, version = api.partition('_V')
        if not sep or family not in gpu_contract.API_VERSIONS:
            families.setdefault(api, set())
            continue
        families.setdefault(family, set()).add(version)
    out = []
    for family in sorted(families, key=lambda f: (
            f not in API_LABELS, list(API_LABELS).index(f)
            if f in API_LABELS else 0, f)):
        label = API_LABELS.get(family, family)
        versions = sorted(families[family], key=_version_key)
        if not versions:
            out.append(label)
            continue
        low, top = versions[0], versions[-1]
        if low == top:
            out.append('%s %s' % (label, _dotted(top)))
            continue
        # "at least" semantics: every version the top one implies, from
        # the lowest published one (the family's floor) up
        implied = {n.partition('_V')[2] for n in gpu_traits.api_names(
            '%s_V%s' % (family, top)) if '_V' in n}
        implied = {v for v in implied
                   if _version_key(v) >= _version_key(low)}
        if set(versions) != implied:
            listed = ', '.join(_dotted(v) for v in versions)
            out.append('%s %s' % (label, listed))
        elif low == gpu_contract.API_VERSIONS[family][0]:
            out.append('%s up to %s' % (label, _dotted(top)))
        else:
            out.append('%s up to %s (traits from %s)' % (
                label, _dotted(top), _dotted(low)))
    return ', '.join(out)


def _virtio_names():
    """trait -> the virtio feature's name, for every feature of the
    table (custom and standard traits)."""
    table = {}
    features = list(vdpa_data.TRANSPORT_FEATURES)
    for rows in vdpa_data.DEVICE_FEATURES.values():
        features.extend(rows)
    for feature in features:
        table[names.custom_trait(contract.VIRTIO_FEATURE.format(
            name=feature.name))] = feature.name
    return table


def _standard_virtio():
    out = {}
    for rows in [vdpa_data.TRANSPORT_FEATURES] + list(
            vdpa_data.DEVICE_FEATURES.values()):
        for feature in rows:
            if feature.standard:
                out.setdefault(feature.standard, []).append(feature.name)
    return out


class _Collect(object):
    """Traits sorted into the families of the contract."""

    FAMILIES = (
        # key, template, CUSTOM_ prefix
        ('type', contract.MDEV_TYPE, 'always'),
        ('device_api', contract.MDEV_DEVICE_API, 'always'),
        ('pci_device', contract.PCI_DEVICE, 'always'),
        ('pci_vendor', contract.PCI_VENDOR, 'always'),
        ('swver', contract.MDEV_SWVER, 'always'),
        ('compat', contract.MDEV_COMPAT, 'always'),
        ('cuda', gpu_contract.CUDA_COMPUTE_CAPABILITY, 'optional'),
        ('heads', gpu_contract.MAX_DISPLAY_HEADS, 'optional'),
        ('resolution', gpu_contract.RESOLUTION, 'optional'),
        ('framebuffer', gpu_contract.FRAMEBUFFER, 'always'),
        ('api', gpu_contract.API, 'optional'),
        ('vdpa_type', contract.VDPA_TYPE, 'always'),
        ('vdpa_driver', contract.VDPA_MGMTDEV_DRIVER, 'always'),
        ('vq_pairs', contract.VDPA_MAX_VQ_PAIRS, 'always'),
        ('vq_size', contract.VDPA_MAX_VQ_SIZE, 'always'),
    )

    def __init__(self):
        self.regexes = [(key, template_regex(template, custom))
                        for key, template, custom in self.FAMILIES]
        self.virtio = _virtio_names()
        self.standard_virtio = _standard_virtio()
        self.physnet = names.CUSTOM_PREFIX + contract.NEUTRON_PHYSNET_PREFIX
        self.vnic = names.CUSTOM_PREFIX + contract.NEUTRON_VNIC_TYPE_PREFIX

    def sort(self, traits):
        found = {}
        other = []
        for trait in sorted(traits):
            if trait in self.virtio:
                found.setdefault('virtio', []).append(self.virtio[trait])
                continue
            if trait in self.standard_virtio:
                # the same feature as a CUSTOM_VIRTIO_* trait: shown once
                continue
            if trait.startswith(self.physnet):
                found.setdefault('physnet', []).append(
                    trait[len(self.physnet):])
                continue
            if trait.startswith(self.vnic):
                found.setdefault('vnic', []).append(trait[len(self.vnic):])
                continue
            for key, regex in self.regexes:
                match = regex.match(trait)
                if match:
                    found.setdefault(key, []).append(match)
                    break
            else:
                other.append(trait)
        return found, other


def describe(traits):
    """A :class:`Description` of a provider's ``traits``."""
    found, other = _Collect().sort(traits)
    lines = []

    def top(key, *fields):
        matches = found.get(key, ())
        return max((_int_groups(m, *fields) for m in matches),
                   default=None)

    for m in found.get('type', ()):
        lines.append(('mdev type', m.group('type_id')))
    for m in found.get('device_api', ()):
        lines.append(('device_api', m.group('device_api')))
    if found.get('pci_device'):
        lines.append(('PCI device', ', '.join(
            '%s:%s' % (m.group('vendor'), m.group('device'))
            for m in found['pci_device'])))
    elif found.get('pci_vendor'):
        lines.append(('PCI vendor', ', '.join(
            m.group('vendor') for m in found['pci_vendor'])))
    drivers = {}
    for m in found.get('swver', ()):
        key = (m.group('driver'), int(m.group('major')))
        drivers[key] = max(drivers.get(key, -1), int(m.group('minor')))
    for (driver, major), minor in sorted(drivers.items()):
        lines.append(('driver version', '%s %d.%d (takes VMs started under '
                      '%d.0 to %d.%d)' % (driver, major, minor, major,
                                          major, minor)))
    if found.get('compat'):
        lines.append(('compatible', ', '.join(
            '%s_%s' % (m.group('field'), m.group('value'))
            for m in found['compat'])))
    cuda = top('cuda', 'major', 'minor')
    if cuda:
        lines.append(('CUDA', 'CUDA %d.%d' % cuda))
    if found.get('api'):
        lines.append(('APIs', _api_text(
            m.group('api') for m in found['api'])))
    heads = top('heads', 'k')
    if heads:
        lines.append(('display heads', '%d' % heads))
    if found.get('resolution'):
        points = {_int_groups(m, 'w', 'h') for m in found['resolution']}
        largest = sorted(p for p in points if not any(
            o != p and o[0] >= p[0] and o[1] >= p[1] for o in points))
        lines.append(('resolution', 'up to %s' % ', '.join(
            '%dx%d' % p for p in largest)))
    framebuffer = top('framebuffer', 'mb')
    if framebuffer:
        lines.append(('framebuffer', '%d MB or more' % framebuffer))
    for m in found.get('vdpa_type', ()):
        lines.append(('vDPA type', m.group('type').lower()))
    for m in found.get('vdpa_driver', ()):
        lines.append(('vDPA driver', m.group('driver').lower()))
    pairs = top('vq_pairs', 'level')
    if pairs:
        lines.append(('queue pairs', 'up to %d' % pairs))
    size = top('vq_size', 'level')
    if size:
        lines.append(('queue size', 'up to %d' % size))
    if found.get('virtio'):
        lines.append(('virtio features', ', '.join(sorted(
            found['virtio']))))
    if found.get('physnet'):
        lines.append(('physical network', ', '.join(found['physnet'])))
    if found.get('vnic'):
        lines.append(('vNIC type', ', '.join(found['vnic'])))
    return Description(lines=tuple(lines), other=tuple(other))
