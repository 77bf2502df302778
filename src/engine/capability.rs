//! The shape of a capability's row in the registry (`crate::registry`): what the hub needs to
//! know of a capability without knowing what it does. The engine defines the shape; the
//! capabilities fill in their rows; the registry lists them.

use rusqlite::{Connection, Transaction};
use serde_json::{Map, Value};

pub use super::sqlite::SweepRows;
use super::sqlite::{Migration, Topic};
use super::{Backend, Op};
use crate::error::Result;

/// Rows namespace `ns` holds in a capability's tables (embedded store).
pub type RowCount = fn(&Connection, &str) -> Result<u64>;

/// Deletes namespace `ns`'s rows from a capability's tables; returns how many (embedded store).
pub type ClearRows = fn(&Transaction<'_>, &str) -> Result<u64>;

/// One record of a namespace export: a JSON object, the same from every backend (the hub adds
/// the capability's name as its field `"c"`; see `crate::transfer`).
pub type Record = Map<String, Value>;

/// One page of a capability's records in an export, and where the next page starts.
#[derive(Debug, Default)]
pub struct Page {
    /// The records, in the order an import should write them.
    pub records: Vec<Record>,
    /// The cursor of the next page (None: this was the last page).
    pub next: Option<Value>,
}

/// Reads one page of namespace `ns`'s records from `backend`, starting at `cursor` (Null: the
/// first page; otherwise a `next` this function returned). A page is bounded, so an export
/// holds at most one page of a capability in memory.
pub type ExportPage = fn(&Backend, &str, Value) -> Op<Page>;

/// Starts writing exported records into namespace `ns` on `backend` (the hub has checked that
/// the namespace is empty).
pub type StartImport = fn(&Backend, &str) -> Box<dyn Importer>;

/// Writes one capability's records during an import, in batches of its choosing. The hub
/// hands it the records in file order and runs each write it returns before the next record.
pub trait Importer: Send {
    /// Takes one record (validated here: a malformed one is a ValidationError); returns a
    /// write to run now when a batch is full.
    fn add(&mut self, rec: Record) -> Result<Option<Op<()>>>;
    /// The last write, after the capability's last record.
    fn finish(&mut self) -> Result<Option<Op<()>>>;
}

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
    /// True when its keys spread over the namespace's partitions (`super::partition`): a
    /// namespace with `n > 1` partitions keeps partition `p`'s keys under `{<ns>:<tag>:<p>}`.
    pub partitioned: bool,
    /// True when its writes append to the namespace's change feed (`crate::changes`).
    pub changes: bool,
    /// Its background sweep of expired rows on the embedded store, if it keeps any.
    pub sweep: Option<SweepRows>,
    /// Reads its records of a namespace for `hub.export()`, page by page.
    pub export: ExportPage,
    /// Writes exported records back for `hub.import_()`.
    pub import: StartImport,
}
