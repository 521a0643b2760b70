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

"""Run iproute2's ``vdpa -j`` and parse what it prints (see
mdev_traits.discovery.vdpa for what each release prints)."""

import json
import re
import shlex
import subprocess

DEFAULT_COMMAND = 'vdpa'
DEFAULT_TIMEOUT = 10

# "type" of vdpa dev show (vdpa.c device_type_name) and the class names of
# mgmtdev show (vdpa.c class_map) -> the virtio class name used here.
DEVICE_TYPES = {
    'network': 'net',
    'net': 'net',
    'block': 'block',
    'blk': 'block',
}

# what vdpa/vdpa.c (cmd_dev, cmd_mgmtdev) prints on stderr for a command it
# does not have: iproute2 5.12 to 5.16 for "dev config"
_NOT_FOUND_RE = re.compile(r'^Command "[^"]*" not found$', re.MULTILINE)
_BIT_RE = re.compile(r'^bit_(\d+)$', re.IGNORECASE)

# (section printed, arguments)
MGMTDEV_SHOW = ('mgmtdev', ('mgmtdev', 'show'))
DEV_SHOW = ('dev', ('dev', 'show'))
CONFIG_SHOW = ('config', ('dev', 'config', 'show'))


class ToolError(Exception):
    """The vdpa tool could not be run or printed something unexpected."""

    # the tool does not have the command (an older iproute2)
    unsupported = False


class UnsupportedCommand(ToolError):
    """The tool answered ``Command "..." not found``: too old for it."""

    unsupported = True


class FormatError(ValueError):
    """A value in the tool's output has an unexpected type."""


# -- parsing (pure) ----------------------------------------------------------

def _clean_keys(obj):
    """The same dict with keys stripped (``"link "`` -> ``link``)."""
    return {str(k).strip(): v for k, v in obj.items()}


def parse_uint(value, field):
    """A non-negative integer printed by the tool, or None when absent.

    The tool prints numbers as JSON numbers (vendor_id in decimal);
    digit strings and ``0x`` hex strings are accepted as well.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise FormatError('%s: not a number: %r' % (field, value))
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip().lower()
        try:
            number = int(text, 16) if text.startswith('0x') else int(text)
        except ValueError:
            raise FormatError('%s: not a number: %r' % (field, value[:40]))
    else:
        raise FormatError('%s: not a number: %r' % (field, value))
    if number < 0:
        raise FormatError('%s: negative: %d' % (field, number))
    return number


def parse_features(value, field):
    """A tuple of feature names from a feature array.

    Names are upper-cased; a bit number (the tool's JSON for a bit it has
    no name for) becomes ``bit_<n>``.
    """
    if value is None:
        return None
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list):
        raise FormatError('%s: not a list: %r' % (field, value))
    names = []
    for item in value:
        if isinstance(item, bool):
            raise FormatError('%s: unexpected item %r' % (field, item))
        if isinstance(item, int):
            names.append('bit_%d' % item)
            continue
        if not isinstance(item, str) or not item.strip():
            raise FormatError('%s: unexpected item %r' % (field, item))
        item = item.strip()
        match = _BIT_RE.match(item)
        names.append('bit_%s' % match.group(1) if match else item.upper())
    return tuple(names)


def parse_section(text, section, what):
    """``{handle: {key: value}}`` from the JSON the tool printed.

    :raises ToolError: not JSON, or not ``{"<section>": {...}}``.
    """
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ToolError('%s printed invalid JSON (%s)' % (what, exc))
    if not isinstance(data, dict):
        raise ToolError('%s printed %s instead of a JSON object'
                        % (what, type(data).__name__))
    data = _clean_keys(data)
    body = data.get(section, {})
    if not isinstance(body, dict):
        raise ToolError('%s: "%s" is not a JSON object' % (what, section))
    result = {}
    for handle, attrs in body.items():
        if not isinstance(attrs, dict):
            raise ToolError('%s: entry %r is not a JSON object'
                            % (what, handle))
        result[str(handle).strip()] = _clean_keys(attrs)
    return result


# -- running the tool ----------------------------------------------------

def tool_argv(command):
    """``[vdpa] command`` split as a shell would.

    :raises ToolError: empty, or not splittable.
    """
    try:
        argv = shlex.split(command or '')
    except ValueError as exc:
        raise ToolError('[vdpa] command %r cannot be split: %s'
                        % (command, exc))
    if not argv:
        raise ToolError('[vdpa] command is empty')
    return argv


def run(command, timeout, spec):
    """Run one ``vdpa -j ...`` and return its parsed section.

    :raises UnsupportedCommand: the tool does not have the command
        (vdpa/vdpa.c cmd_dev: ``Command "config" not found``, iproute2
        5.12 to 5.16).
    :raises ToolError: with a message that says what to do.
    """
    section, args = spec
    argv = tool_argv(command) + ['-j'] + list(args)
    what = '"%s"' % ' '.join(argv)
    try:
        proc = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True,
            timeout=timeout, check=False)
    except FileNotFoundError:
        raise ToolError('the vdpa tool %r ([vdpa] command) is not '
                        'installed: install iproute2 with vdpa '
                        'support' % argv[0])
    except PermissionError:
        raise ToolError('the vdpa tool %r ([vdpa] command) cannot be '
                        'executed: permission denied' % argv[0])
    except subprocess.TimeoutExpired:
        raise ToolError('%s did not finish within %ss ([vdpa] '
                        'command_timeout)' % (what, timeout))
    except OSError as exc:
        raise ToolError('%s cannot be run: %s' % (what, exc))
    if proc.returncode != 0:
        detail = proc.stderr.decode('utf-8', 'replace').strip()
        if _NOT_FOUND_RE.search(detail):
            raise UnsupportedCommand('%s: %s (iproute2 older than '
                                     '5.17)' % (what, detail[:200]))
        raise ToolError('%s exited with status %d%s' % (
            what, proc.returncode,
            ': %s' % detail.splitlines()[-1][:200] if detail else ''))
    text = proc.stdout.decode('utf-8', 'replace')
    return parse_section(text, section, what)
