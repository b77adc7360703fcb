"""Export a fitted model to Tailor's contract, in one call:

    from export import export
    export(fitted, features, "models/my-ranker", name="my-ranker", X=X_train)

`fitted` is one of
  - scikit-learn: MLPClassifier or LogisticRegression (binary), alone or as the last step of a
    Pipeline whose earlier steps are StandardScaler / MinMaxScaler (folded into the first layer);
  - LightGBM: LGBMClassifier / LGBMRegressor / Booster (numeric splits);
  - XGBoost: XGBClassifier / XGBRegressor / Booster (gbtree);
  - PyTorch: an nn.Module mapping float32 [N, F] to [N] or [N, 1] (exported with torch.onnx).
`features` are registry names in the model's column order; X (rows of those features, e.g. the
training matrix) gives the feature ranges written into the manifest (the loader probes them)
and the rows the export is verified on.

Written: OUT/model.onnx (one float32 input "features" [N, F] with symbolic N, one float32
output "score" [N] = the positive-class margin, i.e. log-odds for classifiers; plain ONNX,
opset 13, IR 8, no ai.onnx.ml ops; trees in the GEMM form of tree2gemm.py) and
OUT/manifest.json. The export is checked against the fitted model's own margin (relative
tolerance `tolerance`: |diff| <= tol * max(1, |margin|)) before anything is written.

Command line (for a pickled / joblib-dumped model):
    python export.py MODEL.joblib OUT_DIR --features a,b,... --name NAME [--matrix CSV]
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (INPUT_NAME, IR_VERSION, OPSET, OUTPUT_NAME, check_features,  # noqa: E402
                    const, make_model, op_list, ort_session, reference_rows, score_reference,
                    sha256_file, write_json)
from tree2gemm import f32_below, f32_floor, gemm_model  # noqa: E402


class ExportError(ValueError):
    """A model this helper cannot export exactly; the message says why and what to do."""


# ---------------------------------------------------------------- scikit-learn
def _fold_scalers(steps, n_features):
    """Affine map x -> x * a + c of the leading scalers (float64)."""
    a, c = np.ones(n_features), np.zeros(n_features)
    for name, step in steps:
        kind = type(step).__name__
        if kind == "StandardScaler":
            mean = step.mean_ if step.mean_ is not None else np.zeros(n_features)
            scale = step.scale_ if step.scale_ is not None else np.ones(n_features)
            a, c = a / scale, (c - mean) / scale
        elif kind == "MinMaxScaler":
            a, c = a * step.scale_, c * step.scale_ + step.min_
        elif step is None or step == "passthrough":
            continue
        else:
            raise ExportError(f"pipeline step {name!r} ({kind}): only StandardScaler and "
                              "MinMaxScaler can be folded in front of the model")
    return a, c


def _dense_layers(est):
    kind = type(est).__name__
    if kind == "LogisticRegression":
        if est.coef_.shape[0] != 1:
            raise ExportError("LogisticRegression with more than two classes")
        return [(est.coef_.T.astype(np.float64), est.intercept_.astype(np.float64))], "identity"
    if kind == "MLPClassifier":
        if est.n_outputs_ != 1 or est.out_activation_ != "logistic":
            raise ExportError("MLPClassifier must be a binary classifier (one logistic output)")
        return list(zip(est.coefs_, est.intercepts_)), est.activation
    if kind == "MLPRegressor":
        if est.n_outputs_ != 1:
            raise ExportError("MLPRegressor with more than one target")
        return list(zip(est.coefs_, est.intercepts_)), est.activation
    raise ExportError(f"{kind}: supported scikit-learn models are MLPClassifier, MLPRegressor "
                      "and LogisticRegression (convert tree ensembles with tree2gemm.py)")


ACTIVATIONS = {"relu": "Relu", "tanh": "Tanh", "logistic": "Sigmoid", "identity": None}


def _sklearn(model, n_features):
    steps = model.steps[:-1] if type(model).__name__ == "Pipeline" else []
    est = model.steps[-1][1] if steps or type(model).__name__ == "Pipeline" else model
    a, c = _fold_scalers(steps, n_features)
    layers, activation = _dense_layers(est)
    w0, b0 = layers[0]
    layers[0] = (w0 * a[:, None], b0 + c @ w0)          # scaler folded into layer 1
    nodes, inits, x = [], [], INPUT_NAME
    for i, (w, b) in enumerate(layers):
        inits += [const(f"w{i}", np.asarray(w, np.float32)), const(f"b{i}", np.asarray(b, np.float32))]
        nodes += [helper.make_node("MatMul", [x, f"w{i}"], [f"mm{i}"]),
                  helper.make_node("Add", [f"mm{i}", f"b{i}"], [f"h{i}"])]
        x = f"h{i}"
        if i < len(layers) - 1 and ACTIVATIONS[activation]:
            nodes.append(helper.make_node(ACTIVATIONS[activation], [x], [f"a{i}"]))
            x = f"a{i}"
    nodes.append(helper.make_node("Reshape", [x, "shape_n"], [OUTPUT_NAME]))
    inits.append(const("shape_n", [-1], np.int64))

    def margin(X):
        h = X.astype(np.float64) * a + c
        for i, (w, b) in enumerate(_dense_layers(est)[0]):
            h = h @ w + b
            if i < len(layers) - 1:
                h = {"relu": lambda v: np.maximum(v, 0), "tanh": np.tanh,
                     "logistic": lambda v: 1 / (1 + np.exp(-v)), "identity": lambda v: v}[activation](h)
        return h.ravel()
    graph = make_model(nodes, inits, n_features, f"{type(est).__name__} (scalers folded)")
    return graph, margin, getattr(model, "predict_proba", None)


# ---------------------------------------------------------------- trees
def _lightgbm_trees(booster):
    dump = booster.dump_model()
    if dump.get("num_class", 1) != 1 or dump.get("num_tree_per_iteration", 1) != 1:
        raise ExportError("LightGBM multi-class model (only binary / regression)")
    trees = []
    for info in dump["tree_info"]:
        splits, leaves, ids = {}, {}, iter(range(1 << 30))

        def walk(node):
            nid = next(ids)
            if "leaf_value" in node:
                leaves[nid] = float(node["leaf_value"])
                return nid
            if node.get("decision_type") != "<=":
                raise ExportError(f"LightGBM split {node.get('decision_type')!r} (categorical "
                                  "splits are not supported; encode categories as numbers)")
            if node.get("missing_type") == "Zero":
                raise ExportError("LightGBM zero_as_missing splits (0 would take the default "
                                  "branch; Tailor's features use 0 for 'absent'): train without it")
            left, right = walk(node["left_child"]), walk(node["right_child"])
            # LightGBM compares the input as a double: x <= t  <=>  x <= largest float32 <= t
            splits[nid] = (int(node["split_feature"]), f32_floor(float(node["threshold"])), left, right)
            return nid
        root = walk(info["tree_structure"])
        trees.append((root, splits, leaves))
    return trees


def _xgboost_trees(booster):
    import json
    model = json.loads(booster.save_raw("json"))["learner"]
    gb = model["gradient_booster"]
    if gb.get("name") != "gbtree":
        raise ExportError(f"XGBoost booster {gb.get('name')!r} (only gbtree)")
    if int(model["learner_model_param"].get("num_class", "0")) > 1:
        raise ExportError("XGBoost multi-class model (only binary / regression)")
    trees = []
    for t in gb["model"]["trees"]:
        lc, rc = t["left_children"], t["right_children"]
        feat, cond = t["split_indices"], t["split_conditions"]
        if any(t.get("split_type", [0] * len(lc))):
            raise ExportError("XGBoost categorical splits are not supported")
        splits, leaves = {}, {}
        for n in range(len(lc)):
            if lc[n] == -1:
                leaves[n] = float(cond[n])            # a leaf's value sits in split_conditions
            else:
                # XGBoost goes left iff x < cond (float32)  <=>  x <= largest float32 < cond
                splits[n] = (int(feat[n]), f32_below(float(np.float32(cond[n]))), lc[n], rc[n])
        trees.append((0, splits, leaves))
    return trees


def _trees(model, n_features, X):
    kind = type(model).__name__
    module = type(model).__module__
    if module.startswith("lightgbm"):
        booster = model if kind == "Booster" else model.booster_
        trees = _lightgbm_trees(booster)
        margin = lambda X: booster.predict(X, raw_score=True)  # noqa: E731
    else:
        import xgboost
        booster = model if kind == "Booster" else model.get_booster()
        trees = _xgboost_trees(booster)
        margin = lambda X: booster.predict(xgboost.DMatrix(X), output_margin=True)  # noqa: E731
    # The base margin (LightGBM's init score, XGBoost's base_score as a margin) is what the
    # model adds to the leaves: read it off the model itself instead of each library's encoding.
    bare = gemm_model(trees, 0.0, n_features, doc="probe")
    leaves = ort_session(bare).run([OUTPUT_NAME], {INPUT_NAME: X[:256]})[0].astype(np.float64)
    base = float(np.median(margin(X[:256]) - leaves))
    graph = gemm_model(trees, base, n_features,
                       doc=f"{kind} ({len(trees)} trees), GEMM form by models/train/export.py")
    return graph, margin, getattr(model, "predict_proba", None)


# ---------------------------------------------------------------- PyTorch
def _torch(module, n_features):
    import io

    import torch
    module.eval()
    buf = io.BytesIO()
    torch.onnx.export(module, torch.zeros(2, n_features), buf, input_names=[INPUT_NAME],
                      output_names=[OUTPUT_NAME], opset_version=17, dynamo=False,
                      dynamic_axes={INPUT_NAME: {0: "N"}, OUTPUT_NAME: {0: "N"}})
    graph = onnx.load_from_string(buf.getvalue())
    graph.ir_version = min(graph.ir_version, IR_VERSION)

    def margin(X):
        with torch.no_grad():
            return module(torch.from_numpy(np.asarray(X, np.float32))).numpy().astype(np.float64).ravel()
    return graph, margin, None


# ---------------------------------------------------------------- export
def convert(model, n_features, X):
    """(ONNX graph, margin function, predict_proba or None) of a fitted model; what `export`
    writes after verifying it. Raises ExportError for what it cannot export exactly."""
    module = type(model).__module__
    if module.startswith("sklearn"):
        return _sklearn(model, n_features)
    if module.startswith(("lightgbm", "xgboost")):
        return _trees(model, n_features, X)
    if module.startswith("torch"):
        return _torch(model, n_features)
    raise ExportError(f"{type(model).__name__} from {module}: export supports scikit-learn, "
                      "LightGBM, XGBoost and PyTorch models")


def _verify(graph, margin, proba, X, tolerance):
    got = ort_session(graph).run([OUTPUT_NAME], {INPUT_NAME: X})[0].astype(np.float64)
    if got.shape != (len(X),) and got.shape != (len(X), 1):
        raise ExportError(f"the exported graph outputs {got.shape}, not [N]")
    want = np.asarray(margin(X), np.float64).ravel()
    rel = float(np.max(np.abs(got.ravel() - want) / np.maximum(1.0, np.abs(want))))
    checks = {"max_rel_diff_vs_model_margin": rel}
    if proba is not None:
        p = np.asarray(proba(X))[:, 1]
        checks["max_abs_diff_sigmoid_vs_predict_proba"] = float(
            np.max(np.abs(1 / (1 + np.exp(-got.ravel())) - p)))
    bad = {k: v for k, v in checks.items() if not v <= tolerance}
    if bad:
        raise ExportError(f"verification failed on {len(X)} rows (tolerance {tolerance}, relative "
                          f"for margins): {bad}; pass tolerance=... to accept a larger difference")
    return checks


def export(model, features, out, name, version="1", X=None, description=None, tolerance=1e-4):
    """Export `model` (see module doc) to OUT/model.onnx + OUT/manifest.json; returns the
    verification figures. Raises ExportError (nothing written) when it cannot export exactly."""
    check_features(features)
    n = len(features)
    reference = None
    if X is None:
        X = np.random.default_rng(0).normal(size=(2000, n)).astype(np.float32)
        ranges = {}
    else:
        X = np.asarray(X, np.float32)
        if X.ndim != 2 or X.shape[1] != n:
            raise ExportError(f"X has shape {X.shape}; expected [rows, {n}] in `features` order")
        ranges = {f: [float(lo), float(hi)] for f, lo, hi in zip(features, X.min(0), X.max(0))}
    graph, margin, proba = convert(model, n, X)
    onnx.checker.check_model(graph)
    checks = _verify(graph, margin, proba, X[:4000], tolerance)
    if ranges:
        # Only for real training rows: the model guard compares device scores with these.
        reference = score_reference(ort_session(graph).run(
            [OUTPUT_NAME], {INPUT_NAME: reference_rows(X)})[0])
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "model.onnx")
    onnx.save(graph, path)
    manifest = {"name": name, "version": str(version), "features": list(features),
                "inputs": {"features": INPUT_NAME}, "output": OUTPUT_NAME,
                "sha256": sha256_file(path),
                "description": description or f"{type(model).__name__} exported by models/train/export.py",
                "opset": OPSET, "ranges": ranges}
    if reference:
        manifest["score_reference"] = reference
    write_json(os.path.join(out, "manifest.json"), manifest)
    return dict(checks, ops=op_list(graph))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="a joblib/pickle file of the fitted model")
    ap.add_argument("out")
    ap.add_argument("--features", required=True, help="comma list, in the model's column order")
    ap.add_argument("--name", required=True)
    ap.add_argument("--version", default="1")
    ap.add_argument("--matrix", help="a `tailor features` CSV: ranges and verification rows")
    ap.add_argument("--tolerance", type=float, default=1e-4)
    a = ap.parse_args()
    import joblib
    features = a.features.split(",")
    X = None
    if a.matrix:
        from common import load_matrix
        X = load_matrix(a.matrix, features)[2]
    try:
        info = export(joblib.load(a.model), features, a.out, a.name, a.version, X, tolerance=a.tolerance)
    except ExportError as e:
        raise SystemExit(f"export: {e}")
    print(f"export: {a.out}: {info}")


if __name__ == "__main__":
    main()
