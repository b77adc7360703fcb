//! Events CSV import on arbitrary bytes: events with valid item ids, or Error::Invalid.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tailor::error::Error;

fuzz_target!(|data: &[u8]| {
    match tailor::profile::import::read(data) {
        Ok(rows) => {
            for r in &rows {
                assert!(tailor::catalog::validate::id("item", &r.event.item_id).is_ok());
            }
        }
        Err(Error::Invalid(msg)) => assert!(!msg.is_empty()),
        Err(other) => panic!("untyped error: {other:?}"),
    }
});
