"""nova-compute's Placement reporting, run with nova's own code.

:class:`NovaCompute` runs, on each :meth:`~NovaCompute.periodic`, what
nova-compute's ``update_available_resource`` periodic task does for
Placement:

* the real ``nova.compute.resource_tracker.ResourceTracker.
  _update_to_placement`` (with its retry on generation conflicts), which
  gets the cached provider tree from, and flushes it back through, the
  real ``nova.scheduler.client.report.SchedulerReportClient``
  (``get_provider_subtree_and_ensure_root``,
  ``get_allocations_for_provider_tree``, ``update_from_provider_tree``),
  configured by nova's own ``[placement]`` loading
  (``nova.utils.get_sdk_adapter``; ``auth_type = admin_token``);
* the real ``nova.virt.libvirt.driver.LibvirtDriver.update_provider_tree``
  and with it ``_update_provider_tree_for_vgpu``, ``_get_gpu_inventories``
  and ``_ensure_pgpu_providers``, nova's parsing of ``[devices]`` and
  ``[mdev_<type>]`` (``_get_supported_vgpu_types``) and its per-GPU
  provider naming, ``VGPU`` inventory and ``OWNER_NOVA`` trait.

Only what needs a hypervisor is replaced, in :class:`SysfsLibvirtDriver`:
libvirt's node device listing (``_get_mdev_capable_devices``,
``_get_mediated_devices``), which libvirt itself builds from the same
sysfs files, is read from the fake sysfs tree; host CPUs, memory and disk
are fixed numbers; the compute service record (a database lookup for
``COMPUTE_STATUS_DISABLED``) is left out. Errors of a periodic run are
caught and recorded the way ``ComputeManager.
_update_available_resource_for_node`` logs them and goes on.

Every request nova sends is counted by method and status in
:attr:`NovaCompute.requests`.
"""

import collections
import os
import re
import uuid as uuid_lib

import nova.conf
from nova import context as nova_context
from nova import objects
from nova.compute import resource_tracker
from nova.scheduler.client import report
from nova.virt.libvirt import driver as libvirt_driver
import os_resource_classes as orc

CONF = nova.conf.CONF

_UUID_RE = re.compile(
    r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$', re.I)


def configure(conf_file):
    """Load nova's configuration from ``conf_file`` (nothing else)."""
    objects.register_all()
    CONF(args=[], project='nova', default_config_files=[conf_file])


def nova_conf(path, placement_url, enabled_types=(), device_addresses=None,
              extra=''):
    """Write a nova.conf for :class:`NovaCompute`; return its path."""
    lines = ['[placement]', 'auth_type = admin_token',
             'endpoint = %s' % placement_url, 'token = admin', '',
             '[devices]', 'enabled_mdev_types = %s' % ','.join(enabled_types),
             '']
    for mdev_type, addresses in (device_addresses or {}).items():
        lines += ['[mdev_%s]' % mdev_type,
                  'device_addresses = %s' % ','.join(addresses), '']
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + extra)
    return path


def libvirt_name(parent):
    """libvirt's node device name of an mdev parent (pci_0000_3b_00_0)."""
    return 'pci_' + parent.replace(':', '_').replace('.', '_')


class _Host(object):
    def __init__(self, memory_mb):
        self._memory_mb = memory_mb

    def get_memory_mb_total(self):
        return self._memory_mb


class SysfsLibvirtDriver(libvirt_driver.LibvirtDriver):
    """nova's libvirt driver, with libvirt's node devices read from a fake
    sysfs tree instead of a libvirt connection."""

    def __init__(self, sysfs_root, vcpus=32, memory_mb=256 * 1024,
                 disk_gb=1800):
        # Not LibvirtDriver.__init__(), which connects to libvirt: only the
        # attributes update_provider_tree() uses, set as __init__ sets them.
        self.sysfs_root = sysfs_root
        self._host = _Host(memory_mb)
        self._vcpus = vcpus
        self._disk_gb = disk_gb
        self._vpmems_by_name, self._vpmems_by_rc = {}, {}
        self.pgpu_type_mapping = collections.defaultdict(str)
        self.mdev_class_mapping = collections.defaultdict(lambda: orc.VGPU)
        self.mdev_classes = set()
        self.mdev_type_max_mapping = collections.defaultdict(str)
        self.pgpu_type_default = None
        self.virtual_mdevs = set()
        self.supported_vgpu_types = self._get_supported_vgpu_types()
        # CPU, storage bus, video model... traits come from libvirt
        self._static_traits = {}
        self.provider_tree = None

    # -- what libvirt would answer ----------------------------------------
    def _parents(self):
        bus = os.path.join(self.sysfs_root, 'class', 'mdev_bus')
        try:
            names = sorted(os.listdir(bus))
        except FileNotFoundError:
            return
        for name in names:
            types_dir = os.path.join(bus, name, 'mdev_supported_types')
            if os.path.isdir(types_dir):
                yield name, types_dir

    def _get_mdev_capable_devices(self, types=None):
        devices = []
        for name, types_dir in self._parents():
            dev_types = {}
            for type_id in sorted(os.listdir(types_dir)):
                if types and type_id not in types:
                    continue
                with open(os.path.join(types_dir, type_id,
                                       'available_instances')) as f:
                    available = int(f.read())
                dev_types[type_id] = {'availableInstances': available,
                                      'deviceAPI': 'vfio-pci'}
            if dev_types:
                devices.append({'dev_id': libvirt_name(name),
                                'types': dev_types})
        return devices

    def _get_mediated_devices(self, types=None):
        mdevs = []
        for name, types_dir in self._parents():
            for type_id in sorted(os.listdir(types_dir)):
                if types and type_id not in types:
                    continue
                devices = os.path.join(types_dir, type_id, 'devices')
                for entry in sorted(os.listdir(devices)):
                    if _UUID_RE.match(entry):
                        mdevs.append({
                            'dev_id': 'mdev_%s_%s' % (
                                entry.replace('-', '_'),
                                libvirt_name(name)[4:]),
                            'uuid': entry, 'parent': libvirt_name(name),
                            'type': type_id, 'iommu_group': 0})
        return mdevs

    def _get_memory_encryption_inventories(self):
        return {}

    # -- the rest of the host ---------------------------------------------
    def _get_local_gb_info(self):
        return {'total': self._disk_gb, 'used': 0, 'free': self._disk_gb}

    def _get_vcpu_available(self):
        return set(range(self._vcpus))

    def _get_pcpu_available(self):
        return set()


class NovaCompute(object):
    """One nova-compute host reporting to Placement (see module doc)."""

    def __init__(self, nodename, sysfs_root, compute_uuid=None):
        self.nodename = nodename
        self.context = nova_context.get_admin_context()
        self.reportclient = report.SchedulerReportClient()
        self.requests = collections.Counter()
        self._count(self.reportclient)
        self.driver = SysfsLibvirtDriver(sysfs_root)
        self.rt = resource_tracker.ResourceTracker(
            nodename, self.driver, reportclient=self.reportclient)
        # needs nova's database (the compute service record)
        self.rt._sync_compute_service_disabled_trait = (
            lambda context, traits: None)
        self.compute_node = objects.ComputeNode(
            uuid=compute_uuid or str(uuid_lib.uuid4()),
            hypervisor_hostname=nodename, host=nodename)
        self.errors = []

    def _count(self, reportclient):
        adapter = reportclient._client
        real = adapter.request

        def request(url, method, *args, **kwargs):
            resp = real(url, method, *args, **kwargs)
            self.requests[(method.upper(), resp.status_code)] += 1
            return resp

        adapter.request = request

    def periodic(self, refresh=False):
        """One ``update_available_resource`` run for Placement.

        ``refresh``: as if ``[compute] resource_provider_association_refresh``
        (300 s) had passed since the last one, so nova re-reads the tree.
        Returns the exception it logged, or None.
        """
        if refresh:
            self.reportclient._association_refresh_time.clear()
        try:
            self.rt._update_to_placement(self.context, self.compute_node,
                                         startup=False)
        except Exception as exc:  # noqa: B902 - as the compute manager
            self.errors.append(exc)
            return exc
        return None

    # -- counters ---------------------------------------------------------
    def write_count(self):
        return sum(n for (m, _s), n in self.requests.items() if m != 'GET')

    def conflicts(self):
        return sum(n for (_m, s), n in self.requests.items() if s == 409)

    def reset_counts(self):
        self.requests.clear()
        del self.errors[:]
