"""The JSON schema (Draft 2020-12) of a profile or operator rule file.

The format, as nova validates its provider config files
(nova/compute/provider_config.py: ``SCHEMA_V1`` checked with
``jsonschema.validate`` after ``yaml.safe_load``, then
``_validate_provider_config`` for what the schema cannot say, such as
"only custom traits"). :mod:`mdev_traits.profiles.parser` does the same:
this schema first, then the few checks it cannot express.

Besides the standard keywords, the nodes carry the one-line messages the
operator reads (annotations, ignored by validation, see
:func:`mdev_traits.profiles.parser.schema_error`):

``x-message``
    what the value must be; ``{value}`` is the value found (shortened),
    ``{hint}`` a hint to quote a number that should be a string;
    ``x-message-<keyword>`` for the failures of that keyword only;
``x-required``
    when the field is missing (default: ``x-message`` with ``None``);
``x-unknown``
    for a field the mapping does not know: ``{key}`` the field, ``{known}``
    the known ones (without ``{key}`` the field is named as the field).

The enumerations come from the code that uses them (match fields and kinds:
:mod:`mdev_traits.mapping.gpu_rules`; capabilities:
:mod:`mdev_traits.mapping.gpu_contract`), so the schema and the matching
cannot drift apart.
"""

from mdev_traits.mapping import gpu_contract
from mdev_traits.mapping import gpu_rules
from mdev_traits.mapping import names

FORMAT_VERSION = 1

# letters, digits, "_", "." and "-", at most 100 characters
RULE_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$'
# ASCII digits ([0-9], not \d: Python's re matches other scripts' digits)
CC_PATTERN = '^([0-9]{1,3})\\.([0-9]{1,3})$'
# neither side 0 (leading zeros allowed, as int() reads them)
RESOLUTION_PATTERN = ('^(?=[0-9]{1,6}x)0*[1-9][0-9]*'
                      'x(?=[0-9]{1,6}$)0*[1-9][0-9]*$')


def _any_case(word):
    """A regular expression for ``word`` in any case (JSON schema patterns
    (ECMA-262) have no flags, so no ``(?i)``)."""
    return ''.join('[%s%s]' % (c.upper(), c.lower()) if c.isalpha()
                   else '\\.' if c == '.' else c for c in word)


_N = '[0-9]{1,3}'
# the API names the profiles use (``set: {apis: [...]}``), in any case:
# VULKAN, DXVA, DIRECT2D, DIRECTX_V<x>, OPENGL_V<x>_<y>, OPENCL_V<x>_<y>,
# VULKAN_V<x>_<y>, DIRECT3D_V<x>_<y>[A-Z]
API_PATTERN = '^(?:%s)$' % '|'.join((
    _any_case('VULKAN'), _any_case('DXVA'), _any_case('DIRECT2D'),
    _any_case('DIRECTX_V') + _N,
    '(?:%s|%s|%s)' % (_any_case('OPENGL'), _any_case('OPENCL'),
                      _any_case('VULKAN')) + _any_case('_V') + _N + '_' + _N,
    _any_case('DIRECT3D_V') + _N + '_' + _N + '[A-Za-z]?'))
KIND_PATTERN = '^(?:%s)$' % '|'.join(_any_case(k) for k in gpu_rules.KINDS)

_STRINGS_MESSAGE = ('must be a string or a non-empty list of strings, got '
                    '{value}{hint}')
_NON_EMPTY_MESSAGE = 'must be a non-empty string, got {value}{hint}'


def _patterns(description, pattern=None, pattern_message=None):
    """A match field: a glob or a non-empty list of globs (with
    ``pattern``: names that must match it, not globs)."""
    item = {'type': 'string', 'minLength': 1, 'x-message': _NON_EMPTY_MESSAGE}
    node = {'description': description,
            'type': ['string', 'array'], 'minLength': 1, 'minItems': 1,
            'items': item,
            'x-message': _STRINGS_MESSAGE,
            'x-message-minLength': _NON_EMPTY_MESSAGE}
    if pattern:
        for schema in (node, item):
            schema['pattern'] = pattern
            schema['x-message-pattern'] = pattern_message
    return node


_KIND = _patterns(
    'mdev: a mediated device type; vgpu-vf: an NVIDIA vGPU on an SR-IOV '
    'VF; passthrough: a whole GPU (a name, not a glob)', KIND_PATTERN,
    'unknown kind {value} (known: %s)' % ', '.join(gpu_rules.KINDS))

MATCH = {
    'description': 'every field given must match (AND); a list matches '
                   'when any item does (OR); shell-style globs (* ? [..]), '
                   'case-insensitive; {} matches every GPU',
    'type': 'object',
    'properties': {
        'address': _patterns('the PCI address of the device or of its '
                             'physical GPU (the PF of an SR-IOV VF)'),
        'vendor': _patterns('PCI vendor id, quoted ("10de")'),
        'device': _patterns('PCI device id, quoted ("2235")'),
        'driver': _patterns('the driver the device is bound to'),
        'type': _patterns('the mdev type id, or the vGPU type id of a VF'),
        'type_name': _patterns('the name of the type ("NVIDIA A40-2Q")'),
        'kind': _KIND,
    },
    'additionalProperties': False,
    'x-message': 'must be a mapping of %s' % ', '.join(
        gpu_rules.MATCH_FIELDS),
    'x-required': 'is required (use {} to match every GPU)',
    'x-unknown': 'unknown field (known: {known})',
}
assert tuple(MATCH['properties']) == gpu_rules.MATCH_FIELDS


def _int(minimum, description):
    return {'description': description, 'type': ['integer', 'null'],
            'minimum': minimum,
            'x-message': 'must be an integer >= %d, got {value}' % minimum}


SET = {
    'description': 'capabilities; null removes one',
    'type': 'object',
    'properties': {
        'cuda_compute_capability': {
            'description': 'CUDA compute capability, a quoted "M.m"',
            'type': ['string', 'null'], 'pattern': CC_PATTERN,
            'x-message': 'must be a quoted "major.minor" string such as '
                         '"8.6", got {value}'},
        'cuda': {
            'description': 'CUDA offered to the guest',
            'type': ['boolean', 'null'],
            'x-message': 'must be true or false, got {value}'},
        'apis': {
            'description': 'graphics and compute APIs: VULKAN, DXVA, '
                           'DIRECT2D, DIRECTX_V<x>, OPENGL_V<x>_<y>, '
                           'OPENCL_V<x>_<y>, VULKAN_V<x>_<y>, '
                           'DIRECT3D_V<x>_<y>',
            'type': ['array', 'null'],
            'items': {
                'type': 'string', 'pattern': API_PATTERN,
                'x-message': 'unknown API name {value} (VULKAN, DXVA, '
                             'DIRECT2D, OPENGL_V<x>_<y>, OPENCL_V<x>_<y>, '
                             'VULKAN_V<x>_<y>, DIRECTX_V<x>, '
                             'DIRECT3D_V<x>_<y>)'},
            'x-message': 'must be a list of API names, got {value}'},
        'display_heads': _int(0, 'display heads (virtual monitors)'),
        'max_resolution': {
            'description': 'largest display resolution, "<width>x<height>"',
            'type': ['string', 'null'], 'pattern': RESOLUTION_PATTERN,
            'x-message': 'must be "<width>x<height>", got {value}'},
        'framebuffer_mb': _int(1, 'framebuffer size in MiB'),
    },
    'additionalProperties': False,
    'x-message': 'must be a mapping of capabilities, got {value}',
    'x-unknown': 'unknown capability (known: {known})',
}
assert tuple(SET['properties']) == gpu_contract.CAPABILITIES

RULE = {
    'description': 'one rule: the GPUs it matches, the capabilities it '
                   'sets and the traits it adds (at least one of them)',
    'type': 'object',
    'properties': {
        'name': {
            'description': 'unique in the file; letters, digits, "_", "." '
                           'and "-"',
            'type': 'string', 'pattern': RULE_NAME_PATTERN,
            'x-message': 'must be a string of letters, digits, "_", "." '
                         'and "-", got {value}'},
        'description': {'description': 'free text', 'type': 'string',
                        'x-message': 'must be a string'},
        'match': MATCH,
        'set': SET,
        'traits': {
            'description': 'traits added as they are (operator rules: '
                           'CUSTOM_ only, none with a reserved prefix)',
            'type': 'array',
            # the names themselves are checked by the code: a standard
            # name must be one os-traits knows, and operator rules may
            # only add CUSTOM_ traits (parser._check_rules)
            'items': {'type': 'string',
                      'x-message': 'invalid trait name {value} (CUSTOM_ '
                                   'followed by A-Z, 0-9 and _, at most %d '
                                   'characters)' % names.MAX_TRAIT_LENGTH},
            'x-message': 'must be a list of trait names, got {value}'},
    },
    'required': ['name', 'match'],
    'additionalProperties': False,
    # a rule must do something: set a capability or add a trait
    'allOf': [{
        'anyOf': [
            {'required': ['set'], 'properties': {'set': {
                'minProperties': 1}}},
            {'required': ['traits'], 'properties': {'traits': {
                'minItems': 1}}}],
        'x-message': 'sets no capability and adds no trait'}],
    'x-message': 'must be a mapping, got {value}',
    'x-unknown': 'unknown field (known: {known})',
}

SCHEMA = {
    '$schema': 'https://json-schema.org/draft/2020-12/schema',
    'title': 'mdev-traits GPU profile or operator rule file',
    'description': 'rules apply in file order, later rules win',
    'type': 'object',
    'properties': {
        'version': {
            'description': 'the format version; 1, the only one, when '
                           'absent',
            'const': FORMAT_VERSION,
            'x-message': 'unsupported version {value} (this exporter reads '
                         'version %d)' % FORMAT_VERSION},
        'description': {'description': 'free text', 'type': 'string',
                        'x-message': 'must be a string'},
        'rules': {
            'description': 'the rules, in the order they apply',
            'type': 'array', 'items': RULE,
            'x-message': 'must be a list of rules, got {value}'},
    },
    'required': ['rules'],
    'additionalProperties': False,
    'x-message': 'must be a mapping with a "rules" list, got {value}',
    'x-unknown': 'unknown top-level field {key} (known: {known})',
}
