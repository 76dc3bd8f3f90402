import { useRef, useState, type PointerEvent } from 'react';
import type { TimelineResponse } from '../../api/types.js';
import { useElementSize } from '../hooks/useElementSize.js';
import { valueFormat } from '../units.js';

export interface Range {
  from: number;
  to: number;
}

interface Props {
  timeline: TimelineResponse;
  /** The selected range (the comparison range in a diff). */
  selection: Range | null;
  /** The base range of a diff, drawn in its own colour. */
  base: Range | null;
  /** A drag ended: the range covers whole buckets. `shift` when Shift was held. */
  onSelect: (range: Range, shift: boolean) => void;
}

const HEIGHT = 64;
const AXIS = 14;

export function formatClock(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** Cores used per bucket: CPU time over the bucket's wall time. */
export function coresOf(cpuNanos: number, stepSeconds: number): number {
  return stepSeconds > 0 ? cpuNanos / (stepSeconds * 1e9) : 0;
}

/**
 * Cores used over time as bars, one per bucket (for a type other than CPU: its values per
 * bucket, off-CPU time, bytes, …). Drag across it to select a range (snapped to
 * whole buckets); the selection and a diff's base range are shaded bands.
 */
export function Timeline({ timeline, selection, base, onSelect }: Props) {
  const boxRef = useRef<HTMLDivElement>(null);
  const { width } = useElementSize(boxRef);
  const [drag, setDrag] = useState<{ a: number; b: number; shift: boolean } | null>(null);
  const [hover, setHover] = useState<number | null>(null);
  const pts = timeline.points;
  const stepMs = timeline.step * 1000;
  const t0 = pts.length > 0 ? pts[0].t : 0;
  const t1 = pts.length > 0 ? pts[pts.length - 1].t + stepMs : 1;
  const span = Math.max(1, t1 - t0);
  const values = valueFormat(timeline.type, timeline.periodNanos);
  const useCpu = values.cpu && (timeline.periodNanos > 0 || pts.some((p) => p.cpuNanos > 0));
  const value = (p: (typeof pts)[number]): number => (useCpu ? coresOf(p.cpuNanos, timeline.step) : p.samples);
  let max = 0;
  for (const p of pts) max = Math.max(max, value(p));
  const plotH = HEIGHT - AXIS;
  const xOf = (t: number): number => ((t - t0) / span) * width;
  const barW = Math.max(1, (stepMs / span) * width - (width / pts.length > 3 ? 1 : 0));

  /** The bucket start under a client x, clamped to the data. */
  const bucketAt = (clientX: number): number => {
    const rect = boxRef.current!.getBoundingClientRect();
    const frac = Math.min(0.999999, Math.max(0, (clientX - rect.left) / Math.max(1, rect.width)));
    return t0 + Math.floor((frac * span) / stepMs) * stepMs;
  };
  const rangeOf = (d: { a: number; b: number }): Range => ({ from: Math.min(d.a, d.b), to: Math.max(d.a, d.b) + stepMs });

  const onDown = (e: PointerEvent<HTMLDivElement>): void => {
    if (e.button !== 0 || pts.length === 0) return;
    e.currentTarget.setPointerCapture(e.pointerId);
    const t = bucketAt(e.clientX);
    setDrag({ a: t, b: t, shift: e.shiftKey });
  };
  const onMove = (e: PointerEvent<HTMLDivElement>): void => {
    if (pts.length === 0) return;
    const t = bucketAt(e.clientX);
    if (t !== hover) setHover(t);
    if (!drag) return;
    if (t !== drag.b) setDrag({ ...drag, b: t });
  };
  const onUp = (): void => {
    if (!drag) return;
    setDrag(null);
    onSelect(rangeOf(drag), drag.shift);
  };

  const band = (r: Range, cls: string) => {
    const l = Math.max(0, xOf(r.from));
    const rgt = Math.min(width, xOf(r.to));
    if (rgt <= 0 || l >= width) return null;
    return <rect className={cls} x={l} y={0} width={Math.max(2, rgt - l)} height={plotH} />;
  };
  const live = drag ? rangeOf(drag) : null;
  const hovered = hover === null ? undefined : pts[Math.round((hover - t0) / stepMs)];
  const readout = drag
    ? `${formatClock(rangeOf(drag).from)}–${formatClock(rangeOf(drag).to)}${drag.shift ? ' (base)' : ''}`
    : hovered
      ? `${formatClock(hovered.t)} · ${useCpu ? `${coresOf(hovered.cpuNanos, timeline.step).toFixed(2)} cores · ` : ''}${values.cpu ? `${hovered.samples.toLocaleString('en-US')} samples` : values.full(hovered.samples)}`
      : `${timeline.step} s buckets · drag to select a range`;
  const maxLabel = useCpu ? `${max < 10 ? max.toFixed(2) : max.toFixed(1)} cores` : values.cpu ? `${max} samples` : values.full(max);

  return (
    <div className="timeline" data-testid="timeline">
      <div className="tl-readout" aria-live="polite">
        {readout}
      </div>
      <div
        className="timeline-plot"
        ref={boxRef}
        style={{ height: HEIGHT }}
        onPointerDown={onDown}
        onPointerMove={onMove}
        onPointerUp={onUp}
        onPointerCancel={() => setDrag(null)}
        onPointerLeave={() => setHover(null)}
        title="Drag to select a time range (Shift-drag: the base range of a comparison)"
        aria-label={`${values.cpu ? 'CPU use' : values.what} over time, ${pts.length} buckets of ${timeline.step} s`}
        role="img"
      >
        {width > 0 && (
          <svg width={width} height={HEIGHT} aria-hidden="true">
            {base && band(base, 'tl-band base')}
            {selection && band(selection, 'tl-band sel')}
            {live && band(live, drag?.shift ? 'tl-band base dragging' : 'tl-band sel dragging')}
            {pts.map((p) => {
              const v = value(p);
              if (v <= 0 || max <= 0) return null;
              const h = Math.max(1, (v / max) * (plotH - 4));
              return <rect key={p.t} className="tl-bar" x={xOf(p.t)} y={plotH - h} width={barW} height={h} />;
            })}
            <line className="tl-axis" x1={0} x2={width} y1={plotH + 0.5} y2={plotH + 0.5} />
            <text className="tl-label" x={2} y={10}>
              {maxLabel}
            </text>
            <text className="tl-label" x={2} y={HEIGHT - 2}>
              {pts.length > 0 ? formatClock(t0) : ''}
            </text>
            <text className="tl-label" x={width - 2} y={HEIGHT - 2} textAnchor="end">
              {pts.length > 0 ? formatClock(t1) : ''}
            </text>
          </svg>
        )}
      </div>
    </div>
  );
}
