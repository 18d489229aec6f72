#!/usr/bin/env bash
# Cost per uploaded byte of the real `smpkit device` process (issue 12), measured as the
# issue measured it and Zephyr's smp_svr (28.1 instructions/byte), with the image check
# off (the device's default, as Zephyr's) and on (--image-check; SHA-256 alone is ~28-30
# instructions/byte under valgrind, which runs no SHA-NI):
#   callgrind on `smpkit device --udp --flash FILE`; a stop-and-wait client (`smpkit image
#   upload --window 1 --chunk 960`) uploads a 256 KiB imgtool-style image over UDP; an idle
#   run of the same command line (started and stopped without an upload) is subtracted;
#   the difference is divided by the image size. Also: heap allocations (malloc calls) per
#   upload request, upload minus idle, and the functions that cost most.
# Usage: scripts/device_cost.sh [BUILD_DIR]   (about 30 s of CPU under valgrind; KEEP=1 keeps
# the callgrind files)
set -euo pipefail
BUILD_DIR=${1:-build}
SMPKIT=$(realpath "$BUILD_DIR/apps/smpkit/smpkit")
CHUNK=960
work=$(mktemp -d)
if [ -n "${KEEP:-}" ]; then
  echo "work dir: $work"
else
  trap 'rm -rf "$work"' EXIT
fi

# 256 KiB image: a 0x200-byte header, a deterministic pseudo-random body, the hash TLVs.
body=$((256 * 1024 - 0x200 - 44))
openssl enc -aes-128-ctr -K 000102030405060708090a0b0c0d0e0f -iv 0 -nosalt \
  -in /dev/zero 2>/dev/null | head -c "$body" > "$work/body.bin" || true
"$SMPKIT" image sign -v 2.0.0 -H 0x200 --pad-header "$work/body.bin" "$work/image.bin" >/dev/null
size=$(stat -c %s "$work/image.bin")

# run NAME upload|idle [DEVICE ARGS...]: prints "<instructions> <malloc calls>" of that run.
run() {
  local name=$1 mode=$2
  shift 2
  valgrind --tool=callgrind --callgrind-out-file="$work/$name.out" --compress-strings=no \
    "$SMPKIT" device --flash "$work/$name.flash" --udp 127.0.0.1:0 --quiet "$@" \
    > "$work/$name.log" 2>&1 &
  local pid=$! port=""
  for _ in $(seq 600); do
    port=$(sed -n 's/^udp: 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/$name.log")
    [ -n "$port" ] && break
    sleep 0.1
  done
  if [ -z "$port" ]; then
    cat "$work/$name.log" >&2
    echo "device did not start" >&2
    exit 1
  fi
  if [ "$mode" = upload ]; then
    "$SMPKIT" --conn "udp:127.0.0.1:$port" image upload "$work/image.bin" --window 1 \
      --chunk "$CHUNK" --progress none --no-skip >"$work/$name.client" 2>&1 ||
      { cat "$work/$name.client" >&2; exit 1; }
  else
    sleep 1
  fi
  kill -TERM "$pid"
  wait "$pid" || true
  local ir mallocs
  ir=$(sed -n 's/^totals: \([0-9]*\).*/\1/p' "$work/$name.out")
  [ -n "$ir" ] || ir=$(sed -n 's/^summary: \([0-9]*\).*/\1/p' "$work/$name.out")
  mallocs=$(awk '/^cfn=/ { target = substr($0, 5) }
                 /^calls=/ { if (target == "malloc") { split($0, a, /[= ]/); n += a[2] } }
                 END { print n + 0 }' "$work/$name.out")
  echo "$ir $mallocs"
}

# Each upload run is compared with an idle run of the same command line (same start-up).
# The device's defaults, Zephyr's (CONFIG_IMG_ENABLE_IMAGE_CHECK=n): no "match".
read -r idle_ir idle_malloc < <(run idle idle)
read -r plain_ir plain_malloc < <(run plain upload)
# --image-check: SHA-256 over the uploaded image once, answered as "match".
read -r idlec_ir idlec_malloc < <(run idlec idle --image-check)
read -r check_ir check_malloc < <(run check upload --image-check)
requests=$(( (size + CHUNK - 1) / CHUNK ))
echo "image: $size bytes in $requests chunks of $CHUNK (stop-and-wait, UDP)"
echo "instructions, image check off: upload $plain_ir, idle $idle_ir"
echo "instructions, image check on:  upload $check_ir, idle $idlec_ir"
awk -v u="$plain_ir" -v i="$idle_ir" -v s="$size" 'BEGIN {
  printf "instructions per uploaded byte: %.1f (device defaults, image check off, as Zephyr smp_svr: 28.1; target <= 14)\n", (u - i) / s }'
awk -v u="$check_ir" -v i="$idlec_ir" -v s="$size" 'BEGIN {
  printf "instructions per uploaded byte: %.1f with --image-check (SHA-256 of every byte, once)\n", (u - i) / s }'
awk -v u="$plain_malloc" -v i="$idle_malloc" -v c="$check_malloc" -v ic="$idlec_malloc" -v r="$requests" 'BEGIN {
  printf "heap allocations per upload request: %.2f (image check off), %.2f (on)\n", (u - i) / r, (c - ic) / r }'
echo "top functions of the upload with the image check (self cost):"
callgrind_annotate --inclusive=no "$work/check.out" 2>/dev/null | sed -n '/^Ir/,$p' | sed -n 3,14p
