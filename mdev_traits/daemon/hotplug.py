"""Run a cycle soon after hardware changes, debounced.

udev events of the ``mdev``, ``pci`` and ``vdpa`` subsystems (and mdev
parents, which announce (un)registration with a ``change`` event carrying
``MDEV_STATE``, see drivers/vfio/mdev/mdev_core.c) wake the daemon; a burst
of events makes one cycle. ``available_instances`` changes emit no event,
so the periodic cycle stays.

:class:`Debouncer` is fed through :meth:`Debouncer.on_event` both by the
real pyudev monitor and by tests.
"""

import threading
import time

from oslo_log import log as logging

# the logger name from before the daemon package (operators filter on it)
LOG = logging.getLogger('mdev_traits.hotplug')

SUBSYSTEMS = ('mdev', 'pci', 'vdpa')
ACTIONS = ('add', 'remove', 'change', 'bind', 'unbind')


def relevant(action, subsystem, properties):
    """Whether a udev event can change what the exporter publishes."""
    if subsystem not in SUBSYSTEMS or action not in ACTIONS:
        return False
    if action == 'change' and subsystem == 'pci':
        # a PCI device changes for many reasons; mdev parents say so
        return 'MDEV_STATE' in (properties or {})
    return True


class Debouncer(object):
    """Calls ``wake()`` once, ``delay`` seconds after the last relevant
    event of a burst."""

    def __init__(self, wake, delay, clock=time.monotonic):
        self._wake = wake
        self.delay = delay
        self._clock = clock
        self._cond = threading.Condition()
        self._deadline = None
        self._stopped = False
        self._thread = None
        self.events = 0
        self.triggers = 0

    def on_event(self, action, subsystem, properties=None):
        if not relevant(action, subsystem, properties):
            return False
        with self._cond:
            self.events += 1
            self._deadline = self._clock() + self.delay
            self._cond.notify()
        return True

    def start(self):
        self._thread = threading.Thread(target=self._run,
                                        name='hotplug-debounce',
                                        daemon=True)
        self._thread.start()

    def stop(self):
        with self._cond:
            self._stopped = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self):
        with self._cond:
            while not self._stopped:
                if self._deadline is None:
                    self._cond.wait()
                    continue
                remaining = self._deadline - self._clock()
                if remaining > 0:
                    self._cond.wait(remaining)
                    continue
                self._deadline = None
                self.triggers += 1
                self._wake()


class UdevMonitor(object):
    """Feeds a :class:`Debouncer` from the kernel's uevents via pyudev."""

    def __init__(self, debouncer):
        self.debouncer = debouncer
        self._observer = None

    def start(self):
        try:
            import pyudev
            context = pyudev.Context()
            monitor = pyudev.Monitor.from_netlink(context)
            for subsystem in SUBSYSTEMS:
                monitor.filter_by(subsystem)
        except Exception as exc:  # noqa: B902 - libudev missing, no netlink
            LOG.warning('Hotplug disabled (udev unavailable: %s); the '
                        'periodic cycle still runs', exc)
            return False

        def handle(device):
            try:
                self.debouncer.on_event(device.action, device.subsystem,
                                        dict(device.properties))
            except Exception:  # noqa: B902 - never kill the observer
                LOG.exception('Bad udev event')

        self._observer = pyudev.MonitorObserver(monitor, callback=handle,
                                                name='udev-monitor')
        self._observer.daemon = True
        self._observer.start()
        self.debouncer.start()
        LOG.info('Watching udev events of %s', ', '.join(SUBSYSTEMS))
        return True

    def stop(self):
        if self._observer is not None:
            self._observer.send_stop()
            self._observer = None
        self.debouncer.stop()
