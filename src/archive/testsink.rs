//! Test sinks for the loop's tests: rows kept in memory; a sink that fails while told to; a
//! slow sink.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use super::model::{Rows, Sink, SinkFut};
use crate::error::Error;

/// Keeps every batch written; fails while `down` is set; waits `delay` per write.
#[derive(Default)]
pub struct MemSink {
    /// The batches written, in order.
    pub batches: Mutex<Vec<Rows>>,
    /// Fail every write while set.
    pub down: AtomicBool,
    /// Fail this many more writes.
    pub fail_next: AtomicU64,
    /// Writes that failed.
    pub failed: AtomicU64,
    /// Time each write takes.
    pub delay: Mutex<Duration>,
}

impl MemSink {
    /// Ids of the job rows written (in order, duplicates kept), with their finish times.
    pub fn jobs(&self) -> Vec<(String, i64, String)> {
        let mut out = vec![];
        for b in self.batches.lock().iter() {
            if let Rows::Jobs(v) = b {
                out.extend(
                    v.iter()
                        .map(|j| (j.id.clone(), j.finished_ms, j.status.clone())),
                );
            }
        }
        out
    }

    /// (id, version, deleted) of the task rows written.
    pub fn tasks(&self) -> Vec<(String, i64, bool)> {
        let mut out = vec![];
        for b in self.batches.lock().iter() {
            if let Rows::Tasks(v) = b {
                out.extend(v.iter().map(|t| (t.id.clone(), t.version, t.deleted)));
            }
        }
        out
    }
}

impl Sink for MemSink {
    fn write<'a>(&'a self, _ns: &'a str, rows: &'a Rows) -> SinkFut<'a> {
        Box::pin(async move {
            let d = *self.delay.lock();
            if !d.is_zero() {
                tokio::time::sleep(d).await;
            }
            let once = self
                .fail_next
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                .is_ok();
            if once || self.down.load(Ordering::Acquire) {
                self.failed.fetch_add(1, Ordering::AcqRel);
                return Err(Error::Connection("test sink: postgres is down".into()));
            }
            self.batches.lock().push(rows.clone());
            Ok(())
        })
    }
}
