#!/usr/bin/env bash
# The Swift artifact an app depends on: a self-contained SwiftPM package in build/dist/Tailor with
# the generated and hand-written sources, the C header and the native library.
#
# - Linux: the `TailorFFI` system-library target finds libtailor through pkg-config, the way
#   SwiftPM links C libraries on Linux. `install-linux.sh` in the package (as root, once per
#   machine, like installing a -dev package) puts libtailor.so and tailor.pc under /usr/local
#   (or PREFIX); after that an app builds with a plain `swift build` and runs without
#   LD_LIBRARY_PATH.
# - Apple platforms: run build-xcframework.sh first; the package then carries
#   TailorFFI.xcframework and uses it as a binary target (nothing to install).
#
# Usage: bindings/swift/package.sh [PROFILE]   (dev by default; release for a real artifact)
# Expects the bindings generated as bindings/swift/test.sh does (it calls this).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
profile="${1:-dev}"
lib="$repo/target/debug/libtailor.so"
[[ $profile == dev ]] || lib="$("$repo/scripts/build-lib.sh" "$profile")"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -1)"

out="$here/build/dist/Tailor"
rm -rf "$out"
mkdir -p "$out/Sources/Tailor" "$out/Sources/TailorFFI" "$out/lib"
cp "$here"/Sources/Tailor/*.swift "$here/Sources/Tailor/Generated/Tailor.swift" "$out/Sources/Tailor/"
cp "$here/Sources/TailorFFI/TailorFFI.h" "$out/Sources/TailorFFI/"
cp "$lib" "$out/lib/libtailor.so"
[[ -d $here/TailorFFI.xcframework ]] && cp -R "$here/TailorFFI.xcframework" "$out/"

cat > "$out/Sources/TailorFFI/module.modulemap" <<'MAP'
// libtailor's C interface (uniffi). On Linux the library comes from pkg-config (`tailor.pc`).
module TailorFFI {
    header "TailorFFI.h"
    link "tailor"
    export *
}
MAP

cat > "$out/Package.swift" <<'SWIFT'
// swift-tools-version:6.0
// Tailor $VERSION: on-device personalization. `import Tailor`; see GUIDE.md.
import PackageDescription
import Foundation

// Apple platforms: the XCFramework (bindings/swift/build-xcframework.sh). Linux: libtailor through
// pkg-config (run install-linux.sh once).
let xcframework = "TailorFFI.xcframework"
let hasXCFramework = FileManager.default.fileExists(atPath: Context.packageDirectory + "/" + xcframework)

let package = Package(
    name: "Tailor",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [.library(name: "Tailor", targets: ["Tailor"])],
    targets: [
        hasXCFramework
            ? .binaryTarget(name: "TailorFFI", path: xcframework)
            : .systemLibrary(name: "TailorFFI", path: "Sources/TailorFFI", pkgConfig: "tailor"),
        .target(name: "Tailor", dependencies: ["TailorFFI"], path: "Sources/Tailor"),
    ]
)
SWIFT
sed -i "s/\$VERSION/$version/" "$out/Package.swift"

cat > "$out/install-linux.sh" <<'SH'
#!/usr/bin/env bash
# Installs libtailor.so and its pkg-config file under PREFIX (default /usr/local), so that
# `swift build` links the Tailor package with no flags and the app finds the library at run time.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
prefix="${PREFIX:-/usr/local}"
install -D -m 0755 "$here/lib/libtailor.so" "$prefix/lib/libtailor.so"
mkdir -p "$prefix/lib/pkgconfig"
cat > "$prefix/lib/pkgconfig/tailor.pc" <<PC
prefix=$prefix
libdir=\${prefix}/lib
Name: tailor
Description: Tailor on-device personalization (uniffi C interface)
Version: VERSION
Libs: -L\${libdir} -ltailor
Cflags:
PC
command -v ldconfig >/dev/null && ldconfig "$prefix/lib" 2>/dev/null || true
echo "installed $prefix/lib/libtailor.so and $prefix/lib/pkgconfig/tailor.pc"
SH
sed -i "s/VERSION/$version/" "$out/install-linux.sh"
chmod +x "$out/install-linux.sh"
cp "$here/GUIDE.md" "$out/GUIDE.md" 2>/dev/null || true
echo "$out"
