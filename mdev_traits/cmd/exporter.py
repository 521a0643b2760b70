"""``mdev-traits-exporter``: the daemon, its one-shot modes and its
subcommands.

    mdev-traits-exporter --config-file FILE [--config-file FILE2 ...]
                         [--once] [--dry-run]
    mdev-traits-exporter [--config-file FILE ...] SUBCOMMAND [options]
    mdev-traits-exporter --version | --help

A subcommand is a module named in :data:`SUBCOMMANDS` (with the one line
``--help`` shows for it) that defines ``cli_opts`` (oslo.config options
registered on the command line) and ``run(conf, settings) -> exit
status``: ``conf`` holds its command-line options, ``settings`` the
configuration (:class:`mdev_traits.conf.settings.Settings`, built once at
start). The options of the command (``--config-file``, ``--debug``, ...)
go before or after the subcommand's name, as with nova-manage and
placement-manage.

Exit status: 0 success; 1 nothing could be published (compute node
provider missing, Placement unreachable, state file locked by another
exporter for too long, ...); 2 configuration error (also: a state file
written on another host); 3 published, but Placement refused some
changes.
"""

import contextlib
import importlib
import io
import json
import os
import sys

from oslo_config import cfg
from oslo_log import log as logging
import pbr.version

from mdev_traits import conf as mdev_conf
from mdev_traits.conf import check as conf_check
from mdev_traits.conf import placement as placement_conf
from mdev_traits.daemon import loop as daemon_mod
from mdev_traits.discovery import base as discovery_base
from mdev_traits import health
from mdev_traits.placement import reconciler as reconciler_mod
from mdev_traits import service

LOG = logging.getLogger(__name__)

PROG = 'mdev-traits-exporter'
EXIT_OK = 0
EXIT_NOTHING_PUBLISHED = 1
EXIT_CONFIG = 2
EXIT_PARTIAL = 3

# subcommand -> (module, one line for --help); see the module docstring
SUBCOMMANDS = {
    # keep each line short: --help shows it on one line (80 columns)
    'cleanup': ('mdev_traits.cmd.cleanup',
                'remove what the exporter published, per its record'),
    'device-spec': ('mdev_traits.cmd.device_spec',
                    'nova [pci] device_spec entries for PCI vGPUs'),
    'requirements': ('mdev_traits.cmd.requirements',
                     'traits a destination needs to take a device'),
    'show': ('mdev_traits.cmd.show',
             'what a host publishes, read from Placement'),
    'status': ('mdev_traits.cmd.status',
               'last full sync of the exporter, what it holds back'),
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


def version():
    """The version of the installed package, as pbr gives it."""
    return pbr.version.VersionInfo('mdev-traits').version_string()


def warn_unknown(conf):
    """Log the options and sections of the exporter's own file (the last
    ``--config-file``) that it does not know."""
    for line in conf_check.unknown_options(conf):
        LOG.warning('Configuration: %s', line)


def _takes_value(option):
    """Whether the command's option ``option`` (as typed, without
    ``=value``) expects a value after it. argparse answers: an option
    parsed alone that lacks its value (or that is unknown) fails."""
    probe = build_conf()
    with contextlib.redirect_stderr(io.StringIO()), \
            contextlib.redirect_stdout(io.StringIO()):
        try:
            probe([option], prog=PROG, version=version(),
                  default_config_files=[], default_config_dirs=[],
                  use_env=False)
        except SystemExit as exc:
            return exc.code not in (0, None)  # --help, --version: flags
        except cfg.Error:
            return False
    return False


def split_subcommand(args):
    """(subcommand name or None, the other arguments). The subcommand is
    the first argument that names one and is not the value of the
    option before it, so that options go before or after it."""
    for i, arg in enumerate(args):
        if arg not in SUBCOMMANDS:
            continue
        if i > 0:
            prev = args[i - 1]
            if (prev.startswith('-') and '=' not in prev
                    and _takes_value(prev)):
                continue
        return arg, list(args[:i]) + list(args[i + 1:])
    return None, list(args)


def _subcommand_help(subparsers):
    for name, (_module, summary) in sorted(SUBCOMMANDS.items()):
        subparsers.add_parser(name, help=summary, add_help=False)


def _help_opt():
    """For the command's --help only: the subcommands, one line each."""
    return cfg.SubCommandOpt(
        'subcommand', title='subcommands',
        description='"%s SUBCOMMAND --help" lists the options of one' %
                    PROG,
        handler=_subcommand_help)


def _subcommand(args):
    """(module or None, remaining args, prog, summary)."""
    name, args = split_subcommand(args)
    if name is None:
        return None, args, PROG, None
    module_name, summary = SUBCOMMANDS[name]
    module = importlib.import_module(module_name)
    return module, args, '%s %s' % (PROG, name), summary


def main(argv=None):
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        sub, args, prog, summary = _subcommand(args)
    except ImportError as exc:
        _error('subcommand is not available: %s' % exc)
        return EXIT_CONFIG
    conf = build_conf(sub.cli_opts if sub is not None else None)
    if sub is None and ('-h' in args or '--help' in args):
        conf.register_cli_opt(_help_opt())
    try:
        conf(args, project='mdev-traits', prog=prog, version=version(),
             description=summary)
    except cfg.Error as exc:
        _error('configuration: %s' % exc)
        return EXIT_CONFIG
    try:
        settings, errors = conf_check.checked_settings(conf)
    except cfg.Error as exc:
        errors = [str(exc)]
    if errors:
        for err in errors:
            _error('configuration: %s' % err)
        return EXIT_CONFIG
    try:
        logging.setup(conf, 'mdev-traits')
    except (OSError, ValueError) as exc:
        # e.g. nova.conf's log_dir, passed as an extra --config-file, is
        # not writable by the exporter's user
        _error('configuration: cannot set up logging (log_dir = %s, '
               'log_file = %s): %s' % (conf.log_dir, conf.log_file, exc))
        return EXIT_CONFIG
    warn_unknown(conf)
    if sub is not None:
        try:
            return sub.run(conf, settings)
        except ValueError as exc:
            _error(str(exc))
            return EXIT_CONFIG
        except BrokenPipeError:
            _stdout_closed()
            return EXIT_OK

    for path in conf_check.exposed_secret_files(conf):
        LOG.warning('%s holds credentials and is readable by every user of '
                    'this host: chmod o-r it (the systemd unit runs as '
                    'mdev-traits, give that group read access)', path)
    try:
        if conf.dry_run:
            tree = service.desired_tree(settings)
            out = tree.to_dict()
            out['mode'] = settings.exporter.mode
            try:
                json.dump(out, sys.stdout, indent=2, sort_keys=True)
                sys.stdout.write('\n')
                sys.stdout.flush()
            except BrokenPipeError:
                _stdout_closed()
            return EXIT_OK
        # before the enabled-type check: a mistyped root is reported as
        # what it is, not as types that no device offers
        error = discovery_base.root_error(settings.exporter.sysfs_root)
        if error is not None:
            _error('configuration: %s' % error)
            return EXIT_CONFIG
        if settings.exporter.check_enabled_types:
            errors = conf_check.unknown_enabled_types(
                conf, service.discover(settings))
            if errors:
                for err in errors:
                    _error('configuration: %s' % err)
                return EXIT_CONFIG
        if conf.once:
            placement_conf.log_credentials_source(conf, LOG, quiet=True)
            exporter = service.Exporter(settings, log_errors=False)
            try:
                result = exporter.cycle()
            except reconciler_mod.StateRefused as exc:
                # a state file from another host: the operator must look
                _error(str(exc))
                return EXIT_CONFIG
            except reconciler_mod.NothingPublished as exc:
                _error(str(exc))
                return EXIT_NOTHING_PUBLISHED
            finally:
                health.write_once_outputs(settings, exporter)
            if not result.ok:
                _error('published with %d refused change(s): %s' % (
                    len(result.outcome.failed),
                    '; '.join(result.outcome.failed)))
                return EXIT_PARTIAL
            if not result.outcome.done:
                # a cycle that wrote something said so in its own line
                LOG.info('Published %d provider(s) with %d trait(s) under '
                         '%s: nothing to change', result.providers,
                         result.traits, settings.exporter.root_provider_name)
            return EXIT_OK

        def reload_conf():
            # parse into a new object: the running one keeps the old
            # values if the new files are wrong
            new = build_conf()
            stderr = io.StringIO()
            try:
                with contextlib.redirect_stderr(stderr):
                    new(args, project='mdev-traits', prog=prog)
            except SystemExit:
                # argparse refused a value of a command-line option set
                # in a file (debug = maybe): it must not end the daemon
                lines = stderr.getvalue().strip().splitlines()
                raise RuntimeError(lines[-1] if lines else 'parse error')
            settings, errors = conf_check.checked_settings(new)
            if errors:
                raise RuntimeError('; '.join(errors))
            warn_unknown(new)
            return new, settings

        daemon = daemon_mod.Daemon(conf, reload_conf=reload_conf,
                                   settings=settings)
    except ValueError as exc:
        _error(str(exc))
        return EXIT_CONFIG
    daemon.install_signal_handlers()
    return daemon.run()


if __name__ == '__main__':
    sys.exit(main())
