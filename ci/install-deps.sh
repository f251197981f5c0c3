#!/usr/bin/env bash
# Install the Debian packages leash needs to build and test. Run as root.
set -euo pipefail

packages=(
    build-essential cmake ninja-build pkg-config
    libgc-dev libcriterion-dev libyaml-dev libunwind-dev libdw-dev
    libjansson-dev graphviz
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
        grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
