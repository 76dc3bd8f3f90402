#!/usr/bin/env bash
# Installs everything Pilotlight needs on a fresh Debian machine: the Debian packages (bpftrace
# for the eBPF sampler, binutils (c++filt) to demangle C++ names, libc6-dbg (libc's debug
# symbols, so the sampler names libc's internal functions), gcc for the C burners and
# demo, chromium for the browser tests, golang-go for `go tool pprof` in the
# interop tests) when running as root, then the npm packages from the lock file, then the
# OpenTelemetry peers the interop tests run (scripts/peers.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(bpftrace binutils gcc libc6-dbg chromium golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v3-dev)
missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: not root (or no apt-get); skipping Debian packages: ${missing[*]}" >&2
    echo "setup: the eBPF sampler needs bpftrace and root; browser tests need chromium" >&2
  fi
fi

npm ci --no-fund --no-audit

# The real OpenTelemetry peers of the interop tests (Collector, eBPF profiler), built once.
bash scripts/peers.sh
