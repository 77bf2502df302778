//! `hub.changes`: the namespace's change feed. Capabilities that declare it in their registry
//! row (`Capability::changes`) append what each write changed (capability, record id,
//! version, kind of change) in the same atomic step as the write: the same transaction on
//! the embedded store, the same script on Redis. Readers follow the feed with a cursor
//! (resumable across processes and restarts) for as long as its retention keeps the entries.
//!
//! Layout: one sequence per capability, so that on a Redis Cluster a capability's changes
//! live in the slot of its own keys (a write and its change entry are one script). Within a
//! capability the order is exact; across capabilities a read merges by time (milliseconds,
//! then the registry's order). A cursor holds one position per capability.
//!
//! Retention: each capability keeps its newest [`MAX_LEN`] entries (trimmed as it appends).
//! Each entry's sequence number is one more than the previous one's, and a sequence starts at
//! the current time in microseconds, so a reader can always tell when entries it has not
//! seen are gone (trimmed, or the namespace was cleared): the read fails with
//! [`Error::Rescan`], carrying the cursor to resume from once the reader has re-read the
//! state it keeps (its rescan).

pub mod cursor;
pub mod dump;
pub mod redis;
pub mod sqlite;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

pub use self::cursor::Cursor;
use crate::engine::{tri, Backend, Capability, Migration, Op, Topic};
use crate::error::{Error, Result};

/// What readers of the feed wait on (on the embedded store).
pub const TOPIC: Topic = Topic("changes");

/// Entries each capability's feed keeps per namespace. The Lua prelude's `CHANGES_MAX_LEN`
/// says the same (a test checks it).
pub const MAX_LEN: u64 = 10_000;

/// Most changes one read returns.
pub const MAX_READ: usize = 10_000;

/// This capability's row in the registry: the feed's table on the embedded store (on Redis
/// its entries live under each declaring capability's own keys).
pub const CAPABILITY: Capability = Capability {
    name: "changes",
    migrations: &[Migration {
        version: 9,
        sql: sqlite::SCHEMA,
    }],
    rows: sqlite::rows,
    clear: sqlite::clear,
    topic: Some(TOPIC),
    tag: "changes",
    partitioned: false,
    changes: false,
    sweep: None,
    export: dump::export,
    import: dump::import,
};

/// What a change did to its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The record is new.
    Created,
    /// The record was written again (a new version).
    Updated,
    /// The record is gone.
    Deleted,
}

impl Kind {
    /// Its one-letter code in the store.
    pub fn code(self) -> &'static str {
        match self {
            Kind::Created => "c",
            Kind::Updated => "u",
            Kind::Deleted => "d",
        }
    }

    /// From the store's code.
    pub fn parse(s: &str) -> Result<Kind> {
        match s {
            "c" => Ok(Kind::Created),
            "u" => Ok(Kind::Updated),
            "d" => Ok(Kind::Deleted),
            _ => Err(Error::Backend(format!(
                "unknown change kind {s:?} in the feed"
            ))),
        }
    }

    /// Its name: "created", "updated" or "deleted".
    pub fn name(self) -> &'static str {
        match self {
            Kind::Created => "created",
            Kind::Updated => "updated",
            Kind::Deleted => "deleted",
        }
    }
}

/// One change as the feed reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The capability that wrote it ("tasks", "docs", ...).
    pub capability: String,
    /// The record's id (a task id, a document path, a key).
    pub id: String,
    /// The record's version after the change (0 where the capability keeps none).
    pub version: u64,
    /// What happened.
    pub kind: Kind,
    /// When, in milliseconds since the epoch.
    pub at_ms: u64,
    /// Position in the capability's sequence.
    pub seq: u64,
    /// Where the entry sits in the store (a Redis stream id; the sequence on SQLite).
    pub pos: String,
}

/// What a capability's write records (inside its transaction or script).
#[derive(Debug, Clone)]
pub struct Record<'a> {
    /// The record's id.
    pub id: &'a str,
    /// Its version after the write.
    pub version: u64,
    /// What happened.
    pub kind: Kind,
}

/// One capability's entries after a position, and its sequence's last number.
#[derive(Debug, Clone, Default)]
pub struct Slice {
    /// Entries after the position, oldest first.
    pub entries: Vec<Change>,
    /// The sequence's newest number (0: no sequence: never written, or cleared).
    pub last: u64,
}

/// A page of the feed: changes oldest first, and the cursor after them.
#[derive(Debug, Clone)]
pub struct Page {
    /// The changes.
    pub changes: Vec<Change>,
    /// Pass it as `after` to read on.
    pub cursor: Cursor,
}

/// A capability that writes to the feed: its name and its Redis key tag.
#[derive(Debug, Clone, Copy)]
pub struct Feed {
    /// The capability's name.
    pub name: &'static str,
    /// Its Redis key tag (its feed lives under its keys).
    pub tag: &'static str,
}

/// The change feed of one namespace.
#[derive(Clone)]
pub struct Changes {
    backend: Backend,
    ns: Arc<str>,
    feeds: Arc<[Feed]>,
}

impl Changes {
    /// The feed of `ns` on `backend`, written by the capabilities `feeds` (the registry's rows
    /// that declare it, in registry order: the hub passes them).
    pub fn new(backend: Backend, ns: Arc<str>, feeds: Arc<[Feed]>) -> Changes {
        Changes { backend, ns, feeds }
    }

    /// The cursor at the end of the feed now: reading after it returns only later changes.
    pub fn end(&self) -> Op<Cursor> {
        self.backend
            .call(
                (self.ns.to_string(), self.feeds.clone()),
                |db, (ns, feeds)| sqlite::last(db, &ns, &feeds),
                |r, c, (ns, feeds)| redis::last(r, c, ns, feeds),
            )
            .map(Cursor::at_end)
    }

    /// Changes after `after` (None: from the oldest retained), at most `limit`, waiting up
    /// to `block` for the first. Fails with [`Error::Rescan`] when changes after the cursor
    /// are no longer retained (or the namespace was cleared since).
    pub fn read(&self, after: Option<&str>, limit: usize, block: Duration) -> Op<Page> {
        if limit == 0 || limit > MAX_READ {
            return Op::Ready(Err(Error::validation(format!(
                "limit must be 1 to {MAX_READ}, got {limit}"
            ))));
        }
        let cursor = tri!(after.map(Cursor::parse).transpose()).unwrap_or_default();
        self.backend.call(
            (self.ns.to_string(), self.feeds.clone(), cursor),
            move |db, (ns, feeds, cur)| sqlite::read(db, &ns, &feeds, cur, limit, block),
            move |r, c, (ns, feeds, cur)| redis::read(r, c, ns, feeds, cur, limit, block),
        )
    }
}

/// Merges the capabilities' slices after `cur` into one page of at most `limit`; None when a
/// capability's sequence has a gap after the cursor's position in it (entries trimmed, or
/// the namespace cleared since). `slices` are in registry order.
pub fn merge(cur: &Cursor, slices: Vec<(&'static str, Slice)>, limit: usize) -> Option<Page> {
    for (cap, s) in &slices {
        if let Some((seq, _)) = cur.get(cap) {
            // A sequence that went back (cleared and written again), or that holds entries
            // after ours that it no longer keeps.
            let reset = s.last < seq;
            let trimmed = s.last > seq && s.entries.first().is_none_or(|e| e.seq != seq + 1);
            if reset || trimmed {
                return None;
            }
        }
    }
    let mut all: Vec<(usize, Change)> = slices
        .into_iter()
        .enumerate()
        .flat_map(|(i, (_, s))| s.entries.into_iter().map(move |c| (i, c)))
        .collect();
    all.sort_by_key(|(i, c)| (c.at_ms, *i, c.seq));
    all.truncate(limit);
    let mut next = cur.clone();
    for (_, c) in &all {
        next.set(&c.capability, c.seq, &c.pos);
    }
    Some(Page {
        changes: all.into_iter().map(|(_, c)| c).collect(),
        cursor: next,
    })
}

/// The error of a read that found a gap: resume from `end` (the end of the feed, taken
/// before the reader rescans, so nothing written after it is missed).
pub fn rescan(end: Cursor) -> Error {
    Error::Rescan(end.encode())
}
