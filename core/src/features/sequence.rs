//! What the `sequence_score` feature reads: the user vector a model's sequence graph computed for
//! this shopper, and the graph's item table. The graph itself runs in `model::sequence`; this
//! layer only does the per-candidate arithmetic, so serving and `tailor features` share it.

use rustc_hash::FxHashMap;
use std::sync::Arc;

/// Row 0 pads a short sequence; row 1 stands for every item not in the vocabulary.
pub const PADDING: u32 = 0;
pub const UNKNOWN: u32 = 1;
/// Vocabulary line k is table row k + FIRST_ITEM.
pub const FIRST_ITEM: u32 = 2;

/// A sequence model's item embeddings (`[rows, dim]`, row-major) and its vocabulary.
pub struct ItemTable {
    dim: usize,
    values: Vec<f32>,
    rows: FxHashMap<Box<str>, u32>,
}

impl std::fmt::Debug for ItemTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ItemTable")
            .field("dim", &self.dim)
            .field("items", &self.rows.len())
            .finish()
    }
}

impl ItemTable {
    /// `values` holds `(vocabulary.len() + FIRST_ITEM) * dim` floats (checked by the caller).
    pub fn new(dim: usize, values: Vec<f32>, vocabulary: Vec<Box<str>>) -> ItemTable {
        let rows = vocabulary
            .into_iter()
            .enumerate()
            .map(|(k, id)| (id, k as u32 + FIRST_ITEM))
            .collect();
        ItemTable { dim, values, rows }
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Items in the vocabulary.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table row of an item id (`UNKNOWN` outside the vocabulary).
    pub fn row_of(&self, id: &str) -> u32 {
        self.rows.get(id).copied().unwrap_or(UNKNOWN)
    }

    fn row(&self, r: u32) -> &[f32] {
        let start = r as usize * self.dim;
        self.values.get(start..start + self.dim).unwrap_or(&[])
    }
}

/// The shopper's user vector with the table it scores against.
#[derive(Debug, Clone)]
pub struct SequenceInput {
    pub user: Arc<[f32]>,
    pub table: Arc<ItemTable>,
}

impl SequenceInput {
    /// `sequence_score` of an item: its table row · the user vector.
    pub fn score(&self, id: &str) -> f32 {
        let row = self.table.row(self.table.row_of(id));
        row.iter().zip(self.user.iter()).map(|(a, b)| a * b).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_by_the_items_row_and_unknown_items_by_row_one() {
        // rows: padding, unknown, "a", "b"
        let values = vec![0.0, 0.0, 0.5, 0.5, 1.0, 0.0, 0.0, 2.0];
        let table = Arc::new(ItemTable::new(2, values, vec!["a".into(), "b".into()]));
        let input = SequenceInput {
            user: Arc::from(vec![1.0f32, 3.0]),
            table,
        };
        assert_eq!(input.score("a"), 1.0);
        assert_eq!(input.score("b"), 6.0);
        assert_eq!(input.score("zzz"), 2.0);
    }
}
