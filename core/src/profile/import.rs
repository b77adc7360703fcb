//! Events CSV: `user_id,item_id,event,ts,session_id,quantity` (`event` in view, click,
//! add_to_cart, purchase, dismiss; `ts` Unix seconds). Optional `surface`.

use crate::csvio::{Row, Rows};
use crate::error::{Error, Result};
use crate::types::{Event, EventKind};
use std::io::Read;
use std::path::Path;

/// One CSV event with the user it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct UserEvent {
    pub user_id: String,
    pub event: Event,
}

pub fn parse_kind(raw: &str) -> Result<EventKind> {
    Ok(match raw.to_ascii_lowercase().as_str() {
        "view" => EventKind::View,
        "click" => EventKind::Click,
        "add_to_cart" | "cart" | "addtocart" => EventKind::AddToCart,
        "purchase" | "buy" => EventKind::Purchase,
        "dismiss" => EventKind::Dismiss,
        other => {
            return Err(Error::invalid(format!(
                "unknown event {other:?}; use view, click, add_to_cart, purchase or dismiss"
            )))
        }
    })
}

fn parse_row(row: &Row<'_>) -> Result<UserEvent> {
    let ts = row
        .parse::<i64>("ts")?
        .ok_or_else(|| Error::invalid("column `ts` is empty; give Unix seconds"))?;
    let item_id = row.get("item_id").to_string();
    crate::validate::id("item_id", &item_id)?;
    let session = row.get("session_id");
    let surface = row.get("surface");
    Ok(UserEvent {
        user_id: row.get("user_id").to_string(),
        event: Event {
            kind: parse_kind(row.get("event"))?,
            item_id,
            timestamp: Some(ts),
            session_id: (!session.is_empty()).then(|| session.to_string()),
            quantity: row.parse::<u32>("quantity")?,
            surface: (!surface.is_empty()).then(|| surface.to_string()),
        },
    })
}

pub fn read<R: Read>(input: R) -> Result<Vec<UserEvent>> {
    let mut out = Vec::new();
    Rows::new(input, "events CSV", &["user_id", "item_id", "event", "ts"])?.for_each(|row| {
        out.push(parse_row(row)?);
        Ok(())
    })?;
    Ok(out)
}

pub fn read_path(path: &Path) -> Result<Vec<UserEvent>> {
    read(crate::csvio::open(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_events_and_names_bad_lines() {
        let csv = "user_id,item_id,event,ts,session_id,quantity\n\
                   u1,a,purchase,100,inv1,6\nu1,b,view,101,,\n";
        let evs = read(csv.as_bytes()).unwrap();
        assert_eq!(evs[0].event.kind, EventKind::Purchase);
        assert_eq!(evs[0].event.quantity, Some(6));
        assert_eq!(evs[1].event.session_id, None);
        let bad = "user_id,item_id,event,ts\nu1,a,view,1\nu1,a,teleport,2\n";
        let err = read(bad.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("teleport"), "{err}");
        let bad = "user_id,item_id,event,ts\nu1,,view,1\n";
        assert!(read(bad.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("line 2"));
    }
}
