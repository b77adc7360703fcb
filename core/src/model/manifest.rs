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
    /// 1 (absent) or 2. Format 2 may carry a `sequence` model; every format-1 manifest loads
    /// unchanged.
    #[serde(default = "format_one")]
    pub format_version: u32,
    /// A second graph that reads the shopper's recent purchases (format 2; see
    /// `model/sequence.rs` and models/README.md "The sequence model").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<SequenceSpec>,
}

fn format_one() -> u32 {
    1
}

/// The formats this build reads.
pub const FORMAT_VERSIONS: std::ops::RangeInclusive<u32> = 1..=2;
/// Longest sequence a sequence model may read.
pub const MAX_SEQUENCE_LEN: u32 = 200;

/// Where a model's sequence graph and vocabulary are, and how the graph is fed and read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequenceSpec {
    /// File name of the ONNX graph, beside manifest.json.
    pub graph: String,
    /// Hex SHA-256 of the graph file.
    pub sha256: String,
    /// File name of the vocabulary (one item id per line; line k is index k + 2), beside
    /// manifest.json.
    pub vocabulary: String,
    /// Hex SHA-256 of the vocabulary file.
    pub vocabulary_sha256: String,
    /// Items the graph reads (its int64 input is `[1, max_len]`, left-padded with 0).
    pub max_len: u32,
    /// Name of the int64 input.
    #[serde(default = "default_sequence_input")]
    pub input: String,
    /// Name of the float32 `[1, d]` user-vector output.
    #[serde(default = "default_sequence_output")]
    pub output: String,
    /// Name of the float32 `[V + 2, d]` initializer that embeds items (read for scoring too).
    #[serde(default = "default_item_table")]
    pub item_table: String,
}

fn default_sequence_input() -> String {
    "items".into()
}

fn default_sequence_output() -> String {
    "user".into()
}

fn default_item_table() -> String {
    "item_embedding".into()
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A file name beside manifest.json: no directories, nothing hidden, nothing to escape with.
fn plain_file_name(what: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(bad(format!(
            "manifest `sequence.{what}` must be a plain file name beside manifest.json \
             (letters, digits, '.', '_', '-'; no folders), not {:?}",
            super::contract::short(name)
        )))
    }
}

impl SequenceSpec {
    fn check(&self) -> Result<()> {
        plain_file_name("graph", &self.graph)?;
        plain_file_name("vocabulary", &self.vocabulary)?;
        if self.graph == self.vocabulary || self.graph == "model.onnx" {
            return Err(bad(
                "manifest `sequence.graph` and `sequence.vocabulary` must name two files other \
                 than model.onnx",
            ));
        }
        if !is_sha256(&self.sha256) || !is_sha256(&self.vocabulary_sha256) {
            return Err(bad(
                "manifest `sequence.sha256` and `sequence.vocabulary_sha256` must be the \
                 64-hex-digit SHA-256 of the graph and of the vocabulary",
            ));
        }
        if self.max_len == 0 || self.max_len > MAX_SEQUENCE_LEN {
            return Err(bad(format!(
                "manifest `sequence.max_len` must be 1..={MAX_SEQUENCE_LEN}, not {}",
                self.max_len
            )));
        }
        for (what, v) in [
            ("input", &self.input),
            ("output", &self.output),
            ("item_table", &self.item_table),
        ] {
            if v.trim().is_empty() || v.len() > 128 {
                return Err(bad(format!(
                    "manifest `sequence.{what}` must be 1..=128 characters"
                )));
            }
        }
        Ok(())
    }
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
        if !FORMAT_VERSIONS.contains(&self.format_version) {
            return Err(bad(format!(
                "manifest `format_version` {} is not one this version of Tailor reads ({}..={}); \
                 update the SDK or export the model in an older format",
                self.format_version,
                FORMAT_VERSIONS.start(),
                FORMAT_VERSIONS.end()
            )));
        }
        if let Some(seq) = &self.sequence {
            if self.format_version < 2 {
                return Err(bad(
                    "manifest `sequence` needs `format_version: 2` (a format-1 reader would \
                     ignore the sequence model and rank without it)",
                ));
            }
            seq.check()?;
        }
        let reads_sequence = self.features.iter().any(|f| f == "sequence_score");
        if reads_sequence && self.sequence.is_none() {
            return Err(bad(
                "the model reads `sequence_score` but the manifest has no `sequence` model to \
                 compute it; add the `sequence` block (models/README.md)",
            ));
        }
        if !is_sha256(&self.sha256) {
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
    /// What identifies the model's files: the SHA-256 of `model.onnx`, or for a model with a
    /// sequence graph a hash over all three files' hashes (two sequence models may share the
    /// same one-weight ranker, and must not share an install folder, a personal layer or a
    /// quarantine record).
    pub fn identity_sha256(&self) -> String {
        match &self.sequence {
            None => self.sha256.to_ascii_lowercase(),
            Some(q) => sha256_hex(
                format!(
                    "{}:{}:{}",
                    self.sha256.to_ascii_lowercase(),
                    q.sha256.to_ascii_lowercase(),
                    q.vocabulary_sha256.to_ascii_lowercase()
                )
                .as_bytes(),
            ),
        }
    }

    /// Format-1 manifests keep their message, so their signatures still verify; a sequence
    /// model's files and how it is fed are covered too.
    pub fn signing_message(&self) -> Vec<u8> {
        let mut message = format!(
            "tailor-model-v1\n{}\n{}\n{}\n{}\n{}\n{}\n",
            self.name,
            self.version,
            self.sha256.to_ascii_lowercase(),
            self.features.join(","),
            self.inputs.features,
            self.output
        );
        if let Some(q) = &self.sequence {
            message.push_str(&format!(
                "sequence\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n",
                q.graph,
                q.sha256.to_ascii_lowercase(),
                q.vocabulary,
                q.vocabulary_sha256.to_ascii_lowercase(),
                q.max_len,
                q.input,
                q.output,
                q.item_table
            ));
        }
        message.into_bytes()
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
