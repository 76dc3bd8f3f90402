#!/usr/bin/env bash
# Installs everything Pilotlight needs on a fresh Debian machine: the Debian packages (bpftrace
# for the eBPF sampler, binutils (c++filt) to demangle C++ names, libc6-dbg (libc's debug
# symbols, so the sampler names libc's internal functions), gcc for the C burners and
# demo, chromium for the browser tests, golang-go for `go tool pprof` in the
# interop tests, buildah and mmdebstrap for the image test (test/image.test.ts builds
# the Dockerfile without a daemon or a registry)) when running as root, then the npm packages
# from the lock file, then the OpenTelemetry peers the interop tests run (scripts/peers.sh),
# among them the OpenTelemetry eBPF profiler, the node sampler's other choice
# (profiling.node.sampler: ebpf-profiler); without it the sampler is bpftrace, and one line
# says why.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(bpftrace binutils gcc libc6-dbg chromium golang-go buildah mmdebstrap)
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

# Go >= 1.24 builds `go tool pprof` on first use (about a minute): build it into the machine's
# Go build cache now, where the pprof interop test finds it.
if command -v go >/dev/null; then
  GOTOOLCHAIN=local go tool pprof -h >/dev/null 2>&1 || true
fi

# The eBPF profiler is also what `pilotlight node` and `pilotlight up` run with
# profiling.node.sampler: ebpf-profiler (they find it on PATH or under the peers directory, as
# here). Without one, bpftrace (the default) samples: say so, and why, in one line.
PEERS_DIR="${PILOTLIGHT_PEERS_DIR:-/var/cache/pilotlight/peers}"
if ! command -v ebpf-profiler >/dev/null && ! compgen -G "$PEERS_DIR/ebpf-profiler-*/ebpf-profiler" >/dev/null; then
  GO=go
  [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go
  if ! command -v "$GO" >/dev/null; then
    why="there is no Go toolchain to build it (needs Go >= 1.25)"
  elif [ "$("$GO" env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')" -lt 25 ] 2>/dev/null; then
    why="$("$GO" env GOVERSION) is too old to build it (needs Go >= 1.25)"
  else
    why="its build failed (see $PEERS_DIR/ebpf-profiler.build.log)"
  fi
  echo "setup: no OpenTelemetry eBPF profiler: $why; the node sampler uses bpftrace (profiling.node.sampler: bpftrace, the default)" >&2
fi
