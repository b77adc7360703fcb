"""Synthetic training matrix in the `tailor features` CSV format.

Stand-in until the Rust side's `tailor features` writes the real matrix. It
simulates a catalogue and shoppers with latent tastes, a 90-day event history
(view / cart / buy / dismiss) and a purchase horizon after the cutoff, then
derives every registry feature from the history roughly the way the serving side
does (decayed shares, recencies, cosine similarities...). Rows come grouped per
user: the items bought in the horizon (label 1) plus sampled hard negatives.

    python synth.py --users 2000 --seed 1 --out data/train.csv
    python synth.py --users 600  --seed 2 --out data/valid.csv
The catalogue is shared between runs (--catalog-seed); --seed picks the shoppers.
"""
import argparse
import json

import numpy as np

from common import ALL_FEATURES, EMB_DIM

N_ITEMS, N_CAT, BRANDS_PER_CAT, N_TAGS, HALF_LIFE = 3000, 24, 5, 60, 14.0


def catalogue(rng):
    cat = rng.integers(0, N_CAT, N_ITEMS)
    brand = cat * BRANDS_PER_CAT + rng.integers(0, BRANDS_PER_CAT, N_ITEMS)
    tags = (cat[:, None] * 2 + rng.integers(0, 8, (N_ITEMS, 3))) % N_TAGS  # category-biased tags
    centroid = rng.normal(size=(N_CAT, EMB_DIM))
    emb = centroid[cat] + 0.7 * rng.normal(size=(N_ITEMS, EMB_DIM))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    price = np.exp(rng.normal(2.5 + rng.normal(0, 0.8, N_CAT)[cat], 0.5))
    band = np.searchsorted(np.quantile(price, [0.2, 0.4, 0.6, 0.8]), price)
    sales = rng.pareto(1.1, N_ITEMS) * 10              # heavy-tailed popularity
    popularity = np.log1p(sales) / np.log1p(sales).max()
    percentile = sales.argsort().argsort() / (N_ITEMS - 1)
    consumable = (rng.random(N_CAT) < 0.3)[cat]         # repeat-buy categories
    in_stock = (rng.random(N_ITEMS) < 0.93).astype(float)
    centroids = np.array([emb[cat == k].mean(0) for k in range(N_CAT)])
    return dict(cat=cat, brand=brand, tags=tags, emb=emb, centroids=centroids, price=price, band=band,
                popularity=popularity, percentile=percentile, consumable=consumable,
                in_stock=in_stock)


def utility(c, u, items):
    """Latent appeal of items to shopper u (drives both history and future buys)."""
    return (3.0 * u["cat_pref"][c["cat"][items]] * N_CAT / 4
            + u["brand_pref"][c["brand"][items]]
            + 1.5 * c["emb"][items] @ u["taste"]
            + 1.2 * c["popularity"][items]
            - u["price_sens"] * np.log(c["price"][items] / u["usual_price"]) ** 2)


def shopper(c, rng):
    cat_pref = rng.dirichlet(np.full(N_CAT, 0.3))
    u = dict(cat_pref=cat_pref, brand_pref=rng.normal(0, 0.7, N_CAT * BRANDS_PER_CAT),
             usual_price=np.exp(rng.normal(2.5, 0.6)), price_sens=rng.uniform(0.05, 0.5))
    u["taste"] = cat_pref @ c["centroids"] + 0.3 * rng.normal(size=EMB_DIM)
    u["liked"] = rng.choice(N_CAT, 2, replace=False) if rng.random() < 0.15 else []
    u["disliked"] = rng.choice(N_CAT, 1) if rng.random() < 0.1 else []
    # history: events drawn by softmax(utility); kinds view/cart/buy/dismiss
    n = int(rng.geometric(1 / 40)) if rng.random() > 0.08 else 0   # some cold-start shoppers
    p = np.exp(utility(c, u, np.arange(N_ITEMS)) * 1.5)
    items = rng.choice(N_ITEMS, n, p=p / p.sum())
    kinds = rng.choice(4, n, p=[0.70, 0.13, 0.12, 0.05])
    days = rng.uniform(0, 90, n)
    session = days < rng.uniform(0.05, 1.0)            # the current session: last hours
    u.update(h_items=items, h_kind=kinds, h_days=days, h_session=session)
    return u


def features(c, u, items):
    """Registry features of `items` for shopper u, computed from the history only."""
    it, kind, days, sess = u["h_items"], u["h_kind"], u["h_days"], u["h_session"]
    w = 0.5 ** (days / HALF_LIFE) * np.where(kind == 3, 0.0, 1.0)   # dismissals carry no affinity
    n = len(items)
    f = {k: np.zeros(n) for k in ALL_FEATURES}

    def share(attr, weights, target):
        tot = weights.sum()
        if tot == 0:
            return np.zeros(n)
        return np.array([weights[attr[it] == t].sum() for t in target]) / tot

    def tag_share(weights):
        tot = weights.sum()
        if tot == 0:
            return np.zeros(n)
        counts = np.bincount(c["tags"][it].ravel(), np.repeat(weights, 3), N_TAGS) / (3 * tot)
        return counts[c["tags"][items]].sum(1)

    f["affinity_category"] = share(c["cat"], w, c["cat"][items])
    f["affinity_brand"] = share(c["brand"], w, c["brand"][items])
    f["affinity_tags"] = tag_share(w)
    f["affinity_price_band"] = share(c["band"], w, c["band"][items])
    sw = w * sess
    f["session_affinity_category"] = share(c["cat"], sw, c["cat"][items])
    f["session_affinity_brand"] = share(c["brand"], sw, c["brand"][items])
    f["session_affinity_tags"] = tag_share(sw)
    for j, i in enumerate(items):
        mine = it == i
        for kname, k in (("bought", 2), ("viewed", 0)):
            hit = mine & (kind == k)
            f[f"{kname}_count"][j] = hit.sum()
            if hit.any():
                f[f"recency_{kname}"][j] = 0.5 ** (days[hit].min() / HALF_LIFE)
        carted = mine & (kind == 1)
        if carted.any() and not (mine & (kind == 2) & (days < days[carted].min())).any():
            f["carted_not_bought"][j] = 1.0
        f["dismissed"][j] = float((mine & (kind == 3)).any())
    seen = kind != 3
    if seen.any():
        usual = np.exp(np.log(c["price"][it[seen]]).mean())
        f["price_vs_usual"] = np.clip(np.log(c["price"][items] / usual), -3, 3)
    f["item_popularity"] = c["popularity"][items]
    f["popularity_percentile"] = c["percentile"][items]
    bought = it[kind == 2]
    if len(bought):   # co-purchase proxy: max embedding closeness to bought items, same category
        sim = c["emb"][items] @ c["emb"][bought].T * (c["cat"][items][:, None] == c["cat"][bought][None])
        f["copurchase_score"] = np.clip(sim.max(1), 0, 1)
    for prefix, mask in (("", seen), ("session_", seen & sess)):
        if mask.any():
            prof = (c["emb"][it[mask]] * w[mask, None]).sum(0) / max(w[mask].sum(), 1e-9)
            if prefix == "":
                for d in range(EMB_DIM):
                    f[f"profile_embedding_{d}"][:] = prof[d]
            norm = np.linalg.norm(prof)
            if norm > 0:
                f[f"{prefix}embedding_similarity"] = c["emb"][items] @ prof / norm
    f["explicit_preference"] = np.isin(c["cat"][items], u["liked"]) * 1.0 - np.isin(c["cat"][items], u["disliked"])
    f["in_stock"] = c["in_stock"][items]
    f["price_log"] = np.log1p(c["price"][items])
    f["profile_event_count"][:] = len(it)
    for d in range(EMB_DIM):
        f[f"item_embedding_{d}"] = c["emb"][items, d]
    return np.stack([f[k] for k in ALL_FEATURES], 1)


def horizon(c, u, rng, n_neg):
    """Items bought after the cutoff (positives) + hard negatives for one shopper."""
    util = utility(c, u, np.arange(N_ITEMS)) + rng.gumbel(size=N_ITEMS) * 0.8
    it, kind = u["h_items"], u["h_kind"]
    util[it[kind == 2]] += np.where(c["consumable"][it[kind == 2]], 2.0, -1.0)  # repeat buys
    util[it[kind == 1]] += 1.5                                                  # cart intent
    util[it[kind == 3]] -= 3.0                                                  # dismissed
    util += 1.5 * np.isin(c["cat"], u["liked"]) - 3.0 * np.isin(c["cat"], u["disliked"])
    util[c["in_stock"] == 0] = -np.inf                                          # cannot buy
    order = np.argsort(-util)
    n_pos = 1 + rng.poisson(1.5)
    pos = order[:n_pos]
    # hard negatives: appealing-but-not-bought items (ranks 5..300) + a few random ones
    hard = rng.choice(order[n_pos + 5:300], n_neg - 5, replace=False)
    rand = rng.choice(order[300:], 5, replace=False)
    return np.r_[pos, hard, rand], np.r_[np.ones(n_pos), np.zeros(n_neg)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--negatives", type=int, default=30, help="negatives per user")
    ap.add_argument("--seed", type=int, default=1, help="shopper seed")
    ap.add_argument("--catalog-seed", type=int, default=7)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    c = catalogue(np.random.default_rng(a.catalog_seed))
    rng = np.random.default_rng(a.seed)
    rows = 0
    with open(a.out, "w") as f:
        f.write(",".join(["user", "item", "label"] + ALL_FEATURES) + "\n")
        for uid in range(a.users):
            u = shopper(c, rng)
            items, labels = horizon(c, u, rng, a.negatives)
            perm = rng.permutation(len(items))            # row order must not leak the label
            X = features(c, u, items[perm])
            for i, y, x in zip(items[perm], labels[perm], X):
                f.write(f"s{a.seed}u{uid},i{i},{int(y)}," + ",".join(f"{v:.6g}" for v in x) + "\n")
            rows += len(items)
    meta = {"synthetic": True, "generator": "models/train/synth.py", "seed": a.seed,
            "catalog_seed": a.catalog_seed, "users": a.users, "rows": rows,
            "training_window": "synthetic: 90-day simulated history, purchase horizon after cutoff"}
    with open(a.out + ".meta.json", "w") as f:
        json.dump(meta, f, indent=2)
    print(f"wrote {rows} rows for {a.users} users to {a.out}")


if __name__ == "__main__":
    main()
