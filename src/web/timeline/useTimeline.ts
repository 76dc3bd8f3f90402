import { useEffect, useState } from 'react';
import type { TimelineResponse } from '../../api/types.js';
import { api } from '../api/client.js';

/** Bucket widths offered, in seconds: round numbers a person reads at a glance. */
const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
/** About this many bars across the chart. */
const TARGET_BUCKETS = 150;

/** The step (s) that puts about TARGET_BUCKETS buckets across a span of `spanMs`. */
export function autoStep(spanMs: number): number {
  const want = spanMs / 1000 / TARGET_BUCKETS;
  return STEPS.find((s) => s >= want) ?? STEPS[STEPS.length - 1];
}

/**
 * The slot's timeline of one profile type (`type`, a key; undefined: the slot's default),
 * fetched again whenever `version` changes (new data arrived). The step
 * follows the data's span: a first answer at the last step used tells the span, and a second
 * fetch follows when that span wants another step.
 */
export function useTimeline(key: string, active: boolean, version: string, type?: string): { timeline: TimelineResponse | null; error: string | null } {
  const [step, setStep] = useState(1);
  const [timeline, setTimeline] = useState<TimelineResponse | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!active) return;
    const ctl = new AbortController();
    api
      .timeline(key, step, ctl.signal, type)
      .then((t) => {
        const span = t.points.length > 0 ? t.points[t.points.length - 1].t + t.step * 1000 - t.points[0].t : 0;
        const want = autoStep(span);
        if (want !== step) setStep(want);
        setTimeline(t);
        setError(null);
      })
      .catch((err: unknown) => {
        if (!ctl.signal.aborted) setError((err as Error).message);
      });
    return () => ctl.abort();
  }, [key, active, step, version, type]);
  return { timeline: active ? timeline : null, error };
}
