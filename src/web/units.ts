import type { ProfileTypeName } from '../api/types.js';
import { formatBytes, formatCount, formatNanos } from './flame/text.js';

/**
 * How a profile's sample values read (flame graph, tooltips, tables, timeline): CPU samples
 * with the CPU time they stand for, or another type's values in its unit (off-CPU time as
 * durations, bytes as bytes, counts as counts). Unit names come from senders: text only.
 */
export interface ValueFormat {
  /** True for CPU samples (`cpu`): values are samples, CPU time = samples × the period. */
  cpu: boolean;
  /** What the flame graph's widths are shares of: "CPU time", "Off-CPU time", "alloc_space (bytes)". */
  what: string;
  /** A value in full: "300 ms · 30 samples", "1.20 s", "4.0 KiB", "12", "7 widgets". */
  full(v: number): string;
  /** A value as an amount beside its share ("(300 ms)"); null when it would only repeat a sample count. */
  amount(v: number): string | null;
}

/** The format of `type`'s values; `periodNanos` turns CPU samples into time (0: unknown). */
export function valueFormat(type: ProfileTypeName | null | undefined, periodNanos: number): ValueFormat {
  if (!type || type.key === 'cpu') {
    return {
      cpu: true,
      what: 'CPU time',
      full: (v) => (periodNanos > 0 ? `${formatNanos(v * periodNanos)} · ${formatCount(v)} samples` : `${formatCount(v)} samples`),
      amount: (v) => (periodNanos > 0 ? formatNanos(v * periodNanos) : null),
    };
  }
  const show = unitFormatter(type.unit);
  return { cpu: false, what: type.unit === 'nanoseconds' ? `${type.label} time` : type.label, full: show, amount: show };
}

function unitFormatter(unit: string): (v: number) => string {
  switch (unit) {
    case 'nanoseconds':
      return formatNanos;
    case 'bytes':
      return formatBytes;
    case 'count':
      return formatCount;
    default:
      return (v) => `${formatCount(v)} ${unit}`;
  }
}
