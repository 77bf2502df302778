//! trending in a namespace export: nothing yet. Its records (boards and items)
//! are not exported yet; an import leaves it empty (docs/analytics.md).

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
        Err(Error::validation("trending has no records in an export"))
    }

    fn finish(&mut self) -> Result<Option<Op<()>>> {
        Ok(None)
    }
}
