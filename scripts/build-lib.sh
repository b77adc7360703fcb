#!/usr/bin/env bash
# Builds libtailor.so (the cdylib the Kotlin and Swift bindings load) for the host with a cargo
# profile, into target/<profile dir>/libtailor.so (dev -> target/debug).
#   dev, release  `cargo build -p tailor-ffi` (the thin crate in bindings/ffi whose library is
#                 named `tailor`; release has no LTO)
#   mobile, ...   `cargo rustc -p tailor-ffi --lib --crate-type cdylib` (the cdylib only, not the
#                 staticlib iOS needs; plus, on x86_64 Linux, two size-saving link flags, see below).
# Usage: scripts/build-lib.sh [PROFILE]   (default dev); prints the library's path.
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-dev}"
case "$profile" in
  dev | debug)
    cargo build --quiet -p tailor-ffi
    dir=debug
    ;;
  release)
    cargo build --quiet --release -p tailor-ffi
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
    cargo rustc --quiet --profile "$profile" -p tailor-ffi --lib --crate-type cdylib "${link[@]}"
    dir=$profile
    ;;
esac
echo "$PWD/target/$dir/libtailor.so"
