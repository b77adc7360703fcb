"""The repeat gate: bought-before signals count only where shoppers of this shop buy items again.

A ranker trained on a shop of re-buyers (Online Retail: wholesalers reorder the same items every
month) learns that an item the shopper bought is the likeliest next purchase. On a shop where
nobody buys the same thing twice (toys, fashion, furniture) that model fills the top 10 with the
shopper's own purchases and collapses. The gate is a small learned layer on top of any model:

    score = base(x) - bought(x) * known(x) * penalty * (1 - sigmoid(u0 + u1 * item_repeat_rate
                                                                  + u2 * shopper_repeat_share))

- `bought` is 1 for an item the shopper bought (bought_count > 0), else 0: items never bought keep
  the base model's score exactly, so the gate only moves the shopper's own purchases.
- `known` is `item_repeat_known`: without the catalog's `repeat_rate` the model behaves as the base
  model does (nothing tells it how this shop repeats).
- The sigmoid is the probability that a bought item is still worth its bought-before boost; where
  it is 0 (items nobody buys twice) the item drops by `penalty` below where the base model put it.

It is fitted (listwise softmax loss, the 4 parameters only; the base model is fixed) on the base
model's training rows at several repeat levels: the real rows, and copies in which each repeat
purchase is kept with probability m (m = 0 is a shop where nobody buys twice) and the repeat rates
scaled by m. The base model's scores on non-bought items are never changed, so the copies teach
the gate nothing but how much a bought item is worth at a given repeat rate.

    repeat_gate.py --model DIR --train M1.csv[,M2.csv...] --out DIR [--levels 1,0.3,0.1,0]
"""
import argparse
import copy
import os

import numpy as np
from onnx import helper

from common import INPUT_NAME, OUTPUT_NAME, const, make_model

GATE_FEATURES = ["item_repeat_rate", "item_repeat_known", "shopper_repeat_share"]
BOUGHT = "bought_count"
PREFIX = "repeatgate_"
PARAMS = ("rate_decay", "share_decay", "penalty", "copurchase")
COPURCHASE = "copurchase_score"


def gate_scores(s, bought, known, rr, sr, cf, p):
    """The gated score in numpy (float64): the reference the ONNX graph is checked against."""
    u1, u2, penalty, c = (p[k] for k in PARAMS)
    weight = np.exp(-(u1 * rr + u2 * sr))
    return s + known * weight * (c * cf - np.minimum(bought * 2.0, 1.0) * penalty)


def compose(base_model, base_features, p):
    """One graph over [base features..., GATE_FEATURES] computing the gated score."""
    g = base_model.graph
    n = len(base_features)
    t = lambda name: PREFIX + name  # noqa: E731
    rename = {INPUT_NAME: t("base_in"), OUTPUT_NAME: t("base_out")}
    nodes = []
    for node in g.node:   # the base graph as it is, reading and writing renamed tensors
        node = copy.deepcopy(node)
        node.input[:] = [rename.get(i, i) for i in node.input]
        node.output[:] = [rename.get(o, o) for o in node.output]
        nodes.append(node)

    def column(name, at):
        """A Slice taking column `at` of the input as an [N, 1] tensor."""
        inits.extend([const(t(name + "_lo"), [at], np.int64), const(t(name + "_hi"), [at + 1], np.int64)])
        return helper.make_node("Slice", [INPUT_NAME, t(name + "_lo"), t(name + "_hi"), t("axis")], [t(name)])

    inits = list(g.initializer) + [
        const(t("lo"), [0], np.int64), const(t("n"), [n], np.int64), const(t("axis"), [1], np.int64),
        const(t("neg_u1"), [-p["rate_decay"]]), const(t("neg_u2"), [-p["share_decay"]]),
        const(t("two"), [2.0]), const(t("one"), [1.0]),
        const(t("penalty"), [p["penalty"]]), const(t("copurchase_w"), [p["copurchase"]]),
        const(t("flat"), [-1], np.int64),
    ]
    at = {f: n + i for i, f in enumerate(GATE_FEATURES)}
    head = [
        helper.make_node("Slice", [INPUT_NAME, t("lo"), t("n"), t("axis")], [t("base_in")]),
        column("bought", base_features.index(BOUGHT)),
        column("cf", base_features.index(COPURCHASE)),
        column("rr", at["item_repeat_rate"]),
        column("known", at["item_repeat_known"]),
        column("sr", at["shopper_repeat_share"]),
    ]
    tail = [
        # weight = known * exp(-(rate_decay * rr + share_decay * sr)): 1 where nobody buys twice
        helper.make_node("Mul", [t("rr"), t("neg_u1")], [t("rr_w")]),
        helper.make_node("Mul", [t("sr"), t("neg_u2")], [t("sr_w")]),
        helper.make_node("Add", [t("rr_w"), t("sr_w")], [t("log_w")]),
        helper.make_node("Exp", [t("log_w")], [t("decay")]),
        helper.make_node("Mul", [t("decay"), t("known")], [t("weight")]),
        # explore = copurchase_w * copurchase_score - penalty * [bought]
        helper.make_node("Mul", [t("bought"), t("two")], [t("bought2")]),
        helper.make_node("Min", [t("bought2"), t("one")], [t("bought_ind")]),
        helper.make_node("Mul", [t("bought_ind"), t("penalty")], [t("pen")]),
        helper.make_node("Mul", [t("cf"), t("copurchase_w")], [t("cf_w")]),
        helper.make_node("Sub", [t("cf_w"), t("pen")], [t("explore")]),
        helper.make_node("Mul", [t("weight"), t("explore")], [t("shift2d")]),
        helper.make_node("Reshape", [t("shift2d"), t("flat")], [t("shift")]),
        helper.make_node("Reshape", [t("base_out"), t("flat")], [t("base_flat")]),
        helper.make_node("Add", [t("base_flat"), t("shift")], [OUTPUT_NAME]),
    ]
    doc = (f"{g.doc_string or base_model.doc_string}; repeat gate "
           + ", ".join(f"{k}={p[k]:.4g}" for k in PARAMS))
    extra = [(o.domain, o.version) for o in base_model.opset_import if o.domain]
    return make_model(head + nodes + tail, inits, n + len(GATE_FEATURES), doc, extra_opsets=extra)


def repeat_levels(users, y, X, feats, levels, seed=0):
    """The rows at each repeat level m: repeat purchases kept with probability m, repeat rates and
    shopper repeat shares scaled by m; groups left without a positive are dropped. Returns
    (groups, labels, bought, known, rr, sr, copurchase, base row index, level index) concatenated
    over the levels, with group ids distinct per level."""
    rng = np.random.default_rng(seed)
    col = {f: i for i, f in enumerate(feats)}
    bought = (X[:, col[BOUGHT]] > 0).astype(np.float64)
    known = X[:, col["item_repeat_known"]].astype(np.float64)
    rr = X[:, col["item_repeat_rate"]].astype(np.float64)
    sr = X[:, col["shopper_repeat_share"]].astype(np.float64)
    cf = X[:, col[COPURCHASE]].astype(np.float64)
    _, gid = np.unique(users, return_inverse=True)
    out = []
    for li, m in enumerate(levels):
        yl = y.copy()
        repeat_pos = (bought > 0) & (y > 0)
        yl[repeat_pos & (rng.random(len(y)) >= m)] = 0
        has_pos = np.bincount(gid, weights=yl, minlength=gid.max() + 1) > 0
        idx = np.nonzero(has_pos[gid])[0]
        out.append((gid[idx] + li * (gid.max() + 1), yl[idx], bought[idx], known[idx],
                    rr[idx] * m, sr[idx] * m, cf[idx], idx, np.full(len(idx), li)))
    return [np.concatenate(parts) for parts in zip(*out)]


def fit(s, groups, labels, bought, known, rr, sr, cf, level):
    """The parameters by listwise softmax cross-entropy (every positive of a group against all of
    its rows: a ranking loss; the base scores need not be calibrated probabilities). The real rows
    (level index 0) weigh as much as all the simulated levels together: the gate must not cost the
    shop it was trained on what it gains on the others."""
    import jax
    import jax.numpy as jnp
    from scipy.optimize import minimize

    jax.config.update("jax_enable_x64", True)
    order = np.argsort(groups, kind="stable")
    g = np.unique(groups[order], return_inverse=True)[1]
    ng = int(g.max()) + 1
    data = tuple(jnp.asarray(v[order], jnp.float64) for v in (s, bought, known, rr, sr, cf, labels))
    g_ = jnp.asarray(g)
    npos = jax.ops.segment_sum(data[-1], g_, ng)
    n_sim = max(int(level.max()), 1)
    group_level = np.zeros(ng, np.int64)
    group_level[g] = level[order]
    gw = jnp.asarray(np.where(group_level == 0, 1.0, 1.0 / n_sim), jnp.float64)

    def loss(theta, data, npos, gw):   # the data as arguments: XLA would fold closed-over arrays
        s_, b_, k_, rr_, sr_, cf_, y_ = data
        u1, u2, log_pen, c = theta
        weight = jnp.exp(-(u1 * rr_ + u2 * sr_))
        z = s_ + k_ * weight * (c * cf_ - jnp.minimum(b_ * 2.0, 1.0) * jnp.exp(log_pen))
        zmax = jax.ops.segment_max(z, g_, ng)
        lse = jnp.log(jax.ops.segment_sum(jnp.exp(z - zmax[g_]), g_, ng)) + zmax
        ll = jax.ops.segment_sum(y_ * z, g_, ng) - npos * lse
        return -jnp.sum(gw * ll) / jnp.sum(gw * npos)

    vg = jax.jit(jax.value_and_grad(loss))
    res = minimize(lambda th: tuple(np.asarray(v, np.float64) for v in vg(jnp.asarray(th), data, npos, gw)),
                   np.array([10.0, 0.0, np.log(5.0), 0.0]), jac=True, method="L-BFGS-B",
                   bounds=[(0.0, 200.0), (0.0, 200.0), (np.log(0.1), np.log(1000.0)), (0.0, 100.0)])
    if not res.success:
        raise SystemExit(f"repeat gate: the fit did not converge ({res.message})")
    u1, u2, log_pen, c = res.x
    return {"rate_decay": float(u1), "share_decay": float(u2), "penalty": float(np.exp(log_pen)),
            "copurchase": float(c), "loss": float(res.fun)}


def main():
    """Add a repeat gate to an existing model directory (any kind, with or without a context head)."""
    import model_card
    import onnx
    from common import (load_manifest, load_matrix, ort_scores, ranking_metrics, save_model_dir, write_json,
                        write_layer_metrics)

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="model directory (manifest.json, model.onnx)")
    ap.add_argument("--train", required=True, help="`tailor features` matrices, comma-separated")
    ap.add_argument("--levels", default="1,0.3,0.1,0", help="repeat levels m of the fitting rows")
    ap.add_argument("--out", required=True)
    ap.add_argument("--name")
    ap.add_argument("--version")
    ap.add_argument("--description")
    a = ap.parse_args()
    man = load_manifest(a.model)
    base_feats = man["features"]
    if set(base_feats) & set(GATE_FEATURES):
        raise SystemExit(f"{a.model} already reads {sorted(set(base_feats) & set(GATE_FEATURES))}")
    if BOUGHT not in base_feats:
        raise SystemExit(f"{a.model} does not read {BOUGHT}: there is nothing to gate")
    base = onnx.load(os.path.join(a.model, "model.onnx"))
    feats = base_feats + GATE_FEATURES
    parts = [load_matrix(p, feats) for p in a.train.split(",")]
    users = np.concatenate([np.char.add(f"{i}:", u.astype(str)) for i, (u, _, _, _) in enumerate(parts)])
    y = np.concatenate([p[1] for p in parts]).astype(np.float64)
    X = np.concatenate([p[2] for p in parts])
    for_you = np.char.find(users, "#cart") < 0     # the gate is about the shopper's taste, not a cart
    users, y, X = users[for_you], y[for_you], X[for_you]
    n = len(base_feats)
    s = ort_scores(base, X[:, :n]).astype(np.float64)
    levels = [float(v) for v in a.levels.split(",")]
    if levels[0] != 1.0:
        raise SystemExit("--levels: the first level must be 1 (the real rows)")
    groups, labels, bought, known, rr, sr, cf, idx, level = repeat_levels(users, y, X, feats, levels)
    p = fit(s[idx], groups, labels, bought, known, rr, sr, cf, level)
    print("repeat gate: " + ", ".join(f"{k} {v:.4f}" for k, v in p.items()), flush=True)
    model = compose(base, base_feats, p)
    # The graph must compute what was fitted.
    col = {f: i for i, f in enumerate(feats)}
    probe = X[: min(len(X), 20000)].copy()
    probe[::3, col["item_repeat_rate"]] = 0.0
    ref = gate_scores(s[: len(probe)], (probe[:, col[BOUGHT]] > 0).astype(np.float64),
                      probe[:, col["item_repeat_known"]], probe[:, col["item_repeat_rate"]],
                      probe[:, col["shopper_repeat_share"]], probe[:, col[COPURCHASE]], p)
    got = ort_scores(model, probe)
    err = float(np.max(np.abs(got - ref)))
    if err > 1e-3:
        raise SystemExit(f"repeat gate: the graph differs from the fitted gate by {err}")
    gate = dict(p, levels=levels, fit_rows=int(len(X)))
    by_level = {}
    for m in levels:
        g2, l2, b2, k2, r2, s2, c2, i2, _ = repeat_levels(users, y, X, feats, [m])
        base_m = ranking_metrics(g2, l2, s[i2])
        gated_m = ranking_metrics(g2, l2, gate_scores(s[i2], b2, k2, r2, s2, c2, p))
        by_level[str(m)] = {"base_ndcg": base_m["ndcg@10"], "gated_ndcg": gated_m["ndcg@10"]}
        print(f"  repeat level {m}: NDCG@10 base {base_m['ndcg@10']:.4f} -> gated {gated_m['ndcg@10']:.4f}")
    gate["train_by_level"] = by_level
    description = a.description or f"{man.get('description', man['name'])}; with a repeat gate"
    with_reference = "score_reference" in man
    saved = save_model_dir(a.out, model, a.name or man["name"], a.version or man["version"], feats, description,
                           X=X, with_reference=with_reference)
    # The base features keep the base model's probe ranges (they cover its cart rows too); the gate's
    # own features are probed over their whole domain, an unknown rate included.
    saved["ranges"] = {**{f: man["ranges"][f] for f in base_feats if f in man.get("ranges", {})},
                       **{f: saved["ranges"][f] for f in base_feats if f not in man.get("ranges", {})},
                       **{f: [0.0, 1.0] for f in GATE_FEATURES}}
    write_json(os.path.join(a.out, "manifest.json"), saved)
    metrics = write_layer_metrics(a.model, a.out, model, a.name or man["name"], feats, "repeat_gate", gate)
    if "kind" in metrics:   # a model trained by train.py: its card, with the gate's section
        model_card.write_card(a.out)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
