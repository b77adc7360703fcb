//! `manifest.json`: which registry features a model reads, in which order, and the hash that
//! ties the manifest to one exact `model.onnx`.

use crate::error::{Error, ModelProblem, Result};
use crate::features::Feature;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub const MAX_FEATURES: usize = 256;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inputs {
    /// Name of the float32 `[N, F]` graph input that receives the feature matrix.
    #[serde(default = "default_input")]
    pub features: String,
}

fn default_input() -> String {
    "features".into()
}

fn default_output() -> String {
    "score".into()
}

impl Default for Inputs {
    fn default() -> Self {
        Inputs {
            features: default_input(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub features: Vec<String>,
    #[serde(default)]
    pub inputs: Inputs,
    #[serde(default = "default_output")]
    pub output: String,
    /// Hex SHA-256 of `model.onnx`.
    pub sha256: String,
    /// Hex ed25519 signature of [`Manifest::signing_message`], required when keys are configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `[min, max]` of each feature in the training data (written by models/train); the load
    /// probe sweeps these ranges, and the wide grid for features without one.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ranges: BTreeMap<String, [f64; 2]>,
    /// The model's scores on its validation rows (written by models/train): the model guard
    /// compares the scores it sees on the device with these. Optional; without it the guard
    /// skips its drift check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_reference: Option<ScoreReference>,
}

/// Statistics of a model's raw output on the rows it was validated on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreReference {
    /// How many rows they were computed on.
    pub rows: u64,
    pub mean: f64,
    pub std: f64,
    /// Evenly spaced quantiles, ascending: `k / (n + 1)` for k = 1..=n (9 values = the deciles).
    pub quantiles: Vec<f64>,
}

impl ScoreReference {
    fn check(&self) -> Result<()> {
        let q = &self.quantiles;
        let finite = |v: f64| v.is_finite() && v.abs() <= 1e9;
        if self.rows == 0
            || !finite(self.mean)
            || !finite(self.std)
            || self.std < 0.0
            || q.is_empty()
            || q.len() > 99
            || !q.iter().all(|&v| finite(v))
            || q.windows(2).any(|w| w[0] > w[1])
        {
            return Err(bad(
                "manifest `score_reference` must have rows >= 1, finite mean and std >= 0, and \
                 1..=99 finite ascending `quantiles` (see models/README.md, reference scores)",
            ));
        }
        Ok(())
    }
}

fn bad(msg: impl Into<String>) -> Error {
    Error::model(ModelProblem::InvalidManifest, msg)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Manifest {
    pub fn parse(json: &str) -> Result<Manifest> {
        let m: Manifest = serde_json::from_str(json).map_err(|e| {
            bad(format!(
                "manifest.json is not valid: {e}; see README \"Bring your own model\""
            ))
        })?;
        m.check_fields()?;
        Ok(m)
    }

    fn check_fields(&self) -> Result<()> {
        let short = |what: &str, v: &str| {
            if v.trim().is_empty() || v.len() > 128 {
                Err(bad(format!("manifest `{what}` must be 1..=128 characters")))
            } else {
                Ok(())
            }
        };
        short("name", &self.name)?;
        short("version", &self.version)?;
        short("inputs.features", &self.inputs.features)?;
        short("output", &self.output)?;
        if self.features.is_empty() || self.features.len() > MAX_FEATURES {
            return Err(bad(format!(
                "manifest `features` must list 1..={MAX_FEATURES} feature names"
            )));
        }
        for (name, &[lo, hi]) in &self.ranges {
            if !self.features.contains(name) {
                return Err(bad(format!(
                    "manifest `ranges` names {:?}, which is not in `features`",
                    super::contract::short(name)
                )));
            }
            if !(lo.is_finite() && hi.is_finite() && lo <= hi && lo.abs().max(hi.abs()) <= 1e9) {
                return Err(bad(format!(
                    "manifest `ranges` for {name:?} must be finite [min, max] with min <= max \
                     and |values| <= 1e9"
                )));
            }
        }
        if let Some(r) = &self.score_reference {
            r.check()?;
        }
        if self.sha256.len() != 64 || !self.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad(
                "manifest `sha256` must be the 64-hex-digit SHA-256 of model.onnx",
            ));
        }
        Ok(())
    }

    /// The range the load probe sweeps for each feature, in column order.
    pub fn probe_ranges(&self) -> Vec<(f32, f32)> {
        self.features
            .iter()
            .map(|f| match self.ranges.get(f) {
                Some(&[lo, hi]) => (lo as f32, hi as f32),
                None => super::budget::WIDE_GRID,
            })
            .collect()
    }

    /// Resolve feature names; an unknown or repeated name is refused with the name in the message.
    pub fn resolve_features(&self) -> Result<Vec<Feature>> {
        let mut seen = std::collections::HashSet::new();
        self.features
            .iter()
            .map(|name| {
                let f = Feature::parse(name).ok_or_else(|| {
                    Error::model(
                        ModelProblem::UnknownFeature,
                        format!(
                            "feature {:?} is not in the registry; run `tailor features --list` \
                             for the names Tailor computes",
                            super::contract::short(name)
                        ),
                    )
                })?;
                if !seen.insert(f) {
                    return Err(bad(format!(
                        "feature {:?} is listed twice",
                        super::contract::short(name)
                    )));
                }
                Ok(f)
            })
            .collect()
    }

    pub fn check_hash(&self, model_bytes: &[u8]) -> Result<()> {
        let actual = sha256_hex(model_bytes);
        if !actual.eq_ignore_ascii_case(&self.sha256) {
            return Err(Error::model(
                ModelProblem::HashMismatch,
                format!(
                    "model.onnx hashes to {actual} but the manifest says {}; re-export the manifest \
                     with the model it ships with",
                    self.sha256
                ),
            ));
        }
        Ok(())
    }

    /// What a signature covers: everything that decides how the model is fed and read.
    pub fn signing_message(&self) -> Vec<u8> {
        format!(
            "tailor-model-v1\n{}\n{}\n{}\n{}\n{}\n{}\n",
            self.name,
            self.version,
            self.sha256.to_ascii_lowercase(),
            self.features.join(","),
            self.inputs.features,
            self.output
        )
        .into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(features: &str, sha: &str) -> String {
        format!(r#"{{"name":"m","version":"1","features":[{features}],"sha256":"{sha}"}}"#)
    }

    #[test]
    fn parses_with_defaults_and_checks_hash() {
        let bytes = b"model";
        let m = Manifest::parse(&json(r#""bought_count""#, &sha256_hex(bytes))).unwrap();
        assert_eq!(m.inputs.features, "features");
        assert_eq!(m.output, "score");
        m.check_hash(bytes).unwrap();
        let e = m.check_hash(b"other").unwrap_err();
        assert!(matches!(e, Error::Model(ModelProblem::HashMismatch, _)));
    }

    #[test]
    fn refuses_bad_manifests() {
        let sha = "a".repeat(64);
        for (text, problem) in [
            ("not json".to_string(), ModelProblem::InvalidManifest),
            (json("", &sha), ModelProblem::InvalidManifest),
            (
                json(r#""bought_count""#, "abc"),
                ModelProblem::InvalidManifest,
            ),
        ] {
            let e = Manifest::parse(&text).unwrap_err();
            assert!(matches!(e, Error::Model(p, _) if p == problem), "{text}");
        }
        let m = Manifest::parse(&json(r#""bought_count","nope""#, &sha)).unwrap();
        let e = m.resolve_features().unwrap_err();
        assert!(
            matches!(&e, Error::Model(ModelProblem::UnknownFeature, msg) if msg.contains("nope"))
        );
        let m = Manifest::parse(&json(r#""bought_count","bought_count""#, &sha)).unwrap();
        assert!(m.resolve_features().is_err());
    }

    #[test]
    fn reference_scores_are_optional_and_checked() {
        let sha = "a".repeat(64);
        let with = |r: &str| {
            format!(
                r#"{{"name":"m","version":"1","features":["bought_count"],"sha256":"{sha}",
                    "score_reference":{r}}}"#
            )
        };
        let m = Manifest::parse(&with(
            r#"{"rows":10,"mean":0.1,"std":1.0,"quantiles":[-1,0,0,2]}"#,
        ))
        .unwrap();
        assert_eq!(m.score_reference.unwrap().quantiles.len(), 4);
        for bad in [
            r#"{"rows":10,"mean":0.1,"std":1.0,"quantiles":[2,1]}"#,
            r#"{"rows":10,"mean":0.1,"std":1.0,"quantiles":[]}"#,
            r#"{"rows":0,"mean":0.1,"std":1.0,"quantiles":[1]}"#,
            r#"{"rows":1,"mean":0.1,"std":-1.0,"quantiles":[1]}"#,
        ] {
            assert!(Manifest::parse(&with(bad)).is_err(), "{bad}");
        }
        assert!(Manifest::parse(&json(r#""bought_count""#, &sha))
            .unwrap()
            .score_reference
            .is_none());
    }
}
