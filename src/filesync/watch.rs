//! The watcher side of the sync: native file events sorted into paths to read now, paths to
//! read after the debounce, renames, and the cases that call for a full rescan.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind, RenameMode};

use super::{files, Shared};

/// A vanished path without an extension (and not one of our temp files): a directory.
fn looks_like_dir(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| !n.contains('.'))
}

/// A new directory: when to walk it again, and what the first walk found.
pub(super) struct NewDir {
    due: Instant,
    walked: BTreeSet<String>,
}

/// What the watcher's events sorted so far: paths waiting for their debounce, paths to read
/// now, renames, new directories to walk again.
type Seen<'a> = (
    &'a mut BTreeMap<String, Instant>,
    &'a mut BTreeSet<String>,
    &'a mut Vec<(String, String)>,
    &'a mut BTreeMap<PathBuf, NewDir>,
);

impl Shared {
    /// Watches the roots. A path is read as soon as its writer is done with it (the file was
    /// closed after writing, renamed into place or removed); a path that only saw writes is
    /// read once it has been quiet for `debounce` (the safety net for writers that never close,
    /// and the coalescing of bursts).
    pub(super) fn watch_loop(&self, rx: &mpsc::Receiver<notify::Result<notify::Event>>) {
        let mut next_scan = Instant::now() + self.opts.rescan;
        // path -> when it may be read at the latest (quiet since the last write + debounce)
        let mut waiting: BTreeMap<String, Instant> = Default::default();
        let mut ready = BTreeSet::new();
        let mut renames = Vec::new();
        // New directories, walked again once their debounce expires: the watcher adds a
        // watch on a new directory only after delivering its event, so a file created in it
        // in between has no event of its own.
        let mut new_dirs: BTreeMap<PathBuf, NewDir> = Default::default();
        while !self.stopped() {
            let now = Instant::now();
            let wake = waiting
                .values()
                .chain(new_dirs.values().map(|d| &d.due))
                .min()
                .copied()
                .unwrap_or(next_scan)
                .min(next_scan)
                .saturating_duration_since(now)
                .min(Duration::from_millis(100));
            let mut rescan = false;
            match rx.recv_timeout(wake) {
                Ok(first) => {
                    let mut batch = vec![first];
                    while let Ok(ev) = rx.try_recv() {
                        batch.push(ev);
                    }
                    for ev in batch {
                        let seen = (&mut waiting, &mut ready, &mut renames, &mut new_dirs);
                        rescan |= self.classify(ev, seen);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
            let now = Instant::now();
            if now >= next_scan {
                rescan = true;
            }
            if rescan {
                if let Err(e) = self.scan() {
                    self.error(format!("rescan failed: {e}"));
                }
                next_scan = Instant::now() + self.opts.rescan;
                waiting.clear();
                ready.clear();
                renames.clear();
                new_dirs.clear();
                continue;
            }
            for (from, to) in std::mem::take(&mut renames) {
                for p in [&from, &to] {
                    waiting.remove(p);
                    ready.remove(p);
                }
                self.file_renamed(&from, &to);
            }
            let due: Vec<String> = waiting
                .iter()
                .filter(|(_, t)| **t <= now)
                .map(|(p, _)| p.clone())
                .collect();
            let mut quiet = Vec::new();
            for p in due {
                waiting.remove(&p);
                if !ready.contains(&p) {
                    quiet.push(p);
                }
            }
            let due: Vec<PathBuf> = new_dirs
                .iter()
                .filter(|(_, d)| d.due <= now)
                .map(|(p, _)| p.clone())
                .collect();
            for p in due {
                let Some(dir) = new_dirs.remove(&p) else {
                    continue;
                };
                // Only files that landed after the first walk: those it found are read anyway.
                let later = files::walk(&p).into_iter().filter_map(|f| self.rel(&f));
                ready.extend(later.filter(|rel| !dir.walked.contains(rel)));
            }
            for rel in std::mem::take(&mut ready) {
                if self.root.join(&rel).is_file() {
                    self.file_changed(&rel);
                } else {
                    self.file_removed(&rel);
                }
            }
            for rel in quiet {
                if !self.root.join(&rel).is_file() {
                    self.file_removed(&rel);
                } else if let Some(later) = self.file_quiet(&rel) {
                    waiting.entry(rel).or_insert(later);
                }
            }
        }
    }

    /// Sorts one watcher event into paths to read now, paths to wait for and renames; true
    /// when the tree must be rescanned (overflow, a directory moved away or removed).
    fn classify(&self, ev: notify::Result<notify::Event>, seen: Seen<'_>) -> bool {
        let (waiting, ready, renames, new_dirs) = seen;
        let Ok(ev) = ev else {
            return true; // overflow or watch error: trust nothing
        };
        if ev.need_rescan() {
            return true;
        }
        match ev.kind {
            // A move within the roots: both ends are known, so it is one rename.
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)) if ev.paths.len() == 2 => {
                if let (Some(from), Some(to)) = (self.rel(&ev.paths[0]), self.rel(&ev.paths[1])) {
                    renames.push((from, to));
                    return false;
                }
            }
            // The old name of a move: its new name usually follows at once (then the pair
            // above takes it); a path moved out of the roots is a removal after the debounce.
            EventKind::Modify(ModifyKind::Name(RenameMode::From)) => {
                let mut rescan = false;
                for p in &ev.paths {
                    if let Some(rel) = self.rel(p) {
                        waiting.insert(rel, Instant::now() + self.opts.debounce);
                    } else if !p.exists() && looks_like_dir(p) {
                        rescan = true; // a directory moved away: its files went with it
                    }
                }
                return rescan;
            }
            _ => {}
        }
        let done = match ev.kind {
            // Reads (our own scans included) are not changes; a closed writer is.
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
            EventKind::Access(_) => return false,
            // The new name of a move: notify sends it before the pair (`Both`, above) when it
            // saw the old name too, and the pair may come in the next batch. Read it after the
            // debounce unless the pair takes it first (a move in from outside the roots has no
            // pair); reading it now made a rename within the roots a change plus a delete.
            EventKind::Modify(ModifyKind::Name(RenameMode::To)) => false,
            EventKind::Modify(ModifyKind::Name(_)) | EventKind::Remove(_) => true,
            _ => false,
        };
        let mut rescan = false;
        for p in ev.paths {
            if p.is_dir() {
                // A new or moved-in directory: read its files (some may predate its watch)
                // after the debounce, so a rename into it still pairs up. A link to a
                // directory is not followed (as in a full scan).
                let link = std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink());
                if !link {
                    let due = Instant::now() + self.opts.debounce;
                    let walked: BTreeSet<String> =
                        files::walk(&p).iter().filter_map(|f| self.rel(f)).collect();
                    for rel in &walked {
                        waiting.insert(rel.clone(), due);
                    }
                    new_dirs.insert(p.clone(), NewDir { due, walked });
                }
            } else if done && !p.exists() && self.rel(&p).is_none() && looks_like_dir(&p) {
                rescan = true; // a directory moved away or removed: its files went with it
            } else if let Some(rel) = self.rel(&p) {
                if done || !p.exists() {
                    waiting.remove(&rel);
                    ready.insert(rel);
                } else {
                    waiting.insert(rel, Instant::now() + self.opts.debounce);
                }
            }
        }
        rescan
    }
}
