import type { SymbolRow } from '../../profile/symbols.js';
import { searchFilter } from '../../profile/focus.js';

export type SortKey = 'name' | 'self' | 'total';
export type SortDir = 'asc' | 'desc';

/**
 * Sorted copy of the rows; ties fall back to name so the order is stable between updates.
 *
 * A live table is sorted again on every update, tens of thousands of rows, and a comparator
 * comparing names would be most of an update's time. Rows are ordered by whole numbers instead:
 * each name's place among the names seen so far (NameOrder, carried over from update to
 * update), then the value, each by a stable radix sort (linear, no comparator calls); values
 * that are not whole numbers fall back to a comparator on numbers.
 */
export function sortRows(rows: readonly SymbolRow[], key: SortKey, dir: SortDir): SymbolRow[] {
  return runSteps(sortSteps(rows, key, dir));
}

/**
 * The same order by comparing rows pairwise, names as strings: how tables were sorted before
 * (kept for the `json` debugging format, the benchmark's baseline, and as the reference the
 * tests hold sortRows to).
 */
export function sortRowsByComparator(rows: readonly SymbolRow[], key: SortKey, dir: SortDir): SymbolRow[] {
  const sign = dir === 'asc' ? 1 : -1;
  const byName = (a: SymbolRow, b: SymbolRow): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const cmp =
    key === 'name'
      ? (a: SymbolRow, b: SymbolRow) => sign * byName(a, b) || a.binary.localeCompare(b.binary)
      : (a: SymbolRow, b: SymbolRow) => sign * (a[key] - b[key]) || byName(a, b);
  return [...rows].sort(cmp);
}

/** sortRows in slices, `pause` awaited between them: a live update's re-sort of a large table without a long task. */
export function sortRowsAsync(rows: readonly SymbolRow[], key: SortKey, dir: SortDir, pause: () => Promise<void>): Promise<SymbolRow[]> {
  return runStepsAsync(sortSteps(rows, key, dir), pause);
}

/** Rows handled per slice (looking names up, building the output). */
const ROWS_PER_STEP = 20_000;

function* sortSteps(rows: readonly SymbolRow[], key: SortKey, dir: SortDir): Generator<void, SymbolRow[]> {
  const sign = dir === 'asc' ? 1 : -1;
  const n = rows.length;
  const { rank, limit } = yield* names.rankSteps(rows);
  // Rows in name order (equal names: in input order), as row indexes.
  const nameKeys = new Float64Array(n);
  for (let i = 0; i < n; i++) nameKeys[i] = key === 'name' && sign < 0 ? limit - rank[i] : rank[i];
  const byName = radixOrder(nameKeys, limit);
  yield;
  let order: ArrayLike<number>;
  if (key === 'name') {
    // Equal names (one function in two binaries): by binary, keeping the input order otherwise.
    const out = Array.from(byName);
    for (let i = 0; i < n;) {
      let j = i + 1;
      while (j < n && rank[out[j]] === rank[out[i]]) j++;
      if (j - i > 1) {
        const group = out.slice(i, j).sort((a, b) => rows[a].binary.localeCompare(rows[b].binary) || a - b);
        for (let k = i; k < j; k++) out[k] = group[k - i];
      }
      i = j;
    }
    order = out;
  } else {
    // Stable by value over the name order: ties stay in name order.
    const v = new Float64Array(n);
    let lo = Infinity;
    let hi = -Infinity;
    let whole = true;
    for (let i = 0; i < n; i++) {
      const x = rows[i][key];
      v[i] = x;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
      if (!Number.isInteger(x)) whole = false;
    }
    if (whole && hi - lo <= Number.MAX_SAFE_INTEGER) {
      const keys = new Float64Array(n);
      for (let p = 0; p < n; p++) keys[p] = sign > 0 ? v[byName[p]] - lo : hi - v[byName[p]];
      const byValue = radixOrder(keys, hi - lo);
      const out = new Int32Array(n);
      for (let p = 0; p < n; p++) out[p] = byName[byValue[p]];
      order = out;
    } else {
      const at = new Float64Array(n);
      for (let p = 0; p < n; p++) at[byName[p]] = p;
      order = comparatorOrder(n, (a, b) => sign * (v[a] - v[b]) || at[a] - at[b]);
    }
  }
  yield;
  const out = new Array<SymbolRow>(n);
  for (let i = 0; i < n; i++) {
    if (i > 0 && i % ROWS_PER_STEP === 0) yield;
    out[i] = rows[order[i]];
  }
  return out;
}

function runSteps<T>(steps: Generator<void, T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

async function runStepsAsync<T>(steps: Generator<void, T>, pause: () => Promise<void>): Promise<T> {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    await pause();
  }
}

/** Bits of a key per radix pass: 2048 buckets. */
const RADIX_BITS = 11;
const RADIX = 1 << RADIX_BITS;

/**
 * Indexes 0..n-1 ordered by `keys` (whole numbers, 0 ≤ key ≤ maxKey ≤ 2^53), ties by index:
 * a least-significant-digit radix sort, 11 bits a pass, as many passes as maxKey needs (one to
 * three for a table's counts; five at most). Each pass is stable, so the whole is.
 */
export function radixOrder(keys: Float64Array, maxKey: number): Int32Array {
  const n = keys.length;
  let order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let spare = new Int32Array(n);
  // Keys split into 32-bit halves, so every digit is an integer shift and mask.
  const low = new Uint32Array(n);
  const high = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    low[i] = keys[i] % 4294967296;
    high[i] = Math.floor(keys[i] / 4294967296);
  }
  const count = new Int32Array(RADIX);
  const maxHigh = Math.floor(maxKey / 4294967296);
  for (const [half, top] of [
    [low, maxHigh > 0 ? 4294967295 : maxKey],
    [high, maxHigh],
  ] as const) {
    for (let shift = 0; shift < 32 && top >= 2 ** shift && top > 0; shift += RADIX_BITS) {
      count.fill(0);
      for (let i = 0; i < n; i++) count[(half[i] >>> shift) & (RADIX - 1)]++;
      for (let d = 0, sum = 0; d < RADIX; d++) {
        const c = count[d];
        count[d] = sum;
        sum += c;
      }
      for (let i = 0; i < n; i++) {
        const row = order[i];
        spare[count[(half[row] >>> shift) & (RADIX - 1)]++] = row;
      }
      [order, spare] = [spare, order];
    }
  }
  return order;
}

function comparatorOrder(n: number, cmp: (a: number, b: number) => number): number[] {
  const order = new Array<number>(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return order.sort((a, b) => cmp(a, b) || a - b);
}

/**
 * Every name seen, in order, each with a whole number that sorts as the names do (`<`, as
 * strings compare). Numbers are spaced GAP apart, so names new since the last call (a live
 * update brings a few) are sorted on their own and slotted in between their neighbours' numbers
 * without renumbering the rest; only a gap used up, or a list grown far past the rows at hand,
 * numbers every name afresh.
 */
export class NameOrder {
  private sorted: string[] = [];
  private rank = new Map<string, number>();
  /** Counts renumberings: numbers from before one are stale. */
  private generation = 0;

  /** Per row, its name's number. */
  ranks(rows: readonly SymbolRow[]): Float64Array {
    return runSteps(this.rankSteps(rows)).rank;
  }

  /**
   * `ranks` and the bound on them (`limit` then), yielding between slices of rows. Numbers
   * looked up before another caller renumbered the names are looked up again.
   */
  *rankSteps(rows: readonly SymbolRow[]): Generator<void, { rank: Float64Array; limit: number }> {
    const out = new Float64Array(rows.length);
    const generation = this.generation;
    const missing: number[] = [];
    for (let i = 0; i < rows.length; i++) {
      if (i > 0 && i % ROWS_PER_STEP === 0) yield;
      const r = this.rank.get(rows[i].name);
      if (r === undefined) missing.push(i);
      else out[i] = r;
    }
    if (missing.length > 0) {
      const fresh = [...new Set(missing.map((i) => rows[i].name))].filter((name) => !this.rank.has(name)).sort(byString);
      if (this.sorted.length > 4 * rows.length + 50_000) this.renumber([...new Set(rows.map((r) => r.name))].sort(byString));
      else this.merge(fresh);
    }
    if (generation !== this.generation) {
      // Renumbered (here or by another caller meanwhile): every number again.
      const again = this.generation;
      for (let i = 0; i < rows.length; i++) {
        if (i > 0 && i % ROWS_PER_STEP === 0) yield;
        out[i] = this.rank.get(rows[i].name)!;
      }
      // Renumbered once more while this yielded: then all of it without yielding.
      if (again !== this.generation) for (let i = 0; i < rows.length; i++) out[i] = this.rank.get(rows[i].name)!;
    } else {
      for (const i of missing) out[i] = this.rank.get(rows[i].name)!;
    }
    return { rank: out, limit: this.limit };
  }

  /** Every number is below this. */
  get limit(): number {
    return (this.sorted.length + 1) * GAP;
  }

  /**
   * Merges sorted new names in, each numbered between its neighbours: a binary search per new
   * name, then one copy of the list (no string comparisons across the names already placed).
   */
  private merge(fresh: string[]): void {
    const old = this.sorted;
    const all = new Array<string>(old.length + fresh.length);
    let fits = true;
    let o = 0;
    let k = 0;
    for (let j = 0; j < fresh.length;) {
      const at = lowerBound(old, fresh[j], o);
      while (o < at) all[k++] = old[o++];
      // The new names that go before the same old one share the gap below it.
      let run = j + 1;
      while (run < fresh.length && (at === old.length || fresh[run] < old[at])) run++;
      const prev = o > 0 ? this.rank.get(old[o - 1])! : -1;
      const next = o < old.length ? this.rank.get(old[o])! : prev + 1 + (run - j + 1) * GAP;
      const step = Math.floor((next - prev) / (run - j + 1));
      if (step < 1) fits = false;
      for (let r = j; r < run; r++) {
        this.rank.set(fresh[r], prev + (r - j + 1) * Math.max(1, step));
        all[k++] = fresh[r];
      }
      j = run;
    }
    while (o < old.length) all[k++] = old[o++];
    this.sorted = all;
    if (!fits || this.rank.get(all[all.length - 1])! >= this.limit) this.renumber(all);
  }

  private renumber(sorted: string[]): void {
    this.generation++;
    this.sorted = sorted;
    this.rank = new Map();
    for (let i = 0; i < sorted.length; i++) this.rank.set(sorted[i], i * GAP);
  }
}

/** Room between two names' numbers for names that come later. */
const GAP = 1024;

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The first index at or after `from` whose name is not below `name`. */
function lowerBound(sorted: readonly string[], name: string, from: number): number {
  let lo = from;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < name) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The name order every table sorts by (names are shared across tables and updates). */
const names = new NameOrder();

/** Rows whose name, file or binary matches the filter (the flame search's syntax: focus.ts). */
export function filterRows(rows: readonly SymbolRow[], query: string): readonly SymbolRow[] {
  const pred = searchFilter(query);
  if (!pred) return rows;
  return rows.filter((r) => pred(r.name) || pred(r.file) || pred(r.binary));
}

/** The same identity the flame graph uses for a frame (name, file, binary, kind). */
export function rowKey(r: SymbolRow): string {
  return `${r.name}\0${r.file}\0${r.binary}\0${r.kind}`;
}
