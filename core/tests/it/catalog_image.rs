//! `catalog.image`: open reads a large catalog from its image when the image shows the last
//! catalog write, and from `catalog.db`'s rows otherwise. Whatever happened to the image (a write
//! after it, a crash before `close`, damage), the catalog an app sees is the one it wrote.

use crate::common::*;
use std::path::Path;
use tailor::*;

const ITEMS: usize = 1_500;

fn items(n: usize) -> Vec<Item> {
    (0..n)
        .map(|i| Item {
            tags: vec![format!("t{}", i % 13)],
            embedding: Some(vec![(i % 7) as f32, 1.0, (i % 3) as f32]),
            related: (1..6)
                .map(|k| RelatedItem {
                    item_id: format!("p{:05}", (i * 31 + k * 7) % (n + 40)),
                    weight: k as f64,
                })
                .collect(),
            ..item(
                &format!("p{i:05}"),
                &format!("c{}", i % 9),
                "b",
                1.0 + i as f64,
                (i * 37 % 1000) as f64,
            )
        })
        .collect()
}

/// A shopper who viewed a few items, and the page they get: ids and scores.
fn page(t: &Tailor) -> Vec<(String, f64)> {
    t.rank(request(30))
        .unwrap()
        .items
        .into_iter()
        .map(|i| (i.item_id, i.score))
        .collect()
}

fn image(dir: &tempfile::TempDir) -> std::path::PathBuf {
    dir.path().join("catalog.image")
}

fn shopper(t: &Tailor) {
    for (k, id) in ["p00010", "p00011", "p00500"].iter().enumerate() {
        t.track(event(EventKind::View, id, NOW - 3_600 + k as i64))
            .unwrap();
    }
}

/// The page of a store opened from the rows alone (its image moved away), for comparison.
fn page_from_rows(dir: &tempfile::TempDir) -> Vec<(String, f64)> {
    let aside = dir.path().join("image.aside");
    if image(dir).exists() {
        std::fs::rename(image(dir), &aside).unwrap();
    }
    let t = open(dir);
    let page = page(&t);
    drop(t);
    if aside.exists() {
        std::fs::rename(&aside, image(dir)).unwrap();
    }
    page
}

/// A store with the catalog and the shopper, closed (so its image is written): its page.
fn closed_store(dir: &tempfile::TempDir) -> Vec<(String, f64)> {
    let t = open(dir);
    t.upsert_items(items(ITEMS)).unwrap();
    shopper(&t);
    let page = page(&t);
    t.close();
    page
}

fn set_price_behind_tailors_back(db: &Path, id: &str, price: f64) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute("UPDATE items SET price = ?1 WHERE id = ?2", (price, id))
        .unwrap();
}

#[test]
fn close_writes_an_image_that_the_next_open_reads() {
    let dir = tempfile::tempdir().unwrap();
    let before = closed_store(&dir);
    assert!(image(&dir).exists(), "close writes the image");
    let t = open(&dir);
    assert_eq!(page(&t), before, "the same catalog, neighbours and all");
    assert!(t.status().unwrap().notices.is_empty());
    t.close();
    // Which one open read: an edit made behind Tailor's back (an app never does this; here it
    // marks the rows) is not seen while the image shows the last write Tailor made...
    set_price_behind_tailors_back(&dir.path().join("catalog.db"), "p00010", 9_999.0);
    let t = open(&dir);
    let price = |t: &Tailor| {
        t.rank(RankRequest {
            candidate_ids: Some(vec!["p00010".into()]),
            ..request(1)
        })
        .unwrap()
        .items[0]
            .score
    };
    let from_image = price(&t);
    drop(t);
    // ...and is, once the image is gone.
    std::fs::remove_file(image(&dir)).unwrap();
    let t = open(&dir);
    assert_ne!(
        price(&t),
        from_image,
        "without an image, open reads the rows"
    );
}

#[test]
fn writes_after_the_image_are_never_lost_even_without_close() {
    let dir = tempfile::tempdir().unwrap();
    closed_store(&dir);
    let stale = std::fs::read(image(&dir)).unwrap();
    // The next session changes the catalog and ends without close (the app was killed).
    let t = open(&dir);
    let mut late = item("late", "c1", "b", 5.0, 1e9);
    late.related = vec![RelatedItem {
        item_id: "p00010".into(),
        weight: 1.0,
    }];
    t.upsert_items(vec![late]).unwrap();
    t.remove_items(vec!["p00011".into()]).unwrap();
    let mut repriced = items(ITEMS).swap_remove(500);
    repriced.price = 77.0;
    t.upsert_items(vec![repriced]).unwrap();
    let expected = page(&t);
    drop(t);
    // Whether or not a background save got to write the new image, the old one is stale now.
    std::fs::write(image(&dir), &stale).unwrap();
    let t = open(&dir);
    let got = page(&t);
    assert_eq!(got, expected);
    assert_eq!(got[0].0, "late", "the new item is there");
    assert!(
        got.iter().all(|(id, _)| id != "p00011"),
        "the removed one is not"
    );
    drop(t);
    assert_eq!(page_from_rows(&dir), expected);
}

#[test]
fn a_damaged_image_is_ignored_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let expected = closed_store(&dir);
    let good = std::fs::read(image(&dir)).unwrap();
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 1;
    let damage: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("truncated", good[..good.len() / 3].to_vec()),
        ("one bit", flipped),
        ("not an image", b"GIF89a".repeat(1000)),
    ];
    for (what, bytes) in damage {
        std::fs::write(image(&dir), &bytes).unwrap();
        let t = open(&dir);
        assert_eq!(page(&t), expected, "{what}");
        assert!(
            t.status().unwrap().notices.is_empty(),
            "{what}: nothing to report"
        );
        t.close();
        assert_eq!(
            std::fs::read(image(&dir)).unwrap().len(),
            good.len(),
            "{what}: rewritten"
        );
    }
    // An image where the file should be a directory does not stop open either.
    std::fs::remove_file(image(&dir)).unwrap();
    std::fs::create_dir(image(&dir)).unwrap();
    let t = open(&dir);
    assert_eq!(page(&t), expected);
    t.close();
}

#[test]
fn small_catalogs_keep_no_image() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(catalog()).unwrap();
    t.close();
    assert!(!image(&dir).exists());
    // A catalog that shrinks below the size has its image removed.
    let t = open(&dir);
    t.upsert_items(items(ITEMS)).unwrap();
    t.close();
    assert!(image(&dir).exists());
    let t = open(&dir);
    let all: Vec<String> = items(ITEMS).into_iter().map(|i| i.id).collect();
    t.remove_items(all).unwrap();
    t.close();
    assert!(!image(&dir).exists());
}

/// Open does not wait for the catalog's integrity check when the catalog comes from a whole
/// image; the check runs right after, and a damaged `catalog.db` is written again from the
/// image's items: the app keeps its whole catalog (from the rows, open would start it empty).
#[test]
fn a_damaged_catalog_db_is_written_again_from_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let expected = closed_store(&dir);
    // Overwrite pages in the middle of the file (item rows); the header and the first pages
    // (schema, stamp) stay readable, so only the integrity check finds the damage.
    let db = dir.path().join("catalog.db");
    let mut bytes = std::fs::read(&db).unwrap();
    let pages = bytes.len() / 4096;
    assert!(pages > 30, "{pages} pages");
    for p in pages / 2..pages / 2 + 3 {
        bytes[p * 4096..(p + 1) * 4096].fill(0x5a);
    }
    std::fs::write(&db, &bytes).unwrap();
    let t = open(&dir);
    assert_eq!(page(&t), expected, "served from the image at once");
    let started = std::time::Instant::now();
    let notice = loop {
        let notices = t.status().unwrap().notices;
        if let Some(n) = notices.into_iter().find(|n| n.store == "catalog") {
            break n;
        }
        assert!(started.elapsed().as_secs() < 20, "no catalog notice");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(
        notice.message.contains("damaged") && notice.message.contains(&format!("{ITEMS} items")),
        "{notice:?}"
    );
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.starts_with("catalog.db.corrupt-") && !n.ends_with("-wal") && !n.ends_with("-shm")
        })
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(notice.message.contains(&aside[0]), "names the moved file");
    assert_eq!(std::fs::read(dir.path().join(&aside[0])).unwrap(), bytes);
    // Writes keep working and go to the new file.
    t.upsert_items(vec![item("after", "c1", "b", 3.0, 1e9)])
        .unwrap();
    let with_new = page(&t);
    assert_eq!(with_new[0].0, "after");
    t.close();
    let (store, moved) =
        tailor::engine::catalog::CatalogStore::open(&db, false).expect("a whole catalog.db");
    assert!(moved.is_none(), "it passes the integrity check");
    assert_eq!(store.load_all().unwrap().len(), ITEMS + 1);
    drop(store);
    let t = open(&dir);
    assert!(t.status().unwrap().notices.is_empty());
    assert_eq!(page(&t), with_new);
    drop(t);
    assert_eq!(page_from_rows(&dir), with_new);
}
