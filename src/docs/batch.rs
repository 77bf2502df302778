//! Batch operations of `hub.docs` for the file sync's full scan: the sync state of many paths
//! in one read, and many file-side writes in one transaction (SQLite) or one script (Redis),
//! each decided exactly as a single [`Docs::write`] of origin "file" would be.

use std::sync::Arc;

use super::{redis, sqlite, Docs, Origin, Write};
use crate::engine::Op;
use crate::error::Error;

/// What the file sync needs to know of a stored document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// SHA-256 of the stored text.
    pub hash: String,
    /// Hash of the text the file and the store last agreed on ("" if never).
    pub synced: String,
    /// The stored version.
    pub version: u64,
}

/// What became of one write of [`Docs::import_many`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imported {
    /// Stored as this new version.
    Stored(u64),
    /// The store held the same text already (at this version); it is now the synced base.
    Same(u64),
    /// The stored version (given) is not the one the write expected: nothing was written.
    Stale(u64),
}

impl Docs {
    /// The sync state of each of `paths` (None where no document is stored), in one read.
    pub fn states(&self, paths: Vec<String>) -> Op<Vec<Option<State>>> {
        if let Some(e) = paths.iter().find_map(|p| self.check(p).err()) {
            return Op::Ready(Err(e));
        }
        if paths.is_empty() {
            return Op::Ready(Ok(vec![]));
        }
        self.backend.call(
            (self.ns(), Arc::new(paths)),
            |db, (ns, paths)| sqlite::states(db, &ns, &paths),
            |r, c, (ns, paths)| redis::states(r, c, ns, paths),
        )
    }

    /// Stores file-side writes (origin "file") in one transaction or script call; each is
    /// decided as [`Docs::write`] decides it (its `expected` version checked, the same text
    /// only recorded as synced), so a stale one leaves its document as it was. File-side
    /// writes are not queued for write-back.
    pub fn import_many(&self, writes: Vec<Write>) -> Op<Vec<Imported>> {
        if writes.iter().any(|w| w.origin != Origin::File) {
            return Op::Ready(Err(Error::validation(
                "import_many takes file-side writes (origin \"file\") only",
            )));
        }
        if writes.is_empty() {
            return Op::Ready(Ok(vec![]));
        }
        self.backend.call(
            (self.ns(), Arc::new(writes)),
            |db, (ns, writes)| sqlite::import_many(db, &ns, &writes),
            |r, c, (ns, writes)| redis::import_many(r, c, ns, writes),
        )
    }
}
