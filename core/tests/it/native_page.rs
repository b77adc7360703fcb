//! The hand-written C entry point the Kotlin SDK ranks through (`tailor_rank_page`): called the
//! way the SDK calls it, with a handle, a serialized request and a buffer, it answers with the
//! page `rank` gives, with `rank`'s errors, and never loses an answer its buffer cannot hold.

use super::common::*;
use std::sync::Arc;
use tailor::engine::native::{tailor_rank_page, tailor_take_answer, ERROR, PAGE, PANIC};
use tailor::engine::rank::packed;
use tailor::{EventKind, RankRequest, RankResponse, Tailor, TailorError, UniFfiTag};
use uniffi::{Lift, Lower};

/// A handle the way the SDK holds one: a clone of the object, freed on drop.
struct Handle(u64);

impl Handle {
    fn new(t: &Arc<Tailor>) -> Handle {
        Handle(<Arc<Tailor> as Lower<UniFfiTag>>::lower(t.clone()).as_raw())
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        let handle = uniffi::ffi::Handle::from_raw_unchecked(self.0);
        drop(<Arc<Tailor> as Lift<UniFfiTag>>::try_lift(handle).unwrap());
    }
}

/// What one call answered: its kind and bytes, or the length it asked for.
fn call(handle: u64, request: &[u8], capacity: usize) -> (i64, Result<Vec<u8>, usize>) {
    let mut out = vec![0u8; capacity];
    let answer = unsafe {
        tailor_rank_page(
            handle,
            request.as_ptr() as u64,
            request.len() as u32,
            out.as_mut_ptr() as u64,
            capacity as u32,
        )
    };
    let (kind, len) = (answer >> 32, (answer & 0xffff_ffff) as usize);
    if len > capacity {
        return (kind, Err(len));
    }
    out.truncate(len);
    (kind, Ok(out))
}

fn serialized(request: RankRequest) -> Vec<u8> {
    let mut bytes = Vec::new();
    <RankRequest as Lower<UniFfiTag>>::write(request, &mut bytes);
    bytes
}

fn error(bytes: &[u8]) -> TailorError {
    <TailorError as Lift<UniFfiTag>>::try_read(&mut &bytes[..]).unwrap()
}

fn comparable(r: RankResponse) -> RankResponse {
    RankResponse {
        response_id: String::new(),
        took_micros: 0,
        ..r
    }
}

fn warm() -> (tempfile::TempDir, Arc<Tailor>) {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(catalog()).unwrap();
    t.track_batch(vec![
        event(EventKind::Purchase, "toys-2", NOW - 3 * DAY),
        event(EventKind::View, "books-1", NOW - DAY),
    ])
    .unwrap();
    (dir, t)
}

#[test]
fn the_entry_point_answers_with_the_page_rank_gives() {
    let (_dir, t) = warm();
    let set: Vec<String> = ["shoes-0", "toys-3", "ghost", "books-1"]
        .map(String::from)
        .to_vec();
    t.define_candidate_set("mixed".into(), set).unwrap();
    let handle = Handle::new(&t);
    for request in [
        request(5),
        RankRequest {
            candidate_set: Some("mixed".into()),
            ..request(3)
        },
        RankRequest {
            candidate_ids: Some(vec!["books-2".into(), "toys-1".into(), "nope".into()]),
            ..request(2)
        },
    ] {
        let (kind, page) = call(handle.0, &serialized(request.clone()), 64 * 1024);
        assert_eq!(kind, PAGE);
        let page = packed::decode(&page.unwrap()).unwrap();
        assert!(!page.items.is_empty());
        assert_eq!(comparable(page), comparable(t.rank(request).unwrap()));
    }
    drop(handle);
    assert_eq!(
        Arc::strong_count(&t),
        1,
        "the handle's clone is freed, no other"
    );
}

#[test]
fn an_answer_larger_than_the_buffer_waits_for_a_larger_one() {
    let (_dir, t) = warm();
    let handle = Handle::new(&t);
    let request = serialized(request(20));
    let (kind, asked) = call(handle.0, &request, 16);
    assert_eq!(kind, PAGE);
    let len = asked.unwrap_err();
    assert!(len > 16);

    let mut small = vec![0u8; 16];
    let again = unsafe { tailor_take_answer(small.as_mut_ptr() as u64, 16) };
    assert_eq!(
        again,
        PAGE << 32 | len as i64,
        "still waiting, still the same answer"
    );
    let mut out = vec![0u8; len];
    let taken = unsafe { tailor_take_answer(out.as_mut_ptr() as u64, len as u32) };
    assert_eq!(taken, PAGE << 32 | len as i64);
    let page = packed::decode(&out).unwrap();
    assert_eq!(
        comparable(page),
        comparable(t.rank(self::request(20)).unwrap())
    );
    let nothing = unsafe { tailor_take_answer(out.as_mut_ptr() as u64, len as u32) };
    assert_eq!(nothing, PANIC << 32, "taken once");
}

#[test]
fn errors_arrive_as_the_same_tailor_error() {
    let (_dir, t) = warm();
    let handle = Handle::new(&t);
    let unknown_set = RankRequest {
        candidate_set: Some("nope".into()),
        ..request(3)
    };
    let (kind, bytes) = call(handle.0, &serialized(unknown_set.clone()), 4096);
    assert_eq!(kind, ERROR);
    let native = error(&bytes.unwrap());
    assert!(matches!(native, TailorError::NotFound { .. }), "{native:?}");
    assert_eq!(
        native.to_string(),
        t.rank(unknown_set).unwrap_err().to_string()
    );

    let (kind, bytes) = call(handle.0, &serialized(request(0)), 4096);
    assert_eq!(kind, ERROR);
    assert!(matches!(
        error(&bytes.unwrap()),
        TailorError::InvalidInput { .. }
    ));

    t.close();
    let (kind, bytes) = call(handle.0, &serialized(request(3)), 4096);
    assert_eq!(kind, ERROR);
    assert!(matches!(error(&bytes.unwrap()), TailorError::Closed { .. }));
}

#[test]
fn bytes_that_are_not_a_request_are_refused_without_a_panic() {
    let (_dir, t) = warm();
    let handle = Handle::new(&t);
    let whole = serialized(request(3));
    let mut trailing = whole.clone();
    trailing.push(0);
    for bytes in [
        &whole[..whole.len() - 1],
        &trailing[..],
        &[0xff; 40][..],
        &[],
    ] {
        let (kind, answer) = call(handle.0, bytes, 4096);
        assert_eq!(kind, ERROR, "{bytes:?}");
        let refused = error(&answer.unwrap());
        assert!(
            matches!(&refused, TailorError::InvalidInput { message } if message.contains("RankRequest")),
            "{refused:?}"
        );
    }
    let (kind, answer) = call(0, &whole, 4096);
    assert_eq!(kind, ERROR);
    assert!(matches!(
        error(&answer.unwrap()),
        TailorError::InvalidInput { .. }
    ));
}
