#!/usr/bin/env python3
"""The on-device sequence model: SASRec (self-attentive sequential recommendation, Kang & McAuley
2018), trained with JAX on the CPU and written to ONNX by hand (models/README.md "Sequence model";
the contract: `sequence_parity.json`, `vocab.txt` and the manifest's `sequence` block).

    sequence.py train --events E --out DIR [--before T] [--name N] [--epochs 200]
                      [--patience 5] [--dim 64] [--max-len 50] [--negatives 0] [--dropout 0.5] [--lr 0.004]
                      [--valid-users 5000] [--max-seconds 0] [--repeat-weight auto] [--refit] [--seed 0]
    sequence.py evaluate --model DIR --catalog C --events E --cutoff T [--json]

`train` reads the purchases before T (all of them without --before), builds each shopper's
sequence exactly as Tailor does on the device (distinct items by latest purchase time, ties by
item id), holds out the last item of --valid-users random shoppers for validation (early stopping
on its NDCG@10 over the whole vocabulary) and trains a next-item objective at every position with a sampled softmax
(`--negatives 0`: the full softmax). With `--refit` the chosen number of epochs is retrained on
the whole sequences. It writes `sequence.onnx`, `vocab.txt`, `sequence_parity.json`, a ranker
`model.onnx` (weight 1 on `sequence_score`, plus a weight on `bought_count` chosen on the validation
shoppers: how this shop's shoppers buy an item again), `manifest.json` (format_version 2) and `README.md`.
Nothing is written unless the graph matches the JAX model in onnxruntime (and tract, when the
`tract` package is installed) within 1e-5 on the user vector.

`evaluate` is the leave-one-out protocol of `tailor replay --cutoff T`, in Python from the model
directory's files alone: every shopper with a purchase at or after T, the first such purchase is the
target, the graph (onnxruntime) reads the purchases before T, the whole catalog is ranked by
dot(user, item_embedding[index]) (+ the ranker's weight x bought_count) with already-bought items
kept; NDCG@10 and HR@10.
"""
import argparse
import csv
import gzip
import json
import math
import os
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (SEQUENCE_FEATURE, linear_graph, reference_rows, save_model_dir,  # noqa: E402
                    sha256_file, write_json)

PAD, UNKNOWN, FIRST = 0, 1, 2        # vocabulary indices: padding, unknown item, line 0 of vocab.txt
OPSET = 17                           # LayerNormalization is a default-domain op from opset 17
IR_VERSION = 8                       # IR 8 covers opset 17; the loader accepts IR 7..=9
MASK = -1e9                          # finite attention mask (never -inf: no NaN on all-pad rows)
LN_EPS = 1e-5
TOLERANCE = 1e-5                     # parity of the user vector, JAX vs onnxruntime vs tract
FEATURE = SEQUENCE_FEATURE
INPUT, OUTPUT, TABLE = "items", "user", "item_embedding"


def log(msg):
    print(f"[sequence] {msg}", flush=True)


# ------------------------------------------------------------------ sequences (the contract)
def open_text(path):
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rt", newline="") if gz else open(path, newline="")


def read_purchases(events):
    """{user: {item: [timestamps]}} of the purchases in an interchange events CSV
    (user_id,item_id,event,ts; no event column = every row is a purchase)."""
    out = {}
    with open_text(events) as f:
        r = csv.reader(f)
        cols = {h.strip().lower(): i for i, h in enumerate(next(r))}
        for need in ("user_id", "item_id", "ts"):
            if need not in cols:
                raise SystemExit(f"{events}: missing column {need}")
        u, i, t, ev = cols["user_id"], cols["item_id"], cols["ts"], cols.get("event")
        for row in r:
            if ev is not None and row[ev].strip().lower() not in ("purchase", "buy"):
                continue
            out.setdefault(row[u], {}).setdefault(row[i], []).append(int(row[t]))
    return out


def sequence_of(purchases, before=None):
    """The shopper's distinct purchased items ordered by their latest purchase time before
    `before`, ties by item id in byte order: how Tailor builds the graph's input."""
    latest = {}
    for item, times in purchases.items():
        ts = [t for t in times if before is None or t < before]
        if ts:
            latest[item] = max(ts)
    return [i for i, _ in sorted(latest.items(), key=lambda kv: (kv[1], kv[0].encode("utf-8")))]


def sequences(purchases, before=None):
    out = {}
    for user, p in purchases.items():
        s = sequence_of(p, before)
        if s:
            out[user] = s
    return out


def encode(seq, index, max_len):
    """Item ids -> the graph's int64 [max_len] row: the last max_len items mapped through the
    vocabulary (unknown -> 1), left-padded with 0."""
    ids = [index.get(i, UNKNOWN) for i in seq[-max_len:]]
    return np.array([PAD] * (max_len - len(ids)) + ids, np.int64)


def read_vocab(path):
    with open(path, encoding="utf-8") as f:
        items = f.read().split("\n")
    if items and items[-1] == "":
        items.pop()
    return items


def write_vocab(path, items):
    bad = [i for i in items if not i or "\n" in i or "\r" in i]
    if bad or len(set(items)) != len(items):
        raise SystemExit(f"vocabulary: empty, multi-line or duplicate item ids ({bad[:3]})")
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("".join(i + "\n" for i in items))


# ------------------------------------------------------------------ the model (JAX)
def init_params(n_rows, d, max_len, blocks, seed):
    rng = np.random.default_rng(seed)
    n = lambda *shape, s: (rng.standard_normal(shape) * s).astype(np.float32)  # noqa: E731
    p = {"item_embedding": n(n_rows, d, s=d ** -0.5), "position": n(max_len, d, s=d ** -0.5),
         "final_g": np.ones(d, np.float32), "final_b": np.zeros(d, np.float32)}
    p["item_embedding"][PAD] = 0.0
    for b in range(blocks):
        for ln in ("ln1", "ln2"):
            p[f"b{b}_{ln}_g"] = np.ones(d, np.float32)
            p[f"b{b}_{ln}_b"] = np.zeros(d, np.float32)
        for w in ("q", "k", "v", "o", "f1", "f2"):
            p[f"b{b}_{w}_w"] = n(d, d, s=d ** -0.5)
            p[f"b{b}_{w}_b"] = np.zeros(d, np.float32)
    return p


def _jax():
    import jax
    import jax.numpy as jnp
    return jax, jnp


def forward(p, items, blocks, train=False, rate=0.0, key=None):
    """Hidden states [B, L, d] for item rows [B, L] (L <= max_len, left-padded: the positions are
    the last L of the table). The same maths as the ONNX graph, in the same order."""
    jax, jnp = _jax()
    d = p["item_embedding"].shape[1]
    L = items.shape[1]
    keys = iter(jax.random.split(key, 2 + 3 * blocks)) if train else None

    def drop(x):
        if not train or rate == 0.0:
            return x
        keep = jax.random.bernoulli(next(keys), 1.0 - rate, x.shape)
        return jnp.where(keep, x / (1.0 - rate), 0.0)

    def ln(x, g, b):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / jnp.sqrt(var + LN_EPS) * g + b

    is_pad = items == PAD
    nonpad = jnp.where(is_pad, 0.0, 1.0)[..., None]
    causal = jnp.where(jnp.tril(jnp.ones((L, L), bool)), 0.0, MASK)
    mask = causal[None] + jnp.where(is_pad, MASK, 0.0)[:, None, :]
    x = p["item_embedding"][items] * math.sqrt(d) + p["position"][-L:]
    x = drop(x) * nonpad
    for b in range(blocks):
        w = lambda n: p[f"b{b}_{n}"]  # noqa: E731
        h = ln(x, w("ln1_g"), w("ln1_b"))
        q, k, v = (h @ w(f"{n}_w") + w(f"{n}_b") for n in ("q", "k", "v"))
        att = jax.nn.softmax((q @ jnp.swapaxes(k, 1, 2)) * (1.0 / math.sqrt(d)) + mask, axis=-1)
        x = x + drop((drop(att) @ v) @ w("o_w") + w("o_b"))
        h = ln(x, w("ln2_g"), w("ln2_b"))
        x = x + drop(jax.nn.relu(h @ w("f1_w") + w("f1_b")) @ w("f2_w") + w("f2_b"))
        x = x * nonpad
    return ln(x, p["final_g"], p["final_b"])


_FORWARD = {}


def user_vectors(p, rows, blocks, batch=512):
    """User vectors [N, d] (last position) for int64 rows [N, max_len]."""
    jax, jnp = _jax()
    f = _FORWARD.get(blocks)
    if f is None:   # compiled once per shape, not once per validation
        f = _FORWARD[blocks] = jax.jit(lambda p, x: forward(p, x, blocks)[:, -1, :])
    out = []
    for a in range(0, len(rows), batch):
        chunk = rows[a:a + batch]
        n = len(chunk)
        if n < batch:   # one compiled shape
            chunk = np.concatenate([chunk, np.zeros((batch - n, rows.shape[1]), np.int64)])
        out.append(np.asarray(f(p, jnp.asarray(chunk)))[:n])
    return np.concatenate(out) if out else np.zeros((0, p["item_embedding"].shape[1]), np.float32)


def rank_of_targets(U, table, targets, candidates, bonus=None):
    """0-based rank of each target among `candidates` (table rows, one per catalog item) by
    dot(user, row); ties count against the target (catalog items outside the vocabulary share
    the unknown row, so they tie). `bonus`: per user (candidate positions, values, the target's
    value) added to those scores (the ranker's bought_count term), or None."""
    ranks = np.empty(len(U), np.int64)
    in_catalog = np.isin(targets, candidates)
    for a in range(0, len(U), 1024):
        s = U[a:a + 1024] @ table.T                                   # [n, V+2]
        t = s[np.arange(len(s)), targets[a:a + 1024]]                 # the same float32 values
        c = s[:, candidates]
        for k, (pos, val, tv) in enumerate(bonus[a:a + 1024] if bonus is not None else ()):
            c[k, pos] += val
            t[k] += tv
        ranks[a:a + 1024] = (c >= t[:, None]).sum(1) - in_catalog[a:a + 1024]
    return ranks


def metrics_from_ranks(ranks, k=10):
    ranks = np.asarray(ranks)
    hit = ranks < k
    return {"ndcg@10": float(np.where(hit, 1.0 / np.log2(ranks + 2.0), 0.0).mean()),
            "hr@10": float(hit.mean()), "users": int(len(ranks))}


# Weights of `bought_count` (ln(1 + times bought)) tried next to sequence_score in the ranker. The
# graph only sees the order of distinct items, so how often a shop's shoppers buy the same item
# again is learned here, on validation: Amazon-like shops never do (a strongly negative weight
# keeps the shopper's own items, which the user vector resembles most, out of the top), grocery
# shops often (a positive weight).
REPEAT_WEIGHTS = (2.0, 1.0, 0.5, 0.0, -0.5, -1.0, -2.0, -4.0, -8.0, -16.0, -32.0, -64.0, -128.0)


def bought_before(times_by_item, t, index):
    """(table rows, ln(1 + purchases before t)) of a shopper's items: Tailor's `bought_count`."""
    rows, vals = [], []
    for item, times in times_by_item.items():
        n = sum(1 for x in times if x < t)
        if n:
            rows.append(index.get(item, UNKNOWN))
            vals.append(math.log1p(n))
    return np.array(rows, np.int64), np.array(vals, np.float32)


def repeat_weight_ndcg(U, table, targets, bought, weights=REPEAT_WEIGHTS):
    """NDCG@10 over the vocabulary (and the unknown row) of score = sequence_score + w *
    bought_count, for each w; `bought` = bought_before() of each user."""
    cands = np.arange(UNKNOWN, len(table))
    ranks = {w: [] for w in weights}
    for a in range(0, len(U), 1024):
        s = U[a:a + 1024] @ table.T
        b = np.zeros_like(s)
        for k, (rows, vals) in enumerate(bought[a:a + 1024]):
            b[k, rows] = vals
        at = (np.arange(len(s)), targets[a:a + 1024])
        for w in weights:
            sw = s + np.float32(w) * b
            ranks[w].append((sw[:, cands] >= sw[at][:, None]).sum(1) - 1)
    return {w: metrics_from_ranks(np.concatenate(r))["ndcg@10"] for w, r in ranks.items()}


def choose_repeat_weight(ndcg):
    """The best weight; ties go to 0, then to the smaller magnitude."""
    return max(ndcg, key=lambda w: (ndcg[w], w == 0, -abs(w)))


# ------------------------------------------------------------------ training
class Config:
    def __init__(self, **kw):
        self.dim = 64
        self.max_len = 50
        self.blocks = 1
        self.dropout = 0.5
        self.negatives = 0         # 0 = full softmax over every item; N = N shared uniform negatives per step
        self.lr = 4e-3
        self.l2 = 0.0              # L2 on the item embeddings actually used in a step
        self.epochs = 200
        self.patience = 5          # epochs without a better validation NDCG@10
        self.eval_every = 1
        self.tokens = 2048         # batch size in positions (batch rows = tokens // length)
        self.seed = 0
        self.max_seconds = 0       # stop after the epoch that passes this training time (0 = no limit)
        self.__dict__.update(kw)

    def as_dict(self):
        return dict(self.__dict__)


def training_rows(seqs, index, max_len):
    """(inputs, targets) int64 [N, max_len]: next item at every position, left-padded."""
    X, Y = [], []
    for s in seqs:
        ids = [index.get(i, UNKNOWN) for i in s][-(max_len + 1):]
        if len(ids) < 2:
            continue
        x, y = ids[:-1], ids[1:]
        pad = [PAD] * (max_len - len(x))
        X.append(pad + x)
        Y.append(pad + y)
    return np.array(X, np.int64).reshape(-1, max_len), np.array(Y, np.int64).reshape(-1, max_len)


def buckets(X, Y, max_len, tokens):
    """Rows grouped by length into a few fixed shapes (length, rows per batch): left-padded
    rows keep their last `length` positions, exactly the same computation with less padding."""
    lengths = (X != PAD).sum(1)
    sizes = sorted({min(max_len, s) for s in (6, 16)} | {max_len})   # each size is one compilation
    out = []
    lo = 0
    for size in sizes:
        sel = np.flatnonzero((lengths > lo) & (lengths <= size))
        lo = size
        if len(sel):
            out.append((X[sel][:, -size:], Y[sel][:, -size:], max(1, tokens // size)))
    return out


def targets_at(targets, multiple=256):
    """For each target batch [B, L], the flat indices of its non-padding positions, padded with
    -1 to one length per batch shape: the largest count among the batches of that shape rounded
    up to `multiple` (a few compiled shapes, little filler)."""
    flat = [np.flatnonzero(y.ravel() != PAD).astype(np.int32) for y in targets]
    size = {}
    for y, f in zip(targets, flat):
        size[y.shape] = max(size.get(y.shape, 1), -(-len(f) // multiple) * multiple)
    return [np.concatenate([f, np.full(size[y.shape] - len(f), -1, np.int32)]) for y, f in zip(targets, flat)]


def adam_init(p):
    jax, jnp = _jax()
    z = jax.tree_util.tree_map(jnp.zeros_like, p)
    return {"m": z, "v": jax.tree_util.tree_map(jnp.zeros_like, p), "t": jnp.zeros((), jnp.float32)}


def make_loss(cfg, n_rows):
    """The training loss of a batch (inputs, targets) [B, L] and its target positions `at` (see
    `targets_at`): the mean over the targets of the softmax cross-entropy of the next item."""
    jax, jnp = _jax()

    def loss_fn(p, X, Y, at, key):
        k_drop, k_neg = jax.random.split(key)
        H = forward(p, X, cfg.blocks, train=True, rate=cfg.dropout, key=k_drop)   # [B, L, d]
        E = p["item_embedding"]
        # Only the target positions (`at`: flat indices, -1 = filler) are scored: about 40% of a
        # batch's positions are padding, and the scores against the item table are most of the work.
        w = (at >= 0).astype(jnp.float32)
        h = H.reshape(-1, H.shape[-1])[jnp.maximum(at, 0)]                       # [K, d]
        y = Y.reshape(-1)[jnp.maximum(at, 0)]                                     # [K]
        pos = jnp.einsum("kd,kd->k", h, E[y])
        if cfg.negatives == 0:
            # Full softmax: every item (and the unknown row) is a negative; padding is never a class.
            logits = (h @ E.T).at[:, PAD].set(MASK)                               # [K, V+2]
            ce = jax.nn.logsumexp(logits, -1) - pos
        else:
            # Shared uniform negatives (a constant log-q, so no correction) plus the unknown row,
            # so unknown items learn to score low; a negative equal to the target is masked.
            neg = jax.random.randint(k_neg, (cfg.negatives,), FIRST, n_rows)
            neg = jnp.concatenate([jnp.array([UNKNOWN]), neg])
            lneg = h @ E[neg].T                                                   # [K, N+1]
            lneg = jnp.where(neg[None, :] == y[:, None], MASK, lneg)
            ce = jnp.logaddexp(pos, jax.nn.logsumexp(lneg, -1)) - pos
        n = jnp.maximum(w.sum(), 1.0)
        loss = (ce * w).sum() / n
        if cfg.l2:
            used = E[jnp.concatenate([X.ravel(), Y.ravel()])]
            loss = loss + cfg.l2 * (used ** 2).sum() / n
        return loss

    return loss_fn


def make_step(cfg, n_rows):
    """One jitted Adam step on a batch (inputs, targets) [B, L] and its target positions `at`."""
    jax, jnp = _jax()
    b1, b2, eps = 0.9, 0.98, 1e-9
    loss_fn = make_loss(cfg, n_rows)

    @jax.jit
    def step(p, opt, X, Y, at, key):
        loss, g = jax.value_and_grad(loss_fn)(p, X, Y, at, key)
        t = opt["t"] + 1.0
        m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, opt["m"], g)
        v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, opt["v"], g)
        lr = cfg.lr * jnp.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        p = jax.tree_util.tree_map(lambda p, m, v: p - lr * m / (jnp.sqrt(v) + eps), p, m, v)
        p["item_embedding"] = p["item_embedding"].at[PAD].set(0.0)
        return p, {"m": m, "v": v, "t": t}, loss

    return step


_STEPS = {}


def train(train_seqs, vocab, cfg, valid=None, epochs=None, progress=log):
    """Train SASRec on `train_seqs` (lists of item ids). valid = (input sequences, target ids):
    early stopping on NDCG@10 over the vocabulary; without it, exactly `epochs` epochs.
    Returns (numpy params, history)."""
    jax, jnp = _jax()
    index = {item: FIRST + k for k, item in enumerate(vocab)}
    n_rows = len(vocab) + FIRST
    X, Y = training_rows(train_seqs, index, cfg.max_len)
    if not len(X):
        raise SystemExit("no shopper has two or more distinct purchases: nothing to train on")
    groups = buckets(X, Y, cfg.max_len, cfg.tokens)
    p = {k: jnp.asarray(v) for k, v in init_params(n_rows, cfg.dim, cfg.max_len, cfg.blocks, cfg.seed).items()}
    opt = adam_init(p)
    cache_key = (tuple(sorted(cfg.as_dict().items())), n_rows)
    step = _STEPS.get(cache_key)
    if step is None:   # a refit reuses the compiled steps
        step = _STEPS[cache_key] = make_step(cfg, n_rows)
    rng = np.random.default_rng(cfg.seed)
    key = jax.random.PRNGKey(cfg.seed)
    if valid is not None:
        v_rows = np.stack([encode(s, index, cfg.max_len) for s in valid[0]])
        v_targets = np.array([index.get(t, UNKNOWN) for t in valid[1]], np.int64)
        v_cands = np.arange(UNKNOWN, n_rows)
    best, best_epoch, best_p, history = -1.0, 0, None, []
    total = epochs or cfg.epochs
    t_train = time.time()
    for epoch in range(1, total + 1):
        t0 = time.time()
        batches = []
        for gx, gy, rows in groups:
            order = rng.permutation(len(gx))
            for a in range(0, len(order), rows):
                sel = order[a:a + rows]
                bx, by = gx[sel], gy[sel]
                if len(sel) < rows:   # pad the last batch: one compiled shape per bucket
                    fill = np.zeros((rows - len(sel), gx.shape[1]), np.int64)
                    bx, by = np.concatenate([bx, fill]), np.concatenate([by, fill])
                batches.append((bx, by))
        ats = targets_at([b[1] for b in batches])
        losses = []
        for j in rng.permutation(len(batches)):
            key, sub = jax.random.split(key)
            p, opt, loss = step(p, opt, jnp.asarray(batches[j][0]), jnp.asarray(batches[j][1]),
                                jnp.asarray(ats[j]), sub)
            losses.append(loss)
        loss = float(np.mean([float(x) for x in losses]))
        entry = {"epoch": epoch, "loss": round(loss, 4), "seconds": round(time.time() - t0, 2)}
        if valid is not None and epoch % cfg.eval_every == 0:
            U = user_vectors(p, v_rows, cfg.blocks)
            m = metrics_from_ranks(rank_of_targets(U, np.asarray(p["item_embedding"]), v_targets, v_cands))
            entry.update(valid_ndcg=round(m["ndcg@10"], 4), valid_hr=round(m["hr@10"], 4))
            if m["ndcg@10"] > best:
                best, best_epoch = m["ndcg@10"], epoch
                best_p = {k: np.asarray(v) for k, v in p.items()}
        history.append(entry)
        progress(json.dumps(entry))
        if valid is not None and epoch - best_epoch >= cfg.patience:
            break
        if cfg.max_seconds and time.time() - t_train > cfg.max_seconds:
            progress(f"time budget of {cfg.max_seconds} s reached after epoch {epoch}")
            break
    if valid is None:
        best_p = {k: np.asarray(v) for k, v in p.items()}
        best_epoch = total
    return best_p, {"epochs": history, "best_epoch": best_epoch,
                    "best_valid_ndcg@10": None if valid is None else best}


# ------------------------------------------------------------------ the ONNX graph
def sequence_graph(p, max_len, blocks, doc="SASRec user vector"):
    """int64 items [1, max_len] -> float32 user [1, d]; the item table is the initializer
    `item_embedding` (Tailor reads it to score candidates). The last block computes only the last
    position's query and feed-forward (the only output)."""
    E = np.asarray(p["item_embedding"], np.float32)
    d = E.shape[1]
    L = max_len
    inits = []
    nodes = []

    def c(name, value, dtype=np.float32):
        inits.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def node(op, ins, out, **attrs):
        nodes.append(helper.make_node(op, ins, [out], name=out, **attrs))
        return out

    c(TABLE, E)
    c("position", p["position"][-L:])
    causal = np.where(np.tril(np.ones((L, L), bool)), 0.0, MASK)
    c("causal", causal[None])
    c("zero_i", [PAD], np.int64)
    c("f0", 0.0)
    c("f1", 1.0)
    c("mask_value", MASK)
    c("sqrt_d", math.sqrt(d))
    c("inv_sqrt_d", 1.0 / math.sqrt(d))
    c("ax1", [1], np.int64)
    c("ax2", [2], np.int64)
    c("last_start", [L - 1], np.int64)
    c("last_end", [L], np.int64)
    c("user_shape", [1, d], np.int64)

    emb = node("Gather", [TABLE, INPUT], "emb", axis=0)                  # [1, L, d]
    x = node("Add", [node("Mul", [emb, "sqrt_d"], "emb_scaled"), "position"], "x_in")
    is_pad = node("Equal", [INPUT, "zero_i"], "is_pad")                  # [1, L] bool
    nonpad = node("Unsqueeze", [node("Where", [is_pad, "f0", "f1"], "nonpad2"), "ax2"], "nonpad")
    keypad = node("Unsqueeze", [node("Where", [is_pad, "mask_value", "f0"], "keypad2"), "ax1"], "keypad")
    mask = node("Add", ["causal", keypad], "mask")                       # [1, L, L]
    x = node("Mul", [x, nonpad], "x0")

    def ln(x, g, b, name):
        c(name + "_g", g)
        c(name + "_b", b)
        return node("LayerNormalization", [x, name + "_g", name + "_b"], name, axis=-1, epsilon=LN_EPS)

    def dense(x, b, w, name):
        c(f"b{b}_{w}_w", p[f"b{b}_{w}_w"])
        c(f"b{b}_{w}_b", p[f"b{b}_{w}_b"])
        return node("Add", [node("MatMul", [x, f"b{b}_{w}_w"], name + "_mm"), f"b{b}_{w}_b"], name)

    def last(t, name):   # [1, L, k] -> [1, 1, k]
        return node("Slice", [t, "last_start", "last_end", "ax1"], name)

    for b in range(blocks):
        final = b == blocks - 1
        h = ln(x, p[f"b{b}_ln1_g"], p[f"b{b}_ln1_b"], f"b{b}_ln1")
        hq = last(h, f"b{b}_h_last") if final else h
        q = dense(hq, b, "q", f"b{b}_q")
        k = dense(h, b, "k", f"b{b}_k")
        v = dense(h, b, "v", f"b{b}_v")
        s = node("MatMul", [q, node("Transpose", [k], f"b{b}_kT", perm=[0, 2, 1])], f"b{b}_s")
        s = node("Mul", [s, "inv_sqrt_d"], f"b{b}_s_scaled")
        m = last(mask, f"b{b}_mask_last") if final else mask
        att = node("Softmax", [node("Add", [s, m], f"b{b}_s_masked")], f"b{b}_att", axis=-1)
        a = dense(node("MatMul", [att, v], f"b{b}_av"), b, "o", f"b{b}_o")
        xr = last(x, f"b{b}_x_last") if final else x
        x = node("Add", [xr, a], f"b{b}_x1")
        h = ln(x, p[f"b{b}_ln2_g"], p[f"b{b}_ln2_b"], f"b{b}_ln2")
        f = dense(node("Relu", [dense(h, b, "f1", f"b{b}_f1")], f"b{b}_relu"), b, "f2", f"b{b}_f2")
        x = node("Add", [x, f], f"b{b}_x2")
        x = node("Mul", [x, last(nonpad, f"b{b}_nonpad_last") if final else nonpad], f"b{b}_x")
    out = ln(x, p["final_g"], p["final_b"], "final")
    nodes.append(helper.make_node("Reshape", [out, "user_shape"], [OUTPUT], name=OUTPUT))
    graph = helper.make_graph(
        nodes, "tailor-sequence",
        [helper.make_tensor_value_info(INPUT, TensorProto.INT64, [1, L])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, [1, d])], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="tailor-train", doc_string=doc)
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def ort_user(session, rows):
    return np.concatenate([session.run([OUTPUT], {INPUT: r[None, :]})[0] for r in rows])


def tract_user(path, rows):
    """User vectors from tract's Python bindings, or None without the `tract` package."""
    try:
        import tract
    except ImportError:
        return None
    runnable = tract.onnx().load(path).into_model().into_runnable()
    return np.concatenate([runnable.run([np.ascontiguousarray(r[None, :])])[0].to_numpy() for r in rows])


def parity_rows(n_rows, max_len, seqs_rows, seed):
    """Rows for the parity fixture: real shoppers' rows, a full row of random items, a one-item
    row, a row with unknown items (1) and an all-padding row."""
    rng = np.random.default_rng(seed)
    rows = [r for r in seqs_rows[:4]]
    rows.append(rng.integers(FIRST, n_rows, max_len))
    one = np.zeros(max_len, np.int64)
    one[-1] = rng.integers(FIRST, n_rows)
    rows.append(one)
    unk = np.zeros(max_len, np.int64)
    unk[-3:] = [UNKNOWN, rng.integers(FIRST, n_rows), UNKNOWN]
    rows.append(unk)
    rows.append(np.zeros(max_len, np.int64))
    return np.stack(rows).astype(np.int64)


def check_parity(p, cfg, path, rows):
    """max |jax - ort| and |tract - ort| on rows; raises if beyond TOLERANCE."""
    from common import ort_session
    ref = user_vectors(p, rows, cfg.blocks, batch=len(rows))
    ort = ort_user(ort_session(path), rows)
    d_ort = float(np.abs(ref - ort).max())
    tr = tract_user(path, rows)
    d_tr = None if tr is None else float(np.abs(tr - ort).max())
    if not np.all(np.isfinite(ort)) or d_ort > TOLERANCE or (d_tr is not None and d_tr > TOLERANCE):
        raise SystemExit(f"sequence graph parity failed: max|jax-ort| = {d_ort:.3g}, "
                         f"max|tract-ort| = {d_tr}; nothing written")
    return ort, {"max_abs_jax_vs_onnxruntime": d_ort, "max_abs_tract_vs_onnxruntime": d_tr}


# ------------------------------------------------------------------ the model directory
def write_model_dir(out, p, vocab, cfg, name, version="1", description=None, sample_rows=None,
                    card=None, seed=0, repeat_weight=0.0):
    """Write the sequence graph, vocabulary, parity fixture, the ranker (weight 1 on
    sequence_score, plus `repeat_weight` on bought_count when nonzero), manifest (format_version 2)
    and card into `out`, after the parity check."""
    os.makedirs(out, exist_ok=True)
    model = sequence_graph(p, cfg.max_len, cfg.blocks, doc=f"{name}: SASRec user vector")
    tmp = os.path.join(out, "sequence.onnx.tmp")
    onnx.save(model, tmp)
    n_rows = len(vocab) + FIRST
    sample_rows = np.zeros((0, cfg.max_len), np.int64) if sample_rows is None else sample_rows
    rows = parity_rows(n_rows, cfg.max_len, sample_rows, seed)
    try:
        users, parity = check_parity(p, cfg, tmp, rows)
    except SystemExit:
        os.remove(tmp)
        raise
    os.replace(tmp, os.path.join(out, "sequence.onnx"))
    write_vocab(os.path.join(out, "vocab.txt"), vocab)
    graph_sha = sha256_file(os.path.join(out, "sequence.onnx"))
    fixture = {"graph_sha256": graph_sha, "max_len": cfg.max_len, "dim": cfg.dim,
               "tolerance": TOLERANCE, "items": [[int(v) for v in r] for r in rows],
               "user": [[float(v) for v in u] for u in users]}   # float32 values, exact in JSON
    with open(os.path.join(out, "sequence_parity.json"), "w") as f:
        f.write("{\n" + ",\n".join(
            f"  {json.dumps(k)}: " + ("[\n    " + ",\n    ".join(json.dumps(r) for r in v) + "\n  ]"
                                    if isinstance(v, list) else json.dumps(v))
            for k, v in fixture.items()) + "\n}\n")
    # The ranker's feature range and score reference: sequence_score over real users x items.
    E = np.asarray(p["item_embedding"], np.float32)
    probe = users[:max(1, len(users) - 1)]                                  # not the all-pad row
    scores = (probe @ E[UNKNOWN:].T).reshape(-1, 1)
    description = description or f"{name}: ranks by the SASRec sequence model's {FEATURE}"
    if repeat_weight:
        # The reference rows: each probe row's own items bought once (ln 2), the others never.
        own = np.zeros((len(probe), len(E) - UNKNOWN), np.float32)
        for k, r in enumerate(rows[:len(probe)]):
            own[k, r[r >= UNKNOWN] - UNKNOWN] = math.log(2.0)
        X = np.hstack([scores, own.reshape(-1, 1)])
        ranker = linear_graph([1.0, repeat_weight], 0.0,
                              f"{name}: score = {FEATURE} + {repeat_weight:g} * bought_count")
        description += f" and bought_count (weight {repeat_weight:g}, chosen on validation)"
        features = [FEATURE, "bought_count"]
    else:
        X = scores
        ranker = linear_graph([1.0], 0.0, f"{name}: score = {FEATURE}")
        features = [FEATURE]
    manifest = save_model_dir(out, ranker, name, version, features, description, X=reference_rows(X))
    manifest["format_version"] = 2
    manifest["sequence"] = {
        "graph": "sequence.onnx", "sha256": graph_sha,
        "vocabulary": "vocab.txt", "vocabulary_sha256": sha256_file(os.path.join(out, "vocab.txt")),
        "max_len": cfg.max_len, "input": INPUT, "output": OUTPUT, "item_table": TABLE,
    }
    write_json(os.path.join(out, "manifest.json"), manifest)
    if card is not None:
        with open(os.path.join(out, "README.md"), "w") as f:
            f.write(card(manifest, parity))
    return manifest, parity


def card_text(name, cfg, info, parity, manifest, out):
    size = os.path.getsize(os.path.join(out, "sequence.onnx"))
    L = [f"# {name} (version {manifest['version']})", "",
         manifest["description"], "",
         "## Artifacts", "",
         f"- `sequence.onnx`: SASRec, {cfg.blocks} block(s), d = {cfg.dim}, 1 head, max_len {cfg.max_len}; "
         f"{size} bytes; opset {OPSET}, IR {IR_VERSION}; input `items` int64 [1, {cfg.max_len}], output "
         f"`user` float32 [1, {cfg.dim}]; item table `item_embedding` [{info['vocabulary'] + 2}, {cfg.dim}]",
         f"- `vocab.txt`: {info['vocabulary']} items (line k = index k + 2; 0 padding, 1 unknown)",
         "- `model.onnx`: the ranker, linear over `sequence_score` (weight 1) and, when the weight "
         "is not 0, `bought_count` (see Training)",
         "- `sequence_parity.json`: onnxruntime's user vectors for a few input rows "
         f"(JAX vs onnxruntime {parity['max_abs_jax_vs_onnxruntime']:.2g}, tract vs onnxruntime "
         f"{parity['max_abs_tract_vs_onnxruntime'] if parity['max_abs_tract_vs_onnxruntime'] is None else format(parity['max_abs_tract_vs_onnxruntime'], '.2g')})",
         "", "## Training", "",
         f"- data: {info['data']}",
         f"- {info['shoppers']} shoppers, {info['training_rows']} training sequences; validation: the last "
         f"item of {info['valid_users']} random shoppers, kept out of training (NDCG@10 over the whole vocabulary)",
         f"- objective: next item at every position, "
         + ("full softmax" if cfg.negatives == 0 else f"sampled softmax ({cfg.negatives} shared uniform negatives + the unknown row)"),
         f"- hyperparameters: `{json.dumps(cfg.as_dict())}`",
         f"- best validation NDCG@10 {info['best_valid_ndcg@10']} at epoch {info['best_epoch']}"
         + (f"; refit on the whole sequences for {info['best_epoch']} epochs" if info.get("refit") else ""),
         f"- ranker: score = `sequence_score`"
         + (f" + {info['bought_count_weight']:g} × `bought_count`" if info["bought_count_weight"] else "")
         + (f" (weight chosen on the validation shoppers; NDCG@10 by weight: "
            f"`{json.dumps(info['valid_ndcg@10_by_bought_count_weight'])}`)"
            if "valid_ndcg@10_by_bought_count_weight" in info else ""),
         f"- training time {info['seconds']:.0f} s wall, {info['cpu_seconds']:.0f} s CPU "
         f"(median epoch {info['epoch_seconds']:.1f} s wall)",
         ""]
    return "\n".join(L)


def cmd_train(a):
    t_start, cpu_start = time.time(), time.process_time()
    cfg = Config(dim=a.dim, max_len=a.max_len, blocks=a.blocks, dropout=a.dropout, negatives=a.negatives,
                 lr=a.lr, l2=a.l2, epochs=a.epochs, patience=a.patience, tokens=a.tokens, seed=a.seed,
                 max_seconds=a.max_seconds)
    purchases = read_purchases(a.events)
    seqs = sequences(purchases, a.before)
    log(f"{len(seqs)} shoppers with purchases before {a.before or 'the end'}")
    users = sorted(seqs)
    # Validation: the last item of --valid-users shoppers (with >= 2 items), drawn at random;
    # training: their earlier items and every other shopper's whole sequence. Only the validation
    # shoppers' last items are kept from training, so no refit is needed for the items that
    # appear mostly at the ends of sequences (the newest) to be trained as targets.
    candidates = [u for u in users if len(seqs[u]) >= 2]
    n_valid = len(candidates) if not a.valid_users else min(a.valid_users, len(candidates))
    valid_users = sorted(candidates[i] for i in np.random.default_rng(a.seed).choice(
        len(candidates), n_valid, replace=False))
    held = set(valid_users)
    train_seqs = [seqs[u][:-1] if u in held else seqs[u] for u in users]
    valid = ([seqs[u][:-1] for u in valid_users], [seqs[u][-1] for u in valid_users])
    counts = {}
    for s in seqs.values():
        for i in s:
            counts[i] = counts.get(i, 0) + 1
    vocab = sorted(counts, key=lambda i: (-counts[i], i.encode("utf-8")))
    log(f"vocabulary {len(vocab)} items; {len(valid_users)} validation shoppers")
    p, hist = train(train_seqs, vocab, cfg, valid=valid)
    info = {"best_epoch": hist["best_epoch"], "best_valid_ndcg@10": round(hist["best_valid_ndcg@10"], 4)}
    epochs = hist["epochs"]
    index = {item: FIRST + k for k, item in enumerate(vocab)}
    if a.repeat_weight == "auto":
        # Each validation shopper's purchases before the held-out item's (latest) purchase.
        bought = []
        for u in valid_users:
            last = seqs[u][-1]
            t = max(x for x in purchases[u][last] if a.before is None or x < a.before)
            bought.append(bought_before(purchases[u], t, index))
        U = user_vectors(p, np.stack([encode(s, index, cfg.max_len) for s in valid[0]]), cfg.blocks)
        targets = np.array([index[t] for t in valid[1]], np.int64)
        by_weight = repeat_weight_ndcg(U, np.asarray(p["item_embedding"]), targets, bought)
        repeat_weight = choose_repeat_weight(by_weight)
        info["valid_ndcg@10_by_bought_count_weight"] = {str(w): round(v, 4) for w, v in by_weight.items()}
        log(f"bought_count weight {repeat_weight:g}: validation NDCG@10 {by_weight[repeat_weight]:.4f} "
            f"(without it {by_weight[0.0]:.4f})")
    else:
        repeat_weight = float(a.repeat_weight)
    info["bought_count_weight"] = repeat_weight
    if a.refit:
        log(f"refit on the whole sequences for {hist['best_epoch']} epochs")
        p, h2 = train([seqs[u] for u in users], vocab, cfg, epochs=hist["best_epoch"])
        epochs = epochs + h2["epochs"]
        info["refit"] = True
    sample = np.stack([encode(seqs[u], index, cfg.max_len) for u in users[:4]])
    seconds = time.time() - t_start
    cpu_seconds = time.process_time() - cpu_start
    info.update(vocabulary=len(vocab), shoppers=len(seqs), valid_users=len(valid_users),
                training_rows=int(sum(1 for s in train_seqs if len(s) >= 2)),
                data=f"purchases in `{os.path.basename(a.events)}`"
                     + (f" before {a.before}" if a.before else ""),
                seconds=seconds, cpu_seconds=cpu_seconds, epoch_seconds=float(np.median([e["seconds"] for e in epochs])))
    name = a.name
    manifest, parity = write_model_dir(
        a.out, p, vocab, cfg, name, description=a.description, sample_rows=sample, seed=a.seed,
        repeat_weight=repeat_weight, card=lambda m, par: card_text(name, cfg, info, par, m, a.out))
    write_json(os.path.join(a.out, "metrics.json"), {
        "kind": "sequence", "hyperparameters": cfg.as_dict(), "training": info, "history": epochs,
        "parity": parity})
    log(f"wrote {a.out} ({seconds:.0f} s; parity {parity})")


# ------------------------------------------------------------------ evaluation
def load_graph_table(model_dir):
    m = onnx.load(os.path.join(model_dir, "sequence.onnx"))
    for init in m.graph.initializer:
        if init.name == TABLE:
            return numpy_helper.to_array(init).astype(np.float32)
    raise SystemExit(f"{model_dir}/sequence.onnx has no initializer {TABLE}")


def read_catalog(path):
    with open_text(path) as f:
        r = csv.reader(f)
        cols = {h.strip().lower(): i for i, h in enumerate(next(r))}
        return [row[cols["item_id"]] for row in r if row]


def evaluate(model_dir, catalog, events, cutoff):
    """Leave-one-out like `tailor replay --cutoff`: see the module doc."""
    from common import load_manifest, ort_session
    man = load_manifest(model_dir)
    seq = man["sequence"]
    vocab = read_vocab(os.path.join(model_dir, seq["vocabulary"]))
    index = {item: FIRST + k for k, item in enumerate(vocab)}
    table = load_graph_table(model_dir)
    sess = ort_session(os.path.join(model_dir, seq["graph"]))
    items = read_catalog(catalog)
    cand = np.array([index.get(i, UNKNOWN) for i in items], np.int64)
    position = {item: k for k, item in enumerate(items)}
    # The ranker's weight on bought_count (write_model_dir: linear, weight 1 on sequence_score).
    weight = 0.0
    if "bought_count" in man["features"]:
        w = {i.name: numpy_helper.to_array(i) for i in onnx.load(os.path.join(model_dir, "model.onnx")).graph.initializer}["w"]
        weight = np.float32(w.ravel()[man["features"].index("bought_count")])
    purchases = read_purchases(events)
    users, rows, targets, bonus, empty = [], [], [], [], 0
    for user in sorted(purchases):
        p = purchases[user]
        after = [(t, i) for i, ts in p.items() for t in ts if t >= cutoff]
        if not after:
            continue
        target = min(after, key=lambda ti: (ti[0], ti[1].encode("utf-8")))[1]
        hist = sequence_of(p, cutoff)
        users.append(user)
        targets.append(index.get(target, UNKNOWN))
        rows.append(encode(hist, index, seq["max_len"]) if hist else None)
        n = {i: sum(1 for t in ts if t < cutoff) for i, ts in p.items()}
        bought = [(position[i], np.float32(weight * math.log1p(c))) for i, c in n.items() if c and i in position]
        bonus.append((np.array([b[0] for b in bought], np.int64), np.array([b[1] for b in bought], np.float32),
                      np.float32(weight * math.log1p(n.get(target, 0)))))
    U = np.zeros((len(users), table.shape[1]), np.float32)
    t0 = time.time()
    for k, r in enumerate(rows):
        if r is None:
            empty += 1       # no purchase: sequence_score 0 for every item, the target ties with all
        else:
            U[k] = sess.run([OUTPUT], {INPUT: r[None, :]})[0][0]
    graph_us = (time.time() - t0) / max(1, len(rows) - empty) * 1e6
    ranks = rank_of_targets(U, table, np.array(targets, np.int64), cand, bonus if weight else None)
    m = metrics_from_ranks(ranks)
    m.update(catalog_items=len(items), unknown_catalog_items=int((cand == UNKNOWN).sum()),
             unknown_targets=int(sum(t == UNKNOWN for t in targets)), shoppers_without_history=empty,
             onnxruntime_us_per_user=round(graph_us, 1))
    return m


def cmd_evaluate(a):
    m = evaluate(a.model, a.catalog, a.events, a.cutoff)
    if a.json:
        print(json.dumps(m))
    else:
        print(f"NDCG@10 {m['ndcg@10']:.4f}  HR@10 {m['hr@10']:.4f}  over {m['users']} shoppers "
              f"(catalog {m['catalog_items']} items, {m['unknown_catalog_items']} not in the vocabulary)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--events", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--before", type=int, help="use only purchases before this unix time")
    t.add_argument("--name", default="sequence-ranker")
    t.add_argument("--description")
    d = Config()
    for k in ("dim", "max_len", "blocks", "negatives", "epochs", "patience", "tokens", "seed", "max_seconds"):
        t.add_argument("--" + k.replace("_", "-"), type=int, default=getattr(d, k))
    for k in ("dropout", "lr", "l2"):
        t.add_argument("--" + k, type=float, default=getattr(d, k))
    t.add_argument("--valid-users", type=int, default=5000,
                   help="shoppers whose last item is held out for early stopping (0 = all)")
    t.add_argument("--repeat-weight", default="auto",
                   help="weight of bought_count in the ranker: auto = the best on validation, or a number (0 = none)")
    t.add_argument("--refit", action="store_true", help="retrain on the whole sequences for the best epoch count")
    e = sub.add_parser("evaluate")
    e.add_argument("--model", required=True)
    e.add_argument("--catalog", required=True)
    e.add_argument("--events", required=True)
    e.add_argument("--cutoff", type=int, required=True)
    e.add_argument("--json", action="store_true")
    a = ap.parse_args()
    {"train": cmd_train, "evaluate": cmd_evaluate}[a.cmd](a)


if __name__ == "__main__":
    main()
