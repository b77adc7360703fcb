//! Stopping long writes (a 100,000-item import, a large event batch) from another thread.
//!
//! `Tailor::interrupt()` and `close()` bump a generation counter; a long operation remembers the
//! generation it started under and checks it between rows (every statement Tailor runs inside
//! such a loop is short, so a check between rows is as quick as SQLite's own interrupt and cannot
//! hit an unrelated call). The operation's transaction then rolls back, so nothing is
//! half-written.

use crate::error::{Error, Result};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Rows written between two checks: cheap enough to be invisible, frequent enough to stop a
/// 100,000-row write within milliseconds.
pub const CHECK_EVERY: usize = 512;

/// The generation counter shared by a `Tailor` and the operations it starts.
#[derive(Debug, Default, Clone)]
pub struct Interrupts {
    generation: Arc<AtomicU64>,
}

impl Interrupts {
    /// Stop every operation started before this call.
    pub fn interrupt(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// A token for an operation starting now.
    pub fn token(&self) -> Cancel {
        Cancel {
            generation: Some(self.generation.clone()),
            start: self.generation.load(Ordering::SeqCst),
        }
    }
}

/// Held by one long operation. The default token never fires (tools, tests, replay).
#[derive(Debug, Default, Clone)]
pub struct Cancel {
    generation: Option<Arc<AtomicU64>>,
    start: u64,
}

impl Cancel {
    /// `Err(Interrupted)` once `interrupt()` was called after this operation started.
    pub fn check(&self) -> Result<()> {
        match &self.generation {
            Some(g) if g.load(Ordering::SeqCst) != self.start => Err(Error::Interrupted),
            _ => Ok(()),
        }
    }

    /// `check` every `CHECK_EVERY` rows of a loop.
    pub fn check_row(&self, row: usize) -> Result<()> {
        if row.is_multiple_of(CHECK_EVERY) {
            self.check()
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_fires_only_for_interrupts_after_it_was_taken() {
        let i = Interrupts::default();
        i.interrupt();
        let token = i.token();
        assert!(token.check().is_ok(), "an earlier interrupt does not count");
        i.interrupt();
        assert!(matches!(token.check(), Err(Error::Interrupted)));
        assert!(i.token().check().is_ok());
        assert!(Cancel::default().check().is_ok());
    }
}
