import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The demo sources: `demo/` at the package root, whether we run from src/up or dist/up. */
export const DEMO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'demo');

/**
 * Node flags that give every JS function its own named frame: a perf map for the JIT code,
 * interpreted frames on the native stack, and no inlining into callers (an inlined function
 * has no frame of its own).
 * `--perf-basic-prof` also turns on V8's own log, which by default is an isolate-*-v8.log in the
 * working directory (the folder `pilotlight up --demo` runs from): `--logfile=+` makes it an
 * unnamed temporary file, gone with the process, and `--no-logfile-per-isolate` keeps V8 from
 * putting the isolate's name in front of that `+`, which would make it a file again.
 */
export const NODE_PERF_FLAGS = ['--perf-basic-prof', '--interpreted-frames-native-stack', '--no-turbo-inlining', '--no-logfile-per-isolate', '--logfile=+'];

export interface DemoSpec {
  /** `service.name`, so the workload key is `host/Service/<service>`. */
  service: string;
  language: 'Node.js' | 'C';
  /** The function with the most self samples, for the README and the end-to-end test. */
  hotFunction: string;
}

export const DEMOS: readonly DemoSpec[] = [
  { service: 'demo-shop', language: 'Node.js', hotFunction: 'checkoutApplyDiscounts' },
  { service: 'demo-imaging', language: 'C', hotFunction: 'imaging_blur_rows' },
];

export function demoKey(d: DemoSpec): string {
  return `host/Service/${d.service}`;
}

export interface RunningDemo extends DemoSpec {
  key: string;
  pid: number;
}

const STOP_GRACE_MS = 3000;

/**
 * The two demo workloads of `pilotlight up --demo`. Each child knows our pid
 * (PILOTLIGHT_PARENT_PID) and exits when we are gone, so even a SIGKILLed `up` leaves none
 * behind; stop() ends them and removes the compiled binary.
 */
export class DemoWorkloads {
  private readonly children: ChildProcess[] = [];
  private buildDir: string | undefined;

  /** Compiles the C demo (gcc, frame pointers kept) and starts both; the C one is skipped without gcc. */
  async start(onSkip: (why: string) => void): Promise<RunningDemo[]> {
    const env = { ...process.env, PILOTLIGHT_PARENT_PID: String(process.pid) };
    const started: RunningDemo[] = [];
    const [shop, imaging] = DEMOS;

    const shopJs = join(DEMO_DIR, 'shop.js');
    if (existsSync(shopJs)) {
      const child = this.spawn(process.execPath, [...NODE_PERF_FLAGS, shopJs], { ...env, OTEL_SERVICE_NAME: shop.service });
      started.push({ ...shop, key: demoKey(shop), pid: child.pid! });
    } else {
      onSkip(`${shop.service} not started: ${shopJs} is missing`);
    }

    const binary = await this.compileImaging().catch((err: unknown) => {
      onSkip(`${imaging.service} not started: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    });
    if (binary) {
      const child = this.spawn(binary, [], { ...env, OTEL_SERVICE_NAME: imaging.service });
      started.push({ ...imaging, key: demoKey(imaging), pid: child.pid! });
    }
    return started;
  }

  /** SIGTERM, then SIGKILL after a grace period; resolves when every child has exited. */
  async stop(): Promise<void> {
    await Promise.all(this.children.map((c) => stopChild(c, STOP_GRACE_MS)));
    this.cleanup();
  }

  /** For process exit paths that cannot wait. */
  killNow(): void {
    for (const c of this.children) if (running(c)) c.kill('SIGKILL');
    this.cleanup();
  }

  private spawn(cmd: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
    // Own process group: a Ctrl-C in the terminal reaches `up`, which stops the demos in order.
    const child = spawn(cmd, args, { env, stdio: 'ignore', detached: true });
    if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
    child.on('error', () => undefined);
    this.children.push(child);
    return child;
  }

  private async compileImaging(): Promise<string> {
    const source = join(DEMO_DIR, 'imaging.c');
    if (!existsSync(source)) throw new Error(`${source} is missing`);
    this.buildDir = mkdtempSync(join(tmpdir(), 'pilotlight-demo-'));
    const out = join(this.buildDir, 'demo-imaging');
    try {
      // -O0: at -O1 gcc leaves leaf functions frameless and the frame-pointer walk loses their caller.
      await promisify(execFile)('gcc', ['-O0', '-fno-omit-frame-pointer', '-o', out, source]);
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === 'ENOENT') throw new Error('gcc is not installed (Debian/Ubuntu: apt-get install gcc)', { cause: err });
      throw new Error(`gcc failed: ${(e.stderr ?? e.message).trim().split('\n')[0]}`, { cause: err });
    }
    return out;
  }

  private cleanup(): void {
    for (const c of this.children) {
      // Node leaves its perf map behind (always in /tmp); it is ours to remove once the demo has exited.
      if (!running(c) && c.pid !== undefined) rmSync(`/tmp/perf-${c.pid}.map`, { force: true });
    }
    if (this.buildDir) rmSync(this.buildDir, { recursive: true, force: true });
    this.buildDir = undefined;
  }
}

function running(c: ChildProcess): boolean {
  return c.exitCode === null && c.signalCode === null;
}

function stopChild(c: ChildProcess, graceMs: number): Promise<void> {
  if (!running(c)) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => c.kill('SIGKILL'), graceMs);
    c.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    c.kill('SIGTERM');
  });
}
