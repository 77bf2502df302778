//! The file side of the sync: the root's lock, walking the roots, reading with a size limit,
//! atomic writes, conflict copies.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Marks temp files of `write_atomic` (never imported).
const TEMP_MARK: &str = ".zl-tmp-";
/// Marks conflict copies (never imported).
const CONFLICT_MARK: &str = ".conflict-";

/// Holds `<root>/.zerolag/sync.lock`; Conflict if another engine holds it.
pub fn lock(root: &Path) -> Result<File> {
    let dir = root.join(".zerolag");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("sync.lock");
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)?;
    match f.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = f.read_to_string(&mut holder);
            return Err(Error::Conflict(format!(
                "another sync engine already runs on {} ({}); stop it first",
                root.display(),
                if holder.trim().is_empty() {
                    "pid unknown".to_string()
                } else {
                    holder.trim().to_string()
                }
            )));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
    }
    f.set_len(0)?;
    write!(f, "pid {}", std::process::id())?;
    f.sync_all()?;
    Ok(f)
}

/// True for `write_atomic`'s temp files.
pub fn is_temp(rel: &str) -> bool {
    rel.rsplit('/')
        .next()
        .is_some_and(|n| n.contains(TEMP_MARK))
}

/// Removes `write_atomic`'s temp files under `dirs` (left by an engine killed mid-write; the
/// caller holds the root's lock, so no other engine is writing one). Returns how many went.
pub fn remove_stale_temps(dirs: &[PathBuf]) -> usize {
    let mut n = 0;
    for d in dirs {
        for f in walk(d) {
            let temp = f
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains(TEMP_MARK));
            let plain = std::fs::symlink_metadata(&f).is_ok_and(|m| m.file_type().is_file());
            if temp && plain && std::fs::remove_file(&f).is_ok() {
                n += 1;
            }
        }
    }
    n
}

/// When a file last modified less than `settle` ago will have been quiet for `settle`; None
/// if it already has (or cannot be read).
pub fn settles_at(path: &Path, settle: std::time::Duration) -> Option<std::time::Instant> {
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok()?;
    let age = modified.elapsed().unwrap_or_default();
    (age < settle).then(|| std::time::Instant::now() + (settle - age))
}

/// True for conflict copies.
pub fn is_conflict_copy(rel: &str) -> bool {
    rel.rsplit('/')
        .next()
        .is_some_and(|n| n.contains(CONFLICT_MARK))
}

/// `dir/name.conflict-<unix ms>.ext` beside `rel`.
pub fn conflict_copy(rel: &str) -> String {
    let ms = crate::clock::now_ms();
    match rel.rfind('.') {
        Some(i) if i > rel.rfind('/').map_or(0, |s| s + 1) => {
            format!("{}{CONFLICT_MARK}{ms}{}", &rel[..i], &rel[i..])
        }
        _ => format!("{rel}{CONFLICT_MARK}{ms}"),
    }
}

/// Every file under `dir`, symlinks to files included (wherever they point: reading one is
/// checked by [`Confine`], so a link out of the synced folders is reported, not skipped
/// silently); links to directories and dangling links are not followed.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_symlink() {
                if p.is_file() {
                    out.push(p);
                }
            } else if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() {
                out.push(p);
            }
        }
    }
    out
}

/// The synced folders (`<root>/contexts`, `<root>/workflows`, symlinks resolved): the only
/// places the sync reads or writes. A symlink inside them whose target lies elsewhere (even
/// in the same repository, such as `contexts/x.yaml -> ../.env`) is refused.
pub struct Confine {
    dirs: Vec<PathBuf>,
}

impl Confine {
    /// The folders `roots` under `root`; they must exist.
    pub fn new(root: &Path, roots: &[String]) -> Result<Confine> {
        let dirs = roots
            .iter()
            .map(|r| root.join(r).canonicalize())
            .collect::<std::io::Result<_>>()?;
        Ok(Confine { dirs })
    }

    /// Refuses `full` if what exists of it resolves outside the synced folders; `what` ends
    /// the message ("not read", "not written").
    pub fn check(&self, full: &Path, what: &str) -> Result<()> {
        let mut p = full.to_path_buf();
        while std::fs::symlink_metadata(&p).is_err() {
            match p.parent() {
                Some(q) => p = q.to_path_buf(),
                None => return Ok(()),
            }
        }
        let real = match p.canonicalize() {
            Ok(r) => r,
            // A dangling link: it leads nowhere the sync may go.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(self.refusal(full, what))
            }
            Err(e) => return Err(e.into()),
        };
        // Inside a synced folder, or an ancestor of one that does not exist yet (a missing
        // folder is created as a real directory).
        let missing_folder = || p != *full && self.dirs.iter().any(|d| d.starts_with(&real));
        if self.dirs.iter().any(|d| real.starts_with(d)) || missing_folder() {
            Ok(())
        } else {
            Err(self.refusal(full, what))
        }
    }

    fn refusal(&self, full: &Path, what: &str) -> Error {
        Error::validation(format!(
            "{} is a symlink leading outside the synced folders; {what}",
            full.display()
        ))
    }
}

/// The file's bytes (None if it does not exist); Validation if it is over `max` bytes.
pub fn read_limited(path: &Path, max: usize) -> Result<Option<Vec<u8>>> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    // Sized from the file's length (one read for the text, one to see the end), never past
    // the limit: the file may grow meanwhile.
    let len = f.metadata().map_or(0, |m| m.len());
    let mut buf = Vec::with_capacity((len.min(max as u64) as usize).saturating_add(1));
    f.take((max as u64).saturating_add(1))
        .read_to_end(&mut buf)?;
    if buf.len() > max {
        return Err(Error::validation(format!(
            "over the size limit of {max} bytes; the file is left as it is"
        )));
    }
    Ok(Some(buf))
}

/// The file's bytes as text; Validation (naming the first bad byte) if not UTF-8.
pub fn utf8(bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        Error::validation(format!(
            "not valid UTF-8 (byte {}); the file is left as it is",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// Writes `bytes` to `path` so that a reader (or a crash) sees the old file or the new one,
/// never a mix: a temp file in the same directory, fsync, rename, fsync of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| Error::validation(format!("{} has no directory", path.display())))?;
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(
        ".{name}{TEMP_MARK}{}-{:x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    let res = (|| -> Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res?;
    sync_dir(path);
    Ok(())
}

/// Flushes the directory entry of `path` (after a rename or delete).
pub fn sync_dir(path: &Path) {
    if let Some(d) = path.parent() {
        if let Ok(f) = File::open(d) {
            let _ = f.sync_all();
        }
    }
}
