//! The archive's counter `archive_lost`: entries the store trimmed before the archive had
//! them, per source, this process (src/archive/run.rs adds to it when it reports them).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::archive::Source;

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicU64 = AtomicU64::new(0);
static LOST: [AtomicU64; Source::ALL.len()] = [ZERO; Source::ALL.len()];

fn slot(source: &str) -> Option<usize> {
    Source::ALL.iter().position(|s| s.name() == source)
}

/// Adds `n` lost entries of `source` (a [`Source::name`]).
pub fn add_lost(source: &str, n: u64) {
    if let Some(i) = slot(source) {
        LOST[i].fetch_add(n, Relaxed);
    }
}

/// Lost entries per source name, this process.
pub fn lost() -> Vec<(&'static str, u64)> {
    Source::ALL
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name(), LOST[i].load(Relaxed)))
        .collect()
}
