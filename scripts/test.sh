#!/usr/bin/env bash
# npm test: typecheck, lint, the import rules (.dependency-cruiser.cjs), then every test file through the node test runner (Node 20 does not expand
# globs itself and runs zero tests without complaint when given none, so the list is built and checked here).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== typecheck"; npx tsc --noEmit
echo "== lint"; npx eslint --max-warnings 0 .
echo "== dependency rules"; npx depcruise src --config .dependency-cruiser.cjs

mapfile -t files < <(find test -name '*.test.ts' | sort)
if [ "${#files[@]}" -eq 0 ]; then
  echo "no test files found under test/: refusing to report success" >&2
  exit 1
fi
echo "== ${#files[@]} test files"
# tsx transforms with esbuild's synchronous API, which by default waits on a worker thread with Atomics.wait.
# A few full runs here had one test file (a different one each time) hang before its first test until the
# 120 s timeout, the way others report that worker hanging under load. ESBUILD_WORKER_THREADS=0 makes each
# synchronous call its own esbuild process instead (no measurable cost: tsx caches transforms on disk).
export ESBUILD_WORKER_THREADS=0
# No --test-force-exit: under Node 20 it ended a file before all of its suites had reported (a full run
# lost two suites of test/policy/evaluate.test.ts without a failure).
exec node --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-timeout=120000 "${files[@]}"
