"""Hostile (and one valid) model fixtures for the Rust model loader / `tailor validate-model`:
tests/fixtures/models/<case>/{model.onnx, manifest.json} + cases.json + README.md.

    python make_fixtures.py [--out tests/fixtures/models]

cases.json records, per case, what the loader should do ("expect") and what
onnxruntime and tract 0.23.9 (its Python bindings, when installed) actually do with
the file, so the Rust tests know which layer has to catch each problem.
"""
import argparse
import hashlib
import os
import sys

import numpy as np
import onnx
from onnx import helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parity  # noqa: E402
from common import (INPUT_NAME, ML_OPSET, OUTPUT_NAME, const, make_model, ort_scores,  # noqa: E402
                    tract_scores, write_json)
from tree2gemm import ml_regressor  # noqa: E402

FEATURES = ["item_popularity", "bought_count", "affinity_category"]
WEIGHTS = [0.5, 1.0, 0.8]
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def linear(n_inputs=3, in_dims=None, out_dims=("N", 1), post=()):
    """score = Gemm(features, w, b) -> [N, 1]; `post` appends unary ops after it."""
    w = np.zeros((n_inputs, 1), np.float32)
    w[:3, 0] = WEIGHTS
    nodes = [helper.make_node("Gemm", [INPUT_NAME, "w", "b"], ["gemm" if post else OUTPUT_NAME])]
    for i, op in enumerate(post):
        nodes.append(helper.make_node(op, [nodes[-1].output[0]],
                                      [OUTPUT_NAME if i == len(post) - 1 else f"post{i}"]))
    return make_model(nodes, [const("w", w), const("b", [-0.1])], n_inputs, "fixture",
                      out_dims=out_dims, in_dims=in_dims)


def tree_regressor():
    # two stumps-plus: tree 0 splits bought_count <= 0.5 then item_popularity <= 0.3
    t0 = (0, {0: (1, 0.5, 1, 2), 2: (0, 0.3, 3, 4)}, {1: -1.0, 3: 0.5, 4: 1.5})
    t1 = (0, {0: (2, 0.25, 1, 2)}, {1: -0.2, 2: 0.4})
    return ml_regressor([t0, t1], 0.0, 3)


def tree_classifier():
    node = helper.make_node(
        "TreeEnsembleClassifier", [INPUT_NAME], ["label", "probabilities"], domain="ai.onnx.ml",
        nodes_treeids=[0, 0, 0], nodes_nodeids=[0, 1, 2], nodes_featureids=[1, 0, 0],
        nodes_values=[0.5, 0.0, 0.0], nodes_modes=["BRANCH_LEQ", "LEAF", "LEAF"],
        nodes_truenodeids=[1, 0, 0], nodes_falsenodeids=[2, 0, 0], class_treeids=[0, 0],
        class_nodeids=[1, 2], class_ids=[0, 0], class_weights=[-1.0, 1.0],
        classlabels_int64s=[0, 1], post_transform="LOGISTIC")
    graph = helper.make_graph(
        [node], "fixture", [helper.make_tensor_value_info(INPUT_NAME, onnx.TensorProto.FLOAT, ["N", 3])],
        [helper.make_tensor_value_info("label", onnx.TensorProto.INT64, ["N"]),
         helper.make_tensor_value_info("probabilities", onnx.TensorProto.FLOAT, ["N", 2])])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                helper.make_opsetid("ai.onnx.ml", ML_OPSET)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def nan_beyond_probe():
    """score = Log(8 - (x.w + b)): finite on the loader's probe batch (values up to 3), NaN for
    an item whose popularity feature is very large -- a failure only real traffic reveals."""
    w = np.zeros((3, 1), np.float32)
    w[:, 0] = WEIGHTS
    nodes = [helper.make_node("Gemm", [INPUT_NAME, "w", "b"], ["gemm"]),
             helper.make_node("Sub", ["eight", "gemm"], ["room"]),
             helper.make_node("Log", ["room"], [OUTPUT_NAME])]
    return make_model(nodes, [const("w", w), const("b", [-0.1]), const("eight", [8.0])], 3,
                      "fixture", out_dims=("N", 1))


def nan_on_real_items():
    """score = Log(1.5 - item_popularity) + x.w: finite over the manifest's recorded range
    (item_popularity in [0, 1]) but NaN for any item more popular than e^1.5 - 1 = 3.5, i.e.
    for nearly every catalog: every rank call falls back (replay must then fail)."""
    w = np.zeros((3, 1), np.float32)
    w[:, 0] = WEIGHTS
    pick = np.zeros((3, 1), np.float32)
    pick[0, 0] = 1.0                                  # item_popularity is column 0
    nodes = [helper.make_node("MatMul", [INPUT_NAME, "pick"], ["pop"]),
             helper.make_node("Sub", ["limit", "pop"], ["room"]),
             helper.make_node("Log", ["room"], ["logroom"]),
             helper.make_node("MatMul", [INPUT_NAME, "w"], ["lin"]),
             helper.make_node("Add", ["lin", "logroom"], ["sum"]),
             helper.make_node("Reshape", ["sum", "shape_n"], [OUTPUT_NAME])]
    return make_model(nodes, [const("pick", pick), const("limit", [1.5]), const("w", w),
                              const("shape_n", [-1], np.int64)], 3, "fixture")


CASES = {
    # case: (bytes-producing fn, manifest overrides, expect, why)
    "valid_linear": (lambda: linear(), {}, "accept",
                     "good model: 3 registry features, output score [N, 1] (Gemm), symbolic N"),
    "tree_ensemble_regressor": (tree_regressor, {}, "reject",
                                "raw ai.onnx.ml TreeEnsembleRegressor: tract has no such op; "
                                "point the user to models/train/tree2gemm.py"),
    "tree_ensemble_classifier": (tree_classifier, {"output": "probabilities"}, "reject",
                                 "raw ai.onnx.ml TreeEnsembleClassifier; tract 0.23 CAN load and "
                                 "run it (its probabilities match onnxruntime, its label output "
                                 "does not), so reject by inspecting op domains, not by load failure; "
                                 "also 2 outputs (label int64 [N], probabilities [N, 2]); "
                                 "tree2gemm.py converts it"),
    "wrong_input_shape": (lambda: linear(n_inputs=6), {}, "reject",
                          "input is [N, 6] but the manifest lists 3 features"),
    "nan_output": (lambda: linear(out_dims=("N", 1), post=("Abs", "Exp", "Neg", "Log")), {}, "reject",
                   "score = Log(-Exp(abs(x.w+b))) is NaN for every input; "
                   "parses and runs fine: only a probe run that checks finiteness catches it"),
    "unknown_feature": (lambda: linear(), {"features": ["item_popularity", "not_a_feature",
                                                       "affinity_category"]}, "reject",
                        "manifest lists 'not_a_feature', which is not in the feature registry"),
    "truncated": (lambda: linear().SerializeToString()[:len(linear().SerializeToString()) // 2],
                  {}, "reject", "model.onnx cut in half; the manifest sha256 matches the "
                                "truncated bytes, so the failure must come from parsing"),
    "hash_mismatch": (lambda: linear(), {"sha256": hashlib.sha256(b"tailor: wrong hash").hexdigest()},
                      "reject", "valid model, but manifest sha256 is not its hash"),
    "not_onnx": (lambda: np.random.default_rng(7).bytes(512), {}, "reject",
                 "512 random bytes (sha256 matches them): not a protobuf ModelProto"),
    "nan_beyond_probe": (nan_beyond_probe,
                         {"ranges": {"item_popularity": [0.0, 4.0], "bought_count": [0.0, 2.0],
                                     "affinity_category": [-1.0, 1.0]}}, "accept",
                         "passes validation, but scores NaN when item_popularity*0.5 + ... > 8 "
                         "(e.g. popularity 1e9): ranking must fall back to popularity, flagged "
                         "ModelFailed, never an error"),
    "nan_on_real_items": (nan_on_real_items,
                          {"ranges": {"item_popularity": [0.0, 1.0], "bought_count": [0.0, 2.0],
                                      "affinity_category": [-1.0, 1.0]}}, "accept",
                          "passes validation over its recorded ranges, but scores NaN for any item "
                          "with item_popularity > 1.5: every rank falls back, so `tailor replay` "
                          "must exit non-zero"),
    "fixed_batch": (lambda: linear(in_dims=[1, 3], out_dims=(1, 1)), {}, "either",
                    "input fixed to [1, 3] (no symbolic batch), output [1, 1]; otherwise valid. "
                    "Loader may accept and score one row per run, or reject 'batch dim must be "
                    "symbolic'; the contract asks for symbolic N"),
}


def try_runtimes(path, n_inputs):
    """What onnxruntime and tract do with the file: a 2-row batch, else a 1-row batch."""
    X = parity.batch(FEATURES + ["price_log"] * (n_inputs - 3), 2, 1)
    res = {}
    for rt, fn in (("onnxruntime", lambda x: ort_scores(path, x, None)),
                   ("tract_0.23.9", lambda x: tract_scores(path, x))):
        err = None
        for rows in (2, 1):
            try:
                out = fn(X[:rows])
            except Exception as e:   # noqa: BLE001 - we report whatever the runtime says
                msg = str(e).replace(REPO + os.sep, "").strip().splitlines() or [type(e).__name__]
                err = err or msg[0][:200]
                continue
            res[rt] = ("not installed" if out is None else
                       f"runs on {rows} row(s): scores {np.round(out.astype(float), 4).tolist()}"
                       + (f" (2 rows failed: {err})" if err else ""))
            break
        else:
            res[rt] = "fails: " + err
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(REPO, "tests", "fixtures", "models"))
    a = ap.parse_args()
    summary = {}
    for case, (make, overrides, expect, why) in CASES.items():
        d = os.path.join(a.out, case)
        os.makedirs(d, exist_ok=True)
        obj = make()
        data = obj.SerializeToString() if isinstance(obj, onnx.ModelProto) else obj
        path = os.path.join(d, "model.onnx")
        with open(path, "wb") as f:
            f.write(data)
        manifest = {"name": f"fixture-{case.replace('_', '-')}", "version": "1",
                    "features": list(FEATURES), "inputs": {"features": INPUT_NAME},
                    "output": OUTPUT_NAME, "sha256": hashlib.sha256(data).hexdigest(),
                    "description": f"test fixture: {why}", "opset": 13}
        manifest.update(overrides)
        write_json(os.path.join(d, "manifest.json"), manifest)
        n_inputs = 6 if case == "wrong_input_shape" else 3
        summary[case] = {"expect": expect, "why": why, "bytes": len(data), **try_runtimes(path, n_inputs)}
        if case == "valid_linear":   # numeric fixture for the [N, 1] output path
            X = parity.batch(FEATURES, 64, 20240611)
            parity.write_fixture(os.path.join(d, "parity.json"), {
                "model": manifest["name"], "version": "1", "sha256": manifest["sha256"],
                "tolerance": parity.TOLERANCE, "feature_names": FEATURES,
                "features": [[float(v) for v in r] for r in X],
                "scores": [float(s) for s in ort_scores(path, X)]})
        print(f"{case:26s} {expect:7s} {summary[case]}")
    write_json(os.path.join(a.out, "cases.json"), summary)
    with open(os.path.join(a.out, "README.md"), "w") as f:
        f.write("# Model fixtures\n\nGenerated by `models/train/make_fixtures.py` (do not edit by hand). "
                "Each case is `<case>/model.onnx` + `<case>/manifest.json`; `cases.json` holds the "
                "same table plus what onnxruntime and tract 0.23.9 do with each file.\n\n"
                "| case | expect | what is wrong |\n| --- | --- | --- |\n")
        for case, s in summary.items():
            f.write(f"| `{case}` | {s['expect']} | {s['why']} |\n")


if __name__ == "__main__":
    main()
