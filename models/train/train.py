"""Train one Tailor ranking model and export it as model.onnx + manifest.json +
metrics.json + README.md (model card) in --out.

    python train.py --train TRAIN.csv --valid VALID.csv
                    --kind {linear,mlp,gbt,embedding,lightgbm,xgboost,sklearn-pipeline}
                    --name NAME [--version 1] [--out models/NAME] [--features a,b,c]
                    [--seed 0] [--window "2025-01-01..2025-03-31"] [--description TEXT]

Every exported graph has one float32 input "features" [N, F] (symbolic N, columns in
manifest order) and one float32 output "score" [N] = the model's log-odds that the
shopper buys the item (higher = rank first). The export is checked against the
trained scikit-learn model before anything is written.
"""
import argparse
import os
import sys

import numpy as np
from onnx import helper
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import context_head  # noqa: E402
import model_card  # noqa: E402
import tree2gemm  # noqa: E402
from common import (CONTEXT_FEATURES, INPUT_NAME, ITEM_EMB, OUTPUT_NAME, PROFILE_EMB, SCALAR_FEATURES,  # noqa: E402
                    auc, check_features, const, data_meta, display_path, linear_graph, load_matrix,
                    make_model, op_list, ort_scores, ranking_metrics, save_model_dir,
                    write_json)

# The embedding match carries taste; these scalars carry what embeddings cannot (repeat purchases,
# popularity), so the model is a usable ranker and not only a demonstration of the input format.
EMB_SCALARS = ["bought_count", "recency_bought", "bought_share", "copurchase_score",
               "item_popularity", "popularity_percentile", "in_stock", "price_vs_usual"]
DEFAULT_FEATURES = {
    "linear": SCALAR_FEATURES,
    "mlp": SCALAR_FEATURES,
    "gbt": SCALAR_FEATURES,
    # item and profile embeddings (multiplied elementwise in the graph) + catalogue scalars
    "embedding": ITEM_EMB + PROFILE_EMB + EMB_SCALARS,
    # Models of other libraries, fitted as a shop's data scientist would and converted by
    # export.py's one call (trees to GEMM form, scalers folded in): the pipeline trains and
    # replays them like the built-in kinds, so "bring your own library" is tested end to end.
    "lightgbm": SCALAR_FEATURES,
    "xgboost": SCALAR_FEATURES,
    "sklearn-pipeline": SCALAR_FEATURES,
}


def standardizer(X):
    mu = X.mean(0).astype(np.float64)
    sd = X.std(0).astype(np.float64)
    sd[sd < 1e-9] = 1.0              # constant column: leave unscaled (weight ~0 anyway)
    return mu, sd


# ------------------------------------------------------------------ kinds
# Each returns (onnx_model, reference_logit_fn(X) -> float64 scores, hyperparameters).
def train_linear(X, y, seed):
    mu, sd = standardizer(X)
    lr = LogisticRegression(C=1.0, max_iter=5000, random_state=seed).fit((X - mu) / sd, y)
    # fold the standardization into the weights: w.(x-mu)/sd + b = (w/sd).x + (b - w.mu/sd)
    w = lr.coef_[0] / sd
    b = lr.intercept_[0] - (lr.coef_[0] * mu / sd).sum()
    model = linear_graph(w, b, "logistic regression (standardization folded in)")
    return model, lambda Z: lr.decision_function((Z - mu) / sd), {"C": 1.0, "solver": "lbfgs"}


def train_mlp(X, y, seed):
    mu, sd = standardizer(X)
    hp = dict(hidden_layer_sizes=(32, 16), activation="relu", alpha=1e-3, batch_size=256,
              learning_rate_init=1e-3, max_iter=60, early_stopping=True, random_state=seed)
    mlp = MLPClassifier(**hp).fit((X - mu) / sd, y)
    W, B = [w.astype(np.float64) for w in mlp.coefs_], [b.astype(np.float64) for b in mlp.intercepts_]
    B[0] = B[0] - (mu / sd) @ W[0]          # fold standardization into layer 1
    W[0] = W[0] / sd[:, None]
    nodes, inits, h = [], [], INPUT_NAME
    for i, (w, b) in enumerate(zip(W, B)):
        nodes += [helper.make_node("MatMul", [h, f"W{i}"], [f"mm{i}"]),
                  helper.make_node("Add", [f"mm{i}", f"B{i}"], [f"z{i}"])]
        inits += [const(f"W{i}", w), const(f"B{i}", b)]
        h = f"z{i}"
        if i < len(W) - 1:
            nodes.append(helper.make_node("Relu", [h], [f"h{i}"]))
            h = f"h{i}"
    nodes.append(helper.make_node("Reshape", [h, "flat"], [OUTPUT_NAME]))
    inits.append(const("flat", [-1], np.int64))
    model = make_model(nodes, inits, X.shape[1], "MLP 32-16 ReLU (standardization folded in)")

    def ref(Z):  # sklearn's forward pass in float64, before its final sigmoid
        a = (Z - mu) / sd
        for i, (w, b) in enumerate(zip(mlp.coefs_, mlp.intercepts_)):
            a = a @ w + b
            a = np.maximum(a, 0) if i < len(mlp.coefs_) - 1 else a
        assert np.allclose(1 / (1 + np.exp(-a[:, 0])), mlp.predict_proba((Z - mu) / sd)[:, 1])
        return a[:, 0]
    hp["hidden_layer_sizes"] = list(hp["hidden_layer_sizes"])
    return model, ref, dict(hp, epochs=mlp.n_iter_)


GBT_LEAF_CLIP = 10.0


def train_gbt(X, y, seed):
    hp = dict(n_estimators=100, max_depth=3, learning_rate=0.1, subsample=0.8, random_state=seed)
    gbc = GradientBoostingClassifier(**hp).fit(X, y)
    # Newton leaf values explode where positives are very rare (0.04% of rows on Amazon Sports:
    # a leaf of 1e111 in float64, inf in float32, NaN scores in ONNX). No single tree should move
    # the margin by more than GBT_LEAF_CLIP x learning rate; clipping the fitted trees in place keeps
    # sklearn's own scores (the export check's reference) equal to the exported graph's.
    for est in gbc.estimators_[:, 0]:
        np.clip(est.tree_.value, -GBT_LEAF_CLIP, GBT_LEAF_CLIP, out=est.tree_.value)
    base = float(gbc.decision_function(X[:1])[0] - sum(
        hp["learning_rate"] * e.predict(X[:1])[0] for e in gbc.estimators_[:, 0]))
    trees = []
    for est in gbc.estimators_[:, 0]:
        t = est.tree_
        kids = t.children_left >= 0
        splits = {i: (int(t.feature[i]), float(t.threshold[i]), int(t.children_left[i]),
                      int(t.children_right[i])) for i in np.flatnonzero(kids)}
        leaves = {i: hp["learning_rate"] * float(t.value[i, 0, 0]) for i in np.flatnonzero(~kids)}
        trees.append((0, splits, leaves))
    # sklearn -> ONNX-ML TreeEnsembleRegressor (ORT reference) -> GEMM form (verified vs ORT)
    ml = tree2gemm.ml_regressor(trees, base, X.shape[1])
    model, info = tree2gemm.convert(ml)
    model.doc_string = f"gradient-boosted trees ({len(trees)} x depth {hp['max_depth']}), GEMM form"
    probe = tree2gemm.probe_inputs(tree2gemm.parse_ensemble(ml.graph.node[0])[0], X.shape[1], 4000)
    check = {
        "max_abs_diff_gemm_vs_ort_ml_probe": info["max_abs_diff_vs_source"],
        "max_abs_diff_gemm_vs_sklearn_probe": float(np.abs(
            ort_scores(model, probe) - gbc.decision_function(probe)).max()),
    }
    if "max_rel_diff_tract_vs_source" in info:
        check["max_rel_diff_gemm_in_tract_vs_ort_ml_probe"] = info["max_rel_diff_tract_vs_source"]
    return model, gbc.decision_function, dict(hp, ml_model=ml, gemm_check=check)


def train_embedding(X, y, seed, feats):
    """score = w_e . (item_emb * profile_emb) + w_s . scalars + b (logistic regression on
    the elementwise product: a diagonal bilinear match of item and shopper)."""
    if feats[:32] != ITEM_EMB + PROFILE_EMB:
        raise SystemExit("embedding kind: features must start with item_embedding_0..15, "
                         "profile_embedding_0..15 (in that order), then scalars")
    k = len(feats) - 32

    def design(Z):
        return np.hstack([Z[:, :16].astype(np.float64) * Z[:, 16:32], Z[:, 32:]])
    D = design(X)
    mu, sd = standardizer(D)
    lr = LogisticRegression(C=1.0, max_iter=5000, random_state=seed).fit((D - mu) / sd, y)
    w = lr.coef_[0] / sd
    b = lr.intercept_[0] - (lr.coef_[0] * mu / sd).sum()
    n = helper.make_node
    nodes = [
        n("Slice", [INPUT_NAME, "s0", "s16", "ax1"], ["item"]),
        n("Slice", [INPUT_NAME, "s16", "s32", "ax1"], ["profile"]),
        n("Mul", ["item", "profile"], ["match"]),
        n("MatMul", ["match", "w_match"], ["score_match"]),
    ]
    inits = [const("s0", [0], np.int64), const("s16", [16], np.int64), const("s32", [32], np.int64),
             const("ax1", [1], np.int64), const("w_match", w[:16].reshape(-1, 1))]
    last = "score_match"
    if k:
        nodes += [n("Slice", [INPUT_NAME, "s32", "s_end", "ax1"], ["scalars"]),
                  n("MatMul", ["scalars", "w_scalar"], ["score_scalar"]),
                  n("Add", ["score_match", "score_scalar"], ["score_sum"])]
        inits += [const("s_end", [32 + k], np.int64), const("w_scalar", w[16:].reshape(-1, 1))]
        last = "score_sum"
    nodes += [n("Add", [last, "b"], ["logit"]), n("Reshape", ["logit", "flat"], [OUTPUT_NAME])]
    inits += [const("b", [b]), const("flat", [-1], np.int64)]
    model = make_model(nodes, inits, len(feats), "embedding match: (item*profile).w + scalars.v + b")
    return model, lambda Z: lr.decision_function((design(Z) - mu) / sd), {"C": 1.0, "scalars": k}


def train_library(kind):
    """A LightGBM / XGBoost / scikit-learn Pipeline model, converted by export.convert. Tree
    sizes are kept small: converted trees cost rank time per row (models/README.md, "Tree cost")."""
    def fit(X, y, seed):
        import export
        if kind == "lightgbm":
            import lightgbm
            hp = {"n_estimators": 60, "num_leaves": 15, "learning_rate": 0.1, "min_child_samples": 40}
            model = lightgbm.LGBMClassifier(**hp, random_state=seed, verbose=-1).fit(X, y)
        elif kind == "xgboost":
            import xgboost
            hp = {"n_estimators": 60, "max_depth": 4, "learning_rate": 0.1, "tree_method": "hist"}
            model = xgboost.XGBClassifier(**hp, random_state=seed, n_jobs=2).fit(X, y)
        else:
            from sklearn.pipeline import Pipeline
            from sklearn.preprocessing import StandardScaler
            hp = {"steps": "StandardScaler, MLPClassifier(32, 16)", "early_stopping": True}
            model = Pipeline([("scale", StandardScaler()),
                              ("mlp", MLPClassifier((32, 16), early_stopping=True, max_iter=200,
                                                    random_state=seed))]).fit(X, y)
        graph, margin, _ = export.convert(model, X.shape[1], X)
        return graph, margin, {"library": kind, **hp}
    return fit


# ------------------------------------------------------------------ main
def summarize(path, users, y):
    return {"path": display_path(path), "rows": int(len(y)), "users": int(len(set(users))),
            "positive_rate": round(float(y.mean()), 4), **data_meta(path)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", required=True)
    ap.add_argument("--valid", required=True)
    ap.add_argument("--kind", required=True, choices=sorted(DEFAULT_FEATURES))
    ap.add_argument("--features", help="comma list (default depends on --kind)")
    ap.add_argument("--name", required=True)
    ap.add_argument("--version", default="1")
    ap.add_argument("--out", help="output dir (default models/NAME)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--window", help="training window, for the model card")
    ap.add_argument("--description", help="manifest description")
    a = ap.parse_args()
    feats = a.features.split(",") if a.features else list(DEFAULT_FEATURES[a.kind])
    check_features(feats)
    out = a.out or os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), a.name)

    # A matrix with cart rows (`tailor features --baskets N`) also teaches the model the request's
    # context: the base model is trained on the "for you" rows, and a context head on the cart
    # rows (context_head.py); the model then serves the cart surfaces with its own score
    # (core/src/rank/surface.rs). Without cart rows the context features are left out (a model
    # that reads them would skip the surfaces' hand-set blends without having learned them).
    # Asked for by name (any context feature in --features: all of them, last), or by default for
    # the scalar kinds when the matrix has the columns.
    asked = bool(set(feats) & set(CONTEXT_FEATURES))
    auto_context = asked or (not a.features and DEFAULT_FEATURES[a.kind] is SCALAR_FEATURES)
    if auto_context and not asked:
        with open(a.train) as f:
            auto_context = set(CONTEXT_FEATURES) <= set(f.readline().strip().split(","))
    if auto_context:
        feats = [f for f in feats if f not in CONTEXT_FEATURES] + CONTEXT_FEATURES
    tu, ty, tX, _ = load_matrix(a.train, feats)
    vu, vy, vX, _ = load_matrix(a.valid, feats)
    t_cart, v_cart = context_head.cart_rows(tu), context_head.cart_rows(vu)
    n_base = len(feats) - (len(CONTEXT_FEATURES) if auto_context else 0)
    with_head = auto_context and bool(t_cart.any()) and bool(tX[t_cart, n_base:].any())
    if asked and not with_head:
        raise SystemExit(f"[{a.name}] context features need cart rows: write the training matrix "
                         "with `tailor features --baskets N`")
    if auto_context and not with_head:
        feats, tX, vX = feats[:n_base], tX[:, :n_base], vX[:, :n_base]
    # The base model learns from the "for you" rows only: cart rows are for the head.
    bX, by = tX[~t_cart, :n_base], ty[~t_cart]
    print(f"[{a.name}] {a.kind}: {len(feats)} features, train {tX.shape[0]} rows"
          f" ({int(t_cart.sum())} of them cart rows), valid {vX.shape[0]} rows")
    if a.kind == "embedding":
        model, ref, hp = train_embedding(bX, by, a.seed, feats)
    else:
        trainers = {"linear": train_linear, "mlp": train_mlp, "gbt": train_gbt,
                    **{k: train_library(k) for k in ("lightgbm", "xgboost", "sklearn-pipeline")}}
        model, ref, hp = trainers[a.kind](bX, by, a.seed)
    head_metrics, base_graph = None, model
    if with_head:
        base_ref = ref
        cart_base = np.asarray(base_ref(tX[t_cart, :n_base]), np.float64).ravel()
        a_, w_, b_ = context_head.fit(cart_base, tX[t_cart, n_base:], ty[t_cart], a.seed)
        model = context_head.compose(base_graph, n_base, a_, w_, b_)
        ref = context_head.reference(base_ref, n_base, a_, w_, b_)
        head_metrics = {"a": a_, "w": dict(zip(CONTEXT_FEATURES, map(float, w_))), "b": b_,
                        "train_cart_rows": int(t_cart.sum())}
        if v_cart.any():
            vc = v_cart
            head_metrics["valid_cart_base_only"] = ranking_metrics(
                vu[vc], vy[vc], ort_scores(base_graph, vX[vc, :n_base]))
    ml_model, gemm_check = hp.pop("ml_model", None), hp.pop("gemm_check", None)

    scores = ort_scores(model, vX)           # evaluate the exported artifact itself
    want = np.asarray(ref(vX), np.float64).ravel()
    # relative for large margins (summed trees), absolute near 0, as export.py verifies
    export_diff = float((np.abs(scores.astype(np.float64) - want) / np.maximum(1.0, np.abs(want))).max())
    if export_diff > 1e-4:
        raise SystemExit(f"[{a.name}] export check failed: ONNX vs sklearn max diff {export_diff}")
    export = {"max_rel_diff_onnx_vs_trained_valid": export_diff}
    if gemm_check:
        ml_valid = ort_scores(ml_model, vX[:, :n_base])
        gemm_valid = ort_scores(base_graph, vX[:, :n_base])
        export.update(gemm_check, max_abs_diff_gemm_vs_ort_ml_valid=float(np.abs(gemm_valid - ml_valid).max()))
        bad = {k: v for k, v in export.items() if v > 1e-5}
        if bad:
            raise SystemExit(f"[{a.name}] GEMM trees disagree beyond 1e-5: {bad}")

    desc = a.description or (f"{a.kind} ranker; score = log-odds of purchase"
                             + (" [SYNTHETIC training data: placeholder until retrained]"
                                if data_meta(a.train).get("synthetic") else ""))
    manifest = save_model_dir(out, model, a.name, a.version, feats, desc, X=np.vstack([tX, vX]),
                              reference_X=np.vstack([tX[~t_cart], vX[~v_cart]]) if with_head else None)
    metrics = {
        "name": a.name, "version": a.version, "kind": a.kind, "features": feats,
        "train": summarize(a.train, tu, ty), "valid": summarize(a.valid, vu, vy),
        "training_window": a.window or data_meta(a.train).get("training_window", "unknown"),
        "validation": {**ranking_metrics(vu[~v_cart], vy[~v_cart], scores[~v_cart]),
                       "auc": auc(vy[~v_cart], scores[~v_cart])},
        "hyperparameters": hp, "export_check": export,
        "onnx": {"ops": op_list(model), "opset": 13, "input": INPUT_NAME, "output": OUTPUT_NAME,
                 "output_shape": ["N"], "file_bytes": os.path.getsize(os.path.join(out, "model.onnx")),
                 "sha256": manifest["sha256"]},
    }
    if "item_popularity" in feats:   # a no-personalization baseline on the same groups
        pop = vX[~v_cart, feats.index("item_popularity")]
        metrics["baseline_item_popularity"] = ranking_metrics(vu[~v_cart], vy[~v_cart], pop)
    if head_metrics:
        if v_cart.any():
            head_metrics["valid_cart"] = ranking_metrics(vu[v_cart], vy[v_cart], scores[v_cart])
        metrics["context_head"] = head_metrics
    write_json(os.path.join(out, "metrics.json"), metrics)
    model_card.write_card(out)
    v = metrics["validation"]
    print(f"[{a.name}] NDCG@10 {v['ndcg@10']:.4f} HR@10 {v['hr@10']:.4f} AUC {v['auc']:.4f}; "
          f"export check {export}; wrote {out}")


if __name__ == "__main__":
    main()
