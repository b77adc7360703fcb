#!/usr/bin/env bash
# Create models/train/.venv with the pinned requirements. Idempotent: a stamp file
# holding the hash of requirements.txt makes a re-run a fast no-op.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [[ -x "$venv/bin/python" && "$(cat "$venv/.requirements.sha256" 2>/dev/null)" == "$want" ]]; then
  exit 0
fi
py="${PYTHON:-}"
if [[ -z "$py" ]]; then
  for c in python3.11 python3; do command -v "$c" >/dev/null && { py="$c"; break; }; done
fi
[[ -n "$py" ]] || { echo "setup.sh: no python3 found (need CPython 3.11)" >&2; exit 1; }
"$py" -c 'import sys; assert sys.version_info[:2] >= (3, 10), sys.version' \
  || { echo "setup.sh: $py is too old (need >= 3.10, tested on 3.11)" >&2; exit 1; }
[[ -x "$venv/bin/python" ]] || "$py" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --no-cache-dir --disable-pip-version-check -r "$here/requirements.txt"
echo "$want" > "$venv/.requirements.sha256"
echo "setup.sh: $venv ready ($("$venv/bin/python" --version))"
