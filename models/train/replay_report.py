"""Write the replay results of models/train/pipeline.sh into models/replay.md and into the
replay section of every model card.

    python replay_report.py --work models/train/data/real --best KIND --kinds linear mlp ...

Inputs are `tailor replay --json` outputs: valid-<kind>.json (trained before 2011-09-01,
replayed at 2011-09-01 over 30 days) and test-<model>.json (final models, replayed at
2011-10-01 over the rest of the data).
"""
import argparse
import json
import os

import model_card

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMMAND = ("target/release/tailor replay --catalog models/data/online-retail/catalog.csv.gz "
           "--events models/data/online-retail/events.csv.gz --cutoff 1317427200 "
           "--model models/NAME/manifest.json")


def row(name, m, ref=None):
    uplift = f"{(m['ndcg'] / ref - 1) * 100:+.1f}%" if ref else ""
    return f"| {name} | {m['hr']:.4f} | {m['recall']:.4f} | {m['ndcg']:.4f} | {uplift} |"


def table(results, note):
    """results: [(label, metrics)] with the baselines taken from the first report."""
    header = ["| method | HR@10 | Recall@10 | NDCG@10 | NDCG vs best baseline |",
              "| --- | --- | --- | --- | --- |"]
    return header + results + ["", note]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--best", required=True)
    ap.add_argument("--kinds", nargs="+", required=True)
    a = ap.parse_args()
    load = lambda name: json.load(open(os.path.join(a.work, name)))  # noqa: E731

    test = {n: load(f"test-{n}.json") for n in
            ["default-ranker", "bootstrap-ranker"] + [f"{k}-ranker" for k in a.kinds]}
    base = test["default-ranker"]["methods"]
    best_base = max(base["popularity"]["ndcg"], base["buy_again"]["ndcg"])
    users = test["default-ranker"]["users"]
    rows = [row(f"tailor + `{n}`", r["methods"]["tailor"], best_base) for n, r in test.items()]
    rows[1] = rows[1].replace("`bootstrap-ranker`", "`bootstrap-ranker` (hand-set linear)")
    rows += [row("baseline: buy_again", base["buy_again"], best_base),
             row("baseline: popularity", base["popularity"], best_base)]

    valid = {k: load(f"valid-{k}.json") for k in a.kinds}
    vbase = valid[a.kinds[0]]["methods"]
    vbest = max(vbase["popularity"]["ndcg"], vbase["buy_again"]["ndcg"])
    vrows = [row(f"`{k}-ranker`" + (" (chosen)" if k == a.best else ""), valid[k]["methods"]["tailor"], vbest)
             for k in a.kinds]
    vrows += [row("baseline: buy_again", vbase["buy_again"], vbest),
              row("baseline: popularity", vbase["popularity"], vbest)]

    lines = ["# Replay results (Online Retail)", "",
             "Produced by `models/train/pipeline.sh`. Each row: `tailor replay` ranks the whole "
             "in-stock catalog for every user with events before the cutoff and purchases after "
             "it, from a fresh profile holding only that user's events before the cutoff; the "
             "relevant items are the distinct items the user bought after the cutoff. Catalog "
             "signals (popularity, co-purchase neighbours, embeddings) come from events before "
             "the cutoff only.", "",
             f"## Test: cutoff 2011-10-01, {users} users, K = 10", ""]
    lines += table(rows, f"Command: `{COMMAND}` (NAME = the model; the baselines are the same "
                         "in every run). `buy_again` = the user's purchased items by count then "
                         "recency, padded with popular items; `popularity` = most purchased in "
                         "the 30 days before the cutoff.")
    lines += ["", f"## Validation: models trained before 2011-09-01, cutoff 2011-09-01, 30 days, "
                  f"{valid[a.kinds[0]]['users']} users", ""]
    lines += table(vrows, "The default model is the kind with the best validation NDCG@10; the "
                          "test cutoff was not used to choose anything.")
    with open(os.path.join(REPO, "models", "replay.md"), "w") as f:
        f.write("\n".join(lines) + "\n")

    for name, r in test.items():
        d = os.path.join(REPO, "models", name)
        m = r["methods"]
        section = "\n".join([
            f"`tailor replay` at cutoff 2011-10-01 (K = 10, {r['users']} users; see "
            "`models/replay.md` for every model):", "",
            "| method | HR@10 | Recall@10 | NDCG@10 | NDCG vs best baseline |",
            "| --- | --- | --- | --- | --- |",
            row(f"this model (`{name}`)", m["tailor"], best_base),
            row("buy_again", m["buy_again"], best_base),
            row("popularity", m["popularity"], best_base), "",
            f"Command: `{COMMAND.replace('NAME', name)}`"])
        card = os.path.join(d, "README.md")
        text = open(card).read() if os.path.exists(card) else ""
        if model_card.BEGIN in text and model_card.END in text:
            head, rest = text.split(model_card.BEGIN, 1)
            tail = rest.split(model_card.END, 1)[1]
            text = head + model_card.BEGIN + "\n" + section + "\n" + model_card.END + tail
            with open(card, "w") as f:
                f.write(text)


if __name__ == "__main__":
    main()
