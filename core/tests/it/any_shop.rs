//! Any shop's files (issue 15, point 1): a catalog with nothing but ids (no price, brand,
//! category or tags), event logs with or without session ids and event kinds, many events in one
//! second; a bad row names its line and column and nothing of the file is stored.

use crate::common::*;
use tailor::EventKind;

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// Ten items, half with tags only, half with nothing but the id.
fn bare_catalog() -> String {
    let mut csv = String::from("item_id,title,category,brand,price,tags\n");
    for i in 0..10 {
        let tags = if i % 2 == 0 {
            format!("a{};a9", i % 3)
        } else {
            String::new()
        };
        csv.push_str(&format!("{i},,,,,{tags}\n"));
    }
    csv
}

#[test]
fn a_catalog_of_ids_and_a_log_of_purchases_import_and_rank() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    let data = tempfile::tempdir().unwrap();
    assert_eq!(
        t.import_catalog_csv(write(&data, "c.csv", "item_id\nx\ny\n"))
            .unwrap(),
        2
    );
    assert_eq!(
        t.import_catalog_csv(write(&data, "c2.csv", &bare_catalog()))
            .unwrap(),
        10
    );
    let mut one = String::from("user_id,item_id,ts\n");
    for k in 0..50 {
        // Fifty events in the same second, in file order.
        one.push_str(&format!("me,{},{}\n", k % 10, NOW - 60));
    }
    let s = t
        .import_events_csv(write(&data, "e.csv", &one), None)
        .unwrap();
    assert_eq!(s.stored, 50);
    let page = t.rank(request(5)).unwrap();
    assert_eq!(page.items.len(), 5);
    assert!(page.personalized, "{:?}", page.fallback);
}

#[test]
fn a_bad_row_names_line_and_column_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    let data = tempfile::tempdir().unwrap();
    t.import_catalog_csv(write(&data, "c.csv", &bare_catalog()))
        .unwrap();
    let before = t.status().unwrap();
    // A catalog whose last row has a negative price: no item of it lands.
    let mut csv = String::from("item_id,price\n");
    for i in 0..2000 {
        csv.push_str(&format!("n{i},1\n"));
    }
    csv.push_str("bad,-1\n");
    let err = t
        .import_catalog_csv(write(&data, "bad.csv", &csv))
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 2002") && err.contains("price"), "{err}");
    // An events file whose last row has a millisecond timestamp.
    let mut csv = String::from("user_id,item_id,event,ts,session_id\n");
    for i in 0..12_000 {
        csv.push_str(&format!("me,{},view,{},\n", i % 10, NOW - 1000));
    }
    csv.push_str(&format!("me,1,purchase,{},s1\n", NOW * 1000));
    let err = t
        .import_events_csv(write(&data, "bad-e.csv", &csv), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 12002") && err.contains("`ts`"), "{err}");
    let after = t.status().unwrap();
    assert_eq!(after.catalog_items, before.catalog_items);
    assert_eq!(after.profile_events, before.profile_events);
}

/// A shop's catalog where every item has the given repeat rate, `books-0` bought together with
/// `toys-3` (the least popular item) by other shoppers.
fn shop_with_repeat_rate(rate: Option<f64>) -> Vec<tailor::Item> {
    let mut items = catalog();
    for it in &mut items {
        it.repeat_rate = rate;
        let partner = match it.id.as_str() {
            "books-0" => Some("toys-3"),
            "toys-3" => Some("books-0"),
            _ => None,
        };
        it.related = partner
            .map(|p| {
                vec![tailor::RelatedItem {
                    item_id: p.into(),
                    weight: 0.5,
                }]
            })
            .unwrap_or_default();
    }
    items
}

/// The built-in model's page for a shopper who bought three books, none of them twice.
fn page_for_a_buyer(rate: Option<f64>) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(shop_with_repeat_rate(rate)).unwrap();
    for (id, days) in [("books-2", 20), ("books-1", 10), ("books-0", 2)] {
        t.track(event(EventKind::Purchase, id, NOW - days * DAY))
            .unwrap();
    }
    ids(&t.rank(request(12)).unwrap())
}

#[test]
fn the_built_in_model_offers_a_repeat_only_where_the_shop_says_items_are_bought_again() {
    // No repeat rates in the catalog: the model's own score, which learned from a shop of
    // re-buyers that what you bought is what you buy next.
    let unknown = page_for_a_buyer(None);
    let bought = ["books-0", "books-1", "books-2"];
    assert!(bought.contains(&unknown[0].as_str()), "{unknown:?}");
    // Staples (half of their buyers buy them again): the same page.
    assert_eq!(page_for_a_buyer(Some(0.5)), unknown);
    // A shop where nobody buys the same thing twice: the shopper's purchases leave the top of
    // the page (the last three of twelve); the book they have not bought and what the latest is
    // bought with lead it, the latter ahead of every more popular shoe and toy.
    let one_offs = page_for_a_buyer(Some(0.0));
    assert_eq!(one_offs[..2], ["books-3", "toys-3"], "{one_offs:?}");
    let mut last_three = one_offs[9..].to_vec();
    last_three.sort();
    assert_eq!(last_three, bought, "{one_offs:?}");
}
