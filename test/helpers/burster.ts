import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The burster of the end-to-end latency test and bench: one long-lived C process (main →
 * pl_latency_burst → pl_latency_inner) that idles until told to burn some milliseconds of CPU
 * time (CPU, not wall time: on a busy machine a wall-time burst may get no CPU at all). Every
 * stack of a burst passes through pl_latency_burst. Needs gcc.
 */

/** Reads a CPU time in ms per line, burns it, answers "done". */
const BURSTER_C = `
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
volatile unsigned long pl_sink;
void pl_latency_inner(void) {
  for (int i = 0; i < 1000; i++) pl_sink += (unsigned long)i * i;
}
static double cpu_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}
void pl_latency_burst(double ms) {
  double end = cpu_ms() + ms;
  while (cpu_ms() < end)
    for (int k = 0; k < 100; k++) pl_latency_inner();
}
int main(void) {
  char line[64];
  while (fgets(line, sizeof line, stdin)) {
    pl_latency_burst(atof(line));
    printf("done\\n");
    fflush(stdout);
  }
  return 0;
}
`;

/** Compiles the burster (with frame pointers) into a temp folder; returns the binary's path. */
export function buildBurster(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pl-latency-'));
  writeFileSync(join(dir, 'burster.c'), BURSTER_C);
  execFileSync('gcc', ['-O0', '-fno-omit-frame-pointer', '-o', join(dir, 'burster'), join(dir, 'burster.c')]);
  return join(dir, 'burster');
}

/** Starts the burster as `service` (OTEL_SERVICE_NAME): `burst(ms)` resolves (with performance.now()) when the burst has ended. */
export function startBurster(bin: string, service: string): { pid: number; burst(ms: number): Promise<number>; stop(): void } {
  const child = spawn(bin, [], { env: { ...process.env, OTEL_SERVICE_NAME: service }, stdio: ['pipe', 'pipe', 'ignore'] });
  let waiting: ((at: number) => void) | undefined;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    for (const _ of d.match(/done\n/g) ?? []) waiting?.(performance.now());
  });
  return {
    pid: child.pid!,
    burst(ms) {
      return new Promise((resolve) => {
        waiting = resolve;
        child.stdin.write(`${ms}\n`);
      });
    },
    stop() {
      child.kill('SIGKILL');
    },
  };
}
