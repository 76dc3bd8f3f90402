import { useCallback, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import type { FlameGraph } from '../../profile/flame.js';
import { matchFrames, parseSearch } from '../../profile/focus.js';
import { frameKey, hiddenFrames, keyPathAfterMerge, transformFlame, NO_TRANSFORM, type FlameTransform, type HideRule } from '../../profile/transform.js';
import { keyPath, layoutFlame, resolveKeyPath } from './layout.js';
import { frameColors } from './colors.js';
import { useZoom } from './useZoom.js';
import { useHighlight } from './useHighlight.js';
import { FlameChart } from './FlameChart.js';
import { Breadcrumb } from './Breadcrumb.js';
import { FlameLegend } from './FlameLegend.js';
import { FrameMenu, type FrameMenuItem, type PatternCheck } from './FrameMenu.js';
import { TransformChips } from './TransformChips.js';
import { formatCount, formatPercent } from './text.js';
import type { ValueFormat } from '../units.js';
import './flame-tools.css';

interface Props {
  graph: FlameGraph;
  /** How the values read (CPU samples and time, off-CPU time, bytes, …). */
  values: ValueFormat;
  /** A function picked in the symbols table (frame key), highlighted instead of the search. */
  selectedKey: string | null;
  onClearSelected: () => void;
  /** Zoom (frame keys from the root) and search: owned by the caller (they live in the URL). */
  zoom: readonly string[];
  search: string;
  onZoomChange: (path: readonly string[]) => void;
  onSearchChange: (search: string) => void;
  /**
   * Hidden frames, focus, collapsed recursion, left-heavy order (profile/transform.ts): owned by
   * the caller when given (they live in the URL), else kept here.
   */
  transform?: FlameTransform;
  /** The transforms changed, with the zoom path that shows the same frame in the new graph. */
  onTransformChange?: (transform: FlameTransform, zoom: readonly string[]) => void;
  /** Opens a function's sandwich (its frame key); the frame menu has no Sandwich without it. */
  onSandwich?: (frameKey: string) => void;
}

interface OpenMenu {
  /** The frame's node as a key path (found again if live data renumbers nodes meanwhile). */
  path: string[];
  key: string;
  name: string;
  /** The graph's root (a focused function): it cannot be hidden or focused again. */
  isRoot: boolean;
  at: { x: number; y: number };
}

/** Frames drawn in a graph: 1 per frame id that some node has. */
function framesPresent(graph: FlameGraph): Uint8Array {
  const out = new Uint8Array(graph.frames.name.length);
  for (const f of graph.frame) if (f >= 0) out[f] = 1;
  return out;
}

const sameRule = (a: HideRule, b: HideRule): boolean =>
  ('frame' in a && 'frame' in b && a.frame === b.frame) || ('pattern' in a && 'pattern' in b && a.pattern === b.pattern);

/** The clipboard API, else the older copy command; neither working is not an error worth showing. */
async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    return;
  } catch {
    // No clipboard API here (an insecure origin) or no permission: the fallback below.
  }
  const back = document.activeElement;
  try {
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.setAttribute('readonly', '');
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    document.body.appendChild(ta);
    ta.select();
    document.execCommand('copy');
    ta.remove();
  } catch {
    // Nothing more to try.
  }
  if (back instanceof HTMLElement && back.isConnected) back.focus();
}

/**
 * The flame graph panel: search, match share, left-heavy toggle, the transforms' chips, zoom
 * breadcrumb, colour legend, the chart and its frame menu (right-click, or Shift+F10 on the
 * keyboard's frame): zoom, focus, sandwich, hide a frame or a pattern, collapse recursion,
 * copy the name. A plain click zooms, the most frequent step, in one click; the menu holds the
 * rest. `/` anywhere in the panel goes to the search box.
 */
export function FlameGraphView(props: Props) {
  const { graph, values, selectedKey, onClearSelected, onSandwich } = props;
  const [ownTransform, setOwnTransform] = useState<FlameTransform>(NO_TRANSFORM);
  const t = props.transform ?? ownTransform;
  // Keyed on the fields: the caller rebuilds the object from the URL on every render.
  const shown = useMemo(
    () => transformFlame(graph, { hide: t.hide, focus: t.focus, collapseRecursion: t.collapseRecursion, leftHeavy: t.leftHeavy }),
    [graph, t.hide, t.focus, t.collapseRecursion, t.leftHeavy],
  );
  const layout = useMemo(() => layoutFlame(shown), [shown]);
  const colors = useMemo(() => frameColors(graph.frames.name, graph.frames.kind), [graph]);
  const present = useMemo(() => framesPresent(graph), [graph]);
  const zoom = useZoom(layout, props.zoom, props.onZoomChange);
  const search = props.search;
  const hl = useHighlight(layout, search, selectedKey, zoom.node);
  const total = layout.rootTotal;
  const selectedName = hl.selectedFrame >= 0 ? graph.frames.name[hl.selectedFrame] : null;
  const searchRef = useRef<HTMLInputElement>(null);
  const [menu, setMenu] = useState<OpenMenu | null>(null);
  const closeMenu = useCallback(() => setMenu(null), []);

  const change = (next: FlameTransform, zoomPath: readonly string[]): void => {
    if (props.onTransformChange) props.onTransformChange(next, zoomPath);
    else {
      setOwnTransform(next);
      props.onZoomChange(zoomPath);
    }
  };
  const hide = (rule: HideRule): void => {
    if (t.hide.some((r) => sameRule(r, rule))) return;
    const next = { ...t, hide: [...t.hide, rule] };
    change(next, keyPathAfterMerge(graph.frames, zoom.path, hiddenFrames(graph.frames, next.hide), t.collapseRecursion, t.focus ?? ''));
  };
  const focusOn = (key: string): void => {
    // Focusing a frame above the zoomed one keeps the zoom, from the new root down.
    const i = zoom.path.indexOf(key);
    change({ ...t, focus: key }, i >= 0 ? zoom.path.slice(i + 1) : []);
  };
  const setRecursion = (on: boolean): void =>
    change({ ...t, collapseRecursion: on }, on ? keyPathAfterMerge(graph.frames, zoom.path, null, true, t.focus ?? '') : zoom.path);

  const openMenu = useCallback(
    (node: number, at: { x: number; y: number }) => {
      const f = layout.graph.frame[node];
      if (f < 0) return;
      setMenu({ path: keyPath(layout, node), key: frameKey(layout.graph.frames, f), name: layout.graph.frames.name[f], isRoot: node === 0, at });
    },
    [layout],
  );

  const checkPattern = (text: string): PatternCheck => {
    const q = parseSearch(text);
    if (!q.ok) return { ok: false, error: q.error };
    const m = matchFrames(graph.frames.name, q.test);
    let n = 0;
    for (let f = 0; f < m.length; f++) n += m[f] & present[f];
    return { ok: true, functions: n };
  };

  const menuItems = (m: OpenMenu): FrameMenuItem[] => [
    {
      label: 'Zoom',
      title: `Zoom to ${m.name}`,
      onSelect: () => {
        const r = resolveKeyPath(layout, m.path);
        zoom.zoomTo(r.node);
      },
    },
    {
      label: 'Focus on this frame',
      title: `Root the graph at ${m.name}: every sample through it, wherever it is called, merged into one tree`,
      disabled: m.isRoot,
      onSelect: () => focusOn(m.key),
    },
    ...(onSandwich ? [{ label: 'Sandwich', title: `${m.name}'s callers above it and its callees below`, onSelect: () => onSandwich(m.key) }] : []),
    {
      label: 'Hide this frame',
      title: `Merge ${m.name} into its callers wherever it is called: its self time becomes theirs`,
      disabled: m.isRoot,
      group: true,
      onSelect: () => hide({ frame: m.key }),
    },
    {
      label: 'Hide frames matching…',
      title: 'Hide every function whose name matches: text (case-insensitive) or /regex/, as the search reads it',
      opensPattern: true,
      onSelect: () => undefined,
    },
    {
      label: 'Collapse recursion',
      title: 'Show a function that calls itself directly once',
      checked: t.collapseRecursion,
      onSelect: () => setRecursion(!t.collapseRecursion),
    },
    { label: 'Copy name', group: true, onSelect: () => void copyText(m.name) },
  ];

  const onPanelKey = (e: KeyboardEvent<HTMLElement>): void => {
    if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement) return;
    e.preventDefault();
    searchRef.current?.focus();
    searchRef.current?.select();
  };

  const focusName = t.focus ? t.focus.slice(0, Math.max(0, t.focus.indexOf('\0'))) || t.focus : '';

  return (
    <section className="flame-panel" aria-label="Flame graph" onKeyDown={onPanelKey}>
      <div className="flame-toolbar">
        <input
          ref={searchRef}
          type="search"
          className="search"
          placeholder="Search (text or /regex/)"
          title="Highlights matching functions: text, case-insensitive, or a /regular expression/ (press / in the graph to come here)"
          aria-label="Search functions"
          aria-keyshortcuts="/"
          value={search}
          aria-invalid={hl.searchError !== null}
          onChange={(e) => props.onSearchChange(e.target.value)}
        />
        {hl.searchError && (
          <span className="search-error" role="alert" data-testid="search-error">
            {hl.searchError}
          </span>
        )}
        {selectedKey && (
          <span className="chip" data-testid="selected-chip" title={`Highlighting ${selectedName ?? 'a function not in this profile'} (picked in the table)`}>
            <span className="chip-dot" aria-hidden="true" />
            <strong>{selectedName ?? '(not in this profile)'}</strong>
            <button type="button" className="chip-x" aria-label="Clear highlight" onClick={onClearSelected}>
              ×
            </button>
          </span>
        )}
        {hl.summary && (
          <span
            className="match-share"
            data-testid="match-share"
            title={
              values.cpu
                ? `${formatCount(hl.summary.samples)} of ${formatCount(total)} samples have a matching function on their stack (each sample counted once)`
                : `${values.full(hl.summary.samples)} of ${values.full(total)} have a matching function on their stack (each sample counted once)`
            }
          >
            {hl.summary.nodes === 0 ? (
              'No matches'
            ) : (
              <>
                {formatCount(hl.summary.nodes)} {hl.summary.nodes === 1 ? 'frame' : 'frames'} · <strong>{formatPercent(hl.summary.share)}</strong> of total
                {values.amount(hl.summary.samples) !== null && ` (${values.amount(hl.summary.samples)})`}
                {hl.summaryInZoom && ` · ${formatPercent(hl.summaryInZoom.share)} of zoomed`}
              </>
            )}
          </span>
        )}
        <span className="spacer" />
        <button
          type="button"
          className={t.leftHeavy ? 'btn toggle on' : 'btn toggle'}
          aria-pressed={t.leftHeavy}
          title="Left-heavy: each frame's callees largest first, instead of by name"
          onClick={() => change({ ...t, leftHeavy: !t.leftHeavy }, zoom.path)}
        >
          Left-heavy
        </button>
        <button type="button" className="btn" onClick={zoom.reset} disabled={zoom.node === 0}>
          Reset zoom
        </button>
      </div>
      <TransformChips
        transform={t}
        graph={graph}
        present={present}
        focusTotal={t.focus ? total : 0}
        onRemoveHide={(rule) => change({ ...t, hide: t.hide.filter((r) => !sameRule(r, rule)) }, zoom.path)}
        onRemoveFocus={() => change({ ...t, focus: null }, [])}
        onRemoveRecursion={() => setRecursion(false)}
        onClearAll={() => change({ ...NO_TRANSFORM, leftHeavy: t.leftHeavy }, [])}
      />
      {t.focus && total === 0 && (
        <p className="muted flame-empty" data-testid="focus-empty">
          {focusName} is not in this profile{graph.total[0] ? '' : ' yet'}: remove the focus to see the whole graph.
        </p>
      )}
      {/* Always there, so zooming never moves the graph under the pointer. */}
      {total > 0 && (
        <div className="flame-crumbs">
          <Breadcrumb layout={layout} node={zoom.node} onZoom={zoom.zoomTo} hint="click a frame to zoom in, right-click for more" />
          <FlameLegend graph={shown} />
        </div>
      )}
      {total > 0 && (
        <FlameChart
          probe="flame"
          layout={layout}
          colors={colors}
          highlight={hl.frames}
          zoomNode={zoom.node}
          onZoom={zoom.zoomTo}
          values={values}
          percentOf={total}
          ariaLabel={`Flame graph: width is share of ${values.what}`}
          onFrameMenu={openMenu}
          menuOpen={menu !== null}
        />
      )}
      {menu && (
        <FrameMenu
          key={`${menu.key}@${menu.at.x},${menu.at.y}`}
          name={menu.name}
          at={menu.at}
          items={menuItems(menu)}
          pattern={{ initial: menu.name, check: checkPattern, onHide: (text) => hide({ pattern: text }) }}
          onClose={closeMenu}
        />
      )}
    </section>
  );
}
