//! The change feed in a namespace export: nothing. The feed is the history of writes, not
//! data: an import writes every record through its capability, which appends the import's
//! own entries, and the target's sequences start anew, so a reader of the source's feed
//! rescans (`RescanRequired`) when it turns to the target.

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
        Err(Error::validation(
            "the change feed has no records in an export",
        ))
    }

    fn finish(&mut self) -> Result<Option<Op<()>>> {
        Ok(None)
    }
}
