// The C entry point written by hand next to uniffi's (core/src/tailor/native.rs): rank with
// plain-integer arguments, so a binding pays one native call per rank and no RustBuffer.
// bindings/generate.sh appends this to the generated TailorFFI.h for Swift; Kotlin binds the same
// two functions with JNA (bindings/kotlin/.../NativeRank.kt).
//
// tailor_rank_page(handle, request, request_len, out, out_capacity):
//   handle   a Tailor object handle the caller holds for the whole call (borrowed, not consumed)
//   request  uniffi's serialization of a RankRequest (request_len bytes)
//   out      a buffer of out_capacity bytes for the answer
// Returns kind << 32 | length. kind 0: the packed rank page (core/src/rank/packed.rs); 1: a
// TailorError in uniffi's serialization; 2: a panic message (a bug) in UTF-8. When length exceeds
// out_capacity nothing was written: call tailor_take_answer on the same thread with a buffer of at
// least length bytes (the rank is not run again).
#include <stdint.h>
int64_t tailor_rank_page(uint64_t handle, uint64_t request, uint32_t request_len, uint64_t out,
                         uint32_t out_capacity);
int64_t tailor_take_answer(uint64_t out, uint32_t out_capacity);
