import { useCallback, useState } from 'react';
import type { SlotEvent, SlotStatus, SourceInfo, StoreLimits } from '../../ui/api-types.js';
import { api } from '../api/client.js';
import { useProfile } from '../hooks/useProfile.js';
import { useNow } from '../hooks/useNow.js';
import { FlameGraphView } from '../flame/FlameGraphView.js';
import { SymbolsTable } from '../table/SymbolsTable.js';
import { SandwichView } from '../sandwich/SandwichView.js';
import { formatAgo, formatCount, formatNanos } from '../flame/text.js';
import { SlotStatusBar } from './SlotStatusBar.js';
import { EmptyProfile } from './EmptyProfile.js';
import { viewStateOf, type ViewMode } from './viewState.js';

interface Props {
  source: SourceInfo;
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

/** The Profiling tab: Enable Profiling, then the live flame graph, symbols table and sandwich. */
export function ProfilingTab({ source, limits, onSourceChanged, onSlotClosed, onSlotFigures }: Props) {
  const state = viewStateOf(source.key);
  const [mode, setMode] = useState<ViewMode>(state.mode);
  const [live, setLive] = useState(state.live);
  const [selected, setSelected] = useState<string | null>(state.selected);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const active = source.profiling.active;
  const onSlot = useCallback(
    (e: SlotEvent) => onSlotFigures(e.key, { bytes: e.bytes, chunks: e.chunks, samples: e.samples, lastDataAt: e.lastDataAt }),
    [onSlotFigures],
  );
  const prof = useProfile(source.key, active, live, onSlotClosed, onSlot);
  const now = useNow(1000);

  const select = useCallback(
    (key: string | null) => {
      setSelected(key);
      state.selected = key;
    },
    [state],
  );
  const onZoomChange = useCallback((p: readonly string[]) => void (state.zoom = p), [state]);
  const onSearchChange = useCallback((s: string) => void (state.search = s), [state]);

  const act = async (what: 'enable' | 'disable'): Promise<void> => {
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
  const period = p?.periodNanos ?? 0;
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
              onClick={() => {
                setMode(m.mode);
                state.mode = m.mode;
              }}
            >
              {m.label}
            </button>
          ))}
        </div>
        <label className="live-toggle" title={prof.transport === 'polling' ? 'Live updates by polling (the event stream is unavailable)' : 'Live updates as data arrives'}>
          <input
            type="checkbox"
            checked={live}
            onChange={(e) => {
              setLive(e.target.checked);
              state.live = e.target.checked;
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
        <a className="btn" href={api.pprofUrl(source.key)} download>
          Download pprof
        </a>
        <button type="button" className="btn danger" onClick={() => void act('disable')} disabled={busy} title="Close the slot and drop its buffered samples">
          Disable
        </button>
      </div>
      <div className="profiling-sub">
        <SlotStatusBar source={source} limits={limits} now={now} />
        {p && p.samples > 0 && (
          <span className="muted" data-testid="profile-summary">
            {formatCount(p.samples)} samples{p.cpuNanos > 0 && ` · ${formatNanos(p.cpuNanos)} CPU`}
            {p.startMs !== null && p.endMs !== null && ` · ${new Date(p.startMs).toLocaleTimeString()}–${new Date(p.endMs).toLocaleTimeString()}`}
          </span>
        )}
      </div>
      {(prof.error || actionError) && <p className="error">{actionError ?? prof.error}</p>}
      {p && p.samples === 0 && <EmptyProfile />}
      {p && p.samples > 0 && (
        <div className={`views mode-${mode}`}>
          {(mode === 'flame' || mode === 'both') && (
            <FlameGraphView
              graph={p.flame}
              periodNanos={period}
              selectedKey={selected}
              onClearSelected={() => select(null)}
              initialZoom={state.zoom}
              initialSearch={state.search}
              onZoomChange={onZoomChange}
              onSearchChange={onSearchChange}
            />
          )}
          {(mode === 'table' || mode === 'both' || mode === 'sandwich') && (
            <SymbolsTable
              rows={p.symbols}
              totalSamples={p.samples}
              selectedKey={selected}
              onSelect={select}
              initialSort={state.sort}
              onSortChange={(s) => void (state.sort = s)}
              compact={mode === 'sandwich'}
            />
          )}
          {mode === 'sandwich' && <SandwichView graph={p.flame} selectedKey={selected} periodNanos={period} />}
        </div>
      )}
    </div>
  );
}
