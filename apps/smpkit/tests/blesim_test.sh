#!/usr/bin/env bash
# `smpkit device --ble-sim` driven by the CLI in real time over its UNIX socket.
# 1. With the seed's prj.conf (default) the device registers only the image group, as the
#    seed-era smp.c does: echo is answered "not supported" and the CLI says so.
# 2. With the later era's configuration (OS group on): echo, then a full upgrade of a golden
#    vector image ending active and confirmed. Every step is bounded.
set -euo pipefail
SMPKIT=$1
IMAGE=$2
LATER_CONF=$3
dir=$(mktemp -d)
sock=$dir/ble.sock
pid=
cleanup() { [ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }; rm -rf "$dir"; }
trap cleanup EXIT
start_device() {
  rm -f "$sock"
  "$SMPKIT" device --ble-sim "$sock" --quiet "$@" > "$dir/device.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
  [ -S "$sock" ] || { echo "device did not open $sock"; cat "$dir/device.log"; exit 1; }
}
stop_device() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=; }

start_device
rc=0
err=$(timeout 30 "$SMPKIT" --conn "blesim:$sock" echo "seed era" 2>&1 >/dev/null) || rc=$?
[ "$rc" -ne 0 ] || { echo "seed-era device answered echo (no OS group expected)"; exit 1; }
echo "$err" | grep -qi "not supported" || { echo "seed-era echo error unclear: $err"; exit 1; }
# upgrade: uploaded and marked for test, then the CLI says how the image gets booted (exit 5).
rc=0
err=$(timeout 120 "$SMPKIT" --conn "blesim:$sock" upgrade "$IMAGE" --progress none 2>&1 >/dev/null) || rc=$?
[ "$rc" -eq 5 ] || { echo "seed-era upgrade exit $rc (expected 5): $err"; exit 1; }
echo "$err" | grep -q "no remote reset.*power-cycle" || { echo "seed-era upgrade error unclear: $err"; exit 1; }
state=$(timeout 30 "$SMPKIT" --conn "blesim:$sock" image list)
echo "$state" | grep -q "slot 1: version 1.2.3.4  \[pending" || { echo "image not marked pending: $state"; exit 1; }
stop_device

start_device --config "$LATER_CONF"
out=$(timeout 30 "$SMPKIT" --conn "blesim:$sock" echo "over simulated BLE")
[ "$out" = "over simulated BLE" ] || { echo "echo answered '$out'"; exit 1; }
timeout 120 "$SMPKIT" --conn "blesim:$sock" upgrade "$IMAGE" --progress none
state=$(timeout 30 "$SMPKIT" --conn "blesim:$sock" image list)
echo "$state"
echo "$state" | grep -q "slot 0: version 1.2.3.4  \[active confirmed" || { echo "new image not active+confirmed"; exit 1; }
echo "3 passed, 0 failed"
