#!/usr/bin/env bash
# The quick loop: runs the test files listed in tests/unit.list (no root, no namespaces, no reference binaries)
# with the same runner as `npm test`. A listed file that does not exist is an error, not a silent skip.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(grep -v -E '^[[:space:]]*(#|$)' tests/unit.list)
for f in "${files[@]}"; do
  [ -f "$f" ] || { echo "tests/unit.list: $f does not exist" >&2; exit 1; }
done
rel=("${files[@]#tests/}")
pattern="^($(IFS='|'; echo "${rel[*]//./\\.}"))\$"
exec node --import tsx node_modules/uvu/bin.js tests "$pattern"
