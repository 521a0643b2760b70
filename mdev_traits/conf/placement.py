"""keystoneauth options in [placement], as nova and neutron register them.

Session (cafile, insecure, timeout, ...), auth (auth_type, auth_url,
username, ...; ``auth_type = admin_token`` with ``endpoint`` and ``token``
for deployments without Keystone) and adapter (service_type,
valid_interfaces, region_name, endpoint_override, ...) options.
"""

import copy

from keystoneauth1 import loading as ks_loading

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
