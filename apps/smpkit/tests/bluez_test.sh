#!/usr/bin/env bash
# The BlueZ transport end to end without a radio: a private dbus-daemon (its own config, a
# UNIX socket in a temporary directory), `smpkit ble emulate` owning org.bluez on it (backed by
# the simulated nRF Desktop device over the BLE link model), and the CLI pointed at it through
# DBUS_SYSTEM_BUS_ADDRESS: the same transport code as against the real bluetoothd.
# Every step is bounded; everything started here is stopped on exit.
set -uo pipefail
SMPKIT=$1
# The emulated mouse runs the later era's configuration (dfu_mcumgr: image + OS groups), as
# the nRF Desktop devices in users' hands do; the seed era has no remote reset.
LATER_CONF=$2
dir=$(mktemp -d)
emu_pid=""
bus_pid=""
cleanup() {
  [ -n "$emu_pid" ] && { kill "$emu_pid" 2>/dev/null; wait "$emu_pid" 2>/dev/null; }
  [ -n "$bus_pid" ] && { kill "$bus_pid" 2>/dev/null; wait "$bus_pid" 2>/dev/null; }
  rm -rf "$dir"
}
trap cleanup EXIT
passed=0
failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }

cat > "$dir/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$dir/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF
dbus-daemon --config-file="$dir/bus.conf" --nofork --nopidfile > "$dir/bus.log" 2>&1 &
bus_pid=$!
for _ in $(seq 100); do [ -S "$dir/bus" ] && break; sleep 0.05; done
[ -S "$dir/bus" ] || { echo "FAIL dbus-daemon did not start"; cat "$dir/bus.log"; exit 1; }
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$dir/bus"
ADDR=F4:CE:36:00:16:01

# The device also checks each uploaded image's hash, so uploads answer "match" (data intact).
{ cat "$LATER_CONF"; echo "CONFIG_IMG_ENABLE_IMAGE_CHECK=y"; } > "$dir/prj.conf"

# A 24 KiB application image, version 1.3.0.
head -c 24576 /dev/urandom > "$dir/app.bin"
"$SMPKIT" image sign -v 1.3.0 -H 0x200 --pad-header "$dir/app.bin" "$dir/app_update.bin" >/dev/null \
  || { echo "FAIL cannot sign the test image"; exit 1; }
IMAGE=$dir/app_update.bin

# start_emu [options...]: a fresh emulated BlueZ + device; its log in $dir/emu.log.
start_emu() {
  stop_emu
  "$SMPKIT" ble emulate --config "$dir/prj.conf" "$@" > "$dir/emu.log" 2>&1 &
  emu_pid=$!
  for _ in $(seq 200); do grep -q "^bluez-emu:" "$dir/emu.log" 2>/dev/null && return 0; sleep 0.05; done
  echo "emulator did not start:"; cat "$dir/emu.log"; return 1
}
stop_emu() {
  if [ -n "$emu_pid" ]; then kill "$emu_pid" 2>/dev/null; wait "$emu_pid" 2>/dev/null; emu_pid=""; fi
}
run() { timeout 120 "$SMPKIT" "$@" > "$dir/out" 2> "$dir/err"; echo $? > "$dir/rc"; }
rc() { cat "$dir/rc"; }
showfail() { echo "--- stdout"; cat "$dir/out"; echo "--- stderr"; cat "$dir/err"; echo "--- emulator (tail)"; tail -25 "$dir/emu.log"; }

# --- scan -----------------------------------------------------------------------------------
start_emu || exit 1
run ble scan --timeout 1
if [ "$(rc)" = 0 ] && grep -Eq "^$ADDR +-[0-9]+  Desktop Mouse" "$dir/out"; then ok "scan lists name, address, RSSI"; else fail "scan"; showfail; fi
run ble scan --timeout 1 --json
if [ "$(rc)" = 0 ] && python3 -c "
import json,sys; d=json.load(open('$dir/out'))['devices']
assert len(d)==1 and d[0]['address']=='$ADDR' and d[0]['name']=='Desktop Mouse' and d[0]['rssi']<0, d"; then ok "scan --json"; else fail "scan --json"; showfail; fi

# --- echo by address and by name, upgrade end to end ----------------------------------------
run --conn "ble:$ADDR" echo "over BlueZ"
if [ "$(rc)" = 0 ] && [ "$(cat "$dir/out")" = "over BlueZ" ]; then ok "echo over ble:ADDRESS"; else fail "echo over ble:ADDRESS"; showfail; fi
run --conn "ble:Desktop Mouse" echo "by name"
if [ "$(rc)" = 0 ] && [ "$(cat "$dir/out")" = "by name" ]; then ok "echo over ble:NAME"; else fail "echo over ble:NAME"; showfail; fi
# The host keeps the mouse connected (as BlueZ does for a bonded HID device); idle, the
# latency module raises the peripheral latency, and lowers it again when SMP traffic starts.
dbus-send --system --print-reply --dest=org.bluez "/org/bluez/hci0/dev_${ADDR//:/_}" \
  org.bluez.Device1.Connect > /dev/null || fail "Device1.Connect through dbus-send"
for _ in $(seq 100); do grep -q "low latency timed out" "$dir/emu.log" && break; sleep 0.1; done
run --conn "ble:$ADDR" --json upgrade "$IMAGE" --progress none
if [ "$(rc)" = 0 ] && grep -q '"version":"1.3.0"' "$dir/out" \
   && grep -q "DFU lock taken by MCUmgr" "$dir/emu.log" && grep -q "ble_smp_transfer_event" "$dir/emu.log" \
   && grep -q "ble_latency  *requesting low latency (0)" "$dir/emu.log" \
   && grep -q "link down (reason 0x13)" "$dir/emu.log" && grep -q "boot #2" "$dir/emu.log"; then
  ok "upgrade over ble:ADDRESS survives the reset (DFU lock, latency module, transfer events in the device log)"
else fail "upgrade over ble:ADDRESS"; showfail; fi
run --conn "ble:$ADDR" image list
if [ "$(rc)" = 0 ] && grep -q "slot 0: version 1.3.0  \[active confirmed" "$dir/out"; then ok "new image active and confirmed"; else fail "image list after upgrade"; showfail; fi

# --- notifications split and merged; fallbacks without Acquire* -----------------------------
start_emu --recut 61 || exit 1
run --conn "ble:$ADDR" --json image upload "$IMAGE" --progress none
if [ "$(rc)" = 0 ] && grep -q '"match":true' "$dir/out"; then ok "upload with notifications re-cut to 61 bytes (split and merged)"; else fail "upload with re-cut notifications"; showfail; fi
start_emu --no-acquire || exit 1
run --conn "ble:$ADDR" --json image upload "$IMAGE" --progress none
if [ "$(rc)" = 0 ] && grep -q '"match":true' "$dir/out" && grep -q "notifications enabled (StartNotify)" "$dir/emu.log"; then
  ok "upload through WriteValue + StartNotify/PropertiesChanged (no AcquireWrite/AcquireNotify)"
else fail "fallback without Acquire*"; showfail; fi

# --- a disconnect mid-upload, resumed after reconnecting -------------------------------------
start_emu --drop-link-after-writes 30 || exit 1
run --conn "ble:$ADDR" --json image upload "$IMAGE" --progress none
if [ "$(rc)" = 0 ] && grep -q '"match":true' "$dir/out" && grep -q "dropping the link" "$dir/emu.log" \
   && [ "$(grep -c 'connected, ATT MTU' "$dir/emu.log")" -ge 2 ]; then
  ok "disconnect mid-upload: reconnected and finished"
else fail "disconnect mid-upload"; showfail; fi

# --- pairing ---------------------------------------------------------------------------------
start_emu --require-pairing --notify-unpaired auto || exit 1
run --conn "ble:$ADDR" echo paired
if [ "$(rc)" = 0 ] && [ "$(cat "$dir/out")" = paired ] && grep -q "paired (Just Works)" "$dir/emu.log"; then ok "BlueZ pairs by itself when notifications need it"; else fail "auto pairing"; showfail; fi
start_emu --require-pairing --notify-unpaired error || exit 1
run --conn "ble:$ADDR" echo retried
if [ "$(rc)" = 0 ] && [ "$(cat "$dir/out")" = retried ] && grep -q "notifications not permitted" "$dir/err"; then ok "NotPermitted on notifications: pair and retry"; else fail "pair on NotPermitted"; showfail; fi
start_emu --require-pairing --notify-unpaired allow || exit 1
run --conn "ble:$ADDR" echo answered
if [ "$(rc)" = 0 ] && [ "$(cat "$dir/out")" = answered ] && grep -q "no answer on an unpaired link" "$dir/err" \
   && grep -q "write command dropped" "$dir/emu.log"; then ok "no answer on an unpaired link: pair and retry"; else fail "pair on silence"; showfail; fi
start_emu --require-pairing --notify-unpaired allow || exit 1
run --conn "ble:$ADDR" --pair echo upfront
if [ "$(rc)" = 0 ] && [ "$(cat "$dir/out")" = upfront ] && grep -q "(--pair)" "$dir/err" \
   && ! grep -q "write command dropped" "$dir/emu.log"; then ok "--pair pairs up front"; else fail "--pair"; showfail; fi
start_emu --require-pairing --notify-unpaired error --refuse-pairing || exit 1
run --conn "ble:$ADDR" echo refused
if [ "$(rc)" != 0 ] && grep -q "pairing with $ADDR failed" "$dir/err"; then ok "refused pairing: clear error (exit $(rc))"; else fail "refused pairing"; showfail; fi
run --conn "ble:$ADDR" --pair --json echo refused
if [ "$(rc)" != 0 ] && grep -q "AuthenticationFailed" "$dir/out"; then ok "--pair refused: JSON error names AuthenticationFailed"; else fail "--pair refused"; showfail; fi

# --- unreachable -----------------------------------------------------------------------------
start_emu || exit 1
start=$(date +%s)
run --timeout 2 --conn "ble:11:22:33:44:55:66" echo nobody
took=$(( $(date +%s) - start ))
if [ "$(rc)" = 4 ] && grep -q "no Bluetooth LE device 11:22:33:44:55:66 found" "$dir/err" && [ "$took" -le 10 ]; then
  ok "unknown address: exit 4 in ${took} s"
else fail "unknown address (exit $(rc), ${took} s)"; showfail; fi
start_emu --powered-off || exit 1
run --conn "ble:$ADDR" echo off
if [ "$(rc)" = 4 ] && grep -q "powered off" "$dir/err"; then ok "adapter powered off: clear error, exit 4"; else fail "powered off"; showfail; fi
run ble scan --timeout 1
if [ "$(rc)" = 4 ] && grep -q "powered off" "$dir/err"; then ok "scan with the adapter powered off: exit 4"; else fail "scan powered off"; showfail; fi
stop_emu
run --conn "ble:$ADDR" echo nobluez
if [ "$(rc)" = 4 ] && grep -q "BlueZ is not reachable" "$dir/err"; then ok "no BlueZ on the bus: exit 4"; else fail "no BlueZ"; showfail; fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
