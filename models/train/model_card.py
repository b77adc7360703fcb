"""Write models/<name>/README.md (model card) from manifest.json + metrics.json.

    python model_card.py models/NAME [models/OTHER ...]

Text between the replay-metrics markers is preserved on regeneration: the Rust
side (`tailor` replay evaluation) owns that section.
"""
import json
import os
import sys

BEGIN, END = "<!-- replay-metrics:begin -->", "<!-- replay-metrics:end -->"
REPLAY_PLACEHOLDER = ("_Not yet measured. To be filled by the Rust side's replay evaluation "
                      "(offline replay of held-out sessions through the SDK)._")


def _fmt(v):
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def _data_line(d):
    s = f"`{d['path']}`: {d['rows']} rows, {d['users']} users, positive rate {d['positive_rate']}"
    if d.get("synthetic"):
        s += f" — **synthetic** (`{d.get('generator')}`, seed {d.get('seed')})"
    return s


def write_card(model_dir):
    with open(os.path.join(model_dir, "manifest.json")) as f:
        man = json.load(f)
    metrics_path = os.path.join(model_dir, "metrics.json")
    met = json.load(open(metrics_path)) if os.path.exists(metrics_path) else {}
    card_path = os.path.join(model_dir, "README.md")
    replay = REPLAY_PLACEHOLDER
    if os.path.exists(card_path):   # keep whatever the replay section already holds
        old = open(card_path).read()
        if BEGIN in old and END in old:
            replay = old.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    size = os.path.getsize(os.path.join(model_dir, "model.onnx"))
    synthetic = met.get("train", {}).get("synthetic")
    L = [f"# {man['name']} (version {man['version']})", ""]
    if synthetic:
        L += ["> **Temporary model trained on SYNTHETIC data** (`models/train/synth.py`). "
              "Its metrics say nothing about real shoppers; retrain on the real matrix from "
              "`tailor features` with `models/train/train_all.sh` (see `models/README.md`).", ""]
    L += [man["description"], "",
          "## Artifact", "",
          f"- file: `model.onnx`, {size} bytes",
          f"- sha256: `{man['sha256']}`",
          f"- input `{man['inputs']['features']}`: float32 [N, {len(man['features'])}] (N symbolic)",
          f"- output `{man['output']}`: float32 [N], higher = more likely to be bought"
          + (" (log-odds)" if met.get("kind") in ("linear", "mlp", "gbt", "embedding") else ""),
          f"- opset {man['opset']}; ops: {', '.join(met.get('onnx', {}).get('ops', [])) or 'see model'}",
          "- parity fixture: `parity.json` (onnxruntime scores on 64 seeded rows; tract must match within 1e-5)",
          "", "## Features (input column order)", ""]
    L += [f"{i}. `{f}`" for i, f in enumerate(man["features"])]
    L += ["", "## Training", ""]
    if met.get("kind") == "handset":
        L += ["Not trained: weights set by hand (see `models/train/handset.py`).", "",
              "| feature | weight |", "| --- | --- |"]
        L += [f"| `{k}` | {v:+.2f} |" for k, v in met["weights"].items()]
    elif met:
        L += [f"- kind: `{met['kind']}`",
              f"- training data: {_data_line(met['train'])}",
              f"- validation data: {_data_line(met['valid'])}",
              f"- training window: {met.get('training_window', 'unknown')}",
              f"- hyperparameters: `{json.dumps(met.get('hyperparameters', {}))}`"]
        if met.get("export_check"):
            L += ["- export check (max abs diff of ONNX scores): "
                  + ", ".join(f"{k} = {v:.2e}" for k, v in met["export_check"].items())]
    head = met.get("context_head")
    if head:
        L += ["", "## Context head (learned from baskets)", "",
              "Cart surfaces (`GoesWith`, `CompleteCart`) take this model's score as it is: "
              "score = a × base + Σ w × context feature + b, fitted by logistic regression on "
              f"{head['train_cart_rows']} cart rows (`models/train/context_head.py`); with no context "
              "the order is the base model's.", "",
              f"- a (base score) = {head['a']:.4f}, b = {head['b']:.4f}",
              "- w: " + ", ".join(f"`{k}` {v:+.4f}" for k, v in head["w"].items())]
        if head.get("valid_cart"):
            L += [f"- validation cart rows NDCG@10: {_fmt(head['valid_cart']['ndcg@10'])} with the head, "
                  f"{_fmt(head['valid_cart_base_only']['ndcg@10'])} base only "
                  f"({head['valid_cart']['users_evaluated']} carts)"]
    gate = met.get("repeat_gate")
    if gate:
        L += ["", "## Repeat gate (how this shop buys again)", "",
              "score = model + known × w × (c × `copurchase_score` − penalty × [bought before]), "
              "w = exp(−(rate_decay × `item_repeat_rate` + share_decay × `shopper_repeat_share`)); "
              "known = `item_repeat_known` (0 when the catalog gives no repeat rates: the model's own "
              "score). Items nobody buys twice (w near 1) are ranked by what they are bought with, and "
              "the shopper's own purchases drop; staples (w near 0) keep the model's score. Fitted "
              f"(`models/train/repeat_gate.py`) on {gate['fit_rows']} rows at repeat levels "
              f"{gate['levels']} (repeat purchases kept with that probability).", "",
              "- " + ", ".join(f"{k} = {gate[k]:.4f}" for k in ("rate_decay", "share_decay", "penalty",
                                                                  "copurchase")),
              "- training rows NDCG@10 by repeat level, model alone → gated: "
              + "; ".join(f"{m}: {_fmt(v['base_ndcg'])} → {_fmt(v['gated_ndcg'])}"
                          for m, v in gate["train_by_level"].items())]
    L += ["", "## Validation metrics (offline, per-user ranking groups)", ""]
    if met.get("validation"):
        L += ["| model | NDCG@10 | HR@10 | AUC | users |", "| --- | --- | --- | --- | --- |"]
        v = met["validation"]
        L += [f"| this model | {_fmt(v['ndcg@10'])} | {_fmt(v['hr@10'])} | {_fmt(v.get('auc', '-'))} "
              f"| {v['users_evaluated']} |"]
        b = met.get("baseline_item_popularity")
        if b:
            L += [f"| item_popularity only | {_fmt(b['ndcg@10'])} | {_fmt(b['hr@10'])} | - "
                  f"| {b['users_evaluated']} |"]
        L += ["", "Validation data: " + _data_line(met["valid"])]
    else:
        L += ["_None recorded._"]
    L += ["", "## Replay metrics", "", BEGIN, replay, END, ""]
    with open(card_path, "w") as f:
        f.write("\n".join(L))
    return card_path


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    for d in sys.argv[1:]:
        print("wrote", write_card(d))
