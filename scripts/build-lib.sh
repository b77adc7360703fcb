#!/usr/bin/env bash
# Builds libtailor.so (the cdylib the Kotlin and Swift bindings load) for the host with a cargo
# profile, into target/<profile dir>/libtailor.so (dev -> target/debug).
#   dev, release  `cargo build -p tailor-core --lib` (release has no LTO, so this is the same build
#                 the CLI links)
#   mobile, ...   `cargo rustc -p tailor-core --lib --crate-type cdylib`: cargo skips LTO for a crate
#                 whose crate types include `lib`, as tailor-core's do, so a plain build would give
#                 an un-LTO'd library. (A later `cargo build --profile mobile` of the CLI rebuilds
#                 tailor-core with all its crate types and replaces target/mobile/deps/libtailor.so.)
# Usage: scripts/build-lib.sh [PROFILE]   (default dev); prints the library's path.
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-dev}"
case "$profile" in
  dev | debug)
    cargo build --quiet -p tailor-core --lib
    dir=debug
    ;;
  release)
    cargo build --quiet --release -p tailor-core --lib
    dir=release
    ;;
  *)
    cargo rustc --quiet --profile "$profile" -p tailor-core --lib --crate-type cdylib
    dir=$profile
    ;;
esac
echo "$PWD/target/$dir/libtailor.so"
