"""Shared helpers for the Tailor model pipeline: feature registry, ONNX building,
manifests, CSV loading, ranking metrics and onnxruntime/tract scoring."""
import csv
import hashlib
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# ---------------------------------------------------------------- features
SCALAR_FEATURES = [
    "affinity_category", "affinity_brand", "affinity_tags", "affinity_price_band",
    "session_affinity_category", "session_affinity_brand", "session_affinity_tags",
    "bought_count", "recency_bought", "bought_recent", "bought_share", "repurchase_due",
    "viewed_count", "recency_viewed",
    "carted_not_bought", "dismissed", "price_vs_usual", "item_popularity",
    "popularity_percentile", "copurchase_score", "embedding_similarity",
    "session_embedding_similarity", "explicit_preference", "in_stock", "price_log",
    "profile_event_count", "shopper_repeat_share", "item_repeat_rate", "item_repeat_known",
]
# Set only on rows with a context (a product page, a cart: `tailor features --baskets N`); 0 on
# "for you" rows, so a model trained on both serves every surface.
CONTEXT_FEATURES = [
    "context_copurchase", "context_embedding_similarity", "context_same_category",
    "context_same_brand", "context_price_vs", "context_size",
]
EMB_DIM = 16
ITEM_EMB = [f"item_embedding_{i}" for i in range(EMB_DIM)]
PROFILE_EMB = [f"profile_embedding_{i}" for i in range(EMB_DIM)]
ALL_FEATURES = SCALAR_FEATURES + ITEM_EMB + PROFILE_EMB
# Computed from a model directory's sequence model (sequence.py; 0 without one), so it is not a
# column of `tailor features` matrices and not in ALL_FEATURES.
SEQUENCE_FEATURE = "sequence_score"
FEATURE_SET = set(ALL_FEATURES) | set(CONTEXT_FEATURES) | {SEQUENCE_FEATURE}

# Contract constants (the Rust side relies on these).
INPUT_NAME = "features"
OUTPUT_NAME = "score"
OPSET = 13          # ai.onnx opset of every bundled model
ML_OPSET = 3        # ai.onnx.ml opset, only for reference / fixture tree-ensemble graphs
IR_VERSION = 8      # ONNX IR 8 covers opsets 13..17; accepted by tract and onnxruntime


def check_features(names):
    unknown = [n for n in names if n not in FEATURE_SET]
    if unknown:
        raise SystemExit(f"unknown feature(s): {unknown}; registry: {ALL_FEATURES}")
    if len(set(names)) != len(names):
        raise SystemExit("duplicate feature names")


# ---------------------------------------------------------------- ONNX building
def const(name, array, dtype=np.float32):
    return numpy_helper.from_array(np.asarray(array, dtype=dtype), name)


def io_float(name, dims):
    """float32 value info; dims may contain the symbolic batch "N"."""
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)


def make_model(nodes, inits, n_features, doc, out_dims=("N",), extra_opsets=(),
               in_dims=None, out_name=OUTPUT_NAME, graph_name="tailor"):
    """Wrap nodes into a checked ModelProto with one [N, F] float input "features"
    and one float output "score" (shape [N] unless out_dims says otherwise)."""
    in_dims = in_dims or ["N", n_features]
    graph = helper.make_graph(nodes, graph_name, [io_float(INPUT_NAME, in_dims)],
                              [io_float(out_name, list(out_dims))], initializer=inits)
    opsets = [helper.make_opsetid("", OPSET)] + [helper.make_opsetid(d, v) for d, v in extra_opsets]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="tailor-train",
                              doc_string=doc)
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def linear_graph(weights, bias, doc, out_dims=("N",)):
    """score = features @ w + b, as MatMul + Add + Reshape(-1) (output [N])."""
    w = np.asarray(weights, np.float32).reshape(-1, 1)
    nodes = [
        helper.make_node("MatMul", [INPUT_NAME, "w"], ["logit2d"]),
        helper.make_node("Add", ["logit2d", "b"], ["logit2d_b"]),
        helper.make_node("Reshape", ["logit2d_b", "flat"], [OUTPUT_NAME]),
    ]
    inits = [const("w", w), const("b", [bias]), const("flat", [-1], np.int64)]
    return make_model(nodes, inits, len(w), doc, out_dims)


def op_list(model):
    ops = sorted({(n.domain or "ai.onnx") + ":" + n.op_type if n.domain else n.op_type
                  for n in model.graph.node})
    return ops


# ---------------------------------------------------------------- manifests
def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def feature_ranges(features, X):
    """Manifest `ranges`: [min, max] of each column of the training matrix; Tailor's loader
    probes the model over them (NaN for some input in range = the model is refused)."""
    return {f: [float(lo), float(hi)] for f, lo, hi in zip(features, X.min(0), X.max(0))}


REFERENCE_ROWS = 50_000


def score_reference(scores):
    """Manifest `score_reference`: how the model's raw scores are distributed on the rows it was
    trained and validated on (count, mean, std and the nine deciles). Tailor's model guard
    compares the scores it sees on the device with these and rolls the model back when they
    drift too far (population stability index over the deciles); None without finite scores."""
    s = np.asarray(scores, np.float64).ravel()
    s = s[np.isfinite(s)]
    if not len(s):
        return None
    q = np.quantile(s, np.arange(1, 10) / 10)
    return {"rows": int(len(s)), "mean": float(s.mean()), "std": float(s.std()),
            "quantiles": [float(v) for v in q]}


def reference_rows(X):
    """At most REFERENCE_ROWS rows of X, spread evenly (deterministic)."""
    step = max(1, len(X) // REFERENCE_ROWS)
    return np.asarray(X[::step][:REFERENCE_ROWS], np.float32)


def save_model_dir(out_dir, model, name, version, features, description, X=None, reference_X=None,
                   with_reference=True):
    """Write model.onnx + manifest.json (the contract) into out_dir; with the training
    matrix X, the manifest records each feature's range and the model's score distribution
    on those rows (`score_reference`, for the on-device model guard) — or on `reference_X`
    when given (a model with a context head: the "for you" rows, the scores most rank calls
    see). `with_reference=False` writes no reference (the built-in model: any shop's scores
    differ from those of the shop it was trained on, and it has no earlier model to fall back to)."""
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "model.onnx")
    onnx.save(model, path)
    manifest = {
        "name": name, "version": str(version), "features": list(features),
        "inputs": {"features": INPUT_NAME}, "output": OUTPUT_NAME,
        "sha256": sha256_file(path), "description": description, "opset": OPSET,
    }
    if X is not None and len(X):
        manifest["ranges"] = feature_ranges(features, X)
        reference = with_reference and score_reference(
            ort_scores(model, reference_rows(X if reference_X is None else reference_X)))
        if reference:
            manifest["score_reference"] = reference
    write_json(os.path.join(out_dir, "manifest.json"), manifest)
    return manifest


def write_layer_metrics(base_dir, out_dir, model, name, features, layer, info):
    """metrics.json of a model made by composing a layer (`context_head`, `repeat_gate`) onto the
    model in base_dir: the base's metrics, the layer's own under its key, and the new graph's
    ops, size and hash. Returns the metrics."""
    base_path = os.path.join(base_dir, "metrics.json")
    metrics = json.load(open(base_path)) if os.path.exists(base_path) else {}
    path = os.path.join(out_dir, "model.onnx")
    metrics.update(name=name, features=list(features), **{layer: info})
    metrics["onnx"] = dict(metrics.get("onnx", {}), ops=op_list(model), file_bytes=os.path.getsize(path),
                           sha256=sha256_file(path))
    write_json(os.path.join(out_dir, "metrics.json"), metrics)
    return metrics


def load_manifest(model_dir):
    with open(os.path.join(model_dir, "manifest.json")) as f:
        return json.load(f)


# ---------------------------------------------------------------- data
def load_matrix(path, features=None):
    """Read a `tailor features` CSV: header user,item,label,<features...>.
    Returns (users[str], labels[int], X[float32, N x F], feature_names)."""
    with open(path, newline="") as f:
        header = next(csv.reader(f))
    if header[:3] != ["user", "item", "label"]:
        raise SystemExit(f"{path}: header must start with user,item,label (got {header[:3]})")
    cols = header[3:]
    features = features or cols
    missing = [c for c in features if c not in cols]
    if missing:
        raise SystemExit(f"{path}: missing feature columns {missing}")
    idx = [3 + cols.index(c) for c in features]
    users = np.loadtxt(path, delimiter=",", skiprows=1, comments=None, usecols=[0], dtype=str, ndmin=1)
    data = np.loadtxt(path, delimiter=",", skiprows=1, comments=None, usecols=[2] + idx,
                      dtype=np.float64, ndmin=2)
    return users, data[:, 0].astype(int), data[:, 1:].astype(np.float32), list(features)


REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def display_path(path):
    """Repo-relative path for files inside the repo (keeps cards machine-independent)."""
    full = os.path.abspath(path)
    return os.path.relpath(full, REPO_ROOT) if full.startswith(REPO_ROOT + os.sep) else path


def data_meta(path):
    """Sidecar written by synth.py (<csv>.meta.json); {} for real matrices."""
    meta = path + ".meta.json"
    if os.path.exists(meta):
        with open(meta) as f:
            return json.load(f)
    return {}


# ---------------------------------------------------------------- metrics
def ranking_metrics(users, labels, scores, k=10):
    """Mean NDCG@k and HR@k over user groups with at least one positive.
    Ties are broken by row order (stable sort) so results are deterministic."""
    order = np.argsort(users, kind="stable")
    users, labels, scores = users[order], labels[order], np.asarray(scores, np.float64)[order]
    bounds = np.flatnonzero(np.r_[True, users[1:] != users[:-1], True])
    ndcgs, hits = [], []
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    for a, b in zip(bounds[:-1], bounds[1:]):
        y = labels[a:b]
        if y.sum() == 0:
            continue
        top = y[np.argsort(-scores[a:b], kind="stable")][:k]
        ideal = np.sort(y)[::-1][:k]
        ndcgs.append(float((top * disc[:len(top)]).sum() / (ideal * disc[:len(ideal)]).sum()))
        hits.append(float(top.sum() > 0))
    return {f"ndcg@{k}": float(np.mean(ndcgs)), f"hr@{k}": float(np.mean(hits)),
            "users_evaluated": len(ndcgs)}


def auc(labels, scores):
    """ROC AUC via the rank statistic (ties get average rank)."""
    from scipy.stats import rankdata
    r = rankdata(scores)
    pos = labels == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((r[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


# ---------------------------------------------------------------- runtimes
def ort_session(model_path_or_bytes):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    src = model_path_or_bytes
    if isinstance(src, onnx.ModelProto):
        src = src.SerializeToString()
    return ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])


# Rows per onnxruntime call when scoring a matrix. A tree ensemble in GEMM form holds a few
# floats per split and per leaf for every row: scoring Amazon Sports' 1M-row validation matrix
# in one call took the gbt kind to 22 GB; in chunks the memory stays that of the matrix.
SCORE_CHUNK_ROWS = 65_536


def ort_scores(model, X, output=OUTPUT_NAME):
    sess = ort_session(model)
    inp = sess.get_inputs()[0].name
    X = np.asarray(X, np.float32)
    outs = [sess.run(None if output is None else [output], {inp: X[i:i + SCORE_CHUNK_ROWS]})[0]
            .reshape(-1) for i in range(0, len(X), SCORE_CHUNK_ROWS)]
    return np.concatenate(outs) if outs else np.zeros(0, np.float32)


def tract_scores(model_path, X):
    """Scores from tract's Python bindings (same engine as the Rust side), or None
    when the optional `tract` package is not installed."""
    try:
        import tract
    except ImportError:
        return None
    runnable = tract.onnx().load(model_path).into_model().into_runnable()
    out = runnable.run([np.ascontiguousarray(X, np.float32)])[0].to_numpy()
    return out.reshape(len(X))
