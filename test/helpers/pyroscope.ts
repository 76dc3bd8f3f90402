/**
 * Grafana Pyroscope's own query API (its Connect QuerierService, JSON), as the tests read data
 * back from a real Pyroscope: merged profiles as folded stacks, and the series a run made.
 */

/** Pyroscope's CPU profile type, as OTLP samples/count + cpu/nanoseconds become. */
export const PROCESS_CPU = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';

interface PprofJson {
  sample?: { locationId?: string[]; value?: string[] }[];
  location?: { id: string; line?: { functionId: string }[] }[];
  function?: { id: string; name?: string }[];
  stringTable?: string[];
}

export interface MergedProfile {
  /** Root-first `a;b;c` stacks and their values (nanoseconds for process_cpu). */
  stacks: Map<string, number>;
  total: number;
}

export class PyroscopeClient {
  constructor(readonly url: string) {}

  private async call<T>(method: string, body: unknown): Promise<T> {
    const res = await fetch(`${this.url}/querier.v1.QuerierService/${method}`, {
      method: 'POST',
      // Label names with dots (k8s.namespace.name, as OTLP attributes become labels) are shown
      // only to clients that say they can take them, as Grafana does.
      headers: { 'content-type': 'application/json', accept: 'application/json; allow-utf8-labelnames=true' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`Pyroscope ${method}: HTTP ${res.status}: ${text.slice(0, 500)}`);
    return JSON.parse(text) as T;
  }

  /** SelectMergeProfile: every sample matching `selector` in [startMs, endMs), merged, as folded stacks. */
  async mergedProfile(selector: string, startMs: number, endMs: number, profileType = PROCESS_CPU): Promise<MergedProfile> {
    const p = await this.call<PprofJson>('SelectMergeProfile', { profileTypeID: profileType, labelSelector: selector, start: startMs, end: endMs });
    const strings = p.stringTable ?? [];
    const functions = new Map((p.function ?? []).map((f) => [f.id, strings[Number(f.name ?? 0)] ?? '']));
    // A location with inlined lines lists them callee first, as pprof does.
    const locations = new Map((p.location ?? []).map((l) => [l.id, (l.line ?? []).map((ln) => functions.get(ln.functionId) ?? '?')]));
    const stacks = new Map<string, number>();
    let total = 0;
    for (const s of p.sample ?? []) {
      const names = (s.locationId ?? []).flatMap((id) => locations.get(id) ?? [`?${id}`]);
      const key = names.reverse().join(';');
      const v = Number(s.value?.[0] ?? 0);
      stacks.set(key, (stacks.get(key) ?? 0) + v);
      total += v;
    }
    return { stacks, total };
  }

  /** The series (label sets) matching `matchers` in [startMs, endMs). */
  async series(matchers: string[], startMs: number, endMs: number): Promise<Record<string, string>[]> {
    const r = await this.call<{ labelsSet?: { labels?: { name: string; value: string }[] }[] }>('Series', { matchers, start: startMs, end: endMs });
    return (r.labelsSet ?? []).map((ls) => Object.fromEntries((ls.labels ?? []).map((l) => [l.name, l.value])));
  }
}

/** Folded stacks, heaviest first, for messages. */
export function foldedText(stacks: Map<string, number>, limit = 30): string {
  return [...stacks]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([s, v]) => `${s} ${v}`)
    .join('\n');
}
