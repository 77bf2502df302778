//! The archive's jobs source(s) on both stores. CONTRACT STUB: a helper fills it in.

use crate::archive::model::{Batch};
use crate::engine::{Backend, Op};
use crate::error::Error;

fn todo<T>() -> Op<T> {
    Op::Ready(Err(Error::Backend("archive source jobs: not built yet".into())))
}

/// Rows after `after`, oldest first.
pub fn read(_b: &Backend, _ns: &str, _after: Option<String>, _limit: usize) -> Op<Batch> {
    todo()
}

/// The committed cursor.
pub fn cursor(_b: &Backend, _ns: &str) -> Op<Option<String>> {
    todo()
}

/// Commits a cursor (never backwards).
pub fn commit(_b: &Backend, _ns: &str, _cursor: String) -> Op<()> {
    todo()
}

/// Entries trimmed before the archive had them.
pub fn overrun(_b: &Backend, _ns: &str) -> Op<u64> {
    todo()
}

/// Deletes the cursors of this capability's sources; how many there were.
pub fn forget(_b: &Backend, _ns: &str) -> Op<u64> {
    todo()
}
