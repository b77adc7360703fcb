//! `tailor features`: a training matrix written by the serving feature code.
//!
//! For each user with events before the cutoff and at least one purchase in
//! [cutoff, cutoff + horizon): a profile from the events before the cutoff, and one row per
//! candidate with label 1 if bought in the horizon. Candidates are what a ranker must sort out:
//! the user's own history, co-purchase neighbours, popular items and a uniform random sample of
//! the catalog, so the model learns from hard negatives and not only from easy ones. Positives
//! are never added just for being positive: a candidate set that depends on the label teaches
//! the model that "an item with no signal at all" means "bought", which ranks the whole cold
//! catalog first at serving time.
//!
//! Session samples: purchase logs have no browsing sessions, so for a share of users the first
//! items of their next basket are revealed as views in a live session (and left out of the
//! candidates). The model then sees session features that predict the rest of the basket, and
//! learns to weigh session intent against long-term taste.
//!
//! Cart rows (`baskets` > 0, `basket_rows`): row sets whose context is a cart, for the cart
//! surfaces; they follow the "for you" rows, which stay exactly as without them.

use crate::world::{purchased_between, World};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::HashSet;
use std::io::Write;
use tailor::engine::catalog::CatalogSnapshot;
use tailor::engine::features::{assemble_in, Feature, ProfileView, RequestContext};
use tailor::engine::profile::UserEvent;
use tailor::engine::profile::{Params, ProfileState};
use tailor::engine::profile::{ProfileEvent, Touched};
use tailor::engine::Result;
use tailor::EventKind;

pub struct MatrixOptions {
    pub cutoff: i64,
    pub horizon_days: i64,
    pub history: usize,
    pub copurchase: usize,
    pub popular: usize,
    pub random: usize,
    pub seed: u64,
    /// Label window in seconds instead of `horizon_days` (sequence data: the next item only).
    pub horizon_secs: Option<i64>,
    /// At most this many users (a seeded uniform sample of the eligible ones).
    pub max_users: Option<usize>,
    /// Share of users (0..1) given a live session revealed from their next basket.
    pub session_share: f64,
    /// Row sets from carts (see `basket_rows`): at most this many baskets in the horizon, a
    /// seeded uniform sample; 0 writes none.
    pub baskets: usize,
    pub params: Params,
}

impl Default for MatrixOptions {
    fn default() -> Self {
        MatrixOptions {
            cutoff: 0,
            horizon_days: 30,
            history: 100,
            copurchase: 100,
            popular: 50,
            random: 200,
            seed: 7,
            horizon_secs: None,
            max_users: None,
            session_share: 0.5,
            baskets: 0,
            params: Params::default(),
        }
    }
}

#[derive(Debug, Default, serde::Serialize)]
pub struct MatrixSummary {
    pub users: usize,
    /// Row sets made from baskets (a cart as the request's context).
    pub baskets: usize,
    pub rows: usize,
    pub positives: usize,
}

/// Write the matrix as CSV: `user,item,label,<feature names>`.
pub fn write_matrix(
    world: &World,
    features: &[Feature],
    opts: &MatrixOptions,
    out: &mut dyn Write,
) -> Result<MatrixSummary> {
    let catalog = &world.catalog;
    let until = opts.cutoff + opts.horizon_secs.unwrap_or(opts.horizon_days * 86_400);
    let names: Vec<String> = features.iter().map(|f| f.name()).collect();
    writeln!(out, "user,item,label,{}", names.join(","))?;
    let mut rng = SmallRng::seed_from_u64(opts.seed);
    let mut summary = MatrixSummary::default();
    let mut matrix = Vec::new();
    let mut eligible: Vec<(&String, &Vec<UserEvent>)> = world
        .users
        .iter()
        .filter(|(_, events)| {
            events
                .iter()
                .any(|e| e.event.timestamp.unwrap_or(0) < opts.cutoff)
                && purchased_between(events, opts.cutoff, until)
                    .iter()
                    .any(|id| catalog.get(id).is_some())
        })
        .collect();
    if let Some(max) = opts.max_users.filter(|&m| m < eligible.len()) {
        let mut pick = SmallRng::seed_from_u64(opts.seed ^ 0x5EED);
        let mut keep = rand::seq::index::sample(&mut pick, eligible.len(), max).into_vec();
        keep.sort_unstable();
        eligible = keep.into_iter().map(|i| eligible[i]).collect();
    }
    for (user, events) in eligible {
        let bought = purchased_between(events, opts.cutoff, until);
        let mut profile = world.profile_before(events, opts.cutoff, &opts.params);
        let mut now = opts.cutoff;
        let mut seen = HashSet::new();
        if rng.random_bool(opts.session_share.clamp(0.0, 1.0)) {
            if let Some((revealed, at)) = reveal_session(world, events, opts, &mut profile) {
                now = at;
                seen.extend(revealed);
            }
        }
        let profile = std::sync::Arc::new(profile);
        let view = ProfileView::build(&profile, catalog, now, None, &opts.params);
        let none = RequestContext::default();
        let cands = candidates(world, &profile, &view, &none, seen, opts, &mut rng);
        let labels: Vec<bool> = cands
            .iter()
            .map(|&i| bought.contains(&*catalog.item(i).id))
            .collect();
        let rows = Rows {
            group: user,
            cands: &cands,
            labels: &labels,
        };
        rows.write(
            features,
            catalog,
            &view,
            &none,
            &mut matrix,
            out,
            &mut summary,
        )?;
        summary.users += 1;
    }
    if opts.baskets > 0 {
        crate::basket_rows::write(world, features, opts, &mut rng, out, &mut summary)?;
    }
    Ok(summary)
}

/// What a ranker must sort out for one row set: the shopper's own history, co-purchase
/// neighbours of the profile and of the context, popular items and a uniform random sample of
/// the catalog, in stock and not in `seen` (items already on the page: a session's revealed
/// views, a cart).
pub(crate) fn candidates(
    world: &World,
    profile: &ProfileState,
    view: &ProfileView,
    ctx: &RequestContext,
    mut seen: HashSet<u32>,
    opts: &MatrixOptions,
    rng: &mut SmallRng,
) -> Vec<u32> {
    let catalog = &world.catalog;
    let mut cands: Vec<u32> = Vec::new();
    let mut add = |i: u32, cands: &mut Vec<u32>| {
        if catalog.item(i).in_stock && seen.insert(i) {
            cands.push(i);
        }
    };
    let mut history: Vec<(i64, u32)> = profile
        .items
        .iter()
        .filter_map(|(id, s)| Some((s.last_seen, catalog.get(id)?)))
        .collect();
    history.sort_unstable_by(|a, b| b.cmp(a));
    history
        .iter()
        .take(opts.history)
        .for_each(|&(_, i)| add(i, &mut cands));
    for links in [&view.copurchase, &ctx.links] {
        let mut co: Vec<(f32, u32)> = links.iter().map(|(&i, c)| (c.score, i)).collect();
        co.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        co.iter()
            .take(opts.copurchase)
            .for_each(|&(_, i)| add(i, &mut cands));
    }
    catalog
        .in_stock_by_popularity
        .iter()
        .take(opts.popular)
        .for_each(|&i| add(i, &mut cands));
    for _ in 0..opts.random {
        if !catalog.is_empty() {
            add(rng.random_range(0..catalog.len() as u32), &mut cands);
        }
    }
    cands
}

/// One group of rows: a shopper (or a cart) and its labelled candidates.
pub(crate) struct Rows<'a> {
    pub group: &'a str,
    pub cands: &'a [u32],
    pub labels: &'a [bool],
}

impl Rows<'_> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn write(
        &self,
        features: &[Feature],
        catalog: &CatalogSnapshot,
        view: &ProfileView,
        ctx: &RequestContext,
        matrix: &mut Vec<f32>,
        out: &mut dyn Write,
        summary: &mut MatrixSummary,
    ) -> Result<()> {
        assemble_in(features, self.cands, catalog, view, ctx, matrix);
        let width = features.len();
        for (r, (&idx, &label)) in self.cands.iter().zip(self.labels).enumerate() {
            summary.positives += label as usize;
            write!(
                out,
                "{},{},{}",
                csv_field(self.group),
                csv_field(&catalog.item(idx).id),
                label as u8
            )?;
            for v in &matrix[r * width..(r + 1) * width] {
                write!(out, ",{}", format_value(*v))?;
            }
            writeln!(out)?;
        }
        summary.rows += self.cands.len();
        Ok(())
    }
}

/// Reveal the first third of the user's next basket (at least 3 items) as session views at the
/// cutoff. Returns the revealed catalog indices and the time to rank at.
fn reveal_session(
    world: &World,
    events: &[UserEvent],
    opts: &MatrixOptions,
    profile: &mut ProfileState,
) -> Option<(Vec<u32>, i64)> {
    let first = events.iter().find(|e| {
        e.event.timestamp.unwrap_or(0) >= opts.cutoff && e.event.kind == EventKind::Purchase
    })?;
    let basket = first.event.session_id.clone()?;
    let mut items: Vec<u32> = Vec::new();
    for e in events
        .iter()
        .filter(|e| e.event.session_id.as_deref() == Some(basket.as_str()))
    {
        if let Some(i) = world.catalog.get(&e.event.item_id) {
            if !items.contains(&i) {
                items.push(i);
            }
        }
    }
    if items.len() < 3 {
        return None;
    }
    items.truncate(items.len().div_ceil(3));
    let mut touched = Touched::default();
    let session = format!("reveal-{basket}");
    for (k, &i) in items.iter().enumerate() {
        let ev = ProfileEvent {
            kind: EventKind::View,
            item_id: world.catalog.item(i).id.clone(),
            ts: opts.cutoff + 60 * k as i64,
            session: Some(session.clone()),
            quantity: 1,
        };
        profile.apply_history(&ev, &opts.params, &mut touched);
        profile.apply_attributes(&ev, world.catalog.record(i), &opts.params, &mut touched);
    }
    Some((items.clone(), opts.cutoff + 60 * items.len() as i64))
}

fn format_value(v: f32) -> String {
    if v == 0.0 {
        "0".into()
    } else {
        format!("{v:.6}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
