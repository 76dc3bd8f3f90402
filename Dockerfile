# syntax=docker/dockerfile:1
#
# One image for all three Pilotlight components; the first argument picks the component:
#   docker run IMAGE gateway --config /etc/pilotlight/pilotlight.yaml
#   docker run IMAGE ui      --config /etc/pilotlight/pilotlight.yaml
#   docker run --privileged --pid=host --user 0 \
#     -v /sys/kernel/debug:/sys/kernel/debug -v /sys/kernel/tracing:/sys/kernel/tracing \
#     -v /sys/fs/bpf:/sys/fs/bpf -v /lib/modules:/lib/modules:ro -v /usr/src:/usr/src:ro \
#     IMAGE node --config /etc/pilotlight/pilotlight.yaml
# The node sampler is bpftrace or, with profiling.node.sampler: ebpf-profiler (--sampler), the
# OpenTelemetry eBPF profiler, which this image holds at /usr/local/bin/ebpf-profiler (found
# on PATH: no --ebpf-profiler flag needed). The Helm chart (deploy/helm/pilotlight) runs the
# node that way on a cluster.
#
#   docker build -t pilotlight:0.1.0 .
#
# NODE_IMAGE and GO_IMAGE name the base images; test/image.test.ts builds this file on bases
# made from Debian packages (scripts/image-bases.sh), where no registry can be reached.

ARG NODE_IMAGE=node:20-bookworm-slim
ARG GO_IMAGE=golang:1.25-bookworm

# ---- ebpf-profiler: the OpenTelemetry eBPF profiler, from the module pinned in tools/peers ----
# The same pin `npm run setup` builds from (scripts/peers.sh): tools/peers/ebpf-profiler/go.mod
# requires go.opentelemetry.io/ebpf-profiler at EBPF_PROFILER_VERSION (tools/peers/versions.env),
# and go.sum fixes every module's hash. Static (CGO off, netgo/osusergo, as upstream builds it).
FROM ${GO_IMAGE} AS ebpf-profiler
WORKDIR /src
# Only a module proxy (--build-arg GOPROXY=... for another): the profiler's module lists no
# versions on proxy.golang.org, and a fallback to its source host is not wanted.
ARG GOPROXY=https://proxy.golang.org
ENV CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local GOPROXY=${GOPROXY} \
    GOPATH=/go GOMODCACHE=/go/pkg/mod GOCACHE=/root/.cache/go-build
COPY tools/peers/ebpf-profiler/go.mod tools/peers/ebpf-profiler/go.sum ./
RUN go build -trimpath -tags osusergo,netgo -ldflags='-s -w' -o /out/ebpf-profiler go.opentelemetry.io/ebpf-profiler \
 && /out/ebpf-profiler -version

# ---- build: install every dependency, generate the OTLP code, compile, bundle the web app ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

# Dependencies first, so they stay cached while only sources change. `npm ci` runs the
# package's `prepare` script (buf generate), which needs the protos and the buf config.
COPY package.json package-lock.json buf.yaml buf.gen.yaml ./
COPY proto ./proto
RUN npm ci

COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev

# ---- runtime: Node, the node sampler's tools (bpftrace, c++filt, the eBPF profiler), the compiled app and production deps ----
FROM ${NODE_IMAGE}

# bpftrace from Debian: the node sampler runs it (it needs root, privileged, hostPID at run
# time; kernel headers, when BTF is missing, come from the host's /usr/src and /lib/modules).
# binutils: its c++filt turns mangled C++ and Rust names into readable ones.
RUN apt-get update \
 && apt-get install -y --no-install-recommends bpftrace binutils ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# The OpenTelemetry eBPF profiler (profiling.node.sampler: ebpf-profiler), on PATH.
COPY --from=ebpf-profiler /out/ebpf-profiler /usr/local/bin/ebpf-profiler

WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/bin ./bin
COPY --from=build /app/dist ./dist
# The UI serves the built web app from src/web/dist (looked up relative to dist/ui).
COPY --from=build /app/src/web/dist ./src/web/dist
# The demo workloads of `pilotlight up --demo` (the C one is skipped: no gcc in this image).
COPY demo ./demo

LABEL org.opencontainers.image.title="pilotlight" \
      org.opencontainers.image.description="Continuous CPU profiling: eBPF sampler, OTLP Profiles gateway and live flame graph UI" \
      org.opencontainers.image.licenses="Apache-2.0"

# gateway: OTLP gRPC / HTTP (+ /healthz /readyz /metrics); ui: web UI, its OTLP gRPC / HTTP.
EXPOSE 4317 4318 3000 14317 14318

# The gateway and UI run unprivileged as `node` (uid 1000); the node sampler must run as root
# (the chart sets runAsUser: 0 and privileged for it).
USER node
ENTRYPOINT ["node", "bin/pilotlight.js"]
CMD ["--help"]
