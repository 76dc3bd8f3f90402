import { Counter, Gauge, type Registry } from 'prom-client';
import type { ProfileStore } from '../store/store.js';
import { SKIP_REASONS, SKIP_REASON_TEXT } from '../profile/profile-type.js';

/** Store gauges and counters, read from the store when Prometheus scrapes. */
export function registerStoreMetrics(registry: Registry, store: ProfileStore): void {
  const stats = () => store.stats();
  new Gauge({
    name: 'pilotlight_store_slots',
    help: 'Active profiling slots',
    registers: [registry],
    collect() {
      this.set(stats().usage.slots);
    },
  });
  new Gauge({
    name: 'pilotlight_store_bytes',
    help: 'Raw OTLP chunk bytes held in all slots',
    registers: [registry],
    collect() {
      this.set(stats().usage.bytes);
    },
  });
  new Gauge({
    name: 'pilotlight_store_slot_limit',
    help: 'PROFILES_MAX_SLOTS in force',
    registers: [registry],
    collect() {
      this.set(store.limits.maxSlots);
    },
  });
  new Gauge({
    name: 'pilotlight_store_sources',
    help: 'Sources the Sources list remembers',
    registers: [registry],
    collect() {
      this.set(stats().usage.sources);
    },
  });
  new Gauge({
    name: 'pilotlight_store_source_limit',
    help: 'PROFILES_MAX_SOURCES in force',
    registers: [registry],
    collect() {
      this.set(store.limits.maxSources);
    },
  });
  new Counter({
    name: 'pilotlight_store_sources_trimmed_total',
    help: 'Sources forgotten because PROFILES_MAX_SOURCES were remembered (the longest unseen first; a source with a slot is kept)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats().sourcesTrimmed);
    },
  });
  new Counter({
    name: 'pilotlight_store_evictions_total',
    help: 'Slots removed, by reason (lru, ttl, closed)',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(stats().evictions)) this.inc({ reason }, n);
    },
  });
  new Counter({
    name: 'pilotlight_store_dropped_total',
    help: 'Data not kept, by reason (noSlot: profiles of workloads without a slot; chunkTooLarge; byteCapChunks: oldest chunks dropped at the byte cap)',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(stats().dropped)) this.inc({ reason }, n);
    },
  });
  new Counter({
    name: 'pilotlight_ui_profiles_skipped_total',
    help: `Profiles of workloads with a slot that went into no profile type, by reason (${SKIP_REASONS.map((r) => `${r}: ${SKIP_REASON_TEXT[r]}`).join('; ')})`,
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      const skipped = stats().skippedProfiles;
      for (const reason of SKIP_REASONS) this.inc({ reason }, skipped[reason] ?? 0);
    },
  });
}
