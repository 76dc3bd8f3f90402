import type { z } from 'zod';
import { ConfigFileError, describeIssue } from '../config/load.js';
import { exporterTuning, type Destination, type PilotlightConfig } from '../config/schema.js';
import { exporterConfigSchema } from '../pipeline/exporter/exporter-config.js';
import type { GatewayOptions } from './gateway.js';
import { attributeKeyMatcher, SERVICE_NAME, type ShapePolicy } from './shape.js';

const UI_GRPC_DEFAULT = '127.0.0.1:14317';
const UI_HTTP_DEFAULT = 'http://127.0.0.1:14318';

type Listen = { host: string; port: number } | false;

/** What flags can override in the file (flags win). */
export interface GatewayOverrides {
  grpc?: Listen;
  http?: Listen;
  uiEndpoint?: string;
  uiProtocol?: 'grpc' | 'http';
  /** The UI's HTTP API for its subscription; false: forward every workload to the UI. */
  uiApi?: string | false;
  bearerToken?: string;
  maxRequestBytes?: number;
  maxDecompressedBytes?: number;
}

/**
 * Turns pilotlight.yaml (+ flags) into the gateway's receiver and exporters. The UI is always
 * a target and every destination is one more exporter with the shared tuning from
 * `profiling.exporter`. `profiling.enabled` is the one switch: a file that says false turns
 * the whole profiles pipeline off, destinations included (running `gateway` without a file is
 * itself the opt-in). Errors name the key to fix.
 */
export function gatewayPlan(config: PilotlightConfig, overrides: GatewayOverrides = {}, source = 'config', fromFile = true): GatewayOptions {
  const gw = config.profiling.gateway;
  const tuning = exporterTuning(config);
  if (fromFile && !config.profiling.enabled) {
    throw new ConfigFileError(
      `${source}: profiling.enabled: false, so the profiles pipeline is off and the gateway has nothing to do; set profiling.enabled: true`,
    );
  }
  const protocol = overrides.uiProtocol ?? gw.ui.protocol;
  // `--ui-protocol http` alone means the UI's default OTLP/HTTP port, not its gRPC one.
  const defaultEndpoint = protocol === 'http' && gw.ui.endpoint === UI_GRPC_DEFAULT ? UI_HTTP_DEFAULT : gw.ui.endpoint;
  const ui = { endpoint: overrides.uiEndpoint ?? defaultEndpoint, protocol };
  const sub = gw.ui.subscription;
  const api = overrides.uiApi ?? (sub.enabled ? sub.api : false);
  if (api !== false && !/^https?:\/\/[^/]/.test(api)) {
    throw new ConfigFileError(
      `${overrides.uiApi !== undefined ? '--ui-api' : `${source}: profiling.gateway.ui.subscription.api`}: ${JSON.stringify(api)} is not an http(s) URL of the UI's API`,
    );
  }
  if (sub.usageInterval < 100)
    throw new ConfigFileError(`${source}: profiling.gateway.ui.subscription.usageInterval: ${sub.usageInterval} ms is too short; use 100ms or more`);
  const subscription = api === false ? {} : { subscription: { api, usageIntervalMs: sub.usageInterval } };
  const fromFlag = (key: string): string | undefined =>
    key === 'endpoint' && overrides.uiEndpoint !== undefined
      ? '--ui-endpoint'
      : key === 'protocol' && overrides.uiProtocol !== undefined
        ? '--ui-protocol'
        : undefined;
  const exporters: GatewayOptions['exporters'] = [];
  exporters.push({ name: 'ui', ...checked({ ...tuning, ...ui }, `${source}: profiling.gateway.ui`, fromFlag), ...subscription });
  const names = new Set(exporters.map((e) => e.name));
  config.destinations.forEach((d, i) => {
    const where = `${source}: destinations[${i}]`;
    if (names.has(d.name)) throw new ConfigFileError(`${where}.name: ${JSON.stringify(d.name)} is already used; give each destination its own name`);
    names.add(d.name);
    // Pyroscope's key for the endpoint is `url`: name that in errors, not the exporter's field.
    const settings = checked({ ...tuning, ...destinationTarget(d) }, where, (key) =>
      d.type === 'pyroscope' && key === 'endpoint' ? `${where}.url` : undefined,
    );
    const shaping = destinationShaping(d, where);
    exporters.push({ name: d.name, ...settings, ...(shaping ? { shaping } : {}) });
  });
  const grpc = overrides.grpc ?? gw.grpc;
  const http = overrides.http ?? gw.http;
  if (!grpc && !http) throw new ConfigFileError('both OTLP listeners are off (--otlp-grpc off --otlp-http off): the gateway would receive nothing');
  return {
    receiver: {
      grpc,
      http,
      bearerToken: overrides.bearerToken ?? gw.bearerToken,
      ...(overrides.maxRequestBytes !== undefined ? { maxRequestBytes: overrides.maxRequestBytes } : {}),
      ...(overrides.maxDecompressedBytes !== undefined ? { maxDecompressedBytes: overrides.maxDecompressedBytes } : {}),
    },
    exporters,
  };
}

/** A destination as exporter settings: Pyroscope is OTLP/HTTP with its tenant and auth headers. */
export function destinationTarget(d: Destination) {
  if (d.type === 'pyroscope') {
    const headers: Record<string, string> = { ...d.headers };
    if (d.tenant) headers['X-Scope-OrgID'] = d.tenant;
    if (d.basicAuth) headers.Authorization = `Basic ${Buffer.from(`${d.basicAuth.username}:${d.basicAuth.password}`).toString('base64')}`;
    return { protocol: 'http' as const, endpoint: d.url, headers, tls: d.tls, retryOnHttpStatus: d.retryOnHttpStatus };
  }
  return {
    protocol: d.protocol,
    endpoint: d.endpoint,
    headers: d.headers,
    tls: d.tls,
    retryOnHttpStatus: d.retryOnHttpStatus,
    retryOnGrpcStatus: d.retryOnGrpcStatus,
  };
}

/**
 * How the gateway reshapes requests for a destination (`attributes`), or undefined when it
 * sends them as received. A Pyroscope destination is always reshaped, since Pyroscope reads
 * attribute keys only in their plain form. `service.name` cannot be dropped: it names the
 * series.
 */
export function destinationShaping(d: Destination, where: string): ShapePolicy | undefined {
  const { serviceNameFromWorkload, drop } = d.attributes;
  drop.forEach((pattern, i) => {
    if (attributeKeyMatcher([pattern])(SERVICE_NAME)) {
      throw new ConfigFileError(
        `${where}.attributes.drop[${i}]: ${JSON.stringify(pattern)} would drop ${SERVICE_NAME}, which names each series; list the keys to drop without it`,
      );
    }
  });
  if (d.type !== 'pyroscope' && !serviceNameFromWorkload && drop.length === 0) return undefined;
  return { serviceNameFromWorkload, drop };
}

/**
 * Validates now, so a bad endpoint is reported before anything starts, by its key in
 * pilotlight.yaml (`where.key`) or by the flag that set it (`flag(key)`).
 */
function checked<T extends z.input<typeof exporterConfigSchema>>(settings: T, where: string, flag: (key: string) => string | undefined = () => undefined): T {
  const result = exporterConfigSchema.safeParse(settings);
  if (!result.success) {
    const key = String(result.error.issues[0].path[0] ?? '');
    const named = flag(key);
    throw new ConfigFileError(named ? `${named}: ${result.error.issues[0].message}` : describeIssue(result.error, where));
  }
  return settings;
}
