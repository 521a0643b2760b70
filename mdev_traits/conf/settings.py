"""The configuration as frozen, plain data, built once per load.

:func:`load` reads a parsed oslo.config object once, at start and on each
reload (SIGHUP), and returns a :class:`Settings`. Everything past the
command line (the service, the daemon, the subcommands, discovery, the
mapping and the Placement layer) takes these values, never the
configuration object: the mapping and the Placement layer do not import
oslo.config, and a cycle reads no option.

The dynamic ``[mdev_<type>]`` groups are registered here (for the types of
``[devices] enabled_mdev_types``), so once per load; a reload that enables
a new type registers its group then.
"""

import dataclasses
import functools
import os
import typing

from mdev_traits.conf import devices as devices_conf
from mdev_traits.conf import exporter as exporter_conf
from mdev_traits.conf import placement as placement_conf
from mdev_traits.mapping import floors as floors_mod
from mdev_traits.mapping import mdev as mdev_mapping
from mdev_traits.mapping import vdpa as vdpa_mapping


@dataclasses.dataclass(frozen=True)
class ExporterSettings:
    """``[exporter]``, with ``manage`` (``mode = manage``) computed once."""

    root_provider_name: str
    sysfs_root: str
    mode: str
    create_root_provider: bool
    interval: int
    interval_jitter: float
    state_file: str
    host_id_file: str
    state_lock_timeout: float
    withdrawal_confirm_cycles: int
    status_file: typing.Optional[str]
    heartbeat_interval: int
    discovery_sources: typing.Tuple[str, ...]
    max_conflict_retries: int
    retry_initial_delay: float
    hotplug: bool
    hotplug_debounce: float
    check_enabled_types: bool
    trait_catalog_interval: int
    max_version_buckets: int
    max_traits_per_provider: int

    @property
    def manage(self):
        """Whether the exporter also creates providers and inventories
        (``mode = manage``): the one place that compares the mode."""
        return self.mode == exporter_conf.MODE_MANAGE

    @property
    def status_path(self):
        """The status file: ``status_file``, or status.json beside the
        state file."""
        return self.status_file or os.path.join(
            os.path.dirname(os.path.abspath(self.state_file)),
            'status.json')


@dataclasses.dataclass(frozen=True)
class ProfilesSettings:
    """``[profiles]``, with ``ladder_floors`` parsed."""

    enabled: bool = True
    builtin: bool = True
    directory: typing.Optional[str] = None
    max_file_size: int = 256 * 1024
    display_head_inventory: bool = True
    floors: floors_mod.Floors = floors_mod.DEFAULT


@dataclasses.dataclass(frozen=True)
class MetricsSettings:
    """``[metrics]``."""

    listen_address: str = '127.0.0.1'
    listen_port: typing.Optional[int] = None
    textfile: typing.Optional[str] = None


@dataclasses.dataclass(frozen=True)
class DiscoverySettings:
    """What the discovery sources take, as plain values: for each source
    (entry point name), the keyword arguments of its ``configure``."""

    sources: typing.Tuple[typing.Tuple[str, typing.Tuple[
        typing.Tuple[str, typing.Any], ...]], ...] = ()

    def options(self):
        """{source name: {keyword: value}}."""
        return {name: dict(kwargs) for name, kwargs in self.sources}


@dataclasses.dataclass(frozen=True)
class PlacementSettings:
    """``[placement]``: ``connect(outcome=None)`` returns a ready
    openstacksdk placement proxy (keystoneauth session, timeouts and
    retries from ``[placement]``), made when the first request needs it.

    The one part not read into plain values at load: keystoneauth's and
    openstacksdk's own loaders (``load_auth_from_conf_options``,
    ``load_session_from_conf_options``, ``cloud_region.from_conf``) read
    ``[placement]``, with its auth plugin's options and ``auth_section``,
    from the configuration object parsed for this load, and each connect
    makes a fresh session from it. Nothing changes a parsed object: a
    reload parses a new one and builds new settings around it."""

    connect: typing.Callable = None


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every option the exporter uses, as plain data."""

    exporter: ExporterSettings
    profiles: ProfilesSettings
    metrics: MetricsSettings
    mdev: mdev_mapping.MdevConfig
    vdpa: vdpa_mapping.VdpaConfig
    discovery: DiscoverySettings
    placement: PlacementSettings
    # the --config-file paths, in order (for messages)
    config_files: typing.Tuple[str, ...] = ()


def _plain(value):
    return tuple(value) if isinstance(value, list) else value


def exporter_settings(conf):
    ex = conf[exporter_conf.GROUP]
    return ExporterSettings(**{
        f.name: _plain(ex[f.name])
        for f in dataclasses.fields(ExporterSettings)})


def register_dynamic_opts(conf):
    """Register ``[mdev_<type>]`` for each enabled type (once per load)."""
    devices_conf.register_dynamic_opts(conf)


def mdev_config(conf):
    """nova's ``[devices]``/``[mdev_<type>]`` options as a pure
    :class:`mdev_mapping.MdevConfig` (the dynamic groups registered)."""
    enabled = tuple(conf[devices_conf.GROUP].enabled_mdev_types)
    addresses = []
    classes = []
    max_instances = []
    for mdev_type in enabled:
        group = conf['mdev_%s' % mdev_type]
        addresses.append((mdev_type, tuple(group.device_addresses)))
        classes.append((mdev_type, group.mdev_class))
        if group.max_instances:
            max_instances.append((mdev_type, group.max_instances))
    return mdev_mapping.MdevConfig(
        enabled_types=enabled, device_addresses=tuple(addresses),
        mdev_classes=tuple(classes), max_instances=tuple(max_instances),
        max_version_buckets=conf[exporter_conf.GROUP].max_version_buckets)


def vdpa_config(conf, manage):
    """The ``[vdpa]`` options as a pure :class:`vdpa_mapping.VdpaConfig`."""
    group = conf.vdpa
    mappings = []
    for item in group.physical_device_mappings:
        physnet, _, netdev = item.partition(':')
        mappings.append((physnet.strip(), netdev.strip()))
    return vdpa_mapping.VdpaConfig(
        resource_class=group.resource_class,
        type_resource_classes=tuple(sorted(
            (k.strip().lower(), v)
            for k, v in group.type_resource_classes.items())),
        physical_device_mappings=tuple(mappings),
        manage=manage)


def profiles_settings(conf):
    """``[profiles]``.

    :raises floors_mod.FloorError: a ``ladder_floors`` value that is not a
        level.
    """
    group = conf.profiles
    return ProfilesSettings(
        enabled=group.enabled, builtin=group.builtin,
        directory=group.directory, max_file_size=group.max_file_size,
        display_head_inventory=group.display_head_inventory,
        floors=floors_mod.parse(group.ladder_floors))


def discovery_settings(conf, enabled_types):
    # the mdev source reads only the enabled types (the only ones mapped:
    # a type directory costs a dozen system calls, and a big host has
    # thousands); the vdpa source runs [vdpa] command
    return DiscoverySettings(sources=(
        ('mdev', (('read_types', frozenset(enabled_types)),)),
        ('vdpa', (('command', conf.vdpa.command),
                  ('timeout', conf.vdpa.command_timeout))),
    ))


def load(conf):
    """The :class:`Settings` of the parsed configuration ``conf``: the
    dynamic groups are registered, then every option is read once.

    :raises floors_mod.FloorError: see :func:`profiles_settings`.
    :raises oslo_config.cfg.Error, ValueError: a value that is not valid
        (:func:`mdev_traits.conf.check.value_errors` says which, in words).
    """
    register_dynamic_opts(conf)
    return build(conf)


def build(conf):
    """:func:`load` once the dynamic groups are registered."""
    exporter = exporter_settings(conf)
    mdev = mdev_config(conf)
    metrics = conf.metrics
    return Settings(
        exporter=exporter,
        profiles=profiles_settings(conf),
        metrics=MetricsSettings(listen_address=metrics.listen_address,
                                listen_port=metrics.listen_port,
                                textfile=metrics.textfile),
        mdev=mdev,
        vdpa=vdpa_config(conf, exporter.manage),
        discovery=discovery_settings(conf, mdev.enabled_types),
        placement=PlacementSettings(connect=functools.partial(
            placement_conf.adapter_from_conf, conf)),
        config_files=tuple(conf.config_file or ()))
