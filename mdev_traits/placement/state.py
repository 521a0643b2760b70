"""Persist what the exporter set, so a restart still knows what it owns."""

import json
import os
import tempfile

from oslo_log import log as logging

from mdev_traits.placement import plan as plan_mod

LOG = logging.getLogger(__name__)

FORMAT_VERSION = 1


class StateStore(object):
    """A small JSON file, written atomically (write, fsync, rename).

    When it cannot be read or written the exporter still works: ownership
    then falls back to the reserved trait prefixes (see
    :data:`mdev_traits.mapping.contract.RESERVED_PREFIXES`).
    """

    def __init__(self, path, root_name):
        self.path = path
        self.root_name = root_name
        self._warned = False
        self._last_saved = None

    def load(self):
        if not self.path:
            return plan_mod.Ownership()
        try:
            with open(self.path, encoding='utf-8') as f:
                data = json.load(f)
        except FileNotFoundError:
            return plan_mod.Ownership()
        except (OSError, ValueError) as exc:
            self._warn('cannot read state file %s (%s); relying on reserved '
                       'trait prefixes for ownership' % (self.path, exc))
            return plan_mod.Ownership()
        if (not isinstance(data, dict)
                or data.get('version') != FORMAT_VERSION):
            self._warn('state file %s has an unknown format; ignoring it' %
                       self.path)
            return plan_mod.Ownership()
        if data.get('root_provider') != self.root_name:
            return plan_mod.Ownership()
        try:
            return plan_mod.Ownership.from_dict(data.get('providers', {}))
        except (AttributeError, TypeError) as exc:
            self._warn('state file %s is malformed (%s); ignoring it' % (
                self.path, exc))
            return plan_mod.Ownership()

    def save(self, ownership):
        if not self.path:
            return
        data = {'version': FORMAT_VERSION, 'root_provider': self.root_name,
                'providers': ownership.to_dict()}
        if data == self._last_saved:
            return
        directory = os.path.dirname(os.path.abspath(self.path))
        try:
            os.makedirs(directory, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix='.state-', dir=directory)
            try:
                with os.fdopen(fd, 'w', encoding='utf-8') as f:
                    json.dump(data, f, indent=1, sort_keys=True)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
        except OSError as exc:
            self._warn('cannot write state file %s (%s); relying on '
                       'reserved trait prefixes for ownership' % (
                           self.path, exc))
            return
        self._last_saved = data

    def _warn(self, message):
        if not self._warned:
            LOG.warning(message)
            self._warned = True
