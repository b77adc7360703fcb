#!/usr/bin/env bash
# Builds the Tailor Android library (AAR):
#   1. the Rust core for arm64-v8a, armeabi-v7a and x86_64 with cargo-ndk and the size-optimized
#      `mobile` profile (LTO, stripped; see scripts/README.md "Library size"), linked for 16 KB
#      pages (-Wl,-z,max-page-size=16384; Google Play requires it for Android 15+ devices), into
#      build/rust/jniLibs/<abi>/libtailor.so, and checks the ELF alignment of the 64-bit ones;
#   2. the Kotlin bindings with uniffi-bindgen (library mode) into build/generated/uniffi, read from
#      an unstripped debug build of the library for the host (the stripped Android libraries have
#      no symbol table, where uniffi keeps its metadata; the metadata is the same on every target);
#   3. `gradle assembleRelease` -> build/outputs/aar/tailor-release.aar.
#
# Needs: Android NDK r26+ (ANDROID_NDK_HOME, or the SDK's ndk/ directory via ANDROID_HOME), cargo-ndk
# (`cargo install cargo-ndk`), rustup, JDK 17 and Gradle 8.9+ (GRADLE=/path/to/gradlew to use a
# wrapper). Not runnable on the CI machine (no NDK, no Maven access); see bindings/README.md.
#
# Usage: bindings/kotlin/build-android.sh [--skip-gradle]
#   ANDROID_MIN_SDK  API level the libraries are linked for (default 24, the AAR's minSdk)
#   CARGO_PROFILE    cargo profile (default mobile)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
skip_gradle=false
case "${1:-}" in
  "") ;;
  --skip-gradle) skip_gradle=true ;;
  *)
    echo "usage: $0 [--skip-gradle]" >&2
    exit 2
    ;;
esac

abis=(arm64-v8a armeabi-v7a x86_64)
triples=(aarch64-linux-android armv7-linux-androideabi x86_64-linux-android)
api="${ANDROID_MIN_SDK:-24}"
profile="${CARGO_PROFILE:-mobile}"
gradle="${GRADLE:-gradle}"

need() {
  command -v "$1" >/dev/null 2>&1 || {
    echo "build-android: '$1' not found: $2" >&2
    exit 1
  }
}
need cargo "install Rust with rustup (https://rustup.rs)"
need rustup "install Rust with rustup (https://rustup.rs)"
need cargo-ndk "cargo install cargo-ndk"
$skip_gradle || need "$gradle" "install Gradle 8.9+ or set GRADLE=path/to/gradlew"

rustup target add "${triples[@]}"

echo "== Android: libtailor.so for ${abis[*]} (API $api, 16 KB pages, profile $profile)"
jni="$here/build/rust/jniLibs"
rm -rf "$jni"
mkdir -p "$jni"
# cargo-ndk adds this flag itself only for NDK <= r27 and 64-bit targets; set it for every ABI so
# the result does not depend on the NDK version. RUSTFLAGS reaches only the target artifacts
# (cargo-ndk passes --target), not build scripts.
#
# The NDK's clang links with lld, so the two size flags scripts/build-lib.sh gives the host build
# apply here too (scripts/README.md "Library size"): identical-code folding (--icf=all; generic
# tract/ndarray code instantiated for types of the same layout, about 1 MB on x86_64 together with
# packed relocations), and Android's packed relocation format (--pack-dyn-relocs=android: bionic
# reads it from API 23, below the AAR's minSdk 24; the DT_RELR form the host build uses needs API 28
# with Android's tags, and the NDK's clang adds it by itself only from API 28).
export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C link-arg=-Wl,-z,max-page-size=16384 -C link-arg=-Wl,--icf=all"
if ((api >= 23)); then
  RUSTFLAGS="$RUSTFLAGS -C link-arg=-Wl,--pack-dyn-relocs=android"
fi
target_args=()
for abi in "${abis[@]}"; do
  target_args+=(-t "$abi")
done
# `rustc --crate-type cdylib`, not `build`: Android needs the cdylib only, not tailor-ffi's staticlib.
(cd "$repo" && cargo ndk "${target_args[@]}" --platform "$api" -o "$jni" \
  rustc --profile "$profile" --package tailor-ffi --lib --crate-type cdylib)

# Check the LOAD segment alignment of the 64-bit libraries (32-bit devices keep 4 KB pages).
readelf_bin=""
for candidate in "${ANDROID_NDK_HOME:-/nonexistent}"/toolchains/llvm/prebuilt/*/bin/llvm-readelf; do
  [[ -x $candidate ]] && readelf_bin=$candidate
done
[[ -n $readelf_bin ]] || readelf_bin=$(command -v llvm-readelf || command -v readelf || true)
if [[ -z $readelf_bin ]]; then
  echo "build-android: no llvm-readelf/readelf found; skipping the 16 KB alignment check" >&2
else
  for abi in arm64-v8a x86_64; do
    so="$jni/$abi/libtailor.so"
    [[ -f $so ]] || {
      echo "build-android: $so was not built" >&2
      exit 1
    }
    # The smallest LOAD alignment (the last column of `readelf -lW`, in hex).
    min_align=""
    while read -r align; do
      if [[ -z $min_align ]] || ((align < min_align)); then
        min_align=$((align))
      fi
    done < <("$readelf_bin" -lW "$so" | awk '$1 == "LOAD" { print $NF }')
    if [[ -z $min_align ]] || ((min_align < 16384)); then
      echo "build-android: $abi/libtailor.so LOAD segments are aligned to $min_align bytes, not 16 KB" >&2
      exit 1
    fi
    echo "   $abi/libtailor.so: LOAD alignment $min_align (16 KB ok)"
  done
fi

echo "== Android: Kotlin bindings (uniffi-bindgen, library mode, from the host debug library)"
(cd "$repo" && cargo build --quiet -p tailor-ffi -p uniffi-bindgen)
host_lib="$repo/target/debug/libtailor.so"
if [[ $(uname -s) == Darwin ]]; then
  host_lib="$repo/target/debug/libtailor.dylib"
fi
gen="$here/build/generated/uniffi"
# generate.sh: uniffi plus the edits it has no setting for (plain error messages, data objects).
"$repo/bindings/generate.sh" kotlin "$gen" "$host_lib"

if $skip_gradle; then
  echo "== Android: skipping Gradle (--skip-gradle); sources in ${gen#"$repo"/}, libraries in ${jni#"$repo"/}"
  exit 0
fi
echo "== Android: gradle assembleRelease"
"$gradle" -p "$here" assembleRelease
echo "== Android: $here/build/outputs/aar/tailor-release.aar"
