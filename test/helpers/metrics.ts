/**
 * Reading Prometheus text (a gateway's or UI's /metrics, a prom-client Registry's metrics()):
 * a metric's value, summed over the samples whose labels match.
 */

/** Sum of a Prometheus metric's samples whose labels include every `labels` pair. */
export function promValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Label sets (as text) of a metric's non-zero samples, e.g. to list what was dropped and why. */
export function promNonZero(text: string, name: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && Number(l.slice(l.lastIndexOf(' ') + 1)) !== 0)
    .map((l) => l.slice(name.length));
}
