//! The hub: one handle on a store and a namespace, from which every capability hangs.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::bus::Bus;
use crate::cache::Cache;
use crate::changes::Changes;
use crate::docs::Docs;
use crate::engine::keys::{self, namespace_pattern};
use crate::engine::partition;
use crate::engine::{Backend, Op, Target};
use crate::error::{Error, Result};
use crate::events::Events;
use crate::ids;
use crate::jobs::Jobs;
use crate::kv::Kv;
use crate::memory::store::Memory;
use crate::patterns::Patterns;
use crate::registry::{self, CAPABILITIES};
use crate::streams::Streams;
use crate::tasks::Tasks;
use crate::{analytics::Analytics, trending::Trending};

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
    /// The same per capability, in registry order (the change feed's entries count under
    /// "changes" on both backends).
    pub by_capability: Vec<(&'static str, u64)>,
    /// The namespace.
    pub namespace: String,
    /// The attached archive's one-line state ("archive ok", "archive degraded, N behind",
    /// ...; None: no archive attached to this hub).
    pub archive: Option<String>,
}

/// One handle on a store and a namespace.
pub struct Hub {
    backend: Backend,
    root: PathBuf,
    ns: Arc<str>,
    partitions: u16,
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
    /// The file sync engine, while one runs (see `crate::filesync`).
    pub sync: parking_lot::Mutex<Option<crate::filesync::Engine>>,
    /// Pattern memory of this namespace.
    pub patterns: Patterns,
    /// The change feed of this namespace.
    pub changes: Changes,
    /// The key-value store of this namespace.
    pub kv: Kv,
    /// Records with two times, the graph, postings and vectors of this namespace.
    pub memory: Memory,
    /// Hybrid search over `memory`, from an index kept current by the change feed.
    pub memory_search: crate::memory::search::Search,
    /// The cache of this namespace.
    pub cache: Cache,
    /// Event counters and unique users of this namespace.
    pub analytics: Analytics,
    /// Trending boards of this namespace.
    pub trending: Trending,
    /// Sliding-window rate limits of this namespace.
    pub limits: crate::limits::Limits,
    /// Sessions of this namespace.
    pub sessions: crate::sessions::Sessions,
    /// Feature flags of this namespace.
    pub flags: crate::flags::Flags,
    /// Chat conversations and activity feeds of this namespace (`crate::streams`).
    pub chat: Streams,
    /// See [`Hub::chat`].
    pub activity: Streams,
    /// The PostgreSQL archive attached to this hub, if any (`crate::archive::pg`).
    pub archive: Arc<crate::archive::pg::Attachment>,
}

impl Hub {
    /// Opens `url` (None: embedded under `root`) for namespace `ns`, with the partition count
    /// the namespace has (1 for a new one).
    pub async fn open(url: Option<String>, root: PathBuf, ns: String) -> Result<Hub> {
        Hub::open_with(url, root, ns, None).await
    }

    /// Opens `url` for namespace `ns` with `partitions` (None: the count the namespace has,
    /// 1 for a new one; see `crate::engine::partition`). A count other than the namespace's
    /// is recorded when the namespace holds no data in a partitioned capability, and refused
    /// (ValidationError) when it does.
    pub async fn open_with(
        url: Option<String>,
        root: PathBuf,
        ns: String,
        partitions: Option<u16>,
    ) -> Result<Hub> {
        ids::namespace(&ns)?;
        if let Some(n) = partitions {
            partition::check(i64::from(n))?;
        }
        let target = Target::parse(url.as_deref(), root.clone())?;
        let backend = Backend::connect(target, registry::schema()?).await?;
        if let Backend::Redis(r) = &backend {
            check_layout(r, &ns).await?;
        }
        let partitions = settle_partitions(&backend, &ns, partitions).await?;
        let ns: Arc<str> = ns.into();
        let memory = Memory::new(backend.clone(), ns.clone());
        Ok(Hub {
            tasks: Tasks::new(backend.clone(), ns.clone()),
            bus: Bus::new(backend.clone(), ns.clone(), partitions),
            events: Events::partitioned(backend.clone(), ns.clone(), partitions),
            jobs: Jobs::new(backend.clone(), ns.clone(), partitions),
            docs: Docs::new(backend.clone(), ns.clone()),
            sync: parking_lot::Mutex::new(None),
            patterns: Patterns::new(backend.clone(), ns.clone()),
            changes: Changes::new(backend.clone(), ns.clone(), registry::feeds()),
            kv: Kv::new(backend.clone(), ns.clone()),
            memory_search: crate::memory::search::Search::new(
                backend.clone(),
                ns.clone(),
                memory.clone(),
            ),
            memory,
            cache: Cache::new(backend.clone(), ns.clone()),
            analytics: Analytics::new(backend.clone(), ns.clone()),
            trending: Trending::new(backend.clone(), ns.clone()),
            limits: crate::limits::Limits::new(backend.clone(), ns.clone()),
            sessions: crate::sessions::Sessions::new(backend.clone(), ns.clone()),
            flags: crate::flags::Flags::new(backend.clone(), ns.clone()),
            chat: Streams::chat(backend.clone(), ns.clone()),
            activity: Streams::activity(backend.clone(), ns.clone()),
            archive: Arc::default(),
            backend,
            root,
            ns,
            partitions,
            closed: AtomicBool::new(false),
        })
    }

    /// Opens and waits (sync callers).
    pub fn open_blocking(url: Option<String>, root: PathBuf, ns: String) -> Result<Hub> {
        crate::engine::runtime().block_on(Hub::open(url, root, ns))
    }

    /// [`Hub::open_with`], waiting (sync callers).
    pub fn open_with_blocking(
        url: Option<String>,
        root: PathBuf,
        ns: String,
        partitions: Option<u16>,
    ) -> Result<Hub> {
        crate::engine::runtime().block_on(Hub::open_with(url, root, ns, partitions))
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.ns
    }

    /// The namespace's partition count (`crate::engine::partition`).
    pub fn partitions(&self) -> u16 {
        self.partitions
    }

    /// The directory the hub was opened on (the embedded store and the synced files).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The backend.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Fails with Closed after `close()`, and with Forked in a child forked after the hub
    /// was opened.
    pub fn check(&self) -> Result<()> {
        self.backend.check_fork()?;
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
        if self.backend.check_fork().is_ok() {
            self.archive.close();
        }
        if self.backend.check_fork().is_err() {
            // In a child forked after the open: the file sync's threads and the connections
            // are the parent's; leave them be (see `Drop`).
            std::mem::forget(engine);
            self.closed.store(true, Ordering::Release);
            return;
        }
        if let Some(e) = engine {
            e.stop();
        }
        if self.cache.has_pending() {
            // The cache's reads counted since its last batch (docs/cache.md, Stats). A store
            // that fails now loses them, as a process that exits without closing does.
            let _ = self.cache.stats().wait();
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
        let archive = self
            .archive
            .attached()
            .then(|| self.archive.health().message);
        let archive2 = archive.clone();
        self.backend.call(
            (self.ns.to_string(), self.backend.name().to_string()),
            move |db, (ns, name)| {
                let t = Instant::now();
                let by_capability = db.with(|c| {
                    c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?;
                    CAPABILITIES
                        .iter()
                        .map(|cap| Ok((cap.name, (cap.rows)(c, &ns)?)))
                        .collect::<Result<Vec<_>>>()
                })?;
                let keys = by_capability.iter().map(|(_, n)| n).sum();
                let rtt_ms = t.elapsed().as_secs_f64() * 1e3;
                Ok(Health {
                    backend: name,
                    server_version: format!("SQLite {}", crate::engine::Sqlite::version()),
                    rtt_ms,
                    keys,
                    by_capability,
                    namespace: ns,
                    archive,
                })
            },
            move |r, _c, (ns, name)| async move {
                let t = Instant::now();
                r.ping().await?;
                let rtt_ms = t.elapsed().as_secs_f64() * 1e3;
                let server_version = r.server_version().await?;
                // The registry's capabilities' keys (the namespace's own meta keys are not
                // data, so a new namespace counts 0 on every backend).
                let mut by_capability: Vec<(&'static str, u64)> =
                    CAPABILITIES.iter().map(|c| (c.name, 0)).collect();
                for (i, cap) in CAPABILITIES.iter().enumerate() {
                    let prefix = keys::prefix(&ns, cap.tag);
                    let pattern = if cap.partitioned {
                        partition::pattern(&ns, cap.tag)
                    } else {
                        format!("{prefix}*")
                    };
                    for key in r.scan_keys(&pattern).await? {
                        // A declaring capability's feed lives under its tag but is the feed's.
                        let feed =
                            cap.changes && matches!(&key[prefix.len()..], "changes" | "changes:n");
                        let slot = if feed {
                            CAPABILITIES.iter().position(|c| c.name == "changes")
                        } else {
                            Some(i)
                        };
                        if let Some(s) = slot {
                            by_capability[s].1 += 1;
                        }
                    }
                }
                let keys = by_capability.iter().map(|(_, n)| n).sum();
                Ok(Health {
                    backend: name,
                    server_version,
                    rtt_ms,
                    keys,
                    by_capability,
                    namespace: ns,
                    archive: archive2,
                })
            },
        )
    }

    /// Deletes everything this namespace holds; returns the keys or rows removed.
    pub fn clear(&self) -> Op<u64> {
        self.cache.forget_pending();
        let n = self.partitions;
        self.backend.call(
            self.ns.to_string(),
            |db, ns| {
                // The partition count stays (it is the hub's, not data): `ns_partitions`
                // belongs to no capability.
                db.with_tx(|tx| {
                    CAPABILITIES
                        .iter()
                        .try_fold(0, |n, cap| Ok(n + (cap.clear)(tx, &ns)?))
                })
            },
            move |r, _c, ns| async move {
                // The namespace's meta keys go too, uncounted: they are not data (a new
                // namespace counts 0), and the next open writes them again.
                r.delete_keys(&format!("{}*", keys::prefix(&ns, "meta")))
                    .await?;
                let removed = r.delete_keys(&namespace_pattern(&ns)).await?;
                // The partition count stays, as on the embedded store: this hub (and others
                // open on the namespace) keep writing partitioned keys.
                if n > 1 {
                    let mut c = r.conn();
                    redis::cmd("SET")
                        .arg(partition::count_key(&ns))
                        .arg(n)
                        .query_async::<()>(&mut c)
                        .await
                        .map_err(|e| r.err(e))?;
                }
                Ok(removed)
            },
        )
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        if self.backend.check_fork().is_err() {
            // The file sync's threads stayed in the parent: stopping it here would wait
            // for them forever.
            std::mem::forget(self.sync.get_mut().take());
        }
    }
}

/// Checks (and on a new namespace records) the namespace's Redis layout version: a namespace
/// written by a later layout is refused rather than misread.
async fn check_layout(r: &crate::engine::Redis, ns: &str) -> Result<()> {
    let mut c = r.conn();
    let stored: i64 = redis::Script::new(
        "local v = redis.call('GET', KEYS[1]) \
         if v then return tonumber(v) end \
         redis.call('SET', KEYS[1], ARGV[1]) return tonumber(ARGV[1])",
    )
    .key(registry::layout_key(ns))
    .arg(registry::REDIS_LAYOUT)
    .invoke_async(&mut c)
    .await
    .map_err(|e| r.err(e))?;
    if stored > registry::REDIS_LAYOUT {
        return Err(Error::Backend(format!(
            "namespace {ns:?} on this Redis has key layout {stored}, newer than this zerolag \
             knows ({}): it was written by a later release; upgrade zerolag to open it",
            registry::REDIS_LAYOUT
        )));
    }
    Ok(())
}

/// The namespace's partition count: the stored one when `requested` is None or equal to it
/// (none stored: 1); otherwise `requested`, recorded, when the namespace holds no data in a
/// partitioned capability, else the refusal of [`partition::refused`].
async fn settle_partitions(backend: &Backend, ns: &str, requested: Option<u16>) -> Result<u16> {
    let clamp = |n: i64| n.clamp(1, i64::from(partition::MAX)) as u16;
    backend
        .call(
            ns.to_string(),
            move |db, ns| {
                let read = |c: &rusqlite::Connection| -> Result<u16> {
                    match c.query_row("SELECT n FROM ns_partitions WHERE ns = ?1", [&ns], |r| {
                        r.get::<_, i64>(0)
                    }) {
                        Ok(n) => Ok(clamp(n)),
                        Err(rusqlite::Error::QueryReturnedNoRows) => Ok(1),
                        Err(e) => Err(e.into()),
                    }
                };
                // A read first: an open takes no write lock unless the count changes (another
                // process may hold the lock for long, e.g. one stopped with SIGSTOP).
                let stored = db.with(|c| read(c))?;
                if requested.is_none_or(|w| w == stored) {
                    return Ok(stored);
                }
                db.with_tx(|tx| {
                    let stored = read(tx)?;
                    let Some(want) = requested.filter(|&w| w != stored) else {
                        return Ok(stored);
                    };
                    for cap in CAPABILITIES.iter().filter(|c| c.partitioned) {
                        if (cap.rows)(tx, &ns)? > 0 {
                            return Err(partition::refused(&ns, stored, want));
                        }
                    }
                    tx.execute(
                        "INSERT INTO ns_partitions (ns, n) VALUES (?1, ?2) \
                         ON CONFLICT (ns) DO UPDATE SET n = excluded.n",
                        rusqlite::params![ns, want],
                    )?;
                    Ok(want)
                })
            },
            move |r, mut c, ns| async move {
                let key = partition::count_key(&ns);
                let stored: Option<i64> = redis::cmd("GET")
                    .arg(&key)
                    .query_async(&mut c)
                    .await
                    .map_err(|e| r.err(e))?;
                let stored = stored.map_or(1, clamp);
                let Some(want) = requested.filter(|&w| w != stored) else {
                    return Ok(stored);
                };
                for cap in CAPABILITIES.iter().filter(|c| c.partitioned) {
                    if !r
                        .scan_keys(&partition::pattern(&ns, cap.tag))
                        .await?
                        .is_empty()
                    {
                        return Err(partition::refused(&ns, stored, want));
                    }
                }
                redis::cmd("SET")
                    .arg(&key)
                    .arg(want)
                    .query_async::<()>(&mut c)
                    .await
                    .map_err(|e| r.err(e))?;
                Ok(want)
            },
        )
        .run()
        .await
}
