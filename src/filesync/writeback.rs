//! Store to file: the write-back worker drains the namespace's durable write-back queue,
//! writing each file atomically (see [`super::files::write_atomic`]) and reporting
//! `file:synced`.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{files, write_atomic, Shared};
use crate::docs;
use crate::error::Result;

/// First wait before retrying a failed write-back; it doubles with each failure.
const RETRY_FIRST: Duration = Duration::from_millis(100);
/// Longest wait between two retries.
const RETRY_MAX: Duration = Duration::from_secs(60);

/// A path whose write-back failed: when it is tried again.
pub(super) struct Parked {
    failures: u32,
    until: Instant,
}

impl Parked {
    fn wait(failures: u32) -> Duration {
        RETRY_FIRST
            .saturating_mul(1u32 << failures.saturating_sub(1).min(20))
            .min(RETRY_MAX)
    }
}

impl Shared {
    pub(super) fn writeback_loop(&self) {
        while !self.stopped() {
            // Store-side writes wake it (any process's: see `Docs::idle_wait`); `poll` is the
            // safety net.
            let waited = self
                .docs
                .idle_wait(|| self.writeback_all() == 0, self.opts.poll);
            if let Err(e) = waited {
                self.error(format!("write-back wait: {e}"));
                std::thread::sleep(self.opts.poll.min(Duration::from_millis(200)));
            }
        }
    }

    /// Writes every queued path once; returns how many were written or settled (0 sends the
    /// worker to sleep: an empty queue, or only paths that failed or are not this engine's).
    pub(super) fn writeback_all(&self) -> usize {
        // Parked paths stay queued: ask for enough to see past them.
        let want = 256 + self.parked.lock().len();
        let pending = match self.docs.pending(want).wait() {
            Ok(p) => p,
            Err(e) => {
                self.error(format!("write-back queue unreadable: {e}"));
                std::thread::sleep(Duration::from_millis(200));
                return 0;
            }
        };
        let mut n = 0;
        for rel in pending {
            if self.stopped() {
                break;
            }
            let now = Instant::now();
            if self.parked.lock().get(&rel).is_some_and(|p| p.until > now) {
                continue;
            }
            match self.write_back(&rel) {
                Ok(done) => {
                    self.parked.lock().remove(&rel);
                    n += usize::from(done);
                }
                Err(e) => self.park(&rel, &e),
            }
        }
        n
    }

    /// A failed write-back: counted, retried after a backoff, reported once (`file:error`
    /// with `retry: true`) until it succeeds.
    fn park(&self, rel: &str, e: &crate::error::Error) {
        self.error(format!("{rel}: {e}"));
        let (first, wait) = {
            let mut parked = self.parked.lock();
            let p = parked.entry(rel.to_string()).or_insert(Parked {
                failures: 0,
                until: Instant::now(),
            });
            p.failures += 1;
            let wait = Parked::wait(p.failures);
            p.until = Instant::now() + wait;
            (p.failures == 1, wait)
        };
        if first {
            self.event(
                "file:error",
                json!({"path": rel, "error": e.to_string(), "retry": true,
                       "retry_in": wait.as_secs_f64()}),
            );
        }
    }

    /// Writes one queued path; false if it is not under this engine's roots.
    fn write_back(&self, rel: &str) -> Result<bool> {
        if docs::check_path(rel, &self.roots).is_err() {
            return Ok(false); // queued under other roots: left for an engine that has them
        }
        let full = self.root.join(rel);
        self.confine.check(&full, "not written")?;
        let doc = self.docs.get_opt(rel).wait()?;
        let on_disk = files::read_limited(&full, usize::MAX)?;
        match doc {
            None => {
                if on_disk.is_some() {
                    std::fs::remove_file(&full)?;
                    files::sync_dir(&full);
                    self.n.deleted.fetch_add(1, Ordering::Relaxed);
                }
                if self.docs.done_writeback(rel, None).wait()? {
                    self.event("file:synced", json!({"path": rel, "deleted": true}));
                }
            }
            Some(d) => {
                let file_hash = on_disk.as_deref().map(docs::hash_bytes);
                if file_hash.as_deref() != Some(d.hash.as_str()) {
                    if let (Some(fh), Some(bytes)) = (&file_hash, &on_disk) {
                        if d.synced == d.hash {
                            // Queued, but the store holds the synced text: only the file
                            // changed. Import it rather than overwrite it.
                            self.file_changed(rel);
                            let now = self.docs.get_opt(rel).wait()?.map(|d| d.hash);
                            self.docs.done_writeback(rel, now).wait()?;
                            return Ok(true);
                        }
                        if *fh != d.synced {
                            // The file changed since the last sync too.
                            return self.reconcile(rel, &d, bytes);
                        }
                    }
                    write_atomic(&full, d.text.as_bytes())?;
                    self.n.written.fetch_add(1, Ordering::Relaxed);
                }
                return self.synced(rel, &d);
            }
        }
        Ok(true)
    }
}
