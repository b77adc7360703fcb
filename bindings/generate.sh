#!/usr/bin/env bash
# Generates the uniffi bindings from a built libtailor and applies the few edits uniffi 0.32 has
# no setting for (each checked: the script fails if uniffi's output changed and an edit no
# longer applies, rather than shipping the old behaviour silently).
#
# Usage: bindings/generate.sh kotlin|swift OUT_DIR [LIBRARY]
#   LIBRARY defaults to target/debug/libtailor.so (unstripped: uniffi reads its metadata).
#
# Kotlin:
# - an error's `message` is generated as "detail=<text>"; it becomes the plain text.
# - fieldless variants of sealed enums (Reason.Pinned, Fallback.ColdStart, ...) are plain
#   `object`s that print as `Reason$Pinned@5479e3f`; they become `data object`s ("Pinned").
# Swift:
# - error cases keep Rust's UpperCamelCase (`.InvalidInput`) while every other enum is
#   lowerCamelCase; they become `.invalidInput`, `.notFound`, `.modelRejected`, `.storage`,
#   `.closed`, `.interrupted`. (`LocalizedError` with a readable text is in the hand-written layer, see
#   uniffi.toml `omit_localized_error_conformance`.)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
language="$1"
out="$2"
lib="${3:-$repo/target/debug/libtailor.so}"

rm -rf "$out"
"$repo/target/debug/uniffi-bindgen" generate --library "$lib" --language "$language" \
  --no-format --config "$repo/uniffi.toml" --out-dir "$out"

# Fails unless FILE contains at least one line matching the extended regex PATTERN.
expect() {
  if ! grep -Eq "$2" "$1"; then
    echo "generate.sh: expected /$2/ in $1; the uniffi output changed, update this script" >&2
    exit 1
  fi
}

case "$language" in
  kotlin)
    file="$out/dev/tailor/tailor.kt"
    expect "$file" 'get\(\) = ".*detail=\$\{ *`?detail`? *\}"'
    expect "$file" '^ +object [A-Za-z]+ : (Reason|Fallback)\(\)$'
    perl -0pi -e 's/get\(\) = "[^"\n]*detail=\$\{ *(`?detail`?) *\}"/get() = $1/g;
                  s/^(\s+)object (\w+) : (\w+)\(\)$/$1data object $2 : $3()/mg' "$file"
    ;;
  swift)
    file="$out/Tailor.swift"
    cases='InvalidInput|NotFound|ModelRejected|Storage|Closed|Interrupted'
    expect "$file" "case ($cases)\("
    perl -pi -e "s/(case |case let \.|\.)($cases)\b/\$1\l\$2/g" "$file"
    if grep -Eq "(case |\.)($cases)\b" "$file"; then
      echo "generate.sh: an UpperCamelCase error case is left in $file" >&2
      exit 1
    fi
    ;;
  *)
    echo "usage: $0 kotlin|swift OUT_DIR [LIBRARY]" >&2
    exit 2
    ;;
esac
