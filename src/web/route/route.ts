import { useSyncExternalStore } from 'react';
import type { ViewMode } from '../drawer/viewState.js';

/**
 * The view in the URL hash, so a copied link opens the same view (while the slot lives) and
 * back/forward step through it: `#/sources/<key>?type=&mode=&from=&to=&zoom=&q=&fn=&cmp=...`.
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
  /** Diff: on when `cmp` is set; base source (defaults to `key`) and base range. */
  cmp?: { base?: string; baseFrom?: number; baseTo?: number };
}

const MODES: readonly ViewMode[] = ['flame', 'table', 'both', 'sandwich'];

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
