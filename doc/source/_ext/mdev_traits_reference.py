#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""The trait reference, generated at build time from the code.

``.. mdev-traits-table:: NAME`` renders one table from the data the
exporter itself uses, so that the reference cannot drift from what is
published:

``contract``
    the trait templates of :mod:`mdev_traits.mapping.contract` (trait
    contract v2), with the comments above each one in the source;
``reserved-prefixes``
    ``contract.RESERVED_PREFIXES``;
``gpu-levels``
    the GPU capability traits of :mod:`mdev_traits.mapping.gpu_contract`,
    named by the functions of :mod:`mdev_traits.mapping.gpu_traits` that
    publish them (display heads, resolutions, framebuffer, CUDA compute
    capability);
``gpu-apis``
    the graphics and compute API traits, per family and version from the
    floor up, with what each one implies;
``floors``
    the default floor of each capability ladder
    (``gpu_contract.DEFAULT_FLOORS``) with the reason from the source;
``profiles``
    the rules of the shipped profiles (``mdev_traits/profiles/*.yaml``),
    as loaded and validated by :mod:`mdev_traits.profiles.loader`;
``rule-format``
    the fields of a rule file, from the JSON schema
    (:data:`mdev_traits.profiles.schema.SCHEMA`) that validates them;
``rule-schema``
    that schema itself, as JSON;
``virtio-features``
    the virtio feature bits of :mod:`mdev_traits.mapping.vdpa_data`;
``compatibility-rules``
    the trait families of :mod:`mdev_traits.mapping.requirements`
    (``mdev-traits-exporter requirements``).

A template placeholder without an example value, or a shipped profile
that does not load, is a build warning (``sphinx-build -W`` fails).
"""

import ast
import inspect
import json
import os
import re

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles
import yaml

from mdev_traits.mapping import budget
from mdev_traits.mapping import contract
from mdev_traits.mapping import floors
from mdev_traits.mapping import gpu_contract
from mdev_traits.mapping import gpu_description
from mdev_traits.mapping import gpu_traits
from mdev_traits.mapping import names
from mdev_traits.mapping import requirements
from mdev_traits.mapping import vdpa as vdpa_mapping
from mdev_traits.mapping import vdpa_data
from mdev_traits.mapping import versions as versions_mod
from mdev_traits.profiles import schema as profiles_schema
from mdev_traits.profiles import loader as profiles_loader

LOG = logging.getLogger(__name__)

# Example values of the template placeholders of the contract.
EXAMPLES = {
    'type_id': 'nvidia-231',
    'device_api': 'vfio-pci',
    'vendor': '10de',
    'device': '1eb8',
    'driver': 'nvidia',
    'major': '535',
    'minor': '129',
    'field': 'pci_ids',
    'value': '8086:4940',
    'type': 'net',
    'level': '8',
    'name': 'VIRTIO_NET_F_MQ',
}
# ... where a template needs another one
EXAMPLE_OVERRIDES = {
    'VDPA_MGMTDEV_DRIVER': {'driver': 'mlx5_core'},
    'VDPA_MAX_VQ_SIZE': {'level': '256'},
}
_PLACEHOLDER = re.compile(r'\{(\w+)\}')

POLICIES = {
    requirements.EXACT: 'the same trait',
    requirements.TOP: 'the highest level of the source',
    requirements.ALL: 'every trait of the family the source has',
    requirements.FRONTIER: 'the largest resolutions of the source (they '
                           'imply the smaller ones)',
    requirements.SKIP: 'nothing',
}


def _literal(text):
    return '``%s``' % text if text else ''


def _text(text):
    """Plain text (from comments, YAML descriptions) in reST."""
    return re.sub(r'([\\`*_|<>\[\]])', r'\\\1', text or '')


def _list_table(header, rows, widths=None):
    lines = ['.. list-table::', '   :header-rows: 1']
    if widths:
        lines.append('   :widths: %s' % ' '.join(str(w) for w in widths))
    lines.append('')
    for row in [header] + rows:
        first = True
        for cell in row:
            cell_lines = str(cell).split('\n') if cell != '' else ['']
            prefix = '   * - ' if first else '     - '
            lines.append(prefix + cell_lines[0])
            lines.extend('       ' + extra for extra in cell_lines[1:])
            first = False
    lines.append('')
    return lines


def _comments_above(module):
    """{constant name: the comment lines right above its assignment}; an
    assignment right below another one without a comment of its own
    shares that one's."""
    source = inspect.getsource(module).split('\n')
    result = {}
    previous = None
    for node in ast.parse('\n'.join(source)).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)):
            previous = None
            continue
        comment = []
        i = node.lineno - 2
        while i >= 0 and source[i].startswith('#'):
            comment.insert(0, source[i].lstrip('#').strip())
            i -= 1
        text = ' '.join(comment)
        if (not text and previous is not None
                and previous.end_lineno == node.lineno - 1):
            text = result[previous.targets[0].id]
        result[node.targets[0].id] = text
        previous = node
    return result


def _template_trait(template):
    """``CUSTOM_MDEV_TYPE_<TYPE_ID>`` for ``MDEV_TYPE_{type_id}``."""
    shown = _PLACEHOLDER.sub(lambda m: '<%s>' % m.group(1).upper(),
                             template)
    return shown if shown.startswith('CUSTOM_') else 'CUSTOM_' + shown


def _template_example(name, template, location):
    examples = dict(EXAMPLES, **EXAMPLE_OVERRIDES.get(name, {}))
    missing = [p for p in _PLACEHOLDER.findall(template)
               if p not in examples]
    if missing:
        LOG.warning('mdev-traits-table: no example value for %s in %r: '
                    'add it to EXAMPLES in %s', ', '.join(missing),
                    template, __file__, location=location)
        return ''
    return names.custom_trait(template.format(**examples))


def contract_table(location):
    comments = _comments_above(contract)
    rows = []
    for name, value in vars(contract).items():
        if (not name.isupper() or not isinstance(value, str)
                or '{' not in value or name.endswith('RESOURCE_CLASS')):
            continue
        rows.append([_literal(_template_trait(value)),
                     _literal(_template_example(name, value, location)),
                     _text(comments.get(name, ''))])
    rows.append([
        _literal(vdpa_mapping.neutron_trait(
            contract.NEUTRON_PHYSNET_PREFIX, '') + '<PHYSNET>'),
        _literal(vdpa_mapping.neutron_trait(
            contract.NEUTRON_PHYSNET_PREFIX, 'physnet1')),
        _text(comments.get('NEUTRON_PHYSNET_PREFIX', ''))])
    rows.append([
        _literal(vdpa_mapping.neutron_trait(
            contract.NEUTRON_VNIC_TYPE_PREFIX,
            contract.NEUTRON_VNIC_TYPE_VDPA)), '',
        'with the one above, for the devices of the mapped interfaces'])
    return _list_table(['trait', 'example', 'meaning (from the code)'], rows,
                       widths=[30, 30, 40])


def reserved_prefixes_table(location):
    return ['* ' + _literal(p) for p in contract.RESERVED_PREFIXES] + ['']


def _new_names(levels, traits_of):
    """[(level, traits published from that level on)]."""
    seen = set()
    rows = []
    for level in levels:
        new = [t for t in traits_of(level) if t not in seen]
        seen.update(new)
        rows.append((level, new))
    return rows


def gpu_levels_table(location):
    rows = []
    heads = _new_names(gpu_contract.STANDARD_DISPLAY_HEADS,
                       gpu_traits.heads_traits)
    rows.append([
        'display heads of the vGPU type',
        ', '.join(_literal(t) for _lvl, new in heads for t in new),
        'every level from the floor (%d) up to the type\'s heads'
        % floors.DEFAULT.display_heads])
    resolutions = ['%dx%d' % r for r in gpu_contract.STANDARD_RESOLUTIONS]
    rows.append([
        'maximum resolution W x H',
        ', '.join(_literal(t)
                  for t in gpu_traits.resolution_traits('99999x99999')),
        'every resolution with w <= W and h <= H that is not inside the '
        'floor %dx%d (of %s)' % (floors.DEFAULT.resolution + (', '.join(
            resolutions),))])
    framebuffer = gpu_traits.framebuffer_traits(
        gpu_contract.FRAMEBUFFER_MIN_MB * 8)
    rows.append([
        'framebuffer (MiB)',
        ', '.join(_literal(t) for t in framebuffer) + ', ...',
        'every power of two from the floor (%d MiB) up to the framebuffer'
        % max(gpu_contract.FRAMEBUFFER_MIN_MB,
              floors.DEFAULT.framebuffer_mb)])
    cuda = _new_names(gpu_contract.CUDA_KNOWN, gpu_traits.cuda_traits)
    rows.append([
        'CUDA compute capability of the physical GPU (when the guest gets '
        'CUDA)',
        ', '.join(_literal(t) for _lvl, new in cuda for t in new),
        'every known level from the floor up to the GPU\'s (%s)' % ', '.join(
            '%d.%d' % lvl for lvl, new in cuda if new)])
    return _list_table(['capability', 'traits', 'published'], rows,
                       widths=[20, 55, 25])


def gpu_apis_table(location):
    rows = []
    for api in gpu_contract.API_UNVERSIONED:
        rows.append([_literal(api), ', '.join(
            _literal(t) for t in gpu_traits.api_traits(api)), 'itself only'])
    for family, versions in gpu_contract.API_VERSIONS.items():
        lower = []
        floor = floors.DEFAULT.api(family)
        for version in versions:
            level = '%s_V%s' % (family, version)
            if floor is not None and floors.version_key(version) < floor:
                continue
            implied = gpu_traits.api_names(level, floors.DEFAULT)[:-1]
            new = [t for t in gpu_traits.api_traits(level)
                   if t not in {x for lv in lower
                                for x in gpu_traits.api_traits(lv)}]
            expected = ([family] if family == 'VULKAN' else []) + lower
            if not implied:
                also = 'itself only'
            elif implied == expected:
                also = 'every lower version' + (
                    ' and ``VULKAN``' if family == 'VULKAN' else '')
            else:
                also = ', '.join(_literal(a) for a in implied)
            rows.append([_literal(level),
                         ', '.join(_literal(t) for t in new), also])
            lower.append(level)
    return _list_table(['API (profile name)', 'trait', 'a device at this '
                        'level also has'], rows, widths=[25, 45, 30])


def floors_table(location):
    comments = _floor_comments()
    rows = [[_literal(key), _literal(value), _text(comments.get(key, ''))]
            for key, value in gpu_contract.DEFAULT_FLOORS.items()]
    return _list_table(['ladder', 'default floor', 'why'], rows,
                       widths=[20, 15, 65])


def _floor_comments():
    """{key: the comment right above it in DEFAULT_FLOORS}."""
    source = inspect.getsource(gpu_contract).split('\n')
    result = {}
    comment = []
    inside = False
    for line in source:
        stripped = line.strip()
        if stripped.startswith('DEFAULT_FLOORS'):
            inside = True
            continue
        if not inside:
            continue
        if stripped == '}':
            break
        if stripped.startswith('#'):
            comment.append(stripped.lstrip('#').strip())
            continue
        match = re.match(r"'(\w+)':", stripped)
        if match:
            result[match.group(1)] = ' '.join(comment)
            comment = []
    return result


def limits_list(location):
    return [
        '* at most %d traits per GPU provider by default (``[exporter] '
        'max_traits_per_provider``), %d whatever the configuration;'
        % (budget.DEFAULT_MAX_TRAITS, budget.HARD_MAX_TRAITS),
        '* at most %d version buckets of lower minors per driver branch '
        '(``[exporter] max_version_buckets``), besides the device\'s own;'
        % versions_mod.DEFAULT_MAX_BUCKETS,
        '* a minor above %d publishes its own bucket only.'
        % versions_mod.MAX_MINOR, '']


def _yaml_value(value):
    if isinstance(value, (list, tuple)):
        return ', '.join(str(v) for v in value)
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value)


def profiles_tables(location):
    rules, errors = profiles_loader.load_builtin()
    for error in errors:
        LOG.warning('mdev-traits-table: shipped profile: %s', error,
                    location=location)
    loaded = {(r.filename, r.name) for r in rules}
    lines = []
    for path in profiles_loader.profile_files(profiles_loader.BUILTIN_DIR):
        filename = os.path.basename(path)
        with open(path, encoding='utf-8') as f:
            data = yaml.safe_load(f)
        lines += ['``%s``: %s' % (filename,
                                  _text(data.get('description', ''))), '']
        rows = []
        for rule in data.get('rules', []):
            if (filename, rule['name']) not in loaded:
                continue
            match = '\n'.join('| %s: %s' % (k, _literal(_yaml_value(v)))
                              for k, v in rule.get('match', {}).items())
            sets = '\n'.join('| %s: %s' % (k, _literal(_yaml_value(v)))
                             for k, v in rule.get('set', {}).items())
            rows.append([_literal(rule['name']),
                         _text(rule.get('description', '')), match, sets])
        lines += _list_table(['rule', 'description', 'match', 'set'], rows,
                             widths=[15, 30, 35, 20])
    return lines


def _schema_value(node):
    """What a value of the schema ``node`` may be, in words."""
    types = node.get('type', [])
    types = [types] if isinstance(types, str) else list(types)
    words = []
    if 'const' in node:
        words.append(_literal(json.dumps(node['const'])))
    for kind in types:
        if kind == 'array':
            item = node.get('items', {}).get('type')
            words.append('list of %s' % {'object': 'mappings'}.get(
                item, '%ss' % item) if item else 'list')
        elif kind == 'object':
            words.append('mapping')
        elif kind == 'integer' and 'minimum' in node:
            words.append('integer >= %d' % node['minimum'])
        elif kind == 'null':
            words.append('``null`` (removes it)')
        else:
            words.append(kind)
    if node.get('minItems'):
        words.append('(lists: not empty)')
    return ' or '.join(w for w in words if not w.startswith('(')) + ''.join(
        ' ' + w for w in words if w.startswith('('))


def _schema_rows(node, path, required=False):
    yield [_literal(path), 'yes' if required else '', _schema_value(node),
           _text(node.get('description', ''))]
    for key, child in node.get('properties', {}).items():
        yield from _schema_rows(child, '%s.%s' % (path, key) if path
                                else key, key in node.get('required', ()))
    items = node.get('items', {})
    if items.get('type') == 'object':
        yield from _schema_rows(items, path + '[]')


def rule_format_table(location):
    rows = list(_schema_rows(profiles_schema.SCHEMA, ''))[1:]
    return _list_table(['field', 'required', 'value', 'what it is'], rows,
                       widths=[30, 10, 25, 35])


def rule_schema_block(location):
    text = json.dumps(profiles_schema.SCHEMA, indent=2)
    return ['.. code-block:: json', ''] + [
        '   ' + line for line in text.splitlines()] + ['']


def virtio_features_table(location):
    rows = []
    tables = [('all', vdpa_data.TRANSPORT_FEATURES)] + sorted(
        vdpa_data.DEVICE_FEATURES.items())
    for device_type, features in tables:
        for feature in features:
            rows.append([device_type, str(feature.bit),
                         _literal(names.custom_trait(feature.name)),
                         _literal(feature.tool_name or
                                  'bit_%d' % feature.bit),
                         _literal(feature.standard)])
    return _list_table(['device type', 'bit', 'trait', 'vdpa tool prints',
                        'standard trait also published'], rows,
                       widths=[10, 6, 38, 22, 24])


def compatibility_rules_table(location):
    rows = []
    for family in requirements.FAMILIES:
        rows.append([family.name, _literal(family.pattern),
                     POLICIES[family.policy], _text(family.reason)])
    return _list_table(['family', 'source traits (regular expression)',
                        'the destination must have', 'why'], rows,
                       widths=[18, 32, 25, 25])


# the modules the tables are made from
SOURCES = (budget, contract, floors, gpu_contract, gpu_description,
           gpu_traits, names, profiles_schema, requirements, vdpa_mapping,
           vdpa_data, versions_mod)

TABLES = {
    'contract': contract_table,
    'reserved-prefixes': reserved_prefixes_table,
    'gpu-levels': gpu_levels_table,
    'gpu-apis': gpu_apis_table,
    'floors': floors_table,
    'limits': limits_list,
    'profiles': profiles_tables,
    'rule-format': rule_format_table,
    'rule-schema': rule_schema_block,
    'virtio-features': virtio_features_table,
    'compatibility-rules': compatibility_rules_table,
}


class TraitsTable(SphinxDirective):
    required_arguments = 1
    has_content = False
    option_spec = {'class': directives.class_option}

    def run(self):
        name = self.arguments[0]
        if name not in TABLES:
            LOG.warning('mdev-traits-table: unknown table %r (known: %s)',
                        name, ', '.join(sorted(TABLES)),
                        location=self.get_location())
            return []
        # rebuild the page when the data changes
        self.env.note_dependency(os.path.abspath(__file__))
        for module in SOURCES:
            self.env.note_dependency(inspect.getsourcefile(module))
        for path in profiles_loader.profile_files(profiles_loader.BUILTIN_DIR):
            self.env.note_dependency(path)
        lines = TABLES[name](self.get_location())
        content = StringList(lines, source='<mdev-traits-table %s>' % name)
        node = nodes.container()
        nested_parse_with_titles(self.state, content, node)
        return node.children


def setup(app):
    app.add_directive('mdev-traits-table', TraitsTable)
    return {'version': '1', 'parallel_read_safe': True,
            'parallel_write_safe': True}
