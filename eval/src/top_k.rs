//! Top-K metrics with binary relevance.

use std::collections::HashSet;

#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Metrics {
    /// Share of users with at least one relevant item in the top K.
    pub hr: f64,
    /// Hits / min(|relevant|, K), averaged over users.
    pub recall: f64,
    /// DCG / ideal DCG with binary gains, averaged over users.
    pub ndcg: f64,
}

/// Metrics of one ranked list.
pub fn score_list(ranked: &[&str], relevant: &HashSet<&str>, k: usize) -> Metrics {
    if relevant.is_empty() || k == 0 {
        return Metrics::default();
    }
    let mut hits = 0usize;
    let mut dcg = 0.0;
    for (pos, id) in ranked.iter().take(k).enumerate() {
        if relevant.contains(id) {
            hits += 1;
            dcg += 1.0 / ((pos + 2) as f64).log2();
        }
    }
    let ideal_n = relevant.len().min(k);
    let idcg: f64 = (0..ideal_n).map(|p| 1.0 / ((p + 2) as f64).log2()).sum();
    Metrics {
        hr: (hits > 0) as u8 as f64,
        recall: hits as f64 / ideal_n as f64,
        ndcg: dcg / idcg,
    }
}

/// Running mean over users.
#[derive(Debug, Default, Clone, Copy)]
pub struct Mean {
    sum: Metrics,
    n: usize,
}

impl Mean {
    pub fn add(&mut self, m: Metrics) {
        self.sum.hr += m.hr;
        self.sum.recall += m.recall;
        self.sum.ndcg += m.ndcg;
        self.n += 1;
    }
    pub fn merge(&mut self, other: &Mean) {
        self.sum.hr += other.sum.hr;
        self.sum.recall += other.sum.recall;
        self.sum.ndcg += other.sum.ndcg;
        self.n += other.n;
    }
    pub fn get(&self) -> Metrics {
        let n = self.n.max(1) as f64;
        Metrics {
            hr: self.sum.hr / n,
            recall: self.sum.recall / n,
            ndcg: self.sum.ndcg / n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_partial_and_empty() {
        let rel: HashSet<&str> = ["a", "b"].into();
        let m = score_list(&["a", "b", "c"], &rel, 3);
        assert_eq!(
            m,
            Metrics {
                hr: 1.0,
                recall: 1.0,
                ndcg: 1.0
            }
        );
        let m = score_list(&["c", "a"], &rel, 2);
        assert_eq!(m.hr, 1.0);
        assert_eq!(m.recall, 0.5);
        let expected = (1.0 / 3f64.log2()) / (1.0 + 1.0 / 3f64.log2());
        assert!((m.ndcg - expected).abs() < 1e-12);
        assert_eq!(score_list(&["x"], &rel, 1), Metrics::default());
        // Recall divides by min(|relevant|, K).
        let big: HashSet<&str> = ["a", "b", "c", "d"].into();
        assert_eq!(score_list(&["a", "b"], &big, 2).recall, 1.0);
    }
}
