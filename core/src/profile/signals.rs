//! Profile signals: long-term affinities with exponential decay, the current session, per-item
//! history and explicit preferences. Pure in-memory logic, shared by the store and by replays.
//!
//! Affinities are kept as (score, as_of) and decayed on read, so applying an event is O(1) no
//! matter how long the history is.

use crate::catalog::snapshot::price_band;
use crate::types::{Attribute, AttributeKind, EventKind, Item};
use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

/// How much each kind of event says about taste. Dismiss is negative.
pub fn event_weight(kind: EventKind) -> f64 {
    match kind {
        EventKind::View => 1.0,
        EventKind::Click => 2.0,
        EventKind::AddToCart => 4.0,
        EventKind::Purchase => 8.0,
        EventKind::Dismiss => -4.0,
    }
}

/// An explicit preference counts like one purchase, and does not decay.
pub const PREFERENCE_SCORE: f64 = 8.0;
/// The per-item history keeps this many items (least recently seen dropped first).
pub const MAX_ITEMS: usize = 5_000;
/// Items of the current session remembered for session features.
pub const MAX_SESSION_ITEMS: usize = 50;

/// A score that halves every half-life, stored with the time it was last brought up to date.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Decayed {
    pub score: f64,
    pub as_of: i64,
}

pub fn decay_factor(elapsed_secs: i64, half_life_secs: f64) -> f64 {
    if elapsed_secs <= 0 {
        1.0
    } else {
        0.5f64.powf(elapsed_secs as f64 / half_life_secs)
    }
}

impl Decayed {
    /// The value at time `t` (never grows when read before `as_of`).
    pub fn at(&self, t: i64, half_life_secs: f64) -> f64 {
        self.score * decay_factor(t - self.as_of, half_life_secs)
    }

    /// Add `w` observed at time `t`; late (out-of-order) observations are decayed to `as_of`.
    pub fn add(&mut self, w: f64, t: i64, half_life_secs: f64) {
        if t >= self.as_of {
            self.score = self.at(t, half_life_secs) + w;
            self.as_of = t;
        } else {
            self.score += w * decay_factor(self.as_of - t, half_life_secs);
        }
    }
}

/// Attribute dimensions with long-term and session affinities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dim {
    Category = 0,
    Brand = 1,
    Tag = 2,
    PriceBand = 3,
}

impl Dim {
    pub const ALL: [Dim; 4] = [Dim::Category, Dim::Brand, Dim::Tag, Dim::PriceBand];

    pub fn from_code(code: i64) -> Option<Dim> {
        Dim::ALL.into_iter().find(|d| *d as i64 == code)
    }

    pub fn attribute_kind(self) -> Option<AttributeKind> {
        match self {
            Dim::Category => Some(AttributeKind::Category),
            Dim::Brand => Some(AttributeKind::Brand),
            Dim::Tag => Some(AttributeKind::Tag),
            Dim::PriceBand => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dim::Category => "category",
            Dim::Brand => "brand",
            Dim::Tag => "tag",
            Dim::PriceBand => "price_band",
        }
    }
}

pub type AffinityKey = (Dim, Arc<str>);

/// The attribute keys an item contributes to (empty category/brand/tags and an unknown price,
/// 0, contribute nothing).
pub fn item_keys(item: &Item) -> Vec<AffinityKey> {
    let mut keys = Vec::with_capacity(item.tags.len() + 3);
    if !item.category.is_empty() {
        keys.push((Dim::Category, Arc::from(item.category.as_str())));
    }
    if !item.brand.is_empty() {
        keys.push((Dim::Brand, Arc::from(item.brand.as_str())));
    }
    let mut tags: Vec<&str> = item
        .tags
        .iter()
        .map(|t| t.as_str())
        .filter(|t| !t.is_empty())
        .collect();
    tags.sort_unstable();
    tags.dedup();
    keys.extend(tags.into_iter().map(|t| (Dim::Tag, Arc::from(t))));
    // Price 0 = unknown (a catalog without prices): no price band.
    if item.price > 0.0 {
        keys.push((
            Dim::PriceBand,
            Arc::from(price_band(item.price).to_string().as_str()),
        ));
    }
    keys
}

/// What the shopper did with one item. Times are Unix seconds, 0 = never.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ItemStats {
    pub views: u32,
    pub clicks: u32,
    pub carts: u32,
    pub purchases: u32,
    pub quantity: u64,
    pub last_view: i64,
    pub last_cart: i64,
    pub last_purchase: i64,
    pub last_dismiss: i64,
    pub last_seen: i64,
    pub first_purchase: i64,
    /// Purchases decayed with [`RECENT_PURCHASE_HALF_LIFE_SECS`]: how much it is bought lately.
    pub recent_purchases: Decayed,
}

/// Half-life of `ItemStats::recent_purchases` (fixed: features built on it keep their meaning).
pub const RECENT_PURCHASE_HALF_LIFE_SECS: f64 = 30.0 * 86_400.0;

impl ItemStats {
    pub fn record(&mut self, kind: EventKind, ts: i64, quantity: u32) {
        match kind {
            EventKind::View => {
                self.views = self.views.saturating_add(1);
                self.last_view = self.last_view.max(ts);
            }
            EventKind::Click => {
                self.clicks = self.clicks.saturating_add(1);
                self.last_view = self.last_view.max(ts);
            }
            EventKind::AddToCart => {
                self.carts = self.carts.saturating_add(1);
                self.last_cart = self.last_cart.max(ts);
            }
            EventKind::Purchase => {
                self.purchases = self.purchases.saturating_add(1);
                self.quantity = self.quantity.saturating_add(quantity.max(1) as u64);
                self.last_purchase = self.last_purchase.max(ts);
                if self.first_purchase == 0 || ts < self.first_purchase {
                    self.first_purchase = ts;
                }
                self.recent_purchases
                    .add(1.0, ts, RECENT_PURCHASE_HALF_LIFE_SECS);
            }
            EventKind::Dismiss => self.last_dismiss = self.last_dismiss.max(ts),
        }
        self.last_seen = self.last_seen.max(ts);
    }

    /// How strongly this item describes the shopper (for "similar to" and embeddings).
    pub fn strength(&self) -> f64 {
        let raw = self.purchases as f64 * 8.0
            + self.carts as f64 * 4.0
            + self.clicks as f64 * 2.0
            + self.views as f64;
        (1.0 + raw).ln()
    }
}

/// The current session: its key, time span, affinities (not decayed) and items.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Session {
    /// Keyed hash of the app's session id, when it gave one.
    pub key: Option<String>,
    pub started: i64,
    pub last: i64,
    pub affinity: HashMap<AffinityKey, f64>,
    /// Most recent last.
    pub items: Vec<Arc<str>>,
}

/// Decay and session settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub half_life_secs: f64,
    pub session_gap_secs: i64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            half_life_secs: 30.0 * 86_400.0,
            session_gap_secs: 30 * 60,
        }
    }
}

/// One event as the profile sees it (session id already hashed).
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileEvent {
    pub kind: EventKind,
    pub item_id: Arc<str>,
    pub ts: i64,
    pub session: Option<String>,
    pub quantity: u32,
}

/// Keys changed by applied events, so the store writes only those rows.
#[derive(Debug, Default)]
pub struct Touched {
    pub affinities: std::collections::HashSet<AffinityKey>,
    pub items: std::collections::HashSet<Arc<str>>,
    pub price: bool,
    /// The personal layer changed (or was reset).
    pub personal: bool,
    pub bandit: std::collections::HashSet<Arc<str>>,
}

/// Everything ranking needs to know about one shopper.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileState {
    pub affinity: HashMap<AffinityKey, Decayed>,
    pub items: HashMap<Arc<str>, ItemStats>,
    pub session: Session,
    /// Decayed sum of ln(price) and of weights over carted and bought items: the usual price.
    pub price_sum: Decayed,
    pub price_weight: Decayed,
    pub preferences: Vec<Attribute>,
    /// The shopper's "not interested" marks, most recent first.
    pub not_interested: Vec<crate::types::NotInterested>,
    /// Events applied over the profile's life (retention does not lower it).
    pub event_count: u64,
    pub last_event: i64,
    /// The on-device adjustment layer (see `learn`), when the shopper has given feedback.
    pub personal: Option<crate::learn::PersonalLayer>,
    /// Exploration arms (categories, or a brand or tag when items have no category).
    pub bandit: HashMap<Arc<str>, crate::learn::bandit::BetaArm>,
}

impl ProfileState {
    /// Ids of the items the shopper is not interested in.
    pub fn not_interested_items(&self) -> impl Iterator<Item = &str> {
        self.not_interested
            .iter()
            .filter(|n| n.attribute.kind == AttributeKind::Item)
            .map(|n| n.attribute.value.as_str())
    }

    /// Whether the shopper marked this exact attribute (or item) as not interesting.
    pub fn is_not_interested(&self, kind: AttributeKind, value: &str) -> bool {
        self.not_interested
            .iter()
            .any(|n| n.attribute.kind == kind && n.attribute.value == value)
    }

    /// Take back what the events of one item added to affinities, the session and the usual
    /// price (each event's weight, decayed from its time: exact, since decay is linear), and
    /// drop its history. Affinity keys that fall to nothing are returned for deletion.
    pub fn forget_item(
        &mut self,
        item_id: &str,
        events: &[ProfileEvent],
        item: Option<&Item>,
        params: &Params,
        touched: &mut Touched,
    ) -> Vec<AffinityKey> {
        let mut dropped = Vec::new();
        if let Some(item) = item {
            for ev in events {
                let w = event_weight(ev.kind);
                let in_session = self.in_current_session(ev);
                for key in item_keys(item) {
                    if let Some(d) = self.affinity.get_mut(&key) {
                        d.add(-w, ev.ts, params.half_life_secs);
                        touched.affinities.insert(key.clone());
                    }
                    if in_session {
                        if let Some(v) = self.session.affinity.get_mut(&key) {
                            *v -= w;
                        }
                    }
                }
                if matches!(ev.kind, EventKind::Purchase | EventKind::AddToCart) && item.price > 0.0
                {
                    self.price_sum
                        .add(-item.price.ln(), ev.ts, params.half_life_secs);
                    self.price_weight.add(-1.0, ev.ts, params.half_life_secs);
                    touched.price = true;
                }
            }
            for key in item_keys(item) {
                // Rounding leaves crumbs; what only this item built goes entirely.
                if self
                    .affinity
                    .get(&key)
                    .is_some_and(|d| d.score.abs() < 1e-6)
                {
                    self.affinity.remove(&key);
                    touched.affinities.remove(&key);
                    dropped.push(key.clone());
                }
                if self
                    .session
                    .affinity
                    .get(&key)
                    .is_some_and(|v| v.abs() < 1e-6)
                {
                    self.session.affinity.remove(&key);
                }
            }
            if self.price_weight.score.abs() < 1e-6 {
                self.price_sum = Decayed::default();
                self.price_weight = Decayed::default();
            }
        }
        self.session.items.retain(|i| &**i != item_id);
        self.items.remove(item_id);
        self.event_count = self.event_count.saturating_sub(events.len() as u64);
        dropped
    }

    pub fn is_cold(&self) -> bool {
        self.items.is_empty() && self.affinity.is_empty() && self.preferences.is_empty()
    }

    /// Record the item-level part of an event (needs no catalog data) and the session.
    pub fn apply_history(&mut self, ev: &ProfileEvent, params: &Params, touched: &mut Touched) {
        self.items
            .entry(ev.item_id.clone())
            .or_default()
            .record(ev.kind, ev.ts, ev.quantity);
        touched.items.insert(ev.item_id.clone());
        self.event_count += 1;
        self.last_event = self.last_event.max(ev.ts);
        self.advance_session(ev, params);
    }

    fn advance_session(&mut self, ev: &ProfileEvent, params: &Params) {
        let s = &mut self.session;
        let new_session = match (&ev.session, &s.key) {
            (Some(k), Some(cur)) => k != cur,
            (Some(_), None) => true,
            (None, _) => ev.ts - s.last > params.session_gap_secs,
        } && ev.ts >= s.last;
        if new_session || s.last == 0 {
            *s = Session {
                key: ev.session.clone(),
                started: ev.ts,
                ..Session::default()
            };
        } else if ev.ts < s.started {
            return; // a late event from an earlier session
        }
        s.last = s.last.max(ev.ts);
        if ev.kind != EventKind::Dismiss {
            s.items.retain(|i| *i != ev.item_id);
            s.items.push(ev.item_id.clone());
            if s.items.len() > MAX_SESSION_ITEMS {
                s.items.remove(0);
            }
        }
    }

    fn in_current_session(&self, ev: &ProfileEvent) -> bool {
        let s = &self.session;
        ev.ts >= s.started && ev.ts <= s.last && (ev.session.is_none() || ev.session == s.key)
    }

    /// Apply the attribute part of an event (needs the item's catalog record).
    pub fn apply_attributes(
        &mut self,
        ev: &ProfileEvent,
        item: &Item,
        params: &Params,
        touched: &mut Touched,
    ) {
        let w = event_weight(ev.kind);
        let in_session = self.in_current_session(ev);
        for key in item_keys(item) {
            self.affinity
                .entry(key.clone())
                .or_default()
                .add(w, ev.ts, params.half_life_secs);
            if in_session {
                *self.session.affinity.entry(key.clone()).or_default() += w;
            }
            touched.affinities.insert(key);
        }
        if matches!(ev.kind, EventKind::Purchase | EventKind::AddToCart) && item.price > 0.0 {
            self.price_sum
                .add(item.price.ln(), ev.ts, params.half_life_secs);
            self.price_weight.add(1.0, ev.ts, params.half_life_secs);
            touched.price = true;
        }
    }

    /// The decayed mean ln(price) of what the shopper buys, if known.
    pub fn usual_ln_price(&self, now: i64, params: &Params) -> Option<f64> {
        let w = self.price_weight.at(now, params.half_life_secs);
        (w > 1e-6).then(|| self.price_sum.at(now, params.half_life_secs) / w)
    }

    /// Whether the session is still running at `now` for a request with `session_key`.
    pub fn session_active(&self, now: i64, session_key: Option<&str>, params: &Params) -> bool {
        let s = &self.session;
        if s.last == 0 {
            return false;
        }
        match (session_key, s.key.as_deref()) {
            (Some(req), Some(cur)) => req == cur,
            (Some(_), None) => false,
            (None, _) => now - s.last <= params.session_gap_secs,
        }
    }

    /// Drop the least recently seen items beyond `MAX_ITEMS`; returns the dropped ids.
    pub fn prune_items(&mut self) -> Vec<Arc<str>> {
        if self.items.len() <= MAX_ITEMS {
            return Vec::new();
        }
        let mut by_age: Vec<(i64, Arc<str>)> = self
            .items
            .iter()
            .map(|(k, v)| (v.last_seen, k.clone()))
            .collect();
        by_age.sort_unstable();
        let excess = self.items.len() - MAX_ITEMS;
        let dropped: Vec<Arc<str>> = by_age.into_iter().take(excess).map(|(_, k)| k).collect();
        for k in &dropped {
            self.items.remove(k);
        }
        dropped
    }

    /// Drop affinities that decayed to nothing; returns the dropped keys.
    pub fn prune_affinities(&mut self, now: i64, params: &Params) -> Vec<AffinityKey> {
        let dropped: Vec<AffinityKey> = self
            .affinity
            .iter()
            .filter(|(_, d)| d.at(now, params.half_life_secs).abs() < 1e-3)
            .map(|(k, _)| k.clone())
            .collect();
        for k in &dropped {
            self.affinity.remove(k);
        }
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    fn item(id: &str, cat: &str, price: f64) -> Item {
        Item {
            id: id.into(),
            title: id.into(),
            category: cat.into(),
            brand: "acme".into(),
            price,
            tags: vec!["red".into(), "red".into()],
            in_stock: true,
            margin: None,
            embedding: None,
            popularity: 0.0,
            repeat_rate: None,
            related: vec![],
        }
    }

    fn ev(kind: EventKind, id: &str, ts: i64, session: Option<&str>) -> ProfileEvent {
        ProfileEvent {
            kind,
            item_id: id.into(),
            ts,
            session: session.map(String::from),
            quantity: 1,
        }
    }

    #[test]
    fn affinity_halves_every_half_life() {
        let hl = 30.0 * DAY as f64;
        let mut d = Decayed::default();
        d.add(8.0, 1_000, hl);
        assert!((d.at(1_000 + 30 * DAY, hl) - 4.0).abs() < 1e-9);
        assert!((d.at(1_000 + 60 * DAY, hl) - 2.0).abs() < 1e-9);
        // Reading before as_of never inflates the score.
        assert_eq!(d.at(0, hl), 8.0);
        // Adding 30 days later: 4 + 8.
        d.add(8.0, 1_000 + 30 * DAY, hl);
        assert!((d.score - 12.0).abs() < 1e-9);
        // A late event counts at its decayed weight: 12 + 8/2.
        d.add(8.0, 1_000, hl);
        assert!((d.score - 16.0).abs() < 1e-9);
    }

    #[test]
    fn event_kinds_weigh_in_order() {
        use EventKind::*;
        let w: Vec<f64> = [View, Click, AddToCart, Purchase]
            .map(event_weight)
            .to_vec();
        assert!(w.windows(2).all(|p| p[0] < p[1]));
        assert!(event_weight(Dismiss) < 0.0);
    }

    #[test]
    fn attributes_feed_affinities_and_usual_price() {
        let p = Params::default();
        let mut s = ProfileState::default();
        let mut t = Touched::default();
        let it = item("a", "shoes", 20.0);
        let e = ev(EventKind::Purchase, "a", 100, None);
        s.apply_history(&e, &p, &mut t);
        s.apply_attributes(&e, &it, &p, &mut t);
        let key = (Dim::Category, Arc::from("shoes"));
        assert_eq!(s.affinity[&key].score, 8.0);
        // Duplicate tags count once; category, brand, tag and price band are all touched.
        assert_eq!(t.affinities.len(), 4);
        assert!((s.usual_ln_price(100, &p).unwrap() - 20f64.ln()).abs() < 1e-9);
        assert_eq!(s.items[&Arc::from("a")].purchases, 1);
        assert_eq!(s.session.affinity[&key], 8.0);
    }

    #[test]
    fn sessions_split_on_id_change_and_on_gap() {
        let p = Params::default();
        let mut s = ProfileState::default();
        let mut t = Touched::default();
        s.apply_history(&ev(EventKind::View, "a", 1_000, None), &p, &mut t);
        s.apply_history(&ev(EventKind::View, "b", 1_000 + 29 * 60, None), &p, &mut t);
        assert_eq!(s.session.items.len(), 2);
        // 31 minutes of silence: a new session.
        s.apply_history(&ev(EventKind::View, "c", 1_000 + 60 * 60, None), &p, &mut t);
        assert_eq!(s.session.items, vec![Arc::from("c")]);
        // An explicit session id starts a new one regardless of time, and keeps it.
        s.apply_history(
            &ev(EventKind::View, "d", 1_000 + 61 * 60, Some("s1")),
            &p,
            &mut t,
        );
        s.apply_history(
            &ev(EventKind::View, "e", 1_000 + 200 * 60, Some("s1")),
            &p,
            &mut t,
        );
        assert_eq!(s.session.items, vec![Arc::from("d"), Arc::from("e")]);
        assert!(s.session_active(1_000 + 500 * 60, Some("s1"), &p));
        assert!(!s.session_active(1_000 + 500 * 60, Some("s2"), &p));
        assert!(!s.session_active(1_000 + 500 * 60, None, &p));
    }

    #[test]
    fn history_is_bounded() {
        let p = Params::default();
        let mut s = ProfileState::default();
        let mut t = Touched::default();
        for i in 0..(MAX_ITEMS + 10) {
            s.apply_history(
                &ev(EventKind::View, &format!("i{i}"), i as i64, None),
                &p,
                &mut t,
            );
        }
        let dropped = s.prune_items();
        assert_eq!(dropped.len(), 10);
        assert_eq!(s.items.len(), MAX_ITEMS);
        assert!(!s.items.contains_key("i0") && s.items.contains_key("i10"));
    }
}
