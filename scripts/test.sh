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
exec node --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-timeout=120000 "${files[@]}"
