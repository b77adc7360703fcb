//! Catalog and events CSV: whatever the bytes, import is a typed error or valid rows, all or nothing.

use super::*;

// ---------------------------------------------------------------------------------------------
// Catalog CSV
// ---------------------------------------------------------------------------------------------

const CATALOG_OPTIONAL: &[&str] = &[
    "category",
    "brand",
    "tags",
    "in_stock",
    "margin",
    "popularity",
    "embedding",
    "related",
    "unknown_column",
];

fn catalog_field() -> BoxedStrategy<String> {
    let tricky = [
        "",
        "0",
        "-0",
        "1",
        "3.5",
        "-1",
        "NaN",
        "nan",
        "inf",
        "-inf",
        "1e9",
        "1000000001",
        "1e309",
        " 2 ",
        "0x10",
        "1_000",
        "true",
        "false",
        "yes",
        "Y",
        "2",
        "maybe",
        "1;2;3",
        "1;;2",
        ";",
        "nan;1",
        "1e40;0",
        "a:1;b:2",
        "a:b:c",
        ":",
        "a:-1",
        "a:NaN",
        "b",
        "0.25",
        "-1.5",
    ];
    prop_oneof![
        3 => prop::sample::select(tricky.to_vec()).prop_map(String::from),
        2 => weird_string(),
        1 => weird_f64().prop_map(|f| f.to_string()),
        1 => prop::collection::vec(-5.0..5.0f32, 0..600)
            .prop_map(|v| v.iter().map(|f| f.to_string()).collect::<Vec<_>>().join(";")),
        1 => prop::collection::vec("[a-c]{1,2}:[0-9]", 0..250).prop_map(|v| v.join(";")),
    ]
    .boxed()
}

/// A plausible value for a catalog column most of the time, a tricky one otherwise.
fn catalog_value(column: &str) -> BoxedStrategy<String> {
    let good: BoxedStrategy<String> = match column {
        "item_id" => "[a-z0-9-]{1,10}".boxed(),
        "title" => "[A-Za-z ,\"]{0,20}".boxed(),
        "category" | "brand" => "[a-z]{0,6}".boxed(),
        "price" => (0.0..1000.0f64).prop_map(fmt_f64).boxed(),
        "tags" => prop::collection::vec("[a-z]{1,5}", 0..4)
            .prop_map(|v| v.join(";"))
            .boxed(),
        "in_stock" => prop::sample::select(vec!["", "true", "false", "1", "0", "yes", "no", "Y"])
            .prop_map(String::from)
            .boxed(),
        "margin" => prop_oneof![Just(String::new()), (-1.0..=1.0f64).prop_map(fmt_f64)].boxed(),
        "popularity" => prop_oneof![Just(String::new()), (0.0..1e6f64).prop_map(fmt_f64)].boxed(),
        "embedding" => prop_oneof![
            Just(String::new()),
            prop::collection::vec(-5.0..5.0f32, 4).prop_map(|v| v
                .iter()
                .map(|f| f.to_string())
                .collect::<Vec<_>>()
                .join(";"))
        ]
        .boxed(),
        "related" => prop::collection::vec(("[a-z0-9-]{1,8}", 0.0..10.0f64), 0..3)
            .prop_map(|v| {
                v.iter()
                    .map(|(id, w)| format!("{id}:{w}"))
                    .collect::<Vec<_>>()
                    .join(";")
            })
            .boxed(),
        _ => weird_string(),
    };
    prop_oneof![25 => good, 1 => catalog_field()].boxed()
}

/// A header with the required columns (rarely one missing) and some optional ones, shuffled,
/// then rows of mostly plausible fields (rarely one field too many or too few).
fn catalog_csv() -> BoxedStrategy<String> {
    (
        prop::sample::subsequence(CATALOG_OPTIONAL.to_vec(), 0..=CATALOG_OPTIONAL.len()),
        prop_oneof![20 => Just(None), 1 => (0..3usize).prop_map(Some)],
        any::<u64>(),
    )
        .prop_flat_map(|(optional, drop_required, shuffle)| {
            let mut header: Vec<&'static str> = vec!["item_id", "title", "price"];
            if let Some(i) = drop_required {
                header.remove(i);
            }
            header.extend(optional.into_iter().filter(|c| *c != "unknown_column"));
            let n = header.len();
            header.rotate_left((shuffle as usize) % n);
            let row: Vec<BoxedStrategy<String>> = header.iter().map(|c| catalog_value(c)).collect();
            (
                Just(header),
                prop::collection::vec((row, prop_oneof![30 => Just(0i32), 1 => -1i32..=1]), 0..8),
            )
        })
        .prop_map(|(header, rows)| {
            let n = header.len();
            let mut text = csv_line(&header.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            for (i, (mut fields, delta)) in rows.into_iter().enumerate() {
                // Unique ids most of the time: a repeated id refuses the whole file.
                if let Some(p) = header.iter().position(|h| *h == "item_id") {
                    if i % 4 != 3 {
                        fields[p] = format!("item-{i}");
                    }
                }
                fields.truncate((n as i32 + delta).max(0) as usize);
                if delta > 0 {
                    fields.push("extra".into());
                }
                text.push_str(&csv_line(&fields));
            }
            text
        })
        .boxed()
}

fn check_catalog_read(input: &[u8], tailor: &Tailor) -> TestCaseResult {
    match tailor::engine::catalog::read_csv(input) {
        Ok(items) => {
            for it in &items {
                prop_assert!(tailor::engine::catalog::validate_item(it).is_ok(), "{it:?}");
            }
            prop_assert!(tailor::engine::catalog::validate_batch(&items, None).is_ok());
            accepted();
            // A catalog the reader accepted is one the store accepts (unless its embedding
            // dimension differs from what earlier cases stored).
            if let Err(e) = tailor.upsert_items(items) {
                expect_input_error(&e, "upsert of parsed items")?;
                prop_assert!(format!("{e}").contains("embedding"), "{e}");
            }
            Ok(())
        }
        Err(e) => internal_input_error(&e, "catalog CSV"),
    }
}

#[test]
fn catalog_csv_import_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let t = open_tailor(&dir);
    fuzz(
        "catalog CSV, arbitrary bytes",
        256,
        prop::collection::vec(any::<u8>(), 0..2048),
        |bytes| check_catalog_read(&bytes, &t),
    );
    fuzz(
        "catalog CSV, CSV-alphabet bytes after a header",
        256,
        (
            prop::sample::select(vec![
                "item_id,title,price\n",
                "item_id,title,price,tags,embedding,related,in_stock\n",
                "",
            ]),
            csvish_bytes(),
        ),
        |(header, body)| {
            let mut bytes = header.as_bytes().to_vec();
            bytes.extend(body);
            check_catalog_read(&bytes, &t)
        },
    );
    fuzz("catalog CSV, structured rows", 256, catalog_csv(), |text| {
        check_catalog_read(text.as_bytes(), &t)
    });
    let s = t.status().unwrap();
    assert!(s.notices.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Events CSV
// ---------------------------------------------------------------------------------------------

const EVENT_COLUMNS: &[&str] = &[
    "user_id",
    "item_id",
    "event",
    "ts",
    "session_id",
    "quantity",
    "surface",
];

fn event_field() -> BoxedStrategy<String> {
    let tricky = [
        "",
        "view",
        "VIEW",
        "click",
        "cart",
        "add_to_cart",
        "addtocart",
        "purchase",
        "buy",
        "dismiss",
        "teleport",
        "-1",
        "0",
        "1",
        "1704067200",
        "4102444799",
        "4102444800",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "1.5",
        "1e3",
        "4294967295",
        "4294967296",
        "u1",
    ];
    prop_oneof![
        3 => prop::sample::select(tricky.to_vec()).prop_map(String::from),
        2 => weird_string(),
        1 => weird_i64().prop_map(|v| v.to_string()),
    ]
    .boxed()
}

fn event_value(column: &str) -> BoxedStrategy<String> {
    let known: Vec<String> = catalog().into_iter().map(|i| i.id).collect();
    let good: BoxedStrategy<String> = match column {
        "user_id" => "u[0-9]".boxed(),
        "item_id" => prop_oneof![3 => prop::sample::select(known), 1 => "[a-z0-9-]{1,10}"].boxed(),
        "event" => prop::sample::select(vec![
            "view",
            "VIEW",
            "click",
            "cart",
            "add_to_cart",
            "purchase",
            "buy",
            "dismiss",
        ])
        .prop_map(String::from)
        .boxed(),
        "ts" => (0..4_102_444_800i64).prop_map(|v| v.to_string()).boxed(),
        "session_id" => prop_oneof![Just(String::new()), "s[0-9]{1,3}"].boxed(),
        "quantity" => {
            prop_oneof![Just(String::new()), (1..100u32).prop_map(|q| q.to_string())].boxed()
        }
        _ => prop_oneof![Just(String::new()), "[a-z]{1,10}"].boxed(),
    };
    prop_oneof![25 => good, 1 => event_field()].boxed()
}

fn events_csv() -> BoxedStrategy<String> {
    (
        prop_oneof![
            8 => prop::sample::subsequence(EVENT_COLUMNS[4..].to_vec(), 0..=3).prop_map(|opt| {
                let mut h = EVENT_COLUMNS[..4].to_vec();
                h.extend(opt);
                h
            }),
            1 => prop::sample::subsequence(EVENT_COLUMNS.to_vec(), 3..=EVENT_COLUMNS.len()),
        ],
        any::<u64>(),
    )
        .prop_flat_map(|(mut header, shuffle)| {
            let n = header.len();
            header.rotate_left((shuffle as usize) % n);
            let row: Vec<BoxedStrategy<String>> = header.iter().map(|c| event_value(c)).collect();
            (Just(header), prop::collection::vec(row, 0..10))
        })
        .prop_map(|(header, rows)| {
            let mut text = csv_line(&header.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            for fields in rows {
                text.push_str(&csv_line(&fields));
            }
            text
        })
        .boxed()
}

/// Parsed rows go through `track_batch`: stored whole, or refused whole with InvalidInput.
fn check_events_read(input: &[u8], t: &Tailor, stored: &AtomicU64) -> TestCaseResult {
    match tailor::engine::profile::read_csv(input) {
        Ok(rows) => {
            for r in &rows {
                prop_assert!(
                    tailor::engine::catalog::validate_id("item", &r.event.item_id).is_ok()
                );
            }
            let events: Vec<Event> = rows.into_iter().map(|r| r.event).collect();
            let n = events.len() as u32;
            let before = t.status().unwrap().profile_events;
            match t.track_batch(events) {
                Ok(s) => {
                    prop_assert_eq!(s.stored, n);
                    stored.fetch_add(n as u64, Ordering::Relaxed);
                    accepted();
                }
                Err(e) => {
                    expect_input_error(&e, "track_batch of parsed events")?;
                    prop_assert_eq!(t.status().unwrap().profile_events, before);
                }
            }
            Ok(())
        }
        Err(e) => internal_input_error(&e, "events CSV"),
    }
}

#[test]
fn events_csv_import_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let t = open_tailor(&dir);
    t.upsert_items(catalog()).unwrap();
    let stored = AtomicU64::new(0);
    fuzz(
        "events CSV, arbitrary bytes",
        256,
        prop::collection::vec(any::<u8>(), 0..2048),
        |bytes| check_events_read(&bytes, &t, &stored),
    );
    fuzz(
        "events CSV, CSV-alphabet bytes after a header",
        256,
        csvish_bytes(),
        |body| {
            let mut bytes = b"user_id,item_id,event,ts,session_id,quantity\n".to_vec();
            bytes.extend(body);
            check_events_read(&bytes, &t, &stored)
        },
    );
    fuzz("events CSV, structured rows", 256, events_csv(), |text| {
        check_events_read(text.as_bytes(), &t, &stored)
    });
    // Also through the public file API (gzip sniffing included).
    let path = dir.path().join("events.csv");
    std::fs::write(&path, [0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad]).unwrap();
    let e = t
        .import_events_csv(path.display().to_string(), None)
        .unwrap_err();
    expect_input_error(&e, "truncated gzip events file").unwrap();
    assert_eq!(
        t.status().unwrap().profile_events,
        stored.load(Ordering::Relaxed),
        "every accepted batch stored whole, every refused one not at all"
    );
}
