#!/usr/bin/env bash
# The static checks `npm test` runs before the tests: types (the whole tree, tests included), lint
# (typescript-eslint, type-aware) and formatting (Prettier). All three run even when one fails, so
# one pass shows every kind of finding, each once; the script fails if any of them failed.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=node_modules/.bin
failed=()
check() {
  local name=$1
  shift
  echo "check: $name"
  "$@" || failed+=("$name")
}
check types "$bin/tsc" -p tsconfig.check.json --pretty false
check lint "$bin/eslint" --max-warnings 0 .
check format "$bin/prettier" --check --log-level warn .
if ((${#failed[@]})); then
  echo "check: failed: ${failed[*]}" >&2
  exit 1
fi
echo "check: types, lint and formatting clean"
