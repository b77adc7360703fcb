"""The "hand-set linear score": models/bootstrap-ranker, a linear model whose weights
were chosen by reasoning, not training. It is the comparison point for the trained
models and a usable ranker before any data exists (it needs no standardization:
every feature it reads is already in [0, 1] or a small count).

    python handset.py [--out models/bootstrap-ranker] [--version 1] [--valid VALID.csv]
--valid adds offline NDCG@10/HR@10 on a matrix to metrics.json and the model card.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_card  # noqa: E402
from common import (auc, check_features, data_meta, display_path, linear_graph,  # noqa: E402
                    load_matrix, op_list, ort_scores, ranking_metrics, save_model_dir, write_json)

WEIGHTS = {
    "bought_count": 1.0,           # repeat purchases are the strongest signal
    "recency_bought": 1.0,
    "carted_not_bought": 1.0,      # abandoned cart = explicit intent
    "copurchase_score": 0.8,       # bought together with what they bought
    "affinity_category": 0.5,
    "affinity_tags": 0.5,
    "session_affinity_tags": 0.5,  # what they are looking at right now
    "embedding_similarity": 0.5,
    "recency_viewed": 0.5,
    "in_stock": 0.5,
    "item_popularity": 0.3,        # mild prior for cold-start shoppers
    "dismissed": -2.0,             # never push what they waved away
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(here), "bootstrap-ranker"))
    ap.add_argument("--name", default="bootstrap-ranker")
    ap.add_argument("--version", default="1")
    ap.add_argument("--valid", help="optional matrix CSV for offline metrics")
    a = ap.parse_args()
    feats = list(WEIGHTS)
    check_features(feats)
    model = linear_graph(list(WEIGHTS.values()), 0.0, "hand-set linear score (no training)")
    manifest = save_model_dir(a.out, model, a.name, a.version, feats,
                              "hand-set linear score (weights chosen by hand, no training); "
                              "baseline and cold-start ranker")
    metrics = {"name": a.name, "version": a.version, "kind": "handset", "features": feats,
               "weights": WEIGHTS,
               "onnx": {"ops": op_list(model), "opset": 13, "input": "features", "output": "score",
                        "output_shape": ["N"], "file_bytes": os.path.getsize(os.path.join(a.out, "model.onnx")),
                        "sha256": manifest["sha256"]}}
    if a.valid:
        users, y, X, _ = load_matrix(a.valid, feats)
        s = ort_scores(model, X)
        metrics["valid"] = {"path": display_path(a.valid), "rows": int(len(y)), "users": int(len(set(users))),
                            "positive_rate": round(float(y.mean()), 4), **data_meta(a.valid)}
        metrics["validation"] = {**ranking_metrics(users, y, s), "auc": auc(y, s)}
        print(f"[{a.name}] NDCG@10 {metrics['validation']['ndcg@10']:.4f} HR@10 {metrics['validation']['hr@10']:.4f}")
    write_json(os.path.join(a.out, "metrics.json"), metrics)
    model_card.write_card(a.out)
    print(f"[{a.name}] wrote {a.out}")


if __name__ == "__main__":
    main()
