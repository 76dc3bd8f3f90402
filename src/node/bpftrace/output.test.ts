import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SampleKeys, parseOutputLine, parseSampleKey } from './output.js';
import { buildProgram } from './program.js';

// Lines as bpftrace 0.17 prints them with -f json and BPFTRACE_NO_USER_SYMBOLS=1 (recorded).
const USER_ONLY = '7615,7615,burn,,\n    0x55c94bc40154\n    0x55c94bc4016a\n    0x7f45451ed24a\n,0';
const WITH_KERNEL = '7846,7846,node,\n    native_set_pte+0\n    set_ptes.isra.0+54\n    asm_exc_page_fault+34\n,\n    0x1f5f370\n    0xd15ae1\n,0';

test('parseSampleKey splits pid, tid, comm and both stacks, leaf first', () => {
  assert.deepEqual(parseSampleKey(USER_ONLY), {
    pid: 7615,
    tid: 7615,
    comm: 'burn',
    kernel: [],
    user: ['0x55c94bc40154', '0x55c94bc4016a', '0x7f45451ed24a'],
    leafReturn: undefined,
  });
  const s = parseSampleKey(WITH_KERNEL)!;
  assert.deepEqual(s.kernel, ['native_set_pte+0', 'set_ptes.isra.0+54', 'asm_exc_page_fault+34']);
  assert.deepEqual(s.user, ['0x1f5f370', '0xd15ae1']);
});

test('parseSampleKey keeps commas and spaces inside the comm', () => {
  const s = parseSampleKey('12,13,npm exec a,b,c,\n    do_syscall_64+113\n,\n    0x10\n,0')!;
  assert.equal(s.comm, 'npm exec a,b,c');
  assert.deepEqual(s.kernel, ['do_syscall_64+113']);
  assert.deepEqual(s.user, ['0x10']);
  assert.equal(parseSampleKey('1,2,kworker/0:1,\n    worker_thread+1\n,,0')!.user.length, 0);
  assert.equal(parseSampleKey('1,2,x,,,0')!.comm, 'x');
});

// A frameless leaf (hot_inner at -O2) as recorded: the walk goes from the leaf to main's
// caller; the word at the stack pointer (decimal in the key) is the return address into
// hot_outer.
const FRAMELESS = '32559,32559,leaf,,\n    0x55620496a1a7\n    0x55620496a070\n    0x7f0c909cd24a\n,93879472136633';

test('parseSampleKey reads the return address at the stack pointer, unless the walk already has it under the leaf', () => {
  const s = parseSampleKey(FRAMELESS)!;
  assert.deepEqual(s.user, ['0x55620496a1a7', '0x55620496a070', '0x7f0c909cd24a']);
  assert.equal(s.leafReturn, '0x55620496a1b9');
  const walked = parseSampleKey('1,1,x,,\n    0x55620496a1a7\n    0x55620496a1b9\n    0x55620496a070\n,93879472136633')!;
  assert.equal(walked.leafReturn, undefined, 'a leaf with its own frame: nothing to add');
  assert.equal(parseSampleKey('1,1,x,,\n    0x55620496a1a7\n,93879472136633')!.leafReturn, '0x55620496a1b9', 'a walk that stopped at the leaf');
  assert.equal(parseSampleKey('1,1,kworker,\n    worker_thread+1\n,,93879472136633')!.leafReturn, undefined, 'no user stack: nothing to add to');
});

test('parseOutputLine reads map, attach, empty-map and junk lines', () => {
  const line = JSON.stringify({ type: 'map', data: { '@s': { [USER_ONLY]: 5, [WITH_KERNEL]: 1, 'bad key': 1 } } });
  const ev = parseOutputLine(line);
  assert.equal(ev?.type, 'samples');
  if (ev?.type === 'samples') {
    assert.equal(ev.samples.length, 2);
    assert.equal(ev.malformedKeys, 1);
  }
  assert.deepEqual(parseOutputLine('{"type": "attached_probes", "data": {"probes": 2}}'), { type: 'attached', probes: 2 });
  assert.deepEqual(parseOutputLine('{"type": "map", "data": {"@s": {}}}'), { type: 'samples', samples: [], malformedKeys: 0 });
  assert.equal(parseOutputLine('   '), undefined);
  assert.equal(parseOutputLine('not json')?.type, 'invalid');
});

test('a key printed again is the same object (parsed once); keys long not printed are forgotten', () => {
  const keys = new SampleKeys();
  const map = (entries: Record<string, number>): string => JSON.stringify({ type: 'map', data: { '@s': entries } });
  const samples = (line: string) => {
    const ev = parseOutputLine(line, keys);
    assert.equal(ev?.type, 'samples');
    return ev?.type === 'samples' ? ev.samples : [];
  };
  const [a] = samples(map({ [USER_ONLY]: 5 }));
  const [b, c] = samples(map({ [USER_ONLY]: 2, [WITH_KERNEL]: 1 }));
  assert.equal(b.key, a.key);
  assert.deepEqual([a.count, b.count, c.count], [5, 2, 1]);
  assert.equal(c.key.comm, 'node');
  for (let i = 0; i < 120; i++) samples(map({ [WITH_KERNEL]: 1 }));
  const [again] = samples(map({ [USER_ONLY]: 1 }));
  assert.notEqual(again.key, a.key, 'forgotten within 120 maps without it (pruned every 60), parsed afresh');
  assert.deepEqual(again.key, a.key);
  assert.equal(samples(map({ [WITH_KERNEL]: 1 }))[0].key, c.key, 'kept while printed');
});

test('buildProgram filters idle, own processes and optional pids', () => {
  const p = buildProgram({ hz: 20, intervalMs: 1000, pids: [5, 6], excludePids: [42], excludeSelfParam: true });
  assert.match(p, /^profile:hz:20 \/pid != 0 && pid != 42 && pid != \$1 && \(pid == 5 \|\| pid == 6\)\/ \{/);
  assert.match(p, /@s\[pid, tid, comm, kstack, ustack, \(uint64\)0\] = count\(\);/);
  assert.doesNotMatch(p, /\$ra|uptr/);
  assert.match(p, /interval:ms:1000 \{\n {2}print\(@s\);\n {2}clear\(@s\);/);
});

test('buildProgram names a kernel address at start (bpftrace loads its kernel symbols then), and that line says bpftrace is ready', () => {
  const p = buildProgram({ hz: 20, intervalMs: 1000, pids: [], excludePids: [], excludeSelfParam: false });
  assert.match(p, /\nBEGIN \{\n {2}printf\("pl-ksyms %s\\n", ksym\(0\)\);\n\}\n/);
  // As bpftrace 0.17 prints it with -f json (recorded).
  assert.deepEqual(parseOutputLine('{"type": "printf", "data": "pl-ksyms 0\\n"}'), { type: 'ready' });
});

test('parseOutputLine reads first-sample process announcements (printf lines) and leaves other printf lines alone', () => {
  // As bpftrace 0.17 prints `printf("pl-proc %d %llu %llu %s\n", …)` with -f json (recorded).
  assert.deepEqual(parseOutputLine('{"type": "printf", "data": "pl-proc 28465 17453825499922 6 my burner\\n"}'), {
    type: 'process',
    pid: 28465,
    start: '17453825499922',
    exec: '6',
    comm: 'my burner',
  });
  assert.deepEqual(parseOutputLine('{"type": "printf", "data": "pl-proc 7 0 0 kworker/0:1\\n"}'), {
    type: 'process',
    pid: 7,
    start: '0',
    exec: '0',
    comm: 'kworker/0:1',
  });
  assert.equal(parseOutputLine('{"type": "printf", "data": "pl-proc 7 0 kworker\\n"}')?.type, 'other');
  assert.equal(parseOutputLine('{"type": "printf", "data": "pl-proc x 1 y\\n"}')?.type, 'other');
  assert.equal(parseOutputLine('{"type": "printf", "data": "hello\\n"}')?.type, 'other');
});

test('buildProgram announces each process once per start time, and can leave that out', () => {
  const p = buildProgram({ hz: 20, intervalMs: 1000, pids: [], excludePids: [], excludeSelfParam: false, btf: true });
  assert.match(p, /\$l = curtask->group_leader;\n {2}\$st = \$l->start_time;\n {2}\$ex = \$l->self_exec_id;\n/);
  assert.match(p, /if \(@p\[pid\] != \$st \+ \$ex\) \{\n {4}@p\[pid\] = \$st \+ \$ex;\n {4}printf\("pl-proc %d %llu %llu %s\\n", pid, \$st, \$ex, comm\);/);
  assert.match(p, /interval:s:300 \{\n {2}clear\(@p\);/);
  const user = buildProgram({ hz: 20, intervalMs: 1000, pids: [], excludePids: [], excludeSelfParam: false, btf: true, userModeOnly: true });
  assert.match(user, /if \(\(reg\("cs"\) & 3\) == 3 && @p\[pid\] != \$st \+ \$ex\)/);
  assert.match(p, /END \{\n {2}clear\(@p\);/);
  const noBtf = buildProgram({ hz: 20, intervalMs: 1000, pids: [], excludePids: [], excludeSelfParam: false, btf: false });
  assert.doesNotMatch(noBtf, /curtask/);
  assert.match(noBtf, /if \(@p\[pid\] == 0\)/);
  assert.match(noBtf, /interval:s:10 \{/);
  const off = buildProgram({ hz: 20, intervalMs: 1000, pids: [], excludePids: [], excludeSelfParam: false, announceProcesses: false });
  assert.doesNotMatch(off, /@p|pl-proc/);
});

test("buildProgram keys samples by the leaf's return address; in kernel mode only with BTF (the saved user registers)", () => {
  const p = buildProgram({ hz: 20, intervalMs: 1000, pids: [], excludePids: [], excludeSelfParam: false, btf: true, leafCaller: true });
  assert.match(p, /@s\[pid, tid, comm, kstack, ustack, \$ra\] = count\(\);/);
  assert.match(p, /\$usp = reg\("sp"\);/);
  assert.match(p, /\$r = \*\(uint64 \*\)uptr\(\$usp\);/);
  assert.match(p, /\*\(uint8 \*\)uptr\(\$r - 5\) == 0xe8/);
  assert.match(p, /curtask->stack \+ 16216\)\)->sp;/);
  const noBtf = buildProgram({ hz: 20, intervalMs: 1000, pids: [], excludePids: [], excludeSelfParam: false, btf: false, leafCaller: true });
  assert.match(noBtf, /\$ra\] = count/);
  assert.doesNotMatch(noBtf, /curtask/);
});
