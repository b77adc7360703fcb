"""Parity fixtures: for every models/*/manifest.json write models/<name>/parity.json =
{"features": [[...64 rows...]], "scores": [...]} with onnxruntime's scores (1 thread),
for the Rust test suite to compare tract against (within 1e-5).

    python parity.py [--models DIR] [--rows 64] [--seed 20240611]   # (re)write fixtures
    python parity.py --check [--models DIR]     # recompute ORT (and tract, when the
                                                # `tract` package is installed) vs fixtures
Feature values lie on a 1/1024 grid so their JSON decimals are exact float32 values.
"""
import argparse
import glob
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import load_manifest, ort_scores, sha256_file, tract_scores  # noqa: E402

TOLERANCE = 1e-5


def column(name, rng, n):
    """Realistic values for one registry feature, zeros included."""
    def sparse(values, p_zero):
        return np.where(rng.random(n) < p_zero, 0.0, values)
    u = rng.random(n)
    if name.startswith(("affinity_", "session_affinity_")):
        return sparse(u, 0.5 if name.startswith("affinity") else 0.7)
    if name in ("bought_count", "viewed_count"):
        return sparse(rng.integers(1, 6, n), 0.7)
    if name.startswith("recency_"):
        return sparse(u, 0.6)
    if name in ("carted_not_bought", "dismissed", "in_stock"):
        return (u < {"carted_not_bought": 0.15, "dismissed": 0.05, "in_stock": 0.9}[name]) * 1.0
    if name == "price_vs_usual":
        return sparse(rng.uniform(-3, 3, n), 0.2)
    if name in ("item_popularity", "popularity_percentile"):
        return u
    if name == "copurchase_score":
        return sparse(u, 0.5)
    if name.endswith("embedding_similarity"):
        return sparse(rng.uniform(-1, 1, n), 0.2 if name == "embedding_similarity" else 0.6)
    if name == "explicit_preference":
        return rng.choice([-1.0, 0.0, 1.0], n, p=[0.1, 0.8, 0.1])
    if name == "price_log":
        return rng.uniform(0, 8, n)
    if name == "profile_event_count":
        return sparse(rng.geometric(1 / 60, n), 0.1)
    if "_embedding_" in name:
        return np.clip(rng.normal(0, 0.3, n), -1, 1)
    return u   # not a registry feature


def batch(features, rows, seed):
    rng = np.random.default_rng(seed)
    X = np.stack([column(f, rng, rows) for f in features], 1)
    for prefix in ("item_embedding_", "profile_embedding_"):   # absent embedding -> all zeros
        cols = [i for i, f in enumerate(features) if f.startswith(prefix)]
        if cols:
            X[np.ix_(rng.random(rows) < 0.15, cols)] = 0.0
    X[0] = 0.0                                    # an all-zero row (cold start, no history)
    return (np.round(X * 1024) / 1024).astype(np.float32)


def write_fixture(path, obj):
    """JSON with one feature row per line (readable diffs, small file)."""
    lines = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in obj.items() if k != "features"]
    rows = ",\n    ".join(json.dumps(r) for r in obj["features"])
    lines.insert(len(lines) - 1, f'  "features": [\n    {rows}\n  ]')
    with open(path, "w") as f:
        f.write("{\n" + ",\n".join(lines) + "\n}\n")


def model_dirs(root):
    return sorted(os.path.dirname(p) for p in glob.glob(os.path.join(root, "*", "manifest.json")))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--rows", type=int, default=64)
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    failed = False
    for d in model_dirs(a.models):
        man = load_manifest(d)
        path = os.path.join(d, "model.onnx")
        fixture = os.path.join(d, "parity.json")
        if sha256_file(path) != man["sha256"]:
            print(f"FAIL {man['name']}: model.onnx sha256 does not match manifest")
            failed = True
            continue
        if a.check:
            with open(fixture) as f:
                fx = json.load(f)
            X = np.array(fx["features"], np.float32)
            ok_meta = (fx.get("feature_names", man["features"]) == man["features"]
                       and fx.get("sha256", man["sha256"]) == man["sha256"])
            ort = ort_scores(path, X)
            d_ort = float(np.abs(ort.astype(np.float64) - np.array(fx["scores"])).max())
            tr = tract_scores(path, X)
            d_tr = None
            if tr is not None:   # whole batch, plus a batch of 1 (symbolic N resolved twice)
                tr1 = tract_scores(path, X[:1])
                d_tr = float(max(np.abs(tr.astype(np.float64) - np.array(fx["scores"])).max(),
                                 abs(float(tr1[0]) - fx["scores"][0])))
            bad = not ok_meta or d_ort > TOLERANCE or (d_tr is not None and d_tr > TOLERANCE)
            failed |= bad
            print(f"{'FAIL' if bad else 'ok  '} {man['name']:18s} rows={len(X)} "
                  f"max|ort-fixture|={d_ort:.3g} "
                  f"max|tract-fixture|={'n/a (no tract package)' if d_tr is None else f'{d_tr:.3g}'}"
                  + ("" if ok_meta else " (fixture is for another model version/feature list)"))
        else:
            X = batch(man["features"], a.rows, a.seed)
            scores = ort_scores(path, X)
            if not np.all(np.isfinite(scores)):
                raise SystemExit(f"{man['name']}: non-finite scores on the parity batch")
            write_fixture(fixture, {
                "model": man["name"], "version": man["version"], "sha256": man["sha256"],
                "tolerance": TOLERANCE, "feature_names": man["features"],
                "features": [[float(v) for v in row] for row in X],
                "scores": [float(s) for s in scores],   # exact float32 values
            })
            print(f"wrote {fixture} ({len(X)} rows, score range {scores.min():.3f}..{scores.max():.3f})")
    if failed:
        raise SystemExit("parity: FAILED")


if __name__ == "__main__":
    main()
