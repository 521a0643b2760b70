"""Probe a real GPU host: facts, a sysfs recording, discovery, dry-run.

Run by tools/probe_gpu_host.sh on a GPU host; writes into $OUT: facts.txt,
h200-host.ttar (the GPU PCI functions and their driver module, text
attributes only), discovery.json (the raw NVML answers, discovery of the
real /sys and of the recording).
"""

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback

OUT = os.environ['OUT']
SYS = os.environ.get('PROBE_SYS', '/sys')

# attributes never read: binary, write-only, or side effects on read
SKIP = {'config', 'rom', 'reset', 'remove', 'rescan', 'new_id', 'remove_id',
        'bind', 'unbind', 'uevent_trigger', 'driver_override_write',
        'reset_method', 'vpd', 'd3cold_allowed_write'}


def log(fh, *args):
    print(*args, file=fh)
    fh.flush()


def safe_read(path, cap=4096):
    try:
        st = os.lstat(path)
        if not (st.st_mode & 0o444):
            return None
        with open(path, 'rb') as f:
            return f.read(cap)
    except OSError as exc:
        return ('<%s>' % exc.strerror).encode()


def copy_attrs(src, dst, depth=0, max_depth=1):
    """Copy readable text attributes of a sysfs directory (and the subdirs
    up to max_depth), record links as links."""
    os.makedirs(dst, exist_ok=True)
    try:
        names = sorted(os.listdir(src))
    except OSError:
        return
    for name in names:
        s = os.path.join(src, name)
        d = os.path.join(dst, name)
        if name in SKIP or name.startswith('resource'):
            continue
        if os.path.islink(s):
            os.symlink(os.readlink(s), d)
        elif os.path.isdir(s):
            if depth < max_depth and (
                    name in ('power', 'msi_irqs', 'link', 'nvidia', 'sriov',
                             'mdev_supported_types')
                    or os.path.basename(src) == 'mdev_supported_types'):
                copy_attrs(s, d, depth + 1, max_depth)
        elif os.path.isfile(s):
            data = safe_read(s)
            if data is None:
                continue
            if b'\0' in data[:-1]:
                continue
            with open(d, 'wb') as f:
                f.write(data)


def record(facts):
    stage = tempfile.mkdtemp()
    gpus = []
    pci = os.path.join(SYS, 'bus/pci/devices')
    for addr in sorted(os.listdir(pci)):
        vendor = (safe_read(os.path.join(pci, addr, 'vendor')) or b'')
        if vendor.strip() == b'0x10de':
            gpus.append(addr)
    log(facts, 'NVIDIA PCI functions:', gpus)
    for addr in gpus:
        real = os.path.realpath(os.path.join(pci, addr))
        rel = os.path.relpath(real, SYS)
        log(facts, addr, '->', rel)
        # the device and each parent bridge directory (attrs only)
        parts = rel.split('/')
        for i in range(2, len(parts) + 1):
            sub = '/'.join(parts[:i])
            if i < len(parts):
                os.makedirs(os.path.join(stage, sub), exist_ok=True)
        copy_attrs(real, os.path.join(stage, rel), max_depth=2)
        os.makedirs(os.path.join(stage, 'bus/pci/devices'), exist_ok=True)
        os.symlink(os.readlink(os.path.join(pci, addr)),
                   os.path.join(stage, 'bus/pci/devices', addr))
        drv = os.path.join(real, 'driver')
        if os.path.islink(drv):
            dname = os.path.basename(os.readlink(drv))
            dd = os.path.join(stage, 'bus/pci/drivers', dname)
            os.makedirs(dd, exist_ok=True)
            os.symlink(os.readlink(os.path.join(SYS, 'bus/pci/drivers',
                                                dname, addr)),
                       os.path.join(dd, addr))
            mod = os.path.join(SYS, 'bus/pci/drivers', dname, 'module')
            if os.path.islink(mod) and not os.path.lexists(
                    os.path.join(dd, 'module')):
                os.symlink(os.readlink(mod), os.path.join(dd, 'module'))
                mname = os.path.basename(os.readlink(mod))
                mdir = os.path.join(SYS, 'module', mname)
                md = os.path.join(stage, 'module', mname)
                os.makedirs(md, exist_ok=True)
                for attr in ('version', 'srcversion', 'initstate'):
                    data = safe_read(os.path.join(mdir, attr))
                    if data is not None:
                        with open(os.path.join(md, attr), 'wb') as f:
                            f.write(data)
    for extra in ('class/mdev_bus', 'bus/mdev', 'bus/vdpa', 'class/vdpa'):
        p = os.path.join(SYS, extra)
        log(facts, extra, 'exists' if os.path.exists(p) else 'absent',
            sorted(os.listdir(p)) if os.path.isdir(p) else '')
        if os.path.isdir(p):
            os.makedirs(os.path.join(stage, extra), exist_ok=True)
        if extra == 'class/mdev_bus' and os.path.isdir(p):
            for name in os.listdir(p):
                os.symlink(os.readlink(os.path.join(p, name)),
                           os.path.join(stage, extra, name))
    from mdev_traits import ttar
    text = ttar.create(stage, arcname='',
                       header='Recorded on an NVIDIA H200 host (device '
                              'machine, Firecracker VM) by tools/probe_gpu_host.py')
    ttar.write_archive(os.path.join(OUT, 'h200-host.ttar'), text)
    return stage


def as_json(obj):
    if dataclasses.is_dataclass(obj):
        return {k: as_json(v) for k, v in dataclasses.asdict(obj).items()}
    if isinstance(obj, (list, tuple)):
        return [as_json(x) for x in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(as_json(x) for x in obj)
    if isinstance(obj, dict):
        return {str(k): as_json(v) for k, v in obj.items()}
    return obj


def discover(root, sources, facts):
    from mdev_traits.discovery import base
    cols = base.load_collectors(sources, root)
    found = base.discover(cols, root)
    return as_json(found)


def raw_nvml(facts):
    out = {}
    try:
        import pynvml
        out['pynvml_file'] = pynvml.__file__
        pynvml.nvmlInit()
        out['driver'] = pynvml.nvmlSystemGetDriverVersion()
        out['nvml_version'] = pynvml.nvmlSystemGetNVMLVersion()
        out['cuda_driver'] = pynvml.nvmlSystemGetCudaDriverVersion()
        n = pynvml.nvmlDeviceGetCount()
        out['devices'] = []
        for i in range(n):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            pci = pynvml.nvmlDeviceGetPciInfo(h)
            d = {'name': pynvml.nvmlDeviceGetName(h),
                 'busId': pci.busId, 'pciDeviceId': hex(pci.pciDeviceId),
                 'pciSubSystemId': hex(pci.pciSubSystemId),
                 'cc': pynvml.nvmlDeviceGetCudaComputeCapability(h),
                 'memory_total': pynvml.nvmlDeviceGetMemoryInfo(h).total}
            for call in ('nvmlDeviceGetVirtualizationMode',
                         'nvmlDeviceGetHostVgpuMode',
                         'nvmlDeviceGetMigMode',
                         'nvmlDeviceGetSupportedVgpus',
                         'nvmlDeviceGetCreatableVgpus'):
                try:
                    d[call] = repr(getattr(pynvml, call)(h))
                except Exception as exc:  # noqa
                    d[call] = 'error: %r' % exc
            out['devices'].append(d)
        pynvml.nvmlShutdown()
    except Exception:  # noqa
        out['error'] = traceback.format_exc()
    return out


def main():
    facts = open(os.path.join(OUT, 'facts.txt'), 'w')
    for cmd in ('uname -a', 'cat /proc/version',
                'cat /proc/driver/nvidia/version',
                'cat /sys/module/nvidia/version',
                'ls /sys/module | grep -iE "nvidia|vfio|mdev|vdpa"',
                'grep -E " /sys( |/)" /proc/self/mountinfo',
                'nvidia-smi -L', 'python3 --version',
                'which vdpa mdevctl lspci',
                'ls -la /sys/class/mdev_bus /sys/bus/mdev 2>&1 | head'):
        r = subprocess.run(cmd, shell=True, capture_output=True, text=True,
                           timeout=60)
        log(facts, '$', cmd)
        log(facts, (r.stdout + r.stderr).rstrip())
    result = {}
    try:
        stage = record(facts)
    except Exception:  # noqa
        log(facts, 'record failed', traceback.format_exc())
        stage = None
    result['nvml_raw'] = raw_nvml(facts)
    for name, root, sources in (
            ('real_sys', SYS, ['mdev', 'nvml', 'vgpu_vf', 'vdpa']),
            ('recorded', stage, ['mdev', 'vgpu_vf'])):
        if root is None:
            continue
        try:
            result[name] = discover(root, sources, facts)
        except Exception:  # noqa
            result[name] = {'error': traceback.format_exc()}
    try:
        from mdev_traits.discovery import base
        result['root_error_real'] = base.root_error(SYS)
        if stage:
            result['root_error_recorded'] = base.root_error(stage)
    except Exception:  # noqa
        result['root_error'] = traceback.format_exc()
    with open(os.path.join(OUT, 'discovery.json'), 'w') as f:
        json.dump(result, f, indent=1, sort_keys=True, default=repr)
    facts.close()


if __name__ == '__main__':
    sys.exit(main())
