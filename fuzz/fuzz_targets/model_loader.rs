//! The model loader on arbitrary bytes: `registry::validate` with a manifest whose sha256 matches
//! the input, so every input reaches the ONNX decoder and tract. Only typed model errors allowed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::Once;
use tailor::error::Error;
use tailor::model::manifest::sha256_hex;

const MANIFEST: &str = include_str!("../../tests/fixtures/models/valid_linear/manifest.json");
static QUIET: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    // libfuzzer-sys aborts on any panic, even one the runtime catches and turns into a typed
    // rejection; the default hook lets those through, while an uncaught panic still aborts.
    QUIET.call_once(|| drop(std::panic::take_hook()));
    let mut manifest: serde_json::Value = serde_json::from_str(MANIFEST).unwrap();
    manifest["sha256"] = serde_json::json!(sha256_hex(data));
    match tailor::model::registry::validate(data, &manifest.to_string(), &[]) {
        Ok(tailor::model::registry::Validated { runtime, .. }) => {
            for rows in [1, 7] {
                let _ = runtime.score(&vec![0.5; rows * runtime.width()], rows);
            }
        }
        Err(Error::Model(_, msg)) => assert!(!msg.is_empty()),
        Err(other) => panic!("untyped error: {other:?}"),
    }
});
