"""``mdev-traits-exporter status``: what the running exporter last did.

    mdev-traits-exporter --config-file FILE status [--format text|json]
                                                   [--max-age SECONDS]

Reads the status file that the daemon (and ``--once``) writes after
every cycle (``[exporter] status_file``, by default ``status.json`` next
to ``[exporter] state_file``; see :mod:`mdev_traits.health`) and prints
when the last full sync was, how the last cycle went, and what is held
back and why. It sends no request to Placement.

Exit status: 0 the last cycle was a full sync (discovery complete, every
change accepted), recorded less than ``--max-age`` seconds ago; 1
otherwise (the last cycle failed or was partial, or the file is too old:
is the daemon running?); 2 configuration error, or no readable status
file. What is held back (a provider nova has not created yet, inventory
in use kept reserved) is listed; it alone does not make the exit status
1.
"""

import json
import sys
import time

from oslo_config import cfg

from mdev_traits import health

cli_opts = [
    cfg.StrOpt('format',
               default='text',
               choices=[('text', 'lines for a person'),
                        ('json', 'the status file, with "healthy" and '
                                 '"problems" added')],
               help='Output format.'),
    cfg.IntOpt('max-age',
               min=1,
               help='Seconds after which a status is too old (exit status '
                    '1). Default: three times the interval it records.'),
]


def _ago(now, then):
    return '%s (%ds ago)' % (health.utc(then), max(0, now - then))


def problems(data, now, max_age=None):
    """Why ``data`` (a status file's content) is not healthy: lines."""
    found = []
    interval = data.get('interval') or 60
    max_age = max_age or 3 * interval
    updated = data.get('updated_at') or 0
    if now - updated > max_age:
        found.append('the status is %ds old (more than %ds): is the '
                     'exporter running?' % (now - updated, max_age))
    last = data.get('last_cycle')
    if last is None:
        found.append('no cycle has run yet')
    elif not last.get('ok'):
        found.append('the last cycle failed: %s' % (
            last.get('error') or '%d change(s) refused by Placement' %
            last.get('refused', 0)))
    elif not last.get('full'):
        found.append('the last cycle did not sync fully (see "held back")')
    return found


def render(data, now, found):
    lines = ['Exporter of %s (mode %s, every %ss, pid %s): status of %s' % (
        data.get('root_provider'), data.get('mode'), data.get('interval'),
        data.get('pid'), _ago(now, data.get('updated_at') or 0))]
    full = data.get('last_full_sync')
    lines.append('Last full sync: %s' % (
        'never' if full is None else '%s: %d provider(s), %d trait(s)' % (
            _ago(now, full['at']), full['providers'], full['traits'])))
    last = data.get('last_cycle')
    if last is None:
        lines.append('Last cycle:     none')
    else:
        lines.append('Last cycle:     %s: %s' % (
            _ago(now, last['at']),
            'ok, %d change(s) written' % last['writes'] if last['ok'] else
            'failed: %s' % (last.get('error') or '%d change(s) refused' %
                            last.get('refused', 0))))
    held = data.get('held_back') or []
    lines.append('Held back:      %s' % ('nothing' if not held else ''))
    lines.extend('  %s' % line for line in held)
    lines.append('Healthy:        %s' % (
        'yes' if not found else 'no: %s' % '; '.join(found)))
    return '\n'.join(line.rstrip() for line in lines) + '\n'


def run(conf, settings):
    path = health.status_path(settings)
    try:
        data = health.read_status(path)
    except (OSError, ValueError) as exc:
        sys.stderr.write('mdev-traits-exporter status: error: cannot read '
                         'the status file %s ([exporter] status_file): %s; '
                         'has the exporter run with this configuration?\n'
                         % (path, exc))
        return 2
    now = int(time.time())
    found = problems(data, now, conf.max_age)
    if conf.format == 'json':
        out = dict(data, healthy=not found, problems=found)
        json.dump(out, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write('\n')
    else:
        sys.stdout.write(render(data, now, found))
    return 0 if not found else 1
