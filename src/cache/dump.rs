//! The cache in a namespace export: nothing. A cache holds copies of what can be computed
//! again, tied to the generations of its tags on the store that wrote it; an export carries
//! the data a namespace needs, and the importing namespace starts with an empty cache (its
//! entries are filled again by the first misses). Documented in docs/cache.md and
//! docs/export.md.

use serde_json::Value;

use crate::engine::{Backend, Importer, Op, Page, Record};
use crate::error::{Error, Result};

/// No records.
pub fn export(_b: &Backend, _ns: &str, _cursor: Value) -> Op<Page> {
    Op::Ready(Ok(Page::default()))
}

/// Refuses any record (an export never holds one).
pub fn import(_b: &Backend, _ns: &str) -> Box<dyn Importer> {
    Box::new(Nothing)
}

struct Nothing;

impl Importer for Nothing {
    fn add(&mut self, _rec: Record) -> Result<Option<Op<()>>> {
        Err(Error::validation("the cache has no records in an export"))
    }

    fn finish(&mut self) -> Result<Option<Op<()>>> {
        Ok(None)
    }
}
