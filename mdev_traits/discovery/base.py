"""Discovery sources, one per kind of hardware, like node_exporter's
collectors: each reads under ``[exporter] sysfs_root`` and returns plain
dataclasses (:mod:`mdev_traits.models`). They are found by stevedore in
the ``mdev_traits.discovery`` entry point namespace, so a packager or an
operator can add one without touching this code.
"""

import abc

from oslo_log import log as logging
import stevedore

from mdev_traits.discovery import root as root_mod
from mdev_traits import models

LOG = logging.getLogger(__name__)

NAMESPACE = 'mdev_traits.discovery'


class Collector(metaclass=abc.ABCMeta):
    """A discovery source. ``name`` is its entry point name; ``kinds``
    the kinds of hardware (``models.KIND_*``) it reports, so that a failure
    of this source keeps only those providers untouched."""

    name = None
    kinds = ()

    def __init__(self, sysfs_root):
        self.sysfs_root = sysfs_root

    def configure(self, **options):
        """Take the source's own options, as plain keyword values.

        Called by :func:`load_collectors` right after ``__init__`` with
        the values given for this source's name
        (:class:`mdev_traits.conf.settings.DiscoverySettings`); sources
        without options take none.
        """

    def failed(self, errors):
        """The result of a read that failed as a whole: this source's
        kinds are incomplete, so none of their providers is removed."""
        return models.DiscoveryResult(
            complete=False, incomplete=frozenset(self.kinds),
            errors=tuple(errors))

    @abc.abstractmethod
    def collect(self):
        """Return a :class:`mdev_traits.models.DiscoveryResult`."""


def load_collectors(names, sysfs_root, options=None):
    """Instantiate the named collectors; unknown names raise ValueError.

    ``options``: {source name: {keyword: plain value}}; each collector
    named there gets ``configure(**its values)`` (stevedore only passes
    ``sysfs_root`` to the constructors).
    """
    errors = []

    def on_missing(names_):
        errors.extend(names_)

    mgr = stevedore.NamedExtensionManager(
        NAMESPACE, names=list(names), invoke_on_load=True,
        invoke_args=(sysfs_root,), name_order=True,
        on_missing_entrypoints_callback=on_missing)
    if errors:
        raise ValueError('unknown discovery source(s) %s in [exporter] '
                         'discovery_sources (known: %s)' % (
                             ', '.join(sorted(errors)),
                             ', '.join(sorted(available_collectors()))))
    collectors = [ext.obj for ext in mgr]
    for collector in collectors:
        values = (options or {}).get(collector.name)
        if values:
            collector.configure(**values)
    return collectors


def available_collectors():
    return stevedore.ExtensionManager(NAMESPACE).names()


def root_error(sysfs_root):
    """One line naming ``[exporter] sysfs_root`` when it does not look
    like sysfs (:mod:`mdev_traits.discovery.root`), else None."""
    reason = root_mod.check(sysfs_root)
    if reason is None:
        return None
    return ('[exporter] sysfs_root = %s does not look like sysfs: %s; '
            'nothing is withdrawn from Placement while it does not'
            % (sysfs_root, reason))


def untrusted(message):
    """The result that makes a whole cycle add-only: every kind is
    incomplete and nothing read is evidence for a withdrawal."""
    return models.DiscoveryResult(complete=False,
                                  incomplete=models.ALL_KINDS,
                                  errors=(message,), trusted=False)


def discover(collectors, sysfs_root=None):
    """Run every collector and merge what they found.

    A collector that crashes makes the result incomplete (so nothing is
    removed on the basis of it) instead of stopping the daemon. With
    ``sysfs_root``, the result is trusted only when that root looks like
    sysfs (:func:`root_error`); the collectors run either way, so that
    what they find is still added.
    """
    results = []
    if sysfs_root is not None:
        error = root_error(sysfs_root)
        if error is not None:
            results.append(untrusted(error))
    for collector in collectors:
        try:
            results.append(collector.collect())
        except Exception as exc:  # noqa: B902 - one bad source must not
            # stop the others
            LOG.exception('Discovery source %s failed', collector.name)
            kinds = frozenset(getattr(collector, 'kinds', ()) or ())
            results.append(models.DiscoveryResult(
                complete=False, incomplete=kinds,
                errors=('%s: %s' % (collector.name, exc),)))
    return models.merge_results(results)
