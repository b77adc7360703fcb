#!/usr/bin/env bash
# FFI cost: rank(1,000 candidates; top 20, top 50 and all 1,000 returned) on a 2,000-item catalog
# with a warm profile, called from Rust directly (core/examples/ffi_baseline.rs), through the Kotlin
# bindings (FfiBench.kt, JVM) and through the Swift bindings (TailorBench, -c release, in the Swift
# chroot). All three use the same build of the library: the debug one by default, or the one of
# --release / --profile PROFILE (the Rust baseline is then built with that profile too, and the
# bindings load target/<profile>/libtailor.so; see scripts/build-lib.sh). Prints one line per
# language and request size, then a table of medians with the Kotlin/Rust and Swift/Rust ratios.
# Usage: scripts/bench-ffi.sh [--release | --profile PROFILE] [ITERATIONS]
#   (default 200 iterations; results are noisy on a busy machine)
set -euo pipefail
cd "$(dirname "$0")/.."
profile=dev
while [[ $# -gt 0 ]]; do
  case "$1" in
    --release)
      profile=release
      shift
      ;;
    --profile)
      profile="${2:?--profile needs a profile name}"
      shift 2
      ;;
    -*)
      echo "usage: $0 [--release | --profile PROFILE] [ITERATIONS]" >&2
      exit 2
      ;;
    *) break ;;
  esac
done
n="${1:-200}"
log=$(mktemp)
results=$(mktemp)
trap 'rm -f "$log" "$results"' EXIT
run() { # run LABEL COMMAND...: show the result lines, or the whole log on failure
  local label=$1
  shift
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    echo "bench-ffi: $label failed" >&2
    exit 1
  fi
  grep -E "^$label rank" "$log" | tee -a "$results"
}
echo "== bench-ffi: library profile $profile, $n calls per request"
run rust cargo run --quiet --profile "$profile" -p tailor-core --example ffi_baseline -- "$n"
run kotlin env TAILOR_LIB_PROFILE="$profile" bindings/kotlin/test.sh bench "$n"
run swift env TAILOR_LIB_PROFILE="$profile" bindings/swift/test.sh bench "$n"

# Table: median wall time per call (ms), ratio to Rust, and the median time outside the core.
# A row per request: "top N", or "top N, named set" when the candidates were a defined set, through
# the generated `rank`; "..., TailorClient.rank" through what each SDK's TailorClient.rank calls
# (the packed page in one native call: Kotlin NativeRank.kt, Swift Tailor.rankPage), compared with
# the same Rust `rank` call.
sed -E 's/^([a-z]+) rank\(([0-9]+) candidates( in a named set)?( through TailorClient)?, limit ([0-9]+)\): median ([0-9]+) us, .* outside the core \(call - took_micros\) median ([0-9]+) us.*/\1 \5\3\4 \6 \7/; s/ in a named set/_set/; s/ through TailorClient/_client/' "$results" |
  awk '
    { wall[$1, $2] = $3; out[$1, $2] = $4; if (!($2 in seen)) { seen[$2] = 1; limits[++nl] = $2 } }
    END {
      print ""
      print "| 1,000 candidates | Rust | Kotlin | Swift | Kotlin / Rust | Swift / Rust | outside the core: Rust / Kotlin / Swift |"
      print "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
      for (i = 1; i <= nl; i++) {
        l = limits[i]; k = wall["kotlin", l]; s = wall["swift", l]
        # Rust has no TailorClient: those rows compare with the plain Rust call.
        rl = l; sub(/_client$/, "", rl); r = wall["rust", rl]; out["rust", l] = out["rust", rl]
        label = l; sub(/_client$/, ", TailorClient.rank", label); sub(/_set/, ", named set", label)
        printf "| top %s | %.3f ms | %.3f ms | %.3f ms | %.2f | %.2f | %.3f / %.3f / %.3f ms |\n", \
          label, r / 1000, k / 1000, s / 1000, (r ? k / r : 0), (r ? s / r : 0), \
          out["rust", l] / 1000, out["kotlin", l] / 1000, out["swift", l] / 1000
      }
    }'
