"""keystoneauth options in [placement], as nova and neutron register them.

Session (cafile, insecure, timeout, ...), auth (auth_type, auth_url,
username, ...; ``auth_type = admin_token`` with ``endpoint`` and ``token``
for deployments without Keystone) and adapter (service_type,
valid_interfaces, region_name, endpoint_override, ...) options.
"""

import copy
import glob
import os

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

from mdev_traits.placement import client as client_mod

GROUP = 'placement'
SERVICE_TYPE = 'placement'

# Every request is bounded in time (keystoneauth's own defaults are no
# timeout and no retry): a Placement that accepts connections and never
# answers costs at most TIMEOUT * (CONNECT_RETRIES + 1) seconds plus the
# retry delay (0.5 s: keystoneauth1/session.py _Retries, exponential from
# 0.5 s) per request, and a cycle stops at the first request that fails.
# keystoneauth retries a read timeout like a connect failure
# (ConnectTimeout is a RetriableConnectionFailure).
TIMEOUT = 30.0
CONNECT_RETRIES = 1


def register_opts(conf):
    ks_loading.register_session_conf_options(conf, GROUP)
    ks_loading.register_auth_conf_options(conf, GROUP)
    ks_loading.register_adapter_conf_options(conf, GROUP)
    conf.set_default('service_type', SERVICE_TYPE, group=GROUP)
    conf.set_default('valid_interfaces', ['internal', 'public'], group=GROUP)
    conf.set_default('timeout', TIMEOUT, group=GROUP)
    conf.set_default('connect_retries', CONNECT_RETRIES, group=GROUP)


def list_opts():
    opts = copy.deepcopy(
        ks_loading.get_session_conf_options()
        + ks_loading.get_auth_common_conf_options()
        + ks_loading.get_auth_plugin_conf_options('password')
        + ks_loading.get_auth_plugin_conf_options('admin_token')
        + ks_loading.get_adapter_conf_options(include_deprecated=False))
    seen = set()
    unique = []
    for opt in opts:
        if opt.dest in seen:
            continue
        seen.add(opt.dest)
        if opt.dest == 'service_type':
            opt.default = SERVICE_TYPE
        elif opt.dest == 'valid_interfaces':
            opt.default = ['internal', 'public']
        elif opt.dest == 'timeout':
            opt.default = TIMEOUT
        elif opt.dest == 'connect_retries':
            opt.default = CONNECT_RETRIES
        unique.append(opt)
    return [(GROUP, unique)]


def _files(conf):
    """The configuration files, in the order oslo.config reads them."""
    files = list(conf.config_file or ())
    for directory in getattr(conf, 'config_dir', None) or ():
        files.extend(sorted(glob.glob(os.path.join(directory, '*.conf'))))
    return files


def _placement_keys(path):
    """The option names of ``[placement]`` in ``path`` (None when the file
    has no such section), read with oslo.config's own parser."""
    sections = {}
    try:
        cfg.ConfigParser(path, sections).parse()
    except (OSError, cfg.ParseError):
        return None
    section = sections.get(GROUP)
    return None if section is None else set(section)


def _is_nova_file(path):
    return os.path.basename(path).startswith('nova')


def credentials_source(conf):
    """``(warning, message)``: which configuration file the ``[placement]``
    credentials (``auth_type``) come from, said once at start.

    ``warning`` when none is set, or when they come from nova's own file
    (a file named ``nova*.conf``, passed first as the guide shows) and not
    from the exporter's own file: the exporter then writes with
    nova-compute's Keystone user. (Read per file: ``conf.get_location``
    names the last file that has a ``[placement]`` section, not the one
    that set the option.)
    """
    files = _files(conf)
    keys = {path: _placement_keys(path) for path in files}
    setters = [path for path in files if 'auth_type' in (keys[path] or ())]
    auth_type = conf[GROUP]['auth_type']
    if not auth_type:
        return True, ('No [placement] auth_type in %s: the exporter cannot '
                      'authenticate to Placement (see the install guide, '
                      '"Keystone credentials")' % (
                          ', '.join(files) or 'any configuration file'))
    source = setters[-1] if setters else 'the command line or environment'
    try:
        # the plugin's options (auth_url, endpoint, ...), as
        # keystoneauth's load_auth_from_conf_options registers them
        conf.register_opts(ks_loading.get_auth_plugin_conf_options(
            auth_type), group=GROUP)
    except Exception:  # noqa: B902 - only for the message
        pass
    details = []
    for name in ('auth_url', 'endpoint', 'endpoint_override',
                 'region_name'):
        try:
            value = conf[GROUP][name]
        except (cfg.NoSuchOptError, KeyError):
            continue
        if value:
            details.append('%s = %s' % (name, value))
    message = 'Placement credentials: [placement] auth_type = %s%s from %s' % (
        auth_type, ''.join(', ' + d for d in details), source)
    own = [f for f in files if not _is_nova_file(f)]
    if not setters or not _is_nova_file(source) or not own:
        return False, message
    what = ('sets no [placement] credentials' if any(
        keys[f] is not None for f in own) else 'has no [placement] section')
    return True, ('%s: the exporter\'s own file (%s) %s, so nova-compute\'s '
                  'credentials are used; give the exporter a Keystone user '
                  'of its own (see the install guide, "Keystone '
                  'credentials")' % (message, ', '.join(own), what))


def log_credentials_source(conf, log, quiet=False):
    """Log :func:`credentials_source` once: WARNING for a warning, else
    INFO (DEBUG when ``quiet``, for ``--once``)."""
    warning, message = credentials_source(conf)
    if warning:
        log.warning('%s', message)
    elif quiet:
        log.debug('%s', message)
    else:
        log.info('%s', message)


def adapter_from_conf(conf, group=GROUP, outcome=None):
    """openstacksdk's placement proxy, configured from ``[placement]``:
    the keystoneauth session (auth, TLS, timeout, connect retries) and
    the adapter options (service type, interfaces, endpoint override,
    region), as ``Connection(oslo_conf=conf)`` reads them; the Placement
    layer gets the ready session (:func:`client_mod.proxy_from_session`)."""
    from openstack.config import cloud_region

    auth = ks_loading.load_auth_from_conf_options(conf, group)
    sess = ks_loading.load_session_from_conf_options(conf, group, auth=auth)
    return client_mod.proxy_from_session(
        sess, cloud_region.from_conf(conf, session=sess), outcome=outcome)
