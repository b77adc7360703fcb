//! Catalog CSV import on arbitrary bytes: items that pass every validation, or Error::Invalid.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tailor::error::Error;

fuzz_target!(|data: &[u8]| {
    match tailor::catalog::import::read(data) {
        Ok(items) => {
            for item in &items {
                assert!(tailor::catalog::validate::item(item).is_ok(), "{item:?}");
            }
            assert!(tailor::catalog::validate::batch(&items, None).is_ok());
        }
        Err(Error::Invalid(msg)) => assert!(!msg.is_empty()),
        Err(other) => panic!("untyped error: {other:?}"),
    }
});
