"""Wire discovery, mapping and the reconciler into cycles.

The daemon and the CLI only call into this module; the three layers stay
apart: discovery (I/O, plain dataclasses), mapping (pure), reconciler
(Placement side effects).
"""

import random
import signal
import threading
import time

from oslo_log import log as logging

from mdev_traits.conf import devices as devices_conf
from mdev_traits.discovery import base as discovery_base
from mdev_traits.mapping import mdev as mdev_mapping
from mdev_traits.mapping import tree as tree_mod
from mdev_traits.placement import client as client_mod
from mdev_traits.placement import reader as reader_mod
from mdev_traits.placement import reconciler as reconciler_mod
from mdev_traits.placement import state as state_mod

LOG = logging.getLogger(__name__)


def mdev_config_from_conf(conf):
    """nova's [devices]/[mdev_<type>] options as a pure MdevConfig."""
    devices_conf.register_dynamic_opts(conf)
    enabled = tuple(conf.devices.enabled_mdev_types)
    addresses = []
    classes = []
    max_instances = []
    for mdev_type in enabled:
        group = getattr(conf, 'mdev_%s' % mdev_type)
        addresses.append((mdev_type, tuple(group.device_addresses)))
        classes.append((mdev_type, group.mdev_class))
        if group.max_instances:
            max_instances.append((mdev_type, group.max_instances))
    return mdev_mapping.MdevConfig(enabled_types=enabled,
                                   device_addresses=tuple(addresses),
                                   mdev_classes=tuple(classes),
                                   max_instances=tuple(max_instances))


def check_mdev_config(mdev_config):
    """Errors nova itself would refuse to start with."""
    seen = {}
    errors = []
    for mdev_type, addresses in mdev_config.device_addresses:
        for address in addresses:
            other = seen.get(address.lower())
            if other is not None and other != mdev_type:
                errors.append('[mdev_%s] device_addresses: %s is already '
                              'used by [mdev_%s]' % (mdev_type, address,
                                                     other))
            seen[address.lower()] = mdev_type
    return errors


def mapping_extensions(conf):
    """``(extra_providers, enrichers)`` for :func:`build_tree`.

    Each kind of hardware besides mdevs adds a provider factory here, and
    each capability source (GPU profiles, operator rules) an enricher; all
    of them pure functions configured from ``conf``.
    """
    extra_providers = []
    enrichers = []
    return extra_providers, enrichers


def desired_tree(conf, collectors=None):
    """Discover the host and map it (no Placement request)."""
    if collectors is None:
        collectors = discovery_base.load_collectors(
            conf.exporter.discovery_sources, conf.exporter.sysfs_root)
    found = discovery_base.discover(collectors)
    mdev_config = mdev_config_from_conf(conf)
    extra_providers, enrichers = mapping_extensions(conf)
    tree = tree_mod.build_tree(found, mdev_config,
                               conf.exporter.root_provider_name,
                               enrichers=enrichers,
                               extra_providers=extra_providers)
    if not mdev_config.enabled_types and found.mdev_parents:
        LOG.warning('[devices] enabled_mdev_types is empty: %d mdev '
                    'parent(s) found but no type is enabled, so no trait '
                    'or inventory is published', len(found.mdev_parents))
    return tree


class Exporter(object):
    """Runs cycles: discover, map, reconcile."""

    def __init__(self, conf, client=None, log_errors=True):
        self.conf = conf
        self.log_errors = log_errors
        self.collectors = discovery_base.load_collectors(
            conf.exporter.discovery_sources, conf.exporter.sysfs_root)
        self.client = client or client_mod.client_from_conf(conf)
        self.reconciler = reconciler_mod.Reconciler(
            self.client, conf.exporter.root_provider_name,
            conf.exporter.mode,
            state_mod.StateStore(conf.exporter.state_file,
                                 conf.exporter.root_provider_name),
            create_root_provider=conf.exporter.create_root_provider,
            max_retries=conf.exporter.max_conflict_retries)
        self._last_error = None

    def cycle(self):
        """One cycle. Returns the SyncResult; raises NothingPublished."""
        started = time.monotonic()
        tree = desired_tree(self.conf, self.collectors)
        for warning in tree.warnings:
            LOG.warning('Discovery: %s', warning)
        try:
            result = self.reconciler.sync(tree)
        except client_mod.PlacementUnavailable as exc:
            self._state_change('placement unavailable: %s' % exc)
            raise reconciler_mod.NothingPublished(
                'Placement unavailable: %s' % exc)
        except reader_mod.ReadError as exc:
            self._state_change('placement read failed: %s' % exc)
            raise reconciler_mod.NothingPublished(
                'cannot read the provider tree: %s' % exc)
        except reconciler_mod.NothingPublished as exc:
            self._state_change(str(exc))
            raise
        if self._last_error is not None:
            LOG.info('Placement sync works again')
            self._last_error = None
        LOG.debug('Cycle done in %.3fs: %d providers, %d traits, %d writes',
                  time.monotonic() - started, result.providers,
                  result.traits, result.outcome.done)
        return result

    def _state_change(self, message):
        # one line per change of state, not one per retry
        if message != self._last_error and self.log_errors:
            LOG.error('%s', message)
        self._last_error = message


class Daemon(object):
    """The periodic loop, with SIGTERM/SIGINT stop and SIGHUP reload."""

    def __init__(self, conf, make_exporter=Exporter, reload_conf=None):
        """``reload_conf()`` returns a new, validated configuration object
        (or raises): the running one stays in force when it fails."""
        self.conf = conf
        self.make_exporter = make_exporter
        self.reload_conf = reload_conf
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._reload = False
        self.exporter = make_exporter(conf)

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

    def next_wait(self):
        interval = self.conf.exporter.interval
        jitter = self.conf.exporter.interval_jitter
        return interval * random.uniform(1 - jitter, 1 + jitter)

    def _do_reload(self):
        self._reload = False
        if self.reload_conf is None:
            return
        try:
            conf = self.reload_conf()
            exporter = self.make_exporter(conf)
        except Exception as exc:  # noqa: B902 - keep the old config
            LOG.error('Configuration reload failed, the previous '
                      'configuration stays in force: %s', exc)
            return
        self.conf = conf
        self.exporter = exporter
        LOG.info('Configuration reloaded')

    def run(self):
        LOG.info('mdev-traits exporter started (mode %s, root provider %s, '
                 'every %ss)', self.conf.exporter.mode,
                 self.conf.exporter.root_provider_name,
                 self.conf.exporter.interval)
        while not self._stop.is_set():
            if self._reload:
                self._do_reload()
            try:
                self.exporter.cycle()
            except reconciler_mod.NothingPublished:
                pass  # logged once per change of state by the exporter
            except Exception:  # noqa: B902 - the daemon must keep running
                LOG.exception('Unexpected error in a cycle')
            self._wake.clear()
            if self._reload:
                continue
            self._wake.wait(self.next_wait())
        LOG.info('mdev-traits exporter stopped; published traits stay in '
                 'Placement')
        return 0
