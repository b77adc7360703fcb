//! One rank call, end to end, over immutable snapshots.

use super::{diversity, explain, fallback, not_interested, rules, surface};
use crate::catalog::CatalogSnapshot;
use crate::error::{Error, Result};
use crate::features::{assemble_in, Feature, ProfileView, RequestContext};
use crate::learn::bandit as explore;
use crate::model::LoadedModel;
use crate::profile::{Params, ProfileState};
use crate::types::{Fallback, RankRequest, RankResponse, RankedItem, SurfaceKind};
use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const MAX_LIMIT: u32 = 1_000;
pub const MAX_CANDIDATES: usize = 100_000;
/// Under a deadline, candidates are assembled and scored this many at a time (a bucket of
/// `model::batch_plans`), and the deadline is checked before each chunk.
pub const DEADLINE_CHUNK: usize = 256;

/// What scoring did, for the model guard.
#[derive(Debug, Default)]
pub struct ScoringOutcome {
    /// The model was asked to score (a cold start, an opt-out or a zero deadline never ask it).
    pub model_ran: bool,
    /// The call fell back because the model failed.
    pub failed: bool,
    pub non_finite: bool,
    /// The model's raw scores (before the personal layer) of the candidates it scored.
    pub raw: Vec<f32>,
}

/// What a rank call reads: snapshots and settings, nothing mutable.
pub struct RankContext<'a> {
    pub catalog: &'a CatalogSnapshot,
    pub profile: &'a Arc<ProfileState>,
    pub model: &'a LoadedModel,
    pub params: &'a Params,
    pub consent: bool,
    /// Keyed hash of the request's session id.
    pub session_key: Option<String>,
    pub default_exploration_rate: f64,
    /// Add the shopper's personal adjustment layer to the model score (when it fits the model).
    pub personal_learning: bool,
    /// The experiment variant this request runs under, reported back in the response.
    pub variant: Option<String>,
    /// Time budget for requests that do not set `deadline_ms`.
    pub default_deadline_ms: Option<u32>,
    /// The request's named candidate set, resolved against `catalog` (`None` when the request
    /// names none).
    pub candidate_set: Option<&'a super::candidate_sets::Resolved>,
}

impl<'a> RankContext<'a> {
    /// A context for offline evaluation: consent given, no session, no exploration, no personal
    /// layer, no experiment, no deadline, no candidate set (what a replay ranks with).
    pub fn offline(
        catalog: &'a CatalogSnapshot,
        profile: &'a Arc<ProfileState>,
        model: &'a LoadedModel,
        params: &'a Params,
    ) -> Self {
        RankContext {
            catalog,
            profile,
            model,
            params,
            consent: true,
            session_key: None,
            default_exploration_rate: 0.0,
            personal_learning: false,
            variant: None,
            default_deadline_ms: None,
            candidate_set: None,
        }
    }
}

pub fn validate(req: &RankRequest) -> Result<()> {
    if req.limit == 0 || req.limit > MAX_LIMIT {
        return Err(Error::invalid(format!(
            "limit {} must be between 1 and {MAX_LIMIT}",
            req.limit
        )));
    }
    if let Some(ids) = &req.candidate_ids {
        if ids.len() > MAX_CANDIDATES {
            return Err(Error::invalid(format!(
                "{} candidates; at most {MAX_CANDIDATES} per call (pass None to rank the whole catalog)",
                ids.len()
            )));
        }
        for id in ids {
            crate::validate::id("candidate id", id)?;
        }
    }
    if let Some(name) = &req.candidate_set {
        crate::validate::id("candidate set name", name)?;
        if req.candidate_ids.is_some() {
            return Err(Error::invalid(
                "both candidate_ids and candidate_set are set; pass one of them",
            ));
        }
    }
    if let Some(s) = &req.session_id {
        crate::validate::id("session id", s)?;
    }
    if req.now.is_some_and(|t| t < 0) {
        return Err(Error::invalid("`now` must be Unix seconds (>= 0)"));
    }
    rules::validate(&req.rules, req.limit)?;
    if let Some(d) = &req.diversity {
        if d.window == 0
            || d.window > MAX_LIMIT
            || d.max_per_category == Some(0)
            || d.max_per_brand == Some(0)
        {
            return Err(Error::invalid(
                "diversity: window must be 1..=1000 and caps at least 1",
            ));
        }
    }
    if let Some(e) = &req.exploration {
        explore::validate(e.rate)?;
    }
    surface::validate(req)
}

/// A set of catalog indices as one bit each.
pub(crate) struct Seen(Vec<u64>);

impl Seen {
    pub(crate) fn new(items: usize) -> Seen {
        Seen(vec![0; items.div_ceil(64)])
    }
    /// Adds `i`; true when it was not in the set yet.
    pub(crate) fn insert(&mut self, i: u32) -> bool {
        let (word, bit) = ((i / 64) as usize, 1u64 << (i % 64));
        match self.0.get_mut(word) {
            Some(w) if *w & bit == 0 => {
                *w |= bit;
                true
            }
            _ => false,
        }
    }
}

/// Resolve candidates: dedupe (first occurrence wins), report unknown ids, apply filters.
fn candidates(
    ctx: &RankContext<'_>,
    req: &RankRequest,
    view: &ProfileView,
    excluded: &FxHashSet<u32>,
    unknown: &mut Vec<String>,
) -> Vec<u32> {
    let catalog = ctx.catalog;
    // "Buy again" lists what the shopper bought before, and nothing else.
    let buy_again = req.kind == Some(SurfaceKind::BuyAgain);
    let bought = |i: u32| view.stats(catalog, i).is_some_and(|s| s.purchases > 0);
    let admit =
        |i: &u32| rules::admits(catalog, *i, &req.rules, excluded) && (!buy_again || bought(*i));
    if let Some(set) = ctx.candidate_set {
        // Resolved and deduplicated once per catalog snapshot, like the list below.
        unknown.extend(set.unknown.iter().cloned());
        return set.indices.iter().copied().filter(admit).collect();
    }
    match &req.candidate_ids {
        Some(ids) => {
            // A bit per catalog item: cheaper than hashing each candidate into a set.
            let mut seen = Seen::new(catalog.len());
            let mut seen_unknown: FxHashSet<&str> = FxHashSet::default();
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                match catalog.get(id) {
                    Some(i) => {
                        if seen.insert(i) && admit(&i) {
                            out.push(i);
                        }
                    }
                    None => {
                        if seen_unknown.insert(id) {
                            unknown.push(id.clone());
                        }
                    }
                }
            }
            out
        }
        None if req.rules.include_out_of_stock => (0..catalog.len() as u32).filter(admit).collect(),
        None => catalog
            .in_stock_by_popularity
            .iter()
            .copied()
            .filter(admit)
            .collect(),
    }
}

pub fn rank(ctx: &RankContext<'_>, req: &RankRequest) -> Result<RankResponse> {
    let started = Instant::now();
    validate(req)?;
    let now = req.now.unwrap_or_else(crate::clock::now);
    let view = ProfileView::build(
        ctx.profile,
        ctx.catalog,
        now,
        ctx.session_key.as_deref(),
        ctx.params,
    );
    rank_with_view(ctx, req, &view, started).map(|(r, _)| r)
}

/// A fresh random id for a response: 128 random bits, hex. Random rather than derived from the
/// shopper, the request or a counter, so it identifies a page and nothing else.
fn response_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Add the personal layer's adjustment, when it was learned for this very model.
fn personal_adjustment(ctx: &RankContext<'_>, matrix: &[f32], scores: &mut [f32]) {
    let Some(layer) = ctx
        .profile
        .personal
        .as_ref()
        .filter(|_| ctx.personal_learning)
    else {
        return;
    };
    let width = ctx.model.features.len();
    if layer.weights.len() != width || layer.model_key != ctx.model.layer_key() {
        return;
    }
    for (s, row) in scores.iter_mut().zip(matrix.chunks_exact(width)) {
        *s += layer.score(row);
    }
}

/// Score candidates in order, in chunks of `DEADLINE_CHUNK` under a deadline: before each
/// chunk, the time it will take (the slowest chunk so far per row, or what the load probe
/// measured before the first) must fit before `deadline` less a reserve for the rest of the
/// call, else scoring stops there. Returns the
/// scores (with the personal adjustment) of the candidates scored, or why the model failed.
fn score_within(
    ctx: &RankContext<'_>,
    cands: &[u32],
    view: &ProfileView,
    context: &RequestContext,
    started: Instant,
    deadline: Option<Instant>,
    outcome: &mut ScoringOutcome,
) -> std::result::Result<Vec<f32>, Fallback> {
    let chunk = if deadline.is_some() {
        DEADLINE_CHUNK
    } else {
        cands.len().max(1)
    };
    let mut per_row = Duration::from_secs_f64(ctx.model.cost.ms_per_1000.max(0.0) / 1e6);
    let mut measured = false;
    // The steps after scoring (boosts, sort, diversity, pins, reasons) need time too: keep back
    // what the steps before it took (candidates, profile view: the same order of work) and at
    // least a tenth of the budget, and allow half again the slowest chunk per row (a busy phone preempts).
    let stop_at = deadline.map(|at| {
        let now = Instant::now();
        let left = at.saturating_duration_since(now);
        let setup = now.saturating_duration_since(started);
        at.checked_sub(setup.max(left / 10)).unwrap_or(now)
    });
    let mut scores = Vec::with_capacity(cands.len());
    let mut matrix = Vec::new();
    for part in cands.chunks(chunk) {
        if let Some(at) = stop_at {
            let needed = per_row.saturating_mul(part.len() as u32) * 3 / 2;
            if Instant::now() + needed > at {
                break;
            }
        }
        let began = Instant::now();
        outcome.model_ran = true;
        assemble_in(
            &ctx.model.features,
            part,
            ctx.catalog,
            view,
            context,
            &mut matrix,
        );
        let scored = if deadline.is_some() {
            ctx.model
                .runtime
                .score_without_building(&matrix, part.len())
        } else {
            ctx.model.runtime.score(&matrix, part.len())
        };
        let mut got = match scored {
            Ok(s) if s.iter().all(|v| v.is_finite()) => s,
            Ok(_) => {
                outcome.failed = true;
                outcome.non_finite = true;
                return Err(Fallback::ModelFailed {
                    message: format!(
                        "model {} produced non-finite scores",
                        ctx.model.manifest.name
                    ),
                });
            }
            Err(e) => {
                outcome.failed = true;
                return Err(Fallback::ModelFailed {
                    message: e.to_string(),
                });
            }
        };
        outcome.raw.extend_from_slice(&got);
        personal_adjustment(ctx, &matrix, &mut got);
        scores.extend(got);
        let took = began.elapsed() / part.len() as u32;
        per_row = if measured { per_row.max(took) } else { took };
        measured = true;
    }
    Ok(scores)
}

/// Rank a validated request with a profile view already built for it (`view.now` is the
/// ranking time). `started` is when the call began, for `took_micros` and the deadline.
pub fn rank_with_view(
    ctx: &RankContext<'_>,
    req: &RankRequest,
    view: &ProfileView,
    started: Instant,
) -> Result<(RankResponse, ScoringOutcome)> {
    let catalog = ctx.catalog;
    if let (Some(name), None) = (&req.candidate_set, ctx.candidate_set) {
        return Err(Error::NotFound(format!(
            "candidate set {name:?} was not resolved for this call"
        )));
    }
    let kind = req.kind.unwrap_or(SurfaceKind::ForYou);
    let context_items = surface::resolve(catalog, req)?;
    let mut context = surface::context(catalog, req, &context_items);
    context.sequence = ctx.model.sequence_input(ctx.profile);
    let mut unknown_ids = Vec::new();
    // Items the shopper is not interested in are left out, like the merchant's exclusions;
    // so are the context items (the page already shows them) unless the app asks for them.
    let mut excluded: FxHashSet<u32> = req
        .rules
        .exclude_ids
        .iter()
        .map(|id| id.as_str())
        .chain(ctx.profile.not_interested_items())
        .filter_map(|id| catalog.get(id))
        .collect();
    if !req.include_context {
        excluded.extend(context_items.iter().copied());
    }
    let cands = candidates(ctx, req, view, &excluded, &mut unknown_ids);

    let mut fallback_reason = if !ctx.consent {
        Some(Fallback::OptedOut)
    } else if view.cold {
        Some(Fallback::ColdStart)
    } else {
        None
    };
    let deadline = req
        .deadline_ms
        .or(ctx.default_deadline_ms)
        .map(|ms| started + Duration::from_millis(ms as u64));
    let mut outcome = ScoringOutcome::default();
    let mut scores: Vec<f32> = Vec::new();
    if fallback_reason.is_none() && !cands.is_empty() {
        let taste_only;
        let shown = if surface::model_sees_context(kind) {
            &context
        } else {
            taste_only = RequestContext::of_sequence(context.sequence.clone());
            &taste_only
        };
        match score_within(ctx, &cands, view, shown, started, deadline, &mut outcome) {
            Ok(s) => scores = s,
            Err(f) => fallback_reason = Some(f),
        }
        if fallback_reason.is_none() && scores.len() < cands.len() {
            fallback_reason = Some(Fallback::DeadlineExceeded {
                scored: scores.len() as u32,
                candidates: cands.len() as u32,
            });
            if !scores.is_empty() {
                // The rest in popularity order, below every scored candidate.
                let floor = scores.iter().copied().fold(f32::INFINITY, f32::min);
                let cheap = fallback::scores(&cands[scores.len()..], catalog);
                let top = cheap.iter().copied().fold(0.0f32, f32::max);
                scores.extend(cheap.iter().map(|c| floor - 2.0 + c / (top + 1.0)));
            }
        }
    }
    let personalized = match &fallback_reason {
        None => true,
        Some(Fallback::DeadlineExceeded { scored, .. }) => *scored > 0,
        Some(_) => false,
    };
    if !personalized {
        scores = fallback::scores(&cands, catalog);
    }
    let base = if !personalized {
        surface::Base::Popularity
    } else if ctx.model.features.contains(&Feature::ContextCopurchase) {
        surface::Base::ContextModel
    } else {
        surface::Base::Model
    };
    surface::blend(kind, catalog, &context, &cands, &mut scores, base);

    // Final score = model (or popularity) + boosts; ties broken by popularity, then catalog order.
    let mut boosted_by: Vec<Option<usize>> = vec![None; cands.len()];
    let mut scored: Vec<(f64, u32, usize)> = cands
        .iter()
        .enumerate()
        .map(|(k, &idx)| {
            let (b, best) = rules::boost(catalog, idx, &req.rules.boosts);
            boosted_by[k] = best;
            (scores[k] as f64 + b, idx, k)
        })
        .collect();
    // Categories, brands and tags the shopper is not interested in: their items go after all
    // others, whatever their score (a tier, so no boost or model score can lift them back).
    let marks = not_interested::PushedDown::of(ctx.profile);
    let pushed_down = marks.among(catalog, &cands);
    let limit = req.limit as usize;
    let rate = req
        .exploration
        .as_ref()
        .map(|e| e.rate)
        .unwrap_or(ctx.default_exploration_rate);
    // Candidates are distinct, so (tier, score, popularity, index) is a total order and an
    // unstable sort gives the same order as a stable one. Only the part of the order the page
    // can reach is sorted: the page and the pins that may push it down, plus exploration's
    // pool when it draws; diversity may walk the whole order. At 1,000 candidates the full sort
    // was 5% of a rank.
    let tier = |i: u32| !pushed_down.is_empty() && pushed_down.contains(&i);
    let order_of = |a: &(f64, u32, usize), b: &(f64, u32, usize)| {
        tier(a.1)
            .cmp(&tier(b.1))
            .then_with(|| b.0.total_cmp(&a.0))
            .then_with(|| {
                catalog
                    .item(b.1)
                    .popularity
                    .total_cmp(&catalog.item(a.1).popularity)
            })
            .then(a.1.cmp(&b.1))
    };
    let reach = if req.diversity.is_some() {
        scored.len()
    } else {
        let pool = if rate > 0.0 {
            limit.saturating_mul(1 + explore::POOL_PAGES)
        } else {
            limit
        };
        pool.saturating_add(req.rules.pinned.len())
    };
    if reach < scored.len() {
        scored.select_nth_unstable_by(reach, order_of);
        scored[..reach].sort_unstable_by(order_of);
    } else {
        scored.sort_unstable_by(order_of);
    }
    let order: Vec<u32> = scored.iter().map(|&(_, idx, _)| idx).collect();

    // Diversity and exploration rearrange the wanted items only: neither may pull a
    // pushed-down item back onto the page.
    // (Past the sorted part, pushed-down items may sit anywhere; they reach the page only when
    // too few others are left, and then all of them are in the sorted part.)
    let (mut order, tail): (Vec<u32>, Vec<u32>) = if pushed_down.is_empty() {
        (order, Vec::new())
    } else {
        order.into_iter().partition(|i| !pushed_down.contains(i))
    };
    if let Some(d) = &req.diversity {
        diversity::apply(&mut order, catalog, d);
    }
    let seed = req
        .exploration
        .as_ref()
        .and_then(|e| e.seed)
        .unwrap_or_else(rand::random);
    let explored: FxHashSet<u32> =
        explore::apply(&mut order, limit, rate, seed, catalog, &ctx.profile.bandit)
            .into_iter()
            .collect();
    order.extend(tail);

    let (pins, unknown_pins) = rules::resolve_pins(catalog, &req.rules.pinned);
    // The shopper's "not interested" wins over a merchant pin: such an item keeps its place
    // at the end (or, for a marked item, stays out).
    let pins: Vec<(u32, u32)> = pins
        .into_iter()
        .filter(|(i, _)| rules::admits(catalog, *i, &req.rules, &excluded))
        .filter(|(i, _)| !marks.contains(catalog, *i))
        .collect();
    for id in unknown_pins {
        if !unknown_ids.contains(&id) {
            unknown_ids.push(id);
        }
    }
    rules::apply_pins(&mut order, &pins);
    order.truncate(limit);

    // Scores of the returned items only (a page, not every candidate).
    let page: FxHashSet<u32> = order.iter().copied().collect();
    let final_score: FxHashMap<u32, (f64, usize)> = scored
        .iter()
        .filter(|(_, idx, _)| page.contains(idx))
        .map(|&(s, idx, k)| (idx, (s, k)))
        .collect();
    let pinned: FxHashSet<u32> = pins.iter().map(|&(i, _)| i).collect();
    let items = order
        .iter()
        .map(|&idx| {
            let (score, boost) = match final_score.get(&idx) {
                Some(&(s, k)) => (s, boosted_by[k].map(|b| &req.rules.boosts[b])),
                None => (0.0, None), // a pinned item that was not among the candidates
            };
            let marks = explain::Marks {
                pinned: pinned.contains(&idx),
                exploration: explored.contains(&idx),
                boost,
                personalized,
                surface: kind,
                context: &context,
            };
            RankedItem {
                item_id: catalog.item(idx).id.to_string(),
                score,
                reasons: explain::reasons(idx, catalog, view, &marks),
            }
        })
        .collect();
    let response = RankResponse {
        items,
        unknown_ids,
        personalized,
        fallback: fallback_reason,
        // The scorer actually used: the model, or the popularity fallback.
        model_name: if personalized {
            ctx.model.manifest.name.clone()
        } else {
            fallback::NAME.into()
        },
        model_version: if personalized {
            ctx.model.manifest.version.clone()
        } else {
            fallback::VERSION.into()
        },
        took_micros: i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX),
        variant: ctx.variant.clone(),
        experiment: req.experiment.clone(),
        surface: req.surface.clone(),
        response_id: response_id(),
    };
    Ok((response, outcome))
}
