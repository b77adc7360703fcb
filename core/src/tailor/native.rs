//! The one C entry point written by hand next to uniffi's: `rank_packed` with primitive arguments
//! only, for the SDKs' `TailorClient.rank` (Kotlin `NativeRank.kt`, Swift `Tailor.rankPage`;
//! declared for C in bindings/ffi/tailor_native.h).
//!
//! Through uniffi, a Kotlin call costs four JNA calls (clone the object's handle, allocate the
//! request's `RustBuffer`, the call, free the response) and JNA builds a `Structure` for each
//! `RustBuffer` and `RustCallStatus` by reflection: 15–18 µs per rank, a third of a 55 µs rank.
//! Here the caller passes a handle it already holds, a request it wrote into its own buffer and a
//! buffer for the answer, all as plain integers, so a rank is one native call (Swift saves the
//! `RustBuffer` allocations and copies too).
//!
//! The bytes are uniffi's on both sides, so nothing new has to be kept in step: the request is
//! uniffi's serialization of `RankRequest` (written by the generated `FfiConverterTypeRankRequest`
//! of each SDK), the page is `rank/packed.rs`, and an error is uniffi's serialization of
//! `TailorError` (read by the generated `FfiConverterTypeTailorError`).

use super::Tailor;
use crate::error::TailorError;
use crate::types::RankRequest;
use std::any::Any;
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use uniffi::{Lift, Lower};

/// The answer is a packed rank page.
pub const PAGE: i64 = 0;
/// The answer is a `TailorError` in uniffi's serialization.
pub const ERROR: i64 = 1;
/// The call panicked (a bug); the answer is the panic message in UTF-8, which the SDK raises as
/// uniffi's `InternalException` (Kotlin) or `TailorInternalError` (Swift).
pub const PANIC: i64 = 2;

thread_local! {
    /// An answer larger than the caller's buffer, until `tailor_take_answer` copies it. Per thread,
    /// because the caller asks for it on the thread that made the call, right after it.
    static UNDELIVERED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// `Tailor::rank_packed` for the Kotlin and Swift SDKs.
///
/// - `handle`: a `Tailor` handle the caller holds for the whole call (a clone it got from uniffi
///   and frees with uniffi's free function afterwards). It is borrowed, not consumed.
/// - `request`, `request_len`: uniffi's serialization of a `RankRequest`.
/// - `out`, `out_capacity`: where the answer goes.
///
/// Returns `kind << 32 | length`: `kind` is [`PAGE`], [`ERROR`] or [`PANIC`], `length` the
/// answer's size in bytes. When `length > out_capacity` nothing was written and the answer waits
/// for [`tailor_take_answer`] on this thread, so a rank never runs twice for one page.
///
/// # Safety
/// `handle` must be a live `Tailor` handle, `request` must point at `request_len` readable bytes
/// and `out` at `out_capacity` writable ones, and none may change during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tailor_rank_page(
    handle: u64,
    request: u64,
    request_len: u32,
    out: u64,
    out_capacity: u32,
) -> i64 {
    let answer = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the caller's handle keeps the object alive for the call (above); uniffi's
        // handles are the object's `Arc` pointer, borrowed here without taking a reference.
        let tailor = unsafe {
            match uniffi::ffi::Handle::from_raw(handle) {
                Some(handle) => &*handle.as_pointer::<Tailor>(),
                None => return Err(invalid("a null Tailor handle")),
            }
        };
        // SAFETY: the caller's promise above.
        let mut bytes = unsafe { slice(request, request_len) };
        let request = <RankRequest as Lift<crate::UniFfiTag>>::try_read(&mut bytes)
            .ok()
            .filter(|_| bytes.is_empty())
            .ok_or_else(|| invalid("a request that is not a serialized RankRequest"))?;
        tailor.rank_packed(request)
    }));
    let (kind, bytes) = match answer {
        Ok(Ok(page)) => (PAGE, page),
        Ok(Err(error)) => {
            let mut bytes = Vec::new();
            <TailorError as Lower<crate::UniFfiTag>>::write(error, &mut bytes);
            (ERROR, bytes)
        }
        Err(panic) => (PANIC, panic_message(panic).into_bytes()),
    };
    // SAFETY: the caller's promise above.
    unsafe { deliver(kind, bytes, out, out_capacity) }
}

/// Copies the answer [`tailor_rank_page`] could not fit into `out` and returns its
/// `kind << 32 | length` again; a buffer that is still too small keeps it waiting. With nothing
/// waiting it returns `PANIC << 32 | 0`.
///
/// # Safety
/// `out` must point at `out_capacity` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tailor_take_answer(out: u64, out_capacity: u32) -> i64 {
    let mut waiting = UNDELIVERED.with(|cell| std::mem::take(&mut *cell.borrow_mut()));
    // `deliver` kept the answer's kind as its last byte.
    let Some(kind) = waiting.pop() else {
        return PANIC << 32;
    };
    // SAFETY: the caller's promise above.
    unsafe { deliver(i64::from(kind), waiting, out, out_capacity) }
}

/// Writes `bytes` to `out` if they fit, else keeps them (with `kind` as their last byte) for
/// [`tailor_take_answer`].
unsafe fn deliver(kind: i64, mut bytes: Vec<u8>, out: u64, out_capacity: u32) -> i64 {
    let Ok(len) = u32::try_from(bytes.len()) else {
        let message = format!("an answer of {} bytes, over 4 GiB", bytes.len());
        // SAFETY: the caller's promise.
        return unsafe { deliver(PANIC, message.into_bytes(), out, out_capacity) };
    };
    if len <= out_capacity && out != 0 {
        // SAFETY: `out` has `out_capacity >= len` writable bytes (the caller's promise).
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), out as usize as *mut u8, bytes.len())
        };
    } else {
        bytes.push(kind as u8);
        UNDELIVERED.with(|cell| *cell.borrow_mut() = bytes);
    }
    kind << 32 | i64::from(len)
}

unsafe fn slice<'a>(at: u64, len: u32) -> &'a [u8] {
    if at == 0 || len == 0 {
        return &[];
    }
    // SAFETY: the caller's promise.
    unsafe { std::slice::from_raw_parts(at as usize as *const u8, len as usize) }
}

fn invalid(what: &str) -> TailorError {
    TailorError::InvalidInput {
        message: format!("tailor_rank_page got {what}; call it through the Kotlin SDK"),
    }
}

fn panic_message(panic: Box<dyn Any + Send>) -> String {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    format!("Tailor panicked while ranking (a bug, please report it): {detail}")
}
