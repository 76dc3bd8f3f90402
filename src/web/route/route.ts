import { useSyncExternalStore } from 'react';
import type { ViewMode } from '../drawer/viewState.js';
import type { FlameTransform, HideRule } from '../../profile/transform.js';

/**
 * The view in the URL hash, so a copied link opens the same view (while the slot lives) and
 * back/forward step through it:
 * `#/sources/<key>?type=&mode=&from=&to=&zoom=&q=&fn=&hide=&focus=&rec=&heavy=&cmp=...`.
 * Everything in it is untrusted text from a link: parsed defensively, never executed.
 */
export interface Route {
  /** The open source, or null (the Sources list). */
  key: string | null;
  /** True when the hash carried view settings (else the tab restores its remembered state). */
  hasView: boolean;
  /** The profile type shown (a ProfileTypeInfo key: cpu, off_cpu, …); absent: the slot's default. */
  type?: string;
  mode?: ViewMode;
  /** Selected time range, ms since epoch (from <= t < to). */
  from?: number;
  to?: number;
  /** Zoom path: frame keys from the root. */
  zoom?: string[];
  q?: string;
  /** The function picked in the table (a frame key): the sandwich's subject. */
  fn?: string;
  /** Flame graph transforms (profile/transform.ts): frames hidden (`hide=`, a JSON list of {frame: key} or {pattern: text}). */
  hide?: HideRule[];
  /** The function the flame graph is rooted at (a frame key). */
  focus?: string;
  /** Direct recursion shown once (`rec=1`). */
  rec?: boolean;
  /** Children largest first (`heavy=1`). */
  heavy?: boolean;
  /** Diff: on when `cmp` is set; base source (defaults to `key`) and base range. */
  cmp?: { base?: string; baseFrom?: number; baseTo?: number };
}

const MODES: readonly ViewMode[] = ['flame', 'table', 'both', 'sandwich'];

/** At most this many hide rules are read from a link. */
const MAX_HIDE = 64;

/** The hide rules of a `hide=` value; anything else in it (a mangled or hostile link) is dropped. */
function hideRules(v: string): HideRule[] | undefined {
  let list: unknown;
  try {
    list = JSON.parse(v);
  } catch {
    return undefined;
  }
  if (!Array.isArray(list)) return undefined;
  const out: HideRule[] = [];
  for (const r of list.slice(0, MAX_HIDE)) {
    if (typeof r !== 'object' || r === null) continue;
    const { frame, pattern } = r as { frame?: unknown; pattern?: unknown };
    if (typeof frame === 'string' && frame !== '' && frame.length <= 4000) out.push({ frame });
    else if (typeof pattern === 'string' && pattern.trim() !== '' && pattern.length <= 1000) out.push({ pattern });
  }
  return out.length > 0 ? out : undefined;
}

function num(v: string | null): number | undefined {
  if (v === null || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

export function parseRoute(hash: string): Route {
  const m = /^#\/sources\/([^?]+)(?:\?(.*))?$/s.exec(hash);
  if (!m) return { key: null, hasView: false };
  let key: string;
  try {
    key = decodeURIComponent(m[1]);
  } catch {
    return { key: null, hasView: false };
  }
  const p = new URLSearchParams(m[2] ?? '');
  const r: Route = { key, hasView: (m[2] ?? '') !== '' };
  const type = p.get('type');
  if (type && type.length <= 1000) r.type = type;
  const mode = p.get('mode');
  if (mode && (MODES as string[]).includes(mode)) r.mode = mode as ViewMode;
  const from = num(p.get('from'));
  const to = num(p.get('to'));
  if (from !== undefined && to !== undefined && to > from) {
    r.from = from;
    r.to = to;
  }
  const zoom = p.get('zoom');
  if (zoom) {
    try {
      const z: unknown = JSON.parse(zoom);
      if (Array.isArray(z) && z.every((s) => typeof s === 'string')) r.zoom = z as string[];
    } catch {
      // A mangled link: no zoom.
    }
  }
  const q = p.get('q');
  if (q) r.q = q;
  const fn = p.get('fn');
  if (fn && fn.length <= 4000) r.fn = fn;
  const hide = p.get('hide');
  if (hide) {
    const rules = hideRules(hide);
    if (rules) r.hide = rules;
  }
  const focus = p.get('focus');
  if (focus && focus.length <= 4000) r.focus = focus;
  if (p.get('rec') === '1') r.rec = true;
  if (p.get('heavy') === '1') r.heavy = true;
  if (p.has('cmp')) {
    const base = p.get('base');
    const bf = num(p.get('bf'));
    const bt = num(p.get('bt'));
    r.cmp = { base: base || undefined, ...(bf !== undefined && bt !== undefined && bt > bf ? { baseFrom: bf, baseTo: bt } : {}) };
  }
  return r;
}

export function formatRoute(r: Route): string {
  if (r.key === null) return '';
  const p = new URLSearchParams();
  if (r.type) p.set('type', r.type);
  if (r.mode) p.set('mode', r.mode);
  if (r.from !== undefined && r.to !== undefined) {
    p.set('from', String(r.from));
    p.set('to', String(r.to));
  }
  if (r.zoom && r.zoom.length > 0) p.set('zoom', JSON.stringify(r.zoom));
  if (r.q) p.set('q', r.q);
  if (r.fn) p.set('fn', r.fn);
  if (r.hide && r.hide.length > 0) p.set('hide', JSON.stringify(r.hide.map((h) => ('frame' in h ? { frame: h.frame } : { pattern: h.pattern }))));
  if (r.focus) p.set('focus', r.focus);
  if (r.rec) p.set('rec', '1');
  if (r.heavy) p.set('heavy', '1');
  if (r.cmp) {
    p.set('cmp', '1');
    if (r.cmp.base) p.set('base', r.cmp.base);
    if (r.cmp.baseFrom !== undefined && r.cmp.baseTo !== undefined) {
      p.set('bf', String(r.cmp.baseFrom));
      p.set('bt', String(r.cmp.baseTo));
    }
  }
  const qs = p.toString();
  return `#/sources/${encodeURIComponent(r.key)}${qs ? `?${qs}` : ''}`;
}

const NO_HIDE: HideRule[] = [];

/** The flame graph transforms a route asks for (the same `hide` list while the URL has the same one). */
export function flameTransformOf(r: Route): FlameTransform {
  return { hide: r.hide ?? NO_HIDE, focus: r.focus ?? null, collapseRecursion: r.rec === true, leftHeavy: r.heavy === true };
}

/** The route fields of flame graph transforms (unset when off, so a plain view has a plain link). */
export function flameTransformFields(t: FlameTransform): Pick<Route, 'hide' | 'focus' | 'rec' | 'heavy'> {
  return {
    hide: t.hide.length > 0 ? [...t.hide] : undefined,
    focus: t.focus ?? undefined,
    rec: t.collapseRecursion || undefined,
    heavy: t.leftHeavy || undefined,
  };
}

const listeners = new Set<() => void>();
let cachedHash = '';
let cached: Route = { key: null, hasView: false };

function current(): Route {
  const h = window.location.hash;
  if (h !== cachedHash) {
    cached = parseRoute(h);
    cachedHash = h;
  }
  return cached;
}

function subscribe(fn: () => void): () => void {
  listeners.add(fn);
  if (listeners.size === 1) {
    window.addEventListener('popstate', emit);
    window.addEventListener('hashchange', emit);
  }
  return () => {
    listeners.delete(fn);
    if (listeners.size === 0) {
      window.removeEventListener('popstate', emit);
      window.removeEventListener('hashchange', emit);
    }
  };
}

function emit(): void {
  for (const fn of listeners) fn();
}

/** The route in the URL, re-rendering on navigation, back and forward. */
export function useRoute(): Route {
  return useSyncExternalStore(subscribe, current);
}

/**
 * Goes to a view: `push` makes a history entry (range, zoom, mode, diff: steps worth going
 * back to), else the current entry is replaced (typing in the search box).
 */
export function navigate(r: Route, push: boolean): void {
  const hash = formatRoute(r);
  const url = window.location.pathname + window.location.search + hash;
  if (hash === window.location.hash) return;
  if (push) window.history.pushState(null, '', url);
  else window.history.replaceState(null, '', url);
  emit();
}

/** Leaves the source view without a history entry (back after closing should not reopen it). */
export function closeRoute(): void {
  window.history.replaceState(null, '', window.location.pathname + window.location.search);
  emit();
}
