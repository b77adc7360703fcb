//! Pages the shopper was shown, kept in memory with the features and model scores the items had
//! at the time, so feedback can be learned from exactly what the ranking saw. Bounded; not
//! persisted (after a restart, feedback on older pages still counts in the funnel, not in
//! learning).

use crate::catalog::CatalogSnapshot;
use crate::features::ProfileView;
use crate::learn::MAX_NEGATIVES;
use crate::model::LoadedModel;
use std::collections::VecDeque;
use std::sync::Arc;

/// Pages remembered for learning.
pub const MAX_PAGES: usize = 100;

#[derive(Debug, Clone)]
pub struct ShownItem {
    pub item_id: Arc<str>,
    pub features: Vec<f32>,
    /// The model's score when it was shown.
    pub base: f32,
}

#[derive(Debug, Clone)]
pub struct ShownPage {
    pub ts: i64,
    pub model_key: String,
    pub items: Vec<ShownItem>,
}

impl ShownPage {
    /// The engaged item and the items it should have outranked: those shown above it (skipped),
    /// or, for the first position, the ones right below it.
    pub fn pairs(&self, position: usize) -> Option<(&ShownItem, Vec<&ShownItem>)> {
        let positive = self.items.get(position)?;
        let negatives: Vec<&ShownItem> = if position > 0 {
            self.items[position.saturating_sub(MAX_NEGATIVES)..position]
                .iter()
                .collect()
        } else {
            self.items.iter().skip(1).take(3).collect()
        };
        Some((positive, negatives))
    }
}

impl ShownPage {
    /// The page as the ranking saw it: the feature row and model score of each item (`known`:
    /// catalog positions, in display order). `None` when the model cannot score them.
    pub fn build(
        model: &LoadedModel,
        catalog: &CatalogSnapshot,
        view: &ProfileView,
        known: &[u32],
        ts: i64,
    ) -> Option<ShownPage> {
        let mut matrix = Vec::new();
        let context =
            crate::features::RequestContext::of_sequence(model.sequence_input(&view.profile));
        crate::features::assemble_in(&model.features, known, catalog, view, &context, &mut matrix);
        let base = model.runtime.score(&matrix, known.len()).ok()?;
        let width = model.features.len().max(1);
        let items = known
            .iter()
            .zip(matrix.chunks_exact(width))
            .zip(base)
            .map(|((&idx, row), base)| ShownItem {
                item_id: catalog.item(idx).id.clone(),
                features: row.to_vec(),
                base,
            })
            .collect();
        Some(ShownPage {
            ts,
            model_key: model.layer_key(),
            items,
        })
    }
}

#[derive(Debug, Default)]
pub struct ImpressionBuffer {
    pages: VecDeque<ShownPage>,
}

impl ImpressionBuffer {
    pub fn push(&mut self, page: ShownPage) {
        if self.pages.len() == MAX_PAGES {
            self.pages.pop_front();
        }
        self.pages.push_back(page);
    }

    /// The most recent page shown within `window_secs` before `ts` that contains `item_id`.
    pub fn find(&self, item_id: &str, ts: i64, window_secs: i64) -> Option<(&ShownPage, usize)> {
        self.pages
            .iter()
            .rev()
            .filter(|p| p.ts <= ts && ts - p.ts <= window_secs)
            .find_map(|p| {
                p.items
                    .iter()
                    .position(|i| &*i.item_id == item_id)
                    .map(|pos| (p, pos))
            })
    }

    pub fn clear(&mut self) {
        self.pages.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(ts: i64, ids: &[&str]) -> ShownPage {
        ShownPage {
            ts,
            model_key: "m".into(),
            items: ids
                .iter()
                .map(|id| ShownItem {
                    item_id: Arc::from(*id),
                    features: vec![0.0],
                    base: 0.0,
                })
                .collect(),
        }
    }

    #[test]
    fn finds_the_latest_page_within_the_window() {
        let mut b = ImpressionBuffer::default();
        b.push(page(100, &["a", "b", "c"]));
        b.push(page(200, &["c", "a"]));
        let (p, pos) = b.find("a", 250, 1000).unwrap();
        assert_eq!((p.ts, pos), (200, 1));
        assert!(b.find("a", 5000, 1000).is_none(), "outside the window");
        assert!(b.find("a", 50, 1000).is_none(), "shown after the event");
        let (p, pos) = b.find("b", 250, 1000).unwrap();
        let (_, negatives) = p.pairs(pos).unwrap();
        assert_eq!(
            negatives.iter().map(|i| &*i.item_id).collect::<Vec<_>>(),
            vec!["a"]
        );
        let (_, below) = p.pairs(0).unwrap();
        assert_eq!(below.len(), 2);
    }
}
