//! Checks on what the app passes in that several calls share: ids, timestamps, surfaces, event
//! fields and batch sizes. Each error names the field and the limit, and says what to pass.

use crate::error::{Error, Result};
use crate::types::Event;

pub const MAX_ID_BYTES: usize = 256;
/// Timestamps must fall before 2100-01-01 (catches milliseconds passed as seconds).
pub const MAX_TIMESTAMP: i64 = 4_102_444_800;
pub const MAX_QUANTITY: u32 = 1_000_000;
pub const MAX_SURFACE_BYTES: usize = 64;

/// An identifier the app passes (item, session, experiment, variant ids).
pub fn id(what: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid(format!(
            "{what} is empty; pass the id the catalog uses"
        )));
    }
    if value.len() > MAX_ID_BYTES {
        return Err(Error::invalid(format!(
            "{what} is {} bytes long; ids are limited to {MAX_ID_BYTES} bytes",
            value.len()
        )));
    }
    Ok(())
}

/// Timestamps are Unix seconds; a value in milliseconds is the usual mistake.
pub fn timestamp(what: &str, ts: Option<i64>) -> Result<()> {
    match ts {
        Some(ts) if !(0..MAX_TIMESTAMP).contains(&ts) => Err(Error::invalid(format!(
            "{what} timestamp {ts} is not Unix seconds before 2100 (milliseconds passed by mistake?)"
        ))),
        _ => Ok(()),
    }
}

pub fn surface(surface: &Option<String>) -> Result<()> {
    if surface
        .as_ref()
        .is_some_and(|s| s.len() > MAX_SURFACE_BYTES)
    {
        return Err(Error::invalid(format!(
            "surface names are limited to {MAX_SURFACE_BYTES} bytes"
        )));
    }
    Ok(())
}

pub fn event(e: &Event) -> Result<()> {
    id("event item id", &e.item_id)?;
    timestamp("event", e.timestamp)?;
    if let Some(s) = &e.session_id {
        id("session id", s)?;
    }
    quantity(e.quantity)?;
    response_id(&e.response_id)?;
    surface(&e.surface)
}

/// A cited `RankResponse::response_id` (any non-empty id; unknown ones simply credit nothing).
pub fn response_id(response_id: &Option<String>) -> Result<()> {
    match response_id {
        Some(r) => id("response id", r),
        None => Ok(()),
    }
}

pub fn quantity(quantity: Option<u32>) -> Result<()> {
    if quantity.is_some_and(|q| q == 0 || q > MAX_QUANTITY) {
        return Err(Error::invalid(format!(
            "quantity must be between 1 and {MAX_QUANTITY}"
        )));
    }
    Ok(())
}

/// A list the app passes in one call (`what`: "items", "events", ...).
pub fn batch_len(what: &str, len: usize, max: usize) -> Result<()> {
    if len > max {
        return Err(Error::invalid(format!(
            "{len} {what} in one call; send at most {max} per call"
        )));
    }
    Ok(())
}
