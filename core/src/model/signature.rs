//! Optional ed25519 signatures on manifests, so an app can accept only models its ML team signed.

use super::manifest::Manifest;
use crate::error::{Error, ModelProblem, Result};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

fn bad(msg: impl Into<String>) -> Error {
    Error::model(ModelProblem::BadSignature, msg)
}

/// Parse hex public keys from the config; a malformed key is a configuration error.
pub fn parse_keys(hex_keys: &[String]) -> Result<Vec<VerifyingKey>> {
    hex_keys
        .iter()
        .map(|k| {
            let bytes: [u8; 32] = hex::decode(k.trim())
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| {
                    Error::invalid(format!("trusted model key {k:?} is not 64 hex digits"))
                })?;
            VerifyingKey::from_bytes(&bytes).map_err(|e| {
                Error::invalid(format!(
                    "trusted model key {k:?} is not an ed25519 key: {e}"
                ))
            })
        })
        .collect()
}

/// Accept the manifest when no keys are configured, or when a configured key verifies it.
pub fn verify(manifest: &Manifest, keys: &[VerifyingKey]) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let sig_hex = manifest.signature.as_deref().ok_or_else(|| {
        bad("this app only accepts signed models; sign it with `tailor sign-model`")
    })?;
    let sig_bytes: [u8; 64] = hex::decode(sig_hex)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| bad("manifest `signature` must be 128 hex digits"))?;
    let sig = Signature::from_bytes(&sig_bytes);
    let msg = manifest.signing_message();
    if keys.iter().any(|k| k.verify(&msg, &sig).is_ok()) {
        Ok(())
    } else {
        Err(bad("the signature does not verify with any trusted key; the manifest or model was changed after signing, or signed with another key"))
    }
}

/// Sign a manifest in place with a 32-byte hex secret key; returns the public key (hex).
pub fn sign(manifest: &mut Manifest, secret_hex: &str) -> Result<String> {
    let secret: [u8; 32] = hex::decode(secret_hex.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            Error::invalid("the signing key must be 64 hex digits (an ed25519 secret key)")
        })?;
    let key = SigningKey::from_bytes(&secret);
    manifest.signature = Some(hex::encode(
        key.sign(&manifest.signing_message()).to_bytes(),
    ));
    Ok(hex::encode(key.verifying_key().to_bytes()))
}

/// A fresh key pair as (secret hex, public hex).
pub fn generate_keypair() -> Result<(String, String)> {
    use rand::TryRngCore;
    let mut secret = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut secret)
        .map_err(|e| std::io::Error::other(format!("no OS randomness: {e}")))?;
    let key = SigningKey::from_bytes(&secret);
    Ok((
        hex::encode(secret),
        hex::encode(key.verifying_key().to_bytes()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest::parse(&format!(
            r#"{{"name":"m","version":"1","features":["bought_count"],"sha256":"{}"}}"#,
            "b".repeat(64)
        ))
        .unwrap()
    }

    #[test]
    fn signed_manifest_verifies_and_tampering_fails() {
        let (secret, public) = generate_keypair().unwrap();
        let keys = parse_keys(&[public]).unwrap();
        let mut m = manifest();
        assert!(
            verify(&m, &keys).is_err(),
            "unsigned must fail when keys are set"
        );
        assert!(verify(&m, &[]).is_ok(), "no keys: signatures are optional");
        sign(&mut m, &secret).unwrap();
        verify(&m, &keys).unwrap();
        m.features.push("in_stock".into());
        assert!(matches!(
            verify(&m, &keys),
            Err(Error::Model(ModelProblem::BadSignature, _))
        ));
        let (_, other) = generate_keypair().unwrap();
        let mut m = manifest();
        sign(&mut m, &secret).unwrap();
        assert!(verify(&m, &parse_keys(&[other]).unwrap()).is_err());
    }
}
