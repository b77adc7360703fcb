"""Convert an ai.onnx.ml TreeEnsembleRegressor / binary TreeEnsembleClassifier into
plain-ONNX tensor ops (the GEMM formulation of tree inference, as in Hummingbird)
so tract runs it fast on device. The result is verified against onnxruntime on the
source model before it is written.

    python tree2gemm.py SRC.onnx OUT.onnx [--proba] [--selector gather|matmul]
        [--rows 4000] [--tolerance 1e-5 (relative)] [--input-name features] [--output-name score]
        [--features f1,f2,...  --name NAME --version V]   # also write OUT's manifest.json

SRC may be what skl2onnx, onnxmltools (LightGBM, XGBoost) or train.py export: any
graph holding exactly one TreeEnsembleRegressor (1 target, SUM/AVERAGE, NONE) or
binary TreeEnsembleClassifier (NONE/LOGISTIC, all weights on one class id) whose
input is the graph's float input. Output: one float32 "score" of shape [N] = the
raw margin (log-odds for LOGISTIC classifiers; with --proba, its sigmoid, equal to
the source's probability of the positive class).

The graph, for K trees padded to I internal nodes and L leaves each:
  1. x_sel = Gather(features, node_feature)          -> [N, K*I]  (or features @ A)
     went_left = Less(x_sel, B)                       every split as "x <= t"
  2. hit = Equal(Cast(went_left) @ C, D)              -> [N, K*L]  one-hot leaf per tree
     (the MatMul is batched per tree: [N, K, 1, I] @ [K, I, L] -> [N, K, 1, L])
     C[k,i,l] = +1 if leaf l lies left of node i, -1 if right, 0 if i is not on its path;
     D[k,l] = number of left turns on the path to l. The sum equals D only when every
     left-ancestor went left and no right-ancestor did, i.e. exactly at the reached leaf.
  3. score = Cast(hit) @ E + base                     E = leaf values, summed over trees
Every split mode is rewritten exactly as "go left iff x <= t" on float32: for float32 x,
  x <  t  <=>  x <= (largest float32 < t),   x >= t <=> not(x < t)   (children swapped),
  x >  t  <=>  not(x <= t),                   x <= t (t a double) <=> x <= (largest float32 <= t);
and stage 1 uses Less with B = nextafter(t, +inf), since x <= t <=> x < nextafter(t, +inf).
NaN inputs are not supported (Tailor's features are always finite).
"""
import argparse
import os
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (INPUT_NAME, ML_OPSET, OPSET, OUTPUT_NAME, check_features, const,  # noqa: E402
                    make_model, op_list, ort_session, sha256_file, tract_scores,
                    write_json)

TREE_OPS = ("TreeEnsembleRegressor", "TreeEnsembleClassifier")
F32_INF = np.float32(np.inf)


class Refuse(SystemExit):
    """A model this converter cannot convert exactly."""
    def __init__(self, msg):
        super().__init__(f"tree2gemm: cannot convert: {msg}")


# ---------------------------------------------------------------- exact thresholds
def f32_floor(t):
    """Largest float32 <= t (t a Python float / float64)."""
    t32 = np.float32(t)
    return np.nextafter(t32, -F32_INF) if float(t32) > t else t32


def f32_below(t):
    """Largest float32 < t."""
    t32 = f32_floor(t)
    return np.nextafter(t32, -F32_INF) if float(t32) == t else t32


def as_leq(mode, t, true_id, false_id):
    """Rewrite one split as (t32, left, right) with: go `left` iff x <= t32."""
    if mode == "BRANCH_LEQ":
        return f32_floor(t), true_id, false_id
    if mode == "BRANCH_LT":
        return f32_below(t), true_id, false_id
    if mode == "BRANCH_GT":       # x > t  <=>  not (x <= t)
        return f32_floor(t), false_id, true_id
    if mode == "BRANCH_GTE":      # x >= t <=>  not (x < t)
        return f32_below(t), false_id, true_id
    raise Refuse(f"split mode {mode} (only LEQ/LT/GTE/GT splits can be expressed)")


# ---------------------------------------------------------------- ONNX-ML parsing
def attr(node, name, default=None):
    """Attribute value; *_as_tensor (double) variants are read transparently."""
    for a in node.attribute:
        if a.name in (name, name + "_as_tensor"):
            v = helper.get_attribute_value(a)
            if isinstance(v, onnx.TensorProto):
                return numpy_helper.to_array(v).astype(np.float64).ravel().tolist()
            if isinstance(v, bytes):
                return v.decode()
            if isinstance(v, list) and v and isinstance(v[0], bytes):
                return [s.decode() for s in v]
            return list(v) if not isinstance(v, (int, float)) else v
    return default


def parse_ensemble(node):
    """-> (trees, base, info). trees: list of (root, splits{id: (feat, t32, left, right)},
    leaves{id: value}); every split already in "x <= t32 goes left" form."""
    op = node.op_type
    modes = attr(node, "nodes_modes")
    tids, nids = attr(node, "nodes_treeids"), attr(node, "nodes_nodeids")
    feats, vals = attr(node, "nodes_featureids"), attr(node, "nodes_values")
    trues, falses = attr(node, "nodes_truenodeids"), attr(node, "nodes_falsenodeids")
    if modes is None:
        raise Refuse(f"{op} without nodes_* attributes")
    missing = attr(node, "nodes_missing_value_tracks_true") or []
    post = attr(node, "post_transform", "NONE")
    base_values = attr(node, "base_values") or []
    if op == "TreeEnsembleRegressor":
        if attr(node, "n_targets", 1) != 1:
            raise Refuse(f"n_targets={attr(node, 'n_targets')} (only single-output regressors)")
        if post != "NONE":
            raise Refuse(f"regressor post_transform {post}")
        agg = attr(node, "aggregate_function", "SUM")
        if agg not in ("SUM", "AVERAGE"):
            raise Refuse(f"aggregate_function {agg} (only SUM and AVERAGE)")
        w_t, w_n, w_id, w_v = (attr(node, "target_" + k) for k in ("treeids", "nodeids", "ids", "weights"))
    else:
        agg = "SUM"
        labels = attr(node, "classlabels_int64s") or attr(node, "classlabels_strings") or []
        if len(labels) != 2:
            raise Refuse(f"{len(labels)} classes (only binary classifiers)")
        if post not in ("NONE", "LOGISTIC"):
            raise Refuse(f"classifier post_transform {post} (only NONE and LOGISTIC)")
        w_t, w_n, w_id, w_v = (attr(node, "class_" + k) for k in ("treeids", "nodeids", "ids", "weights"))
        if len(set(w_id)) > 1:
            raise Refuse("binary classifier with weights on both classes "
                         "(only the one-score layout of skl2onnx/LightGBM/XGBoost)")
    if len(base_values) > 1:
        raise Refuse(f"{len(base_values)} base_values (expected at most 1)")
    base = float(base_values[0]) if base_values else 0.0

    trees = {}
    for k, (t, n, m) in enumerate(zip(tids, nids, modes)):
        splits, leaves, children = trees.setdefault(t, ({}, {}, set()))
        if m == "LEAF":
            leaves[n] = 0.0
        else:
            splits[n] = (feats[k],) + as_leq(m, float(vals[k]), trues[k], falses[k])
            children.update((trues[k], falses[k]))
    for t, n, v in zip(w_t, w_n, w_v):
        if n not in trees[t][1]:
            raise Refuse(f"weight on non-leaf node {t}/{n}")
        trees[t][1][n] += v
    out = []
    for t in sorted(trees):
        splits, leaves, children = trees[t]
        roots = (set(splits) | set(leaves)) - children
        if len(roots) != 1:
            raise Refuse(f"tree {t} has {len(roots)} roots")
        out.append((roots.pop(), splits, leaves))
    scale = 1.0 / len(out) if agg == "AVERAGE" else 1.0   # AVERAGE = sum / n_trees, then + base
    if scale != 1.0:
        out = [(r, s, {k: v * scale for k, v in lv.items()}) for r, s, lv in out]
    info = dict(op=op, post_transform=post, aggregate=agg, trees=len(out),
                missing_tracks_true=int(any(missing)))
    return out, base, info


# ---------------------------------------------------------------- GEMM graph
def gemm_tensors(trees):
    """Pack the trees into the padded block tensors A-E (see module doc)."""
    K = len(trees)
    paths = []                       # per tree: list of (leaf_value, [(split_idx, went_left)])
    split_ids = []
    for root, splits, leaves in trees:
        order = {n: i for i, n in enumerate(sorted(splits))}
        split_ids.append([splits[n] for n in sorted(splits)])
        tp, stack = [], [(root, [])]
        while stack:
            n, path = stack.pop()
            if n in leaves:
                tp.append((leaves[n], path))
            elif n in splits:
                _, _, left, right = splits[n]
                stack += [(left, path + [(order[n], True)]), (right, path + [(order[n], False)])]
            else:
                raise Refuse(f"dangling child id {n}")
        paths.append(tp)
    I = max(1, max(len(s) for s in split_ids))
    L = max(len(p) for p in paths)
    feat = np.zeros((K, I), np.int64)
    B = np.full((K, I), F32_INF, np.float32)         # padded nodes: harmless (C rows are 0)
    C = np.zeros((K, I, L), np.float32)
    D = np.full((K, L), -1.0, np.float32)            # padded leaves: -1 is never reached
    E = np.zeros((K, L), np.float32)
    for k in range(K):
        for i, (f, t32, _, _) in enumerate(split_ids[k]):
            feat[k, i], B[k, i] = f, np.nextafter(np.float32(t32), F32_INF)
        for l, (value, path) in enumerate(paths[k]):
            for i, left in path:
                C[k, i, l] = 1.0 if left else -1.0
            D[k, l] = sum(left for _, left in path)
            E[k, l] = value
    return feat, B, C, D, E


def gemm_model(trees, base, n_features, proba=False, selector="gather",
               input_name=INPUT_NAME, output_name=OUTPUT_NAME, doc="tree ensemble (GEMM form)"):
    feat, B, C, D, E = gemm_tensors(trees)
    K, I = feat.shape
    L = C.shape[2]
    if feat.max() >= n_features:
        raise Refuse(f"split on feature {feat.max()} but the input has {n_features} features")
    n = helper.make_node
    if selector == "gather":        # exact column pick
        stage1 = [n("Gather", [input_name, "node_feature"], ["x_sel"], axis=1)]
        inits = [const("node_feature", feat.ravel(), np.int64)]
    else:                           # features @ one-hot A (exact for finite inputs)
        A = np.zeros((n_features, K * I), np.float32)
        A[feat.ravel(), np.arange(K * I)] = 1.0
        stage1 = [n("MatMul", [input_name, "A"], ["x_sel"])]
        inits = [const("A", A)]
    # Less / Equal run on 2-D [N, K*I] / [N, K*L] tensors against a flat row of constants:
    # tract broadcasts that ~10x faster than the 4-D [N, K, 1, *] layout the MatMul needs.
    nodes = stage1 + [
        n("Less", ["x_sel", "B"], ["went_left"]),                    # [N, K*I]
        n("Cast", ["went_left"], ["went_left_f"], to=TensorProto.FLOAT),
        n("Reshape", ["went_left_f", "shape_nk1i"], ["went_left_4d"]),
        n("MatMul", ["went_left_4d", "C"], ["path_sum_4d"]),         # [N, K, 1, L]
        n("Reshape", ["path_sum_4d", "shape_nkl"], ["path_sum"]),   # [N, K*L]
        n("Equal", ["path_sum", "D"], ["leaf_hit"]),
        n("Cast", ["leaf_hit"], ["leaf_hit_f"], to=TensorProto.FLOAT),
        n("MatMul", ["leaf_hit_f", "E"], ["tree_sum"]),              # [N, 1]
        n("Add", ["tree_sum", "base"], ["margin"]),
    ]
    last = "margin"
    if proba:
        nodes.append(n("Sigmoid", ["margin"], ["prob"]))
        last = "prob"
    nodes.append(n("Reshape", [last, "shape_n"], [output_name]))
    inits += [const("B", B.ravel()), const("shape_nk1i", [-1, K, 1, I], np.int64), const("C", C),
              const("shape_nkl", [-1, K * L], np.int64), const("D", D.ravel()),
              const("E", E.reshape(-1, 1)), const("base", [base]), const("shape_n", [-1], np.int64)]
    model = make_model(nodes, inits, n_features, doc)
    if input_name != INPUT_NAME or output_name != OUTPUT_NAME:
        model.graph.input[0].name, model.graph.output[0].name = input_name, output_name
        onnx.checker.check_model(model)
    return model


# ---------------------------------------------------------------- ML export (reference)
def ml_regressor(trees, base, n_features):
    """Build a ModelProto with one TreeEnsembleRegressor from raw trees
    [(root, {id: (feat, threshold, true_id, false_id)}, {leaf_id: value})], all splits
    BRANCH_LEQ (true = x <= threshold, threshold a double as scikit-learn stores it).
    ORT compares float inputs with float thresholds, so each threshold is stored as the
    largest float32 <= it: exactly scikit-learn's decision for every float32 input
    (rounding to nearest, as skl2onnx does, flips inputs that fall between the two)."""
    cols = {k: [] for k in ("tid", "nid", "feat", "val", "mode", "true", "false")}
    tw = {k: [] for k in ("tid", "nid", "w")}
    for t, (_, splits, leaves) in enumerate(trees):
        for nid in sorted(set(splits) | set(leaves)):
            f, thr, tr, fa = splits.get(nid, (0, 0.0, 0, 0))
            for k, v in zip(cols, (t, nid, f, float(f32_floor(thr)),
                                   "LEAF" if nid in leaves else "BRANCH_LEQ", tr, fa)):
                cols[k].append(v)
            if nid in leaves:
                tw["tid"].append(t), tw["nid"].append(nid), tw["w"].append(leaves[nid])
    kw = dict(nodes_treeids=cols["tid"], nodes_nodeids=cols["nid"], nodes_featureids=cols["feat"],
              nodes_modes=cols["mode"], nodes_truenodeids=cols["true"], nodes_values=cols["val"],
              nodes_falsenodeids=cols["false"], target_treeids=tw["tid"], target_nodeids=tw["nid"],
              target_ids=[0] * len(tw["w"]), target_weights=tw["w"], n_targets=1,
              base_values=[base], aggregate_function="SUM", post_transform="NONE")
    node = helper.make_node("TreeEnsembleRegressor", [INPUT_NAME], [OUTPUT_NAME],
                            domain="ai.onnx.ml", **kw)
    return make_model([node], [], n_features, "raw ONNX-ML tree ensemble",
                      out_dims=("N", 1), extra_opsets=[("ai.onnx.ml", ML_OPSET)])


# ---------------------------------------------------------------- verification
def probe_inputs(trees, n_features, rows, seed=0):
    """Random rows concentrated on the split thresholds (exact values and their float32
    neighbours, to pin down <= vs <), plus a uniform spread and an all-zero row."""
    rng = np.random.default_rng(seed)
    thr = [[] for _ in range(n_features)]
    for _, splits, _ in trees:
        for f, t32, _, _ in splits.values():
            thr[f].append(np.float32(t32))
    X = np.zeros((rows, n_features), np.float32)
    for f in range(n_features):
        t = np.array(thr[f] or [0.0], np.float32)
        lo, hi = float(t.min()), float(t.max())
        span = max(hi - lo, 1.0)
        cand = rng.choice(t, rows)
        step = rng.integers(-1, 2, rows)   # t32 itself, or one float32 step either side
        exact = np.where(step < 0, np.nextafter(cand, -F32_INF),
                         np.where(step > 0, np.nextafter(cand, F32_INF), cand))
        spread = rng.uniform(lo - 0.2 * span, hi + 0.2 * span, rows).astype(np.float32)
        X[:, f] = np.where(rng.random(rows) < 0.5, exact, spread)
    X[0] = 0.0
    return X


def source_scores(model, tree_node, X, proba):
    """Score of the source tree node itself, straight from onnxruntime: Y for a
    regressor, P(positive class) for a classifier (or the margin when the classifier's
    post_transform is switched to NONE; then ORT reports the margin as column 1)."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    node = next(n for n in m.graph.node if n.op_type == tree_node.op_type)
    out = node.output[0] if node.op_type == "TreeEnsembleRegressor" else node.output[1]
    if node.op_type == "TreeEnsembleClassifier" and not proba:
        for a in node.attribute:
            if a.name == "post_transform":
                a.s = b"NONE"
    del m.graph.output[:]
    m.graph.output.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, None))
    sess = ort_session(m)
    y = sess.run([out], {sess.get_inputs()[0].name: X})[0]
    return y[:, -1] if y.ndim == 2 else y


def find_tree_node(model):
    if any(n.op_type == "TreeEnsemble" and n.domain == "ai.onnx.ml" for n in model.graph.node):
        raise Refuse("the unified ai.onnx.ml TreeEnsemble op (opset 5); export with "
                     "TreeEnsembleRegressor/Classifier (ai.onnx.ml opset <= 3) instead")
    trees = [n for n in model.graph.node if n.op_type in TREE_OPS]
    if len(trees) != 1:
        raise Refuse(f"expected exactly one of {TREE_OPS}, found {len(trees)}")
    node = trees[0]
    if len(model.graph.input) != 1 or model.graph.input[0].type.tensor_type.elem_type != TensorProto.FLOAT:
        raise Refuse("the graph must have exactly one float32 input")
    # the tree must read the graph input directly (Identity / Cast-to-float in between is fine)
    producers = {o: n for n in model.graph.node for o in n.output}
    src = node.input[0]
    while src in producers and producers[src].op_type in ("Identity", "Cast"):
        p = producers[src]
        if p.op_type == "Cast" and attr(p, "to") != TensorProto.FLOAT:
            break
        src = p.input[0]
    if src != model.graph.input[0].name:
        raise Refuse(f"the tree ensemble reads {node.input[0]!r}, not the graph input "
                     "(preprocessing nodes before the trees are not supported)")
    return node


def convert(src_model, proba=False, selector="gather", rows=4000, tolerance=1e-5,
            n_features=None, input_name=INPUT_NAME, output_name=OUTPUT_NAME, log=print):
    node = find_tree_node(src_model)
    trees, base, info = parse_ensemble(node)
    if n_features is None:
        dims = src_model.graph.input[0].type.tensor_type.shape.dim
        if len(dims) == 2 and dims[1].HasField("dim_value"):
            n_features = dims[1].dim_value
        else:
            n_features = 1 + max(s[0] for _, sp, _ in trees for s in sp.values())
    if proba and not (info["op"] == "TreeEnsembleClassifier" and info["post_transform"] == "LOGISTIC"):
        raise Refuse("--proba needs a classifier with post_transform LOGISTIC")
    if info["missing_tracks_true"]:
        log("tree2gemm: note: nodes_missing_value_tracks_true is set; NaN inputs would take "
            "the other branch in the converted graph (Tailor features are never NaN)")
    model = gemm_model(trees, base, n_features, proba, selector, input_name, output_name,
                       doc=f"GEMM form of {info['op']} ({info['trees']} trees)")
    X = probe_inputs(trees, n_features, rows)
    got = ort_session(model).run([output_name], {input_name: X})[0]
    want = source_scores(src_model, node, X, proba)
    def rel(a, b):   # margins of deep ensembles reach thousands: compare relative to them
        return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))))
    diff = float(np.max(np.abs(got.astype(np.float64) - want)))
    checks = {"max_rel_diff_vs_source": rel(got.astype(np.float64), want)}
    with tempfile.TemporaryDirectory() as tmp:   # and in tract itself, when its bindings are installed
        onnx.save(model, os.path.join(tmp, "m.onnx"))
        tr = tract_scores(os.path.join(tmp, "m.onnx"), X)
    if tr is not None:
        checks["max_rel_diff_tract_vs_source"] = rel(tr.astype(np.float64), want)
    if info["op"] == "TreeEnsembleClassifier" and info["post_transform"] == "LOGISTIC" and not proba:
        # margin output: its sigmoid must also match the source's own probabilities
        p = source_scores(src_model, node, X, True)
        sig = 1 / (1 + np.exp(-got.astype(np.float64)))
        checks["max_abs_diff_sigmoid_vs_source_proba"] = float(np.max(np.abs(sig - p)))
    info.update(checks, max_abs_diff_vs_source=diff, rows=rows, n_features=n_features,
                leaves_per_tree=int(gemm_tensors(trees)[2].shape[2]))
    bad = {k: v for k, v in checks.items() if not v <= tolerance}
    if bad:
        raise SystemExit(f"tree2gemm: verification FAILED on {rows} rows (relative tolerance "
                         f"{tolerance}: |diff| <= tol * max(1, |score|)): {bad}; if the difference "
                         "is float32 rounding of large margins, pass a larger --tolerance")
    return model, info


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--proba", action="store_true", help="output sigmoid(margin) (LOGISTIC classifiers)")
    ap.add_argument("--selector", choices=["gather", "matmul"], default="gather")
    ap.add_argument("--rows", type=int, default=4000, help="verification rows")
    ap.add_argument("--tolerance", type=float, default=1e-5,
                    help="relative: |diff| <= tol * max(1, |score|) (default 1e-5)")
    ap.add_argument("--n-features", type=int)
    ap.add_argument("--input-name", default=INPUT_NAME)
    ap.add_argument("--output-name", default=OUTPUT_NAME)
    ap.add_argument("--features", help="comma list; also write manifest.json next to OUT")
    ap.add_argument("--name")
    ap.add_argument("--version", default="1")
    a = ap.parse_args()
    src = onnx.load(a.src)
    if a.features:
        check_features(a.features.split(","))
    n_features = a.n_features or (len(a.features.split(",")) if a.features else None)
    model, info = convert(src, a.proba, a.selector, a.rows, a.tolerance, n_features,
                          a.input_name, a.output_name)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    onnx.save(model, a.out)
    print(f"tree2gemm: {info['op']} -> {a.out}: {info['trees']} trees, "
          f"{info['leaves_per_tree']} leaves/tree (padded), ops {op_list(model)}")
    print("tree2gemm: verified on", info["rows"], "rows:",
          {k: f"{v:.3g}" for k, v in info.items() if k.startswith("max_")})
    if a.features:
        feats = a.features.split(",")
        out_dir = os.path.dirname(os.path.abspath(a.out))
        manifest = {"name": a.name or os.path.basename(out_dir),
                    "version": a.version, "features": feats,
                    "inputs": {"features": a.input_name}, "output": a.output_name,
                    "sha256": sha256_file(a.out),
                    "description": f"converted from {os.path.basename(a.src)} by tree2gemm.py",
                    "opset": OPSET}
        write_json(os.path.join(out_dir, "manifest.json"), manifest)


if __name__ == "__main__":
    main()
