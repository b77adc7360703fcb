//! Catalog limits, checked under the writer lock against the catalog as it is.

use super::*;

// ---------------------------------------------------------------------------------------------
// Catalog limits are checked under the writer lock, against the catalog as it is.
// ---------------------------------------------------------------------------------------------

fn embedded(id: &str, dim: usize) -> Item {
    Item {
        embedding: Some(vec![0.5; dim]),
        ..item(id, "c", "b", 1.0, 1.0)
    }
}

#[test]
fn a_batch_larger_than_the_catalog_still_matches_its_embedding_dimension() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(vec![embedded("a", 4), embedded("b", 4)])
        .unwrap();
    let wider: Vec<Item> = ["c", "d", "e"].iter().map(|id| embedded(id, 8)).collect();
    let err = t.upsert_items(wider).unwrap_err();
    assert!(
        matches!(&err, TailorError::InvalidInput { message } if message.contains("uses 4")),
        "{err:?}"
    );
    assert_eq!(t.status().unwrap().catalog_items, 2, "nothing written");
    // Replacing every embedded item may change the dimension.
    let all = ["a", "b", "c"].iter().map(|id| embedded(id, 8)).collect();
    t.upsert_items(all).unwrap();
    assert_eq!(t.status().unwrap().catalog_items, 3);
}

#[test]
fn concurrent_upserts_never_exceed_the_item_limit() {
    let dir = tempfile::tempdir().unwrap();
    let t = Tailor::open(TailorConfig {
        max_catalog_items: 1_000,
        ..config(&dir)
    })
    .unwrap();
    let barrier = std::sync::Barrier::new(2);
    let results: Vec<Result<u32, TailorError>> = std::thread::scope(|s| {
        let handles: Vec<_> = ["x", "y"]
            .iter()
            .map(|prefix| {
                let (t, barrier) = (&t, &barrier);
                s.spawn(move || {
                    let items = (0..600)
                        .map(|i| item(&format!("{prefix}-{i}"), "c", "b", 1.0, 1.0))
                        .collect();
                    barrier.wait();
                    t.upsert_items(items)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert_eq!(t.status().unwrap().catalog_items, 600);
}
