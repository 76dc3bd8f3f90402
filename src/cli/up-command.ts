import { existsSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { pino } from 'pino';
import { loadConfigFile, parseConfig } from '../config/load.js';
import { limitsFromEnv } from '../store/config.js';
import { upPlan, type UpFlags } from '../up/plan.js';
import { lineProgress } from '../up/progress.js';
import { durationMs, listenAddress, portNumber, samplerOption } from './common.js';

interface UpCommandFlags extends UpFlags {
  config?: string;
  logLevel: string;
}

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a whole number above 0');
  return n;
}

/** `--config`, else $PILOTLIGHT_CONFIG, else ./pilotlight.yaml when there is one. */
export function configPath(flag: string | undefined, env = process.env, exists = existsSync): string | undefined {
  return flag ?? (env.PILOTLIGHT_CONFIG || undefined) ?? (exists('pilotlight.yaml') ? 'pilotlight.yaml' : undefined);
}

export function upCommand(): Command {
  return new Command('up')
    .description('run everything on this machine: node sampler, gateway and UI, wired over OTLP on loopback')
    .option('--config <file>', 'pilotlight.yaml (default: $PILOTLIGHT_CONFIG, else ./pilotlight.yaml if present)')
    .option('--profiling', 'profiling.enabled: true (the default when no config file is used)')
    .option('--no-profiling', 'profiling.enabled: false: run nothing')
    .option('--demo', 'also start two demo workloads (Node.js and C) with known hot functions')
    .option('--host <host>', 'UI listen address (profiling.ui.host, default 127.0.0.1)')
    .option('--port <port>', 'UI port (profiling.ui.port, default 3000; 0 = any free port)', portNumber)
    .option('--gateway-grpc <host:port|off>', 'gateway OTLP/gRPC (profiling.gateway.grpc, default 127.0.0.1:4317)', listenAddress)
    .option('--gateway-http <host:port|off>', 'gateway OTLP/HTTP + /healthz /metrics (profiling.gateway.http, default 127.0.0.1:4318)', listenAddress)
    .option('--ui-otlp-grpc <host:port|off>', "UI's OTLP/gRPC receiver (profiling.ui.otlp.grpc, default 127.0.0.1:14317)", listenAddress)
    .option('--ui-otlp-http <host:port|off>', "UI's OTLP/HTTP receiver (profiling.ui.otlp.http, default 127.0.0.1:14318)", listenAddress)
    .option('--hz <n>', 'samples per second per CPU (profiling.node.hz, default 20)', wholeNumber)
    .option('--interval <duration>', 'export interval (profiling.node.interval, default 1s)', durationMs())
    .option('--bpftrace <path>', 'bpftrace executable (default: bpftrace on PATH)')
    .addOption(samplerOption())
    .option('--log-level <level>', 'component log level (JSON on stderr)', process.env.PILOTLIGHT_LOG_LEVEL ?? 'warn')
    .action(async (flags: UpCommandFlags) => {
      const out = (text: string): void => void process.stdout.write(text);
      const progress = lineProgress(out);
      const file = configPath(flags.config);
      const config = file ? await loadConfigFile(file) : parseConfig({});
      const ui = config.profiling.ui;
      // The PROFILES_* variables the user documentation promises win over the file.
      const limits = limitsFromEnv(process.env, {
        maxSlots: ui.maxSlots,
        slotTtlSeconds: ui.slotTtlSeconds,
        slotMaxBytes: ui.slotMaxBytes,
        cleanupIntervalSeconds: ui.cleanupIntervalSeconds,
        maxSources: ui.maxSources,
      });
      const plan = upPlan(config, file, flags, limits);
      progress.line(`pilotlight up (config: ${plan.configSource})`);
      if (!plan.enabled) {
        progress.line(`profiling is disabled (${plan.enabledBy}): nothing to run. Set profiling.enabled: true or pass --profiling.`);
        return;
      }

      // Logs are for diagnosis; the progress lines on stdout are the interface.
      const log = pino({ level: flags.logLevel, base: { component: 'up' } }, pino.destination(2));
      const { LocalStack, StartInterrupted } = await import('../up/up.js');
      const stack = new LocalStack(plan, progress, log);
      // Whatever ends this process, no child outlives it.
      process.once('exit', () => stack.killNow());
      let stopping = false;
      const onSignal = (signal: NodeJS.Signals): void => {
        if (stopping) {
          stack.killNow();
          process.exit(130);
        }
        stopping = true;
        progress.line(`\n${signal}: stopping (Ctrl-C again to kill at once)`);
        stack.stop().then(
          () => {
            progress.line('stopped');
            process.exit(0);
          },
          (err: unknown) => {
            stack.killNow();
            process.stderr.write(`pilotlight: error while stopping: ${err instanceof Error ? err.message : String(err)}\n`);
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      process.on('SIGHUP', onSignal);

      let started;
      try {
        started = await stack.start();
      } catch (err) {
        // A signal during start-up is handled above (it stops and exits); anything else is an error.
        if (err instanceof StartInterrupted) return new Promise<void>(() => undefined);
        throw err;
      }
      progress.line('');
      progress.line(`Pilotlight is running: open ${started.uiUrl}`);
      if (started.demos.length > 0) {
        progress.line(`Demo workloads: ${started.demos.map((d) => d.key).join(', ')} (pick one and press "Enable Profiling")`);
      }
      progress.line('Press Ctrl-C to stop.');
    });
}
