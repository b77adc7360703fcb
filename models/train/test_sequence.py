#!/usr/bin/env python3
"""Self-test of sequence.py (SASRec in JAX, the hand-written ONNX graph, the model directory) on
synthetic shoppers; runs in seconds. `scripts/test.sh models` runs it.

    models/train/.venv/bin/python models/train/test_sequence.py [--tailor target/debug/tailor]

With --tailor, the written model directory must also pass `tailor validate-model` (the Rust
loader, once it knows format_version 2).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import sequence as S  # noqa: E402
from common import load_manifest, ort_session, sha256_file  # noqa: E402
from make_sequence_fixture import item, synthetic_shop, write_shop  # noqa: E402

REPO = os.path.dirname(os.path.dirname(here))
CHECKS = []


def check(name):
    def wrap(f):
        CHECKS.append((name, f))
        return f
    return wrap


def allowed_operators():
    """The Rust loader's operator list (core/src/model/contract.rs::OPERATORS)."""
    with open(os.path.join(REPO, "core", "src", "model", "contract.rs")) as f:
        src = f.read()
    body = src.split("pub const OPERATORS: &[&str] = &[", 1)[1].split("];", 1)[0]
    return set(re.findall(r'"([A-Za-z]+)"', body))


@check("the shopper's sequence: distinct items by latest purchase time, ties by item id bytes")
def _sequence_order():
    p = {"b": [100, 300], "a": [300], "c": [200], "Z": [300], "é": [300], "late": [400]}
    assert S.sequence_of(p, before=400) == ["c", "Z", "a", "b", "é"], S.sequence_of(p, before=400)
    assert S.sequence_of(p) == ["c", "Z", "a", "b", "é", "late"]
    assert S.sequence_of(p, before=150) == ["b"]            # the purchase at 300 is after the cutoff
    assert S.sequence_of(p, before=100) == []


@check("encoding: last max_len items, unknown -> 1, left-padded with 0")
def _encode():
    index = {"x": 2, "y": 3, "z": 4}
    assert S.encode(["x", "nope", "z"], index, 5).tolist() == [0, 0, 2, 1, 4]
    assert S.encode(["x", "y", "z", "x2", "y"], index, 3).tolist() == [4, 1, 3]
    assert S.encode([], index, 2).tolist() == [0, 0]
    assert S.encode(["x"], index, 1).dtype == np.int64


@check("events CSV: purchases only, no event column = purchases")
def _read_events():
    d = tempfile.mkdtemp()
    path = os.path.join(d, "e.csv")
    with open(path, "w") as f:
        f.write("user_id,item_id,event,ts\nu,a,purchase,10\nu,b,view,11\nu,c,buy,12\nv,a,cart,1\n")
    assert S.sequences(S.read_purchases(path)) == {"u": ["a", "c"]}
    with open(path, "w") as f:
        f.write("ts,item_id,user_id\n5,a,u\n3,b,u\n")
    assert S.sequences(S.read_purchases(path)) == {"u": ["b", "a"]}


@check("vocab.txt: one id a line; duplicates and empty ids refused")
def _vocab():
    d = tempfile.mkdtemp()
    path = os.path.join(d, "vocab.txt")
    S.write_vocab(path, ["a", "b é", "c"])
    assert open(path, "rb").read() == "a\nb é\nc\n".encode()
    assert S.read_vocab(path) == ["a", "b é", "c"]
    for bad in (["a", "a"], ["a", ""], ["a\nb"]):
        try:
            S.write_vocab(path, bad)
        except SystemExit:
            continue
        raise AssertionError(f"vocabulary {bad!r} accepted")


@check("full softmax loss: mean cross-entropy of the next item over every non-padding position, "
       "every item (and the unknown row) a class, padding never")
def _full_softmax_loss():
    import jax
    n_rows, L = 9, 5
    cfg = S.Config(dim=8, max_len=L, dropout=0.0, negatives=0)
    p = S.init_params(n_rows, cfg.dim, L, cfg.blocks, seed=4)
    p["item_embedding"][S.UNKNOWN] = 0.3          # a nonzero unknown row: it must count as a class
    X = np.array([[0, 0, 2, 3, 4], [5, 6, 7, 8, 2], [0, 0, 0, 0, 3]], np.int64)
    Y = np.array([[0, 0, 3, 4, 5], [6, 7, 8, 2, 1], [0, 0, 0, 0, 0]], np.int64)
    ats = S.targets_at([Y], multiple=3)     # 8 targets -> 9 slots
    flat = Y.ravel()
    assert sorted(a for a in ats[0] if a >= 0) == list(np.flatnonzero(flat)), ats
    assert len(ats[0]) == 9 and ats[0][-1] == -1      # filler rows carry no weight
    loss = float(S.make_loss(cfg, n_rows)(p, X, Y, ats[0], jax.random.PRNGKey(0)))
    H = np.asarray(S.forward(p, X, cfg.blocks)).reshape(-1, cfg.dim)
    E = p["item_embedding"]
    ref = []
    for k in np.flatnonzero(flat):
        z = H[k] @ E[1:].T                                   # rows 1.. : unknown + items, no padding
        ref.append(np.log(np.exp(z - z.max()).sum()) + z.max() - H[k] @ E[flat[k]])
    assert abs(loss - float(np.mean(ref))) < 1e-4, (loss, np.mean(ref))


def trained(cache={}):
    """A tiny SASRec trained on shoppers walking p01 -> p02 -> ... (p29, p30 never bought)."""
    if not cache:
        shop = synthetic_shop(160, 30, seed=3, known=28, noise=0.05)
        users = sorted(shop)
        train_users, test_users = users[:120], users[120:]
        vocab = [item(k) for k in range(28)]
        cfg = S.Config(dim=16, max_len=8, dropout=0.1, negatives=0, lr=5e-3, tokens=256, seed=3)
        p, hist = S.train([shop[u] for u in train_users], vocab, cfg, epochs=40, progress=lambda m: None)
        out = tempfile.mkdtemp()
        index = {i: S.FIRST + k for k, i in enumerate(vocab)}
        sample = np.stack([S.encode(shop[u], index, cfg.max_len) for u in users[:3]])
        man, parity = S.write_model_dir(out, p, vocab, cfg, "test-sequence", sample_rows=sample)
        cache.update(shop=shop, test_users=test_users, vocab=vocab, cfg=cfg, p=p, out=out, man=man,
                     parity=parity, index=index, hist=hist)
    return cache


@check("the graph per the contract: int64 items [1, max_len] -> float32 user [1, d]; item_embedding [V+2, d] gathered")
def _graph_contract():
    t = trained()
    m = onnx.load(os.path.join(t["out"], "sequence.onnx"))
    onnx.checker.check_model(m, full_check=True)
    assert m.ir_version <= 9 and m.ir_version >= 7
    assert [(o.domain, o.version) for o in m.opset_import] == [("", 17)]
    (inp,), (out,) = m.graph.input, m.graph.output
    dims = lambda v: [d.dim_value for d in v.type.tensor_type.shape.dim]  # noqa: E731
    assert inp.name == "items" and inp.type.tensor_type.elem_type == onnx.TensorProto.INT64 and dims(inp) == [1, 8]
    assert out.name == "user" and out.type.tensor_type.elem_type == onnx.TensorProto.FLOAT and dims(out) == [1, 16]
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    table = inits["item_embedding"]
    assert table.shape == (len(t["vocab"]) + 2, 16) and table.dtype == np.float32
    assert not np.any(table[0]), "the padding row is zero"
    gathers = [n for n in m.graph.node if n.op_type == "Gather"]
    assert [list(n.input) for n in gathers] == [["item_embedding", "items"]]
    assert all(np.all(np.isfinite(v)) for v in inits.values() if v.dtype.kind == "f"), "no -inf masks"
    ops = {n.op_type for n in m.graph.node}
    assert ops <= allowed_operators(), ops - allowed_operators()
    assert all(n.domain in ("", "ai.onnx") for n in m.graph.node)


@check("model directory: manifest format_version 2 with the sequence block, hashes, ranker on sequence_score")
def _model_dir():
    t = trained()
    out, man = t["out"], load_manifest(t["out"])
    assert man["format_version"] == 2 and man["features"] == ["sequence_score"]
    seq = man["sequence"]
    assert seq == {"graph": "sequence.onnx", "sha256": sha256_file(os.path.join(out, "sequence.onnx")),
                   "vocabulary": "vocab.txt", "vocabulary_sha256": sha256_file(os.path.join(out, "vocab.txt")),
                   "max_len": 8, "input": "items", "output": "user", "item_table": "item_embedding"}
    assert man["sha256"] == sha256_file(os.path.join(out, "model.onnx"))
    assert S.read_vocab(os.path.join(out, "vocab.txt")) == t["vocab"]
    X = np.array([[-2.0], [0.0], [3.5]], np.float32)
    score = ort_session(os.path.join(out, "model.onnx")).run(None, {"features": X})[0]
    assert np.allclose(score.ravel(), X.ravel()), "the ranker's score is sequence_score"
    lo, hi = man["ranges"]["sequence_score"]
    assert lo < 0 < hi


@check("parity: sequence_parity.json == onnxruntime == JAX (and tract when installed) within 1e-5")
def _parity():
    t = trained()
    with open(os.path.join(t["out"], "sequence_parity.json")) as f:
        fx = json.load(f)
    rows = np.array(fx["items"], np.int64)
    assert rows.shape[1] == 8 and fx["graph_sha256"] == t["man"]["sequence"]["sha256"]
    assert (rows == 0).all(1).any() and (rows == 1).any(), "padding-only and unknown rows covered"
    ort = S.ort_user(ort_session(os.path.join(t["out"], "sequence.onnx")), rows)
    assert np.array_equal(ort, np.array(fx["user"], np.float32)), "JSON holds the exact float32 values"
    jax = S.user_vectors(t["p"], rows, 1)
    assert np.abs(jax - ort).max() <= 1e-5
    tr = S.tract_user(os.path.join(t["out"], "sequence.onnx"), rows)
    if tr is not None:
        assert np.abs(tr - ort).max() <= 1e-5
    assert np.all(np.isfinite(ort))


@check("a graph that does not match the trained model is refused and nothing is written")
def _parity_refused():
    t = trained()
    broken = dict(t["p"])
    broken["final_b"] = broken["final_b"] + 1e-3
    real = S.sequence_graph
    S.sequence_graph = lambda p, *a, **k: real(broken, *a, **k)
    out = tempfile.mkdtemp()
    try:
        S.write_model_dir(out, t["p"], t["vocab"], t["cfg"], "broken")
        raise AssertionError("a mismatching graph was written")
    except SystemExit as e:
        assert "parity" in str(e)
    finally:
        S.sequence_graph = real
    assert os.listdir(out) == [], os.listdir(out)


@check("held-out shoppers: the true next item is in the top 3 of the whole catalog (onnxruntime)")
def _ranks_next_item():
    t = trained()
    sess = ort_session(os.path.join(t["out"], "sequence.onnx"))
    table = S.load_graph_table(t["out"])
    catalog = [item(k) for k in range(30)]
    cand = np.array([t["index"].get(i, S.UNKNOWN) for i in catalog])
    hits = 0
    for u in t["test_users"]:
        seq = t["shop"][u]
        row = S.encode(seq[:-1], t["index"], 8)
        user = sess.run(["user"], {"items": row[None, :]})[0][0]
        scores = table[cand] @ user
        top = [catalog[j] for j in np.argsort(-scores, kind="stable")[:3]]
        hits += seq[-1] in top
    share = hits / len(t["test_users"])
    assert share >= 0.8, f"next item in the top 3 for only {share:.0%} of held-out shoppers"


@check("unknown items score through row 1, below the items the walk predicts")
def _unknown_row():
    t = trained()
    sess = ort_session(os.path.join(t["out"], "sequence.onnx"))
    table = S.load_graph_table(t["out"])
    user = sess.run(["user"], {"items": S.encode(["p05", "p06", "p07"], t["index"], 8)[None, :]})[0][0]
    assert float(user @ table[S.UNKNOWN]) < float(user @ table[t["index"]["p08"]])
    # an unknown item in the history is read as index 1, not refused
    row = S.encode(["p05", "p29", "p07"], t["index"], 8)
    assert row.tolist()[-3:] == [t["index"]["p05"], 1, t["index"]["p07"]]
    assert np.all(np.isfinite(sess.run(["user"], {"items": row[None, :]})[0]))


@check("evaluate(): leave-one-out over the whole catalog from the model directory's files")
def _evaluate():
    t = trained()
    d = tempfile.mkdtemp()
    shop = {u: t["shop"][u] for u in t["test_users"]}
    write_shop(d, shop, 30, t0=1000)
    # write_shop puts the last purchase at t0 - 60: the held-out item is the one at/after 940.
    m = S.evaluate(t["out"], os.path.join(d, "catalog.csv"), os.path.join(d, "events.csv"), 1000 - 60)
    assert m["users"] == len(shop) and m["catalog_items"] == 30 and m["unknown_catalog_items"] == 2
    assert m["hr@10"] >= 0.9 and m["ndcg@10"] >= 0.6, m


@check("bought_count weight: chosen on validation by how the shop repeats; the ranker and evaluate() apply it")
def _repeat_weight():
    # The user vector resembles the shopper's own item (row 2) most; the next item is row 3.
    table = np.array([[0, 0], [0, 0], [3, 0], [2, 0], [1, 0]], np.float32)
    U = np.array([[1, 0]] * 4, np.float32)
    bought = [S.bought_before({"a": [1], "b": [2]}, 5, {"a": 2, "b": 4})] * 4      # rows 2 and 4
    assert bought[0][0].tolist() == [2, 4] and np.allclose(bought[0][1], np.log(2))
    never = S.repeat_weight_ndcg(U, table, np.array([3] * 4), bought)
    assert S.choose_repeat_weight(never) < 0 and never[0.0] < max(never.values())
    again = S.repeat_weight_ndcg(U, table, np.array([4] * 4), bought)     # a re-buy of row 4
    assert S.choose_repeat_weight(again) > 0
    assert S.choose_repeat_weight({0.0: 0.5, -1.0: 0.5, 1.0: 0.5}) == 0.0   # ties: no weight

    t = trained()
    out = tempfile.mkdtemp()
    man, _ = S.write_model_dir(out, t["p"], t["vocab"], t["cfg"], "test-repeat", repeat_weight=-128.0)
    assert man["features"] == ["sequence_score", "bought_count"] and man["ranges"]["bought_count"][1] > 0
    X = np.array([[1.5, 0.0], [1.5, np.log(2)]], np.float32)
    score = ort_session(os.path.join(out, "model.onnx")).run(None, {"features": X})[0].ravel()
    assert np.allclose(score, [1.5, 1.5 - 128 * np.log(2)], atol=1e-4), score
    # Every held-out purchase re-buys the shopper's first item: weight -128 pushes it out of the top 10.
    d = tempfile.mkdtemp()
    write_shop(d, {u: t["shop"][u] + [t["shop"][u][0]] for u in t["test_users"]}, 30, t0=1000)
    m = S.evaluate(out, os.path.join(d, "catalog.csv"), os.path.join(d, "events.csv"), 1000 - 60)
    assert m["hr@10"] == 0.0, m
    plain = S.evaluate(t["out"], os.path.join(d, "catalog.csv"), os.path.join(d, "events.csv"), 1000 - 60)
    assert plain["hr@10"] > 0.0, plain


@check("ranks: ties count against the target (items sharing the unknown row)")
def _rank_ties():
    table = np.array([[0, 0], [1, 0], [2, 0], [0, 1]], np.float32)
    U = np.array([[1, 0]], np.float32)
    cand = np.array([1, 1, 2, 3])                 # two catalog items share row 1
    assert S.rank_of_targets(U, table, np.array([1]), cand).tolist() == [2]   # below 2, tied with 1
    assert S.rank_of_targets(U, table, np.array([2]), cand).tolist() == [0]
    assert S.metrics_from_ranks([0, 1, 10])["hr@10"] == 2 / 3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tailor")
    a = ap.parse_args()
    failed = 0
    for name, f in CHECKS:
        try:
            f()
            print(f"ok   {name}")
        except Exception as e:  # noqa: BLE001
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}")
    if a.tailor:
        manifest = os.path.join(trained()["out"], "manifest.json")
        r = subprocess.run([a.tailor, "validate-model", manifest], capture_output=True, text=True)
        ok = r.returncode == 0
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} tailor validate-model accepts the written directory"
              + ("" if ok else f": {r.stdout}{r.stderr}"))
    print(f"{len(CHECKS) - failed if not a.tailor else len(CHECKS) + 1 - failed} passed, {failed} failed")
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
