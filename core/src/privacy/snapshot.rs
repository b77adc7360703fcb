//! Portable profile: the shopper's taste in an encrypted, authenticated blob that the app may
//! store or carry to a new phone through its own backend, which can read none of it.
//!
//! Blob: `TAILORPS` (8 bytes), format version (1 byte), a random 24-byte nonce, then the
//! XChaCha20-Poly1305 ciphertext of the gzipped JSON snapshot, with the first 9 bytes as
//! associated data (so the version cannot be changed either). The key is the app's: 32 bytes.
//!
//! What travels: the events (item, kind, time, quantity, surface; session ids do not — they are
//! hashed with this install's salt), the explicit preferences, the "not interested" marks and
//! the exploration posteriors. Forgotten items travel nowhere: their events are gone.
//! The importing device replays the events through the same code as `track`, so affinities,
//! item history and purchase cycles come out as if the shopper had used it all along. Signals of
//! events already pruned by retention are not carried (after a year they have decayed to
//! nothing at the default half-life). The personal layer is not carried: it is tied to one
//! model and relearns from new feedback.

use crate::error::{Error, Result};
use crate::learn::bandit::BetaArm;
use crate::types::{Attribute, EventKind, NotInterested};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};

const MAGIC: &[u8; 8] = b"TAILORPS";
/// Format of blobs this build writes and the newest it reads.
pub const FORMAT: u8 = 1;
pub const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 24;
const HEADER_BYTES: usize = MAGIC.len() + 1;
/// A profile holds at most `max_events` (≤ 4 billion, 50,000 by default) events; a blob above
/// this size is refused before decrypting so a hostile one cannot exhaust memory.
pub const MAX_BLOB_BYTES: usize = 64 * 1024 * 1024;
/// The decompressed snapshot is bounded too (a gzip bomb inside a valid blob).
const MAX_PLAIN_BYTES: u64 = 512 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotEvent {
    pub ts: i64,
    pub kind: EventKind,
    pub item_id: String,
    pub quantity: u32,
    #[serde(default)]
    pub surface: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotArm {
    pub arm: String,
    pub alpha: f32,
    pub beta: f32,
}

/// What a snapshot carries (see the module comment).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub events: Vec<SnapshotEvent>,
    pub preferences: Vec<Attribute>,
    pub exploration: Vec<SnapshotArm>,
    /// The shopper's "not interested" marks (absent from blobs of builds before them).
    #[serde(default)]
    pub not_interested: Vec<NotInterested>,
}

fn cipher(key: &[u8]) -> Result<XChaCha20Poly1305> {
    if key.len() != KEY_BYTES {
        return Err(Error::invalid(format!(
            "the snapshot key has {} bytes; use a {KEY_BYTES}-byte key the app keeps (e.g. in \
             the Android Keystore or the iOS Keychain)",
            key.len()
        )));
    }
    XChaCha20Poly1305::new_from_slice(key)
        .map_err(|_| Error::invalid(format!("the snapshot key must be {KEY_BYTES} bytes")))
}

/// Encrypt a snapshot under `key`.
pub fn seal(snapshot: &Snapshot, key: &[u8]) -> Result<Vec<u8>> {
    let cipher = cipher(key)?;
    let json = serde_json::to_vec(snapshot)
        .map_err(|e| Error::invalid(format!("cannot encode the profile snapshot: {e}")))?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&json)?;
    let plain = gz.finish()?;
    let mut nonce = [0u8; NONCE_BYTES];
    {
        use rand::TryRngCore;
        rand::rngs::OsRng
            .try_fill_bytes(&mut nonce)
            .map_err(|e| std::io::Error::other(format!("no OS randomness for the nonce: {e}")))?;
    }
    let mut blob = Vec::with_capacity(HEADER_BYTES + NONCE_BYTES + plain.len() + 16);
    blob.extend_from_slice(MAGIC);
    blob.push(FORMAT);
    let aad = blob.clone();
    let sealed = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &plain,
                aad: &aad,
            },
        )
        .map_err(|_| Error::invalid("cannot encrypt the profile snapshot"))?;
    blob.extend_from_slice(&nonce);
    blob.extend_from_slice(&sealed);
    if blob.len() > MAX_BLOB_BYTES {
        return Err(Error::invalid(format!(
            "the profile snapshot is {} bytes, above the {MAX_BLOB_BYTES}-byte limit",
            blob.len()
        )));
    }
    Ok(blob)
}

/// Check, decrypt and decode a blob. Every failure is `InvalidInput` naming the problem.
pub fn open(blob: &[u8], key: &[u8]) -> Result<Snapshot> {
    let cipher = cipher(key)?;
    if blob.len() > MAX_BLOB_BYTES {
        return Err(Error::invalid(format!(
            "the profile snapshot is {} bytes, above the {MAX_BLOB_BYTES}-byte limit",
            blob.len()
        )));
    }
    if blob.len() < HEADER_BYTES || &blob[..MAGIC.len()] != MAGIC {
        return Err(Error::invalid(
            "not a Tailor profile snapshot (it does not start with TAILORPS); pass the bytes \
             export_profile_snapshot returned",
        ));
    }
    let format = blob[MAGIC.len()];
    if format > FORMAT {
        return Err(Error::invalid(format!(
            "the profile snapshot has format {format}, newer than this build reads ({FORMAT}); \
             update the app on this device"
        )));
    }
    if blob.len() < HEADER_BYTES + NONCE_BYTES + 16 {
        return Err(Error::invalid(
            "the profile snapshot is truncated; pass the whole blob",
        ));
    }
    let (aad, rest) = blob.split_at(HEADER_BYTES);
    let (nonce, sealed) = rest.split_at(NONCE_BYTES);
    let plain = cipher
        .decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad })
        .map_err(|_| {
            Error::invalid(
                "the profile snapshot does not decrypt: a different key, or the blob was \
                 changed or cut short",
            )
        })?;
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(&plain[..])
        .take(MAX_PLAIN_BYTES)
        .read_to_end(&mut json)
        .map_err(|e| Error::invalid(format!("the profile snapshot is damaged: {e}")))?;
    serde_json::from_slice(&json)
        .map_err(|e| Error::invalid(format!("the profile snapshot is damaged: {e}")))
}

/// Posteriors merged: each side's evidence beyond the shared uniform prior is added.
pub fn merge_arm(local: BetaArm, imported: &SnapshotArm) -> Result<BetaArm> {
    let ok = |v: f32| (1.0..1e9).contains(&v);
    if !ok(imported.alpha) || !ok(imported.beta) {
        return Err(Error::invalid(format!(
            "the profile snapshot has an invalid exploration arm {:?}",
            imported.arm
        )));
    }
    Ok(BetaArm {
        alpha: local.alpha + imported.alpha - 1.0,
        beta: local.beta + imported.beta - 1.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Snapshot {
        Snapshot {
            events: vec![SnapshotEvent {
                ts: 1_700_000_000,
                kind: EventKind::Purchase,
                item_id: "85123A".into(),
                quantity: 2,
                surface: Some("home".into()),
            }],
            preferences: vec![],
            exploration: vec![SnapshotArm {
                arm: "category:mugs".into(),
                alpha: 3.0,
                beta: 5.0,
            }],
            not_interested: vec![NotInterested {
                attribute: Attribute {
                    kind: crate::types::AttributeKind::Brand,
                    value: "acme".into(),
                },
                since: 1_700_000_100,
            }],
        }
    }

    fn expect_invalid(r: Result<Snapshot>, needle: &str) {
        match r {
            Err(Error::Invalid(m)) => assert!(m.contains(needle), "{m}"),
            other => panic!("expected InvalidInput with {needle:?}, got {other:?}"),
        }
    }

    #[test]
    fn round_trips_and_refuses_every_bad_blob() {
        let key = [7u8; 32];
        let blob = seal(&sample(), &key).unwrap();
        assert_eq!(open(&blob, &key).unwrap(), sample());
        assert_ne!(
            seal(&sample(), &key).unwrap(),
            blob,
            "a fresh nonce each time"
        );
        expect_invalid(open(&blob, &[8u8; 32]), "does not decrypt");
        expect_invalid(open(&blob, &key[..16]), "16 bytes");
        for i in [HEADER_BYTES + 3, blob.len() / 2, blob.len() - 1] {
            let mut tampered = blob.clone();
            tampered[i] ^= 1;
            expect_invalid(open(&tampered, &key), "does not decrypt");
        }
        expect_invalid(open(&blob[..blob.len() - 5], &key), "does not decrypt");
        expect_invalid(open(&blob[..20], &key), "truncated");
        expect_invalid(open(b"hello", &key), "not a Tailor profile snapshot");
        let mut newer = blob.clone();
        newer[MAGIC.len()] = FORMAT + 1;
        expect_invalid(open(&newer, &key), "newer than this build");
        let mut older_claim = blob.clone();
        older_claim[MAGIC.len()] = 0;
        expect_invalid(open(&older_claim, &key), "does not decrypt");
    }
}
