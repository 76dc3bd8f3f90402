import { memo } from 'react';
import { CPU_SERIES_STEP_SECONDS } from '../../api/types.js';
import { formatCores } from '../../api/source-query.js';

const WIDTH = 120;
const HEIGHT = 22;
/**
 * The smallest full scale, in cores. Each line is scaled to its own peak, so its shape shows
 * however busy the source is, but never to less than this: a source using a hundredth of a
 * core draws a flat line near the floor, not the same wall as a busy one.
 */
const MIN_SCALE = 0.1;

/** Cores per bucket (oldest first) as a small area chart, scaled to its peak. */
export const Sparkline = memo(function Sparkline({ series }: { series: readonly number[] }) {
  const n = series.length;
  let peak = 0;
  for (const v of series) peak = Math.max(peak, v);
  const scale = Math.max(peak, MIN_SCALE);
  const pad = 1.5;
  const x = (i: number): number => (n > 1 ? (i / (n - 1)) * WIDTH : WIDTH / 2);
  const y = (v: number): number => HEIGHT - pad - (Math.max(0, v) / scale) * (HEIGHT - 2 * pad);
  const points = series.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`);
  const line = `M${points.join('L')}`;
  const area = `${line}L${WIDTH},${HEIGHT}L0,${HEIGHT}Z`;
  const minutes = (n * CPU_SERIES_STEP_SECONDS) / 60;
  const label = peak > 0 ? `CPU over the last ${minutes} min, peak ${formatCores(peak)}` : `No CPU in the last ${minutes} min`;
  return (
    <svg className={peak > 0 ? 'sparkline' : 'sparkline idle'} width={WIDTH} height={HEIGHT} viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={label}>
      <title>{label}</title>
      {n > 0 && <path className="spark-area" d={area} />}
      {n > 0 && <path className="spark-line" d={line} />}
    </svg>
  );
});
