#!/usr/bin/env bash
# Installs every Debian package smpkit needs. Idempotent; quiet when all is present.
set -euo pipefail
PKGS=(cmake ninja-build g++ clang-14 libclang-rt-14-dev lld-14 pkg-config
      libcbor-dev libssl-dev zlib1g-dev libasio-dev libcli11-dev libfmt-dev
      nlohmann-json3-dev googletest libgtest-dev libgmock-dev libbenchmark-dev gnuplot-nox
      python3-intelhex zsh libsystemd-dev dbus-daemon)
missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  APT_OPTS=(-o DPkg::Lock::Timeout=600)
  $SUDO apt-get "${APT_OPTS[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
