//! `hub.archive`: the long-term archive in PostgreSQL. A background archiver copies bus
//! messages and acknowledgements, dead letters, events, finished jobs, task versions and
//! pattern records from the store into PostgreSQL tables it creates and migrates, exactly
//! once: each source has a cursor kept in the store, advanced only after PostgreSQL
//! committed the batch, and rows are inserted idempotently on their natural ids. One
//! archiver per namespace works at a time (a lease in the store). See `docs/archive.md`.
//!
//! Layout: `model` (sources, rows, batches, the sink the loop writes to), `sources` (the
//! store side: reading each source after its cursor, committing cursors; one file per
//! capability read), `lease`, `run` (the loop), `pg` (PostgreSQL: schema, writes, queries).

pub mod lease;
pub mod model;
pub mod pg;
pub mod run;
pub mod sources;
pub mod sqlite;
#[cfg(test)]
mod tests_run;
#[cfg(test)]
pub(crate) mod testsink;

pub use self::model::{Batch, Rows, Sink, Source};

use crate::engine::{Capability, Migration};

/// This capability's row in the registry: the archive's state in the store (cursors and the
/// lease on the embedded store; on Redis each source's cursor lives under its own
/// capability's keys, the lease under `{<ns>:archive}`). Nothing of it is exported.
pub const CAPABILITY: Capability = Capability {
    name: "archive",
    migrations: &[Migration {
        version: 24,
        sql: sqlite::SCHEMA,
    }],
    rows: sqlite::rows,
    clear: sqlite::clear,
    topic: None,
    tag: "archive",
    partitioned: false,
    changes: false,
    sweep: None,
    export: crate::limits::no_export,
    import: crate::limits::no_import,
};
