"""Self-test of the context head (context_head.py, train.py on matrices with cart rows), on
simulated matrices: "for you" groups whose purchases follow the shopper's own signals, and cart
groups (`user#cartK`, as `tailor features --baskets` writes them) whose next item follows the
co-purchase strength with the cart. Checks what a shop's ML team relies on:
- train.py on such a matrix gives one graph that reads the context features, with the "for you"
  order of its base model (the context head adds nothing without a context) and a positive
  weight on `context_copurchase`;
- train.py on a matrix without cart rows gives a model without context features;
- context_head.py adds a head to an existing model and keeps its "for you" order;
- `tailor validate-model` accepts the composed graphs (with --tailor BIN).
Run by scripts/test.sh models:  python test_context_head.py [--tailor target/debug/tailor]
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
from common import CONTEXT_FEATURES, SCALAR_FEATURES, ort_scores  # noqa: E402

COLUMNS = SCALAR_FEATURES + CONTEXT_FEATURES


def write_matrix(path, carts=True, seed=0, groups=120, rows=40):
    rng = np.random.default_rng(seed)
    lines = [",".join(["user", "item", "label"] + COLUMNS)]
    for g in range(groups):
        cart = carts and g % 2 == 1
        X = np.zeros((rows, len(COLUMNS)))
        X[:, :len(SCALAR_FEATURES)] = np.abs(rng.normal(size=(rows, len(SCALAR_FEATURES))))
        own = X[:, SCALAR_FEATURES.index("bought_count")]
        logit = 2.0 * own - 3.0
        if cart:
            co = rng.exponential(0.5, rows)
            X[:, len(SCALAR_FEATURES)] = co                                   # context_copurchase
            X[:, len(SCALAR_FEATURES) + CONTEXT_FEATURES.index("context_size")] = np.log1p(3)
            logit = 0.5 * own + 4.0 * co - 4.0
        y = (logit + rng.logistic(size=rows) > 0).astype(int)
        user = f"u{g}#cart0" if cart else f"u{g}"
        for r in range(rows):
            lines.append(",".join([user, f"i{r}", str(y[r])] + [f"{v:.6g}" for v in X[r]]))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def run(*args):
    subprocess.run([sys.executable, *args], check=True, stdout=subprocess.DEVNULL)


def model(path):
    with open(os.path.join(path, "manifest.json")) as f:
        return onnx.load(os.path.join(path, "model.onnx")), json.load(f)


def foryou_rows(n=200, seed=9):
    rng = np.random.default_rng(seed)
    X = np.zeros((n, len(COLUMNS)), np.float32)
    X[:, :len(SCALAR_FEATURES)] = np.abs(rng.normal(size=(n, len(SCALAR_FEATURES))))
    return X


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tailor")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp()
    train, valid, plain = (os.path.join(tmp, n) for n in ("train.csv", "valid.csv", "plain.csv"))
    write_matrix(train, seed=1)
    write_matrix(valid, seed=2)
    write_matrix(plain, carts=False, seed=3)

    # 1. Cart rows: one graph with a head; without a context it orders like its base.
    out = os.path.join(tmp, "with-head")
    run(os.path.join(here, "train.py"), "--train", train, "--valid", valid, "--kind", "linear",
        "--name", "t", "--out", out)
    graph, manifest = model(out)
    assert manifest["features"][-len(CONTEXT_FEATURES):] == CONTEXT_FEATURES, manifest["features"]
    head = json.load(open(os.path.join(out, "metrics.json")))["context_head"]
    assert head["a"] > 0 and head["w"]["context_copurchase"] > 1.0, head
    X = foryou_rows()
    s0 = ort_scores(graph, X)
    Xc = X.copy()
    Xc[:, len(SCALAR_FEATURES)] = 1.0
    assert np.allclose(ort_scores(graph, Xc) - s0, head["w"]["context_copurchase"], atol=1e-4)
    assert head["valid_cart"]["ndcg@10"] > head["valid_cart_base_only"]["ndcg@10"], head

    # 2. No cart rows: no context features.
    base = os.path.join(tmp, "base")
    run(os.path.join(here, "train.py"), "--train", plain, "--valid", plain, "--kind", "linear",
        "--name", "b", "--out", base)
    base_graph, base_manifest = model(base)
    assert not set(base_manifest["features"]) & set(CONTEXT_FEATURES), base_manifest["features"]

    # 3. A head on an existing model keeps its "for you" order.
    headed = os.path.join(tmp, "headed")
    run(os.path.join(here, "context_head.py"), "--model", base, "--train", train, "--out", headed)
    headed_graph, headed_manifest = model(headed)
    n = len(base_manifest["features"])
    idx = [COLUMNS.index(f) for f in base_manifest["features"]]
    b_scores = ort_scores(base_graph, X[:, idx])
    h_scores = ort_scores(headed_graph, np.hstack([X[:, idx], np.zeros((len(X), len(CONTEXT_FEATURES)), np.float32)]))
    assert (np.argsort(b_scores, kind="stable") == np.argsort(h_scores, kind="stable")).all()
    assert headed_manifest["features"][n:] == CONTEXT_FEATURES

    if a.tailor:
        for d in (out, headed):
            subprocess.run([a.tailor, "validate-model", os.path.join(d, "manifest.json")], check=True,
                           stdout=subprocess.DEVNULL)
    print("context head: ok (a head learned from cart rows, 'for you' order kept, accepted by tailor)")


if __name__ == "__main__":
    main()
