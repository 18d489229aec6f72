#!/usr/bin/env bash
# `smpkit device --ble-sim` driven by the CLI in real time over its UNIX socket: echo, then a
# full upgrade of a golden vector image ending active and confirmed. Every step is bounded.
set -euo pipefail
SMPKIT=$1
IMAGE=$2
dir=$(mktemp -d)
sock=$dir/ble.sock
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"; }
"$SMPKIT" device --ble-sim "$sock" --quiet > "$dir/device.log" 2>&1 &
pid=$!
trap cleanup EXIT
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { echo "device did not open $sock"; cat "$dir/device.log"; exit 1; }
out=$(timeout 30 "$SMPKIT" --conn "blesim:$sock" echo "over simulated BLE")
[ "$out" = "over simulated BLE" ] || { echo "echo answered '$out'"; exit 1; }
timeout 120 "$SMPKIT" --conn "blesim:$sock" upgrade "$IMAGE" --progress none
state=$(timeout 30 "$SMPKIT" --conn "blesim:$sock" image list)
echo "$state"
echo "$state" | grep -q "slot 0: version 1.2.3.4  \[active confirmed" || { echo "new image not active+confirmed"; exit 1; }
echo "1 passed, 0 failed"
