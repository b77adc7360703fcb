//! `tailor replay --learn`: what the personal layer would have learned before the cutoff.
//!
//! Purchase logs have no impressions, so they are simulated: at the start of each of the user's
//! baskets before the cutoff, Tailor ranks the catalog with the profile so far and "shows" the top
//! K; every shown item bought in that basket is then feedback against the shown items above it
//! that were not bought. Items bought without being shown teach nothing, exactly as in the SDK,
//! which learns only from feedback on what `record_impressions` reported, with the same features
//! and model scores.

use crate::world::World;
use std::sync::Arc;
use tailor::engine::features::{assemble_in, ProfileView, RequestContext};
use tailor::engine::model::LoadedModel;
use tailor::engine::profile::UserEvent;
use tailor::engine::profile::{Params, ProfileState};
use tailor::engine::profile::{ProfileEvent, Touched};
use tailor::engine::rank::PersonalLayer;
use tailor::EventKind;

/// Purchase strength of `learn::feedback_strength`.
const PURCHASE: f32 = 3.0;

/// Train a layer on the user's baskets before `cutoff`, showing `k` items per basket.
pub fn learn_before(
    world: &World,
    events: &[UserEvent],
    model: &LoadedModel,
    cutoff: i64,
    k: usize,
    params: &Params,
) -> Option<PersonalLayer> {
    let catalog = &world.catalog;
    let width = model.features.len();
    let mut layer = PersonalLayer::new(model.layer_key(), width);
    let mut profile = ProfileState::default();
    let mut touched = Touched::default();
    let mut matrix = Vec::new();
    let mut i = 0;
    while i < events.len() {
        let ts = events[i].event.timestamp.unwrap_or(0);
        if ts >= cutoff {
            break;
        }
        // One basket: the run of events sharing a session id (or one event without).
        let basket = events[i].event.session_id.clone();
        let mut j = i + 1;
        while j < events.len() && basket.is_some() && events[j].event.session_id == basket {
            j += 1;
        }
        let bought: Vec<u32> = events[i..j]
            .iter()
            .filter(|e| e.event.kind == EventKind::Purchase)
            .filter_map(|e| catalog.get(&e.event.item_id))
            .collect();
        if !profile.is_cold() && !bought.is_empty() {
            let snapshot = Arc::new(ProfileState {
                personal: Some(layer.clone()),
                ..profile.clone()
            });
            let view = ProfileView::build(&snapshot, catalog, ts, None, params);
            let candidates = &catalog.in_stock_by_popularity;
            let context = RequestContext::of_sequence(model.sequence_input(&snapshot));
            assemble_in(
                &model.features,
                candidates,
                catalog,
                &view,
                &context,
                &mut matrix,
            );
            if let Ok(base) = model.runtime.score(&matrix, candidates.len()) {
                let total: Vec<f32> = base
                    .iter()
                    .zip(matrix.chunks_exact(width))
                    .map(|(b, row)| b + layer.score(row))
                    .collect();
                let mut order: Vec<usize> = (0..candidates.len()).collect();
                order.sort_by(|&a, &b| total[b].total_cmp(&total[a]));
                order.truncate(k);
                let row = |p: usize| (&matrix[p * width..(p + 1) * width], base[p]);
                for (at, &p) in order.iter().enumerate() {
                    if !bought.contains(&candidates[p]) {
                        continue;
                    }
                    let skipped: Vec<(&[f32], f32)> = order[..at]
                        .iter()
                        .filter(|&&o| !bought.contains(&candidates[o]))
                        .map(|&o| row(o))
                        .collect();
                    layer.update(row(p), &skipped, PURCHASE);
                }
            }
        }
        for e in &events[i..j] {
            let ev = ProfileEvent {
                kind: e.event.kind,
                item_id: Arc::from(e.event.item_id.as_str()),
                ts: e.event.timestamp.unwrap_or(0),
                session: e.event.session_id.clone(),
                quantity: e.event.quantity.unwrap_or(1),
            };
            profile.apply_history(&ev, params, &mut touched);
            if let Some(idx) = catalog.get(&e.event.item_id) {
                profile.apply_attributes(&ev, catalog.record(idx), params, &mut touched);
            }
        }
        i = j;
    }
    (layer.updates > 0).then_some(layer)
}
