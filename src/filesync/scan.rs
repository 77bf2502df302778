//! The full scan: every file under the roots against the store, in chunks. A chunk is read and
//! hashed, its documents' sync state comes in one read, only the files whose text differs are
//! parsed, the imports are stored in one call and their `file:changed` events published in
//! one more: three round trips per chunk instead of three per file. Several threads take
//! chunks, so reading and parsing overlap the store's work. Each file is decided exactly as
//! [`Shared::file_changed`] decides it; anything a batch cannot settle (the store moved
//! between the read and the write, a store error) goes through that single-file path.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{json, Value};

use super::{files, Shared, SETTLE};
use crate::docs::{self, Imported, Origin};
use crate::error::{Error, Result};

/// Threads taking chunks. More than cores: a thread waits for the store a good part of its
/// time (measured on 2 cores: 2 threads 390 ms, 4 280 ms, 8 265 ms for 10,000 files).
const SCAN_THREADS: usize = 8;
/// Files per chunk (one store read, one batch write, one batch of events).
const CHUNK: usize = 128;

/// A file read for the scan.
struct Read<'a> {
    rel: &'a str,
    text: String,
    hash: String,
}

impl Shared {
    /// Reconciles every file and document once.
    pub(super) fn scan(&self) -> Result<()> {
        self.n.scans.fetch_add(1, Ordering::Relaxed);
        let mut on_disk = BTreeSet::new();
        for r in &self.roots {
            for f in files::walk(&self.root.join(r)) {
                if let Some(rel) = self.rel(&f) {
                    on_disk.insert(rel);
                }
            }
        }
        // The documents the store holds now: a file without one needs no state read (its
        // write is a create, compare-and-set on "none yet", so one made meanwhile is seen).
        let mut known = BTreeSet::new();
        for r in &self.roots {
            known.extend(self.docs.list(&format!("{r}/")).wait()?);
        }
        let files: Vec<&str> = on_disk.iter().map(String::as_str).collect();
        let chunks: Vec<&[&str]> = files.chunks(CHUNK).collect();
        let known = &known;
        let next = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..SCAN_THREADS.min(chunks.len()) {
                s.spawn(|| {
                    while !self.stopped() {
                        let Some(chunk) = chunks.get(next.fetch_add(1, Ordering::Relaxed)) else {
                            return;
                        };
                        self.scan_chunk(chunk, known);
                    }
                });
            }
        });
        if self.stopped() {
            return Ok(());
        }
        // Documents whose file is gone: deleted while nothing ran (unless the store changed
        // them since, then the write-back puts the file back). Those the store held at the
        // start: one created since came from this scan (its file is there) or from the API
        // (its write-back writes the file).
        for rel in known {
            if !on_disk.contains(rel) && !self.root.join(rel).exists() {
                self.file_removed(rel);
            }
        }
        Ok(())
    }

    /// One chunk of the scan (see the module's text).
    fn scan_chunk(&self, chunk: &[&str], known: &BTreeSet<String>) {
        let max = self.docs.settings().max_bytes;
        let mut events: Vec<(String, Value)> = Vec::new();
        let mut read = Vec::with_capacity(chunk.len());
        for &rel in chunk {
            let full = self.root.join(rel);
            // The walk follows no directory link, so only a file that is a link itself can
            // lead out of the synced folders: one lstat per file, a full check for links.
            let link = std::fs::symlink_metadata(&full).is_ok_and(|m| m.is_symlink());
            let confined = if link {
                self.confine.check(&full, "not read")
            } else {
                Ok(())
            };
            let got = confined
                .and_then(|()| files::read_limited(&full, max))
                .and_then(|b| b.map(files::utf8).transpose());
            match got {
                // Empty and just modified: perhaps truncated by a writer that is not done. Its
                // close (the watcher) or the next scan brings it.
                Ok(Some(text)) if text.is_empty() && files::settles_at(&full, SETTLE).is_some() => {
                }
                Ok(Some(text)) => {
                    let hash = docs::hash(&text);
                    read.push(Read { rel, text, hash });
                }
                Ok(None) => {} // gone meanwhile: the delete event follows
                Err(e) => self.refused(rel, &e, &mut events),
            }
        }
        let paths: Vec<String> = read
            .iter()
            .filter(|f| known.contains(f.rel))
            .map(|f| f.rel.to_string())
            .collect();
        let asked = if paths.is_empty() {
            Ok(Vec::new())
        } else {
            self.docs.states(paths).wait()
        };
        let states = match asked {
            Ok(s) => {
                let mut s = s.into_iter();
                read.iter()
                    .map(|f| {
                        if known.contains(f.rel) {
                            s.next().flatten()
                        } else {
                            None
                        }
                    })
                    .collect::<Vec<_>>()
            }
            Err(_) => {
                // The single-file path reports what is wrong, file by file.
                self.publish_all(events);
                for f in &read {
                    self.file_changed(f.rel);
                }
                return;
            }
        };
        let mut writes = Vec::new();
        let mut sent: Vec<(&str, String)> = Vec::new();
        for (f, st) in read.into_iter().zip(states) {
            // The decisions of `try_import`.
            let expected = match &st {
                // File and store agree: nothing to do, or record the synced base.
                Some(s) if s.hash == f.hash && s.synced == f.hash => continue,
                Some(s) if s.hash == f.hash => s.version,
                // The store changed since the last sync: its queued write-back settles it.
                Some(s) if s.synced != s.hash => continue,
                Some(s) => s.version,
                None => 0,
            };
            let hash = f.hash.clone();
            match self
                .docs
                .hashed_write(f.rel, f.text, hash, Origin::File, Some(expected))
            {
                Ok(w) => {
                    sent.push((f.rel, f.hash));
                    writes.push(w);
                }
                Err(e) => self.refused(f.rel, &e, &mut events),
            }
        }
        let mut retry = Vec::new();
        match self.docs.import_many(writes).wait() {
            Ok(outcomes) => {
                for ((rel, hash), got) in sent.into_iter().zip(outcomes) {
                    match got {
                        Imported::Stored(version) => {
                            self.n.imported.fetch_add(1, Ordering::Relaxed);
                            events.push((
                                "file:changed".into(),
                                json!({"path": rel, "version": version, "origin": "file",
                                       "hash": hash}),
                            ));
                        }
                        Imported::Same(_) => {}
                        Imported::Stale(_) => retry.push(rel), // the store moved meanwhile
                    }
                }
            }
            Err(_) => retry.extend(sent.into_iter().map(|(rel, _)| rel)),
        }
        self.publish_all(events);
        for rel in retry {
            self.file_changed(rel);
        }
    }

    /// A file the scan cannot import: counted, and a `file:error` event for the chunk.
    fn refused(&self, rel: &str, e: &Error, events: &mut Vec<(String, Value)>) {
        self.error(format!("{rel}: {e}"));
        events.push((
            "file:error".into(),
            json!({"path": rel, "error": e.to_string()}),
        ));
    }

    /// Publishes a chunk's events in one call.
    fn publish_all(&self, events: Vec<(String, Value)>) {
        if events.is_empty() {
            return;
        }
        if let Err(e) = self.events.publish_many(events).wait() {
            self.error(format!("could not publish the scan's events: {e}"));
        }
    }
}
