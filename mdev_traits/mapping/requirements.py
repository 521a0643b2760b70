"""What a destination must have to take a device (pure).

The published compatibility rules, as data: each trait family of the
source's provider says how it turns into required traits of a destination.

* ``exact``: require the trait itself (same mdev type, same device_api).
* ``top``: a cumulative "at least" family (one trait per level up to the
  value): require the highest level of the source; every destination that
  is at least as capable publishes it (software_version buckets: same
  major, minor not lower; CUDA compute capability; display heads; ...).
* ``all``: require every trait of the family the source has (the
  destination's ``compatible_<field>`` values must cover the source's;
  every API and resolution the source offers).
* ``frontier``: a two-dimensional "fits inside" family (resolutions: a
  GPU publishes every standard resolution whose width and height both fit
  in its maximum): require the resolutions no other one of the source
  contains, which imply the rest.
* ``skip``: not part of the compatibility rules (PCI ids: the type already
  fixes the device model).

Families are matched in order; a trait matching none is skipped and
reported (operator traits are a matter for the flavor, not for migration).
"""

import dataclasses
import re
import shlex
import typing

from mdev_traits.mapping import floors as floors_mod

EXACT = 'exact'
TOP = 'top'
ALL = 'all'
FRONTIER = 'frontier'
SKIP = 'skip'


@dataclasses.dataclass(frozen=True)
class Family:
    name: str
    pattern: str
    policy: str
    reason: str
    # for TOP: regex groups that identify one family instance (e.g. driver
    # and major of a version) and the numeric level groups
    key_groups: typing.Tuple[int, ...] = ()
    level_groups: typing.Tuple[int, ...] = ()


FAMILIES = (
    Family('mdev type', r'^CUSTOM_MDEV_TYPE_', EXACT,
           'same mdev type'),
    Family('device_api', r'^CUSTOM_MDEV_DEVICE_API_', EXACT,
           'device_api must match exactly'),
    Family('software version', r'^CUSTOM_MDEV_SWVER_(.+)_(\d+)_(\d+)$', TOP,
           'same software_version major, minor not lower',
           key_groups=(1, 2), level_groups=(3,)),
    Family('compatible values', r'^CUSTOM_MDEV_COMPAT_', ALL,
           'destination must cover every compatible_<field> value'),
    Family('PCI ids', r'^CUSTOM_PCI_(VENDOR|DEVICE)_', SKIP,
           'not a compatibility rule: the mdev type fixes the model'),
    Family('CUDA compute capability',
           r'^(CUSTOM_)?HW_GPU_CUDA_COMPUTE_CAPABILITY_V(\d+)_(\d+)$', TOP,
           'CUDA compute capability in use: at least the same',
           level_groups=(2, 3)),
    Family('CUDA SDK', r'^(CUSTOM_)?HW_GPU_CUDA_SDK_V(\d+)_(\d+)$', TOP,
           'CUDA SDK level in use: at least the same',
           level_groups=(2, 3)),
    Family('display heads', r'^(CUSTOM_)?HW_GPU_MAX_DISPLAY_HEADS_(\d+)$',
           TOP, 'display heads in use: at least as many',
           level_groups=(2,)),
    Family('framebuffer', r'^CUSTOM_VGPU_FRAMEBUFFER_MB_(\d+)$', TOP,
           'framebuffer in use: at least as large', level_groups=(1,)),
    Family('resolutions', r'^(CUSTOM_)?HW_GPU_RESOLUTION_W(\d+)H(\d+)$',
           FRONTIER, 'every resolution the guest may use',
           level_groups=(2, 3)),
    # OpenGL versions are published cumulatively (every lower standard
    # version too): the highest one implies the others. Not OpenCL: 3.0
    # does not imply the optional 2.x features, so each version counts.
    Family('OpenGL version',
           r'^(CUSTOM_)?HW_GPU_API_(OPENGL)_V(\d+)_(\d+)$', TOP,
           'API version in use: at least the same',
           key_groups=(2,), level_groups=(3, 4)),
    Family('graphics and compute APIs', r'^(CUSTOM_)?HW_GPU_API_', ALL,
           'every API the guest may use'),
    Family('vDPA type', r'^CUSTOM_VDPA_TYPE_', EXACT, 'same vDPA type'),
    Family('vDPA queue pairs', r'^CUSTOM_VDPA_MAX_VQ_PAIRS_(\d+)$', TOP,
           'queue pairs: at least as many', level_groups=(1,)),
    Family('vDPA queue size', r'^CUSTOM_VDPA_MAX_VQ_SIZE_(\d+)$', TOP,
           'queue size: at least as large', level_groups=(1,)),
    Family('virtio features', r'^(CUSTOM_VIRTIO_|HW_NIC_)', ALL,
           'every virtio feature the device offers'),
    Family('network', r'^CUSTOM_(PHYSNET|VNIC_TYPE)_', ALL,
           'same physical network and vNIC type'),
    Family('vDPA management device driver',
           r'^CUSTOM_VDPA_MGMTDEV_DRIVER_', SKIP,
           'not a compatibility rule'),
)

# Columns of "openstack allocation candidate list" that ``osc_command``
# keeps (osc-placement, resources/allocation_candidate.py: '#',
# 'allocation', 'resource provider', 'inventory used/capacity', 'traits').
OSC_COLUMNS = ('resource provider', 'inventory used/capacity')

_COMPILED = tuple((f, re.compile(f.pattern)) for f in FAMILIES)


@dataclasses.dataclass(frozen=True)
class Requirement:
    trait: str
    family: str
    reason: str


@dataclasses.dataclass(frozen=True)
class Requirements:
    resource_class: typing.Optional[str]
    required: typing.Tuple[Requirement, ...]
    # source traits that need no requirement, with why
    skipped: typing.Tuple[typing.Tuple[str, str], ...] = ()
    # dynamic_resources: per-instance settings to apply on the destination
    settings: typing.Tuple[typing.Tuple[str, typing.Optional[str]], ...] = ()

    @property
    def traits(self):
        return tuple(r.trait for r in self.required)

    def extra_specs(self, group=None):
        """Flavor extra specs, unnumbered or as request group ``group``."""
        suffix = '' if group is None else str(group)
        lines = []
        if self.resource_class:
            lines.append('resources%s:%s=1' % (suffix, self.resource_class))
        lines.extend('trait%s:%s=required' % (suffix, t)
                     for t in self.traits)
        return lines

    def osc_command(self):
        """An ``openstack allocation candidate list`` command line (a
        shell command, quoted) that prints one short line per candidate:
        the provider's uuid and its used/capacity (osc-placement's
        ``allocation_candidate.py`` ``ListAllocationCandidate`` columns;
        the default table also has every trait of every candidate)."""
        parts = ['openstack', 'allocation', 'candidate', 'list']
        if self.resource_class:
            parts += ['--resource', '%s=1' % self.resource_class]
        for trait in self.traits:
            parts += ['--required', trait]
        parts += ['-f', 'value'] + [
            arg for col in OSC_COLUMNS for arg in ('-c', col)]
        return ' '.join(shlex.quote(p) for p in parts)

    def query(self):
        """The ``GET /allocation_candidates`` query string."""
        query = 'resources=%s:1' % (self.resource_class or 'VGPU')
        if self.traits:
            query += '&required=%s' % ','.join(self.traits)
        return query

    def to_dict(self):
        return {
            'resource_class': self.resource_class,
            'required': [dataclasses.asdict(r) for r in self.required],
            'skipped': [{'trait': t, 'why': why} for t, why in self.skipped],
            'settings': [{'attribute': a, 'value': v}
                         for a, v in self.settings],
            'extra_specs': self.extra_specs(),
            'extra_specs_group': self.extra_specs(group=1),
            'osc': self.osc_command(),
        }


def _classify(trait):
    for family, regex in _COMPILED:
        match = regex.match(trait)
        if match:
            return family, match
    return None, None


# The device compatibility interface thread (Yan Zhao et al., 2020; the
# design notes in seed 002): "compatible_type: not used by mgt tools
# currently" - the source's own mdev type is required instead.
COMPATIBLE_TYPE_REASON = ('compatible_type: ignored by management tools for '
                          'now; the same mdev type is required instead')


def family_of(trait):
    """The :class:`Family` of ``trait``, or None."""
    return _classify(trait)[0]


def requirements(source_traits, resource_class=None, settings=(),
                 floors=floors_mod.DEFAULT, not_required=()):
    """The traits a destination must have to take the device whose
    provider publishes ``source_traits`` (pure).

    A capability level below its ladder's floor (trait contract v2) is
    asked as the floor: names below it are not published.
    ``not_required``: (trait, why) pairs of source traits that are no
    requirement (the compatible_type ones: see
    :func:`mdev_traits.mapping.mdev.compatible_type_traits`).
    """
    source_traits = {floors_mod.raise_to_floor(t, floors)
                     for t in source_traits}
    required = {}
    skipped = []
    tops = {}
    frontier = {}
    exempt = dict(not_required)
    for trait in sorted(source_traits):
        if trait in exempt:
            skipped.append((trait, exempt[trait]))
            continue
        family, match = _classify(trait)
        if family is None:
            skipped.append((trait, 'not a device capability of '
                                   'mdev-traits (operator or other '
                                   'trait): put it in the flavor if needed'))
            continue
        if family.policy == SKIP:
            skipped.append((trait, family.reason))
        elif family.policy in (EXACT, ALL):
            required[trait] = Requirement(trait, family.name, family.reason)
        elif family.policy == FRONTIER:
            frontier.setdefault(family, []).append(
                (tuple(int(match.group(g)) for g in family.level_groups),
                 trait))
        elif family.policy == TOP:
            key = (family.name,) + tuple(match.group(g)
                                         for g in family.key_groups)
            level = tuple(int(match.group(g)) for g in family.level_groups)
            best = tops.get(key)
            if best is None or level > best[0]:
                if best is not None:
                    skipped.append((best[1], 'implied by a higher level'))
                tops[key] = (level, trait, family)
            else:
                skipped.append((trait, 'implied by a higher level'))
    for _level, trait, family in tops.values():
        required[trait] = Requirement(trait, family.name, family.reason)
    for family, points in frontier.items():
        for dims, trait in points:
            inside = any(other != dims and all(
                o >= d for o, d in zip(other, dims)) for other, _t in points)
            if inside:
                skipped.append((trait, 'implied by a larger one'))
            else:
                required[trait] = Requirement(trait, family.name,
                                              family.reason)
    return Requirements(
        resource_class=resource_class,
        required=tuple(required[t] for t in sorted(required)),
        skipped=tuple(sorted(skipped)),
        settings=tuple(settings))


def missing(required_traits, provider_traits):
    return sorted(set(required_traits) - set(provider_traits))
