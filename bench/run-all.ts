import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * `npm run bench [-- FILTER...]`: runs every `bench/*.bench.ts` in turn through its exported
 * `main()`, one header each. A FILTER keeps the benchmarks whose file name contains it. A
 * benchmark that throws is reported and the rest still run; the exit code says one failed.
 * Benchmarks print figures and never fail on time.
 */
const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const all = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .sort();
const selected = filters.length === 0 ? all : all.filter((f) => filters.some((x) => f.includes(x)));

if (selected.length === 0) {
  console.error(`no benchmark matches ${filters.map((f) => JSON.stringify(f)).join(', ')} (have: ${all.join(', ') || 'none'})`);
  process.exit(2);
}

const failed: string[] = [];
for (const file of selected) {
  const name = file.replace(/\.bench\.ts$/, '');
  console.log(`\n=== ${name} ${'='.repeat(Math.max(3, 70 - name.length))}`);
  const started = performance.now();
  try {
    const mod = (await import(pathToFileURL(join(here, file)).href)) as { main?: () => unknown };
    if (typeof mod.main !== 'function') throw new Error(`${file} exports no main()`);
    await mod.main();
    console.log(`--- ${name}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    failed.push(name);
    console.error(`--- ${name}: FAILED after ${((performance.now() - started) / 1000).toFixed(1)} s`);
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  }
}

console.log(`\n${selected.length - failed.length}/${selected.length} benchmarks ran${failed.length ? `; failed: ${failed.join(', ')}` : ''}`);
if (failed.length > 0) process.exitCode = 1;
