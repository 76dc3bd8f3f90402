import { Command, Option } from 'commander';
import { limitsFromEnv } from '../store/config.js';
import { favourMemoryOverSpeed } from '../ui/memory-mode.js';
import { listenAddress, makeLogger, portNumber, readConfig, stopOnSignals } from './common.js';

interface UiFlags {
  config?: string;
  host?: string;
  port?: number;
  otlpGrpc?: { host: string; port: number } | false;
  otlpHttp?: { host: string; port: number } | false;
  webRoot?: string;
  bearerToken?: string;
  optimizeForSize?: boolean;
  logLevel: string;
}

export function uiCommand(): Command {
  return new Command('ui')
    .description('run the UI: profile store, its OTLP receiver, the HTTP API and the web app')
    .option('--config <file>', 'pilotlight.yaml (profiling.ui section)')
    .option('--host <host>', 'HTTP listen address (default 127.0.0.1)')
    .option('--port <port>', 'HTTP port (default 3000)', portNumber)
    .option('--otlp-grpc <host:port|off>', 'OTLP/gRPC receiver (default 127.0.0.1:14317)', listenAddress)
    .option('--otlp-http <host:port|off>', 'OTLP/HTTP receiver (default 127.0.0.1:14318)', listenAddress)
    .option('--web-root <dir>', 'folder of the built web app')
    .addOption(new Option('--bearer-token <token>', 'require this bearer token on the OTLP receiver').env('PILOTLIGHT_BEARER_TOKEN'))
    .addOption(
      new Option(
        '--optimize-for-size',
        'favour memory over speed (V8 --optimize-for-size): RSS with 24 full slots ≈ 10 % lower, slower ingest and API queries',
      ).env('PILOTLIGHT_UI_OPTIMIZE_FOR_SIZE'),
    )
    .option('--log-level <level>', 'pino log level', process.env.PILOTLIGHT_LOG_LEVEL ?? 'info')
    .action(async (flags: UiFlags) => {
      const config = await readConfig(flags.config);
      const ui = config.profiling.ui;
      // The PROFILES_* variables the user documentation promises win over the file.
      const limits = limitsFromEnv(process.env, {
        maxSlots: ui.maxSlots,
        slotTtlSeconds: ui.slotTtlSeconds,
        slotMaxBytes: ui.slotMaxBytes,
        cleanupIntervalSeconds: ui.cleanupIntervalSeconds,
        maxSources: ui.maxSources,
      });
      const logger = makeLogger(flags.logLevel, 'ui');
      // Off by default: the default process meets the memory budget, and the flag costs speed (see memory-mode.ts).
      if (flags.optimizeForSize) favourMemoryOverSpeed();
      const { startUiServer } = await import('../ui/server.js');
      const server = await startUiServer({
        host: flags.host ?? ui.host,
        port: flags.port ?? ui.port,
        otlp: {
          grpc: flags.otlpGrpc ?? ui.otlp.grpc,
          http: flags.otlpHttp ?? ui.otlp.http,
          bearerToken: flags.bearerToken,
        },
        limits,
        webRoot: flags.webRoot,
        logger,
      });
      process.stdout.write(`Pilotlight UI: ${server.url}\n`);
      stopOnSignals(() => server.close(), logger);
    });
}
