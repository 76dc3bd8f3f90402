import { KSYMS_TAG, PROCESS_TAG, SAMPLE_MAP, SEEN_MAP } from './output.js';

export interface ProgramOptions {
  hz: number;
  intervalMs: number;
  /** Sample only these processes (tgids); empty = all. */
  pids: readonly number[];
  /** Processes never sampled (the sampler's own). */
  excludePids: readonly number[];
  /**
   * Exclude the bpftrace process itself via positional parameter `$1`: the sampler starts
   * bpftrace through `sh -c 'exec bpftrace … "$$"'`, so `$1` is bpftrace's own pid, known only
   * once it runs.
   */
  excludeSelfParam: boolean;
  /**
   * Print `pl-proc PID START COMM` the first time a process is sampled, so the sampler can read
   * its /proc entries while it still runs (a process that exits before the map is printed
   * cannot be read any more). Default true.
   */
  announceProcesses?: boolean;
  /**
   * The kernel has BTF, so the program can read the process start time and exec count
   * (`curtask->group_leader->start_time`, `self_exec_id`): a reused pid, or a process that
   * exec'd another program, is announced again. Without BTF both print as 0 and the seen-map
   * is cleared more often.
   */
  btf?: boolean;
  /**
   * x86-64: announce a process only from a sample taken in user mode (`reg("cs") & 3`). A
   * sample in the kernel may be in the middle of an exec, when /proc/PID/maps and environ do
   * not yet show the new program; in user mode the exec is complete. Default false.
   */
  userModeOnly?: boolean;
  /**
   * x86-64: key each sample also by the word at the user stack pointer when it looks like the
   * return address of a direct call, else by 0 (see leafCallerProbe). Default false: the key's
   * last field is always 0.
   */
  leafCaller?: boolean;
}

/**
 * How often the seen-map is cleared (processes still sampled are then announced once more).
 * With BTF a reused pid or an exec is told by the map's value, so clearing only drops the pids
 * of processes gone (bpftrace's maps hold 4096 keys; a full map only means more announcements,
 * each ignored by the sampler). Every clear costs one announcement per running process, each a
 * separate line that wakes bpftrace and the sampler.
 */
export const SEEN_CLEAR_SECONDS_BTF = 300;
export const SEEN_CLEAR_SECONDS_NO_BTF = 10;

/**
 * Offset of the user registers (`struct pt_regs`, 168 bytes on x86-64) from the bottom of a
 * task's kernel stack: they sit at its top, and the stack is 16 KiB (THREAD_SIZE without KASAN).
 */
const USER_REGS_OFFSET = 16384 - 168;

/**
 * A frame-pointer walk loses the caller of a leaf function that sets up no frame of its own
 * (gcc from -O1, Go's small leaves): `rbp` still points at the caller's frame, so the walk
 * goes from the leaf straight to the caller's caller. While a frameless leaf runs (and at the
 * first and last instruction of any function), the word at the stack pointer is the return
 * address into its caller. This reads that word and keeps it (`$ra`) only when the byte five
 * before it is `e8`, a direct call, so that most locals and saved registers are not keys;
 * the sampler checks the call's target (Symbolizer.leafCaller). The user stack pointer comes
 * from the sample's registers in user mode and, with BTF, from the user registers saved on
 * the task's kernel stack in kernel mode (a syscall through a frameless libc wrapper).
 */
function leafCallerProbe(btf: boolean): string[] {
  return [
    `  $ra = (uint64)0;`,
    `  $usp = (uint64)0;`,
    `  if ((reg("cs") & 3) == 3) {`,
    `    $usp = reg("sp");`,
    ...(btf ? [`  } else {`, `    $usp = ((struct pt_regs *)((uint64)curtask->stack + ${USER_REGS_OFFSET}))->sp;`] : []),
    `  }`,
    `  if ($usp != 0) {`,
    `    $r = *(uint64 *)uptr($usp);`,
    `    if ($r > 0x1000 && $r < 0x800000000000 && *(uint8 *)uptr($r - 5) == 0xe8) {`,
    `      $ra = $r;`,
    `    }`,
    `  }`,
  ];
}

/**
 * The eBPF program: count samples per (pid, tid, comm, kernel stack, user stack, the leaf's
 * return address or 0) in a kernel
 * map, print it and clear it every interval. Aggregating in the kernel keeps the output to one
 * line per distinct stack per interval, whatever the sampling rate.
 */
export function buildProgram(o: ProgramOptions): string {
  const conds: string[] = ['pid != 0']; // the idle task: no process to attribute
  for (const p of o.excludePids) conds.push(`pid != ${Math.trunc(p)}`);
  if (o.excludeSelfParam) conds.push('pid != $1');
  if (o.pids.length > 0) conds.push(`(${o.pids.map((p) => `pid == ${Math.trunc(p)}`).join(' || ')})`);
  const announce = o.announceProcesses ?? true;
  // Announcing a process on its first sample, not on exec: it needs neither tracefs (kprobes
  // and tracepoints do, and a machine may have none mounted) nor misses forked children
  // that never exec, and by its first sample a process has usually mapped its libraries. The
  // output is bounded by the sample rate; the seen-map bounds it to once per process.
  const userMode = o.userModeOnly ? '(reg("cs") & 3) == 3 && ' : '';
  const seen = o.btf
    ? [
        // start_time tells a reused pid; self_exec_id grows on every exec, so a process
        // first sampled between fork and exec is announced again once it runs its program.
        `  $l = curtask->group_leader;`,
        `  $st = $l->start_time;`,
        `  $ex = $l->self_exec_id;`,
        `  if (${userMode}${SEEN_MAP}[pid] != $st + $ex) {`,
        `    ${SEEN_MAP}[pid] = $st + $ex;`,
        `    printf("${PROCESS_TAG} %d %llu %llu %s\\n", pid, $st, $ex, comm);`,
        `  }`,
      ]
    : [`  if (${userMode}${SEEN_MAP}[pid] == 0) {`, `    ${SEEN_MAP}[pid] = 1;`, `    printf("${PROCESS_TAG} %d 0 0 %s\\n", pid, comm);`, `  }`];
  const clearSeconds = o.btf ? SEEN_CLEAR_SECONDS_BTF : SEEN_CLEAR_SECONDS_NO_BTF;
  return [
    `profile:hz:${Math.trunc(o.hz)} /${conds.join(' && ')}/ {`,
    ...(o.leafCaller ? leafCallerProbe(o.btf ?? false) : []),
    `  ${SAMPLE_MAP}[pid, tid, comm, kstack, ustack, ${o.leafCaller ? '$ra' : '(uint64)0'}] = count();`,
    ...(announce ? seen : []),
    `}`,
    `interval:ms:${Math.trunc(o.intervalMs)} {`,
    `  print(${SAMPLE_MAP});`,
    `  clear(${SAMPLE_MAP});`,
    `}`,
    // bpftrace prints every map at exit; the seen-map is of no use there.
    ...(announce ? [`interval:s:${clearSeconds} {`, `  clear(${SEEN_MAP});`, `}`, `END {`, `  clear(${SEEN_MAP});`, `}`] : []),
    // bpftrace reads the kernel's symbol table (/proc/kallsyms, a CPU spike) the first time
    // it names a kernel address. Left to the first kernel frame sampled, that is a CPU spike at
    // some random later moment (a minute in, when sampled processes rarely enter the kernel);
    // naming an address at start makes it part of start-up. The line comes once the table is
    // read, so the driver counts bpftrace as started only then (a process announced while
    // bpftrace reads the table would wait, and might exit before the sampler reads its /proc).
    `BEGIN {`,
    `  printf("${KSYMS_TAG} %s\\n", ksym(0));`,
    `}`,
    '',
  ].join('\n');
}
