/**
 * Label fitting. Labels use a monospace font, so a string's width is its length times one
 * measured character width: the text-width cache is a single number per font, and fitting a
 * label is arithmetic instead of a measureText call per frame per redraw.
 */
export function fitLabel(text: string, widthPx: number, charWidth: number): string {
  if (charWidth <= 0) return '';
  const fit = Math.floor(widthPx / charWidth);
  if (fit >= text.length) return text;
  if (fit < 3) return '';
  // Cut from the middle so the function's own name stays: `v8::internal::Hea…::Scavenge`.
  const own = ownNameStart(text);
  if (own > 0) {
    const tail = text.length - own;
    if (tail + 2 <= fit) return text.slice(0, fit - 1 - tail) + '…' + text.slice(own);
    return text.slice(own, own + fit - 1) + '…';
  }
  return text.slice(0, fit - 1) + '…';
}

/**
 * Where a name's own part starts, 0 when it is all its own: after the last `::`, `.` or `/`
 * before any argument list (namespaces, classes, packages, paths), or at `+0x…` of an unnamed
 * frame's `binary+0xoffset`.
 */
export function ownNameStart(name: string): number {
  const hex = /\+0x[0-9a-f]+$/.exec(name);
  if (hex) return hex.index;
  const paren = name.indexOf('(');
  const head = paren > 0 ? name.slice(0, paren) : name;
  const at = Math.max(head.lastIndexOf('::') + 2, head.lastIndexOf('.') + 1, head.lastIndexOf('/') + 1);
  return at > 1 && at < name.length ? at : 0;
}

const charWidths = new Map<string, number>();

/** One measurement per font, cached for the life of the page. */
export function charWidthOf(ctx: { font: string; measureText(t: string): { width: number } }, font: string): number {
  let w = charWidths.get(font);
  if (w === undefined) {
    const saved = ctx.font;
    ctx.font = font;
    w = ctx.measureText('M'.repeat(32)).width / 32;
    ctx.font = saved;
    charWidths.set(font, w);
  }
  return w;
}

/** Percent with a precision that still tells small shares apart. */
export function formatPercent(fraction: number): string {
  const p = fraction * 100;
  if (p === 0) return '0%';
  if (p < 0.01) return '<0.01%';
  if (p < 10) return `${p.toFixed(2)}%`;
  return `${p.toFixed(1)}%`;
}

/** CPU time from nanoseconds: 12.3 s, 450 ms, 80 µs. */
export function formatNanos(ns: number): string {
  const abs = Math.abs(ns);
  if (abs >= 3600e9) return `${(ns / 3600e9).toFixed(2)} h`;
  if (abs >= 60e9) return `${(ns / 60e9).toFixed(1)} min`;
  if (abs >= 1e9) return `${(ns / 1e9).toFixed(abs >= 10e9 ? 1 : 2)} s`;
  if (abs >= 1e6) return `${(ns / 1e6).toFixed(abs >= 10e6 ? 0 : 1)} ms`;
  if (abs >= 1e3) return `${(ns / 1e3).toFixed(0)} µs`;
  return `${ns.toFixed(0)} ns`;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** "3 s ago", "2 min ago"; null when never. */
export function formatAgo(thenMs: number | null, nowMs: number): string {
  if (thenMs === null) return 'never';
  const s = Math.max(0, Math.round((nowMs - thenMs) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}
