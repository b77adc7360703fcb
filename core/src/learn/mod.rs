//! On-device learning: a small per-shopper linear layer added to the model score, trained online
//! from the shopper's own feedback on what they were shown (pairwise: the item they clicked,
//! carted or bought should outrank the items shown above it that they skipped).
//!
//! Bounded (L2 shrinkage and clipped weights) so it can adjust the order, never take it over;
//! resettable; erased with the profile; tied to one model (a new model starts a fresh layer).

pub mod bandit;

use crate::types::EventKind;

/// Step size of each pairwise update.
pub const LEARNING_RATE: f32 = 0.01;
/// Shrinkage towards zero applied with every update.
pub const L2: f32 = 0.01;
/// Each weight stays within ±BOUND (feature values are mostly in 0..1 or small logs).
pub const BOUND: f32 = 1.0;
/// The layer moves a score by at most this much (in logits): it can reorder items the model
/// finds close, never overrule it.
pub const MAX_ADJUSTMENT: f32 = 0.5;
/// Skipped items used as negatives for one positive.
pub const MAX_NEGATIVES: usize = 10;

/// How much a kind of feedback counts (views and dismissals teach nothing here).
pub fn feedback_strength(kind: EventKind) -> Option<f32> {
    match kind {
        EventKind::Click => Some(1.0),
        EventKind::AddToCart => Some(2.0),
        EventKind::Purchase => Some(3.0),
        EventKind::View | EventKind::Dismiss => None,
    }
}

/// The layer: one weight per manifest feature of the model it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonalLayer {
    /// `name@version#sha` of the model whose features (and scores) it was trained on.
    pub model_key: String,
    pub weights: Vec<f32>,
    pub updates: u64,
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl PersonalLayer {
    pub fn new(model_key: impl Into<String>, width: usize) -> Self {
        PersonalLayer {
            model_key: model_key.into(),
            weights: vec![0.0; width],
            updates: 0,
        }
    }

    /// The adjustment for one feature row, within ±MAX_ADJUSTMENT.
    pub fn score(&self, row: &[f32]) -> f32 {
        dot(&self.weights, row).clamp(-MAX_ADJUSTMENT, MAX_ADJUSTMENT)
    }

    /// One pairwise logistic step per negative: raise `positive` above each negative, measured on
    /// the total score (model + layer), so pairs the model already orders well barely move it.
    pub fn update(&mut self, positive: (&[f32], f32), negatives: &[(&[f32], f32)], strength: f32) {
        if negatives.is_empty() || positive.0.len() != self.weights.len() {
            return;
        }
        for &(neg, neg_base) in negatives.iter().take(MAX_NEGATIVES) {
            if neg.len() != self.weights.len() {
                continue;
            }
            let margin = (positive.1 + self.score(positive.0)) - (neg_base + self.score(neg));
            let g = LEARNING_RATE * strength * sigmoid(-margin);
            for ((w, p), n) in self.weights.iter_mut().zip(positive.0).zip(neg) {
                *w += g * (p - n);
            }
        }
        for w in &mut self.weights {
            *w = (*w * (1.0 - LEARNING_RATE * L2)).clamp(-BOUND, BOUND);
            if !w.is_finite() {
                *w = 0.0;
            }
        }
        self.updates += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_to_prefer_what_the_shopper_picks_and_stays_bounded() {
        let mut layer = PersonalLayer::new("m", 2);
        // The shopper keeps picking items strong in feature 1 over items strong in feature 0,
        // against a model that prefers feature 0.
        let (picked, skipped) = ([0.0, 1.0], [1.0, 0.0]);
        let base = |x: &[f32; 2]| x[0] * 0.5;
        for _ in 0..500 {
            layer.update((&picked, base(&picked)), &[(&skipped, base(&skipped))], 3.0);
        }
        let total = |x: &[f32; 2]| base(x) + layer.score(x);
        assert!(total(&picked) > total(&skipped), "{:?}", layer.weights);
        assert!(layer.weights.iter().all(|w| w.abs() <= BOUND));
        assert_eq!(layer.updates, 500);
        // A mismatched width is ignored, not a panic.
        layer.update((&[1.0], 0.0), &[(&[0.0], 0.0)], 1.0);
        assert_eq!(layer.updates, 500);
    }

    #[test]
    fn already_well_ordered_pairs_barely_move_the_layer() {
        let mut layer = PersonalLayer::new("m", 1);
        layer.update((&[1.0], 10.0), &[(&[0.0], 0.0)], 1.0);
        assert!(layer.weights[0] < 1e-4);
    }
}
