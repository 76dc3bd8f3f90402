#!/usr/bin/env bash
# Every test file (node --test, through tsx), PILOTLIGHT_TEST_CONCURRENCY files at a time (2: the
# CI machine's cores). The files that take longest start first, so that the run does not end
# waiting on one of them alone; any other file follows in name order. Extra arguments go to node.
set -euo pipefail
cd "$(dirname "$0")/.."
first=(
  test/peers-ebpf-profiler.test.ts
  test/node-sampler.test.ts
  test/image.test.ts
  test/web-ui.test.ts
  test/cli-profile.test.ts
  test/node-command.test.ts
  test/up.test.ts
  test/load.test.ts
  test/faults.test.ts
  test/peers-collector.test.ts
)
files=("${first[@]}")
while IFS= read -r f; do
  [[ " ${first[*]} " == *" $f "* ]] || files+=("$f")
done < <(find src test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
for f in "${first[@]}"; do [[ -f $f ]] || { echo "scripts/test-unit.sh: $f is listed but missing" >&2; exit 1; }; done
exec node --import tsx --test --test-concurrency="${PILOTLIGHT_TEST_CONCURRENCY:-2}" --test-timeout=300000 "$@" "${files[@]}"
