#!/usr/bin/env bash
# Upload rate over the BlueZ D-Bus path (`--conn ble:ADDR` -> private dbus-daemon ->
# `smpkit ble emulate`) next to the same upload through `--conn blesim:` (`smpkit device
# --ble-sim`, a UNIX socket). Both put the same simulated nRF Desktop device behind the same
# BLE link model (2M PHY, DLE 251, ATT MTU 498) in real time, so the difference is what the
# D-Bus path (sd-bus, AcquireWrite/AcquireNotify sockets, the emulated bluetoothd) costs.
#   bench/bluez_path.sh [BUILD_DIR] [IMAGE_KIB] [RUNS]
set -uo pipefail
BUILD=${1:-build}
KIB=${2:-128}
RUNS=${3:-3}
SMPKIT=$(realpath "$BUILD/apps/smpkit/smpkit")
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$dir"; }
trap cleanup EXIT
cat > "$dir/bus.conf" <<CONF
<busconfig>
  <type>session</type>
  <listen>unix:path=$dir/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/>
  </policy>
</busconfig>
CONF
dbus-daemon --config-file="$dir/bus.conf" --nofork --nopidfile 2>/dev/null &
pids+=($!)
for _ in $(seq 100); do [ -S "$dir/bus" ] && break; sleep 0.05; done
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$dir/bus"
"$SMPKIT" ble emulate --quiet > "$dir/emu.log" 2>&1 &
pids+=($!)
"$SMPKIT" device --ble-sim "$dir/ble.sock" --quiet > "$dir/sim.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do grep -q "^bluez-emu:" "$dir/emu.log" && [ -S "$dir/ble.sock" ] && break; sleep 0.05; done
rate() {  # conn -> bytes/s of one upload of a fresh image (a device finishes a known one at once)
  head -c $((KIB * 1024)) /dev/urandom > "$dir/app.bin"
  "$SMPKIT" image sign -v 2.0.0 -H 0x200 --pad-header "$dir/app.bin" "$dir/app_update.bin" >/dev/null
  "$SMPKIT" --conn "$1" --json image upload "$dir/app_update.bin" --no-skip --progress none \
    > "$dir/out.json"
  python3 -c "import json,sys; print(round(json.load(open('$dir/out.json'))['rate_bps']))" \
    || { cat "$dir/out.json" >&2; echo 0; }
}
printf "%-8s %-14s %s\n" run "ble (D-Bus)" "blesim"
sum_b=0; sum_s=0
for i in $(seq "$RUNS"); do
  b=$(rate "ble:F4:CE:36:00:16:01"); s=$(rate "blesim:$dir/ble.sock")
  printf "%-8s %-14s %s\n" "$i" "$b B/s" "$s B/s"
  sum_b=$((sum_b + b)); sum_s=$((sum_s + s))
done
python3 -c "
b=$sum_b/$RUNS; s=$sum_s/$RUNS
print(f'mean: ble {b/1000:.2f} kB/s, blesim {s/1000:.2f} kB/s; D-Bus path costs {100*(s-b)/s:+.1f} % of the rate (target <= 5 %)')"
