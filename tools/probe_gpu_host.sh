#!/bin/bash
# Probe a real GPU host (run from the repo root, with the wheels of
# requirements.txt and of mdev-traits in .whl/); writes into $OUT. Used to
# record tests/recorded/h200-passthrough.
export PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl > $OUT/pip.log 2>&1 || { cat $OUT/pip.log; exit 1; }
export PYTHONPATH=/tmp/site
cd /tmp
nvidia-smi -q > $OUT/nvidia-smi-q.txt 2>&1
timeout 240 python3 $OLDPWD/tools/probe_gpu_host.py > $OUT/probe.log 2>&1; echo "probe rc=$?" >> $OUT/probe.log
cat > /tmp/dev.conf <<CONF
[DEFAULT]
debug = true
[exporter]
sysfs_root = /sys
discovery_sources = mdev,nvml,vgpu_vf
root_provider_name = h200-probe
state_file = /tmp/state.json
check_enabled_types = false
CONF
EXP='import sys; from mdev_traits.cmd.exporter import main; sys.exit(main())'
{ echo '$ --dry-run'; timeout 120 python3 -c "$EXP" --config-file /tmp/dev.conf --dry-run; echo "rc=$?";
  echo '$ device-spec'; timeout 120 python3 -c "$EXP" device-spec --config-file /tmp/dev.conf; echo "rc=$?";
  echo '$ device-spec json'; timeout 120 python3 -c "$EXP" device-spec --config-file /tmp/dev.conf --format json; echo "rc=$?"; } > $OUT/dryrun.txt 2>&1
tail -5 $OUT/probe.log; head -c 3000 $OUT/facts.txt; tail -30 $OUT/dryrun.txt
