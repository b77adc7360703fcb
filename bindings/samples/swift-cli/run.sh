#!/usr/bin/env bash
# Builds and runs the Swift sample against the packaged SDK (bindings/swift/package.sh) the way an
# app would on Linux: the package's install-linux.sh once (libtailor.so and tailor.pc under
# /usr/local of the Swift chroot), then a plain `swift build` and the binary, no flags, no
# LD_LIBRARY_PATH.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
dist="$repo/bindings/swift/build/dist/Tailor"
log="$here/.build/output.txt"
mkdir -p "$here/.build"
# The whole repository is mounted so the sample reads cli/data; it writes only to a temp dir.
"$repo/scripts/swift-chroot.sh" "$repo" "set -e
  $(printf '%q' "$dist")/install-linux.sh
  cd bindings/samples/swift-cli
  swift build
  work=\$(mktemp -d)
  .build/debug/TailorSample \$work $(printf '%q' "$repo/cli/data/catalog.csv.gz") $(printf '%q' "$repo/cli/data/events.csv.gz")
  rm -rf \$work" | tee "$log"
grep -q "^sample ok$" "$log"
