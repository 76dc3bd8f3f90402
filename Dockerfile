# syntax=docker/dockerfile:1
#
# One image for all three Pilotlight components; the first argument picks the component:
#   docker run IMAGE gateway --config /etc/pilotlight/pilotlight.yaml
#   docker run IMAGE ui      --config /etc/pilotlight/pilotlight.yaml
#   docker run --privileged --pid=host --user 0 \
#     -v /sys/kernel/debug:/sys/kernel/debug -v /sys/fs/bpf:/sys/fs/bpf \
#     -v /lib/modules:/lib/modules:ro -v /usr/src:/usr/src:ro \
#     IMAGE node --config /etc/pilotlight/pilotlight.yaml
# The Helm chart (deploy/helm/pilotlight) runs it that way on a cluster.
#
#   docker build -t pilotlight:0.1.0 .

ARG NODE_IMAGE=node:20-bookworm-slim

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

# ---- runtime: Node, bpftrace for the node sampler, the compiled app and production deps ----
FROM ${NODE_IMAGE}

# bpftrace from Debian: the node sampler runs it (it needs root, privileged, hostPID at run
# time; kernel headers, when BTF is missing, come from the host's /usr/src and /lib/modules).
# binutils: its c++filt turns mangled C++ and Rust names into readable ones.
RUN apt-get update \
 && apt-get install -y --no-install-recommends bpftrace binutils ca-certificates \
 && rm -rf /var/lib/apt/lists/*

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
