"""Parse and validate one profile or operator rule file (pure).

As nova reads its provider config files (nova/compute/provider_config.py:
``_load_yaml_file`` with ``yaml.safe_load``, ``_parse_provider_yaml`` with
``jsonschema.validate`` against ``SCHEMA_V1``, then
``_validate_provider_config`` for what the schema cannot say): the text is
loaded with ``yaml.safe_load`` (data only: no tags that build objects),
validated against :data:`mdev_traits.profiles.schema.SCHEMA`, then checked
for the few things a schema cannot express (:func:`_check_rules`).

The first problem found is raised as a :class:`ProfileError`, one line
naming the file, the rule (its name, or ``#<index>`` when the name itself
is wrong) and the field; the caller skips the whole file.
"""

import functools
import itertools
import re

import jsonschema
import yaml

from mdev_traits.mapping import contract
from mdev_traits.mapping import gpu_rules
from mdev_traits.mapping import names
from mdev_traits.profiles import schema as schema_mod


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


def _describe(value):
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + '...'


def _quote_hint(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return ' (quote ids and versions: "%s")' % value
    return ''


def _fill(template, **values):
    """``template`` with its ``{name}`` placeholders replaced (and any
    other brace, such as ``{}``, kept)."""
    return re.sub(r'\{(\w+)\}',
                  lambda m: values.get(m.group(1), m.group(0)), template)


def _is_integer(checker, instance):
    # YAML tells 2 from 2.0: a float is not a count (Draft 6 and later
    # accept 2.0 as an integer), nor is a bool
    return isinstance(instance, int) and not isinstance(instance, bool)


def _pattern(validator, pattern, instance, schema):
    # Python's re.search lets "$" match before a final newline, where the
    # ECMA-262 regular expressions JSON schema means do not: "mdev\n" (a
    # YAML "|" block) would pass '^(?:mdev|...)$' and then never match
    if validator.is_type(instance, 'string') and (
            '\n' in instance or '\r' in instance):
        yield jsonschema.ValidationError(
            '%r does not match %r' % (instance, pattern))
        return
    yield from jsonschema.Draft202012Validator.VALIDATORS['pattern'](
        validator, pattern, instance, schema)


@functools.lru_cache(maxsize=1)
def validator():
    """The Draft 2020-12 validator of :data:`schema.SCHEMA`."""
    base = jsonschema.Draft202012Validator
    cls = jsonschema.validators.extend(
        base, validators={'pattern': _pattern},
        type_checker=base.TYPE_CHECKER.redefine('integer', _is_integer))
    return cls(schema_mod.SCHEMA)


# Bounds on what one file may cost, whatever it holds. The size cap
# ([profiles] max_file_size) bounds the text, not the data: YAML aliases
# ("*r" 80,000 times) expand one node many times, and validation, like
# any walk of the data, pays for every expansion. The shipped profiles
# have 23 rules, at most 6 levels deep and about 520 values.
MAX_RULES = 1000
MAX_NODES = 100000
MAX_DEPTH = 32
# schema errors collected before the first one (in document order) is
# chosen: jsonschema yields them lazily, a bad file may have one per node
MAX_ERRORS = 100


def _size_problem(data):
    """Why ``data`` is too big or too deep to validate, or None (an
    iterative walk that stops at the first bound crossed)."""
    rules = data.get('rules') if isinstance(data, dict) else None
    if isinstance(rules, list) and len(rules) > MAX_RULES:
        return 'more than %d rules' % MAX_RULES
    todo = [(data, 1)]
    nodes = 0
    while todo:
        node, depth = todo.pop()
        nodes += 1
        if nodes > MAX_NODES:
            return ('more than %d values once its aliases are expanded'
                    % MAX_NODES)
        if depth > MAX_DEPTH:
            return 'nested more than %d levels deep' % MAX_DEPTH
        if isinstance(node, dict):
            children = itertools.chain(node.keys(), node.values())
        elif isinstance(node, list):
            children = node
        else:
            continue
        todo.extend((child, depth + 1) for child in children)
    return None


def _rule_label(raw, index):
    name = raw.get('name') if isinstance(raw, dict) else None
    if isinstance(name, str) and re.search(schema_mod.RULE_NAME_PATTERN,
                                           name):
        return name
    return '#%d' % (index + 1)


def _where(data, path):
    """(rule label, field names, node) of ``path`` in ``data``; list
    indices inside a rule are not part of the field name."""
    rule = None
    fields = []
    node = data
    for depth, part in enumerate(path):
        if isinstance(node, list):
            if depth == 1 and path[0] == 'rules':
                rule = _rule_label(node[part], part)
        else:
            if depth or part != 'rules' or len(path) == 1:
                fields.append(str(part))
        node = node[part]
    return rule, fields, node


def _order(data, error):
    """Where ``error`` is in the document: the first one is reported."""
    key = []
    node = data
    for part in error.absolute_path:
        key.append(part if isinstance(node, list) else list(node).index(part))
        node = node[part]
    if error.validator == 'required':
        key.append(-1)
    elif error.validator == 'additionalProperties':
        properties = error.schema.get('properties', {})
        key.append(min(i for i, k in enumerate(node) if k not in properties))
    elif error.validator == 'anyOf':
        # "does nothing": after the problems of the rule's fields
        key.append(len(node))
    else:
        key.append(-2)
    return key


def schema_error(filename, data, error):
    """The :class:`ProfileError` of one ``jsonschema`` error, with the
    message the schema node gives (``x-message`` & co., see
    :mod:`mdev_traits.profiles.schema`)."""
    rule, fields, node = _where(data, list(error.absolute_path))
    node_schema = error.schema
    values = {}
    if error.validator == 'required':
        missing = [k for k in error.validator_value if k not in node][0]
        fields.append(missing)
        node_schema = node_schema['properties'][missing]
        template = node_schema.get('x-required') or node_schema['x-message']
        value = None
    elif error.validator == 'additionalProperties':
        known = node_schema.get('properties', {})
        key = [k for k in node if k not in known][0]
        template = node_schema['x-unknown']
        values.update(known=', '.join(known), key=_describe(key))
        if '{key}' not in template:
            fields.append(str(key))
        value = key
    else:
        template = (node_schema.get('x-message-%s' % error.validator) or
                    node_schema.get('x-message') or error.message)
        value = error.instance
    values.update(value=_describe(value), hint=_quote_hint(value))
    return ProfileError(filename, _fill(template, **values), rule,
                        '.'.join(fields) or None)


def _check_rules(filename, raw_rules, operator):
    """What the schema cannot express, in rule order.

    * Rule names unique in the file: JSON schema's ``uniqueItems`` compares
      whole items, not one field of them.
    * Trait names: a standard name must be one os-traits knows (a catalogue
      that changes with the os-traits release, not a pattern); and operator
      rules may only add ``CUSTOM_`` traits, none with a prefix the
      exporter reserves, while the shipped profiles may name standard
      traits: one format, one schema, the rule depends on where the file
      comes from.

    Globs need no check: ``fnmatch`` reads any string (an unmatched ``[``
    is a literal), so a pattern cannot fail to compile.
    """
    seen = set()
    for raw in raw_rules:
        name = raw['name']
        if name in seen:
            raise ProfileError(filename, 'duplicate rule name', name, 'name')
        seen.add(name)
        for trait in raw.get('traits', ()):
            if not names.is_valid_trait(trait):
                raise ProfileError(
                    filename, 'invalid trait name %s (CUSTOM_ followed by '
                    'A-Z, 0-9 and _, at most %d characters%s)' % (
                        _describe(trait), names.MAX_TRAIT_LENGTH,
                        '' if operator else ', or a standard os-traits '
                        'name'), name, 'traits')
            if operator and not trait.startswith(names.CUSTOM_PREFIX):
                raise ProfileError(filename, 'operator rules may only add '
                                   'CUSTOM_ traits, got %s' % trait, name,
                                   'traits')
            if operator and trait.startswith(contract.RESERVED_PREFIXES):
                # these prefixes say "set by the exporter" when its record
                # is lost (placement.record.Ownership): a rule must not
                # forge them
                raise ProfileError(
                    filename, '%s uses a prefix reserved for the traits the '
                    'exporter derives itself (%s)' % (
                        trait, ', '.join(contract.RESERVED_PREFIXES)),
                    name, 'traits')


def _capability(key, value):
    """The canonical value of a valid capability."""
    if value is None:
        return None
    if key == 'cuda_compute_capability':
        major, minor = re.search(schema_mod.CC_PATTERN, value).groups()
        return '%d.%d' % (int(major), int(minor))
    if key == 'apis':
        return tuple(api.upper() for api in value)
    if key == 'max_resolution':
        width, height = value.split('x')
        return '%dx%d' % (int(width), int(height))
    return value


def _rule(filename, raw, operator):
    match = []
    for key, patterns in raw['match'].items():
        if isinstance(patterns, str):
            patterns = [patterns]
        match.append((key, tuple(p.lower() for p in patterns)))
    return gpu_rules.Rule(
        filename=filename, name=raw['name'], operator=operator,
        match=tuple(sorted(match)),
        set=tuple((key, _capability(key, value))
                  for key, value in raw.get('set', {}).items()),
        traits=tuple(raw.get('traits', ())))


def parse_rules(data, filename, operator=False):
    """Validate the loaded data of one file; return its rules in order.

    :param operator: from the operator's directory (stricter traits).
    :raises ProfileError: the first problem found; the caller skips the
        whole file (a file is never half-applied).
    """
    problem = _size_problem(data)
    if problem is not None:
        raise ProfileError(filename, 'too large to be a rule file: %s'
                           % problem)
    errors = list(itertools.islice(validator().iter_errors(data),
                                   MAX_ERRORS))
    if errors:
        first = min(errors, key=functools.partial(_order, data))
        raise schema_error(filename, data, first)
    _check_rules(filename, data['rules'], operator)
    return tuple(_rule(filename, raw, operator) for raw in data['rules'])


def parse_text(text, filename, operator=False):
    """``yaml.safe_load`` ``text`` and validate it (see
    :func:`parse_rules`)."""
    try:
        data = yaml.safe_load(text)
    except RecursionError:
        # PyYAML's composer recurses once per level: "[[[[...]]]]" a few
        # thousand deep exhausts the stack; the file is skipped like any
        # other that does not parse
        raise ProfileError(filename, 'not valid YAML: nested too deeply')
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        problem = getattr(exc, 'problem', None) or str(exc).split('\n')[0]
        where = ' at line %d' % (mark.line + 1) if mark is not None else ''
        raise ProfileError(filename, 'not valid YAML%s: %s' % (where,
                                                               problem))
    return parse_rules(data, filename, operator)
