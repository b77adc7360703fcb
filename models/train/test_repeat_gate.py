"""Self-test of the repeat gate (repeat_gate.py) on simulated matrices of a shop of re-buyers:
"for you" groups where the shopper's purchases are bought again and co-purchase predicts new items.
Checks what the built-in model relies on:
- the fitted gate drops the shopper's own purchases where nobody buys twice (penalty > 0), and the
  shop it was fitted on keeps its ranking (the real rows weigh as much as the simulated levels);
- the composed graph computes exactly the fitted formula, and without the catalog's repeat rate
  (`item_repeat_known` 0) it gives the base model's scores to the bit;
- it helps at the repeat levels it was fitted on and costs nothing at the real one;
- `tailor validate-model` accepts the composed graph (with --tailor BIN).
Run by scripts/test.sh models:  python test_repeat_gate.py [--tailor target/debug/tailor]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import onnx  # noqa: E402
from common import SCALAR_FEATURES, linear_graph, load_matrix, ort_scores, save_model_dir  # noqa: E402

BASE_FEATURES = ["bought_count", "copurchase_score", "item_popularity"]


def col(name):
    return SCALAR_FEATURES.index(name)


def write_matrix(path, seed=0, groups=1500, rows=40):
    """A shop of re-buyers: bought items (a quarter of the rows, repeat rate ~0.4) are the likeliest
    purchases; among new items, co-purchase predicts."""
    rng = np.random.default_rng(seed)
    lines = [",".join(["user", "item", "label"] + SCALAR_FEATURES)]
    for g in range(groups):
        X = np.zeros((rows, len(SCALAR_FEATURES)))
        bought = rng.random(rows) < 0.25
        X[:, col("bought_count")] = np.where(bought, np.log1p(rng.integers(1, 5, rows)), 0.0)
        X[:, col("copurchase_score")] = rng.exponential(0.5, rows)
        X[:, col("item_popularity")] = rng.exponential(1.0, rows)
        X[:, col("item_repeat_rate")] = np.clip(rng.normal(0.4, 0.1, rows), 0.05, 1.0)
        X[:, col("item_repeat_known")] = 1.0
        X[:, col("shopper_repeat_share")] = rng.uniform(0.2, 0.6)
        # One purchase per shopper, drawn from the softmax of the shop's score (what a listwise
        # ranker models): bought items likeliest, new items by co-purchase.
        score = np.where(bought, 2.5, -3.0 + 3.0 * X[:, col("copurchase_score")])
        p = np.exp(score - score.max())
        y = np.zeros(rows, int)
        y[rng.choice(rows, p=p / p.sum())] = 1
        for r in range(rows):
            lines.append(",".join([f"u{g}", f"i{r}", str(y[r])] + [f"{v:.6g}" for v in X[r]]))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def run(*args):
    subprocess.run([sys.executable, *args], check=True, stdout=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tailor")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp()
    train = os.path.join(tmp, "train.csv")
    write_matrix(train)
    # The base: the re-buyers' shop's own model (the logit the rows were drawn from, linear).
    base = os.path.join(tmp, "base")
    X = load_matrix(train, BASE_FEATURES)[2]
    save_model_dir(base, linear_graph([5.5, 3.0, 0.0], -3.0, "a re-buyers model"), "b", "1", BASE_FEATURES,
                   "test base", X=X)
    gated = os.path.join(tmp, "gated")
    run(os.path.join(here, "repeat_gate.py"), "--model", base, "--train", train, "--out", gated, "--levels", "1,0")
    manifest = json.load(open(os.path.join(gated, "manifest.json")))
    gate = json.load(open(os.path.join(gated, "metrics.json")))["repeat_gate"]
    assert manifest["features"] == BASE_FEATURES + ["item_repeat_rate", "item_repeat_known",
                                                    "shopper_repeat_share"], manifest["features"]
    assert gate["penalty"] > 1.0, gate
    levels = gate["train_by_level"]
    assert levels["0.0"]["gated_ndcg"] > levels["0.0"]["base_ndcg"] + 0.1, levels
    assert levels["1.0"]["gated_ndcg"] >= levels["1.0"]["base_ndcg"] - 0.01, levels

    graph = onnx.load(os.path.join(gated, "model.onnx"))
    base_graph = onnx.load(os.path.join(base, "model.onnx"))
    rng = np.random.default_rng(5)
    n = 64
    Xb = np.abs(rng.normal(size=(n, 3))).astype(np.float32)
    Xb[:, 0] = np.log1p(rng.integers(1, 5, n))                # bought_count = ln(1 + purchases)
    Xb[::2, 0] = 0.0                                          # half never bought
    s = ort_scores(base_graph, Xb).astype(np.float64)
    rr = rng.uniform(0, 1, n).astype(np.float32)
    sr = rng.uniform(0, 1, n).astype(np.float32)
    # Unknown repeat rates: the base model's scores exactly.
    unknown = np.column_stack([Xb, rr, np.zeros(n, np.float32), sr])
    assert (ort_scores(graph, unknown) == ort_scores(base_graph, Xb)).all()
    # Known: the formula of the model card.
    known = np.column_stack([Xb, rr, np.ones(n, np.float32), sr])
    w = np.exp(-(gate["rate_decay"] * rr + gate["share_decay"] * sr))
    bought = (Xb[:, 0] > 0).astype(np.float64)
    want = s + w * (gate["copurchase"] * Xb[:, 1] - gate["penalty"] * bought)
    assert np.allclose(ort_scores(graph, known), want, atol=1e-4), np.abs(ort_scores(graph, known) - want).max()
    # Nobody buys twice: every bought item below every item not bought that the base put lower.
    none = np.column_stack([Xb, np.zeros(n, np.float32), np.ones(n, np.float32), np.zeros(n, np.float32)])
    g = ort_scores(graph, none)
    assert g[bought > 0].mean() < s[bought > 0].mean() - gate["penalty"] / 2

    if a.tailor:
        subprocess.run([a.tailor, "validate-model", os.path.join(gated, "manifest.json")], check=True,
                       stdout=subprocess.DEVNULL)
    print(f"repeat gate: ok (penalty {gate['penalty']:.2f}, copurchase {gate['copurchase']:.2f}, "
          f"rate_decay {gate['rate_decay']:.1f}; exact base scores without repeat rates; accepted by tailor)")


if __name__ == "__main__":
    main()
