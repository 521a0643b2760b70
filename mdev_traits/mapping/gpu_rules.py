"""GPU capability profiles and operator rules: format, validation, matching.

Pure: the text of a file goes in, frozen :class:`Rule` objects (or a
:class:`ProfileError` naming the file, the rule and the field) come out.
Reading the files is I/O and lives in :mod:`mdev_traits.gpu_profiles`.

A file (YAML, read with ``yaml.safe_load``: data only, no tags, no
hooks)::

    version: 1                  # optional, 1 is the only version
    description: free text      # optional
    rules:
      - name: gold-a40          # unique in the file; letters, digits, _.-
        description: free text  # optional
        match:                  # every field given must match (AND); a list
          address: "0000:41:*"  # matches when any item does (OR). Shell-style
          vendor: "10de"        # globs (* ? [..]), case-insensitive.
          device: ["2235", "2236"]
          driver: nvidia
          type: "nvidia-55*"    # mdev type id, or the vGPU type id of a VF
          type_name: "*-[0-9]Q" # the type's name ("NVIDIA A40-2Q")
          kind: mdev            # mdev | vgpu-vf | passthrough
        set:                    # capabilities; null removes one
          cuda_compute_capability: "8.6"   # quoted "M.m"
          cuda: true            # CUDA offered to the guest
          apis: [VULKAN, OPENGL_V4_6, DIRECTX_V12, DIRECT3D_V12_0]
          display_heads: 4
          max_resolution: 3840x2160
          framebuffer_mb: 2048
        traits: [CUSTOM_GOLD]   # added as they are

``address`` matches the device's own PCI address or that of its physical
GPU (the PF of an SR-IOV VF). PCI ids must be quoted strings (YAML reads
``2235`` as a number and ``1e30`` as a float). Operator rules may only add
``CUSTOM_*`` traits, and none with a prefix the exporter reserves for what
it derives itself (``contract.RESERVED_PREFIXES``: ``CUSTOM_MDEV_``,
``CUSTOM_PCI_VENDOR_``, ...); the shipped profiles may also name standard
traits.
"""

import dataclasses
import fnmatch
import re
import typing

import yaml

from mdev_traits.mapping import contract
from mdev_traits.mapping import gpu_contract
from mdev_traits.mapping import names

FORMAT_VERSION = 1

MATCH_FIELDS = ('address', 'vendor', 'device', 'driver', 'type',
                'type_name', 'kind')
KIND_MDEV = 'mdev'
KIND_VGPU_VF = 'vgpu-vf'
KIND_PASSTHROUGH = 'passthrough'
KINDS = (KIND_MDEV, KIND_VGPU_VF, KIND_PASSTHROUGH)

_TOP_KEYS = ('version', 'description', 'rules')
_RULE_KEYS = ('name', 'description', 'match', 'set', 'traits')
_RULE_NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$')
# ASCII digits only (``\d`` alone also matches other scripts' digits)
_CC_RE = re.compile(r'^(\d{1,3})\.(\d{1,3})$', re.ASCII)
_RESOLUTION_RE = re.compile(r'^(\d{1,6})x(\d{1,6})$', re.ASCII)
_API_RE = re.compile(
    r'^(?:VULKAN|DXVA|DIRECT2D|DIRECTX_V\d{1,3}'
    r'|(?:OPENGL|OPENCL|VULKAN)_V\d{1,3}_\d{1,3}'
    r'|DIRECT3D_V\d{1,3}_\d{1,3}[A-Z]?)$', re.ASCII)


class ProfileError(ValueError):
    """A profile file is invalid; ``str()`` is one line: file, rule, field.
    """

    def __init__(self, filename, message, rule=None, field=None):
        self.filename = filename
        self.rule = rule
        self.field = field
        self.message = message
        where = [filename]
        if rule is not None:
            where.append('rule %s' % rule)
        if field is not None:
            where.append('field %s' % field)
        super(ProfileError, self).__init__('%s: %s' % (': '.join(where),
                                                       message))


@dataclasses.dataclass(frozen=True)
class Rule:
    """One validated rule."""

    filename: str        # as shown to the operator (base name for shipped)
    name: str
    operator: bool       # from the operator's directory
    # (field, patterns) with lower-case patterns
    match: typing.Tuple[typing.Tuple[str, typing.Tuple[str, ...]], ...]
    # (capability, value); value None removes the capability
    set: typing.Tuple[typing.Tuple[str, typing.Any], ...] = ()
    traits: typing.Tuple[str, ...] = ()

    @property
    def origin(self):
        """Where a capability or trait came from, for ``trait_sources``."""
        if self.operator:
            return 'operator rule %s:%s' % (self.filename, self.name)
        return 'profile %s:%s' % (self.filename, self.name)


@dataclasses.dataclass(frozen=True)
class RuleSet:
    """Shipped profile rules, then operator rules, each in the order they
    apply (later wins); ``errors``: one line per file that was skipped."""

    builtin: typing.Tuple[Rule, ...] = ()
    operator: typing.Tuple[Rule, ...] = ()
    errors: typing.Tuple[str, ...] = ()


def _describe(value):
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + '...'


def _quote_hint(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return ' (quote ids and versions: "%s")' % value
    return ''


def _strings(filename, rule, field, value):
    """A string or a non-empty list of strings -> tuple of str."""
    if isinstance(value, str):
        items = [value]
    elif isinstance(value, list) and value:
        items = value
    else:
        raise ProfileError(filename, 'must be a string or a non-empty list '
                           'of strings, got %s%s' % (_describe(value),
                                                     _quote_hint(value)),
                           rule, field)
    for item in items:
        if not isinstance(item, str) or not item:
            raise ProfileError(filename, 'must be a non-empty string, got '
                               '%s%s' % (_describe(item), _quote_hint(item)),
                               rule, field)
    return tuple(items)


def _parse_match(filename, rule, value):
    if not isinstance(value, dict):
        raise ProfileError(filename, 'must be a mapping of %s' % ', '.join(
            MATCH_FIELDS), rule, 'match')
    match = []
    for key, patterns in value.items():
        field = 'match.%s' % key
        if key not in MATCH_FIELDS:
            raise ProfileError(filename, 'unknown field (known: %s)' %
                               ', '.join(MATCH_FIELDS), rule, field)
        patterns = tuple(p.lower() for p in
                         _strings(filename, rule, field, patterns))
        if key == 'kind':
            for p in patterns:
                if p not in KINDS:
                    raise ProfileError(filename, 'unknown kind %r (known: '
                                       '%s)' % (p, ', '.join(KINDS)),
                                       rule, field)
        match.append((key, patterns))
    return tuple(sorted(match))


def _int(filename, rule, field, value, minimum):
    if (not isinstance(value, int) or isinstance(value, bool)
            or value < minimum):
        raise ProfileError(filename, 'must be an integer >= %d, got %s'
                           % (minimum, _describe(value)), rule, field)
    return value


def _parse_capability(filename, rule, key, value):
    field = 'set.%s' % key
    if value is None:
        return None
    if key == 'cuda_compute_capability':
        if not isinstance(value, str) or not _CC_RE.match(value):
            raise ProfileError(filename, 'must be a quoted "major.minor" '
                               'string such as "8.6", got %s'
                               % _describe(value), rule, field)
        major, minor = _CC_RE.match(value).groups()
        return '%d.%d' % (int(major), int(minor))
    if key == 'cuda':
        if not isinstance(value, bool):
            raise ProfileError(filename, 'must be true or false, got %s'
                               % _describe(value), rule, field)
        return value
    if key == 'apis':
        if not isinstance(value, list):
            raise ProfileError(filename, 'must be a list of API names, got '
                               '%s' % _describe(value), rule, field)
        apis = []
        for api in value:
            if not isinstance(api, str) or not _API_RE.match(api.upper()):
                raise ProfileError(
                    filename, 'unknown API name %s (VULKAN, DXVA, DIRECT2D, '
                    'OPENGL_V<x>_<y>, OPENCL_V<x>_<y>, VULKAN_V<x>_<y>, '
                    'DIRECTX_V<x>, DIRECT3D_V<x>_<y>)' % _describe(api),
                    rule, field)
            apis.append(api.upper())
        return tuple(apis)
    if key == 'display_heads':
        return _int(filename, rule, field, value, 0)
    if key == 'framebuffer_mb':
        return _int(filename, rule, field, value, 1)
    if key == 'max_resolution':
        match = _RESOLUTION_RE.match(value) if isinstance(value, str) else None
        if not match or 0 in (int(match.group(1)), int(match.group(2))):
            raise ProfileError(filename, 'must be "<width>x<height>", got %s'
                               % _describe(value), rule, field)
        return '%dx%d' % (int(match.group(1)), int(match.group(2)))
    raise ProfileError(filename, 'unknown capability (known: %s)' %
                       ', '.join(gpu_contract.CAPABILITIES), rule, field)


def _parse_traits(filename, rule, value, operator):
    if not isinstance(value, list):
        raise ProfileError(filename, 'must be a list of trait names, got %s'
                           % _describe(value), rule, 'traits')
    traits = []
    for trait in value:
        if not isinstance(trait, str) or not names.is_valid_trait(trait):
            raise ProfileError(filename, 'invalid trait name %s (CUSTOM_ '
                               'followed by A-Z, 0-9 and _, at most %d '
                               'characters%s)' % (
                                   _describe(trait), names.MAX_TRAIT_LENGTH,
                                   '' if operator else
                                   ', or a standard os-traits name'),
                               rule, 'traits')
        if operator and not trait.startswith(names.CUSTOM_PREFIX):
            raise ProfileError(filename, 'operator rules may only add '
                               'CUSTOM_ traits, got %s' % trait, rule,
                               'traits')
        if operator and trait.startswith(contract.RESERVED_PREFIXES):
            # these prefixes say "set by the exporter" when its record is
            # lost (placement.record.Ownership): a rule must not forge them
            raise ProfileError(filename, '%s uses a prefix reserved for '
                               'the traits the exporter derives itself (%s)'
                               % (trait, ', '.join(
                                   contract.RESERVED_PREFIXES)),
                               rule, 'traits')
        traits.append(trait)
    return tuple(traits)


def parse_rules(data, filename, operator=False):
    """Validate the loaded data of one file; return its rules in order.

    :raises ProfileError: the first problem found; the caller skips the
        whole file (a file is never half-applied).
    """
    if not isinstance(data, dict):
        raise ProfileError(filename, 'must be a mapping with a "rules" list, '
                           'got %s' % _describe(data))
    for key in data:
        if key not in _TOP_KEYS:
            raise ProfileError(filename, 'unknown top-level field %s '
                               '(known: %s)' % (_describe(key),
                                                ', '.join(_TOP_KEYS)))
    version = data.get('version', FORMAT_VERSION)
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise ProfileError(filename, 'unsupported version %s (this exporter '
                           'reads version %d)' % (_describe(version),
                                                  FORMAT_VERSION),
                           field='version')
    if 'description' in data and not isinstance(data['description'], str):
        raise ProfileError(filename, 'must be a string', field='description')
    raw_rules = data.get('rules')
    if not isinstance(raw_rules, list):
        raise ProfileError(filename, 'must be a list of rules, got %s' %
                           _describe(raw_rules), field='rules')
    rules = []
    seen = set()
    for index, raw in enumerate(raw_rules, 1):
        label = '#%d' % index
        if not isinstance(raw, dict):
            raise ProfileError(filename, 'must be a mapping, got %s' %
                               _describe(raw), label)
        name = raw.get('name')
        if not isinstance(name, str) or not _RULE_NAME_RE.match(name):
            raise ProfileError(filename, 'must be a string of letters, '
                               'digits, "_", "." and "-", got %s' %
                               _describe(name), label, 'name')
        label = name
        if name in seen:
            raise ProfileError(filename, 'duplicate rule name', label,
                               'name')
        seen.add(name)
        for key in raw:
            if key not in _RULE_KEYS:
                raise ProfileError(filename, 'unknown field (known: %s)' %
                                   ', '.join(_RULE_KEYS), label, key)
        if 'description' in raw and not isinstance(raw['description'], str):
            raise ProfileError(filename, 'must be a string', label,
                               'description')
        if 'match' not in raw:
            raise ProfileError(filename, 'is required (use {} to match '
                               'every GPU)', label, 'match')
        match = _parse_match(filename, label, raw['match'])
        settings = raw.get('set', {})
        if not isinstance(settings, dict):
            raise ProfileError(filename, 'must be a mapping of capabilities, '
                               'got %s' % _describe(settings), label, 'set')
        parsed_set = tuple(
            (key, _parse_capability(filename, label, key, value))
            for key, value in settings.items())
        traits = _parse_traits(filename, label, raw.get('traits', []),
                               operator)
        if not parsed_set and not traits:
            raise ProfileError(filename, 'sets no capability and adds no '
                               'trait', label)
        rules.append(Rule(filename=filename, name=name, operator=operator,
                          match=match, set=parsed_set, traits=traits))
    return tuple(rules)


def parse_text(text, filename, operator=False):
    """``yaml.safe_load`` ``text`` and validate it (see
    :func:`parse_rules`)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        problem = getattr(exc, 'problem', None) or str(exc).split('\n')[0]
        where = ' at line %d' % (mark.line + 1) if mark is not None else ''
        raise ProfileError(filename, 'not valid YAML%s: %s' % (where,
                                                               problem))
    return parse_rules(data, filename, operator)


def rule_matches(rule, target):
    """Whether every field of ``rule.match`` matches ``target``.

    ``target`` is a :class:`mdev_traits.mapping.gpu.GpuTarget`; a field the
    target does not have (None) never matches.
    """
    for field, patterns in rule.match:
        values = target.match_values(field)
        if not any(fnmatch.fnmatchcase(value.lower(), pattern)
                   for value in values if value
                   for pattern in patterns):
            return False
    return True
