from oslo_config import cfg

GROUP = 'metrics'

metrics_opts = [
    cfg.HostAddressOpt('listen_address',
                       default='127.0.0.1',
                       help='Address of the Prometheus metrics listener. '
                            'Keep it on loopback unless a scraper on '
                            'another host needs it.'),
    cfg.PortOpt('listen_port',
                help='Port of the Prometheus metrics listener (HTTP, '
                     '/metrics). Unset: no listener.'),
    cfg.StrOpt('textfile',
               help='Write the metrics to this file after every cycle, in '
                    'the text format that node_exporter\'s textfile '
                    'collector reads (for example '
                    '/var/lib/node_exporter/textfile/mdev_traits.prom). '
                    'Unset: no file.'),
]


def register_opts(conf):
    conf.register_opts(metrics_opts, group=GROUP)


def list_opts():
    return [(GROUP, metrics_opts)]
