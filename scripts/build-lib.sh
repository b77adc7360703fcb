#!/usr/bin/env bash
# Builds libtailor.so (the cdylib the Kotlin and Swift bindings load) for the host with a cargo
# profile, into target/<profile dir>/libtailor.so (dev -> target/debug).
#   dev, release  `cargo build -p tailor-core --lib` (release has no LTO, so this is the same build
#                 the CLI links)
#   mobile, ...   `cargo rustc -p tailor-core --lib --crate-type cdylib` (plus, on x86_64 Linux, two
#                 size-saving link flags; see below): cargo skips LTO for a crate
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
    # With rustc's default linker on x86_64 Linux (rust-lld, Rust 1.90+), two link flags the
    # profile cannot set save 1.0 MB more: identical-code folding (generic tract/ndarray code
    # instantiated for types of the same layout) and packed relative relocations (DT_RELR,
    # glibc 2.36+). Android and iOS builds link with their own toolchains' flags.
    link=()
    if [[ $(uname -sm) == "Linux x86_64" ]]; then
      link=(-- -C "link-arg=-Wl,--icf=all" -C "link-arg=-Wl,-z,pack-relative-relocs")
    fi
    cargo rustc --quiet --profile "$profile" -p tailor-core --lib --crate-type cdylib "${link[@]}"
    dir=$profile
    ;;
esac
echo "$PWD/target/$dir/libtailor.so"
