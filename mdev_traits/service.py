"""Wire discovery, mapping and the reconciler into cycles.

The daemon (:mod:`mdev_traits.daemon.loop`) and the CLI only call into this
module; the three layers stay apart: discovery (I/O, plain dataclasses),
mapping (pure), reconciler (Placement side effects). Everything here
takes :class:`mdev_traits.conf.settings.Settings`, built once per load or
reload, never the configuration object.
"""

import time

from oslo_log import log as logging

from mdev_traits.discovery import base as discovery_base
from mdev_traits import health
from mdev_traits.mapping import budget
from mdev_traits.mapping import gpu as gpu_mapping
from mdev_traits.mapping import mdev as mdev_mapping
from mdev_traits.mapping import tree as tree_mod
from mdev_traits.mapping import vdpa as vdpa_mapping
from mdev_traits.mapping import versions
from mdev_traits.daemon import metrics as metrics_mod
from mdev_traits.placement import catalog as catalog_mod
from mdev_traits.placement import client as client_mod
from mdev_traits.placement import reader as reader_mod
from mdev_traits.placement import reconciler as reconciler_mod
from mdev_traits.placement import state as state_mod
from mdev_traits.profiles import loader as profiles_loader

LOG = logging.getLogger(__name__)


def rule_set(settings):
    """The shipped profiles and the operator's rules ([profiles])."""
    profiles = settings.profiles
    return profiles_loader.load_rule_set(
        builtin=profiles.builtin, directory=profiles.directory,
        max_bytes=profiles.max_file_size)


def gpu_enrichers(settings):
    """The GPU capability enricher: [] when ``[profiles] enabled`` is
    false. Profiles and operator rules are read here (I/O) and handed as
    plain data to the pure enricher."""
    profiles = settings.profiles
    if not profiles.enabled:
        return []
    return [gpu_mapping.make_enricher(
        rule_set(settings), manage=settings.exporter.manage,
        display_heads_inventory=profiles.display_head_inventory,
        floors=profiles.floors)]


def mapping_extensions(settings, mdev_config=None):
    """The kinds of hardware (:class:`mdev_traits.mapping.kinds.
    HardwareKind`) for :func:`build_tree`, each a pure provider factory
    with its enrichers, configured from ``settings``
    (:class:`mdev_traits.conf.settings.Settings`): mdev parents (with
    ``mdev_config``, by default ``settings.mdev``), then vDPA devices.

    The mdev kind's enrichers are the GPU capability traits
    (:func:`gpu_enrichers`) and, last, the trait budget of a GPU provider.
    vGPU VFs and whole GPUs have no place here: nova owns their providers
    (:func:`mdev_traits.mapping.gpu_device_spec.kind`, the
    ``device-spec`` command).
    """
    if mdev_config is None:
        mdev_config = settings.mdev
    enrichers = list(gpu_enrichers(settings))
    # last: at most [exporter] max_traits_per_provider per GPU provider
    enrichers.append(budget.make_limiter(
        settings.exporter.max_traits_per_provider))
    return (mdev_mapping.kind(mdev_config, enrichers),
            vdpa_mapping.kind(settings.vdpa))


def load_collectors(settings):
    """The discovery sources of ``[exporter] discovery_sources``, each
    with its own options as plain values."""
    return discovery_base.load_collectors(
        settings.exporter.discovery_sources, settings.exporter.sysfs_root,
        options=settings.discovery.options())


def discover(settings, collectors=None, full=False):
    """Run discovery. ``full``: read every mdev type, not only the
    enabled ones (the requirements command looks at any type)."""
    if collectors is None:
        collectors = load_collectors(settings)
    if full:
        for collector in collectors:
            read_all = getattr(collector, 'read_all', None)
            if read_all is not None:
                read_all()
    return discovery_base.discover(collectors, settings.exporter.sysfs_root)


def desired_tree(settings, collectors=None, known_traits=frozenset()):
    """Discover the host and map it (no Placement request).

    ``known_traits``: the version bucket traits that exist in Placement
    (:class:`mdev_traits.placement.catalog.TraitCatalog`); without them
    each GPU publishes its own bucket only.
    """
    if collectors is None:
        collectors = load_collectors(settings)
    found = discovery_base.discover(collectors, settings.exporter.sysfs_root)
    mdev_config = settings.mdev
    tree = tree_mod.build_tree(found, settings.exporter.root_provider_name,
                               mapping_extensions(settings, mdev_config),
                               known_traits=known_traits)
    if not mdev_config.enabled_types and found.mdev_parents:
        LOG.warning('[devices] enabled_mdev_types is empty: %d mdev '
                    'parent(s) found but no type is enabled, so no trait '
                    'or inventory is published', len(found.mdev_parents))
    return tree


def state_store(settings):
    """The exporter's ownership record (:mod:`mdev_traits.placement.state`)
    as configured in ``[exporter]``."""
    ex = settings.exporter
    return state_mod.StateStore(
        ex.state_file, ex.root_provider_name,
        host_id=state_mod.read_host_id(ex.host_id_file),
        lock_timeout=ex.state_lock_timeout)


class Exporter(object):
    """Runs cycles: discover, map, reconcile."""

    def __init__(self, settings, client=None, log_errors=True,
                 metrics=None):
        """``settings``: :class:`mdev_traits.conf.settings.Settings`."""
        self.settings = settings
        ex = settings.exporter
        self.log_errors = log_errors
        self.metrics = metrics or metrics_mod.Metrics()
        self.collectors = load_collectors(settings)
        self.client = client or client_mod.new_client(
            settings.placement.connect)
        self.reconciler = reconciler_mod.Reconciler(
            self.client, ex.root_provider_name,
            ex.manage, state_store(settings),
            create_root_provider=ex.create_root_provider,
            max_retries=ex.max_conflict_retries,
            withdrawal_confirm_cycles=ex.withdrawal_confirm_cycles)
        self.catalog = catalog_mod.TraitCatalog(
            self.client, versions.BUCKET_PREFIX,
            ex.trait_catalog_interval,
            on_first_read=self.reconciler.executor.learn_custom_traits)
        self._last_error = None
        # health.CycleReport of the last cycle
        self.report = None
        # warnings logged by the previous cycle: each is logged once, when
        # it appears, not every cycle (a broken rule file, a damaged type)
        self._warned = frozenset()

    def cycle(self):
        """One cycle. Returns the SyncResult; raises NothingPublished."""
        started = time.monotonic()
        try:
            result = self._cycle()
        except reconciler_mod.NothingPublished as exc:
            self.report = health.failed(str(exc))
            self.metrics.error(getattr(exc, 'kind', 'nothing_published'))
            self.metrics.observe_requests(self.client.requests)
            self.metrics.cycle(time.monotonic() - started, ok=False)
            raise
        if not result.ok:
            self.metrics.error('placement_refused')
        self.metrics.observe_requests(self.client.requests)
        self.metrics.cycle(time.monotonic() - started, ok=result.ok,
                           providers=result.providers, traits=result.traits)
        return result

    def _cycle(self):
        started = time.monotonic()
        try:
            known = self.catalog.names()
            tree = desired_tree(self.settings, self.collectors, known)
            self._log_warnings(tree.warnings)
            if tree.warnings:
                self.metrics.error('discovery')
            result = self.reconciler.sync(tree)
        except client_mod.PlacementUnavailable as exc:
            self._state_change('Placement unavailable: %s' % exc,
                               key='unavailable: %s' % exc.kind)
            raise _nothing('Placement unavailable: %s' % exc,
                           'placement_unavailable')
        except reader_mod.ReadError as exc:
            self._state_change('cannot read the provider tree: %s' % exc)
            raise _nothing('cannot read the provider tree: %s' % exc,
                           'placement_unavailable')
        except reconciler_mod.NothingPublished as exc:
            self._state_change(str(exc))
            raise
        self.report = health.report(tree, result)
        if self.report.writes:
            LOG.info('%s', health.cycle_line(
                self.report, self.settings.exporter.root_provider_name))
        if self._last_error is not None:
            if self.log_errors:
                LOG.info('Placement sync works again: %d provider(s), %d '
                         'trait(s) published', result.providers,
                         result.traits)
            self._last_error = None
        LOG.debug('Cycle done in %.3fs: %d providers, %d traits, %d writes',
                  time.monotonic() - started, result.providers,
                  result.traits, result.outcome.done)
        return result

    def _log_warnings(self, warnings):
        """Log each discovery or mapping warning in the cycle it appears
        (once per change of state, not every cycle)."""
        for warning in warnings:
            if warning in self._warned:
                LOG.debug('Discovery (still): %s', warning)
            else:
                LOG.warning('Discovery: %s', warning)
        self._warned = frozenset(warnings)

    def _state_change(self, message, key=None):
        # one line per change of state, not one per retry
        key = key or message
        if key != self._last_error and self.log_errors:
            LOG.error('%s', message)
        self._last_error = key


def _nothing(message, kind):
    exc = reconciler_mod.NothingPublished(message)
    exc.kind = kind
    return exc
