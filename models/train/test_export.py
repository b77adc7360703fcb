"""Self-test of export.py on real exports: a Pipeline(StandardScaler, MLPClassifier), a default
LGBMClassifier and an XGBClassifier (and a PyTorch module when torch is installed; it is not in
requirements.txt) are fitted on simulated shoppers, exported with one call each, verified
against the fitted model (inside export) and, with --tailor BIN, accepted by
`tailor validate-model`. Also: refusals say why. Run by scripts/test.sh models.
    python test_export.py [--tailor target/debug/tailor] [--write-torch-fixture]

PyTorch's only PyPI wheel for x86-64 Linux pulls 3 GB of CUDA libraries, so the test command does
not install it. A real PyTorch export is committed instead (fixtures/torch-mlp: model.onnx and
manifest.json written by export.py from a seeded module, and the module's own scores on 64 rows,
written with --write-torch-fixture where torch is installed); without torch this test checks that
onnxruntime reproduces the module's scores from the committed graph and that tailor accepts it.
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


FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "torch-mlp")


def write_torch_fixture(X):
    """Export the seeded PyTorch module to FIXTURE with its own scores (needs torch)."""
    import torch
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(X.shape[1], 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    info = export(net, SCALAR_FEATURES, FIXTURE, name="torch-mlp", X=X,
                  description="PyTorch Linear-ReLU-Linear exported by export.py (test fixture)")
    rows = X[:64]
    with torch.no_grad():
        want = net(torch.from_numpy(rows)).numpy().ravel()
    with open(os.path.join(FIXTURE, "reference.json"), "w") as f:
        json.dump({"torch": torch.__version__, "rows": rows.tolist(),
                   "scores": [float(v) for v in want]}, f)
    print(f"test_export: wrote {FIXTURE} (torch {torch.__version__}): {info}")


def check_torch_fixture(tailor):
    """The committed PyTorch export scores as the module did, and tailor accepts it."""
    from common import ort_scores
    import onnx
    ref = json.load(open(os.path.join(FIXTURE, "reference.json")))
    got = ort_scores(onnx.load(os.path.join(FIXTURE, "model.onnx")), np.asarray(ref["rows"], np.float32))
    diff = float(np.max(np.abs(got - np.asarray(ref["scores"]))))
    assert diff < 1e-5, f"committed PyTorch export disagrees with the module's scores by {diff}"
    line = f"test_export: torch (committed export from torch {ref['torch']}): max diff {diff:.1e}"
    if tailor:
        r = subprocess.run([tailor, "validate-model", os.path.join(FIXTURE, "manifest.json")],
                           capture_output=True, text=True)
        assert r.returncode == 0, f"torch fixture: validate-model failed:\n{r.stdout}{r.stderr}"
        line += ", accepted by tailor validate-model"
    print(line)


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
    ap.add_argument("--write-torch-fixture", action="store_true",
                    help="re-export fixtures/torch-mlp with the installed torch")
    a = ap.parse_args()
    warnings.filterwarnings("ignore")   # convergence chatter of the deliberately short fits
    X, y = data()
    if a.write_torch_fixture:
        write_torch_fixture(X)
    check_torch_fixture(a.tailor)
    with tempfile.TemporaryDirectory() as tmp:
        for name, model in models(X, y):
            out = os.path.join(tmp, name)
            t = time.time()
            info = export(model, SCALAR_FEATURES, out, name=f"test-{name}", X=X)
            manifest = json.load(open(os.path.join(out, "manifest.json")))
            assert manifest["features"] == SCALAR_FEATURES and len(manifest["ranges"]) == len(SCALAR_FEATURES)
            # The model guard's drift reference: the scores' deciles on the training rows.
            ref = manifest["score_reference"]
            assert ref["rows"] == len(X) and len(ref["quantiles"]) == 9, ref
            assert ref["quantiles"] == sorted(ref["quantiles"]), ref
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
