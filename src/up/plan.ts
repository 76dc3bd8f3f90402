import type { SamplerKind } from '../node/choose-sampler.js';
import type { PilotlightConfig } from '../config/schema.js';
import { ConfigFileError } from '../config/load.js';
import type { StoreLimits } from '../api/types.js';

export type Listen = { host: string; port: number } | false;

/** Flags of `pilotlight up`; each wins over the file. */
export interface UpFlags {
  profiling?: boolean;
  demo?: boolean;
  host?: string;
  port?: number;
  gatewayGrpc?: Listen;
  gatewayHttp?: Listen;
  uiOtlpGrpc?: Listen;
  uiOtlpHttp?: Listen;
  hz?: number;
  interval?: number;
  bpftrace?: string;
  sampler?: SamplerKind;
}

/** Everything `up` runs, resolved from pilotlight.yaml, PROFILES_* and flags. */
export interface UpPlan {
  enabled: boolean;
  /** Where `enabled` came from, for the message when it is false. */
  enabledBy: string;
  demo: boolean;
  ui: { host: string; port: number; otlpGrpc: Listen; otlpHttp: Listen; limits: StoreLimits };
  gateway: { grpc: Listen; http: Listen; bearerToken?: string };
  /** `sampler`: as named (flag, else the file); unset, chooseSampler decides when up starts. */
  node: { hz: number; intervalMs: number; bpftrace: string; sampler?: SamplerKind };
  config: PilotlightConfig;
  configSource: string;
}

/**
 * `up` runs all three parts itself, so the addresses between them (`profiling.node.gateway`,
 * `profiling.gateway.ui`) are the ones it just bound, never the file's. Running `up` without a
 * file is itself the opt-in to profiling; with a file, `profiling.enabled` decides.
 */
export function upPlan(config: PilotlightConfig, configSource: string | undefined, flags: UpFlags, limits: StoreLimits): UpPlan {
  const p = config.profiling;
  const enabled = flags.profiling ?? (configSource ? p.enabled : true);
  const enabledBy =
    flags.profiling !== undefined ? (flags.profiling ? '--profiling' : '--no-profiling') : configSource ? `profiling.enabled in ${configSource}` : 'default';
  const plan: UpPlan = {
    enabled,
    enabledBy,
    demo: flags.demo ?? false,
    ui: {
      host: flags.host ?? p.ui.host,
      port: flags.port ?? p.ui.port,
      otlpGrpc: flags.uiOtlpGrpc ?? p.ui.otlp.grpc,
      otlpHttp: flags.uiOtlpHttp ?? p.ui.otlp.http,
      limits,
    },
    gateway: { grpc: flags.gatewayGrpc ?? p.gateway.grpc, http: flags.gatewayHttp ?? p.gateway.http, bearerToken: p.gateway.bearerToken },
    node: {
      hz: flags.hz ?? p.node.hz,
      intervalMs: flags.interval ?? p.node.interval,
      bpftrace: flags.bpftrace ?? 'bpftrace',
      ...named(flags.sampler ?? p.node.sampler),
    },
    config,
    configSource: configSource ?? 'built-in defaults',
  };
  const where = configSource ?? 'flags';
  if (!plan.ui.otlpGrpc && !plan.ui.otlpHttp) {
    throw new ConfigFileError(`${where}: profiling.ui.otlp: both receivers are off, so the gateway cannot reach the UI; keep grpc or http on`);
  }
  if (!plan.gateway.grpc && !plan.gateway.http) {
    throw new ConfigFileError(`${where}: profiling.gateway: both grpc and http are off, so the node sampler cannot reach the gateway; keep one on`);
  }
  if (plan.node.intervalMs < 100 || plan.node.intervalMs > 60_000) {
    throw new ConfigFileError(`${where}: profiling.node.interval: must be between 100ms and 60s, got ${plan.node.intervalMs}ms`);
  }
  return plan;
}

/** How to reach a listener from this machine: a wildcard bind is reached on loopback. */
export function dialHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** A target for an exporter: `prefer`'s listener when it is on (gRPC by default), else the other. */
export function targetOf(
  addrs: { grpc?: { host: string; port: number }; http?: { host: string; port: number } },
  prefer: 'grpc' | 'http' = 'grpc',
): { protocol: 'grpc' | 'http'; endpoint: string } {
  const grpc = addrs.grpc && { protocol: 'grpc' as const, endpoint: `${dialHost(addrs.grpc.host)}:${addrs.grpc.port}` };
  const http = addrs.http && { protocol: 'http' as const, endpoint: `http://${dialHost(addrs.http.host)}:${addrs.http.port}` };
  const target = prefer === 'http' ? (http ?? grpc) : (grpc ?? http);
  if (!target) throw new Error('no OTLP listener to send to');
  return target;
}

/** The sampler when one is named; none (chooseSampler decides when up starts) otherwise. */
function named(sampler: SamplerKind | undefined): { sampler?: SamplerKind } {
  return sampler ? { sampler } : {};
}
