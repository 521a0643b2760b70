"""Wire discovery, mapping and the reconciler into cycles.

The daemon (:mod:`mdev_traits.daemon`) and the CLI only call into this
module; the three layers stay apart: discovery (I/O, plain dataclasses),
mapping (pure), reconciler (Placement side effects).
"""

import os
import re
import stat
import time

from oslo_config import cfg
from oslo_log import log as logging

from mdev_traits.conf import devices as devices_conf
from mdev_traits.conf import exporter as exporter_conf
from mdev_traits.discovery import base as discovery_base
from mdev_traits import health
from mdev_traits.mapping import budget
from mdev_traits.mapping import floors as floors_mod
from mdev_traits.mapping import gpu as gpu_mapping
from mdev_traits.mapping import mdev as mdev_mapping
from mdev_traits.mapping import tree as tree_mod
from mdev_traits.mapping import vdpa as vdpa_mapping
from mdev_traits.mapping import versions
from mdev_traits import metrics as metrics_mod
from mdev_traits.placement import catalog as catalog_mod
from mdev_traits.placement import client as client_mod
from mdev_traits.placement import reader as reader_mod
from mdev_traits.placement import reconciler as reconciler_mod
from mdev_traits.placement import state as state_mod
from mdev_traits.profiles import loader as profiles_loader

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
    return mdev_mapping.MdevConfig(
        enabled_types=enabled, device_addresses=tuple(addresses),
        mdev_classes=tuple(classes), max_instances=tuple(max_instances),
        max_version_buckets=conf.exporter.max_version_buckets)


def vdpa_config_from_conf(conf):
    """The [vdpa] options (and [exporter] mode) as a pure
    :class:`vdpa_mapping.VdpaConfig`."""
    mappings = []
    for item in conf.vdpa.physical_device_mappings:
        physnet, _, netdev = item.partition(':')
        mappings.append((physnet.strip(), netdev.strip()))
    return vdpa_mapping.VdpaConfig(
        resource_class=conf.vdpa.resource_class,
        type_resource_classes=tuple(sorted(
            (k.strip().lower(), v)
            for k, v in conf.vdpa.type_resource_classes.items())),
        physical_device_mappings=tuple(mappings),
        manage=conf.exporter.mode == exporter_conf.MODE_MANAGE)


def floors_from_conf(conf):
    """[profiles] ladder_floors as :class:`floors_mod.Floors`.

    :raises floors_mod.FloorError: a value that is not a level.
    """
    try:
        values = conf.profiles.ladder_floors
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError, AttributeError):
        return floors_mod.DEFAULT
    return floors_mod.parse(values)


# What libvirt names a PCI device (the kernel's "%04x:%02x:%02x.%d",
# drivers/pci/probe.c pci_setup_device): nova's own pattern accepts more
# (upper-case digits, any character before the function) but such an
# address never matches a device.
_LIBVIRT_PCI_ADDRESS = re.compile(
    r'^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$')


def device_address_problem(address, sysfs_root):
    """Why nova cannot use ``address`` of ``[mdev_<type>]
    device_addresses``, or None.

    nova/virt/libvirt/driver.py LibvirtDriver._validate_device_address: an
    address is a PCI address (pci_utils.parse_address) or, when it is not,
    must name a device under /sys/devices/virtual once every ``_`` is read
    as ``/`` (``mtty_mtty``: devices/virtual/mtty/mtty); nova refuses to
    start otherwise. A well-formed PCI address is not looked up (neither
    does nova: the GPU may be absent for now). Stricter than nova: a PCI
    address nova parses but that no libvirt device name can give
    (``0000:5e:00:0``, ``0000:3B:00.0``) or a virtual path that is no mdev
    parent (``mtty``) is refused too, since nova would silently never match
    it.
    """
    if mdev_mapping.is_nova_pci_address(address):
        if _LIBVIRT_PCI_ADDRESS.match(address):
            return None
        return ('is not a PCI address as devices are named '
                '(DDDD:BB:SS.F in lower-case hexadecimal): nova would '
                'never match it to a device')
    path = '%s/devices/virtual/%s' % (sysfs_root.rstrip('/'),
                                      address.replace('_', '/'))
    if not os.path.exists(path):
        return ('is neither a PCI address (DDDD:BB:SS.F) nor the libvirt '
                'name of a parent under devices/virtual: %s does not exist'
                % path)
    # stricter than nova, which only checks that the path exists: "mtty"
    # (the class directory devices/virtual/mtty) passes there, but no
    # libvirt node device is named so and nova would never match it
    if not os.path.isdir(os.path.join(path, 'mdev_supported_types')):
        return ('names no mdev parent: %s has no mdev_supported_types (a '
                'virtual parent is named <class>_<device>, e.g. mtty_mtty)'
                % path)
    return None


def _option_file(conf, name, group):
    try:
        loc = conf.get_location(name, group)
    except Exception:  # noqa: B902 - location is only for the message
        loc = None
    return loc.detail if loc and loc.detail else 'the configuration'


def check_mdev_config(mdev_config, sysfs_root='/sys', where=None):
    """Errors nova itself would refuse to start with
    (nova/virt/libvirt/driver.py LibvirtDriver._get_supported_vgpu_types:
    an address given twice, "duplicate types for PCI ID";
    _validate_device_address: see :func:`device_address_problem`).

    ``where(mdev_type)`` names the file that sets the type's addresses.
    """
    seen = {}
    errors = []
    for mdev_type, addresses in mdev_config.device_addresses:
        option = '[mdev_%s] device_addresses in %s' % (
            mdev_type, where(mdev_type) if where else 'the configuration')
        for address in addresses:
            if not address:
                continue
            other = seen.get(address)
            if other is not None:
                errors.append('%s: %s is already used by [mdev_%s]' % (
                    option, address, other))
                continue
            seen[address] = mdev_type
            problem = device_address_problem(address, sysfs_root)
            if problem:
                errors.append('%s: %r %s' % (option, address, problem))
    return errors


def mdev_config_errors(conf):
    """:func:`check_mdev_config` of the configuration ``conf``."""
    return check_mdev_config(
        mdev_config_from_conf(conf), conf.exporter.sysfs_root,
        where=lambda t: _option_file(conf, 'device_addresses', 'mdev_%s' % t))


_SECRET_OPTION = re.compile(
    r'^\s*(password|token|application_credential_secret|secret)\s*=\s*\S',
    re.MULTILINE)


def exposed_secret_files(conf):
    """Configuration files that hold a credential and that every user of
    the host can read."""
    exposed = []
    for path in conf.config_file or ():
        try:
            mode = os.stat(path).st_mode
            if not mode & stat.S_IROTH:
                continue
            with open(path, encoding='utf-8', errors='replace') as f:
                if _SECRET_OPTION.search(f.read(1 << 20)):
                    exposed.append(path)
        except OSError:
            continue
    return exposed


def unknown_enabled_types(conf, discovery):
    """Errors for [devices] enabled_mdev_types entries that no parent of
    this host offers (only when discovery of mdevs was complete)."""
    if not discovery.kind_complete('mdev'):
        return []
    offered = {t for p in discovery.mdev_parents for t in p.type_ids}
    missing = [t for t in conf.devices.enabled_mdev_types
               if t not in offered]
    if not missing:
        return []
    try:
        loc = conf.get_location('enabled_mdev_types', 'devices')
        where = loc.detail if loc and loc.detail else 'the command line'
    except Exception:  # noqa: B902 - location is only for the message
        where = 'the configuration'
    return ['[devices] enabled_mdev_types in %s: type(s) %s offered by no '
            'mdev parent under %s (offered here: %s); set [exporter] '
            'check_enabled_types = false if this configuration is shared '
            'by hosts with other GPU models' % (
                where, ', '.join(missing), conf.exporter.sysfs_root,
                ', '.join(sorted(offered)) or 'none')]


def check_sysfs_root(conf):
    """One line naming ``[exporter] sysfs_root`` when it does not look like
    sysfs (checked at start and on reload, and again every cycle by
    discovery), else None."""
    return discovery_base.root_error(conf.exporter.sysfs_root)


def rule_set_from_conf(conf):
    """The shipped profiles and the operator's rules ([profiles])."""
    return profiles_loader.load_rule_set(
        builtin=conf.profiles.builtin, directory=conf.profiles.directory,
        max_bytes=conf.profiles.max_file_size)


def gpu_enrichers(conf):
    """The GPU capability enricher(s) for ``conf``: [] when disabled (or
    when ``conf`` has no [profiles] group)."""
    try:
        group = conf.profiles
        enabled = group.enabled
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError, AttributeError):
        return []
    if not enabled:
        return []
    return [gpu_mapping.make_enricher(
        rule_set_from_conf(conf),
        manage=conf.exporter.mode == exporter_conf.MODE_MANAGE,
        display_heads_inventory=group.display_head_inventory,
        floors=floors_from_conf(conf))]


def mapping_extensions(conf, mdev_config=None):
    """The kinds of hardware (:class:`mdev_traits.mapping.kinds.
    HardwareKind`) for :func:`build_tree`, each a pure provider factory
    with its enrichers, configured from ``conf``: mdev parents (with
    ``mdev_config``, by default the one ``conf`` gives), then vDPA
    devices.

    The mdev kind's enrichers are the GPU capability traits (profiles and
    operator rules are read here, I/O, and handed as plain data to the
    pure enricher) and, last, the trait budget of a GPU provider. vGPU VFs
    and whole GPUs have no place here: nova owns their providers
    (:func:`mdev_traits.mapping.gpu_device_spec.kind`, the
    ``device-spec`` command).
    """
    if mdev_config is None:
        mdev_config = mdev_config_from_conf(conf)
    enrichers = list(gpu_enrichers(conf))
    # last: at most [exporter] max_traits_per_provider per GPU provider
    enrichers.append(budget.make_limiter(
        conf.exporter.max_traits_per_provider))
    return (mdev_mapping.kind(mdev_config, enrichers),
            vdpa_mapping.kind(vdpa_config_from_conf(conf)))


def discover(conf, collectors=None, full=False):
    """Run discovery. ``full``: read every mdev type, not only the
    enabled ones (the requirements command looks at any type)."""
    if collectors is None:
        collectors = discovery_base.load_collectors(
            conf.exporter.discovery_sources, conf.exporter.sysfs_root,
            conf=conf)
    if full:
        for collector in collectors:
            read_all = getattr(collector, 'read_all', None)
            if read_all is not None:
                read_all()
    return discovery_base.discover(collectors, conf.exporter.sysfs_root)


def desired_tree(conf, collectors=None, known_traits=frozenset()):
    """Discover the host and map it (no Placement request).

    ``known_traits``: the version bucket traits that exist in Placement
    (:class:`mdev_traits.placement.catalog.TraitCatalog`); without them
    each GPU publishes its own bucket only.
    """
    if collectors is None:
        collectors = discovery_base.load_collectors(
            conf.exporter.discovery_sources, conf.exporter.sysfs_root,
            conf=conf)
    found = discovery_base.discover(collectors, conf.exporter.sysfs_root)
    mdev_config = mdev_config_from_conf(conf)
    tree = tree_mod.build_tree(found, conf.exporter.root_provider_name,
                               mapping_extensions(conf, mdev_config),
                               known_traits=known_traits)
    if not mdev_config.enabled_types and found.mdev_parents:
        LOG.warning('[devices] enabled_mdev_types is empty: %d mdev '
                    'parent(s) found but no type is enabled, so no trait '
                    'or inventory is published', len(found.mdev_parents))
    return tree


def state_store(conf):
    """The exporter's ownership record (:mod:`mdev_traits.placement.state`)
    as configured in ``[exporter]``."""
    ex = conf.exporter
    return state_mod.StateStore(
        ex.state_file, ex.root_provider_name,
        host_id=state_mod.read_host_id(ex.host_id_file),
        lock_timeout=ex.state_lock_timeout)


class Exporter(object):
    """Runs cycles: discover, map, reconcile."""

    def __init__(self, conf, client=None, log_errors=True, metrics=None):
        self.conf = conf
        self.log_errors = log_errors
        self.metrics = metrics or metrics_mod.Metrics()
        self.collectors = discovery_base.load_collectors(
            conf.exporter.discovery_sources, conf.exporter.sysfs_root,
            conf=conf)
        self.client = client or client_mod.client_from_conf(conf)
        self.reconciler = reconciler_mod.Reconciler(
            self.client, conf.exporter.root_provider_name,
            conf.exporter.mode, state_store(conf),
            create_root_provider=conf.exporter.create_root_provider,
            max_retries=conf.exporter.max_conflict_retries,
            withdrawal_confirm_cycles=(
                conf.exporter.withdrawal_confirm_cycles))
        self.catalog = catalog_mod.TraitCatalog(
            self.client, versions.BUCKET_PREFIX,
            conf.exporter.trait_catalog_interval,
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
            tree = desired_tree(self.conf, self.collectors, known)
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
                self.report, self.conf.exporter.root_provider_name))
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
