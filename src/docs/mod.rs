//! `hub.docs`: YAML and JSON documents kept in the store under their file path
//! (`contexts/app/brief.yaml`), each with its raw text, parsed value, version, content hash,
//! origin and times. Writes through this API are "store" writes: they also enter the
//! namespace's write-back queue, which the file sync drains (a document that is gone from the
//! store but still queued is a file to delete). Writes from files ("file" origin) do not.
//! Writing the same text again is not a change: the version stays, nothing is queued.

mod batch;
pub mod dump;
pub mod edit;
pub mod redis;
pub mod sqlite;
#[cfg(test)]
mod tests;
mod text;
pub mod yaml;
mod yaml_json;

use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use serde_json::{Map, Value};

pub use batch::{Imported, State};
pub use text::{check_path, hash, hash_bytes, merge, now, parse, parse_to_json, render};

use crate::engine::{runtime, tri, Backend, Op};
use crate::engine::{Capability, Migration, Topic};
use crate::error::{Error, Result};

/// What this capability's writers wake on the embedded store.
pub const TOPIC: Topic = Topic("docs");

/// This capability's row in the registry (`crate::registry`).
pub const CAPABILITY: Capability = Capability {
    name: "docs",
    migrations: &[
        Migration {
            version: 6,
            sql: sqlite::SCHEMA,
        },
        Migration {
            version: 8,
            sql: sqlite::SCHEMA_BASE,
        },
    ],
    rows: sqlite::rows,
    clear: sqlite::clear,
    topic: Some(TOPIC),
    tag: "docs",
    partitioned: false,
    changes: true,
    sweep: None,
    export: dump::export,
    import: dump::import,
};

/// Largest document text unless configured otherwise.
pub const DEFAULT_MAX_BYTES: usize = 1 << 20;
/// Longest path.
pub const MAX_PATH: usize = 1024;
/// Most paths one `list` returns.
pub const MAX_LIST: usize = 100_000;
/// The longest pause between two tries of a merge that collided with another writer.
const MERGE_BACKOFF_MAX: std::time::Duration = std::time::Duration::from_millis(20);

/// The file format, from the path's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.yaml` or `.yml`.
    Yaml,
    /// `.json`.
    Json,
}

impl Format {
    /// "yaml" or "json".
    pub fn name(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Json => "json",
        }
    }
}

/// Where the current version came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Read from the file.
    File,
    /// Written through the API.
    Store,
}

impl Origin {
    /// "file" or "store".
    pub fn name(self) -> &'static str {
        match self {
            Origin::File => "file",
            Origin::Store => "store",
        }
    }

    fn parse(s: &str) -> Result<Origin> {
        match s {
            "file" => Ok(Origin::File),
            "store" => Ok(Origin::Store),
            _ => Err(Error::Backend(format!("stored document has origin {s:?}"))),
        }
    }
}

/// One stored document.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// Path under the hub's root, `/`-separated.
    pub path: String,
    /// The raw text (what the file holds).
    pub text: String,
    /// The parsed value.
    pub value: Value,
    /// YAML or JSON.
    pub format: Format,
    /// Counts changes, from 1.
    pub version: u64,
    /// SHA-256 of the text, hex.
    pub hash: String,
    /// Where this version came from.
    pub origin: Origin,
    /// When the document was first stored (seconds since the epoch).
    pub created: f64,
    /// When this version was stored.
    pub updated: f64,
    /// Hash of the text the file and the store last agreed on ("" if never): the base that
    /// tells which side changed since the last sync.
    pub synced: String,
    /// True when the text was rendered whole from the value (a `put` of a value, or a merge
    /// that could not be applied in place); false when it is someone's own text or that text
    /// edited in place (see [`Write::whole`]).
    pub whole: bool,
}

/// What a write stores (validated, rendered, hashed).
#[derive(Debug, Clone)]
pub struct Write {
    /// The path.
    pub path: String,
    /// Raw text.
    pub text: String,
    /// The value as compact JSON.
    pub value: String,
    /// Format.
    pub format: Format,
    /// SHA-256 of the text.
    pub hash: String,
    /// Origin of the write.
    pub origin: Origin,
    /// Only if the stored version is this (0: only if there is none).
    pub expected: Option<u64>,
    /// True when the text was rendered whole from the value; false when it is the caller's
    /// own text or the current text edited in place (its comments and layout kept).
    pub whole: bool,
}

/// Limits and roots of a documents handle.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Top-level directories documents may live in.
    pub roots: Vec<String>,
    /// Largest text in bytes.
    pub max_bytes: usize,
    /// Parser limits.
    pub limits: yaml::Limits,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            roots: vec!["contexts".into(), "workflows".into()],
            max_bytes: DEFAULT_MAX_BYTES,
            limits: yaml::Limits::default(),
        }
    }
}

/// The documents of one namespace (clones share the settings).
#[derive(Clone)]
pub struct Docs {
    backend: Backend,
    ns: Arc<str>,
    settings: Arc<RwLock<Settings>>,
}

impl Docs {
    /// The documents of namespace `ns`.
    pub fn new(backend: Backend, ns: Arc<str>) -> Docs {
        Docs {
            backend,
            ns,
            settings: Arc::new(RwLock::new(Settings::default())),
        }
    }

    /// Runs `work` (a look at the write-back queue); when it returns true (nothing to do),
    /// waits until a store-side write by any process, a [`Docs::nudge`], or `timeout`. The
    /// wake-up is armed before `work` runs, so a write in between is not missed. (SQLite: this
    /// process's commits at once, other processes' within about a millisecond; Redis: the
    /// write scripts PUBLISH, a write through this process wakes it directly.)
    pub fn idle_wait(&self, work: impl FnOnce() -> bool, timeout: Duration) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(db) => {
                let mut w = db.watch(TOPIC)?;
                if work() {
                    w.wait(timeout)?;
                }
            }
            Backend::Redis(r) => {
                let wake = r.wakeups(&self.ns);
                let mut t = runtime().block_on(wake.ticket(redis::WAKE_TOPIC));
                if work() {
                    runtime().block_on(t.wait_whole(timeout));
                }
            }
        }
        Ok(())
    }

    /// Wakes this process's [`Docs::idle_wait`] at once (e.g. to let it see a stop).
    pub fn nudge(&self) {
        match &self.backend {
            Backend::Sqlite(db) => db.nudge(TOPIC),
            Backend::Redis(r) => r.wakeups(&self.ns).fire(redis::WAKE_TOPIC),
        }
    }

    /// Roots and limits in force.
    pub fn settings(&self) -> Settings {
        self.settings.read().clone()
    }

    /// Changes roots and limits of this handle.
    pub fn configure(&self, roots: Option<Vec<String>>, max_bytes: Option<usize>) -> Result<()> {
        let mut s = self.settings();
        if let Some(r) = roots {
            if r.is_empty() {
                return Err(Error::validation("give at least one root directory"));
            }
            for x in &r {
                if x.is_empty() || x.contains('/') || x.contains('\\') || x == "." || x == ".." {
                    return Err(Error::validation(format!(
                        "root {x:?} must be one directory name under the hub's root"
                    )));
                }
            }
            s.roots = r;
        }
        if let Some(m) = max_bytes {
            if m == 0 {
                return Err(Error::validation("max_bytes must be at least 1"));
            }
            s.max_bytes = m;
        }
        *self.settings.write() = s;
        Ok(())
    }

    fn ns(&self) -> String {
        self.ns.to_string()
    }

    /// Checks `path` against this handle's roots.
    pub fn check(&self, path: &str) -> Result<Format> {
        check_path(path, &self.settings.read().roots)
    }

    /// The document at `path`, if any.
    pub fn get_opt(&self, path: &str) -> Op<Option<Document>> {
        tri!(self.check(path));
        self.backend.call(
            (self.ns(), path.to_string()),
            |db, (ns, p)| sqlite::get(db, &ns, &p),
            |r, c, (ns, p)| redis::get(r, c, ns, p),
        )
    }

    /// The document at `path` (NotFound if none).
    pub fn get(&self, path: &str) -> Op<Document> {
        let path = path.to_string();
        self.get_opt(&path)
            .and_then(move |d| d.ok_or_else(|| not_found(&path)))
    }

    /// Builds a write of `value` to `path` (rendered in the path's format).
    pub fn value_write(&self, path: &str, value: &Value, expected: Option<u64>) -> Result<Write> {
        let format = self.check(path)?;
        let text = render(value, format);
        let mut w = self.text_write(path, text, Origin::Store, expected)?;
        w.whole = true;
        Ok(w)
    }

    /// Builds a write of raw `text` to `path` (parsed to check it and to store its value).
    pub fn text_write(
        &self,
        path: &str,
        text: String,
        origin: Origin,
        expected: Option<u64>,
    ) -> Result<Write> {
        let h = hash(&text);
        self.hashed_write(path, text, h, origin, expected)
    }

    /// [`Docs::text_write`] of a text whose [`hash`] the caller has already computed.
    pub fn hashed_write(
        &self,
        path: &str,
        text: String,
        hash: String,
        origin: Origin,
        expected: Option<u64>,
    ) -> Result<Write> {
        // Read under the settings' read lock rather than a clone of them (the scan calls this
        // per file); readers do not block each other.
        let (format, value) = {
            let s = self.settings.read();
            let format = check_path(path, &s.roots)?;
            (format, parse_to_json(&text, format, &s)?)
        };
        Ok(Write {
            path: path.to_string(),
            hash,
            value,
            text,
            format,
            origin,
            expected,
            whole: false,
        })
    }

    /// Stores a write; Conflict when `expected` does not match the stored version.
    pub fn write(&self, w: Write) -> Op<Document> {
        self.backend.call(
            (self.ns(), w),
            |db, (ns, w)| sqlite::put(db, &ns, &w),
            |r, c, (ns, w)| redis::put(r, c, ns, w),
        )
    }

    /// Deep-merges `updates` into the document at `path` (created if missing) and stores the
    /// result, retrying when another writer got in between.
    pub fn merge(&self, path: &str, updates: Value) -> Op<Document> {
        let format = tri!(self.check(path));
        self.backend.call(
            (self.ns(), path.to_string(), updates, self.settings()),
            move |db, (ns, p, u, s)| sqlite::merge(db, &ns, &p, format, &u, &s),
            move |r, c, (ns, p, u, s)| async move {
                // Optimistic: read, merge, write if unchanged. Writers that keep colliding
                // back off at random (doubling, up to 20 ms) so that none starves, for as
                // long as one reply may take.
                let deadline = std::time::Instant::now() + r.response_timeout();
                let mut pause = std::time::Duration::from_micros(100);
                loop {
                    let cur = redis::get(r.clone(), c.clone(), ns.clone(), p.clone()).await?;
                    let w = merged_write(&p, format, cur.as_ref(), &u, &s)?;
                    match redis::put(r.clone(), c.clone(), ns.clone(), w).await {
                        Err(Error::Conflict(_)) => {}
                        other => return other,
                    }
                    if std::time::Instant::now() >= deadline {
                        return Err(Error::Conflict(format!(
                            "document {p:?} kept changing during merge; retry"
                        )));
                    }
                    let jitter = rand::random_range(0..=pause.as_micros() as u64);
                    tokio::time::sleep(std::time::Duration::from_micros(jitter)).await;
                    pause = (pause * 2).min(MERGE_BACKOFF_MAX);
                }
            },
        )
    }

    /// Deletes the document (queued for the file to be deleted); false if there was none.
    pub fn delete(&self, path: &str, origin: Origin) -> Op<bool> {
        tri!(self.check(path));
        self.backend.call(
            (self.ns(), path.to_string()),
            move |db, (ns, p)| sqlite::delete(db, &ns, &p, origin),
            move |r, c, (ns, p)| redis::delete(r, c, ns, p, origin),
        )
    }

    /// Paths starting with `prefix`, sorted.
    pub fn list(&self, prefix: &str) -> Op<Vec<String>> {
        if prefix.chars().any(|c| c.is_control()) || prefix.len() > MAX_PATH {
            return Op::Ready(Err(Error::validation(format!(
                "list prefix {prefix:?} must be printable and at most {MAX_PATH} bytes"
            ))));
        }
        self.backend.call(
            (self.ns(), prefix.to_string()),
            |db, (ns, p)| sqlite::list(db, &ns, &p),
            |r, c, (ns, p)| redis::list(r, c, ns, p),
        )
    }

    /// Marks `path` written back: leaves the queue and records `hash` as the synced base,
    /// only if the store still holds that text (`None`: only if the document is still gone).
    /// False when the store changed meanwhile (the path stays queued).
    pub fn done_writeback(&self, path: &str, hash: Option<String>) -> Op<bool> {
        self.backend.call(
            (self.ns(), path.to_string(), hash),
            |db, (ns, p, h)| sqlite::done_writeback(db, &ns, &p, h.as_deref()),
            |r, c, (ns, p, h)| redis::done_writeback(r, c, ns, p, h),
        )
    }

    /// The text both sides last agreed on, kept from the first store-side change after a
    /// sync until the next sync (None when the document is in sync, or never was). The sync
    /// engine merges against it when the file changed too.
    pub fn base(&self, path: &str) -> Op<Option<String>> {
        tri!(self.check(path));
        self.backend.call(
            (self.ns(), path.to_string()),
            |db, (ns, p)| sqlite::base(db, &ns, &p),
            |r, c, (ns, p)| redis::base(r, c, ns, p),
        )
    }

    /// The file at `path` now holds `text` (hash `hash`), an earlier store version, because
    /// its write-back raced a newer store write: that text becomes the synced base, so the
    /// next write-back sees the file as unchanged rather than as an edit. False when the store
    /// holds that text again (then `done_writeback` settles it) or has no document.
    pub fn rebase(&self, path: &str, hash: &str, text: &str) -> Op<bool> {
        self.backend.call(
            (
                self.ns(),
                path.to_string(),
                hash.to_string(),
                text.to_string(),
            ),
            |db, (ns, p, h, t)| sqlite::rebase(db, &ns, &p, &h, &t),
            |r, c, (ns, p, h, t)| redis::rebase(r, c, ns, p, h, t),
        )
    }

    /// Paths waiting to be written back to files, oldest change first.
    pub fn pending(&self, limit: usize) -> Op<Vec<String>> {
        self.backend.call(
            self.ns(),
            move |db, ns| sqlite::pending(db, &ns, limit),
            move |r, c, ns| redis::pending(r, c, ns, limit),
        )
    }
}

/// The write that merges `updates` into `cur` (or into an empty mapping).
pub fn merged_write(
    path: &str,
    format: Format,
    cur: Option<&Document>,
    updates: &Value,
    s: &Settings,
) -> Result<Write> {
    let mut v = cur.map_or_else(|| Value::Object(Map::new()), |d| d.value.clone());
    merge(&mut v, updates);
    // A YAML file keeps its comments and layout when only the merged fields change.
    let edited = match (format, cur) {
        (Format::Yaml, Some(d)) => edit::edit_yaml(&d.text, &d.value, &v, s.limits),
        _ => None,
    }
    .filter(|t| t.len() <= s.max_bytes);
    let whole = edited.is_none();
    let text = edited.unwrap_or_else(|| render(&v, format));
    if text.len() > s.max_bytes {
        return Err(Error::validation(format!(
            "merged document is {} bytes, over the limit of {}",
            text.len(),
            s.max_bytes
        )));
    }
    Ok(Write {
        path: path.to_string(),
        hash: hash(&text),
        value: v.to_string(),
        text,
        format,
        origin: Origin::Store,
        expected: Some(cur.map_or(0, |d| d.version)),
        whole,
    })
}

fn not_found(path: &str) -> Error {
    Error::NotFound(format!("no document {path:?} in the store"))
}

/// A stored row or hash back into a document.
#[allow(clippy::too_many_arguments)]
pub fn document(
    path: String,
    text: String,
    value: &str,
    format: &str,
    version: u64,
    hash: String,
    origin: &str,
    created: f64,
    updated: f64,
    synced: String,
    whole: bool,
) -> Result<Document> {
    Ok(Document {
        path,
        text,
        value: serde_json::from_str(value)?,
        format: if format == "json" {
            Format::Json
        } else {
            Format::Yaml
        },
        version,
        hash,
        origin: Origin::parse(origin)?,
        created,
        updated,
        synced,
        whole,
    })
}
