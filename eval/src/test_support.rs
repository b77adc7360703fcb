//! Small builders shared by this crate's unit tests.

use tailor::engine::profile::UserEvent;
use tailor::Item;

/// An in-stock item with only an id (and the id as title), priced 1.
pub fn item(id: &str) -> Item {
    Item {
        id: id.into(),
        title: id.into(),
        category: String::new(),
        brand: String::new(),
        price: 1.0,
        tags: vec![],
        in_stock: true,
        margin: None,
        embedding: None,
        popularity: 0.0,
        repeat_rate: None,
        related: vec![],
    }
}

/// A purchase line of a basket (`session`).
pub fn line(user: &str, id: &str, ts: i64, session: &str) -> UserEvent {
    let mut line = UserEvent::purchase(user, id, ts);
    line.event.session_id = Some(session.into());
    line
}
