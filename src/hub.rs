//! The hub: one handle on a store and a namespace, from which every capability hangs.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::bus::{self, Bus};
use crate::docs::{self, Docs};
use crate::engine::{Backend, Op, Target};
use crate::error::{Error, Result};
use crate::events::{self, Events};
use crate::ids;
use crate::jobs::{self, Jobs};
use crate::patterns::{self, Patterns};
use crate::tasks::{self, Tasks};

/// Rows of a namespace per capability (embedded store).
type RowCount = fn(&rusqlite::Connection, &str) -> Result<u64>;
/// Deletes a namespace's rows per capability (embedded store).
type ClearRows = fn(&rusqlite::Transaction<'_>, &str) -> Result<u64>;

const ROWS: [RowCount; 6] = [
    tasks::sqlite::rows,
    docs::sqlite::rows,
    bus::sqlite::rows,
    events::sqlite::rows,
    jobs::sqlite::rows,
    patterns::sqlite::rows,
];
const CLEAR: [ClearRows; 6] = [
    tasks::sqlite::clear,
    docs::sqlite::clear,
    bus::sqlite::clear,
    events::sqlite::clear,
    jobs::sqlite::clear,
    patterns::sqlite::clear,
];

/// What `health()` reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    /// "embedded", "redis" or "redis-cluster".
    pub backend: String,
    /// Server (or SQLite library) version.
    pub server_version: String,
    /// Round trip to the store in milliseconds.
    pub rtt_ms: f64,
    /// Keys (Redis) or rows (embedded) held by this namespace.
    pub keys: u64,
    /// The namespace.
    pub namespace: String,
}

/// One handle on a store and a namespace.
pub struct Hub {
    backend: Backend,
    root: PathBuf,
    ns: Arc<str>,
    closed: AtomicBool,
    /// Task store of this namespace.
    pub tasks: Tasks,
    /// Agent bus of this namespace.
    pub bus: Bus,
    /// Event log and live events of this namespace.
    pub events: Events,
    /// Job queue of this namespace.
    pub jobs: Jobs,
    /// YAML and JSON documents of this namespace (mirrored to files by the sync).
    pub docs: Docs,
    /// The file sync engine, while one runs (see `crate::sync`).
    pub sync: parking_lot::Mutex<Option<crate::sync::Engine>>,
    /// Pattern memory of this namespace.
    pub patterns: Patterns,
}

impl Hub {
    /// Opens `url` (None: embedded under `root`) for namespace `ns`.
    pub async fn open(url: Option<String>, root: PathBuf, ns: String) -> Result<Hub> {
        ids::namespace(&ns)?;
        let target = Target::parse(url.as_deref(), root.clone())?;
        let backend = Backend::connect(target).await?;
        let ns: Arc<str> = ns.into();
        Ok(Hub {
            tasks: Tasks::new(backend.clone(), ns.clone()),
            bus: Bus::new(backend.clone(), ns.clone()),
            events: Events::new(backend.clone(), ns.clone()),
            jobs: Jobs::new(backend.clone(), ns.clone()),
            docs: Docs::new(backend.clone(), ns.clone()),
            sync: parking_lot::Mutex::new(None),
            patterns: Patterns::new(backend.clone(), ns.clone()),
            backend,
            root,
            ns,
            closed: AtomicBool::new(false),
        })
    }

    /// Opens and waits (sync callers).
    pub fn open_blocking(url: Option<String>, root: PathBuf, ns: String) -> Result<Hub> {
        crate::engine::runtime().block_on(Hub::open(url, root, ns))
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.ns
    }

    /// The directory the hub was opened on (the embedded store and the synced files).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The backend.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Fails with Closed after `close()`.
    pub fn check(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    /// Marks the hub closed (later calls fail with Closed) and closes its idle connections;
    /// the async connection goes when the last handle drops.
    pub fn close(&self) {
        let engine = self.sync.lock().take();
        if let Some(e) = engine {
            e.stop();
        }
        self.closed.store(true, Ordering::Release);
        match &self.backend {
            Backend::Sqlite(db) => db.release_idle(),
            Backend::Redis(r) => r.release_idle(),
        }
    }

    /// True after `close()`.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Backend, version, round trip and size of the namespace.
    pub fn health(&self) -> Op<Health> {
        let ns = self.ns.to_string();
        let ns2 = ns.clone();
        let name = self.backend.name().to_string();
        let name2 = name.clone();
        self.backend.op(
            move |db| {
                let t = Instant::now();
                let keys = db.with(|c| {
                    c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?;
                    ROWS.iter().try_fold(0, |n, rows| Ok(n + rows(c, &ns)?))
                })?;
                let rtt_ms = t.elapsed().as_secs_f64() * 1e3;
                Ok(Health {
                    backend: name,
                    server_version: format!("SQLite {}", crate::engine::Sqlite::version()),
                    rtt_ms,
                    keys,
                    namespace: ns,
                })
            },
            move |r, _c| async move {
                let t = Instant::now();
                r.ping().await?;
                let rtt_ms = t.elapsed().as_secs_f64() * 1e3;
                let server_version = r.server_version().await?;
                let keys = r.scan_keys(&namespace_pattern(&ns2)).await?.len() as u64;
                Ok(Health {
                    backend: name2,
                    server_version,
                    rtt_ms,
                    keys,
                    namespace: ns2,
                })
            },
        )
    }

    /// Deletes everything this namespace holds; returns the keys or rows removed.
    pub fn clear(&self) -> Op<u64> {
        let ns = self.ns.to_string();
        let ns2 = ns.clone();
        self.backend.op(
            move |db| db.with_tx(|tx| CLEAR.iter().try_fold(0, |n, clear| Ok(n + clear(tx, &ns)?))),
            move |r, _c| async move { r.delete_keys(&namespace_pattern(&ns2)).await },
        )
    }
}

/// SCAN pattern of every key of a namespace. Safe because namespaces are validated to
/// `[A-Za-z0-9_.-]`, which holds no glob character and no `:`.
pub fn namespace_pattern(ns: &str) -> String {
    format!("zl:{{{ns}:*")
}
