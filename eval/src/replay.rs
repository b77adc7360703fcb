//! `tailor replay`: for each user with events before the cutoff and purchases at/after it, build
//! a fresh profile from the events before the cutoff, rank the whole in-stock catalog at the
//! cutoff, and score the top K against the distinct items bought at/after the cutoff.
//!
//! Baselines: `popularity` (purchases in the 30 days before the cutoff), `buy_again` (the
//! shopper's purchases by count, then recency) and `item_knn` (item-to-item co-occurrence over
//! the shoppers' histories before the cutoff, plus repeats; see `eval::knn`).

use crate::derive::DeriveOptions;
use crate::top_k::{score_list, Mean, Metrics};
use crate::world::{purchased_between, World};
use std::collections::{BTreeMap, HashMap};
use tailor::engine::model::LoadedModel;
use tailor::engine::profile::Params;
use tailor::engine::profile::UserEvent;
use tailor::engine::rank::{rank, RankContext};
use tailor::engine::Result;
use tailor::{EventKind, ExplorationOptions, Item, RankRequest};

pub struct ReplayOptions {
    pub cutoff: i64,
    pub k: usize,
    /// Relevant purchases are those in [cutoff, cutoff + horizon); `None` = everything after.
    pub horizon_days: Option<i64>,
    pub derive: DeriveOptions,
    pub params: Params,
    /// Also report `tailor+learn`: the personal layer trained on simulated feedback before the
    /// cutoff (see `eval::simulated_learning`).
    pub learn: bool,
    /// Replay at most this many users (a seeded uniform sample; validation on large data).
    pub max_users: Option<usize>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ReplayReport {
    pub users: usize,
    pub k: usize,
    pub methods: BTreeMap<String, Metrics>,
    /// What happened to each user's rank call, for the methods that use the model: a model
    /// that falls back silently would otherwise just equal popularity in `methods`.
    pub outcomes: BTreeMap<String, Outcome>,
}

/// How the rank calls of one method went.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Outcome {
    /// Users ranked by the model.
    pub personalized: usize,
    /// Users whose ranking fell back, by reason (`cold_start`, `opted_out`, `model_failed`).
    pub fallbacks: BTreeMap<String, usize>,
    /// Users whose rank call failed (an error, or a panic caught by replay); they score zero.
    pub errors: usize,
}

impl Outcome {
    /// Users the model did not rank because it failed: `model_failed` fallbacks and errors.
    pub fn model_failures(&self) -> usize {
        self.fallbacks.get("model_failed").copied().unwrap_or(0) + self.errors
    }

    pub(crate) fn record(&mut self, response: &Result<tailor::RankResponse>) {
        use tailor::Fallback;
        match response {
            Err(_) => self.errors += 1,
            Ok(r) => match &r.fallback {
                None => self.personalized += 1,
                Some(f) => {
                    let reason = match f {
                        Fallback::ColdStart => "cold_start",
                        Fallback::OptedOut => "opted_out",
                        Fallback::ModelFailed { .. } => "model_failed",
                        Fallback::DeadlineExceeded { .. } => "deadline_exceeded",
                    };
                    *self.fallbacks.entry(reason.into()).or_default() += 1;
                }
            },
        }
    }

    pub(crate) fn merge(&mut self, other: &Outcome) {
        self.personalized += other.personalized;
        self.errors += other.errors;
        for (k, v) in &other.fallbacks {
            *self.fallbacks.entry(k.clone()).or_default() += v;
        }
    }
}

/// The ids of a response, or none for a failed call (scored as a miss).
fn ids(response: &Result<tailor::RankResponse>) -> Vec<&str> {
    response
        .as_ref()
        .map(|r| r.items.iter().map(|i| i.item_id.as_str()).collect())
        .unwrap_or_default()
}

/// Items the user bought before, most often first, then most recent; padded with popular items.
fn buy_again<'a>(
    events: &'a [UserEvent],
    cutoff: i64,
    popular: &[&'a str],
    k: usize,
) -> Vec<&'a str> {
    let mut counts: HashMap<&str, (u32, i64)> = HashMap::new();
    for e in events
        .iter()
        .filter(|e| e.event.kind == EventKind::Purchase)
    {
        let ts = e.event.timestamp.unwrap_or(0);
        if ts < cutoff {
            let c = counts.entry(e.event.item_id.as_str()).or_default();
            c.0 += 1;
            c.1 = c.1.max(ts);
        }
    }
    let mut list: Vec<(&str, (u32, i64))> = counts.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let out: Vec<&str> = list.into_iter().map(|(id, _)| id).take(k).collect();
    fill_with_popular(out, popular, k)
}

/// Top up a baseline's list to `k` with the most popular items it does not hold yet.
pub(crate) fn fill_with_popular<'a>(
    mut out: Vec<&'a str>,
    popular: &[&'a str],
    k: usize,
) -> Vec<&'a str> {
    for p in popular {
        if out.len() >= k {
            break;
        }
        if !out.contains(p) {
            out.push(p);
        }
    }
    out
}

/// Replay with `model`; `progress(done, total)` is called as users finish.
pub fn replay(
    items: Vec<Item>,
    events: Vec<UserEvent>,
    model: &LoadedModel,
    opts: &ReplayOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<ReplayReport> {
    let world = World::build(items, events, opts.cutoff, &opts.derive);
    let until = opts
        .horizon_days
        .map(|d| opts.cutoff + d * 86_400)
        .unwrap_or(i64::MAX);
    let mut users: Vec<(&String, &Vec<UserEvent>)> = world
        .users
        .iter()
        .filter(|(_, evs)| {
            evs.iter()
                .any(|e| e.event.timestamp.unwrap_or(0) < opts.cutoff)
        })
        .filter(|(_, evs)| !purchased_between(evs, opts.cutoff, until).is_empty())
        .collect();
    if let Some(max) = opts.max_users.filter(|&m| m < users.len()) {
        use rand::SeedableRng;
        let mut pick = rand::rngs::SmallRng::seed_from_u64(0x5EED);
        let mut keep = rand::seq::index::sample(&mut pick, users.len(), max).into_vec();
        keep.sort_unstable();
        users = keep.into_iter().map(|i| users[i]).collect();
    }
    let popular: Vec<&str> = world
        .catalog
        .in_stock_by_popularity
        .iter()
        .take(opts.k)
        .map(|&i| &*world.catalog.item(i).id)
        .collect();
    let knn = super::knn::ItemKnn::build(&world, opts.cutoff);
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let total = users.len();
    let chunk = total.div_ceil(threads).max(1);
    type Part = ([Mean; 5], [Outcome; 2]);
    let results: Vec<Result<Part>> = std::thread::scope(|s| {
        let handles: Vec<_> = users
            .chunks(chunk)
            .map(|part| {
                let (world, popular, done, knn) = (&world, &popular, &done, &knn);
                let handle = s.spawn(move || -> Result<Part> {
                    let mut means = [Mean::default(); 5];
                    let mut outcomes: [Outcome; 2] = Default::default();
                    for (_, evs) in part {
                        let relevant = purchased_between(evs, opts.cutoff, until);
                        let profile = std::sync::Arc::new(world.profile_before(
                            evs,
                            opts.cutoff,
                            &opts.params,
                        ));
                        let ctx =
                            RankContext::offline(&world.catalog, &profile, model, &opts.params);
                        let req = RankRequest {
                            limit: opts.k as u32,
                            now: Some(opts.cutoff),
                            exploration: Some(ExplorationOptions {
                                rate: 0.0,
                                seed: Some(0),
                            }),
                            ..Default::default()
                        };
                        let resp = rank(&ctx, &req);
                        outcomes[0].record(&resp);
                        means[0].add(score_list(&ids(&resp), &relevant, opts.k));
                        means[1].add(score_list(popular, &relevant, opts.k));
                        let again = buy_again(evs, opts.cutoff, popular, opts.k);
                        means[2].add(score_list(&again, &relevant, opts.k));
                        let similar = knn.recommend(world, evs, opts.cutoff, popular, opts.k);
                        means[4].add(score_list(&similar, &relevant, opts.k));
                        if opts.learn {
                            let layer = super::simulated_learning::learn_before(
                                world,
                                evs,
                                model,
                                opts.cutoff,
                                opts.k,
                                &opts.params,
                            );
                            let learned =
                                std::sync::Arc::new(tailor::engine::profile::ProfileState {
                                    personal: layer,
                                    ..(*profile).clone()
                                });
                            let ctx = RankContext {
                                profile: &learned,
                                personal_learning: true,
                                ..ctx
                            };
                            let resp = rank(&ctx, &req);
                            outcomes[1].record(&resp);
                            means[3].add(score_list(&ids(&resp), &relevant, opts.k));
                        }
                        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                        progress(n, total);
                    }
                    Ok((means, outcomes))
                });
                (handle, part.len())
            })
            .collect();
        handles
            .into_iter()
            .map(|(h, n)| {
                // A panic loses the chunk's metrics: its users count as errors, not as misses.
                h.join().unwrap_or_else(|_| {
                    let lost = Outcome {
                        errors: n,
                        ..Default::default()
                    };
                    Ok(([Mean::default(); 5], [lost.clone(), lost]))
                })
            })
            .collect()
    });
    let mut totals = [Mean::default(); 5];
    let mut outcome_totals: [Outcome; 2] = Default::default();
    for r in results {
        let (part, outcomes) = r?;
        for (t, p) in totals.iter_mut().zip(part.iter()) {
            t.merge(p);
        }
        for (t, o) in outcome_totals.iter_mut().zip(outcomes.iter()) {
            t.merge(o);
        }
    }
    let [tailor_outcome, learn_outcome] = outcome_totals;
    let mut outcomes = BTreeMap::new();
    outcomes.insert("tailor".to_string(), tailor_outcome);
    if opts.learn {
        outcomes.insert("tailor+learn".to_string(), learn_outcome);
    }
    let mut methods = BTreeMap::new();
    methods.insert("tailor".to_string(), totals[0].get());
    methods.insert("popularity".to_string(), totals[1].get());
    methods.insert("buy_again".to_string(), totals[2].get());
    methods.insert("item_knn".to_string(), totals[4].get());
    if opts.learn {
        methods.insert("tailor+learn".to_string(), totals[3].get());
    }
    Ok(ReplayReport {
        users: total,
        k: opts.k,
        methods,
        outcomes,
    })
}
