//! The store side of the archive: each source read after its cursor, oldest first, and its
//! cursor committed. One file per capability read; this module only dispatches.
//!
//! Cursors are opaque text to the loop. On Redis a source's cursor lives under its own
//! capability's hash tag (`zl:{<ns>:<tag>}:archived:<source>`), so that the capability's
//! trimming scripts can read how far the archive got and hold entries not yet archived
//! (up to the bound in `docs/archive.md`); on the embedded store it is a row of
//! `archive_cursors`.

pub mod bus;
pub mod events;
pub mod held;
pub mod jobs;
pub mod patterns;
pub mod state;
pub mod tasks;
#[cfg(test)]
mod tests_bus;
#[cfg(test)]
mod tests_events;
#[cfg(test)]
mod tests_sources;

use std::sync::Arc;

use super::model::{Batch, Source};
use crate::engine::{Backend, Op};

/// The retention hold's bound: while a source has a committed cursor, its capability's
/// trimming keeps entries after the cursor until the source holds `HOLD` times its retention
/// limit (length: `HOLD` x max_len entries; age: entries up to `HOLD` x max_age old); past
/// that it trims and adds what it dropped unarchived to the source's overrun counter
/// (`docs/archive.md`). The Lua side is `ARCHIVE_HOLD` in `src/archive/lua/hold.lua`.
pub const HOLD: u64 = 10;

/// Unarchived entries held for a source without a length limit.
pub const HOLD_UNBOUNDED: u64 = 100_000;

/// Most rows one read returns.
pub const MAX_READ: usize = 10_000;

/// The store side of one namespace's archive.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    ns: Arc<str>,
}

impl Store {
    /// The archive sources of `ns` on `backend`.
    pub fn new(backend: Backend, ns: Arc<str>) -> Store {
        Store { backend, ns }
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.ns
    }

    /// The store.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Up to `limit` (1..=[`MAX_READ`]) rows of `source` after `after` (None: from the
    /// oldest the store holds), oldest first.
    pub fn read(&self, source: Source, after: Option<String>, limit: usize) -> Op<Batch> {
        let (b, ns) = (&self.backend, &*self.ns);
        match source {
            Source::Messages | Source::Acks | Source::DeadLetters => {
                bus::read(b, ns, source, after, limit)
            }
            Source::Events => events::read(b, ns, after, limit),
            Source::Jobs => jobs::read(b, ns, after, limit),
            Source::Tasks => tasks::read(b, ns, after, limit),
            Source::Patterns => patterns::read(b, ns, after, limit),
        }
    }

    /// The committed cursor of `source` (None: the archive never committed one).
    pub fn cursor(&self, source: Source) -> Op<Option<String>> {
        let (b, ns) = (&self.backend, &*self.ns);
        match source {
            Source::Messages | Source::Acks | Source::DeadLetters => bus::cursor(b, ns, source),
            Source::Events => events::cursor(b, ns),
            Source::Jobs => jobs::cursor(b, ns),
            Source::Tasks => tasks::cursor(b, ns),
            Source::Patterns => patterns::cursor(b, ns),
        }
    }

    /// The committed cursor of `source`, else a start cursor, committed, that reads from the
    /// oldest record the store holds: from then on the capability's trimming holds every
    /// record not archived (up to the bound), before the archive wrote anything (PostgreSQL
    /// may be down). For tasks it also turns the archive log on.
    pub fn start(&self, source: Source) -> Op<String> {
        let (b, ns) = (&self.backend, &*self.ns);
        match source {
            Source::Messages | Source::Acks | Source::DeadLetters => bus::start(b, ns, source),
            Source::Events => events::start(b, ns),
            Source::Jobs => jobs::start(b, ns),
            Source::Tasks => tasks::start(b, ns),
            Source::Patterns => patterns::start(b, ns),
        }
    }

    /// Commits `cursor` (a `Batch::next`) as how far `source` is archived. Never moves a
    /// cursor back: committing one older than the stored one changes nothing.
    pub fn commit(&self, source: Source, cursor: String) -> Op<()> {
        let (b, ns) = (&self.backend, &*self.ns);
        match source {
            Source::Messages | Source::Acks | Source::DeadLetters => {
                bus::commit(b, ns, source, cursor)
            }
            Source::Events => events::commit(b, ns, cursor),
            Source::Jobs => jobs::commit(b, ns, cursor),
            Source::Tasks => tasks::commit(b, ns, cursor),
            Source::Patterns => patterns::commit(b, ns, cursor),
        }
    }

    /// Entries of `source` the store trimmed before the archive had them, since the cursor
    /// was first committed (retention crossed the hold's bound).
    pub fn overrun(&self, source: Source) -> Op<u64> {
        let (b, ns) = (&self.backend, &*self.ns);
        match source {
            Source::Messages | Source::Acks | Source::DeadLetters => bus::overrun(b, ns, source),
            Source::Events => events::overrun(b, ns),
            Source::Jobs => jobs::overrun(b, ns),
            Source::Tasks => tasks::overrun(b, ns),
            Source::Patterns => patterns::overrun(b, ns),
        }
    }

    /// Forgets every cursor (the archive detached for good or cleared): trimming no longer
    /// waits for the archive. Returns how many cursors there were.
    pub fn forget(&self) -> Op<u64> {
        let (b, ns) = (&self.backend, &*self.ns);
        let ops = [
            bus::forget(b, ns),
            events::forget(b, ns),
            jobs::forget(b, ns),
            tasks::forget(b, ns),
            patterns::forget(b, ns),
        ];
        Op::Async(Box::pin(async move {
            let mut n = 0;
            for op in ops {
                n += op.run().await?;
            }
            Ok(n)
        }))
    }
}
