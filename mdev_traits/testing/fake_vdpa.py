#!/usr/bin/env python3
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

"""A stand-in for iproute2's ``vdpa`` tool that prints recorded output.

Standard library only: :class:`mdev_traits.testing.vdpa_tool.FakeVdpaTool`
copies this file as an executable named ``vdpa`` (with the running
interpreter in its ``#!`` line) and writes its scenario next to it, in
``<executable>.json``::

    {"outputs": {"mgmtdev show": "/path/mgmtdev.json",
                 "dev show": "/path/dev.json",
                 "dev config show": "/path/config.json"},
     "mode": "ok",            # or exit1, badjson, hang, trailing-space
     "fail_on": ["dev config show"],   # commands the mode applies to
                                       # (all when absent)
     "unsupported": ["dev config show"],  # commands this iproute2 lacks
     "log": "/path/calls.log"}         # one line per invocation

The recorded files are printed verbatim (``vdpa -j`` prints one compact
JSON object). Failure modes, as seen on real hosts:

``exit1``
    what ``vdpa`` does when the kernel has no "vdpa" generic netlink
    family (vdpa/vdpa.c, vdpa_init): "Failed to connect to vdpa Netlink"
    on stderr and exit status 1.
``badjson``
    the output cut in the middle (a tool killed while printing).
``hang``
    sleeps for an hour (the exporter's timeout must fire).
``trailing-space``
    every key of every device object gets a trailing space, the way
    iproute2 prints ``"link "`` and ``"link_announce "``.

A command in ``unsupported`` answers as iproute2 5.12 to 5.16 answer ``vdpa
-j dev config show`` (vdpa/vdpa.c v5.15.0, cmd_dev: ``Command "config" not
found`` on stderr, -ENOENT so main exits 1; vdpa_fini -> jsonw_destroy
still prints the newline of the empty JSON writer on stdout).
"""

import json
import os
import sys
import time

COMMANDS = {
    ('mgmtdev',): 'mgmtdev show',
    ('mgmtdev', 'show'): 'mgmtdev show',
    ('mgmtdev', 'list'): 'mgmtdev show',
    ('dev',): 'dev show',
    ('dev', 'show'): 'dev show',
    ('dev', 'list'): 'dev show',
    ('dev', 'config'): 'dev config show',
    ('dev', 'config', 'show'): 'dev config show',
}
SECTIONS = {'mgmtdev show': 'mgmtdev', 'dev show': 'dev',
            'dev config show': 'config'}


def _load_scenario():
    path = os.path.abspath(sys.argv[0]) + '.json'
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def _trailing_spaces(data):
    out = {}
    for section, handles in data.items():
        out[section] = {h: {k + ' ' if not k.endswith(' ') else k: v
                            for k, v in attrs.items()}
                        for h, attrs in handles.items()}
    return out


def main(argv):
    scenario = _load_scenario()
    if scenario.get('log'):
        with open(scenario['log'], 'a') as f:
            f.write(' '.join(argv) + '\n')
    json_mode = False
    words = []
    for arg in argv:
        if arg in ('-j', '--json'):
            json_mode = True
        elif arg in ('-p', '--pretty'):
            pass
        elif arg.startswith('-'):
            sys.stderr.write('Unknown option.\n')
            return 1
        else:
            words.append(arg)
    command = COMMANDS.get(tuple(words))
    if command is None:
        sys.stderr.write('Object "%s" not found\n' % ' '.join(words))
        return 1
    if not json_mode:
        sys.stderr.write('fake vdpa: only JSON (-j) output is recorded\n')
        return 2

    if command in scenario.get('unsupported', ()):
        # "dev config show": cmd_dev does not know "config"
        sys.stderr.write('Command "%s" not found\n' % words[1])
        sys.stdout.write('\n')
        return 1

    mode = scenario.get('mode', 'ok')
    fail_on = scenario.get('fail_on')
    if fail_on is not None and command not in fail_on:
        mode = 'ok'
    if mode == 'exit1':
        sys.stderr.write('Failed to connect to vdpa Netlink\n')
        return 1
    if mode == 'hang':
        time.sleep(3600)
        return 0

    path = (scenario.get('outputs') or {}).get(command)
    if path:
        with open(path) as f:
            text = f.read()
    else:
        # what the tool prints when there is nothing to list
        text = json.dumps({SECTIONS[command]: {}},
                          separators=(',', ':')) + '\n'
    if mode == 'badjson':
        text = text[:max(1, len(text) // 2)]
    elif mode == 'trailing-space':
        text = json.dumps(_trailing_spaces(json.loads(text)),
                          separators=(',', ':')) + '\n'
    sys.stdout.write(text)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
