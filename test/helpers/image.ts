import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { effectiveCaps, findExecutable } from '../../src/node/preflight.js';

/**
 * Building the Dockerfile and running what it makes, with Debian's buildah (no daemon, no
 * registry): the image test's plumbing. Everything it keeps between runs lives under
 * IMAGE_DIR: buildah's image store (the base images scripts/image-bases.sh makes, the build's
 * cached layers), the Go build cache and the .debs apt fetched inside the build.
 */

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const IMAGE_DIR = process.env.PILOTLIGHT_IMAGE_DIR ?? '/var/cache/pilotlight/image';
/** buildah's global options: this test's own image store, apart from the machine's. */
export const STORAGE = ['--root', join(IMAGE_DIR, 'storage'), '--runroot', '/run/pilotlight-image'];

/** The Go the Go base image is made from (as scripts/peers.sh and scripts/image-bases.sh pick it). */
export const GO = findExecutable('/usr/local/go/bin/go') ?? findExecutable('go');

/** Why the image cannot be built and run here, or undefined when it can. */
export function imageTestUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'the image test builds a Linux image with buildah: Linux only';
  if (process.getuid?.() !== 0) return 'the image test needs root (buildah builds and runs the image as root; the node sampler in it needs root)';
  for (const tool of ['buildah', 'mmdebstrap']) {
    if (!findExecutable(tool)) return `${tool} is not installed (npm run setup installs it as root: apt-get install buildah mmdebstrap)`;
  }
  if (!GO) return 'no Go toolchain to make the Go base image from (the Dockerfile builds the eBPF profiler with Go >= 1.25)';
  const version = spawnSync(GO, ['env', 'GOVERSION'], { encoding: 'utf8' }).stdout.trim();
  const minor = /^go1\.(\d+)/.exec(version);
  if (!minor || Number(minor[1]) < 25) return `${GO} is ${version || 'unknown'}: the Dockerfile's Go stage needs Go >= 1.25 to build the eBPF profiler`;
  return undefined;
}

/** The output of `go env NAME` / `npm config get NAME`: where the machine keeps its caches. */
export function hostSetting(cmd: string, args: string[]): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  const value = r.status === 0 ? r.stdout.trim() : '';
  return value.startsWith('/') ? value : undefined;
}

/**
 * Runs a command to its end, its output appended to `log`; resolves with its stdout, rejects
 * with the last lines of its output when it fails.
 */
export function run(cmd: string, args: string[], log: string, env: Record<string, string> = {}): Promise<string> {
  mkdirSync(dirname(log), { recursive: true });
  appendFileSync(log, `\n$ ${cmd} ${args.join(' ')}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    const tail: string[] = [];
    const keep = (chunk: Buffer): void => {
      appendFileSync(log, chunk);
      tail.push(
        ...chunk
          .toString()
          .split('\n')
          .filter((l) => l.trim() !== ''),
      );
      tail.splice(0, Math.max(0, tail.length - 25));
    };
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      keep(c);
    });
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${cmd} ${args.slice(0, 6).join(' ')}… exited with ${signal ?? code} (whole output in ${log}); last lines:\n${tail.join('\n')}`));
    });
  });
}

/** Linux capability names by number (capability.h), for `buildah run --cap-add`. */
const CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/**
 * What a privileged container gets, bounded by what this process holds: every capability it
 * has (asking for one it lacks, e.g. CAP_SYS_RESOURCE on some machines, fails the run).
 */
export function privilegedCaps(): string[] {
  const caps = effectiveCaps('/proc');
  return CAPABILITIES.filter((_, i) => ((caps >> BigInt(i)) & 1n) === 1n);
}

export interface RunOptions {
  /** The user to run as; default the image's USER. */
  user?: string;
  /** Capabilities to add (the run's default set is buildah's, without SYS_ADMIN, BPF, PERFMON). */
  caps?: string[];
}

/**
 * A process of the image: a working container made from it (`buildah from`), the command run
 * in it with chroot isolation, the host's network and PID namespace (what `--network host
 * --pid host` give a container). Its output is kept line by line; stop() ends it (SIGTERM to
 * its process group, SIGKILL after a grace period) and removes the working container.
 */
export class ImageProcess {
  readonly lines: string[] = [];
  private child: ChildProcess | undefined;
  private exit: Promise<number | string> | undefined;
  private container: string | undefined;

  constructor(
    private readonly image: string,
    private readonly args: string[],
    private readonly options: RunOptions = {},
  ) {}

  async start(log: string): Promise<void> {
    this.container = (await run('buildah', [...STORAGE, 'from', '--pull=never', '--quiet', this.image], log)).trim().split('\n').pop();
    if (!this.container) throw new Error(`buildah from ${this.image} named no container`);
    const flags = ['--isolation', 'chroot', '--network', 'host'];
    if (this.options.user !== undefined) flags.push('--user', this.options.user);
    for (const cap of this.options.caps ?? []) flags.push('--cap-add', cap);
    appendFileSync(log, `\n$ buildah run ${flags.join(' ')} ${this.container} -- ${this.args.join(' ')}\n`);
    const child = spawn('buildah', [...STORAGE, 'run', ...flags, this.container, '--', ...this.args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let partial = '';
    const onData = (chunk: Buffer): void => {
      appendFileSync(log, chunk);
      const text = partial + chunk.toString();
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      this.lines.push(...parts);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    this.exit = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        if (partial) this.lines.push(partial);
        resolve(signal ?? code ?? -1);
      });
      child.on('error', (err) => resolve(err.message));
    });
  }

  get exited(): boolean {
    return this.child !== undefined && (this.child.exitCode !== null || this.child.signalCode !== null);
  }

  /** Resolves with the exit status once the process has ended. */
  async ended(): Promise<number | string> {
    if (!this.exit) throw new Error('not started');
    return this.exit;
  }

  /** The first line matching `re`; rejects when the process ends first or `timeoutMs` passes. */
  async waitFor(re: RegExp, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.lines.find((l) => re.test(l));
      if (line !== undefined) return line;
      if (this.exited) throw new Error(`${this.args.join(' ')} ended (${String(await this.ended())}) without printing ${re}; its output:\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`${this.args.join(' ')} printed no ${re} in ${timeoutMs / 1000} s; its output:\n${this.tail()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  tail(n = 8): string {
    return this.lines
      .slice(-n)
      .map((l) => l.slice(0, 400))
      .join('\n');
  }

  async stop(log: string): Promise<void> {
    const child = this.child;
    if (child?.pid !== undefined && !this.exited) {
      const group = -child.pid;
      const signal = (s: NodeJS.Signals): void => {
        try {
          process.kill(group, s);
        } catch {
          // already gone
        }
      };
      signal('SIGTERM');
      const ended = await Promise.race([this.ended().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 15_000))]);
      if (!ended) {
        signal('SIGKILL');
        await this.ended();
      }
    }
    if (this.container) {
      await run('buildah', [...STORAGE, 'rm', this.container], log).catch(() => undefined);
      this.container = undefined;
    }
  }
}
