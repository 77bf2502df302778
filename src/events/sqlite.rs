//! `hub.events` on the embedded store.

use rusqlite::{Connection, Transaction};

use crate::error::Result;

/// Tables of this capability (one migration; see `engine::sqlite::MIGRATIONS`).
pub const SCHEMA: &str = "";

/// Rows this namespace holds.
pub fn rows(_c: &Connection, _ns: &str) -> Result<u64> {
    Ok(0)
}

/// Deletes every row of this namespace; returns how many.
pub fn clear(_tx: &Transaction<'_>, _ns: &str) -> Result<u64> {
    Ok(0)
}
