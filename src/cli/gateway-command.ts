import { Command, InvalidArgumentError, Option } from 'commander';
import { gatewayPlan, type GatewayOverrides } from '../gateway/plan.js';
import type { ListenAddress } from '../pipeline/receiver/receiver.js';
import { listenAddress, makeLogger, readConfig, stopOnSignals } from './common.js';
import { growHeapInBigSteps } from './heap.js';

interface GatewayFlags {
  config?: string;
  otlpGrpc?: ListenAddress | false;
  otlpHttp?: ListenAddress | false;
  uiEndpoint?: string;
  uiProtocol?: 'grpc' | 'http';
  uiApi?: string | false;
  bearerToken?: string;
  maxRequestBytes?: number;
  maxDecompressedBytes?: number;
  logLevel: string;
}

function byteCount(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive whole number of bytes, got ${JSON.stringify(value)}`);
  return n;
}

/** `host:port`, with brackets around an IPv6 host. */
function hostPort(a: ListenAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** `pilotlight gateway`: an OTLP Profiles receiver fanning out to the UI and the configured destinations. */
export function gatewayCommand(): Command {
  return new Command('gateway')
    .description('run the gateway: an OTLP Profiles receiver that fans out to the UI and to destinations (Pyroscope, OTLP)')
    .option('--config <file>', 'pilotlight.yaml (profiling.gateway, profiling.exporter and destinations)')
    .option('--otlp-grpc <host:port|off>', 'OTLP/gRPC receiver (default 127.0.0.1:4317)', listenAddress)
    .option('--otlp-http <host:port|off>', 'OTLP/HTTP receiver, also serving /healthz /readyz /metrics (default 127.0.0.1:4318)', listenAddress)
    .option('--ui-endpoint <endpoint>', "the UI's OTLP receiver: host:port for gRPC, a URL for HTTP (default 127.0.0.1:14317)")
    .addOption(new Option('--ui-protocol <protocol>', 'how to send to the UI').choices(['grpc', 'http']))
    .option(
      '--ui-api <url|off>',
      "the UI's HTTP API, where the gateway learns which workloads to forward to it (default http://127.0.0.1:3000); off forwards every workload",
      (v: string) => (v === 'off' ? false : v),
    )
    .addOption(new Option('--bearer-token <token>', 'require this bearer token from senders').env('PILOTLIGHT_BEARER_TOKEN'))
    .option('--max-request-bytes <n>', 'largest request body on the wire (default 16 MiB)', byteCount)
    .option('--max-decompressed-bytes <n>', 'largest request body after gunzip (default 64 MiB)', byteCount)
    .option('--log-level <level>', 'pino log level', process.env.PILOTLIGHT_LOG_LEVEL ?? 'info')
    .action(async (flags: GatewayFlags) => {
      growHeapInBigSteps();
      const config = await readConfig(flags.config);
      const overrides: GatewayOverrides = {
        grpc: flags.otlpGrpc,
        http: flags.otlpHttp,
        uiEndpoint: flags.uiEndpoint,
        uiProtocol: flags.uiProtocol,
        uiApi: flags.uiApi,
        bearerToken: flags.bearerToken,
        maxRequestBytes: flags.maxRequestBytes,
        maxDecompressedBytes: flags.maxDecompressedBytes,
      };
      const plan = gatewayPlan(config, overrides, flags.config ?? 'flags', flags.config !== undefined);
      const logger = makeLogger(flags.logLevel, 'gateway');
      const { Gateway } = await import('../gateway/gateway.js');
      const gateway = new Gateway({ ...plan, logger });
      const addrs = await gateway.start();
      const lines = ['Pilotlight gateway'];
      if (addrs.grpc) lines.push(`  OTLP/gRPC  ${hostPort(addrs.grpc)}`);
      if (addrs.http) lines.push(`  OTLP/HTTP  http://${hostPort(addrs.http)}  (/healthz /readyz /metrics)`);
      // Endpoints only: headers may carry credentials.
      for (const e of gateway.exporters) lines.push(`  → ${e.name}  ${e.config.protocol} ${e.config.endpoint}`);
      process.stdout.write(lines.join('\n') + '\n');
      stopOnSignals(() => gateway.stop(), logger);
    });
}
