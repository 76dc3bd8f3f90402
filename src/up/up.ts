import type { Logger } from 'pino';
import { Gateway } from '../gateway/gateway.js';
import { gatewayPlan } from '../gateway/plan.js';
import { EbpfProfilerSampler } from '../node/ebpf-profiler/sampler.js';
import { NodeSampler } from '../node/sampler.js';
import { chooseSampler, fallbackLine } from '../node/choose-sampler.js';
import { Exporter } from '../pipeline/exporter/exporter.js';
import type { ReceiverAddresses } from '../pipeline/receiver/receiver.js';
import { startUiServer, type UiServer } from '../ui/server.js';
import { DemoWorkloads, type RunningDemo } from './demo.js';
import { exporterTuning } from '../config/schema.js';
import { dialHost, targetOf, type UpPlan } from './plan.js';
import { checkPrerequisites } from './prerequisites.js';
import type { Progress } from './progress.js';

export interface Started {
  uiUrl: string;
  gateway: ReceiverAddresses;
  uiOtlp: ReceiverAddresses;
  demos: RunningDemo[];
  bpftracePid: number | undefined;
}

const DRAIN_MS = 3000;

/**
 * `pilotlight up`: the UI, then the gateway that feeds it, then the demos, then the node
 * sampler that feeds the gateway, each wired to the address the previous one really bound
 * (so port 0 works everywhere). Prerequisites are checked before anything starts. stop() may
 * be called at any time, during start() too (a Ctrl-C while bpftrace attaches).
 */
export class LocalStack {
  private ui: UiServer | undefined;
  private gateway: Gateway | undefined;
  private nodeExporter: Exporter | undefined;
  private sampler: NodeSampler | EbpfProfilerSampler | undefined;
  private readonly demos = new DemoWorkloads();
  private demosStarted = false;
  private stopped: Promise<void> | undefined;

  constructor(
    private readonly plan: UpPlan,
    private readonly progress: Progress,
    private readonly log: Logger,
  ) {}

  /** Starts every part; if one fails, what already started is stopped before the error is thrown. */
  async start(): Promise<Started> {
    const { plan, progress, log } = this;
    if (!plan.enabled) throw new Error('LocalStack.start: profiling is disabled');
    const choice = chooseSampler(plan.node.sampler);
    checkPrerequisites(plan.node.bpftrace, '/proc', choice.kind);
    try {
      progress.step('ui', 'starting');
      const ui = await startUiServer({
        host: plan.ui.host,
        port: plan.ui.port,
        otlp: { grpc: plan.ui.otlpGrpc, http: plan.ui.otlpHttp },
        limits: plan.ui.limits,
        logger: log.child({ component: 'ui' }),
      }).catch((err: unknown) => {
        throw listenError(err, {
          grpc: 'profiling.ui.otlp.grpc / --ui-otlp-grpc',
          http: [
            [plan.ui.port, 'profiling.ui.port / --port'],
            [plan.ui.otlpHttp ? plan.ui.otlpHttp.port : 0, 'profiling.ui.otlp.http / --ui-otlp-http'],
          ],
        });
      });
      this.ui = ui;
      this.checkNotStopped();
      progress.step('ui', 'up', `${ui.url}  (OTLP in: ${addresses(ui.otlp)})`);

      progress.step('gateway', 'starting');
      const toUi = targetOf(ui.otlp);
      const gateway = new Gateway({
        ...gatewayPlan(
          plan.config,
          {
            grpc: plan.gateway.grpc,
            http: plan.gateway.http,
            uiEndpoint: toUi.endpoint,
            uiProtocol: toUi.protocol,
            uiApi: plan.config.profiling.gateway.ui.subscription.enabled ? ui.url : false,
          },
          plan.configSource,
          false, // upPlan already applied profiling.enabled (file or flag)
        ),
        logger: log.child({ component: 'gateway' }),
      });
      this.gateway = gateway;
      const gw = await gateway.start().catch((err: unknown) => {
        throw listenError(err, {
          grpc: 'profiling.gateway.grpc / --gateway-grpc',
          http: [[plan.gateway.http ? plan.gateway.http.port : 0, 'profiling.gateway.http / --gateway-http']],
        });
      });
      this.checkNotStopped();
      progress.step('gateway', 'up', `${addresses(gw)} → ${gateway.exporters.map((e) => e.name).join(', ')}`);

      let demos: RunningDemo[] = [];
      if (plan.demo) {
        progress.step('demo', 'starting', 'compiling and starting the demo workloads');
        this.demosStarted = true;
        demos = await this.demos.start((why) => progress.step('demo', 'skipped', why));
        this.checkNotStopped();
        for (const d of demos) progress.step('demo', 'up', `${d.key}  (${d.language}, pid ${d.pid}; hot function ${d.hotFunction})`);
      }

      this.nodeExporter = new Exporter({
        name: 'gateway',
        // The node's hop over OTLP/HTTP when the gateway listens on it: the cheaper one for the sampler (see profiling.node.gateway).
        ...targetOf(gw, 'http'),
        ...exporterTuning(plan.config),
        headers: plan.gateway.bearerToken ? { authorization: `Bearer ${plan.gateway.bearerToken}` } : {},
        logger: log.child({ component: 'node' }),
      });
      const rates = { hz: plan.node.hz, intervalMs: plan.node.intervalMs };
      const { offCpu } = plan.config.profiling.node;
      if (choice.fallback) progress.step('node', 'starting', fallbackLine(choice.fallback));
      if (offCpu.enabled && choice.kind !== 'ebpf-profiler') {
        progress.step(
          'node',
          'skipped',
          'off-CPU profiles (profiling.node.offCpu.enabled) need the eBPF profiler (profiling.node.sampler: ebpf-profiler); bpftrace sends CPU profiles only',
        );
      }
      const sampler =
        choice.kind === 'ebpf-profiler'
          ? new EbpfProfilerSampler({ ...rates, offCpuThreshold: offCpu.enabled ? offCpu.probability : 0 }, this.nodeExporter, log.child({ component: 'node' }))
          : new NodeSampler({ ...rates, bpftrace: plan.node.bpftrace }, this.nodeExporter, log.child({ component: 'node' }));
      this.sampler = sampler;
      const what = sampler instanceof NodeSampler ? 'bpftrace to compile and attach its probe (a few seconds)' : 'the eBPF profiler to load its programs';
      progress.step('node', 'waiting', `for ${what}`);
      await sampler.start();
      this.checkNotStopped();
      const bpftracePid = sampler instanceof NodeSampler ? sampler.bpftracePid : undefined;
      const by = sampler instanceof NodeSampler ? `bpftrace pid ${bpftracePid}` : 'the OpenTelemetry eBPF profiler';
      progress.step('node', 'up', `sampling every process at ${plan.node.hz} Hz, one export every ${plan.node.intervalMs} ms (${by})`);
      return { uiUrl: browsable(ui.url), gateway: gw, uiOtlp: ui.otlp, demos, bpftracePid };
    } catch (err) {
      this.killNow();
      await this.stop().catch(() => undefined);
      throw err;
    }
  }

  /** Stops every part, children included; safe to call more than once and at any time. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      const { progress } = this;
      // Upstream first, so each part drains into one that is still running.
      if (this.sampler) {
        progress.step('node', 'stopping', this.sampler instanceof NodeSampler ? 'bpftrace detaching' : 'the eBPF profiler detaching');
        await this.sampler.stop();
        await this.nodeExporter?.shutdown(DRAIN_MS);
        progress.step('node', 'stopped');
      }
      if (this.demosStarted) {
        await this.demos.stop();
        progress.step('demo', 'stopped');
      }
      if (this.gateway) {
        await this.gateway.stop(DRAIN_MS);
        progress.step('gateway', 'stopped');
      }
      if (this.ui) {
        await this.ui.close();
        progress.step('ui', 'stopped');
      }
    })();
    return this.stopped;
  }

  /** Kills the child processes at once (a second Ctrl-C, or an exit that cannot wait). */
  killNow(): void {
    // The eBPF profiler is started with a parent-death signal: it goes when this process does.
    const pid = this.sampler instanceof NodeSampler ? this.sampler.bpftracePid : undefined;
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    this.demos.killNow();
  }

  private checkNotStopped(): void {
    if (this.stopped) throw new StartInterrupted();
  }
}

/** start() saw stop() called while it ran. */
export class StartInterrupted extends Error {
  constructor() {
    super('interrupted while starting');
    this.name = 'StartInterrupted';
  }
}

/** A URL a browser on this machine can open: a wildcard listener is reached on loopback. */
export function browsable(url: string): string {
  const u = new URL(url);
  const host = dialHost(u.hostname);
  if (host === u.hostname) return url;
  u.hostname = host;
  return u.toString().replace(/\/$/, '');
}

function addresses(a: ReceiverAddresses): string {
  const parts: string[] = [];
  if (a.grpc) parts.push(`grpc ${a.grpc.host}:${a.grpc.port}`);
  if (a.http) parts.push(`http ${a.http.host}:${a.http.port}`);
  return parts.join(', ');
}

/** Which setting names which listener, to say what to change when one cannot bind. */
interface ListenKeys {
  grpc: string;
  /** HTTP listeners by port (the fastify error carries the port). */
  http: [port: number, key: string][];
}

/** A port in use becomes one line naming the setting to change. */
function listenError(err: unknown, keys: ListenKeys): Error {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  const all = [keys.grpc, ...keys.http.map(([, k]) => k)].join(', ');
  if (e?.code === 'EADDRINUSE' || e?.code === 'EACCES') {
    const key = keys.http.find(([port]) => port !== 0 && port === e.port)?.[1] ?? all;
    const what = e.code === 'EADDRINUSE' ? 'is already in use' : 'is not allowed';
    return new Error(`${e.address ?? ''}:${e.port ?? ''} ${what}; pick another port (${key}), or 0 for any free port`);
  }
  // grpc-js reports bind failures as plain errors.
  if (err instanceof Error && /gRPC|No address added out of total/.test(err.message) && /EADDRINUSE|EACCES|No address added/.test(err.message)) {
    return new Error(`${err.message.split('\n')[0]}; pick another port (${keys.grpc}), or 0 for any free port`);
  }
  return err instanceof Error ? err : new Error(String(err));
}
