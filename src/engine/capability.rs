//! The shape of a capability's row in the registry (`crate::registry`): what the hub needs to
//! know of a capability without knowing what it does. The engine defines the shape; the
//! capabilities fill in their rows; the registry lists them.

use rusqlite::{Connection, Transaction};

pub use super::sqlite::SweepRows;
use super::sqlite::{Migration, Topic};
use crate::error::Result;

/// Rows namespace `ns` holds in a capability's tables (embedded store).
pub type RowCount = fn(&Connection, &str) -> Result<u64>;

/// Deletes namespace `ns`'s rows from a capability's tables; returns how many (embedded store).
pub type ClearRows = fn(&Transaction<'_>, &str) -> Result<u64>;

/// One capability as the hub sees it.
#[derive(Debug, Clone, Copy)]
pub struct Capability {
    /// Its name: the Python attribute (`hub.<name>`) and the label in exports and health.
    pub name: &'static str,
    /// Its steps of the embedded store's schema, each with the global version it brings a
    /// database to (the registry checks that all steps together count 1, 2, ... N).
    pub migrations: &'static [Migration],
    /// Counts a namespace's rows (what `hub.health().keys` adds up on the embedded store).
    pub rows: RowCount,
    /// Deletes a namespace's rows (what `hub.clear()` runs on the embedded store).
    pub clear: ClearRows,
    /// The wake topic its writers name on the embedded store, if any reader waits on it.
    pub topic: Option<Topic>,
    /// The tag of its Redis keys: every key is `zl:{<ns>:<tag>}:...` (see
    /// [`super::keys::prefix`]), so one namespace's keys of one capability share a slot.
    pub tag: &'static str,
    /// True when its writes append to the namespace's change feed (`crate::changes`).
    pub changes: bool,
    /// Its background sweep of expired rows on the embedded store, if it keeps any.
    pub sweep: Option<SweepRows>,
}
