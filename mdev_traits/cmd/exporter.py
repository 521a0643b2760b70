"""``mdev-traits-exporter``: the daemon, its one-shot modes and its
subcommands.

    mdev-traits-exporter --config-file FILE [--config-file FILE2 ...]
                         [--once] [--dry-run]
    mdev-traits-exporter SUBCOMMAND --config-file FILE [...]

A subcommand is a module named in :data:`SUBCOMMANDS` that defines
``cli_opts`` (oslo.config options registered on the command line) and
``run(conf) -> exit status``.

Exit status: 0 success; 1 nothing could be published (compute node
provider missing, Placement unreachable, ...); 2 configuration error;
3 published, but Placement refused some changes.
"""

import importlib
import json
import os
import sys

from oslo_config import cfg
from oslo_log import log as logging

from mdev_traits import conf as mdev_conf
from mdev_traits.conf import placement as placement_conf
from mdev_traits.placement import reconciler as reconciler_mod
from mdev_traits import service

LOG = logging.getLogger(__name__)

PROG = 'mdev-traits-exporter'
EXIT_OK = 0
EXIT_NOTHING_PUBLISHED = 1
EXIT_CONFIG = 2
EXIT_PARTIAL = 3

# subcommand -> module (see the module docstring)
SUBCOMMANDS = {
    'cleanup': 'mdev_traits.cmd.cleanup',
    'device-spec': 'mdev_traits.cmd.device_spec',
    'requirements': 'mdev_traits.cmd.requirements',
    'show': 'mdev_traits.cmd.show',
}

cli_opts = [
    cfg.BoolOpt('once',
                default=False,
                help='Run one discovery and reconcile cycle, then exit: 0 '
                     'on success, non-zero when nothing could be '
                     'published.'),
    cfg.BoolOpt('dry-run',
                default=False,
                help='Print the desired provider tree (providers, '
                     'inventories, traits and where each trait comes from) '
                     'as JSON on stdout and exit, without sending any '
                     'request to Placement.'),
]


def _error(message):
    sys.stderr.write('%s: error: %s\n' % (PROG, message))


def _stdout_closed():
    """The reader of stdout went away (``--dry-run | head``): not an
    error. Point stdout at /dev/null so that the interpreter's last flush
    does not fail again (Python's documentation, "Note on SIGPIPE")."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def build_conf(extra_cli_opts=None):
    conf = cfg.ConfigOpts()
    conf.register_cli_opts(cli_opts if extra_cli_opts is None
                           else extra_cli_opts)
    mdev_conf.register_opts(conf)
    logging.register_options(conf)
    # stdout is reserved for --dry-run output
    conf.set_default('use_stderr', True)
    return conf


def validate(conf):
    """Read every option once so that a bad value fails at start, with a
    message naming the option (oslo.config checks values lazily)."""
    errors = []
    for group_name, group_opts in [(None, conf._opts)] + [
            (g, conf._groups[g]._opts) for g in conf._groups]:
        for opt_name in group_opts:
            try:
                if group_name is None:
                    getattr(conf, opt_name)
                else:
                    getattr(getattr(conf, group_name), opt_name)
            except (cfg.ConfigFileValueError, ValueError) as exc:
                errors.append('[%s] %s: %s' % (group_name or 'DEFAULT',
                                               opt_name, exc))
    errors.extend(service.check_mdev_config(
        service.mdev_config_from_conf(conf)))
    return errors


def _subcommand(args):
    """(module or None, remaining args, prog)."""
    if args and args[0] in SUBCOMMANDS:
        module = importlib.import_module(SUBCOMMANDS[args[0]])
        return module, args[1:], '%s %s' % (PROG, args[0])
    return None, args, PROG


def main(argv=None):
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        sub, args, prog = _subcommand(args)
    except ImportError as exc:
        _error('subcommand %s is not available: %s' % (args[0], exc))
        return EXIT_CONFIG
    conf = build_conf(sub.cli_opts if sub is not None else None)
    try:
        conf(args, project='mdev-traits', prog=prog)
    except cfg.Error as exc:
        _error('configuration: %s' % exc)
        return EXIT_CONFIG
    try:
        errors = validate(conf)
    except cfg.Error as exc:
        errors = [str(exc)]
    if errors:
        for err in errors:
            _error('configuration: %s (files: %s)' % (
                err, ', '.join(conf.config_file) or 'none'))
        return EXIT_CONFIG
    try:
        logging.setup(conf, 'mdev-traits')
    except (OSError, ValueError) as exc:
        # e.g. nova.conf's log_dir, passed as an extra --config-file, is
        # not writable by the exporter's user
        _error('configuration: cannot set up logging (log_dir = %s, '
               'log_file = %s): %s' % (conf.log_dir, conf.log_file, exc))
        return EXIT_CONFIG
    if sub is not None:
        try:
            return sub.run(conf)
        except ValueError as exc:
            _error(str(exc))
            return EXIT_CONFIG
        except BrokenPipeError:
            _stdout_closed()
            return EXIT_OK

    for path in service.exposed_secret_files(conf):
        LOG.warning('%s holds credentials and is readable by every user of '
                    'this host: chmod o-r it (the systemd unit runs as '
                    'mdev-traits, give that group read access)', path)
    try:
        if conf.dry_run:
            tree = service.desired_tree(conf)
            out = tree.to_dict()
            out['mode'] = conf.exporter.mode
            try:
                json.dump(out, sys.stdout, indent=2, sort_keys=True)
                sys.stdout.write('\n')
                sys.stdout.flush()
            except BrokenPipeError:
                _stdout_closed()
            return EXIT_OK
        if conf.exporter.check_enabled_types:
            errors = service.unknown_enabled_types(
                conf, service.discover(conf))
            if errors:
                for err in errors:
                    _error('configuration: %s' % err)
                return EXIT_CONFIG
        if conf.once:
            placement_conf.log_credentials_source(conf, LOG, quiet=True)
            exporter = service.Exporter(conf, log_errors=False)
            try:
                result = exporter.cycle()
            except reconciler_mod.NothingPublished as exc:
                _error(str(exc))
                return EXIT_NOTHING_PUBLISHED
            if not result.ok:
                _error('published with %d refused change(s): %s' % (
                    len(result.outcome.failed),
                    '; '.join(result.outcome.failed)))
                return EXIT_PARTIAL
            LOG.info('Published %d provider(s) with %d trait(s) under %s; '
                     '%d change(s) written', result.providers,
                     result.traits, conf.exporter.root_provider_name,
                     result.outcome.done)
            return EXIT_OK

        def reload_conf():
            # parse into a new object: the running one keeps the old
            # values if the new files are wrong
            new = build_conf()
            new(args, project='mdev-traits', prog=prog)
            errors = validate(new)
            if errors:
                raise RuntimeError('; '.join(errors))
            return new

        daemon = service.Daemon(conf, reload_conf=reload_conf)
    except ValueError as exc:
        _error(str(exc))
        return EXIT_CONFIG
    daemon.install_signal_handlers()
    return daemon.run()


if __name__ == '__main__':
    sys.exit(main())
