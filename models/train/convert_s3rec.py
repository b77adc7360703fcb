#!/usr/bin/env python3
"""Convert an S3Rec-style sequence data set into Tailor's interchange CSVs (research use only).

Input (github.com/aHuiWang/CIKM2020-S3Rec, `data/`): `NAME.txt`, one line per shopper
(`user item item ...`, in order) and `NAME_item2attributes.json` (`{"item": [attr, ...]}`).

Output: `catalog.csv` (every item; no title, price, category or brand — the attributes become
tags `a<id>`) and `events.csv` (one purchase per item, one minute apart, without session ids,
the last one of each shopper 1 s after `--cutoff` and the others before it). So
`tailor replay --cutoff CUTOFF` is exactly leave-one-out over the whole catalog.

    convert_s3rec.py --sequences Toys_and_Games.txt --attributes Toys_and_Games_item2attributes.json \
        --out models/train/data/toys [--cutoff 1600000000]

Keep the output out of the repository (models/train/data/ is git-ignored).
"""
import argparse
import csv
import json
import os

DEFAULT_CUTOFF = 1_600_000_000


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequences", required=True)
    ap.add_argument("--attributes")
    ap.add_argument("--out", required=True)
    ap.add_argument("--cutoff", type=int, default=DEFAULT_CUTOFF)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    attrs = {}
    if args.attributes:
        with open(args.attributes) as f:
            attrs = {str(k): v for k, v in json.load(f).items()}
    items = set()
    users = 0
    events = 0
    with open(args.sequences) as f, open(os.path.join(args.out, "events.csv"), "w", newline="") as out:
        w = csv.writer(out)
        w.writerow(["user_id", "item_id", "event", "ts"])
        for line in f:
            parts = line.split()
            if len(parts) < 2:
                continue
            user, seq = parts[0], parts[1:]
            n = len(seq)
            for i, item in enumerate(seq):
                items.add(item)
                w.writerow([user, item, "purchase", args.cutoff + 1 - 60 * (n - 1 - i)])
            users += 1
            events += n
    items |= set(attrs)
    with open(os.path.join(args.out, "catalog.csv"), "w", newline="") as out:
        w = csv.writer(out)
        w.writerow(["item_id", "title", "category", "brand", "price", "tags"])
        for item in sorted(items, key=lambda s: (len(s), s)):
            tags = ";".join(f"a{a}" for a in attrs.get(item, []))
            w.writerow([item, "", "", "", "", tags])
    print(f"{args.out}: {users} shoppers, {len(items)} items, {events} purchases; cutoff {args.cutoff}")


if __name__ == "__main__":
    main()
