import type { SourceInfo, StoreLimits } from '../../api/types.js';
import { formatBytes, formatCount } from '../flame/text.js';

interface Props {
  source: SourceInfo;
  limits: StoreLimits | null;
  now: number;
}

/** The workload's buffer: bytes held against the cap, samples held, and when it closes unviewed. */
export function SlotStatusBar({ source, limits, now }: Props) {
  const p = source.profiling;
  const cap = limits?.slotMaxBytes ?? 0;
  const use = cap > 0 ? Math.min(1, p.bytes / cap) : 0;
  const full = limits?.slotTtlSeconds ?? Infinity;
  // `now` ticks once a second: clamp so a just-refreshed slot never shows more than its TTL.
  const ttl = p.expiresAt !== null ? Math.min(full, Math.max(0, Math.round((p.expiresAt - now) / 1000))) : null;
  const clock = (s: number): string => `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  return (
    <div className="slot-status" data-testid="slot-status">
      <span className="meter" title={`${p.bytes} of ${cap} bytes`}>
        <span className="meter-fill" style={{ width: `${use * 100}%` }} />
      </span>
      <span>
        Buffer {formatBytes(p.bytes)}
        {cap > 0 && ` of ${formatBytes(cap)}`}
      </span>
      <span className="muted">
        {formatCount(p.samples)} {p.samples === 1 ? 'sample' : 'samples'} buffered
      </span>
      {ttl !== null && (
        <span className="muted" title="Profiling stops when nobody views this workload for this long; an open tab keeps it going.">
          closes in {clock(ttl)} if not viewed
        </span>
      )}
    </div>
  );
}
