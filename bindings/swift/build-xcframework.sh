#!/usr/bin/env bash
# Builds TailorFFI.xcframework (next to Package.swift) and the generated Swift sources for iOS:
#   1. the Rust core as a static library (crate-type staticlib) with the size-optimized `mobile`
#      profile (LTO; see scripts/README.md "Library size") for aarch64-apple-ios (devices),
#      aarch64-apple-ios-sim and x86_64-apple-ios (simulators, merged with lipo);
#   2. the Swift bindings with uniffi-bindgen (library mode reads the static library too) into
#      Sources/Tailor/Generated, and TailorFFI.h;
#   3. `xcodebuild -create-xcframework` with one slice per platform. The headers go under
#      Headers/TailorFFI/ (with a module map without `link`: the static library is linked as part of
#      the binary target), so they do not collide with other XCFrameworks' module maps in Xcode's
#      shared include/ directory.
# Package.swift switches from the Linux system-library target to `.binaryTarget` as soon as
# TailorFFI.xcframework exists; apps then depend on the package (local path or a release that
# contains the XCFramework and Sources/Tailor/Generated).
#
# macOS only: needs Xcode (xcodebuild, lipo) and rustup. Not runnable on the Linux CI machine.
# Usage: bindings/swift/build-xcframework.sh [--with-macos]
#   --with-macos                also add a macOS slice (arm64 + x86_64), e.g. for Catalyst-free Mac apps
#   IPHONEOS_DEPLOYMENT_TARGET  default 15.0 (the package's minimum); MACOSX_DEPLOYMENT_TARGET default 12.0
#   CARGO_PROFILE               default mobile
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
with_macos=false
case "${1:-}" in
  "") ;;
  --with-macos) with_macos=true ;;
  *)
    echo "usage: $0 [--with-macos]" >&2
    exit 2
    ;;
esac
if [[ $(uname -s) != Darwin ]]; then
  echo "build-xcframework: needs macOS with Xcode (on Linux, use bindings/swift/test.sh)" >&2
  exit 1
fi
for tool in cargo rustup xcodebuild lipo; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "build-xcframework: '$tool' not found" >&2
    exit 1
  }
done

profile="${CARGO_PROFILE:-mobile}"
export IPHONEOS_DEPLOYMENT_TARGET="${IPHONEOS_DEPLOYMENT_TARGET:-15.0}"
export MACOSX_DEPLOYMENT_TARGET="${MACOSX_DEPLOYMENT_TARGET:-12.0}"
ios=(aarch64-apple-ios)
sim=(aarch64-apple-ios-sim x86_64-apple-ios)
mac=()
$with_macos && mac=(aarch64-apple-darwin x86_64-apple-darwin)
# ${mac[@]+...}: an empty array is "unbound" under `set -u` in macOS's bash 3.2.
targets=("${ios[@]}" "${sim[@]}" ${mac[@]+"${mac[@]}"})
# cargo's directory name for a profile (`dev` builds into debug/).
profile_dir=$profile
[[ $profile == dev ]] && profile_dir=debug
lib_of() { echo "$repo/target/$1/$profile_dir/libtailor.a"; }

echo "== iOS: static libraries for ${targets[*]}"
rustup target add "${targets[@]}"
# `rustc --crate-type staticlib`, not `build`: iOS needs tailor-ffi's staticlib only, not its cdylib.
# rustc does not strip static libraries, so uniffi-bindgen still finds its metadata in them; the
# app's link strips.
for t in "${targets[@]}"; do
  (cd "$repo" && cargo rustc --profile "$profile" --package tailor-ffi --lib --crate-type staticlib \
    --target "$t")
done

work="$here/.build/xcframework"
rm -rf "$work"
mkdir -p "$work/headers/TailorFFI" "$work/sim" "$work/mac" "$work/gen"

echo "== iOS: Swift bindings (uniffi-bindgen, library mode)"
(cd "$repo" && cargo build --quiet -p uniffi-bindgen)
# generate.sh: uniffi plus the edits it has no setting for (lowerCamelCase error cases, which
# Sources/Tailor/Errors.swift matches, and the faster generated reader), as on Linux.
"$repo/bindings/generate.sh" swift "$work/gen" "$(lib_of "${ios[0]}")"
mkdir -p "$here/Sources/Tailor/Generated"
cp "$work/gen/Tailor.swift" "$here/Sources/Tailor/Generated/Tailor.swift"
cp "$work/gen/TailorFFI.h" "$work/headers/TailorFFI/TailorFFI.h"
cat >"$work/headers/TailorFFI/module.modulemap" <<'MODULEMAP'
module TailorFFI {
    header "TailorFFI.h"
    export *
}
MODULEMAP

echo "== iOS: TailorFFI.xcframework"
sim_libs=()
for t in "${sim[@]}"; do sim_libs+=("$(lib_of "$t")"); done
lipo -create "${sim_libs[@]}" -output "$work/sim/libtailor.a"
slices=(-library "$(lib_of "${ios[0]}")" -headers "$work/headers"
  -library "$work/sim/libtailor.a" -headers "$work/headers")
if $with_macos; then
  mac_libs=()
  for t in "${mac[@]}"; do mac_libs+=("$(lib_of "$t")"); done
  lipo -create "${mac_libs[@]}" -output "$work/mac/libtailor.a"
  slices+=(-library "$work/mac/libtailor.a" -headers "$work/headers")
fi
rm -rf "$here/TailorFFI.xcframework"
xcodebuild -create-xcframework "${slices[@]}" -output "$here/TailorFFI.xcframework"

echo "== done: $here/TailorFFI.xcframework"
echo "   Package.swift now uses it (binaryTarget). Check: cd bindings/swift && xcodebuild -scheme Tailor -destination 'generic/platform=iOS Simulator' build"
