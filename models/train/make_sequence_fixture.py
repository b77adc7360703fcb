#!/usr/bin/env python3
"""Write tests/fixtures/sequence-model/: a tiny trained SASRec model directory for the Rust tests
(30 items, d = 16, max_len 8), per the sequence contract (models/README.md "Sequence model").

    models/train/.venv/bin/python models/train/make_sequence_fixture.py [--out DIR]

The shoppers of `synthetic_shop` walk the catalog in order: the item after `p07` is `p08`
(after `p30`, `p01`), with a little noise; items `p29` and `p30` are left out of the vocabulary
(they are never bought in the training data) so they score through the unknown row. Also writes
`parity.json` (the ranker's onnxruntime scores) and `events.csv` + `catalog.csv`, the shop it was
trained on (every shopper's purchases, one minute apart).
"""
import argparse
import csv
import os
import sys

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import parity as ranker_parity  # noqa: E402
import sequence as S  # noqa: E402
from common import load_manifest, ort_scores, ort_session  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.dirname(here)), "tests", "fixtures", "sequence-model")


README = """# sequence-model (test fixture)

A model directory with a sequence model (format_version 2), written by
`models/train/make_sequence_fixture.py` (regenerate with
`models/train/.venv/bin/python models/train/make_sequence_fixture.py`):

- `sequence.onnx`: SASRec, 1 block, d = 16, max_len 8, trained (JAX) on `events.csv`, synthetic
  shoppers who buy the catalog in order: after `p07`, `p08` comes `p09` (the model's top item).
- `vocab.txt`: `p01`..`p28` (indices 2..29); `p29` and `p30` are in `catalog.csv` but not in the
  vocabulary, so they map to the unknown index 1.
- `model.onnx` + `manifest.json`: the ranker, score = `sequence_score` (weight 1).
- `sequence_parity.json`: input rows (`items`, int64 [max_len] each: shoppers' rows, a random full
  row, one item, unknown items, all padding) and onnxruntime's user vectors (`user`); tract must
  match within `tolerance` (1e-5).
- `parity.json`: the ranker's onnxruntime scores (the format of `models/*/parity.json`).
"""


def item(k):
    return f"p{k + 1:02d}"


def synthetic_shop(users, n_items, seed, noise=0.1, known=None, min_len=3, max_len=12):
    """{user: [item ids in purchase order]}: each shopper starts anywhere among the first `known`
    items and walks forward (k -> k + 1 mod known), with `noise` chance of a random jump."""
    rng = np.random.default_rng(seed)
    known = known or n_items
    out = {}
    for u in range(users):
        k = int(rng.integers(known))
        seq = []
        for _ in range(int(rng.integers(min_len, max_len + 1))):
            if item(k) not in seq:
                seq.append(item(k))
            k = int(rng.integers(known)) if rng.random() < noise else (k + 1) % known
        out[f"u{u:03d}"] = seq
    return out


def write_shop(out, shop, n_items, t0=1_600_000_000):
    with open(os.path.join(out, "catalog.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["item_id", "title", "category", "brand", "price", "tags"])
        for k in range(n_items):
            w.writerow([item(k), "", "", "", "", ""])
    with open(os.path.join(out, "events.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["user_id", "item_id", "event", "ts"])
        for user, seq in sorted(shop.items()):
            for j, i in enumerate(seq):
                w.writerow([user, i, "purchase", t0 - 60 * (len(seq) - j)])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=OUT)
    a = ap.parse_args()
    n_items, known = 30, 28
    shop = synthetic_shop(120, n_items, seed=15, known=known)
    vocab = [item(k) for k in range(known)]
    cfg = S.Config(dim=16, max_len=8, blocks=1, dropout=0.1, negatives=0, lr=5e-3, epochs=60,
                   tokens=256, seed=15)
    p, hist = S.train(list(shop.values()), vocab, cfg, epochs=cfg.epochs, progress=lambda m: None)
    os.makedirs(a.out, exist_ok=True)
    index = {i: S.FIRST + k for k, i in enumerate(vocab)}
    sample = np.stack([S.encode(shop[u], index, cfg.max_len) for u in sorted(shop)[:3]])
    _, checks = S.write_model_dir(a.out, p, vocab, cfg, "fixture-sequence", sample_rows=sample, seed=15,
                      description="test fixture: tiny SASRec (30 items, d 16, max_len 8) trained on "
                                  "synthetic walks p01 -> p02 -> ...; ranker = sequence_score")
    write_shop(a.out, shop, n_items)
    with open(os.path.join(a.out, "README.md"), "w") as f:
        f.write(README)
    # The ranker's parity fixture, as for every model directory (parity.py's format).
    man = load_manifest(a.out)
    X = ranker_parity.batch(man["features"], 16, 15)
    ranker_parity.write_fixture(os.path.join(a.out, "parity.json"), {
        "model": man["name"], "version": man["version"], "sha256": man["sha256"],
        "tolerance": S.TOLERANCE, "feature_names": man["features"],
        "features": [[float(v) for v in r] for r in X],
        "scores": [float(s) for s in ort_scores(os.path.join(a.out, "model.onnx"), X)]})
    # What the model learnt, for the record: the top items after "p07, p08".
    sess = ort_session(os.path.join(a.out, "sequence.onnx"))
    row = S.encode(["p07", "p08"], index, cfg.max_len)
    user = sess.run([S.OUTPUT], {S.INPUT: row[None, :]})[0][0]
    table = S.load_graph_table(a.out)
    scores = {i: float(user @ table[index.get(i, S.UNKNOWN)]) for i in (item(k) for k in range(n_items))}
    top = sorted(scores, key=lambda i: -scores[i])[:3]
    print(f"wrote {a.out}: final loss {hist['epochs'][-1]['loss']}; parity {checks}; after p07, p08 the top items are {top}")
    if top[0] != "p09":
        raise SystemExit("the fixture model did not learn the walk (p09 should follow p07, p08)")


if __name__ == "__main__":
    main()
