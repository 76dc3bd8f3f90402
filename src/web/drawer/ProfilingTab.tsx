import { useCallback, useEffect, useMemo, useState } from 'react';
import type { DiffQuery, ProfileResponse, ProfileTypeInfo, SlotEvent, SlotStatus, SourceInfo, StoreLimits } from '../../api/types.js';
import { api } from '../api/client.js';
import { useProfile } from '../hooks/useProfile.js';
import { useNow } from '../hooks/useNow.js';
import { FlameGraphView } from '../flame/FlameGraphView.js';
import { SymbolsTable } from '../table/SymbolsTable.js';
import { SandwichView } from '../sandwich/SandwichView.js';
import { formatAgo, formatCount, formatNanos } from '../flame/text.js';
import { SlotStatusBar } from './SlotStatusBar.js';
import { EmptyProfile } from './EmptyProfile.js';
import { rememberViewState, viewStateOf, type ViewMode } from './viewState.js';
import { flameTransformFields, flameTransformOf, navigate, useRoute, type Route } from '../route/route.js';
import type { FlameTransform } from '../../profile/transform.js';
import { useTimeline } from '../timeline/useTimeline.js';
import { Timeline, formatClock, type Range } from '../timeline/Timeline.js';
import { useDiff } from '../diff/useDiff.js';
import { DiffFlameView } from '../diff/DiffFlameView.js';
import { DiffTable } from '../diff/DiffTable.js';
import { formatPercent } from '../flame/text.js';
import { valueFormat, type ValueFormat } from '../units.js';

interface Props {
  source: SourceInfo;
  /** Every source, for the diff's base picker. */
  sources: readonly SourceInfo[];
  limits: StoreLimits | null;
  onSourceChanged: (source: SourceInfo) => void;
  onSlotClosed: () => void;
  /** Newer buffer figures from the slot's event stream, ahead of the next Sources poll. */
  onSlotFigures: (key: string, slot: Partial<SlotStatus>) => void;
}

const MODES: { mode: ViewMode; label: string }[] = [
  { mode: 'flame', label: 'Flame graph' },
  { mode: 'table', label: 'Table' },
  { mode: 'both', label: 'Both' },
  { mode: 'sandwich', label: 'Sandwich' },
];

const NO_ZOOM: readonly string[] = [];

function rangeLabel(r: Range | null): string {
  if (!r) return 'all data';
  const secs = (r.to - r.from) / 1000;
  return `${formatClock(r.from)}–${formatClock(r.to)} (${secs >= 120 ? `${Math.round(secs / 60)} min` : `${secs} s`})`;
}

/**
 * "Spent in code that could not be named: 62.5% of samples in libfoo.so …": where
 * symbolization fell short and it matters (the samples' own frames), quietly.
 */
function UnsymbolizedNote({ profile, values }: { profile: ProfileResponse; values: ValueFormat }) {
  const rows = (profile.unsymbolized ?? []).filter((r) => r.samples > 0);
  if (rows.length === 0 || profile.samples <= 0) return null;
  const where = (binary: string): string => (binary === '' ? 'at bare addresses (no known binary)' : `in ${binary}`);
  return (
    <p className="unsymbolized-note muted" data-testid="unsymbolized-note">
      Spent in code that could not be named:{' '}
      {rows.map((r, i) => (
        <span key={r.binary}>
          {i > 0 && ', '}
          {formatPercent(r.samples / profile.samples)} of {values.cpu ? 'samples' : values.what} {where(r.binary)}
        </span>
      ))}
      .
    </p>
  );
}

/**
 * CPU, Off-CPU, …: which of the slot's profile types the tab shows, where there is another to
 * show (the slot holds more than one, or one other than the type in the URL). Labels are the
 * senders' type names: text only.
 */
function TypePicker({ types, shown, onPick }: { types: readonly ProfileTypeInfo[]; shown: string; onPick: (key: string) => void }) {
  if (!types.some((t) => t.key !== shown)) return null;
  return (
    <div className="segmented" role="radiogroup" aria-label="Profile type">
      {types.map((t) => (
        <button
          key={t.key}
          type="button"
          role="radio"
          aria-checked={shown === t.key}
          className={shown === t.key ? 'seg active' : 'seg'}
          title={`${t.label}: ${formatCount(t.events)} samples${t.unit === 'nanoseconds' && t.key !== 'cpu' ? `, ${formatNanos(t.samples)}` : ''}`}
          onClick={() => onPick(t.key)}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
}

/** The Profiling tab: Enable Profiling, then the live flame graph, symbols table and sandwich. */
export function ProfilingTab({ source, sources, limits, onSourceChanged, onSlotClosed, onSlotFigures }: Props) {
  const state = viewStateOf(source.key);
  const route = useRoute();
  // The view lives in the URL; a bare `#/sources/<key>` restores how this tab was left.
  const restored = useMemo<Route>(() => state.route ?? { key: source.key, hasView: true, mode: state.mode }, [state.route, state.mode, source.key]);
  const view: Route = route.key === source.key && route.hasView ? route : restored;
  const needsRestore = route.key === source.key && !route.hasView;
  useEffect(() => {
    if (needsRestore) navigate({ ...view, hasView: true }, false);
  }, [needsRestore, view]);
  const update = useCallback(
    (patch: Partial<Route>, push: boolean) => {
      const next: Route = { ...view, ...patch, key: source.key, hasView: true };
      rememberViewState(source.key, { route: next, mode: next.mode ?? 'both' });
      navigate(next, push);
    },
    [view, source.key],
  );
  const mode: ViewMode = view.mode ?? 'both';
  const type = view.type;
  const range: Range | null = view.from !== undefined && view.to !== undefined ? { from: view.from, to: view.to } : null;
  const cmp = view.cmp ?? null;
  const baseKey = cmp?.base ?? source.key;
  const baseRange: Range | null = cmp && cmp.baseFrom !== undefined && cmp.baseTo !== undefined ? { from: cmp.baseFrom, to: cmp.baseTo } : null;
  const [dragSets, setDragSets] = useState<'base' | 'comparison'>(baseRange ? 'comparison' : 'base');
  const [live, setLive] = useState(state.live);
  // The function picked in the table lives in the URL: a link opens its sandwich.
  const selected = view.fn ?? null;
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  // Disable drops the buffered samples for good: it asks first.
  const [confirmDisable, setConfirmDisable] = useState(false);
  const active = source.profiling.active;
  const onSlot = useCallback(
    (e: SlotEvent) => onSlotFigures(e.key, { bytes: e.bytes, chunks: e.chunks, samples: e.samples, lastDataAt: e.lastDataAt }),
    [onSlotFigures],
  );
  const prof = useProfile(source.key, active, live, onSlotClosed, onSlot, range, type);
  const now = useNow(1000);
  // New data (while Live) refreshes the timeline and a diff; paused, they keep the data of the pause.
  const liveVersion = `${source.profiling.samples}:${source.profiling.lastDataAt}`;
  const [pausedAt, setPausedAt] = useState<string | null>(() => (state.live ? null : liveVersion));
  const version = live ? liveVersion : (pausedAt ?? liveVersion);
  const tl = useTimeline(source.key, active, version, type);
  // A link to a type the slot no longer holds (its data aged out): show the default instead.
  const unknownType = type !== undefined && prof.errorCode === 'PL_UI_UNKNOWN_TYPE';
  useEffect(() => {
    if (unknownType) update({ type: undefined, zoom: undefined }, false);
  }, [unknownType, update]);
  const diffQuery = useMemo<DiffQuery | null>(
    () =>
      cmp && active
        ? {
            base: baseKey,
            ...(baseRange && baseKey === source.key ? { baseFrom: baseRange.from, baseTo: baseRange.to } : {}),
            target: source.key,
            ...(range ? { from: range.from, to: range.to } : {}),
            ...(type !== undefined ? { type } : {}),
          }
        : null,
    // The ranges are rebuilt each render from the URL's numbers: depend on those.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [cmp !== null, active, baseKey, baseRange?.from, baseRange?.to, source.key, range?.from, range?.to, type],
  );
  const dv = useDiff(diffQuery, version);
  const otherSources = sources.filter((s) => s.key !== source.key && s.profiling.active);
  const baseName = baseKey === source.key ? `this workload, ${rangeLabel(baseRange)}` : (sources.find((s) => s.key === baseKey)?.name ?? baseKey);

  const onTimelineSelect = (r: Range, shift: boolean): void => {
    const setBase = shift || (cmp !== null && baseKey === source.key && dragSets === 'base');
    if (setBase) {
      update({ cmp: { baseFrom: r.from, baseTo: r.to } }, true);
      setDragSets('comparison');
    } else {
      update({ from: r.from, to: r.to }, true);
    }
  };

  const select = useCallback((key: string | null) => update({ fn: key ?? undefined }, false), [update]);
  const onZoomChange = useCallback((p: readonly string[]) => update({ zoom: [...p] }, true), [update]);
  const onSearchChange = useCallback((q: string) => update({ q: q === '' ? undefined : q }, false), [update]);
  // Hidden frames, focus, recursion and left-heavy live in the URL, changed with the zoom in one step.
  const onTransformChange = useCallback(
    (t: FlameTransform, zoom: readonly string[]) => update({ ...flameTransformFields(t), zoom: [...zoom] }, true),
    [update],
  );
  const onSandwich = useCallback((key: string) => update({ fn: key, mode: 'sandwich' }, true), [update]);

  const act = async (what: 'enable' | 'disable'): Promise<void> => {
    setConfirmDisable(false);
    setBusy(true);
    setActionError(null);
    try {
      const res = what === 'enable' ? await api.enable(source.key) : await api.disable(source.key);
      onSourceChanged(res.source);
    } catch (err) {
      setActionError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  if (!active) {
    return (
      <div className="enable-card">
        <h3>Profiling is off for this workload</h3>
        <p className="muted">
          Pilotlight keeps CPU samples only for workloads with profiling enabled. Enabling opens a buffer of up to{' '}
          {limits ? `${Math.round(limits.slotMaxBytes / 1048576)} MiB` : 'a few MiB'} in the UI server; it stays open while you view it (and{' '}
          {limits?.slotTtlSeconds ?? 120} s after), even if you close this drawer.
        </p>
        <button type="button" className="btn primary" onClick={() => void act('enable')} disabled={busy}>
          {busy ? 'Enabling…' : 'Enable Profiling'}
        </button>
        {actionError && <p className="error">{actionError}</p>}
      </div>
    );
  }

  const p = prof.profile;
  const values = valueFormat(p?.type, p?.periodNanos ?? 0);
  return (
    <div className="profiling">
      <div className="profiling-bar">
        <div className="segmented" role="tablist" aria-label="View">
          {MODES.map((m) => (
            <button
              key={m.mode}
              type="button"
              role="tab"
              aria-selected={mode === m.mode}
              className={mode === m.mode ? 'seg active' : 'seg'}
              onClick={() => update({ mode: m.mode }, true)}
            >
              {m.label}
            </button>
          ))}
        </div>
        <TypePicker types={p?.profileTypes ?? []} shown={type ?? p?.type.key ?? 'cpu'} onPick={(key) => update({ type: key, zoom: undefined }, true)} />
        <label
          className="live-toggle"
          title={prof.transport === 'polling' ? 'Live updates by polling (the event stream is unavailable)' : 'Live updates as data arrives'}
        >
          <input
            type="checkbox"
            checked={live}
            onChange={(e) => {
              setLive(e.target.checked);
              setPausedAt(e.target.checked ? null : liveVersion);
              rememberViewState(source.key, { live: e.target.checked });
            }}
          />
          <span className={live ? 'live-dot on' : 'live-dot'} /> Live
        </label>
        <span className="muted updated" data-testid="updated-ago">
          {prof.receivedAt ? `updated ${formatAgo(prof.receivedAt, now)}` : prof.loading ? 'loading…' : ''}
          {live && prof.transport === 'polling' && ' (polling)'}
        </span>
        {!live && (
          <button type="button" className="btn" onClick={prof.refresh}>
            Refresh
          </button>
        )}
        <span className="spacer" />
        <a
          className="btn"
          href={api.pprofUrl(source.key, type, range)}
          download
          title={range ? `pprof of the selected range, ${rangeLabel(range)}` : 'pprof of all buffered data'}
        >
          Download pprof
        </a>
        {!confirmDisable && (
          <button type="button" className="btn danger" onClick={() => setConfirmDisable(true)} disabled={busy} title="Stop keeping samples for this workload">
            Disable…
          </button>
        )}
      </div>
      {confirmDisable && (
        <div className="confirm-bar" role="alertdialog" aria-label="Disable profiling">
          <span>
            Disable profiling for {source.name}? The {formatCount(source.profiling.samples)} buffered{' '}
            {source.profiling.samples === 1 ? 'sample is' : 'samples are'} dropped.
          </span>
          <button type="button" className="btn danger" onClick={() => void act('disable')} disabled={busy} autoFocus>
            Disable and drop samples
          </button>
          <button type="button" className="btn" onClick={() => setConfirmDisable(false)}>
            Keep profiling
          </button>
        </div>
      )}
      <div className="profiling-sub">
        <SlotStatusBar source={source} limits={limits} now={now} />
        {p && p.samples > 0 && (
          <span className="muted" data-testid="profile-summary">
            {range ? 'In range: ' : 'Shown: '}
            {values.cpu ? `${formatCount(p.samples)} samples` : `${values.full(p.samples)} ${values.what}`}
            {p.cpuNanos > 0 && ` · ${formatNanos(p.cpuNanos)} CPU`}
            {p.startMs !== null && p.endMs !== null && ` · ${new Date(p.startMs).toLocaleTimeString()}–${new Date(p.endMs).toLocaleTimeString()}`}
          </span>
        )}
      </div>
      {(prof.error || actionError) && <p className="error">{actionError ?? prof.error}</p>}
      {tl.timeline && tl.timeline.points.length > 0 && (
        <div className="explore">
          <div className="explore-bar">
            <span className="range-label" data-testid="range-label">
              {cmp ? 'Comparison' : 'Range'}: <strong>{rangeLabel(range)}</strong>
              {!range && live && ' · live'}
            </span>
            {range && (
              <button
                type="button"
                className="btn small"
                onClick={() => update({ from: undefined, to: undefined }, true)}
                title="Show all data again, following live updates"
              >
                Clear
              </button>
            )}
            <span className="spacer" />
            {cmp ? (
              <>
                <label className="compare-base">
                  Base{' '}
                  <select
                    aria-label="Base"
                    value={baseKey === source.key ? '' : baseKey}
                    onChange={(e) => update({ cmp: e.target.value ? { base: e.target.value } : {} }, true)}
                  >
                    <option value="">this workload, a time range</option>
                    {otherSources.map((s) => (
                      <option key={s.key} value={s.key}>
                        {s.namespace}/{s.name} ({s.kind})
                      </option>
                    ))}
                  </select>
                </label>
                {baseKey === source.key && (
                  <span className="segmented small" role="radiogroup" aria-label="Dragging selects">
                    <button
                      type="button"
                      role="radio"
                      aria-checked={dragSets === 'base'}
                      className={dragSets === 'base' ? 'seg active base' : 'seg'}
                      onClick={() => setDragSets('base')}
                    >
                      Drag: base {baseRange ? rangeLabel(baseRange) : '(all data)'}
                    </button>
                    <button
                      type="button"
                      role="radio"
                      aria-checked={dragSets === 'comparison'}
                      className={dragSets === 'comparison' ? 'seg active' : 'seg'}
                      onClick={() => setDragSets('comparison')}
                    >
                      Drag: comparison
                    </button>
                  </span>
                )}
                <button type="button" className="btn small" onClick={() => update({ cmp: undefined }, true)}>
                  End comparison
                </button>
              </>
            ) : (
              <button
                type="button"
                className="btn small"
                onClick={() => {
                  // With a range selected, it is the comparison and a drag picks the base.
                  // Without one, start from the last minute of data against the minute before
                  // (or the two halves of what there is, when that is less).
                  const pts = tl.timeline?.points ?? [];
                  if (range || pts.length === 0) {
                    setDragSets('base');
                    update({ cmp: {} }, true);
                    return;
                  }
                  const start = pts[0].t;
                  const end = pts[pts.length - 1].t + tl.timeline!.step * 1000;
                  const half = Math.min(60_000, Math.floor((end - start) / 2));
                  if (half < 1000) {
                    setDragSets('base');
                    update({ cmp: {} }, true);
                    return;
                  }
                  setDragSets('comparison');
                  update({ cmp: { baseFrom: end - 2 * half, baseTo: end - half }, from: end - half, to: end }, true);
                }}
                title="Compare two time ranges of this workload, or this workload with another"
              >
                Compare…
              </button>
            )}
          </div>
          <Timeline timeline={tl.timeline} selection={range} base={cmp && baseKey === source.key ? baseRange : null} onSelect={onTimelineSelect} />
        </div>
      )}
      {p && !cmp && <UnsymbolizedNote profile={p} values={values} />}
      {cmp && dv.error && <p className="error">{dv.error}</p>}
      {cmp && dv.diff && (
        <div className={`views mode-${mode === 'sandwich' ? 'both' : mode}`}>
          {mode !== 'table' && <DiffFlameView diff={dv.diff} baseLabel={baseName} targetLabel={rangeLabel(range)} />}
          {mode !== 'flame' && <DiffTable diff={dv.diff} />}
        </div>
      )}
      {!cmp && p && p.samples === 0 && (range ? <p className="muted">No samples in this range.</p> : <EmptyProfile />)}
      {!cmp && p && p.samples > 0 && (
        <div className={`views mode-${mode}`}>
          {(mode === 'flame' || mode === 'both') && (
            <FlameGraphView
              graph={p.flame}
              values={values}
              selectedKey={selected}
              onClearSelected={() => select(null)}
              zoom={view.zoom ?? NO_ZOOM}
              search={view.q ?? ''}
              onZoomChange={onZoomChange}
              onSearchChange={onSearchChange}
              transform={flameTransformOf(view)}
              onTransformChange={onTransformChange}
              onSandwich={onSandwich}
            />
          )}
          {(mode === 'table' || mode === 'both' || mode === 'sandwich') && (
            <SymbolsTable
              rows={p.symbols}
              totalSamples={p.samples}
              values={values}
              selectedKey={selected}
              onSelect={select}
              onOpen={(key) => update({ fn: key, mode: 'sandwich' }, true)}
              initialSort={state.sort}
              onSortChange={(s) => rememberViewState(source.key, { sort: s })}
              compact={mode === 'sandwich'}
              search={mode === 'both' ? (view.q ?? '') : ''}
            />
          )}
          {mode === 'sandwich' && <SandwichView graph={p.flame} selectedKey={selected} values={values} />}
        </div>
      )}
    </div>
  );
}
