"""Prometheus metrics of the exporter.

Each :class:`Metrics` has its own registry (no module-level state), served
on an optional loopback listener and/or written to a textfile for
node_exporter's textfile collector.
"""

from oslo_log import log as logging

from mdev_traits import fileutil

# the logger name from before the daemon package (operators filter on it)
LOG = logging.getLogger('mdev_traits.metrics')

try:
    import prometheus_client
except ImportError:  # pragma: no cover - optional dependency
    prometheus_client = None


class Metrics(object):

    def __init__(self):
        self.enabled = prometheus_client is not None
        self._server = None
        if not self.enabled:
            return
        pc = prometheus_client
        self.registry = pc.CollectorRegistry(auto_describe=True)
        self.last_success = pc.Gauge(
            'mdev_traits_last_success_timestamp_seconds',
            'Unix time of the last cycle that reconciled Placement fully',
            registry=self.registry)
        self.cycle_duration = pc.Histogram(
            'mdev_traits_cycle_duration_seconds',
            'Duration of discovery + reconcile cycles',
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry)
        self.devices = pc.Gauge(
            'mdev_traits_devices_published',
            'Per-device providers published in the last cycle',
            registry=self.registry)
        self.traits = pc.Gauge(
            'mdev_traits_traits_published',
            'Traits published on per-device providers in the last cycle',
            registry=self.registry)
        self.requests = pc.Counter(
            'mdev_traits_placement_requests',
            'Placement requests by method and status (0: no answer)',
            ['method', 'status'], registry=self.registry)
        self.errors = pc.Counter(
            'mdev_traits_errors',
            'Errors by kind (placement_unavailable, placement_refused, '
            'discovery, nothing_published, unexpected)',
            ['kind'], registry=self.registry)
        self._seen_requests = {}

    def start_listener(self, address, port):
        if not self.enabled:
            LOG.warning('[metrics] listen_port is set but prometheus-client '
                        'is not installed: no metrics listener')
            return
        server, _thread = prometheus_client.start_http_server(
            port, addr=address, registry=self.registry)
        self._server = server
        LOG.info('Metrics on http://%s:%s/metrics', address,
                 server.server_port)

    @property
    def port(self):
        return self._server.server_port if self._server else None

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def observe_requests(self, counter):
        """Add what a PlacementClient counted since the last call."""
        if not self.enabled:
            return
        for (method, status), count in counter.items():
            key = (method, status)
            delta = count - self._seen_requests.get(key, 0)
            if delta > 0:
                self.requests.labels(method=method,
                                     status=str(status)).inc(delta)
            self._seen_requests[key] = count

    def cycle(self, duration, ok, providers=None, traits=None,
              now=None):
        if not self.enabled:
            return
        self.cycle_duration.observe(duration)
        if providers is not None:
            self.devices.set(providers)
        if traits is not None:
            self.traits.set(traits)
        if ok:
            if now is None:
                self.last_success.set_to_current_time()
            else:
                self.last_success.set(now)

    def error(self, kind):
        if self.enabled:
            self.errors.labels(kind=kind).inc()

    def render(self):
        if not self.enabled:
            return b''
        return prometheus_client.generate_latest(self.registry)

    def write_textfile(self, path):
        """Atomically write the metrics for node_exporter's textfile
        collector (it must never read a half-written file), readable by
        it (mode 0644).

        Not ``prometheus_client.write_to_textfile``: it is atomic too (a
        ``<path>.<pid>.<thread>`` file renamed over ``path``,
        prometheus_client/exposition.py), but creates the file with
        ``open()``, so its mode follows the umask: under the unit's
        ``UMask=0077`` node_exporter, another user, could not read it.
        The library renders the text (:meth:`render`); the one
        atomic-write helper of the project (:mod:`mdev_traits.fileutil`)
        gives the file its mode before it appears."""
        if not self.enabled or not path:
            return
        try:
            fileutil.write_atomically(
                path, lambda f: f.write(self.render()),
                prefix='.mdev_traits-', suffix='.prom.tmp', mode=0o644,
                binary=True)
        except OSError as exc:
            LOG.warning('Cannot write metrics textfile %s: %s', path, exc)
