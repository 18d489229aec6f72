#!/usr/bin/env bash
# The demo and config-dfu report only what the run produced: the seed's story with the seed's
# prj.conf, labels that name the configuration that ran, no narration of modules that are
# configured out.
set -uo pipefail
SMPKIT=$1
LATER_CONF=$2
VEC=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
passed=0
failed=0
has() { grep -q -- "$2" <<<"$1"; }
check() { if "$@"; then passed=$((passed + 1)); else echo "FAIL: $*" | head -c 300; echo; failed=$((failed + 1)); fi; }
not() { ! "$@"; }

seed=$("$SMPKIT" demo 2>&1)
check has "$seed" "SMP module smp (seed's era), BLE latency module on, MCUmgr groups: image only"
check has "$seed" "DFU lock taken by smp until reboot"
check has "$seed" "reset refused: os reset: rc 8"
check has "$seed" "the user switches the mouse off and on"
check has "$seed" "MCUboot: test swap of image 0"
check has "$seed" "new image 1.1.0 runs, already confirmed (by the device at boot)"
check has "$seed" "link layer: sdc"
check has "$seed" "BLE latency module on "
check has "$seed" "speed-up from the latency module"

{ cat "$LATER_CONF"; echo "CONFIG_DESKTOP_BLE_LATENCY_ENABLE=n"; echo "CONFIG_BT_PERIPHERAL_PREF_TIMEOUT=800"; } > "$dir/nolat.conf"
nolat=$("$SMPKIT" demo --config "$dir/nolat.conf" 2>&1)
check has "$nolat" "BLE latency module off (config)"
check not has "$nolat" "BLE latency module on"
check not has "$nolat" "speed-up from the latency module"
check not has "$nolat" " ble_latency "
check has "$nolat" "OS reset accepted"

{ cat "$LATER_CONF"; echo "CONFIG_DESKTOP_DFU_LOCK=n"; } > "$dir/nolock.conf"
nolock=$("$SMPKIT" demo --config "$dir/nolock.conf" 2>&1)
check not has "$nolock" "DFU lock taken"
check not has "$nolock" "DFU lock released"
check has "$nolock" "DFU complete"

smpfirst=$("$SMPKIT" config-dfu --smp-first "$VEC" 2>&1)
check has "$smpfirst" "DFU lock held by smp"
check has "$smpfirst" "start refused: another DFU transport is active (lock held by smp)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
