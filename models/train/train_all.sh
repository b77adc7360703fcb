#!/usr/bin/env bash
# Retrain every bundled model, then write parity fixtures and check them.
#   models/train/train_all.sh MATRIX_TRAIN.csv MATRIX_VALID.csv [VERSION]
#   models/train/train_all.sh --synthetic        # development: synthetic matrices
# Matrices are `tailor features` CSVs (header user,item,label,<features...>).
# Env: WINDOW="2025-01-01..2025-03-31" is recorded in the model cards.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
models="$(dirname "$here")"
"$here/setup.sh"
py="$here/.venv/bin/python"
if [[ "${1:-}" == "--synthetic" ]]; then
  mkdir -p "$here/data"
  "$py" "$here/synth.py" --users 2000 --seed 1 --out "$here/data/train.csv"
  "$py" "$here/synth.py" --users 600 --seed 2 --out "$here/data/valid.csv"
  set -- "$here/data/train.csv" "$here/data/valid.csv" "${2:-1}"
fi
[[ $# -ge 2 ]] || { sed -n 2,6p "$0" >&2; exit 2; }
train="$1" valid="$2" version="${3:-1}"
win=(); [[ -n "${WINDOW:-}" ]] && win=(--window "$WINDOW")
for kind in linear mlp gbt embedding; do
  "$py" "$here/train.py" --train "$train" --valid "$valid" --kind "$kind" \
    --name "$kind-ranker" --version "$version" --out "$models/$kind-ranker" "${win[@]}"
done
"$py" "$here/handset.py" --valid "$valid"
"$py" "$here/parity.py"
"$py" "$here/parity.py" --check
