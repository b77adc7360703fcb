#!/usr/bin/env bash
# Generates the uniffi bindings from a built libtailor and applies the few edits uniffi 0.32 has
# no setting for (each checked: the script fails if uniffi's output changed and an edit no
# longer applies, rather than shipping the old behaviour silently).
#
# Usage: bindings/generate.sh kotlin|swift OUT_DIR [LIBRARY]
#   LIBRARY defaults to target/debug/libtailor.so (unstripped: uniffi reads its metadata).
#
# Kotlin:
# - every native call allocates a new JNA call-status Structure (native memory registered with
#   JNA's cleaner: ~3 µs, and a rank makes 3-4 native calls); each thread reuses one instead.
#   A status that comes back with an error is handed over to the error's lifting and the thread
#   takes a fresh one, so an error buffer never shares memory with the next call.
# - an error's `message` is generated as "detail=<text>"; it becomes the plain text.
# - every string written into a RustBuffer gets a new CharsetEncoder and a heap ByteBuffer; ASCII
#   strings (ids, mostly: 1,000 candidate ids cost ~50 µs) are copied byte by byte instead.
# - fieldless variants of sealed enums (Reason.Pinned, Fallback.ColdStart, ...) are plain
#   `object`s that print as `Reason$Pinned@5479e3f`; they become `data object`s ("Pinned").
# Swift:
# - the generic reader copies every integer and string out of the Foundation `Data` it reads
#   with `Data.copyBytes(to:from:)`, which on Linux costs about 1 µs a field (a page of 20
#   ranked items with their reasons: ~0.2 ms); readInt and readBytes become one
#   `withUnsafeBytes` load each (same checks, same values; about 5 times faster).
# - error cases keep Rust's UpperCamelCase (`.InvalidInput`) while every other enum is
#   lowerCamelCase; they become `.invalidInput`, `.notFound`, `.modelRejected`, `.storage`,
#   `.closed`, `.interrupted`. (`LocalizedError` with a readable text is in the hand-written layer, see
#   uniffi.toml `omit_localized_error_conformance`.)
# - TailorFFI.h gets the declarations of bindings/ffi/tailor_native.h, the hand-written C entry
#   point `Tailor.rankPage` calls (one native call per rank, no RustBuffer).
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

# Replaces the exact text OLD in FILE by NEW, once; fails if OLD is not there (uniffi changed).
# Usage: replace_exact FILE WHAT OLD NEW
replace_exact() {
  if ! grep -qF "$3" "$1"; then
    echo "generate.sh: $2 changed in $1; update this script" >&2
    exit 1
  fi
  OLD="$3" NEW="$4" perl -0pi -e 's/\Q$ENV{OLD}\E/$ENV{NEW}/ or die "generate.sh: not replaced\n"' "$1"
}

case "$language" in
  kotlin)
    file="$out/dev/tailor/tailor.kt"
    replace_exact "$file" "uniffiRustCallWithError's status" \
      '    var status = UniffiRustCallStatus()
    val return_value = callback(status)
    uniffiCheckCallStatus(errorHandler, status)' \
      "    // bindings/generate.sh: this thread's status, not a new Structure per call.
    val status = uniffiThreadCallStatus.get()
    val return_value = callback(status)
    // Failed: the error buffer stays in this status while it is lifted and freed.
    if (status.code != UNIFFI_CALL_SUCCESS) uniffiThreadCallStatus.set(UniffiRustCallStatus())
    uniffiCheckCallStatus(errorHandler, status)"
    replace_exact "$file" "uniffiRustCallWithError" \
      'private inline fun <U, E: kotlin.Exception> uniffiRustCallWithError' \
      'private val uniffiThreadCallStatus: ThreadLocal<UniffiRustCallStatus> =
    ThreadLocal.withInitial { UniffiRustCallStatus() }

private inline fun <U, E: kotlin.Exception> uniffiRustCallWithError'
    expect "$file" 'get\(\) = ".*detail=\$\{ *`?detail`? *\}"'
    expect "$file" '^ +object [A-Za-z]+ : (Reason|Fallback)\(\)$'
    perl -0pi -e 's/get\(\) = "[^"\n]*detail=\$\{ *(`?detail`?) *\}"/get() = $1/g;
                  s/^(\s+)object (\w+) : (\w+)\(\)$/$1data object $2 : $3()/mg' "$file"
    replace_exact "$file" "FfiConverterString.write" \
      '    override fun write(value: String, buf: ByteBuffer) {
        val byteBuf = toUtf8(value)' \
      '    override fun write(value: String, buf: ByteBuffer) {
        // bindings/generate.sh: an ASCII string (ids, mostly) goes in byte by byte, without a
        // new CharsetEncoder and ByteBuffer per string; anything else takes the encoder below.
        val start = buf.position()
        buf.putInt(value.length)
        var ascii = true
        for (c in value) {
            if (c.code >= 0x80) { ascii = false; break }
            buf.put(c.code.toByte())
        }
        if (ascii) return
        buf.position(start)
        val byteBuf = toUtf8(value)'
    ;;
  swift)
    file="$out/Tailor.swift"
    # From readInt's signature to the comment that follows readBytes: uniffi 0.32's two readers.
    readers='fileprivate func readInt<T: FixedWidthInteger>\(_ reader: inout \(data: Data, offset: Data.Index\)\) throws -> T \{.*?\n(?=// Reads a float at the current offset)'
    expect "$file" 'reader.data.copyBytes\(to: \$0, from: range\)'
    READERS="$(cat <<'SWIFT'
fileprivate func readInt<T: FixedWidthInteger>(_ reader: inout (data: Data, offset: Data.Index)) throws -> T {
    // bindings/generate.sh: one unaligned load instead of Data.copyBytes (slow on Linux).
    let offset = reader.offset
    let size = MemoryLayout<T>.size
    let value: T = try reader.data.withUnsafeBytes { bytes in
        guard offset >= 0, bytes.count - offset >= size else {
            throw UniffiInternalError.bufferOverflow
        }
        return bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
    }
    reader.offset = offset + size
    return T(bigEndian: value)
}

// Reads an arbitrary number of bytes, to be used to read
// raw bytes, this is useful when lifting strings
fileprivate func readBytes(_ reader: inout (data: Data, offset: Data.Index), count: Int) throws -> Array<UInt8> {
    let offset = reader.offset
    let value: [UInt8] = try reader.data.withUnsafeBytes { bytes in
        guard offset >= 0, count >= 0, bytes.count - offset >= count else {
            throw UniffiInternalError.bufferOverflow
        }
        return Array(UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count]))
    }
    reader.offset = offset + count
    return value
}

SWIFT
)" perl -0pi -e "s{$readers}{\$ENV{READERS}\n\n}s or die 'generate.sh: uniffi readers not found\n'" "$file"
    if grep -q 'reader.data.copyBytes' "$file"; then
      echo "generate.sh: a Data.copyBytes reader is left in $file" >&2
      exit 1
    fi
    cases='InvalidInput|NotFound|ModelRejected|Storage|Closed|Interrupted'
    expect "$file" "case ($cases)\("
    perl -pi -e "s/(case |case let \.|\.)($cases)\b/\$1\l\$2/g" "$file"
    if grep -Eq "(case |\.)($cases)\b" "$file"; then
      echo "generate.sh: an UpperCamelCase error case is left in $file" >&2
      exit 1
    fi
    # The hand-written entry point (Tailor.rankPage calls it), declared in the same C module.
    header="$out/TailorFFI.h"
    expect "$header" 'uniffi_tailor_fn_method_tailor_rank_packed'
    { echo; cat "$repo/bindings/ffi/tailor_native.h"; } >>"$header"
    ;;
  *)
    echo "usage: $0 kotlin|swift OUT_DIR [LIBRARY]" >&2
    exit 2
    ;;
esac
