//! The Rust quick start of README.md: the lines between BEGIN/END README are the snippet,
//! verbatim (scripts/test.sh fails when the two differ).

use tailor::*;

#[test]
#[rustfmt::skip] // the README snippet keeps its hand layout
fn readme_quick_start() -> Result<(), TailorError> {
    let dir = tempfile::tempdir().unwrap();
    let files_dir = dir.path().join("tailor").display().to_string();
    let catalog_csv = concat!(env!("CARGO_MANIFEST_DIR"), "/../cli/data/catalog.csv.gz").to_string();
    // BEGIN README
    let tailor = Tailor::open(TailorConfig::new(files_dir))?;
    tailor.import_catalog_csv(catalog_csv)?;
    let view = Event { kind: EventKind::View, item_id: "85123A".into(), timestamp: None,
                       session_id: None, quantity: None, surface: None,
                       response_id: None };
    tailor.track(view.clone())?;
    tailor.track(Event { kind: EventKind::Purchase, quantity: Some(2), ..view })?;
    let rules = BusinessRules { pinned: vec![Pin { item_id: "22423".into(), position: 0 }], ..Default::default() };
    let page = tailor.rank(RankRequest { limit: 10, rules, ..Default::default() })?;
    for item in &page.items { println!("{} {:?}", item.item_id, item.reasons); }
    // END README
    assert_eq!(page.items.len(), 10);
    assert_eq!(page.items[0].item_id, "22423");
    assert!(page.personalized, "{:?}", page.fallback);
    let bought = page.items.iter().find(|i| i.item_id == "85123A").expect("bought item ranked");
    assert!(bought.reasons.contains(&Reason::BoughtBefore { times: 1 }), "{:?}", bought.reasons);
    Ok(())
}
