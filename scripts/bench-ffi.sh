#!/usr/bin/env bash
# FFI cost: rank(1,000 candidates) on a 2,000-item catalog with a warm profile, called from Rust
# directly (core/examples/ffi_baseline.rs), through the Kotlin bindings (FfiBench.kt, JVM) and
# through the Swift bindings (TailorBench, -c release, in the Swift chroot). All three load the same
# debug build of the library. Prints one line per language and request size.
# Usage: scripts/bench-ffi.sh [ITERATIONS]   (default 200; results are noisy on a busy machine)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-200}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
run() { # run LABEL COMMAND...: show the result lines, or the whole log on failure
  local label=$1
  shift
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    echo "bench-ffi: $label failed" >&2
    exit 1
  fi
  grep -E "^$label rank" "$log"
}
run rust cargo run --quiet -p tailor-core --example ffi_baseline -- "$n"
run kotlin bindings/kotlin/test.sh bench "$n"
run swift bindings/swift/test.sh bench "$n"
