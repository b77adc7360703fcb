//! Wall-clock time in Unix seconds. Every API that takes a time also accepts an explicit one, so
//! tests and replays never depend on this.

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
