"""What the exporter says about its health.

* :func:`report`: the outcome of one cycle in counts (what was written,
  what is held back and why);
* :func:`cycle_line`: the one INFO line of a cycle that changed
  something;
* :class:`Health`: the running daemon's record of its cycles, from which
  come the heartbeat line, the systemd ``STATUS=`` line and the status
  file that ``mdev-traits-exporter status`` reads.

The status file is JSON, written atomically after every cycle (and by
``--once``) at ``[exporter] status_file``, by default ``status.json`` in
the directory of ``[exporter] state_file``.
"""

import dataclasses
import json
import os
import time
import typing

from oslo_log import log as logging

from mdev_traits import fileutil
from mdev_traits.placement import plan as plan_mod

LOG = logging.getLogger(__name__)

STATUS_FORMAT = 1
# bounds on what the status file holds
MAX_HELD_BACK = 20
MAX_TEXT = 300


@dataclasses.dataclass(frozen=True)
class CycleReport:
    ok: bool
    error: typing.Optional[str] = None
    providers: int = 0
    traits: int = 0
    writes: int = 0
    created: int = 0
    deleted: int = 0
    traits_added: int = 0
    traits_removed: int = 0
    inventories: int = 0
    refused: int = 0
    # discovery complete and every change accepted
    full: bool = False
    held_back: typing.Tuple[str, ...] = ()


def _short(text):
    text = ' '.join(str(text).split())
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 3] + '...'


def held_back(tree, result):
    """What this cycle did not do, and why: one line each."""
    lines = []
    if not tree.complete or tree.incomplete:
        kinds = ', '.join(sorted(tree.incomplete)) or 'every kind'
        why = tree.warnings[0] if tree.warnings else 'discovery failed'
        lines.append('removals of %s providers and traits: discovery '
                     'incomplete (%s)' % (kinds, why))
    partial = sorted(p.name for p in tree.providers if p.partial)
    if partial:
        why = tree.warnings[0] if tree.warnings else 'see the log'
        lines.append('trait removals on %d provider(s) (%s%s): what was '
                     'read of them is partial (%s)' % (
                         len(partial), ', '.join(partial[:3]),
                         ', ...' if len(partial) > 3 else '', why))
    lines.extend(result.plan.notes)
    held = sorted(result.held)
    if held:
        lines.append('inventory in use kept reserved until its consumers '
                     'are gone: %s' % ', '.join(held))
    lines.extend('refused by Placement: %s' % f
                 for f in result.outcome.failed)
    return tuple(_short(line) for line in lines[:MAX_HELD_BACK])


def report(tree, result):
    """A :class:`CycleReport` of a cycle that reached Placement."""
    counts = dict(created=0, deleted=0, traits_added=0, traits_removed=0,
                  inventories=0)
    for op in result.plan.ops:
        if isinstance(op, plan_mod.CreateProvider):
            counts['created'] += 1
        elif isinstance(op, plan_mod.DeleteProvider):
            counts['deleted'] += 1
        elif isinstance(op, plan_mod.SetTraits):
            counts['traits_added'] += len(op.added)
            counts['traits_removed'] += len(op.removed)
        elif isinstance(op, plan_mod.SetInventories):
            counts['inventories'] += 1
    return CycleReport(
        ok=result.ok, providers=result.providers, traits=result.traits,
        writes=result.outcome.done, refused=len(result.outcome.failed),
        full=(result.ok and tree.complete and not tree.incomplete
              and not any(p.partial for p in tree.providers)),
        held_back=held_back(tree, result), **counts)


def failed(error):
    return CycleReport(ok=False, error=_short(error))


def cycle_line(rep, root_name):
    """The INFO line of a cycle that wrote something (counts only)."""
    return ('Published %d provider(s) with %d trait(s) under %s: %d '
            'change(s) written (%d provider(s) created, %d deleted; %d '
            'trait(s) added, %d removed; %d inventory update(s))%s%s' % (
                rep.providers, rep.traits, root_name, rep.writes,
                rep.created, rep.deleted, rep.traits_added,
                rep.traits_removed, rep.inventories,
                '; %d refused' % rep.refused if rep.refused else '',
                '; %d thing(s) held back (status subcommand)' %
                len(rep.held_back) if rep.held_back else ''))


def utc(timestamp):
    if timestamp is None:
        return 'never'
    return time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(timestamp))


class Health(object):
    """The daemon's record of its cycles."""

    def __init__(self, heartbeat_interval=0, clock=time.time):
        self.clock = clock
        self.started = clock()
        self.heartbeat_interval = heartbeat_interval
        self.last_heartbeat = self.started
        self.last = None
        self.last_at = None
        self.last_full = None  # (time, providers, traits)
        self.failures = 0
        self._since = {'cycles': 0, 'failed': 0, 'writes': 0}

    def record(self, rep):
        now = self.clock()
        self.last, self.last_at = rep, now
        self.failures = 0 if rep.ok else self.failures + 1
        if rep.full:
            self.last_full = (now, rep.providers, rep.traits)
        self._since['cycles'] += 1
        self._since['failed'] += 0 if rep.ok else 1
        self._since['writes'] += rep.writes

    def status_line(self):
        """The text of systemd's ``STATUS=`` (``systemctl status``)."""
        if self.last_full is not None:
            at, providers, traits = self.last_full
            text = 'last full sync %s: %d provider(s), %d trait(s)' % (
                utc(at), providers, traits)
        else:
            text = 'no full sync yet'
        if self.last is not None and not self.last.ok:
            text += '; last cycle failed (%d in a row): %s' % (
                self.failures, self.last.error or '%d change(s) refused' %
                self.last.refused)
        elif self.last is not None and not self.last.full:
            text += '; last cycle partial'
        if self.last is not None and self.last.held_back:
            text += '; %d thing(s) held back' % len(self.last.held_back)
        return text

    def heartbeat(self):
        """The heartbeat line when one is due (else None)."""
        now = self.clock()
        if (not self.heartbeat_interval
                or now - self.last_heartbeat < self.heartbeat_interval):
            return None
        since = self._since
        line = ('Alive: %s; %d cycle(s) in the last %ds, %d failed, %d '
                'change(s) written' % (
                    self.status_line(), since['cycles'],
                    now - self.last_heartbeat, since['failed'],
                    since['writes']))
        self.last_heartbeat = now
        self._since = {'cycles': 0, 'failed': 0, 'writes': 0}
        return line

    def to_dict(self, mode, root_name, interval):
        last = self.last
        return {
            'format': STATUS_FORMAT,
            'pid': os.getpid(),
            'started_at': self.started,
            'updated_at': self.clock(),
            'mode': mode,
            'root_provider': root_name,
            'interval': interval,
            'failures_in_a_row': self.failures,
            'last_cycle': None if last is None else {
                'at': self.last_at, 'ok': last.ok, 'full': last.full,
                'error': last.error,
                'providers': last.providers, 'traits': last.traits,
                'writes': last.writes, 'refused': last.refused},
            'last_full_sync': None if self.last_full is None else {
                'at': self.last_full[0], 'providers': self.last_full[1],
                'traits': self.last_full[2]},
            'held_back': list(last.held_back) if last is not None else [],
        }


def status_path(settings):
    """Where the status file of the exporter ``settings`` describe is."""
    return settings.exporter.status_path


def write_status(path, data):
    """Atomically write the status file; an OSError is raised."""
    fileutil.write_atomically(
        path, lambda f: json.dump(data, f, indent=1, sort_keys=True),
        prefix='.status-', suffix='.tmp', mode=0o644)


def write_settings_status(settings, record):
    """Write the status file of ``record`` (a :class:`Health`) where
    ``settings`` say; raises OSError."""
    ex = settings.exporter
    write_status(status_path(settings), record.to_dict(
        ex.mode, ex.root_provider_name, ex.interval))


class StatusWriter(object):
    """Writes the status file, with one warning per change of state when
    it cannot (not one per cycle)."""

    def __init__(self):
        self._failing = None

    def write(self, settings, record):
        path = status_path(settings)
        try:
            write_settings_status(settings, record)
        except OSError as exc:
            key = (path, type(exc))
            if self._failing != key:
                LOG.warning('Cannot write the status file %s: %s', path,
                            exc)
            self._failing = key
        else:
            self._failing = None


def write_once_outputs(settings, exporter):
    """What ``--once`` leaves, as the daemon does after each cycle: the
    metrics textfile and the status file."""
    exporter.metrics.write_textfile(settings.metrics.textfile)
    record = Health()
    if exporter.report is not None:
        record.record(exporter.report)
    StatusWriter().write(settings, record)


def read_status(path):
    """The status file's content; raises OSError or ValueError."""
    with open(path, encoding='utf-8') as f:
        data = json.load(f)
    if not isinstance(data, dict) or data.get('format') != STATUS_FORMAT:
        raise ValueError('%s is not a status file of this version' % path)
    return data
