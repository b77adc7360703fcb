"""The context head: how a model weighs a request's context (a cart, a viewed item) against the
shopper's taste, learned from real baskets.

A matrix written with `tailor features --baskets N` holds two kinds of row sets: "for you" rows
(no context; every `context_*` feature is 0) and cart rows (group `user#cartK`: the first items
of a basket are the context, the rest of the basket are the positives). The base model of any
kind is trained on the "for you" rows only, so the "for you" surface is exactly what it was
without baskets. The head is a logistic regression fitted on the cart rows:

    score = a * base(x) + w . context(x) + b,      a > 0

With no context (every "for you" row) the score is `a * base + b`: the same order as the base
model, so one graph serves every surface. Tailor's cart surfaces take the score of a model that
reads `context_copurchase` as it is, instead of the hand-set blend (core/src/rank/surface.rs).
"""
import copy

import numpy as np
from onnx import helper
from sklearn.linear_model import LogisticRegression

from common import CONTEXT_FEATURES, INPUT_NAME, OUTPUT_NAME, const, make_model

CART_MARK = "#cart"   # `tailor features --baskets`: cart row sets are groups `user#cartK`


def cart_rows(users):
    """Boolean mask of the rows that belong to cart row sets."""
    return np.char.find(users.astype(str), CART_MARK) >= 0


def fit(base_scores, C, y, seed=0):
    """Fit the head on cart rows: base scores (log-odds, float64), context columns C, labels y.
    Returns (a, w, b)."""
    Z = np.column_stack([base_scores, C]).astype(np.float64)
    mu, sd = Z.mean(0), Z.std(0)
    sd[sd < 1e-9] = 1.0
    lr = LogisticRegression(C=1.0, max_iter=2000, random_state=seed).fit((Z - mu) / sd, y)
    coef = lr.coef_[0] / sd
    b = float(lr.intercept_[0] - (lr.coef_[0] * mu / sd).sum())
    a, w = float(coef[0]), coef[1:].astype(np.float64)
    if a <= 0:
        raise SystemExit(f"context head: the base score got weight {a:.4g} on the cart rows; "
                         "a head that reverses the base model would reverse 'for you' too")
    return a, w, b


def compose(base_model, n_base, a, w, b):
    """One graph over [base features..., CONTEXT_FEATURES] computing a * base + C @ w + b."""
    g = base_model.graph
    rename = {INPUT_NAME: "ctxhead_base_in", OUTPUT_NAME: "ctxhead_base_out"}
    nodes = []
    for n in g.node:   # the base graph's nodes as they are, reading and writing renamed tensors
        n = copy.deepcopy(n)
        n.input[:] = [rename.get(i, i) for i in n.input]
        n.output[:] = [rename.get(o, o) for o in n.output]
        nodes.append(n)
    k = len(CONTEXT_FEATURES)
    inits = list(g.initializer) + [
        const("ctxhead_base_lo", [0], np.int64), const("ctxhead_base_hi", [n_base], np.int64),
        const("ctxhead_ctx_hi", [n_base + k], np.int64), const("ctxhead_axis", [1], np.int64),
        const("ctxhead_w", np.asarray(w, np.float32).reshape(k, 1)),
        const("ctxhead_a", [a]), const("ctxhead_b", [b]), const("ctxhead_flat", [-1], np.int64),
    ]
    head = [
        helper.make_node("Slice", [INPUT_NAME, "ctxhead_base_lo", "ctxhead_base_hi", "ctxhead_axis"],
                         ["ctxhead_base_in"]),
        helper.make_node("Slice", [INPUT_NAME, "ctxhead_base_hi", "ctxhead_ctx_hi", "ctxhead_axis"],
                         ["ctxhead_ctx"]),
        helper.make_node("MatMul", ["ctxhead_ctx", "ctxhead_w"], ["ctxhead_ctx_mm"]),
        helper.make_node("Reshape", ["ctxhead_ctx_mm", "ctxhead_flat"], ["ctxhead_ctx_score"]),
        helper.make_node("Reshape", ["ctxhead_base_out", "ctxhead_flat"], ["ctxhead_base_flat"]),
        helper.make_node("Mul", ["ctxhead_base_flat", "ctxhead_a"], ["ctxhead_base_scaled"]),
        helper.make_node("Add", ["ctxhead_base_scaled", "ctxhead_ctx_score"], ["ctxhead_sum"]),
        helper.make_node("Add", ["ctxhead_sum", "ctxhead_b"], [OUTPUT_NAME]),
    ]
    doc = f"{g.doc_string or base_model.doc_string}; context head (a={a:.4g}, b={b:.4g}) learned from baskets"
    extra = [(o.domain, o.version) for o in base_model.opset_import if o.domain]
    return make_model(head[:2] + nodes + head[2:], inits, n_base + k, doc, extra_opsets=extra)


def reference(base_ref, n_base, a, w, b):
    """The composed model's scores in float64, from the base model's reference function."""
    def ref(X):
        X = np.asarray(X)
        return a * np.asarray(base_ref(X[:, :n_base]), np.float64).ravel() + X[:, n_base:] @ w + b
    return ref


def main():
    """Add a context head to an existing model directory (any kind, e.g. one from export.py)."""
    import argparse
    import os

    import model_card
    from common import load_manifest, load_matrix, ort_scores, ranking_metrics, save_model_dir, write_layer_metrics
    import onnx

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--model", required=True, help="model directory (manifest.json, model.onnx)")
    ap.add_argument("--train", required=True, help="`tailor features --baskets N` matrix")
    ap.add_argument("--valid", help="a second such matrix, for the card's cart-row metrics")
    ap.add_argument("--out", required=True)
    ap.add_argument("--name")
    ap.add_argument("--version")
    ap.add_argument("--description")
    a = ap.parse_args()
    man = load_manifest(a.model)
    base_feats = man["features"]
    if set(base_feats) & set(CONTEXT_FEATURES):
        raise SystemExit(f"{a.model} already reads context features")
    base = onnx.load(os.path.join(a.model, "model.onnx"))
    feats = base_feats + CONTEXT_FEATURES
    tu, ty, tX, _ = load_matrix(a.train, feats)
    cart = cart_rows(tu)
    if not cart.any():
        raise SystemExit(f"{a.train} has no cart rows: write it with `tailor features --baskets N`")
    n = len(base_feats)
    a_, w_, b_ = fit(ort_scores(base, tX[cart, :n]).astype(np.float64), tX[cart, n:], ty[cart])
    model = compose(base, n, a_, w_, b_)
    head = {"a": a_, "w": dict(zip(CONTEXT_FEATURES, map(float, w_))), "b": b_,
            "train_cart_rows": int(cart.sum())}
    if a.valid:
        vu, vy, vX, _ = load_matrix(a.valid, feats)
        vc = cart_rows(vu)
        if vc.any():
            head["valid_cart"] = ranking_metrics(vu[vc], vy[vc], ort_scores(model, vX[vc]))
            head["valid_cart_base_only"] = ranking_metrics(vu[vc], vy[vc], ort_scores(base, vX[vc, :n]))
    description = a.description or f"{man.get('description', man['name'])}; with a context head learned from baskets"
    save_model_dir(a.out, model, a.name or man["name"], a.version or man["version"], feats, description, X=tX,
                   reference_X=tX[~cart], with_reference="score_reference" in man)
    write_layer_metrics(a.model, a.out, model, a.name or man["name"], feats, "context_head", head)
    model_card.write_card(a.out)
    print(f"context head: a {a_:.4f}, b {b_:.4f}, w {head['w']}; wrote {a.out}")


if __name__ == "__main__":
    main()
