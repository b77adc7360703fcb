//! Reading model files without trusting them: a model path comes from an ML team or a download,
//! so it may be a FIFO (which blocks a reader forever), a link to `/dev/zero` (endless bytes) or
//! a huge file. Only regular files are read (links resolved, then checked), the size is checked
//! before reading and the read itself is capped, so a hostile path costs at most `limit` bytes.

use crate::error::{Error, ModelProblem, Result};
use std::io::Read;
use std::path::Path;

/// `model.onnx` larger than this is refused before it is read (the bundled ones are a few kB).
pub const MAX_MODEL_BYTES: u64 = 64 * 1024 * 1024;
/// `manifest.json` larger than this is refused (a manifest with ranges for 256 features is ~20 kB).
pub const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;
/// The registry's own `active.json`.
pub const MAX_STATE_BYTES: u64 = 64 * 1024;

/// What a file is, for messages: "a FIFO", "a directory", ...
fn kind(ft: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO";
        }
        if ft.is_char_device() || ft.is_block_device() {
            return "a device";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    if ft.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Read `path` if it is (or links to) a regular file of at most `limit` bytes. A missing file
/// is `NotFound`; anything else is `problem` (or `TooLarge`), naming the file and the limit.
pub fn read_bounded(path: &Path, limit: u64, problem: ModelProblem) -> Result<Vec<u8>> {
    let shown = path.display();
    // `metadata` follows links, so a link to a FIFO or a device is judged by what it points to.
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::NotFound(format!("cannot read {shown}: {e}")))?;
    let ft = meta.file_type();
    if !ft.is_file() {
        return Err(Error::model(
            problem,
            format!(
                "{shown} is {}; Tailor reads model files only from regular files",
                kind(&ft)
            ),
        ));
    }
    if meta.len() > limit {
        return Err(too_large(path, meta.len(), limit));
    }
    let file =
        open_nonblocking(path).map_err(|e| Error::NotFound(format!("cannot read {shown}: {e}")))?;
    // The path may have been swapped between the check and the open: check what was opened.
    let opened = file.metadata()?;
    if !opened.file_type().is_file() {
        return Err(Error::model(
            problem,
            format!(
                "{shown} is {}; expected a regular file",
                kind(&opened.file_type())
            ),
        ));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(opened.len().min(limit)).unwrap_or(0));
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(path, bytes.len() as u64, limit));
    }
    Ok(bytes)
}

/// Read a UTF-8 text file (a manifest) with the same checks.
pub fn read_text_bounded(path: &Path, limit: u64, problem: ModelProblem) -> Result<String> {
    String::from_utf8(read_bounded(path, limit, problem)?)
        .map_err(|_| Error::model(problem, format!("{} is not UTF-8 text", path.display())))
}

fn too_large(path: &Path, len: u64, limit: u64) -> Error {
    Error::model(
        ModelProblem::TooLarge,
        format!(
            "{} is {} bytes or more; the limit is {limit} bytes",
            path.display(),
            len
        ),
    )
}

/// Open without blocking: were the path replaced by a FIFO after the type check, a plain open
/// would wait for a writer forever.
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NONBLOCK on Linux (every architecture Tailor ships for).
        opts.custom_flags(0o4000);
    }
    opts.open(path)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_small_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("m");
        std::fs::write(&small, b"12345").unwrap();
        assert_eq!(
            read_bounded(&small, 5, ModelProblem::NotOnnx).unwrap(),
            b"12345"
        );
        let e = read_bounded(&small, 4, ModelProblem::NotOnnx).unwrap_err();
        assert!(matches!(&e, Error::Model(ModelProblem::TooLarge, m) if m.contains("limit is 4")));
        let e = read_bounded(dir.path(), 4, ModelProblem::NotOnnx).unwrap_err();
        assert!(matches!(&e, Error::Model(ModelProblem::NotOnnx, m) if m.contains("directory")));
        let link = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let e = read_bounded(&link, 4, ModelProblem::NotOnnx).unwrap_err();
        assert!(matches!(&e, Error::Model(ModelProblem::NotOnnx, m) if m.contains("device")));
        let missing = read_bounded(&dir.path().join("nope"), 4, ModelProblem::NotOnnx);
        assert!(matches!(missing, Err(Error::NotFound(_))));
    }
}
