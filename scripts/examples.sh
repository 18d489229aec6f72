#!/usr/bin/env bash
# Installs the built package into a scratch prefix, builds the consumer projects of
# examples/ against it with find_package(smpkit) and runs them: embed_server alone,
# client_echo against the installed `smpkit device` on loopback; then builds the .deb (CPack)
# and checks what it holds. Usage: examples.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(realpath "${1:-build}")
work=$(mktemp -d)
device_pid=""
cleanup() {
  [ -n "$device_pid" ] && kill "$device_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
prefix="$work/prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
werror=()
[ "${CI:-}" = "true" ] && werror=(-DCMAKE_CXX_FLAGS="-Wall -Wextra -Werror")
for ex in embed_server client_echo; do
  cmake -S "examples/$ex" -B "$work/$ex" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "${werror[@]}" >/dev/null
  cmake --build "$work/$ex" >/dev/null
done
"$work/embed_server/embed_server"
# The installed CLI serves a simulated device on an ephemeral loopback port.
stdbuf -oL "$prefix/bin/smpkit" device --udp 127.0.0.1:0 >"$work/device.log" 2>&1 &
device_pid=$!
port=""
for _ in $(seq 100); do
  port=$(sed -n 's/^udp: 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/device.log")
  [ -n "$port" ] && break
  kill -0 "$device_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$port" ]; then
  echo "examples: smpkit device did not start:" >&2
  cat "$work/device.log" >&2
  exit 1
fi
timeout 30 "$work/client_echo/client_echo" 127.0.0.1 "$port"
# The Debian package holds the same: the CLI, the libraries and the CMake package.
cpack -G DEB -B "$work/deb" --config "$build/CPackConfig.cmake" >/dev/null
deb=$(ls "$work"/deb/smpkit_*.deb)
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/smpkit ./usr/lib/cmake/smpkit/smpkitConfig.cmake ./usr/lib/libsmpkit_client.a \
  ./usr/include/smpkit/client/client.h; do
  grep -q " $f\$" <<<"$contents" || { echo "examples: $f is missing from $(basename "$deb")" >&2; exit 1; }
done
echo "examples: both consumers built against the installed package and ran; $(basename "$deb") built"
