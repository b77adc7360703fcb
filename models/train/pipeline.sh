#!/usr/bin/env bash
# One command trains a ranker for a shop from its own files:
#   models/train/pipeline.sh --catalog C --events E --out DIR [--test-cutoff T] [shop.py options]
# (models/train/shop.py: the validation split is chosen from the data — see its doc and
# models/README.md; DIR/model is the model directory, DIR/report.md the replay report).
#
# Without arguments: the Online Retail preset, which trains every bundled model and measures it:
#   models/train/pipeline.sh            (about 45 minutes on 2 cores; not part of the tests)
#
# Nothing at or after the test cutoff 2011-10-01 (1317427200) is used for training:
#  1. `tailor features` writes one matrix per monthly cutoff 2011-03-01 .. 2011-09-01, each with
#     the purchases of the 30 days after its cutoff as labels (the last ends 2011-10-01), and
#     row sets from up to 1,000 of those days' baskets (the first items of a basket are the cart,
#     the request's context; the rest are the positives), so one model serves every surface.
#  2. Validation: every kind is trained on the cutoffs up to 2011-08-01 (labels end 2011-08-31)
#     and evaluated with `tailor replay` at 2011-09-01 over 30 days. The kind with the best
#     validation NDCG@10 becomes the default model.
#  3. Final: every kind is retrained on all cutoffs up to 2011-09-01; the default gets a repeat gate
#     (repeat_gate.py) fitted on the same rows.
#  4. Test: `tailor replay` at 2011-10-01 for every model, the hand-set linear score and the
#     baselines; the table goes into each model card and models/replay.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"
"$here/setup.sh"
py="$here/.venv/bin/python"
if [[ $# -gt 0 ]]; then
  cargo build --release -p tailor-cli
  exec "$py" "$here/shop.py" --tailor "$repo/target/release/tailor" "$@"
fi
data="models/data/online-retail"
work="$here/data/real"
mkdir -p "$work"
cargo build --release -p tailor-cli
tailor="target/release/tailor"

train_cutoffs=(1298937600 1301616000 1304208000 1306886400 1309478400 1312156800)
valid_cutoff=1314835200
test_cutoff=1317427200

for c in "${train_cutoffs[@]}" "$valid_cutoff"; do
  "$tailor" features --catalog "$data/catalog.csv.gz" --events "$data/events.csv.gz" \
    --cutoff "$c" --horizon-days 30 --baskets 1000 --out "$work/m-$c.csv"
done
concat() { # concat OUT CUTOFF... : one header, then every matrix's rows
  local out="$1"; shift
  head -1 "$work/m-$1.csv" > "$out"
  for c in "$@"; do tail -n +2 "$work/m-$c.csv" >> "$out"; done
}
concat "$work/train-valid.csv" "${train_cutoffs[@]}"
concat "$work/train-final.csv" "${train_cutoffs[@]}" "$valid_cutoff"

replay() { # replay MANIFEST CUTOFF [HORIZON] -> JSON on stdout
  local horizon=()
  [[ -n "${3:-}" ]] && horizon=(--horizon-days "$3")
  "$tailor" replay --catalog "$data/catalog.csv.gz" --events "$data/events.csv.gz" \
    --cutoff "$2" "${horizon[@]}" --model "$1" --json
}

kinds=(linear mlp gbt embedding)
best="" best_ndcg=0
for kind in "${kinds[@]}"; do
  "$py" "$here/train.py" --train "$work/train-valid.csv" --valid "$work/m-$valid_cutoff.csv" \
    --kind "$kind" --name "$kind-ranker" --out "$work/valid-$kind"
  replay "$work/valid-$kind/manifest.json" "$valid_cutoff" 30 > "$work/valid-$kind.json"
  ndcg=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["methods"]["tailor"]["ndcg"])' "$work/valid-$kind.json")
  echo "validation NDCG@10 $kind: $ndcg"
  if "$py" -c 'import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) else 1)' "$ndcg" "$best_ndcg"; then
    best="$kind" best_ndcg="$ndcg"
  fi
done
echo "default model: $best (validation NDCG@10 $best_ndcg)"

window="features from events before each monthly cutoff 2011-03-01..2011-09-01, labels = purchases in the 30 days after (all before 2011-10-01)"
for kind in "${kinds[@]}"; do
  "$py" "$here/train.py" --train "$work/train-final.csv" --valid "$work/m-$valid_cutoff.csv" \
    --kind "$kind" --name "$kind-ranker" --out "models/$kind-ranker" --window "$window"
done
"$py" "$here/train.py" --train "$work/train-final.csv" --valid "$work/m-$valid_cutoff.csv" \
  --kind "$best" --name default-ranker --out models/default-ranker --window "$window" \
  --description "Tailor's built-in ranker: the $best kind, chosen by validation NDCG@10 at 2011-09-01"
# The repeat gate (models/README.md): bought-before signals count only where items are bought again,
# so the built-in model does not collapse on a shop where nobody buys the same thing twice.
rm -rf "$work/default-gated"
"$py" "$here/repeat_gate.py" --model models/default-ranker --train "$work/train-final.csv" \
  --out "$work/default-gated"
cp "$work/default-gated"/{model.onnx,manifest.json,metrics.json,README.md} models/default-ranker/
"$py" "$here/handset.py" --valid "$work/m-$valid_cutoff.csv"

for name in default-ranker "${kinds[@]/%/-ranker}" bootstrap-ranker; do
  replay "models/$name/manifest.json" "$test_cutoff" > "$work/test-$name.json"
done
"$py" "$here/replay_report.py" --work "$work" --best "$best" --kinds "${kinds[@]}"
"$py" "$here/parity.py"
"$py" "$here/parity.py" --check
echo "done: see models/replay.md; rebuild to embed the new default model (cargo build)"
