//! Events CSV: `user_id,item_id,event,ts,session_id,quantity` (`event` in view, click,
//! add_to_cart, purchase, dismiss; `ts` Unix seconds). Required: `user_id`, `item_id`, `ts`.
//! Without an `event` column every row is a purchase; `session_id` (a basket or app session),
//! `quantity` and `surface` are optional per row. Any number of events may share a second: the
//! file's order is kept among them. Every row is checked as `track` checks an event, so a bad
//! row fails the whole file with its line and column before anything is stored.

use crate::catalog::CatalogSnapshot;
use crate::csvio::{Row, Rows};
use crate::error::{Error, Result};
use crate::types::{Event, EventKind, Item};
use std::io::Read;
use std::path::Path;

/// One CSV event with the user it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct UserEvent {
    pub user_id: String,
    pub event: Event,
}

impl UserEvent {
    /// `user` bought `item` at `ts` (one row of a purchase log).
    pub fn purchase(user: &str, item: &str, ts: i64) -> UserEvent {
        UserEvent {
            user_id: user.into(),
            event: Event {
                kind: EventKind::Purchase,
                item_id: item.into(),
                timestamp: Some(ts),
                session_id: None,
                quantity: None,
                surface: None,
                response_id: None,
            },
        }
    }
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

/// Prefix a validation error with the column it is about.
fn in_column<T>(column: &str, r: Result<T>) -> Result<T> {
    r.map_err(|e| match e {
        Error::Invalid(m) => Error::invalid(format!("column `{column}`: {m}")),
        other => other,
    })
}

fn parse_row(row: &Row<'_>, has_kind: bool) -> Result<UserEvent> {
    let ts = row
        .parse::<i64>("ts")?
        .ok_or_else(|| Error::invalid("column `ts` is empty; give Unix seconds"))?;
    in_column("ts", crate::validate::timestamp("event", Some(ts)))?;
    let user_id = row.get("user_id").to_string();
    in_column("user_id", crate::validate::id("user id", &user_id))?;
    let item_id = row.get("item_id").to_string();
    in_column("item_id", crate::validate::id("item id", &item_id))?;
    let session = row.get("session_id");
    if !session.is_empty() {
        in_column("session_id", crate::validate::id("session id", session))?;
    }
    let quantity = row.parse::<u32>("quantity")?;
    in_column("quantity", crate::validate::quantity(quantity))?;
    let surface = (!row.get("surface").is_empty()).then(|| row.get("surface").to_string());
    in_column("surface", crate::validate::surface(&surface))?;
    let kind = if has_kind {
        in_column("event", parse_kind(row.get("event")))?
    } else {
        EventKind::Purchase
    };
    Ok(UserEvent {
        user_id,
        event: Event {
            kind,
            item_id,
            timestamp: Some(ts),
            session_id: (!session.is_empty()).then(|| session.to_string()),
            quantity,
            surface,
            response_id: None,
        },
    })
}

/// Parse a whole events file; the first bad row aborts with its line and column.
pub fn read<R: Read>(input: R) -> Result<Vec<UserEvent>> {
    let mut out = Vec::new();
    let rows = Rows::new(input, "events CSV", &["user_id", "item_id", "ts"])?;
    let has_kind = rows.has_column("event");
    rows.for_each(|row| {
        out.push(parse_row(row, has_kind)?);
        Ok(())
    })?;
    Ok(out)
}

pub fn read_path(path: &Path) -> Result<Vec<UserEvent>> {
    read(crate::csvio::open(path)?)
}

/// For a catalog that has no popularity at all (no `popularity` column, nothing set): each known
/// item's number of purchases in `events`, as changed copies to upsert. Without it the cold-start
/// page of a shop that imports its order history would be in id order, with no `PopularNow`.
/// Empty when any item already has a popularity: the merchant's own values win.
pub fn popularity_from_events(catalog: &CatalogSnapshot, events: &[UserEvent]) -> Vec<Item> {
    if catalog.records.iter().any(|r| r.popularity > 0.0) {
        return Vec::new();
    }
    let mut purchases = vec![0.0f64; catalog.len()];
    for ue in events {
        if ue.event.kind == EventKind::Purchase {
            if let Some(i) = catalog.get(&ue.event.item_id) {
                purchases[i as usize] += 1.0;
            }
        }
    }
    catalog
        .records
        .iter()
        .zip(purchases)
        .filter(|(_, n)| *n > 0.0)
        .map(|(r, popularity)| Item {
            popularity,
            ..(**r).clone()
        })
        .collect()
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

    #[test]
    fn sessions_kinds_and_quantities_are_optional() {
        // No event column: purchases. No session ids. Many events in one second, order kept.
        let csv = "user_id,item_id,ts\nu1,a,100\nu1,b,100\nu1,c,100\nu2,a,100\n";
        let evs = read(csv.as_bytes()).unwrap();
        assert_eq!(evs.len(), 4);
        assert!(evs.iter().all(|e| e.event.kind == EventKind::Purchase));
        assert!(evs.iter().all(|e| e.event.session_id.is_none()));
        let order: Vec<&str> = evs.iter().map(|e| e.event.item_id.as_str()).collect();
        assert_eq!(order, ["a", "b", "c", "a"]);
        // Baskets by session id on some rows only.
        let csv = "user_id,item_id,event,ts,session_id\nu1,a,buy,5,b1\nu1,b,purchase,5,b1\nu1,c,view,6,\n";
        let evs = read(csv.as_bytes()).unwrap();
        assert_eq!(evs[1].event.session_id.as_deref(), Some("b1"));
        assert_eq!(evs[2].event.session_id, None);
    }

    #[test]
    fn bad_rows_name_line_and_column() {
        let cases = [
            (
                "user_id,item_id,ts\nu1,a,1\nu1,a,1700000000000\n",
                "line 3",
                "`ts`",
            ),
            ("user_id,item_id,ts\nu1,a,1\n,a,2\n", "line 3", "`user_id`"),
            (
                "user_id,item_id,ts,quantity\nu1,a,1,0\n",
                "line 2",
                "`quantity`",
            ),
            (
                "user_id,item_id,ts,quantity\nu1,a,1,-2\n",
                "line 2",
                "`quantity`",
            ),
            (
                "user_id,item_id,event,ts\nu1,a,teleport,2\n",
                "line 2",
                "`event`",
            ),
            ("user_id,item_id,ts\nu1,a,soon\n", "line 2", "`ts`"),
            (
                "user_id,item_id,ts,session_id\nu1,a,1,s\nu1,a,1, \nu1,b,1,x\nu1,a\n",
                "line 5",
                "",
            ),
        ];
        for (csv, line, column) in cases {
            let err = read(csv.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(line) && err.contains(column), "{csv:?}: {err}");
        }
    }
}
