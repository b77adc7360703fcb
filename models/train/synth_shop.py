#!/usr/bin/env python3
"""A small synthetic shop in Tailor's interchange CSVs, for testing `pipeline.sh --catalog ...`.

    synth_shop.py --out DIR [--items 300] [--users 600] [--seed 3] [--cutoff 1600000000] [--time]
                  [--repeat 0.05]

Items fall into taste clusters (tags `c<k>`, no price, brand or title); each shopper has one or
two favourite clusters and buys a sequence of 4-14 items, mostly from them, in cluster order
(so the next item is predictable from the last ones), repeating an earlier item with probability
--repeat (0: a shop where nobody buys the same thing twice). By default sequences
are aligned like leave-one-out data (one minute apart, the last one 1 s after --cutoff); with
--time purchases are spread over 120 days before and 30 days after the cutoff, in baskets.
"""
import argparse
import csv
import os

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--items", type=int, default=300)
    ap.add_argument("--users", type=int, default=600)
    ap.add_argument("--clusters", type=int, default=12)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--cutoff", type=int, default=1_600_000_000)
    ap.add_argument("--time", action="store_true")
    ap.add_argument("--repeat", type=float, default=0.05)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    os.makedirs(a.out, exist_ok=True)
    cluster = rng.integers(0, a.clusters, a.items)
    members = [np.flatnonzero(cluster == k) for k in range(a.clusters)]
    weight = rng.pareto(1.2, a.items) + 0.1
    with open(os.path.join(a.out, "catalog.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["item_id", "title", "category", "brand", "price", "tags"])
        for i in range(a.items):
            w.writerow([f"i{i}", "", "", "", "", f"c{cluster[i]}"])
    with open(os.path.join(a.out, "events.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["user_id", "item_id", "event", "ts", "session_id"])
        for u in range(a.users):
            favs = rng.choice(a.clusters, size=rng.integers(1, 3), replace=False)
            n = int(rng.integers(4, 15))
            seq = []
            for _ in range(n):
                if seq and rng.random() < a.repeat:
                    seq.append(seq[int(rng.integers(len(seq)))])
                    continue
                k = favs[int(rng.integers(len(favs)))] if rng.random() < 0.85 else int(rng.integers(a.clusters))
                pool = members[k]
                w_pool = weight[pool].copy()
                if a.repeat == 0:
                    w_pool[np.isin(pool, seq)] = 0.0     # never the same thing twice
                    if w_pool.sum() == 0:
                        pool = np.setdiff1d(np.arange(a.items), seq)
                        w_pool = weight[pool].copy()
                p = w_pool / w_pool.sum()
                seq.append(int(rng.choice(pool, p=p)))
            if a.time:
                days = np.sort(rng.uniform(-120, 30, n))
                for j, (item, d) in enumerate(zip(seq, days)):
                    ts = a.cutoff + int(d * 86_400)
                    w.writerow([f"u{u}", f"i{item}", "purchase", ts, f"u{u}-{int(d)}"])
            else:
                for j, item in enumerate(seq):
                    w.writerow([f"u{u}", f"i{item}", "purchase", a.cutoff + 1 - 60 * (n - 1 - j), ""])
    print(f"{a.out}: {a.items} items, {a.users} shoppers")


if __name__ == "__main__":
    main()
