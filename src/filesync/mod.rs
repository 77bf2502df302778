//! `hub.sync`: the two-way mirror between `hub.docs` and the YAML/JSON files under the hub's
//! roots (`contexts/`, `workflows/`).
//!
//! * File to store: a native watcher (inotify via `notify`) with a short debounce; each
//!   changed file is read, hashed and, when its text differs from the store's, parsed and
//!   stored with origin "file" (`file:changed`). A watcher overflow, a new directory and a
//!   periodic timer lead to a full rescan; the start-up scan reconciles what changed while
//!   nothing ran.
//! * Store to file: API writes queue the path (`Docs::pending`); a worker writes each file
//!   atomically (temp file, fsync, rename, directory fsync), then leaves the queue only if the
//!   store still holds what it wrote (`file:synced`). A crash anywhere leaves the path queued.
//! * Echo suppression by content hash: a file whose text the store already holds is not a
//!   change, so the engine's own writes never come back.
//! * Both sides changed since the last sync (the document's `synced` hash): the two versions
//!   are merged against the last synced one (`Docs::base`), field by field for mappings
//!   (`merge3`), and the result goes to both sides (`file:merged`). Fields both sides changed
//!   differently follow the policy ([`Conflicts`]): by default the store's value is written
//!   and the file's version is kept beside it as `<name>.conflict-<unix ms>.<ext>`
//!   (`file:conflict` names the fields). Conflict copies are never imported.
//! * A file moved within the roots (both ends seen by the watcher) moves its document in one
//!   `file:renamed` event; moves out of or into the roots are deletes and new files.
//! * Broken or hostile files (invalid UTF-8 or YAML, alias bombs, over the size limit) are
//!   left as they are; `file:error` says why and the store keeps the last good version.
//! * A write-back that fails (a disk full, a directory where the file should be, a name the
//!   file system refuses) parks the path: one `file:error`, then retries after a backoff that
//!   doubles up to a minute; `status()["parked"]` lists such paths. Errors never flood the
//!   event log.
//! * Symlinks are followed only while they stay inside the synced folders.
//! * One engine per root: a lock on `<root>/.zerolag/sync.lock`.

mod files;
pub mod merge3;
mod scan;
mod watch;
mod writeback;

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use notify::{RecursiveMode, Watcher};
use parking_lot::Mutex;
use serde_json::json;

use crate::docs::Docs;
use crate::docs::{self, Origin};
use crate::error::{Error, Result};
use crate::events::Events;

pub use files::{conflict_copy, is_conflict_copy, write_atomic};

/// What happens to a field the file and the store both changed differently since the last
/// sync. The fields either side changed alone are merged in every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Conflicts {
    /// The store's value is written; the file's version is saved beside it as a conflict copy.
    #[default]
    KeepBoth,
    /// The store's value wins; the event carries the file's values.
    Store,
    /// The file's value wins; the event carries the store's values.
    File,
}

impl Conflicts {
    /// Parses `keep-both`, `store` or `file`.
    pub fn parse(s: &str) -> Result<Conflicts> {
        match s {
            "keep-both" => Ok(Conflicts::KeepBoth),
            "store" => Ok(Conflicts::Store),
            "file" => Ok(Conflicts::File),
            _ => Err(Error::validation(format!(
                "conflicts must be 'keep-both', 'store' or 'file', got {s:?}"
            ))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Conflicts::KeepBoth => "keep-both",
            Conflicts::Store => "store",
            Conflicts::File => "file",
        }
    }
}

/// How long an empty or shrunk file must stay unmodified before the watcher imports it
/// when its writer gave no sign of being done (see [`Shared::file_quiet`]).
const SETTLE: Duration = Duration::from_secs(1);

/// How long a file's import keeps retrying while other writers keep changing its document.
const IMPORT_BUDGET: Duration = Duration::from_secs(2);

/// How the engine runs.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Quiet time after a file event before the changed files are read.
    pub debounce: Duration,
    /// Full rescan every this long (the safety net for missed events).
    pub rescan: Duration,
    /// Longest the write-back worker sleeps on an empty queue: store-side writes of any
    /// process wake it at once, so this is only the safety net (a lost pub/sub message).
    pub poll: Duration,
    /// Fields both sides changed differently.
    pub conflicts: Conflicts,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            debounce: Duration::from_millis(50),
            rescan: Duration::from_secs(30),
            poll: Duration::from_millis(500),
            conflicts: Conflicts::KeepBoth,
        }
    }
}

/// Counters of a running engine.
#[derive(Debug, Default)]
struct Counters {
    imported: AtomicU64,
    written: AtomicU64,
    deleted: AtomicU64,
    conflicts: AtomicU64,
    merged: AtomicU64,
    errors: AtomicU64,
    scans: AtomicU64,
}

/// What `status()` reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// True while the engine runs.
    pub running: bool,
    /// The directory holding the roots.
    pub root: PathBuf,
    /// Files read into the store.
    pub imported: u64,
    /// Files written from the store.
    pub written: u64,
    /// Files or documents deleted to follow the other side.
    pub deleted: u64,
    /// Documents changed on both sides with fields that changed differently.
    pub conflicts: u64,
    /// Documents changed on both sides and merged.
    pub merged: u64,
    /// Files refused (broken, hostile, too large) or writes that failed.
    pub errors: u64,
    /// Full scans done.
    pub scans: u64,
    /// The last error, if any.
    pub last_error: Option<String>,
    /// Paths whose write-back failed and waits for its retry, sorted.
    pub parked: Vec<String>,
}

struct Shared {
    docs: Docs,
    events: Events,
    root: PathBuf,
    roots: Vec<String>,
    confine: files::Confine,
    opts: Options,
    stop: AtomicBool,
    n: Counters,
    last_error: Mutex<Option<String>>,
    parked: Mutex<HashMap<String, writeback::Parked>>,
}

/// A running sync engine; `stop()` (or drop) ends it.
pub struct Engine {
    shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    _lock: File,
}

impl Engine {
    /// Takes the root's lock, reconciles once, then watches and writes back in the
    /// background. Conflict if another engine holds the root.
    ///
    /// The engine holds the documents and events it works on, not the hub, so a hub that
    /// owns an engine can be dropped (and its drop stops the engine).
    pub fn start(docs: Docs, events: Events, root: &Path, opts: Options) -> Result<Engine> {
        // One spelling of the root (absolute, symlinks resolved) for the watcher and paths.
        std::fs::create_dir_all(root)?;
        let root = root.canonicalize()?;
        let lock = files::lock(&root)?;
        let roots = docs.settings().roots;
        for r in &roots {
            std::fs::create_dir_all(root.join(r))?;
        }
        let confine = files::Confine::new(&root, &roots)?;
        let dirs: Vec<PathBuf> = roots.iter().map(|r| root.join(r)).collect();
        files::remove_stale_temps(&dirs);
        let shared = Arc::new(Shared {
            docs,
            events,
            root,
            roots,
            confine,
            opts,
            stop: AtomicBool::new(false),
            n: Counters::default(),
            last_error: Mutex::new(None),
            parked: Mutex::new(HashMap::new()),
        });
        // Watch before the first scan, so nothing changed during it is missed.
        let (tx, rx) = mpsc::channel();
        let mut watcher = notify::recommended_watcher(move |ev| {
            let _ = tx.send(ev);
        })
        .map_err(|e| Error::Backend(format!("cannot start the file watcher: {e}")))?;
        for r in &shared.roots {
            watcher
                .watch(&shared.root.join(r), RecursiveMode::Recursive)
                .map_err(|e| Error::Backend(format!("cannot watch {r}/: {e}")))?;
        }
        shared.scan()?;
        shared.writeback_all();
        let s1 = shared.clone();
        let watch = std::thread::Builder::new()
            .name("zl-sync-watch".into())
            .spawn(move || {
                let _keep = watcher;
                s1.watch_loop(&rx);
            })?;
        let s2 = shared.clone();
        let write = std::thread::Builder::new()
            .name("zl-sync-write".into())
            .spawn(move || s2.writeback_loop())?;
        Ok(Engine {
            shared,
            threads: Mutex::new(vec![watch, write]),
            _lock: lock,
        })
    }

    /// Stops the threads (they finish the file in hand) and releases the lock.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.docs.nudge(); // the write-back worker may be waiting
        for t in self.threads.lock().drain(..) {
            let _ = t.join();
        }
    }

    /// Counters and state.
    pub fn status(&self) -> Status {
        let n = &self.shared.n;
        Status {
            running: !self.shared.stop.load(Ordering::Acquire),
            root: self.shared.root.clone(),
            imported: n.imported.load(Ordering::Relaxed),
            written: n.written.load(Ordering::Relaxed),
            deleted: n.deleted.load(Ordering::Relaxed),
            conflicts: n.conflicts.load(Ordering::Relaxed),
            merged: n.merged.load(Ordering::Relaxed),
            errors: n.errors.load(Ordering::Relaxed),
            scans: n.scans.load(Ordering::Relaxed),
            last_error: self.shared.last_error.lock().clone(),
            parked: {
                let mut p: Vec<String> = self.shared.parked.lock().keys().cloned().collect();
                p.sort();
                p
            },
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Shared {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    fn event(&self, channel: &str, data: serde_json::Value) {
        if let Err(e) = self.events.publish(channel, data).wait() {
            self.error(format!("could not publish {channel}: {e}"));
        }
    }

    fn error(&self, msg: String) {
        log::warn!("file sync: {msg}");
        self.n.errors.fetch_add(1, Ordering::Relaxed);
        *self.last_error.lock() = Some(msg);
    }

    /// The store path of a file under the root, if it is one the sync mirrors.
    fn rel(&self, p: &Path) -> Option<String> {
        let rel = p.strip_prefix(&self.root).ok()?;
        let s = rel.to_str()?.replace(std::path::MAIN_SEPARATOR, "/");
        if is_conflict_copy(&s) || files::is_temp(&s) {
            return None;
        }
        docs::check_path(&s, &self.roots).ok()?;
        Some(s)
    }

    /// A file appeared or changed and its writer is done with it (closed, renamed into
    /// place, or found by a scan): store its text unless the store holds it already.
    fn file_changed(&self, rel: &str) {
        self.import(rel, false);
    }

    /// A file that has been quiet for the debounce, with no sign its writer is done: as
    /// [`Shared::file_changed`], except that an empty or shrunk file modified less than
    /// [`SETTLE`] ago is left for later (perhaps truncated by a writer that is still writing);
    /// returns when to look again.
    fn file_quiet(&self, rel: &str) -> Option<Instant> {
        self.import(rel, true)
    }

    fn import(&self, rel: &str, unsettled: bool) -> Option<Instant> {
        // The store moved meanwhile (another writer of the document): look again, backing
        // off at random so that busy writers cannot starve the file; past the budget the
        // conflict is reported like any other failure, never dropped in silence.
        let deadline = Instant::now() + IMPORT_BUDGET;
        let mut pause = Duration::from_millis(1);
        loop {
            match self.try_import(rel, unsettled) {
                Err(Error::Conflict(_)) if Instant::now() < deadline => {
                    let jitter = rand::random_range(0..=pause.as_micros() as u64);
                    std::thread::sleep(Duration::from_micros(jitter));
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(e) => {
                    self.error(format!("{rel}: {e}"));
                    self.event("file:error", json!({"path": rel, "error": e.to_string()}));
                    return None;
                }
                Ok(later) => return later,
            }
        }
    }

    fn try_import(&self, rel: &str, unsettled: bool) -> Result<Option<Instant>> {
        let full = self.root.join(rel);
        // A link out of the synced folders is not theirs to import.
        self.confine.check(&full, "not read")?;
        let max = self.docs.settings().max_bytes;
        let Some(bytes) = files::read_limited(&full, max)? else {
            return Ok(None); // gone meanwhile: the delete event follows
        };
        let cur = self.docs.get_opt(rel).wait()?;
        if unsettled
            && (bytes.is_empty() || cur.as_ref().is_some_and(|d| bytes.len() < d.text.len()))
        {
            if let Some(later) = files::settles_at(&full, SETTLE) {
                return Ok(Some(later));
            }
        }
        let text = files::utf8(bytes)?;
        let hash = docs::hash(&text);
        if let Some(d) = &cur {
            if d.hash == hash {
                if d.synced != hash {
                    // File and store agree: record the base, only if the store still holds
                    // this version (a newer store write must not be overwritten by it).
                    let w = self
                        .docs
                        .text_write(rel, text, Origin::File, Some(d.version))?;
                    self.docs.write(w).wait()?;
                }
                return Ok(None);
            }
            // `synced` is what both sides last agreed on ("" if they never did). If the store
            // changed since, its write-back is queued and settles this path: it writes the
            // store's version and, when the file changed too, keeps the file's beside it.
            if d.synced != d.hash {
                return Ok(None);
            }
        }
        let w = self.docs.text_write(
            rel,
            text,
            Origin::File,
            Some(cur.as_ref().map_or(0, |d| d.version)),
        )?;
        let d = self.docs.write(w).wait()?;
        self.n.imported.fetch_add(1, Ordering::Relaxed);
        self.event(
            "file:changed",
            json!({"path": rel, "version": d.version, "origin": "file", "hash": d.hash}),
        );
        Ok(None)
    }

    /// The file and the store both changed since the last sync: merges them against the
    /// synced base and writes the result to both sides. Without a base to merge against (or
    /// when the file does not parse), the store's version is written and the file's is kept
    /// beside it. True when the path was settled (false: the store moved meanwhile and the
    /// path stays queued).
    fn reconcile(&self, rel: &str, d: &docs::Document, bytes: &[u8]) -> Result<bool> {
        let s = self.docs.settings();
        let format = docs::check_path(rel, &s.roots)?;
        let file_text = String::from_utf8_lossy(bytes).into_owned();
        let file_value = docs::parse(&file_text, format, &s).ok();
        let base = self.docs.base(rel).wait()?;
        let base_value = base.and_then(|t| docs::parse(&t, format, &s).ok());
        let (Some(fv), Some(bv)) = (file_value, base_value) else {
            let copy = self.conflict_copy(rel, &file_text)?;
            write_atomic(&self.root.join(rel), d.text.as_bytes())?;
            self.n.written.fetch_add(1, Ordering::Relaxed);
            self.n.conflicts.fetch_add(1, Ordering::Relaxed);
            log::warn!(
                "file sync conflict on {rel}: kept the store's version, the file's is in {copy}"
            );
            self.event(
                "file:conflict",
                json!({"path": rel, "copy": copy, "version": d.version, "kept": "store",
                       "fields": null, "merged": false}),
            );
            return self.synced(rel, d);
        };
        let policy = self.opts.conflicts;
        let prefer = if policy == Conflicts::File {
            merge3::Side::File
        } else {
            merge3::Side::Store
        };
        let m = merge3::merge3(&bv, &d.value, &fv, prefer);
        let merged = m.value.unwrap_or(serde_json::Value::Null);
        // In place over the file's text first (the person's comments and layout), then over
        // the store's; rendered whole only if neither applies.
        let edited = match format {
            docs::Format::Yaml => docs::edit::edit_yaml(&file_text, &fv, &merged, s.limits)
                .or_else(|| docs::edit::edit_yaml(&d.text, &d.value, &merged, s.limits)),
            docs::Format::Json => None,
        };
        let whole = edited.is_none();
        let text = edited.unwrap_or_else(|| docs::render(&merged, format));
        let mut w = self
            .docs
            .text_write(rel, text, Origin::Store, Some(d.version))?;
        w.whole = whole;
        let stored = match self.docs.write(w).wait() {
            Ok(stored) => stored,
            Err(Error::Conflict(_)) => return Ok(false), // the store moved: next round
            Err(e) => return Err(e),
        };
        let copy = if !m.conflicts.is_empty() && policy == Conflicts::KeepBoth {
            Some(self.conflict_copy(rel, &file_text)?)
        } else {
            None
        };
        if docs::hash(&file_text) != stored.hash {
            write_atomic(&self.root.join(rel), stored.text.as_bytes())?;
            self.n.written.fetch_add(1, Ordering::Relaxed);
        }
        let fields: Vec<serde_json::Value> = m
            .conflicts
            .iter()
            .map(|c| json!({"field": c.field, "store": c.store, "file": c.file}))
            .collect();
        if fields.is_empty() {
            self.n.merged.fetch_add(1, Ordering::Relaxed);
            self.event(
                "file:merged",
                json!({"path": rel, "version": stored.version, "origin": "both",
                       "hash": stored.hash, "whole": whole}),
            );
        } else {
            self.n.conflicts.fetch_add(1, Ordering::Relaxed);
            let kept = if policy == Conflicts::File {
                "file"
            } else {
                "store"
            };
            log::warn!(
                "file sync conflict on {rel}: {} field(s) changed on both sides, kept the {kept}'s",
                fields.len()
            );
            self.event(
                "file:conflict",
                json!({"path": rel, "copy": copy, "version": stored.version, "kept": kept,
                       "policy": policy.name(), "fields": fields, "merged": true,
                       "whole": whole}),
            );
        }
        self.synced(rel, &stored)
    }

    /// Saves the file's text beside it; returns the copy's path.
    fn conflict_copy(&self, rel: &str, text: &str) -> Result<String> {
        let copy = conflict_copy(rel);
        write_atomic(&self.root.join(&copy), text.as_bytes())?;
        Ok(copy)
    }

    /// The file holds `d`'s text now: leave the queue (if the store still holds it) and say so.
    fn synced(&self, rel: &str, d: &docs::Document) -> Result<bool> {
        if self.docs.done_writeback(rel, Some(d.hash.clone())).wait()? {
            self.event(
                "file:synced",
                json!({"path": rel, "version": d.version, "origin": "store", "hash": d.hash,
                       "whole": d.whole}),
            );
        } else {
            // The store moved on while the file was written: the file holds `d`, a version
            // the store had, so that is the base the next write-back compares against (not
            // an edit of the file's, which would read as a conflict).
            self.docs.rebase(rel, &d.hash, &d.text).wait()?;
        }
        Ok(true)
    }

    /// A file moved from `from` to `to` (both under the roots): the document moves with it in
    /// one `file:renamed` event when it is a plain move of a synced document; anything else
    /// (edited on the way, the store ahead, another document at `to`) is a change at `to`
    /// and a removal at `from`.
    fn file_renamed(&self, from: &str, to: &str) {
        match self.try_rename(from, to) {
            Ok(true) => {}
            Ok(false) | Err(_) => {
                if self.root.join(to).is_file() {
                    self.file_changed(to);
                }
                if !self.root.join(from).exists() {
                    self.file_removed(from);
                }
            }
        }
    }

    fn try_rename(&self, from: &str, to: &str) -> Result<bool> {
        let Some(d) = self.docs.get_opt(from).wait()? else {
            return Ok(false);
        };
        if d.synced != d.hash || self.root.join(from).exists() {
            return Ok(false);
        }
        self.confine.check(&self.root.join(to), "not read")?;
        let max = self.docs.settings().max_bytes;
        let Some(bytes) = files::read_limited(&self.root.join(to), max)? else {
            return Ok(false);
        };
        if docs::hash_bytes(&bytes) != d.hash {
            return Ok(false);
        }
        let text = String::from_utf8(bytes).map_err(|_| Error::validation("not UTF-8"))?;
        // Some(0): only if no document is at `to` yet.
        let w = self.docs.text_write(to, text, Origin::File, Some(0))?;
        let moved = self.docs.write(w).wait()?;
        self.docs.delete(from, Origin::File).wait()?;
        self.n.imported.fetch_add(1, Ordering::Relaxed);
        self.n.deleted.fetch_add(1, Ordering::Relaxed);
        self.event(
            "file:renamed",
            json!({"path": to, "from": from, "version": moved.version, "origin": "file",
                   "hash": moved.hash}),
        );
        Ok(true)
    }

    /// A file was deleted: delete the document unless the store changed it since.
    fn file_removed(&self, rel: &str) {
        let r = (|| -> Result<()> {
            let Some(d) = self.docs.get_opt(rel).wait()? else {
                return Ok(());
            };
            if d.synced != d.hash {
                return Ok(()); // the store has a version the file never had: written back
            }
            if self.docs.delete(rel, Origin::File).wait()? {
                self.n.deleted.fetch_add(1, Ordering::Relaxed);
                self.event(
                    "file:changed",
                    json!({"path": rel, "deleted": true, "origin": "file"}),
                );
            }
            Ok(())
        })();
        if let Err(e) = r {
            self.error(format!("{rel}: {e}"));
        }
    }
}
