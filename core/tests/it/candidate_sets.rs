//! Named candidate sets through the public API: a personalized page from a set is the page the
//! same ids give, item for item, with the same scores and reasons; closing drops the sets.

use super::common::*;
use tailor::{EventKind, RankRequest, TailorError};

#[test]
fn a_set_ranks_like_its_ids_with_a_personalized_profile() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(catalog()).unwrap();
    t.track_batch(vec![
        event(EventKind::Purchase, "toys-2", NOW - 3 * DAY),
        event(EventKind::View, "books-1", NOW - DAY),
        event(EventKind::AddToCart, "toys-3", NOW - 3_600),
    ])
    .unwrap();
    let ids: Vec<String> = [
        "shoes-0", "toys-3", "ghost", "books-1", "toys-2", "toys-3", "books-2",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(
        t.define_candidate_set("mixed".into(), ids.clone()).unwrap(),
        6
    );
    let request = RankRequest {
        limit: 4,
        now: Some(NOW),
        ..Default::default()
    };
    let by_ids = t
        .rank(RankRequest {
            candidate_ids: Some(ids),
            ..request.clone()
        })
        .unwrap();
    let by_set = t
        .rank(RankRequest {
            candidate_set: Some("mixed".into()),
            ..request
        })
        .unwrap();
    assert!(by_set.personalized);
    assert_eq!(by_set.items, by_ids.items, "same order, scores and reasons");
    assert_eq!(by_set.unknown_ids, vec!["ghost".to_string()]);
    assert_eq!(t.candidate_sets().unwrap(), vec!["mixed".to_string()]);

    t.close();
    assert!(matches!(
        t.define_candidate_set("x".into(), vec!["toys-1".into()]),
        Err(TailorError::Closed { .. })
    ));
    let reopened = open(&dir);
    assert!(
        reopened.candidate_sets().unwrap().is_empty(),
        "sets live in memory"
    );
    assert!(matches!(
        reopened.rank(RankRequest {
            candidate_set: Some("mixed".into()),
            limit: 20,
            ..Default::default()
        }),
        Err(TailorError::NotFound { .. })
    ));
}
