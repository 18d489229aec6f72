#!/usr/bin/env bash
# `smpkit bench ble` one case at a time: --json documents with the promised keys, the link
# layers differ as the calibration says (Zephyr's LL fills a 30 ms event, the SoftDevice
# Controller stops at 7.5 ms), a dirty slot delays the first answer by its erase, the nRF5340
# has no radio/flash sharing term, no case beats its capacity, and --events writes the upload's
# connection events.
set -euo pipefail
SMPKIT=$1
run() { timeout 60 "$SMPKIT" bench ble --json "$@"; }
sdc=$(run --controller sdc --interval 30 --window 1)
events=$(mktemp)
trap 'rm -f "$events"' EXIT
zll=$(run --controller zephyr-ll --interval 30 --window 1 --events "$events")
if "$SMPKIT" bench ble --interval 30 --events /nonexistent-dir/events.csv 2>/dev/null; then
  echo "FAIL an unwritable --events file was accepted"; exit 1
fi
rc=0
"$SMPKIT" bench ble --profiles --chip nrf5340 >/dev/null 2>&1 || rc=$?
if [ "$rc" != 2 ]; then
  echo "FAIL --profiles with a one-case option: exit $rc, not the usage error 2"; exit 1
fi
rc=0
"$SMPKIT" bench ble --interval 30 --csv /dev/null >/dev/null 2>&1 || rc=$?
if [ "$rc" != 2 ]; then
  echo "FAIL one case with the sweep's --csv: exit $rc, not the usage error 2"; exit 1
fi
dirty=$(run --controller zephyr-ll --interval 11.25 --window 1 --slot dirty --image-size 65536)
blank=$(run --controller zephyr-ll --interval 11.25 --window 1 --image-size 65536)
n53=$(run --chip nrf5340 --controller zephyr-ll --interval 15)
# The latency module (sdc, strict latency): off leaves the preferred latency 99 in place.
lat_on=$(run --controller sdc --interval 15 --image-size 32768 --latency-module on)
lat_off=$(run --controller sdc --interval 15 --image-size 32768 --latency-module off)
python3 - "$sdc" "$zll" "$dirty" "$blank" "$n53" "$lat_on" "$lat_off" "$events" <<'PY'
import csv, json, sys
sdc, zll, dirty, blank, n53, lat_on, lat_off = (json.loads(a) for a in sys.argv[1:8])
with open(sys.argv[8]) as f:
    events = list(csv.DictReader(f))
keys = {"upload_s", "first_response_s", "steady_kBps", "capacity_kBps", "limited_by"}
failed = 0
def check(cond, what):
    global failed
    print(("ok   " if cond else "FAIL ") + what)
    failed += not cond
for d in (sdc, zll, dirty, blank, n53):
    check(d["ok"] and keys <= d.keys(), f"{d['controller']} {d['interval_ms']} ms: keys present")
    check(d["steady_kBps"] <= d["capacity_kBps"] * 1.0001, f"{d['controller']} {d['interval_ms']} ms {d['slot']}: within capacity")
check(zll["upload_s"] < 0.6 * sdc["upload_s"], f"zephyr-ll {zll['upload_s']:.2f} s vs sdc {sdc['upload_s']:.2f} s at 30 ms, stop-and-wait")
# ble-calibration.md: 4.637 s, first response 2.871 s (17 pages erased); within 10 %.
check(abs(dirty["upload_s"] / 4.637 - 1) < 0.10, f"dirty slot upload {dirty['upload_s']:.3f} s (ref 4.637)")
check(abs(dirty["first_response_s"] / 2.871 - 1) < 0.10, f"dirty first response {dirty['first_response_s']:.3f} s (ref 2.871)")
check(blank["first_response_s"] < 0.2, f"blank first response {blank['first_response_s']:.3f} s")
check(n53["limited_by"] != "radio/flash sharing", f"nRF5340 limited by {n53['limited_by']}")
check(lat_on["latency_module"] is True and lat_on["latency"] == 0, f"latency module on: latency {lat_on['latency']} during the upload")
check(lat_off["latency_module"] is False and lat_off["latency"] == 99, f"latency module off: latency {lat_off['latency']} during the upload")
check(lat_off["upload_s"] > 3 * lat_on["upload_s"], f"sdc 15 ms: module off {lat_off['upload_s']:.2f} s vs on {lat_on['upload_s']:.2f} s")
# The events: every anchor one 30 ms interval after the last (latency 0 while uploading), no
# event longer than the interval, and the PDUs the phone sent carry at least the image.
anchors = [float(e["anchor_s"]) for e in events]
steps = [round((b - a) / 0.030, 6) for a, b in zip(anchors, anchors[1:])]
check(len(events) > 10 and all(s == 1 for s in steps), f"{len(events)} events, one per 30 ms interval")
check(all(float(e["length_ms"]) < 30 for e in events), "no event longer than the interval")
pdus = sum(int(e["central_pdus"]) for e in events)
check(pdus * 251 >= zll["image_size"], f"{pdus} request PDUs carry the {zll['image_size']}-byte image")
check(abs(len(events) * 0.030 - zll["upload_s"]) < 0.031, f"{len(events)} events span the {zll['upload_s']:.2f} s upload")
print(f"{5 * 2 + 12 - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
