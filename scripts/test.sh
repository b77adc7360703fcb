#!/usr/bin/env bash
# Runs every test: Rust (fmt, clippy, unit and integration tests, including the shared scenarios),
# the Kotlin SDK on the JVM and the Swift SDK on Linux, both against the real library, and then
# checks that the three scenario runners wrote identical transcripts. Installs what it needs
# (idempotently). Usage: scripts/test.sh [rust|models|kotlin|swift|all]
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"

rust() {
  echo "== Rust: fmt, clippy, tests"
  cargo fmt --all -- --check
  cargo clippy --workspace --all-targets -- -D warnings
  cargo test --workspace
  bindings/check-snippet.sh README.md rust-quickstart core/tests/it/quickstart.rs
}

# The bundled models score the same in onnxruntime (PyPI) as the recorded reference scores that
# the Rust suite checks tract against (core/tests/it/models.rs): together, tract == onnxruntime.
models() {
  echo "== Models: onnxruntime parity of every bundled model; the export helper on real exports"
  models/train/setup.sh
  models/train/.venv/bin/python models/train/parity.py --check
  # scikit-learn, LightGBM and XGBoost models exported with one call each, then accepted by
  # the loader (`tailor validate-model`, a debug build).
  cargo build -q -p tailor-cli
  models/train/.venv/bin/python models/train/test_export.py --tailor target/debug/tailor
  models/train/.venv/bin/python models/train/test_tree2gemm.py
  echo "== Models: the context head (one model for every surface, learned from cart rows)"
  models/train/.venv/bin/python models/train/test_context_head.py --tailor target/debug/tailor
  echo "== Models: the repeat gate (the built-in model where nobody buys twice)"
  models/train/.venv/bin/python models/train/test_repeat_gate.py --tailor target/debug/tailor
  echo "== Models: the sequence model (SASRec in JAX, its hand-written ONNX graph) on synthetic shoppers"
  models/train/.venv/bin/python models/train/test_sequence.py --tailor target/debug/tailor
  echo "== Models: the one-command shop pipeline, end to end on a synthetic shop"
  local shop
  shop="$(mktemp -d)"
  models/train/.venv/bin/python models/train/synth_shop.py --out "$shop/data" --users 300
  models/train/pipeline.sh --catalog "$shop/data/catalog.csv" --events "$shop/data/events.csv" \
    --out "$shop/out" --test-cutoff 1600000000 --random 30 --sequence-args "--epochs 15"
  test -s "$shop/out/model/parity.json" && test -s "$shop/out/report.md"
  target/release/tailor validate-model "$shop/out/model/manifest.json"
  rm -rf "$shop"
}

# Per-language logic (toolchain setup, cargo build, binding generation, compile, run) lives in
# bindings/<language>/test.sh.
kotlin() {
  echo "== Kotlin SDK (JUnit 5 on the JVM)"
  bindings/kotlin/test.sh
}

swift() {
  echo "== Swift SDK (XCTest in the Swift chroot)"
  bindings/swift/test.sh
}

# The runners check the same expectations; their transcripts (every step's outcome, ranked ids
# and reasons) must also be identical, byte for byte.
agree() {
  echo "== Scenarios: Rust, Kotlin and Swift agree"
  local dir=target/scenario-transcripts lang
  for lang in kotlin swift; do
    if ! diff -r "$dir/rust" "$dir/$lang"; then
      echo "scenario transcripts of rust and $lang differ (see $dir)" >&2
      return 1
    fi
  done
  echo "$(find "$dir/rust" -name '*.txt' | wc -l) scenario transcripts identical in rust, kotlin and swift"
}

case "$what" in
  rust) rust ;;
  models) models ;;
  kotlin) kotlin ;;
  swift) swift ;;
  all)
    rust
    models
    kotlin
    swift
    agree
    ;;
  *)
    echo "usage: $0 [rust|models|kotlin|swift|all]" >&2
    exit 2
    ;;
esac
echo "== all requested suites passed"
