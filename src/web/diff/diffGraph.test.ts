import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diffRows, isSignificant, noiseBand } from './diffGraph.js';

test('sampling noise: two standard errors of the difference of two shares, wide for few samples, narrow for many', () => {
  // A function on half the samples, 354 vs 301 samples (a steady workload's two minutes).
  const band = noiseBand(0.5, 0.5, 354, 301);
  assert.ok(Math.abs(band - 2 * Math.sqrt(0.25 * (1 / 354 + 1 / 301))) < 1e-12);
  assert.ok(band > 0.07 && band < 0.08, `±${(band * 100).toFixed(1)} pp`);
  assert.ok(noiseBand(0.5, 0.5, 35_400, 30_100) < 0.01, 'a hundred times the samples: a tenth of the band');
  assert.equal(noiseBand(0.5, 0.5, 0, 10), Infinity, 'an empty side tells nothing apart');
});

test('a change within the band is not significant; one beyond it is', () => {
  const rows = diffRows(
    [
      { name: 'steady', file: '', binary: '', kind: '', baseSelf: 0, baseTotal: 177, self: 0, total: 158 },
      { name: 'grew', file: '', binary: '', kind: '', baseSelf: 0, baseTotal: 35, self: 0, total: 90 },
    ] as Parameters<typeof diffRows>[0],
    354,
    301,
  );
  const [steady, grew] = rows;
  assert.ok(Math.abs(steady.delta) < 0.03, `${steady.delta}`);
  assert.equal(isSignificant(steady), false, '50 % -> 52.5 % on ~330 samples each is noise');
  assert.equal(isSignificant(grew), true, '10 % -> 30 % is not');
});
