#!/usr/bin/env bash
# Builds the real programs the peer tests run (test/helpers/peers.ts): the OpenTelemetry
# Collector and eBPF profiler, Helm for the chart tests and kubecheck (tools/peers/kubecheck, the
# Kubernetes API types' strict decoder), from their published Go modules at the versions pinned
# in tools/peers/, each once: a build lands in
# $PILOTLIGHT_PEERS_DIR/NAME-HASH/, HASH being that of its pinned inputs, and a second run with
# the same inputs builds nothing. Needs Go >= 1.25 (Helm and kubecheck: >= 1.26) and the Go
# module proxy; without them it says so and the peer tests skip, naming what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PEERS_DIR="${PILOTLIGHT_PEERS_DIR:-/var/cache/pilotlight/peers}"
TOOLS=tools/peers
# shellcheck source=../tools/peers/versions.env
source "$TOOLS/versions.env"

GO=go
[ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go
if ! command -v "$GO" >/dev/null; then
  echo "peers: no Go toolchain; the peer tests will skip (install Go >= 1.25)" >&2
  exit 0
fi
go_minor=$("$GO" env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
if [ "${go_minor:-0}" -lt 25 ]; then
  echo "peers: $("$GO" env GOVERSION) is too old (the peers need Go >= 1.25); the peer tests will skip" >&2
  exit 0
fi
export GOFLAGS=-mod=mod
export GOTOOLCHAIN=local
# Only the module proxy: some modules (the eBPF profiler) list no versions there, and a
# fallback to their source hosts would fail on a machine that reaches only the proxy.
export GOPROXY="${GOPROXY_PEERS:-https://proxy.golang.org}"

# The same key test/helpers/peers.ts computes: sha256 of the inputs, first 12 hex digits.
key() { cat "$@" | sha256sum | cut -c1-12; }

mkdir -p "$PEERS_DIR"

build() { # name, output binary, build command...
  local name=$1 bin=$2
  shift 2
  if [ -x "$bin" ]; then
    echo "peers: $name already built ($bin)"
    return
  fi
  echo "peers: building $name (a few minutes the first time)"
  local log="$PEERS_DIR/$name.build.log"
  if ! "$@" >"$log" 2>&1; then
    echo "peers: building $name failed; the tests that need it will skip. Last lines of $log:" >&2
    tail -n 15 "$log" >&2
    return 0
  fi
  echo "peers: $name built ($bin)"
}

# The Collector, by its builder.
collector_dir="$PEERS_DIR/collector-$(key "$TOOLS/versions.env" "$TOOLS/collector/manifest.yaml")"
build_collector() {
  mkdir -p "$collector_dir/src"
  GOBIN="$collector_dir/tools" "$GO" install "go.opentelemetry.io/collector/cmd/builder@v$COLLECTOR_BUILDER_VERSION"
  sed "s|@OUTPUT_PATH@|$collector_dir/src|" "$TOOLS/collector/manifest.yaml" >"$collector_dir/manifest.yaml"
  PATH="$(dirname "$GO"):$PATH" "$collector_dir/tools/builder" --config "$collector_dir/manifest.yaml"
  mv "$collector_dir/src/otelcol-pilotlight" "$collector_dir/otelcol-pilotlight"
}
build collector "$collector_dir/otelcol-pilotlight" build_collector

# The eBPF profiler and the driver of its reporter, from the pinning module (go install refuses
# a module the proxy lists no versions of).
ebpf_dir="$PEERS_DIR/ebpf-profiler-$(key "$TOOLS/versions.env" "$TOOLS/ebpf-profiler/go.mod" "$TOOLS/ebpf-profiler/go.sum" "$TOOLS/ebpf-profiler/reporter/main.go")"
build_ebpf_profiler() {
  mkdir -p "$ebpf_dir"
  # Built in a copy, so the module's go.mod and go.sum in the repository are never rewritten.
  rm -rf "$ebpf_dir/mod" && cp -r "$TOOLS/ebpf-profiler" "$ebpf_dir/mod"
  (cd "$ebpf_dir/mod" && "$GO" build -o "$ebpf_dir/ebpf-reporter" ./reporter && "$GO" build -o "$ebpf_dir/ebpf-profiler" go.opentelemetry.io/ebpf-profiler)
}
build ebpf-profiler "$ebpf_dir/ebpf-profiler" build_ebpf_profiler

# Helm, from the pinning module (its go.mod names helm.sh/helm/v3/cmd/helm as a tool), with the
# version stamps Helm's own Makefile sets: `helm version`, and the Kubernetes version that
# .Capabilities and `helm lint` assume (that of the client-go Helm is built with); and beside it
# helm-notes (tools/peers/helm/notes), built first so that a present `helm` means both are.
helm_dir="$PEERS_DIR/helm-$(key "$TOOLS/helm/go.mod" "$TOOLS/helm/go.sum" "$TOOLS/helm/notes/main.go")"
build_helm() {
  mkdir -p "$helm_dir"
  rm -rf "$helm_dir/mod" && cp -r "$TOOLS/helm" "$helm_dir/mod"
  (
    cd "$helm_dir/mod"
    local version k8s_minor ldflags
    version=$("$GO" list -m -f '{{.Version}}' helm.sh/helm/v3)
    k8s_minor=$("$GO" list -m -f '{{.Version}}' k8s.io/client-go | cut -d. -f2)
    ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$version"
    for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
      ldflags="$ldflags -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$k8s_minor"
    done
    CGO_ENABLED=0 "$GO" build -trimpath -o "$helm_dir/helm-notes" ./notes
    CGO_ENABLED=0 "$GO" build -trimpath -ldflags "$ldflags" -o "$helm_dir/helm" helm.sh/helm/v3/cmd/helm
  )
}
build helm "$helm_dir/helm" build_helm

# kubecheck: every rendered object strictly decoded into its Kubernetes API type.
kubecheck_dir="$PEERS_DIR/kubecheck-$(key "$TOOLS/kubecheck/go.mod" "$TOOLS/kubecheck/go.sum" "$TOOLS/kubecheck/main.go")"
build_kubecheck() {
  mkdir -p "$kubecheck_dir"
  rm -rf "$kubecheck_dir/mod" && cp -r "$TOOLS/kubecheck" "$kubecheck_dir/mod"
  (cd "$kubecheck_dir/mod" && "$GO" build -trimpath -o "$kubecheck_dir/kubecheck" .)
}
build kubecheck "$kubecheck_dir/kubecheck" build_kubecheck
