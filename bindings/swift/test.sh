#!/usr/bin/env bash
# Swift SDK on Linux against the real library (target/debug/libtailor.so): builds the cdylib and
# uniffi-bindgen, generates the bindings into Sources/Tailor/Generated and Sources/TailorFFI,
# checks the README snippets against their tests and runs `swift test` (XCTest) in
# the Debian-trixie Swift chroot (scripts/swift-chroot.sh; Swift binaries run only there), then
# packages the SDK (package.sh) and builds and runs the sample app against the package.
#
# Usage: bindings/swift/test.sh [test|bench [ITERATIONS]]
#   test   (default) XCTest: unit, scenario and concurrency tests
#   bench  the FFI cost benchmark (Sources/TailorBench, built with -c release)
#   TAILOR_LIB_PROFILE=release|mobile  link and load that build of the library (scripts/build-lib.sh)
#          instead of the debug one; the bindings are still generated from the debug build
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
mode="${1:-test}"

"$repo/scripts/setup-toolchains.sh" swift

echo "== Swift: cargo build -p tailor-ffi -p uniffi-bindgen (debug)"
(cd "$repo" && cargo build --quiet -p tailor-ffi -p uniffi-bindgen)
lib="$repo/target/debug"
lib_profile="${TAILOR_LIB_PROFILE:-dev}"
if [[ $lib_profile != dev ]]; then
  echo "== Swift: libtailor.so with profile $lib_profile"
  lib="$(dirname "$("$repo/scripts/build-lib.sh" "$lib_profile")")"
fi

echo "== Swift: generating bindings"
gen="$here/.build/uniffi"
"$repo/bindings/generate.sh" swift "$gen"
# Copy only on change, so SwiftPM's incremental build stays incremental.
install_if_changed() {
  mkdir -p "$(dirname "$2")"
  cmp -s "$1" "$2" || cp "$1" "$2"
}
install_if_changed "$gen/Tailor.swift" "$here/Sources/Tailor/Generated/Tailor.swift"
install_if_changed "$gen/TailorFFI.h" "$here/Sources/TailorFFI/TailorFFI.h"

link="-Xlinker -L$lib -Xlinker -rpath -Xlinker $lib"
case "$mode" in
  test)
    for readme in "$repo/README.md" "$repo/bindings/README.md"; do
      "$repo/bindings/check-snippet.sh" "$readme" swift-quickstart \
        "$here/Tests/TailorTests/QuickStartTests.swift"
    done
    "$repo/bindings/check-snippet.sh" "$repo/bindings/README.md" swift-learning \
      "$here/Tests/TailorTests/LearningReadmeTests.swift"
    # The API references are generated from the hand-written layers; fail when they are stale.
    python3 "$repo/bindings/docs/reference.py" --check
    echo "== Swift: swift test (in the chroot)"
    # The whole repository is mounted: the tests read tests/, models/ and cli/data/ and write
    # target/scenario-transcripts/swift/.
    # The chroot starts with a clean environment; pass the scenario filter through.
    log="$here/.build/swift-test.log"
    mkdir -p "$here/.build"
    "$repo/scripts/swift-chroot.sh" "$repo" \
      "cd bindings/swift && TAILOR_SCENARIO=$(printf '%q' "${TAILOR_SCENARIO:-}") swift test --disable-swift-testing $link" |
      tee "$log"
    # `swift test` fails on a failing test; also fail when it found none.
    if ! grep -Eq "Executed [1-9][0-9]* tests?, with 0 failures" "$log"; then
      echo "swift test: no tests were executed" >&2
      exit 1
    fi
    # The package an app depends on, and a sample app built against it alone.
    echo "== Swift: package (package.sh) and the sample app (plain swift build)"
    "$here/package.sh"
    "$repo/bindings/samples/swift-cli/run.sh"
    ;;
  bench)
    echo "== Swift: FFI benchmark (TailorBench, -c release; the Rust library: ${lib#"$repo"/})"
    "$repo/scripts/swift-chroot.sh" "$repo" \
      "cd bindings/swift && swift run -c release $link TailorBench $(printf '%q' "$repo") ${2:-200}"
    ;;
  *)
    echo "usage: $0 [test|bench [ITERATIONS]]" >&2
    exit 2
    ;;
esac
