//! A/B experiments without a server: each install is bucketed deterministically from its random
//! salt and the experiment key, so it sees the same variant on every launch, and installs spread
//! over variants in proportion to their weights.

use crate::error::{Error, Result};
use crate::types::{Experiment, ExplorationOptions, RankRequest, Variant};
use sha2::{Digest, Sha256};

pub const MAX_VARIANTS: usize = 20;

/// A uniform number in [0, 1) fixed by (salt, key).
pub fn bucket(salt: &[u8], key: &str) -> f64 {
    let mut h = Sha256::new();
    h.update(b"tailor-experiment-v1\0");
    h.update(salt);
    h.update([0]);
    h.update(key.as_bytes());
    let d = h.finalize();
    let x = u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]);
    // 53 bits: exactly representable, uniform in [0, 1).
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// The index of the variant a bucket falls in, by cumulative weight.
pub fn choose(weights: &[f64], u: f64) -> usize {
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    for (i, w) in weights.iter().enumerate() {
        acc += w / total;
        if u < acc {
            return i;
        }
    }
    // Rounding can leave u just above the last cumulative sum: the last weighted variant.
    weights.iter().rposition(|w| *w > 0.0).unwrap_or(0)
}

/// Change a rank request as a variant does: its boosts are added, and its exploration rate
/// applies unless the request set one. In place: the request may carry thousands of candidates.
pub fn apply_variant(request: &mut RankRequest, v: &Variant) {
    request.rules.boosts.extend(v.boosts.iter().cloned());
    if request.exploration.is_none() {
        if let Some(rate) = v.exploration_rate {
            request.exploration = Some(ExplorationOptions { rate, seed: None });
        }
    }
}

pub fn validate(e: &Experiment) -> Result<()> {
    crate::validate::id("experiment key", &e.key)?;
    if e.variants.is_empty() || e.variants.len() > MAX_VARIANTS {
        return Err(Error::invalid(format!(
            "experiment {} needs 1..={MAX_VARIANTS} variants",
            e.key
        )));
    }
    let mut names = std::collections::HashSet::new();
    for v in &e.variants {
        crate::validate::id("variant name", &v.name)?;
        if !names.insert(v.name.as_str()) {
            return Err(Error::invalid(format!(
                "variant {} appears twice in {}",
                v.name, e.key
            )));
        }
        if !v.weight.is_finite() || v.weight < 0.0 {
            return Err(Error::invalid(format!(
                "variant {} has weight {}; use a finite number >= 0",
                v.name, v.weight
            )));
        }
        if let Some(r) = v.exploration_rate {
            crate::learn::bandit::validate(r)?;
        }
        crate::rank::rules::validate(
            &crate::types::BusinessRules {
                boosts: v.boosts.clone(),
                ..Default::default()
            },
            1,
        )?;
    }
    if e.variants.iter().map(|v| v.weight).sum::<f64>() <= 0.0 {
        return Err(Error::invalid(format!(
            "experiment {}: the weights sum to 0",
            e.key
        )));
    }
    Ok(())
}

/// This install's variant (index) of `e`.
pub fn assign(salt: &[u8], e: &Experiment) -> usize {
    let weights: Vec<f64> = e.variants.iter().map(|v| v.weight).collect();
    choose(&weights, bucket(salt, &e.key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Variant;

    fn variant(name: &str, weight: f64) -> Variant {
        Variant {
            name: name.into(),
            weight,
            model_name: None,
            exploration_rate: None,
            boosts: vec![],
        }
    }

    #[test]
    fn same_install_same_variant_and_uniform_over_100k_installs() {
        let e = Experiment {
            key: "ranker-2026-11".into(),
            variants: vec![
                variant("control", 50.0),
                variant("mlp", 30.0),
                variant("explore", 20.0),
            ],
        };
        validate(&e).unwrap();
        let salt = [7u8; 32];
        assert_eq!(assign(&salt, &e), assign(&salt, &e));
        let mut counts = [0usize; 3];
        let n = 100_000;
        for i in 0..n as u64 {
            // Synthetic installs: distinct random-looking salts.
            let salt = Sha256::digest(i.to_le_bytes());
            counts[assign(&salt, &e)] += 1;
        }
        for (c, want) in counts.iter().zip([0.5, 0.3, 0.2]) {
            let share = *c as f64 / n as f64;
            assert!((share - want).abs() < 0.01, "share {share} vs {want}");
        }
        // Another experiment key reshuffles installs independently.
        let other = Experiment {
            key: "other".into(),
            ..e.clone()
        };
        let same = (0..1000u64)
            .filter(|i| {
                let s = Sha256::digest(i.to_le_bytes());
                assign(&s, &e) == assign(&s, &other)
            })
            .count();
        assert!(
            same < 500,
            "keys must bucket independently ({same}/1000 equal)"
        );
    }

    #[test]
    fn bad_definitions_are_refused() {
        let bad = [
            Experiment {
                key: "".into(),
                variants: vec![variant("a", 1.0)],
            },
            Experiment {
                key: "k".into(),
                variants: vec![],
            },
            Experiment {
                key: "k".into(),
                variants: vec![variant("a", f64::NAN)],
            },
            Experiment {
                key: "k".into(),
                variants: vec![variant("a", 0.0)],
            },
            Experiment {
                key: "k".into(),
                variants: vec![variant("a", 1.0), variant("a", 1.0)],
            },
        ];
        for e in bad {
            assert!(validate(&e).is_err(), "{e:?}");
        }
        assert_eq!(choose(&[0.0, 1.0], 0.0), 1);
        assert_eq!(choose(&[1.0, 0.0], 0.999_999_999), 0);
    }
}
