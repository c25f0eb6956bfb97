#!/usr/bin/env bash
# Installs everything govledger needs to build, test and run on Debian 12 (bookworm): the
# toolchain and the Debian packages of gRPC, protobuf, RocksDB, abseil, GoogleTest, OpenSSL
# (and its `openssl` tool, which makes the TLS tests' certificate), libsodium, CLI11 and nlohmann/json,
# and jq (deploy/demo/sign.sh, which a test runs). Run as root on a
# fresh machine. Idempotent: when every package is already installed it changes nothing and
# needs no network (so it also works for a non-root developer then).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

packages=(
  build-essential cmake ninja-build ccache pkg-config git ca-certificates openssl jq
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev libabsl-dev libgtest-dev libgmock-dev libssl-dev libsodium-dev libcli11-dev nlohmann-json3-dev libicu-dev libgoogle-perftools-dev
)

if [ -r /etc/os-release ]; then
  . /etc/os-release
  if [ "${ID:-}" != debian ] || [ "${VERSION_ID:-}" != 12 ]; then
    echo "setup.sh: warning: written for Debian 12; this is ${PRETTY_NAME:-unknown}" >&2
  fi
fi

missing=()
for p in "${packages[@]}"; do
  if [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)" != "ii " ]; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup.sh: all ${#packages[@]} packages are installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: missing packages: ${missing[*]}" >&2
  echo "setup.sh: run as root to install them (e.g. sudo bash deploy/setup.sh)" >&2
  exit 1
fi

echo "setup.sh: installing ${missing[*]}"
apt-get update
apt-get install -y --no-install-recommends "${packages[@]}"
