"""Self-test of export.py on real exports: a Pipeline(StandardScaler, MLPClassifier), a default
LGBMClassifier and an XGBClassifier (and a PyTorch module when torch is installed; it is not in
requirements.txt) are fitted on simulated shoppers, exported with one call each, verified
against the fitted model (inside export) and, with --tailor BIN, accepted by
`tailor validate-model`. Also: refusals say why. Run by scripts/test.sh models.
    python test_export.py [--tailor target/debug/tailor]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import SCALAR_FEATURES  # noqa: E402
from export import ExportError, export  # noqa: E402


def data(n=4000, seed=3):
    """Registry-like columns: log counts (>= 0), affinities in [-1, 1], a few discrete ones."""
    rng = np.random.default_rng(seed)
    F = len(SCALAR_FEATURES)
    X = np.abs(rng.normal(size=(n, F))).astype(np.float32)
    X[:, :7] = rng.uniform(-1, 1, size=(n, 7))
    X[:, 7] = rng.integers(0, 6, n)          # a discrete column: inputs sit on the thresholds
    logit = 1.5 * X[:, 0] + X[:, 7] * 0.6 - 0.8 * X[:, 8] * X[:, 1] + rng.normal(0, 0.7, n) - 1.5
    return X, (logit > 0).astype(int)


def models(X, y):
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    yield "sklearn-mlp", Pipeline([("scale", StandardScaler()),
                                   ("mlp", MLPClassifier((32, 16), max_iter=300, random_state=0))]).fit(X, y)
    import lightgbm
    yield "lightgbm", lightgbm.LGBMClassifier(verbose=-1).fit(X, y)
    import xgboost
    yield "xgboost", xgboost.XGBClassifier(n_estimators=100, tree_method="hist").fit(X, y)
    try:
        import torch
    except ImportError:
        print("test_export: torch not installed: PyTorch export not exercised")
        return
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(X.shape[1], 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    yield "torch", net


def refusals(X, y):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import PolynomialFeatures
    from sklearn.linear_model import LogisticRegression
    cases = [(RandomForestClassifier(n_estimators=2).fit(X, y), "supported scikit-learn"),
             (Pipeline([("p", PolynomialFeatures()), ("lr", LogisticRegression(max_iter=20))]).fit(X[:500], y[:500]),
              "only StandardScaler and MinMaxScaler")]
    for model, why in cases:
        try:
            export(model, SCALAR_FEATURES, tempfile.mkdtemp(), "x", X=X)
        except ExportError as e:
            assert why in str(e), str(e)
        else:
            raise AssertionError(f"{type(model).__name__} should be refused")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tailor", help="the tailor CLI: also run validate-model on each export")
    a = ap.parse_args()
    warnings.filterwarnings("ignore")   # convergence chatter of the deliberately short fits
    X, y = data()
    with tempfile.TemporaryDirectory() as tmp:
        for name, model in models(X, y):
            out = os.path.join(tmp, name)
            t = time.time()
            info = export(model, SCALAR_FEATURES, out, name=f"test-{name}", X=X)
            manifest = json.load(open(os.path.join(out, "manifest.json")))
            assert manifest["features"] == SCALAR_FEATURES and len(manifest["ranges"]) == len(SCALAR_FEATURES)
            line = f"test_export: {name}: {time.time() - t:.1f}s, {info}"
            if a.tailor:
                r = subprocess.run([a.tailor, "validate-model", os.path.join(out, "manifest.json")],
                                   capture_output=True, text=True)
                assert r.returncode == 0, f"{name}: validate-model failed:\n{r.stdout}{r.stderr}"
                line += " | " + " ".join(l.strip() for l in r.stdout.splitlines() if "compute" in l or "time " in l)
            print(line)
    refusals(X, y)
    print("test_export: ok")


if __name__ == "__main__":
    main()
