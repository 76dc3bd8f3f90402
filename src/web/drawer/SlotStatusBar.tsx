import type { SourceInfo, StoreLimits } from '../../ui/api-types.js';
import { formatBytes, formatCount } from '../flame/text.js';

interface Props {
  source: SourceInfo;
  limits: StoreLimits | null;
  now: number;
}

/** The slot's buffer: bytes held against the cap, chunks, samples, and when it expires unviewed. */
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
        {formatBytes(p.bytes)}
        {cap > 0 && ` / ${formatBytes(cap)}`}
      </span>
      <span className="muted">
        {formatCount(p.chunks)} {p.chunks === 1 ? 'chunk' : 'chunks'} · {formatCount(p.samples)} {p.samples === 1 ? 'sample' : 'samples'}
      </span>
      {ttl !== null && (
        <span className="muted" title="The slot is closed when nobody views it for this long; an open tab keeps it alive.">
          TTL {clock(ttl)}
          {limits && ` / ${clock(limits.slotTtlSeconds)}`}
        </span>
      )}
    </div>
  );
}
