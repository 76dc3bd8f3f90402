/**
 * Frame colours: the frame type picks a hue family (kernel red, native orange, JS green, …),
 * a hash of the name picks one of a few shades in it. The same name always gets the same
 * colour, across live updates and across sources, and the small palette keeps the canvas
 * batches few: one fillStyle per palette entry, not per frame.
 */

export const SHADES = 8;

interface Family {
  hue: number;
  hueSpread: number;
  sat: number;
  light: number;
}

/** Hue families by `profile.frame.type`; unknown types share the native family. */
const FAMILIES: Record<string, Family> = {
  kernel: { hue: 348, hueSpread: 12, sat: 62, light: 62 },
  native: { hue: 30, hueSpread: 36, sat: 82, light: 60 },
  v8js: { hue: 105, hueSpread: 30, sat: 48, light: 55 },
  cpython: { hue: 205, hueSpread: 22, sat: 60, light: 62 },
  jvm: { hue: 170, hueSpread: 20, sat: 45, light: 52 },
  go: { hue: 188, hueSpread: 14, sat: 60, light: 55 },
  dotnet: { hue: 265, hueSpread: 20, sat: 45, light: 65 },
  ruby: { hue: 335, hueSpread: 14, sat: 55, light: 62 },
  php: { hue: 240, hueSpread: 16, sat: 40, light: 68 },
  perl: { hue: 290, hueSpread: 16, sat: 40, light: 65 },
  beam: { hue: 315, hueSpread: 16, sat: 45, light: 62 },
};

export const KINDS = Object.keys(FAMILIES);

const FAMILY_INDEX = new Map(KINDS.map((k, i) => [k, i]));
const NATIVE = FAMILY_INDEX.get('native')!;

/** The palette: SHADES entries per family, then the dimmed greys, then the root colour. */
export const PALETTE: string[] = [];
for (const k of KINDS) {
  const f = FAMILIES[k];
  for (let s = 0; s < SHADES; s++) {
    const t = s / (SHADES - 1);
    const hue = f.hue + (t - 0.5) * f.hueSpread;
    // Shades alternate light and dark so neighbouring hues also differ in lightness.
    const light = f.light + (s % 2 === 0 ? 7 : -7) + (0.5 - t) * 4;
    PALETTE.push(`hsl(${hue.toFixed(1)} ${f.sat}% ${light.toFixed(1)}%)`);
  }
}
/** Non-matching frames while a search or a selection is active. */
export const DIM_BASE = PALETTE.length;
for (let s = 0; s < SHADES; s++) PALETTE.push(`hsl(0 0% ${(84 + (s % 4) * 2).toFixed(0)}%)`);
export const ROOT_COLOR = PALETTE.length;
PALETTE.push('hsl(220 12% 72%)');

/**
 * A diff's colours: DIFF_STEPS shades of blue (shrank), a grey (unchanged), DIFF_STEPS shades
 * of red (grew), saturation rising with the size of the change.
 */
export const DIFF_STEPS = 8;
export const DIFF_BASE = PALETTE.length;
for (let k = -DIFF_STEPS; k <= DIFF_STEPS; k++) {
  const t = Math.abs(k) / DIFF_STEPS;
  if (k === 0) PALETTE.push('hsl(220 8% 80%)');
  else PALETTE.push(`hsl(${k > 0 ? 2 : 216} ${(18 + 67 * t).toFixed(0)}% ${(80 - 24 * t).toFixed(1)}%)`);
}

/**
 * Palette index for a change in share: `delta` (a fraction, target − base) against `scale`
 * (the change that gets full colour). Below `still` the frame counts as unchanged.
 */
export function diffColorIndex(delta: number, scale: number, still = 0.0005): number {
  if (!(Math.abs(delta) >= still) || scale <= 0) return DIFF_BASE + DIFF_STEPS;
  const k = Math.max(1, Math.min(DIFF_STEPS, Math.round((Math.abs(delta) / scale) * DIFF_STEPS)));
  return DIFF_BASE + DIFF_STEPS + (delta > 0 ? k : -k);
}

/** FNV-1a: fast, stable, and spreads similar names (`parse`, `parse2`) apart. */
export function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function familyOf(kind: string): number {
  return FAMILY_INDEX.get(kind.toLowerCase()) ?? NATIVE;
}

/** Palette index for a frame. */
export function colorIndex(name: string, kind: string): number {
  return familyOf(kind) * SHADES + (hashName(name) % SHADES);
}

/** The dimmed counterpart of a palette index (keeps a little shade variation to tell frames apart). */
export function dimIndex(color: number): number {
  return DIM_BASE + (color % SHADES);
}

/** The last frameColors call: a live update's frames are the previous ones plus a few. */
let lastColors: { names: readonly string[]; kinds: readonly string[]; out: Uint16Array } | null = null;

/**
 * Palette index per frame id, computed once per flame graph. Frames that the previous call's
 * frames also had at the same index (the same name and kind strings: a live update continues
 * the frames table) keep the colour computed then; only new frames are hashed.
 */
export function frameColors(names: readonly string[], kinds: readonly string[]): Uint16Array {
  const out = new Uint16Array(names.length);
  let from = 0;
  const last = lastColors;
  if (last) {
    const n = Math.min(names.length, last.names.length);
    while (from < n && names[from] === last.names[from] && (kinds[from] ?? '') === (last.kinds[from] ?? '')) from++;
    out.set(last.out.subarray(0, from));
  }
  for (let f = from; f < names.length; f++) out[f] = colorIndex(names[f], kinds[f] ?? '');
  lastColors = { names, kinds, out };
  return out;
}

/** A CSS colour for a frame type, for legends. */
export function kindSwatch(kind: string): string {
  return PALETTE[familyOf(kind) * SHADES + SHADES / 2];
}

/** How the legend names each frame type's colour family. */
const KIND_LABELS: Record<string, string> = {
  kernel: 'kernel',
  native: 'native',
  v8js: 'JS (v8js)',
  cpython: 'Python',
  jvm: 'JVM',
  go: 'Go',
  dotnet: '.NET',
  ruby: 'Ruby',
  php: 'PHP',
  perl: 'Perl',
  beam: 'BEAM',
};

export interface LegendEntry {
  /** The family's frame type (`profile.frame.type`). */
  kind: string;
  label: string;
  /** The family's shades, exactly the palette entries the renderer fills its frames with. */
  shades: string[];
}

/**
 * The colour families of some frame types, in palette order, one entry each: what a legend
 * beside a graph lists. A type without a family of its own (or none, '') is drawn in the
 * native family and listed as native.
 */
export function legendEntries(kinds: Iterable<string>): LegendEntry[] {
  const seen = new Set<number>();
  for (const k of kinds) seen.add(familyOf(k));
  return KINDS.flatMap((kind, fam) =>
    seen.has(fam) ? [{ kind, label: KIND_LABELS[kind] ?? kind, shades: PALETTE.slice(fam * SHADES, (fam + 1) * SHADES) }] : [],
  );
}
