/* global process, console */
// A Node.js CPU burner with a known hot function, plBurnHot, called from plBurnLoop. Run with
// --perf-basic-prof --interpreted-frames-native-stack --no-turbo-inlining so the JIT frames
// are named in /tmp/perf-PID.map and plBurnHot keeps a frame of its own.
// Usage: node … burn.js [SECONDS]  (default 60, so a leftover burner still ends)

function plBurnHot(n) {
  let h = 0;
  for (let i = 0; i < n; i++) h = (h * 31 + i) | 0;
  return h;
}

function plBurnLoop(seconds) {
  const end = Date.now() + seconds * 1000;
  let s = 0;
  let n = 0;
  while (Date.now() < end) {
    for (let k = 0; k < 100; k++) s ^= plBurnHot(10000);
    n += 100;
  }
  return { s, n };
}

const { s, n } = plBurnLoop(Number(process.argv[2] ?? 60));
// s is printed only so the loop's result is used.
console.log(`iterations ${n} ${s}`);
