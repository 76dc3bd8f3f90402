/**
 * What a Profile measures, named from its `sample_type` and `period_type`. Each sample type is
 * its own Profile on the wire (a CPU profile and an off-CPU profile are two), and profiles of
 * different types never share a call tree: a type is the unit a tree's values are added in.
 *
 * - `cpu`: CPU time. Sample type `samples`/`count` (or `cpu`/`count`) with period type `cpu` or
 *   none (or no sample type, period type `cpu`): each event is one sample worth `period`
 *   nanoseconds. Sample type `cpu`/`nanoseconds`
 *   is the same measure with values in nanoseconds: it joins the same tree with its values
 *   divided by the period (samples) and kept as they are (nanoseconds). A sender that writes
 *   both for the same samples (pprof's CPU profile has both values per sample, and OTLP takes
 *   one Profile per sample type) puts them in one ScopeProfiles: there the nanosecond-valued
 *   profiles repeat the counted ones and are skipped (`duplicate_cpu`), never added twice.
 * - `off_cpu`: time off the CPU (`off_cpu`/`nanoseconds`, the OpenTelemetry eBPF profiler's
 *   off-CPU profile): each value is the nanoseconds a stack waited.
 * - any other `type`/`unit`: kept as its own type, keyed `type:unit` (`alloc_space:bytes`),
 *   its values added as numbers in that unit.
 *
 * A profile whose type cannot be named is skipped and counted by reason (SkipReason).
 */
export interface ProfileType {
  /** Identity: `cpu`, `off_cpu`, or `type:unit` for any other type. */
  key: string;
  /** For people: `CPU`, `Off-CPU`, or `type (unit)`. Sender text: show it as text. */
  label: string;
  /** What its values measure: `nanoseconds`, `count`, `bytes` or another unit's name. */
  unit: string;
  /** The sample type's name on the wire (`cpu` for CPU time, whatever its wire name). */
  name: string;
}

export const CPU: ProfileType = Object.freeze({ key: 'cpu', label: 'CPU', unit: 'nanoseconds', name: 'cpu' });
export const OFF_CPU: ProfileType = Object.freeze({ key: 'off_cpu', label: 'Off-CPU', unit: 'nanoseconds', name: 'off_cpu' });

/** Why a profile was not aggregated into any type. */
export type SkipReason = 'unreadable_type' | 'missing_type' | 'missing_unit' | 'duplicate_cpu' | 'too_many_types';

export const SKIP_REASONS: readonly SkipReason[] = ['unreadable_type', 'missing_type', 'missing_unit', 'duplicate_cpu', 'too_many_types'];

/** What each reason means, for /metrics help and documentation. */
export const SKIP_REASON_TEXT: Readonly<Record<SkipReason, string>> = {
  unreadable_type: 'a sample or period type string index outside the string table',
  missing_type: 'no sample type name (and no cpu period type to go by)',
  missing_unit: 'a sample type other than CPU without a unit',
  duplicate_cpu: 'a cpu/nanoseconds profile beside a samples/count CPU profile in one scope: the same samples twice',
  too_many_types: 'a profile type beyond the per-slot limit of distinct types',
};

export type SkipCounts = Record<SkipReason, number>;

export function emptySkipCounts(): SkipCounts {
  return { unreadable_type: 0, missing_type: 0, missing_unit: 0, duplicate_cpu: 0, too_many_types: 0 };
}

export function addSkipCounts(dst: SkipCounts, src: SkipCounts): void {
  for (const r of SKIP_REASONS) dst[r] += src[r];
}

export function totalSkipped(c: SkipCounts): number {
  let n = 0;
  for (const r of SKIP_REASONS) n += c[r];
  return n;
}

/**
 * A profile's type strings: '' for an absent type or an unset (0) index, undefined for an index
 * outside the string table.
 */
export interface TypeNames {
  sampleType: string | undefined;
  sampleUnit: string | undefined;
  periodType: string | undefined;
  periodUnit: string | undefined;
}

/**
 * How a profile's samples are added: into which type, and whether its values are nanoseconds
 * of CPU time (`cpu`/`nanoseconds`) rather than counts of samples.
 */
export type ProfileClass = { type: ProfileType; cpuNanosValued: boolean } | { skip: SkipReason };

/** The type of one profile, looked at alone (see `classifyScope` for the rule across a scope). */
export function classifyProfile(n: TypeNames): ProfileClass {
  const { sampleType: st, sampleUnit: su, periodType: pt, periodUnit: pu } = n;
  if (st === undefined || su === undefined || pt === undefined || pu === undefined) return { skip: 'unreadable_type' };
  const cpuPeriod = pt === 'cpu' || pt === '';
  if (st === '') return pt === 'cpu' ? { type: CPU, cpuNanosValued: false } : { skip: 'missing_type' };
  if (cpuPeriod && (st === 'samples' || st === 'cpu') && (su === 'count' || su === '')) return { type: CPU, cpuNanosValued: false };
  if (cpuPeriod && st === 'cpu' && su === 'nanoseconds') return { type: CPU, cpuNanosValued: true };
  if (st === 'off_cpu' && su === 'nanoseconds') return { type: OFF_CPU, cpuNanosValued: false };
  if (su === '') return { skip: 'missing_unit' };
  return { type: otherType(st, su), cpuNanosValued: false };
}

function otherType(name: string, unit: string): ProfileType {
  return { key: `${name}:${unit}`, label: `${name} (${unit})`, unit, name };
}

/**
 * The types of the profiles of one ScopeProfiles, in order. Where a scope has a CPU profile
 * counted in samples and one valued in nanoseconds (`cpu`/`nanoseconds`), the nanosecond ones
 * describe the same samples again and are skipped as `duplicate_cpu`.
 */
export function classifyScope(names: readonly TypeNames[]): ProfileClass[] {
  const out = names.map(classifyProfile);
  if (out.length < 2) return out;
  let counted = false;
  let valued = false;
  for (const c of out) {
    if (!('type' in c) || c.type !== CPU) continue;
    if (c.cpuNanosValued) valued = true;
    else counted = true;
  }
  if (counted && valued) {
    for (let i = 0; i < out.length; i++) {
      const c = out[i];
      if ('type' in c && c.type === CPU && c.cpuNanosValued) out[i] = { skip: 'duplicate_cpu' };
    }
  }
  return out;
}

/** Display order: CPU, off-CPU, then the others by key. */
export function compareTypes(a: ProfileType, b: ProfileType): number {
  const rank = (t: ProfileType): number => (t.key === CPU.key ? 0 : t.key === OFF_CPU.key ? 1 : 2);
  return rank(a) - rank(b) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** The ProfileType a key names (`cpu`, `off_cpu`, `type:unit`); undefined for a key that names none. */
export function profileTypeOfKey(key: string): ProfileType | undefined {
  if (key === CPU.key) return CPU;
  if (key === OFF_CPU.key) return OFF_CPU;
  const i = key.lastIndexOf(':');
  if (i <= 0 || i === key.length - 1) return undefined;
  return otherType(key.slice(0, i), key.slice(i + 1));
}
