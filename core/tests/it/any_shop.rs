//! Any shop's files (issue 15, point 1): a catalog with nothing but ids (no price, brand,
//! category or tags), event logs with or without session ids and event kinds, many events in one
//! second; a bad row names its line and column and nothing of the file is stored.

use crate::common::*;

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
