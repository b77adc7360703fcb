#!/usr/bin/env bash
# Fails unless a README code block is exactly the code a test runs.
# Usage: bindings/check-snippet.sh README NAME SOURCE
#   README: a line `<!-- snippet: NAME -->`, then a fenced code block (the snippet).
#   SOURCE: the test file; the snippet is the lines between `// BEGIN README` and `// END README`,
#           dedented by the indentation of the first line.
set -euo pipefail
readme=$1
name=$2
source=$3

want=$(awk -v marker="<!-- snippet: $name -->" '
  $0 == marker { state = 1; next }
  state == 1 && /^```/ { state = 2; next }
  state == 2 && /^```/ { exit }
  state == 2 { print }' "$readme")
got=$(awk '/\/\/ END README/ { on = 0 } on { print } /\/\/ BEGIN README/ { on = 1 }' "$source")
indent=$(printf '%s\n' "$got" | head -n 1 | sed -E 's/^( *).*/\1/')
got=$(printf '%s\n' "$got" | sed -E "s/^${indent}//")

if [[ -z $want ]]; then
  echo "check-snippet: no block after '<!-- snippet: $name -->' in $readme" >&2
  exit 1
fi
if [[ -z $got ]]; then
  echo "check-snippet: no '// BEGIN README' ... '// END README' lines in $source" >&2
  exit 1
fi
if [[ $want != "$got" ]]; then
  echo "check-snippet: the '$name' block of $readme differs from $source (< README, > test):" >&2
  diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") >&2 || true
  exit 1
fi
echo "README snippet '$name' is the code of $(basename "$source")"
