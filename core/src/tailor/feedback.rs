//! What a click, cart or purchase teaches: the personal layer (pairwise against what was shown
//! above it) and the exploration bandit (engagement with the item's arm).

use super::impressions::ImpressionBuffer;
use crate::catalog::CatalogSnapshot;
use crate::learn::{feedback_strength, PersonalLayer};
use crate::profile::signals::Touched;
use crate::profile::ProfileState;
use crate::types::EventKind;

/// Learn from one event, if it is feedback on an item shown within `window_secs`. Returns
/// whether anything was learned.
#[allow(clippy::too_many_arguments)]
pub fn learn_from_event(
    state: &mut ProfileState,
    touched: &mut Touched,
    shown: &ImpressionBuffer,
    catalog: &CatalogSnapshot,
    kind: EventKind,
    item_id: &str,
    ts: i64,
    window_secs: i64,
    learn_layer: bool,
) -> bool {
    let Some(strength) = feedback_strength(kind) else {
        return false;
    };
    let Some((page, position)) = shown.find(item_id, ts, window_secs) else {
        return false;
    };
    if let Some(idx) = catalog.get(item_id) {
        crate::learn::bandit::record_engaged(
            &mut state.bandit,
            &mut touched.bandit,
            catalog,
            idx,
            strength,
        );
    }
    if !learn_layer {
        return true;
    }
    let Some((positive, negatives)) = page.pairs(position) else {
        return true;
    };
    let width = positive.features.len();
    let mut layer = match state.personal.take() {
        Some(l) if l.model_key == page.model_key && l.weights.len() == width => l,
        // A new model (or the first feedback) starts a fresh layer.
        _ => PersonalLayer::new(page.model_key.clone(), width),
    };
    let negatives: Vec<(&[f32], f32)> = negatives
        .iter()
        .map(|n| (&n.features[..], n.base))
        .collect();
    layer.update((&positive.features, positive.base), &negatives, strength);
    state.personal = Some(layer);
    touched.personal = true;
    true
}
