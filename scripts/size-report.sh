#!/usr/bin/env bash
# Library size: builds libtailor.so for this machine (x86_64 Linux) with the `release` and the
# `mobile` profiles (scripts/build-lib.sh), strips a copy of each and prints its size, and its
# gzip -9 size (about what a store download adds). Target (issue 17): the mobile library <= 10 MB
# stripped; scripts/size-breakdown.py says which crates the bytes belong to.
#   --bench [ROUNDS]  also build the CLI with both profiles and print the medians, over ROUNDS
#                     alternating runs (default 5), of `tailor bench --json` rank and model p50
#   --android, --ios  print how to measure the library for those targets (no NDK or Xcode here)
# Usage: scripts/size-report.sh [--bench [ROUNDS] | --android | --ios]
set -euo pipefail
cd "$(dirname "$0")/.."

android_notes() {
  cat <<'EOF'
Android (NDK r26+, cargo-ndk 4, `rustup target add aarch64-linux-android`), per ABI:

  cargo ndk -t arm64-v8a --platform 24 -o /tmp/jni \
    rustc --profile mobile -p tailor-ffi --lib --crate-type cdylib
  "$ANDROID_NDK_HOME"/toolchains/llvm/prebuilt/*/bin/llvm-strip -o /tmp/libtailor.so \
    /tmp/jni/arm64-v8a/libtailor.so        # already stripped by the profile; makes sure
  ls -l /tmp/libtailor.so; gzip -9 -c /tmp/libtailor.so | wc -c

bindings/kotlin/build-android.sh builds all three ABIs this way (it uses `rustc --crate-type
cdylib`, not `build`, so that LTO runs). The .so is what the APK carries per ABI (stored
uncompressed, 16 KB aligned); the Play download is compressed and per-device (`bundletool
get-size total` on the app bundle).
EOF
}

ios_notes() {
  cat <<'EOF'
iOS (macOS with Xcode):

  cargo rustc --profile mobile -p tailor-ffi --lib --crate-type staticlib --target aarch64-apple-ios
  ls -l target/aarch64-apple-ios/mobile/libtailor.a

The static library's size is not what an app carries: it holds every object file (all of std,
tract and SQLite) with symbols, and the app's linker keeps only the code that is reachable, then
strips. Measure the linked app instead: archive an app that calls Tailor (with and without the
package) and compare `size -m` or `bloaty` on Payload/<App>.app/<App>
(`bloaty -d compileunits <App>` shows what Tailor adds), or read Xcode's App Thinning Size Report
(export the archive with `thinning` set in the export options) for per-device download and
install sizes.
EOF
}

rounds=0
case "${1:-}" in
  "") ;;
  --bench) rounds="${2:-5}" ;;
  --android)
    android_notes
    exit 0
    ;;
  --ios)
    ios_notes
    exit 0
    ;;
  *)
    echo "usage: $0 [--bench [ROUNDS] | --android | --ios]" >&2
    exit 2
    ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
strip_tool=$(command -v llvm-strip || command -v strip)
mb() { awk -v b="$1" 'BEGIN { printf "%.2f MB (%.2f MiB)", b / 1e6, b / 1048576 }'; }

echo "== size-report: building libtailor.so (release, then mobile; the mobile one takes minutes)"
for p in release mobile; do
  cp "$(scripts/build-lib.sh "$p")" "$tmp/$p.so"
  # release keeps line tables and symbols for profiling; mobile is already stripped by the profile.
  "$strip_tool" "$tmp/$p.so"
done
echo
echo "| profile | stripped libtailor.so (x86_64 Linux) | gzip -9 |"
echo "| --- | ---: | ---: |"
for p in release mobile; do
  bytes=$(wc -c <"$tmp/$p.so")
  gz=$(gzip -9 -c "$tmp/$p.so" | wc -c)
  echo "| $p | $(mb "$bytes") | $(mb "$gz") |"
done
bytes=$(wc -c <"$tmp/mobile.so")
if ((bytes <= 10000000)); then
  echo "target <= 10 MB: met"
else
  echo "target <= 10 MB: not met ($(mb "$bytes")); scripts/README.md \"Library size\" says where it goes"
fi

((rounds > 0)) || exit 0
echo
echo "== size-report: building the CLI (release, mobile) for $rounds rounds of tailor bench --json"
cargo build --quiet --release -p tailor-cli
cp target/release/tailor "$tmp/tailor-release"
cargo build --quiet --profile mobile -p tailor-cli
cp target/mobile/tailor "$tmp/tailor-mobile"
for _ in $(seq "$rounds"); do
  for p in release mobile; do
    "$tmp/tailor-$p" bench --json >>"$tmp/$p.jsonl"
  done
done
# One value of a {"100":x,"1000":x,"10000":x} field per line -> "x100 x1000 x10000".
field() {
  sed -E "s/.*\"$1\":\\{\"100\":([0-9.e+-]+),\"1000\":([0-9.e+-]+),\"10000\":([0-9.e+-]+)\\}.*/\\1 \\2 \\3/" "$2"
}
median() { sort -g | awk '{ v[NR] = $1 } END { printf "%.0f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo
echo "| profile | rank p50 100 | rank p50 1,000 | rank p50 10,000 | model p50 100 | model p50 1,000 | model p50 10,000 |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for p in release mobile; do
  row="| $p"
  for f in rank_p50_us model_p50_us; do
    for col in 1 2 3; do
      row="$row | $(field "$f" "$tmp/$p.jsonl" | cut -d' ' -f"$col" | median) µs"
    done
  done
  echo "$row |"
done
