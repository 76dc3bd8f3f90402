import type { Logger } from 'pino';
import { Gauge, type Counter, type Registry } from 'prom-client';
import { encodeRequest, errorText } from '../otlp/codec.js';
import { WireChunker } from '../otlp/wire/chunk.js';
import { readWireRequest, type WireRequest, type WireResourceProfiles } from '../otlp/wire/request.js';
import { ACCEPTED, encodedBatch, type ConsumeResult, type ProfilesBatch, type ProfilesConsumer } from '../pipeline/consumer.js';
import { counter } from '../pipeline/metrics.js';
import { wireKeyValues } from '../profile/aggregate-encoded.js';
import { workloadOf, type WorkloadId } from '../profile/workload.js';
import { CPU_BUCKET_MS, CpuRing, countWireCpu } from '../store/cpu.js';
import { SUBSCRIPTION_PATH, USAGE_MAX_SOURCES, USAGE_PATH, type SubscriptionResponse, type UsageSource } from '../api/pipeline.js';

export interface UiSubscriptionOptions {
  /** Base URL of the UI's HTTP API (`http://pilotlight-ui:3000`). */
  api: string;
  /** How often the CPU of withheld workloads is reported to the UI, ms. */
  usageIntervalMs: number;
  /** How long one subscription poll may wait for a change, s. */
  waitSeconds?: number;
  /** Pause after a failed poll, ms. */
  retryMs?: number;
  /** Pause before asking again an endpoint that has no subscription API (a UI that is not Pilotlight's), ms. */
  unsupportedRetryMs?: number;
}

/** Where the gateway stands with the UI's subscription (a gauge's label). */
type SubscriptionState = 'unknown' | 'active' | 'unsupported';

interface SubscriptionMetrics {
  withheldProfiles: Counter;
  polls: Counter<'outcome'>;
  usageReports: Counter<'outcome'>;
  droppedUsageSources: Counter;
}

function subscriptionMetrics(registry: Registry, self: UiSubscription): SubscriptionMetrics {
  if (!registry.getSingleMetric('pilotlight_gateway_ui_subscription_workloads')) {
    new Gauge({
      name: 'pilotlight_gateway_ui_subscription_workloads',
      help: 'Workloads the UI has a profiling slot for, whose data the gateway forwards to it (-1: not known, everything is forwarded)',
      registers: [registry],
      collect() {
        this.set(self.workloads?.size ?? -1);
      },
    });
  }
  return {
    withheldProfiles: counter(
      registry,
      'pilotlight_gateway_ui_withheld_profiles_total',
      'Profiles not forwarded to the UI because their workload has no profiling slot there (their CPU time goes in usage reports)',
      [],
    ),
    polls: counter(
      registry,
      'pilotlight_gateway_ui_subscription_polls_total',
      "Answers to the gateway's subscription polls, by outcome (changed, unchanged, failed, unsupported)",
      ['outcome'],
    ),
    usageReports: counter(registry, 'pilotlight_gateway_ui_usage_reports_total', 'Usage reports sent to the UI, by outcome (sent, failed)', ['outcome']),
    droppedUsageSources: counter(
      registry,
      'pilotlight_gateway_ui_usage_dropped_sources_total',
      'Workloads left out of usage reports because USAGE_MAX_SOURCES were already waiting',
      [],
    ),
  };
}

/**
 * The gateway's side of the UI's subscription (src/api/pipeline.ts): which workloads have a slot in
 * the UI, learnt by long-polling the UI's API, and the CPU time of the other workloads, reported
 * to the UI every interval in place of their stacks.
 *
 * Until the first answer, and whenever the UI answers that it has no such API (404: another
 * OTLP receiver stands where the UI should), the set is unknown and everything is forwarded, as
 * without a subscription: data is never withheld on a guess. A failed poll keeps the last set
 * (the UI is unreachable; its exporter queues) and polls again after `retryMs`; a restarted UI
 * answers at once with its own set, since its token differs.
 */
export class UiSubscription {
  private current: ReadonlySet<string> | undefined;
  private token: string | undefined;
  private state: SubscriptionState = 'unknown';
  private readonly usage = new Map<string, { workload: WorkloadId; ring: CpuRing }>();
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reporting: Promise<void> | undefined;
  private readonly metrics: SubscriptionMetrics;
  private readonly logger: Logger;
  private readonly api: string;
  private readonly waitSeconds: number;
  private readonly retryMs: number;
  private readonly unsupportedRetryMs: number;

  constructor(
    private readonly options: UiSubscriptionOptions,
    registry: Registry,
    logger: Logger,
  ) {
    this.api = options.api.replace(/\/+$/, '');
    this.waitSeconds = options.waitSeconds ?? 30;
    this.retryMs = options.retryMs ?? 1000;
    this.unsupportedRetryMs = options.unsupportedRetryMs ?? 30_000;
    this.metrics = subscriptionMetrics(registry, this);
    this.logger = logger.child({ component: 'ui-subscription', api: this.api });
  }

  /** Keys of the workloads whose data the UI wants; undefined while not known (forward everything). */
  get workloads(): ReadonlySet<string> | undefined {
    return this.current;
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.poll();
    this.timer = setInterval(() => void this.report(), this.options.usageIntervalMs);
    this.timer.unref();
  }

  /** Stops polling and sends what usage is left (within `deadlineMs`). */
  async stop(deadlineMs = 2000): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.abort.abort();
    await this.loop;
    await this.reporting;
    await this.report(deadlineMs);
  }

  /** Counts the CPU time of one withheld workload's resources, for the next usage report. */
  withhold(workload: WorkloadId, parts: readonly WireResourceProfiles[], wire: WireRequest, nowMs: number, profiles: number): void {
    this.metrics.withheldProfiles.inc(profiles);
    let entry = this.usage.get(workload.key);
    if (!entry) {
      if (this.usage.size >= USAGE_MAX_SOURCES) {
        this.metrics.droppedUsageSources.inc();
        return;
      }
      entry = { workload, ring: new CpuRing() };
      this.usage.set(workload.key, entry);
    }
    // A ring counts time after its current bucket in that bucket. That rule is the UI's to
    // apply, by its own clock, as it does to stacks: here the ring runs a bucket ahead, so a
    // profile window that ends in the next bucket keeps its true buckets.
    countWireCpu(entry.ring, parts, wire, nowMs + CPU_BUCKET_MS);
  }

  private async poll(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      let pause = 0;
      try {
        const url = new URL(this.api + SUBSCRIPTION_PATH);
        if (this.token !== undefined) {
          url.searchParams.set('since', this.token);
          url.searchParams.set('wait', String(this.waitSeconds));
        }
        const res = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout((this.waitSeconds + 10) * 1000)]) });
        if (res.status === 404) {
          await res.body?.cancel();
          this.metrics.polls.inc({ outcome: 'unsupported' });
          if (this.state !== 'unsupported') this.logger.warn('the UI has no subscription API (404): forwarding every workload to it');
          this.set('unsupported', undefined, undefined);
          pause = this.unsupportedRetryMs;
        } else if (!res.ok) {
          await res.body?.cancel();
          throw new Error(`HTTP ${res.status}`);
        } else {
          const body = parseSubscription(await res.json());
          const changed = body.token !== this.token;
          this.metrics.polls.inc({ outcome: changed ? 'changed' : 'unchanged' });
          if (changed) {
            this.logger.debug({ workloads: body.workloads.length }, 'UI subscription changed');
            this.set('active', body.token, new Set(body.workloads));
          }
        }
      } catch (err) {
        if (signal.aborted) break;
        this.metrics.polls.inc({ outcome: 'failed' });
        this.logger.debug({ err: errorText(err) }, 'subscription poll failed; keeping the last set');
        pause = this.retryMs;
      }
      if (pause > 0) await sleep(pause, signal);
    }
  }

  private set(state: SubscriptionState, token: string | undefined, workloads: ReadonlySet<string> | undefined): void {
    this.state = state;
    this.token = token;
    this.current = workloads;
  }

  /** Sends the usage counted since the last report; on failure it is kept for the next one. */
  private report(timeoutMs = 10_000): Promise<void> {
    if (this.reporting || this.usage.size === 0) return this.reporting ?? Promise.resolve();
    const entries = [...this.usage.values()];
    this.usage.clear();
    const sources: UsageSource[] = [];
    for (const { workload, ring } of entries) {
      const cpu = ring.entries();
      if (cpu.length > 0) sources.push({ namespace: workload.namespace, kind: workload.kind, name: workload.name, cpu });
    }
    if (sources.length === 0) return Promise.resolve();
    this.reporting = (async () => {
      try {
        const res = await fetch(this.api + USAGE_PATH, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ sources }),
          signal: AbortSignal.timeout(timeoutMs),
        });
        await res.body?.cancel();
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        this.metrics.usageReports.inc({ outcome: 'sent' });
      } catch (err) {
        this.metrics.usageReports.inc({ outcome: 'failed' });
        this.logger.debug({ err: errorText(err) }, 'usage report failed; kept for the next one');
        // Put back under what arrived meanwhile (a ring drops what grew older than it).
        for (const e of entries) {
          const now = this.usage.get(e.workload.key);
          if (!now) {
            if (this.usage.size < USAGE_MAX_SOURCES) this.usage.set(e.workload.key, e);
            else this.metrics.droppedUsageSources.inc();
            continue;
          }
          for (const [ms, ns] of e.ring.entries()) now.ring.add(ms, ns);
        }
      } finally {
        this.reporting = undefined;
      }
    })();
    return this.reporting;
  }
}

/**
 * The UI's fan-out branch: forwards only the resources of workloads the UI subscribes to, cut
 * from the received bytes (a request all of whose workloads are subscribed goes on as it came),
 * and hands the others' CPU time to the subscription's usage report. While the set is not
 * known, everything goes on.
 */
export class UiFilterConsumer implements ProfilesConsumer {
  constructor(
    private readonly subscription: UiSubscription,
    private readonly next: ProfilesConsumer,
  ) {}

  async consume(batch: ProfilesBatch): Promise<ConsumeResult> {
    const set = this.subscription.workloads;
    if (!set) return this.next.consume(batch);
    const encoded = batch.encoded ?? encodeRequest(batch.request);
    const wire = batch.wire ?? readWireRequest(encoded);
    const d = wire.dictionary;
    const now = Date.now();
    const kept: WireResourceProfiles[] = [];
    let keptProfiles = 0;
    let keptSamples = 0;
    for (const rp of wire.resourceProfiles) {
      let profiles = 0;
      let samples = 0;
      for (const sp of rp.scopes) {
        profiles += sp.profiles.length;
        for (const p of sp.profiles) samples += p.sampleEnd - p.sampleStart;
      }
      const workload = workloadOf(wireKeyValues(rp.resourceAttributes, d));
      if (set.has(workload.key)) {
        kept.push(rp);
        keptProfiles += profiles;
        keptSamples += samples;
      } else {
        this.subscription.withhold(workload, [rp], wire, now, profiles);
      }
    }
    if (kept.length === wire.resourceProfiles.length) return this.next.consume(batch);
    if (kept.length === 0) return ACCEPTED;
    const { bytes } = new WireChunker(wire, encoded).chunk(kept);
    return this.next.consume(encodedBatch(bytes, undefined, { profiles: keptProfiles, samples: keptSamples }));
  }
}

/** A subscription answer, checked: the UI is another process, possibly of another version. */
function parseSubscription(body: unknown): SubscriptionResponse {
  const b = body as Partial<SubscriptionResponse> | null;
  if (!b || typeof b.token !== 'string' || !Array.isArray(b.workloads) || !b.workloads.every((w) => typeof w === 'string')) {
    throw new Error('the subscription answer is not { token: string, workloads: string[] }');
  }
  return { token: b.token, workloads: b.workloads };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}
