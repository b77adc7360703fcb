//! `tailor keygen` and `tailor sign-model`: ed25519 signatures for models, so an app configured
//! with `trusted_model_keys` loads only models its ML team signed.

use crate::CliResult;
use std::path::{Path, PathBuf};
use tailor::engine::model::{signature, Manifest};

/// Write a new secret key to `out` (mode 0600) and print the public key.
pub fn keygen(out: &Path) -> CliResult {
    if out.exists() {
        return Err(format!("{} exists; refusing to overwrite a key", out.display()).into());
    }
    let (secret, public) = signature::generate_keypair().map_err(tailor::TailorError::from)?;
    write_private(out, &secret)?;
    println!(
        "secret key written to {} (keep it out of the app and out of git)",
        out.display()
    );
    println!("public key (put it in TailorConfig.trusted_model_keys): {public}");
    Ok(())
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    writeln!(f, "{text}")
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, format!("{text}\n"))
}

/// Sign `manifest` in place (or into `out`) with the secret key in `key`.
pub fn sign(manifest: &Path, key: &Path, out: Option<PathBuf>) -> CliResult {
    let secret =
        std::fs::read_to_string(key).map_err(|e| format!("cannot read {}: {e}", key.display()))?;
    let text = std::fs::read_to_string(manifest)
        .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
    let mut m = Manifest::parse(&text).map_err(tailor::TailorError::from)?;
    // Sign only what validates: the hash must match the model beside the manifest.
    let onnx = manifest.with_file_name("model.onnx");
    let bytes = std::fs::read(&onnx).map_err(|e| format!("cannot read {}: {e}", onnx.display()))?;
    m.check_hash(&bytes).map_err(tailor::TailorError::from)?;
    let public = signature::sign(&mut m, &secret).map_err(tailor::TailorError::from)?;
    let target = out.unwrap_or_else(|| manifest.to_path_buf());
    std::fs::write(&target, serde_json::to_string_pretty(&m)? + "\n")?;
    println!("signed {} v{} -> {}", m.name, m.version, target.display());
    println!("verifies with public key {public}");
    Ok(())
}
