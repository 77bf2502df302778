//! The archive's state on the embedded store: one cursor per source (with the count of
//! entries the store trimmed before the archive had them) and the lease.

use rusqlite::{Connection, Transaction};

use crate::error::Result;

/// Schema step 24.
pub const SCHEMA: &str = "
CREATE TABLE archive_cursors (ns TEXT NOT NULL, source TEXT NOT NULL, cursor TEXT NOT NULL,
  overrun INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (ns, source)) WITHOUT ROWID;
CREATE TABLE archive_lease (ns TEXT PRIMARY KEY, holder TEXT NOT NULL,
  until_ms INTEGER NOT NULL) WITHOUT ROWID;
";

const TABLES: [&str; 2] = ["archive_cursors", "archive_lease"];

/// The namespace's rows.
pub fn rows(c: &Connection, ns: &str) -> Result<u64> {
    crate::engine::sqlite::count_rows(c, ns, &TABLES)
}

/// Deletes the namespace's rows.
pub fn clear(tx: &Transaction<'_>, ns: &str) -> Result<u64> {
    crate::engine::sqlite::delete_rows(tx, ns, &TABLES)
}
