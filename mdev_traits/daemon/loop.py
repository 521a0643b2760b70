"""The exporter's periodic loop (the daemon).

:class:`Daemon` runs :class:`mdev_traits.service.Exporter` cycles until
SIGTERM/SIGINT, reloads the configuration on SIGHUP, waits with capped
exponential backoff after failures (:func:`backoff_delay`), and wires the
hotplug monitor, the metrics listener and textfile, the status file and
systemd's notification around the cycles.
"""

import logging as std_logging
import random
import signal
import threading
import time

from oslo_log import log as logging

from mdev_traits.conf import options as conf_options
from mdev_traits.conf import placement as placement_conf
from mdev_traits.conf import settings as settings_mod
from mdev_traits.discovery import base as discovery_base
from mdev_traits import health
from mdev_traits.daemon import hotplug
from mdev_traits.daemon import metrics as metrics_mod
from mdev_traits.placement import reconciler as reconciler_mod
from mdev_traits import service
from mdev_traits.daemon import systemd

# The daemon's lines keep the logger name they have always had (operators
# filter and the guide shows "mdev_traits.service [-] mdev-traits exporter
# started ..."): moving the loop to its own module changes no log line.
LOG = logging.getLogger('mdev_traits.service')


# READY=1 at the latest this long after the daemon started its first
# cycle, half the unit's TimeoutStartSec=90 (etc/mdev-traits-exporter.service,
# systemd's DefaultTimeoutStartSec): a first cycle against a Placement that
# does not answer takes up to [placement] timeout * (connect_retries + 1).
READY_WITHIN = 45.0


def backoff_delay(failures, initial, cap, jitter, rand=random.uniform):
    """Capped exponential backoff with jitter, after ``failures`` (>= 1)
    failed cycles in a row."""
    delay = min(cap, initial * (2 ** max(0, failures - 1)))
    return delay * rand(1 - jitter, 1 + jitter)


class Daemon(object):
    """The periodic loop: SIGTERM/SIGINT stop, SIGHUP reload, capped
    exponential backoff after failures, hotplug wake-ups, metrics and
    systemd notification."""

    def __init__(self, conf, make_exporter=service.Exporter, reload_conf=None,
                 notifier=None, ready_within=READY_WITHIN, settings=None):
        """``conf``: the parsed configuration; ``settings``: its
        :class:`settings_mod.Settings` (built from ``conf`` when not
        given), which is what the cycles use. ``reload_conf()`` returns a
        new, validated ``(configuration object, settings)`` (or raises):
        the running ones stay in force when it fails. ``ready_within``:
        seconds after which systemd is told the daemon started even when
        the first cycle is still running."""
        self.conf = conf
        self.settings = settings or settings_mod.load(conf)
        self.ready_within = ready_within
        self.make_exporter = make_exporter
        self.reload_conf = reload_conf
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._reload = False
        self.metrics = metrics_mod.Metrics()
        self.notifier = notifier or systemd.Notifier()
        self.exporter = self._new_exporter(self.settings)
        self.failures = 0
        self.hotplug = None
        self.health = health.Health(self.settings.exporter.heartbeat_interval)
        self.status_file = health.StatusWriter()

    def _new_exporter(self, settings):
        return self.make_exporter(settings, metrics=self.metrics)

    def install_signal_handlers(self):
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_hup)

    def _on_stop(self, signum, frame):
        self.stop()

    def _on_hup(self, signum, frame):
        self._reload = True
        self._wake.set()

    def stop(self):
        self._stop.set()
        self._wake.set()

    def wake(self):
        """Run a cycle now (hotplug)."""
        self._wake.set()

    def next_wait(self):
        ex = self.settings.exporter
        if self.failures:
            return backoff_delay(self.failures, ex.retry_initial_delay,
                                 ex.interval, ex.interval_jitter)
        return ex.interval * random.uniform(1 - ex.interval_jitter,
                                            1 + ex.interval_jitter)

    def _do_reload(self):
        self._reload = False
        if self.reload_conf is None:
            return
        try:
            conf, settings = self.reload_conf()
            # the new root must look like sysfs, as at start
            error = discovery_base.root_error(settings.exporter.sysfs_root)
            if error is not None:
                raise ValueError(error)
            exporter = self._new_exporter(settings)
        except Exception as exc:  # noqa: B902 - keep the old config
            LOG.error('Configuration reload failed, the previous '
                      'configuration stays in force: %s', exc)
            return
        old, self.conf = self.conf, conf
        self.settings = settings
        self.exporter = exporter
        self.failures = 0
        changed = conf_options.changed_options(old, conf)
        self._apply(changed)
        LOG.info('Configuration reloaded: %s', ', '.join(
            conf_options.option_name(key) for key in changed)
            or 'nothing changed')
        restart = [key for key in changed if conf_options.needs_restart(key)]
        if restart:
            LOG.warning('These changed options take effect only after a '
                        'restart (systemctl restart mdev-traits-exporter): '
                        '%s', ', '.join(conf_options.option_name(k)
                                        for k in restart))

    def _apply(self, changed):
        """Apply what a reload changed outside the exporter (which is
        made anew from the new configuration)."""
        changed = set(changed)
        if (conf_options.DEFAULT, 'debug') in changed:
            # as oslo.log's mutate hook does (_refresh_root_level)
            std_logging.getLogger().setLevel(
                std_logging.DEBUG if self.conf.debug else std_logging.INFO)
        if changed & {('metrics', 'listen_address'),
                      ('metrics', 'listen_port')}:
            self.metrics.stop()
            self._start_metrics()
        if changed & {('exporter', 'hotplug'),
                      ('exporter', 'hotplug_debounce')}:
            if self.hotplug is not None:
                self.hotplug.stop()
                self.hotplug = None
            self._start_hotplug()
        self.health.heartbeat_interval = (
            self.settings.exporter.heartbeat_interval)

    def _start_metrics(self):
        mconf = self.settings.metrics
        if mconf.listen_port is not None:
            try:
                self.metrics.start_listener(mconf.listen_address,
                                            mconf.listen_port)
            except OSError as exc:
                LOG.error('Cannot listen for metrics on %s:%s: %s',
                          mconf.listen_address, mconf.listen_port, exc)

    def _start_hotplug(self):
        if self.settings.exporter.hotplug:
            self.hotplug = hotplug.UdevMonitor(hotplug.Debouncer(
                self.wake, self.settings.exporter.hotplug_debounce))
            if not self.hotplug.start():
                self.hotplug = None

    def _start_services(self):
        self._start_metrics()
        self._start_hotplug()

    def _stop_services(self):
        if self.hotplug is not None:
            self.hotplug.stop()
        self.metrics.stop()

    def _wait(self, seconds):
        """Wait for ``seconds`` or a wake-up, pinging the watchdog."""
        deadline = time.monotonic() + seconds
        ping = self.notifier.watchdog_interval
        while not self._wake.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._wake.wait(min(remaining, ping) if ping else remaining)
            if ping:
                self.notifier.watchdog()

    def run_cycle(self):
        try:
            self.exporter.cycle()
            self.failures = 0
            self.health.record(getattr(self.exporter, 'report', None)
                               or health.CycleReport(ok=True))
            return True
        except reconciler_mod.NothingPublished as exc:
            # logged once per change of state by the exporter
            self.failures += 1
            self.health.record(health.failed(str(exc)))
        except Exception as exc:  # noqa: B902 - the daemon must keep running
            LOG.exception('Unexpected error in a cycle')
            self.metrics.error('unexpected')
            self.failures += 1
            self.health.record(health.failed('unexpected error: %s' % exc))
        return False

    def run(self):
        LOG.info('mdev-traits exporter started (mode %s, root provider %s, '
                 'every %ss)', self.settings.exporter.mode,
                 self.settings.exporter.root_provider_name,
                 self.settings.exporter.interval)
        placement_conf.log_credentials_source(self.conf, LOG)
        self._start_services()
        first = True
        ready_timer = self.notifier.ready_within(
            self.ready_within, 'started; first cycle still running')
        try:
            while not self._stop.is_set():
                if self._reload:
                    self._do_reload()
                self._wake.clear()
                self.run_cycle()
                self.metrics.write_textfile(self.settings.metrics.textfile)
                self.status_file.write(self.settings, self.health)
                if first:
                    ready_timer.cancel()
                    self.notifier.ready()
                    first = False
                self.notifier.status(self.health.status_line())
                beat = self.health.heartbeat()
                if beat:
                    LOG.info('%s', beat)
                self.notifier.watchdog()
                if self._reload or self._stop.is_set():
                    continue
                self._wait(self.next_wait())
        finally:
            ready_timer.cancel()
            self.notifier.stopping()
            self._stop_services()
        LOG.info('mdev-traits exporter stopped; published traits stay in '
                 'Placement')
        return 0
