//! `hub.cache`: exact caches that know what to invalidate. An entry is a value (bytes, text or
//! JSON, as `hub.kv` keeps them) with an optional time to live and a few tags. Invalidating a
//! tag is O(1) on every backend: each tag has a generation counter, every entry stores the
//! generations of its tags when it was written, and a read (in the same script or transaction)
//! serves an entry only while all of them are current; an invalidated entry is removed when a
//! read meets it or a sweep passes. A miss can take a lease (a short-lived claim on the key in
//! the store) so concurrent callers in many processes compute a value once (`zerolag.cache`).
//!
//! Its own capability rather than rows of `hub.kv`: the tag generations, the per-tag counts and
//! the hit/miss counters are keys of their own, and the generation check has to run in the
//! script that reads the entry, so they share the cache's hash tag (docs/cache.md).
//!
//! Behaviour is defined here once; `sqlite` (one transaction per operation) and `redis` (one
//! Lua script per operation) implement it.

pub mod dump;
pub mod redis;
pub mod semantic;
pub mod sqlite;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::engine::{tri, Backend, Capability, Migration, Op};
use crate::error::{Error, Result};
pub use crate::kv::{check_key, check_prefix, ttl_ms, KeyPage, Value};

/// This capability's row in the registry (`crate::registry`).
pub const CAPABILITY: Capability = Capability {
    name: "cache",
    migrations: &[
        Migration {
            version: 12,
            sql: sqlite::SCHEMA,
        },
        Migration {
            version: 13,
            sql: sqlite::SCHEMA_SEMANTIC,
        },
    ],
    rows: sqlite::rows,
    clear: sqlite::clear,
    topic: None,
    tag: "cache",
    partitioned: false,
    // Only entries with a prompt embedding are recorded (`sem:<key>`): the semantic index of
    // every process follows them (`semantic`).
    changes: true,
    sweep: Some(sqlite::sweep),
    export: dump::export,
    import: dump::import,
};

/// Longest tag, in bytes of UTF-8.
pub const MAX_TAG: usize = 256;
/// Most tags on one entry.
pub const MAX_TAGS: usize = 32;
/// Most keys one batch call takes.
pub const MAX_BATCH: usize = crate::kv::MAX_BATCH;
/// Longest lease: one hour, in milliseconds.
pub const MAX_LEASE_MS: u64 = 3_600_000;
/// Reads whose access times and counts a handle keeps before writing them (embedded store).
const FLUSH_READS: usize = 1024;
/// Longest a handle keeps them, in milliseconds.
const FLUSH_MS: u64 = 1000;

/// One write.
#[derive(Debug, Clone)]
pub struct Put {
    /// The key.
    pub key: String,
    /// The value.
    pub value: Value,
    /// Time to live in milliseconds (None: until evicted or invalidated).
    pub ttl_ms: Option<u64>,
    /// Its tags (distinct).
    pub tags: Vec<String>,
    /// Its prompt embedding, for semantic lookups (`semantic`).
    pub semantic: Option<SemanticPut>,
}

/// The embedding a semantic entry is stored with, and the scope it is searched in.
#[derive(Debug, Clone)]
pub struct SemanticPut {
    /// The scope (model and the parameters that change the answer, hashed by the caller).
    pub scope: String,
    /// The prompt's embedding.
    pub vector: Vec<f32>,
}

/// The change-feed id of a semantic entry.
pub fn semantic_id(key: &str) -> String {
    format!("sem:{key}")
}

/// What a read found.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// A live entry of current generation.
    Hit(Value),
    /// None; `leased` is true when this read took the key's lease (the caller computes).
    Miss {
        /// This read holds the lease now.
        leased: bool,
    },
}

/// Counters of one namespace's cache.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Reads that found a live entry.
    pub hits: u64,
    /// Reads that found none.
    pub misses: u64,
    /// Entries stored (see docs/cache.md for what is counted when).
    pub entries: u64,
    /// Bytes of their values.
    pub bytes: u64,
    /// Entries of the current generation per tag, tags with none left out.
    pub tags: Vec<(String, u64)>,
}

/// A lease request on a read: on a miss with nobody computing, the read takes the key's lease
/// for `ms` milliseconds under `token`.
#[derive(Debug, Clone)]
pub struct Lease {
    /// Who holds it (random, from the caller).
    pub token: String,
    /// For how long.
    pub ms: u64,
}

/// This handle's limits.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Largest value in bytes.
    pub max_value: usize,
    /// Most entries (None: unbounded); the least recently used go first.
    pub max_entries: Option<u64>,
    /// Most bytes of values (None: unbounded).
    pub max_bytes: Option<u64>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_value: crate::kv::DEFAULT_MAX_VALUE,
            max_entries: None,
            max_bytes: None,
        }
    }
}

/// Reads a handle has served but not yet written down: hit and miss counts (both backends),
/// and on the embedded store the access time of each entry hit and invalidated entries to
/// remove.
#[derive(Debug, Default)]
pub struct Pending {
    /// Hits since the last flush.
    pub hits: u64,
    /// Misses since the last flush.
    pub misses: u64,
    /// Key -> time of its last hit (ms).
    pub touched: HashMap<String, u64>,
    /// Keys found stale (an invalidated tag) or expired.
    pub stale: Vec<String>,
    /// When it was last written (ms).
    pub flushed_at: u64,
}

impl Pending {
    /// Takes what is pending when due (or `force`), leaving it empty.
    pub fn take(&mut self, now: u64, force: bool) -> Option<Pending> {
        let n = self.touched.len() + self.stale.len();
        let reads = (self.hits + self.misses) as usize;
        let due = force || n.max(reads) >= FLUSH_READS || now >= self.flushed_at + FLUSH_MS;
        if !due || (n == 0 && self.hits == 0 && self.misses == 0) {
            return None;
        }
        // What is left starts its own count from now (`take` leaves the default behind).
        let out = std::mem::take(self);
        self.flushed_at = now;
        Some(out)
    }

    /// Counts reads (or puts back counts a failed write took).
    pub fn add_counts(&mut self, hits: u64, misses: u64) {
        self.hits += hits;
        self.misses += misses;
    }
}

/// Checks a tag (1 to [`MAX_TAG`] bytes, no control characters).
pub fn check_tag(tag: &str) -> Result<()> {
    if tag.is_empty() || tag.len() > MAX_TAG || tag.chars().any(char::is_control) {
        return Err(Error::validation(format!(
            "a cache tag is 1 to {MAX_TAG} bytes of text without control characters, got {tag:?}"
        )));
    }
    Ok(())
}

fn check_tags(tags: &[String]) -> Result<()> {
    if tags.len() > MAX_TAGS {
        return Err(Error::validation(format!(
            "at most {MAX_TAGS} tags per entry, got {}",
            tags.len()
        )));
    }
    for (i, t) in tags.iter().enumerate() {
        check_tag(t)?;
        if tags[..i].contains(t) {
            return Err(Error::validation(format!("tag {t:?} appears twice")));
        }
    }
    Ok(())
}

fn check_keys(keys: &[String]) -> Result<()> {
    if keys.len() > MAX_BATCH {
        return Err(Error::validation(format!(
            "at most {MAX_BATCH} keys per call, got {}",
            keys.len()
        )));
    }
    keys.iter().try_for_each(|k| check_key(k))
}

/// The cache of one namespace.
#[derive(Clone)]
pub struct Cache {
    backend: Backend,
    ns: Arc<str>,
    settings: Arc<RwLock<Settings>>,
    pending: Arc<Mutex<Pending>>,
    semantic: semantic::Semantic,
}

impl Cache {
    /// The cache of `ns` on `backend`.
    pub fn new(backend: Backend, ns: Arc<str>) -> Cache {
        Cache {
            semantic: semantic::Semantic::new(backend.clone(), ns.clone()),
            backend,
            ns,
            settings: Arc::new(RwLock::new(Settings::default())),
            pending: Arc::new(Mutex::new(Pending {
                flushed_at: crate::clock::now_ms(),
                ..Pending::default()
            })),
        }
    }

    fn ns(&self) -> String {
        self.ns.to_string()
    }

    /// Drops the reads this handle has not written down yet (`hub.clear()`: counts and
    /// access times of a cleared namespace must not come back).
    pub fn forget_pending(&self) {
        *self.pending.lock() = Pending {
            flushed_at: crate::clock::now_ms(),
            ..Pending::default()
        };
    }

    /// This handle's limits.
    pub fn settings(&self) -> Settings {
        *self.settings.read()
    }

    /// Sets this handle's limits (`Some(0)` for the bounds: unbounded); returns those in force.
    pub fn configure(
        &self,
        max_value: Option<usize>,
        max_entries: Option<u64>,
        max_bytes: Option<u64>,
    ) -> Result<Settings> {
        if let Some(m) = max_value {
            if m == 0 || m > crate::kv::MAX_VALUE_LIMIT {
                return Err(Error::validation(format!(
                    "max_value must be 1 to {} bytes, got {m}",
                    crate::kv::MAX_VALUE_LIMIT
                )));
            }
        }
        let mut s = self.settings.write();
        if let Some(m) = max_value {
            s.max_value = m;
        }
        if let Some(m) = max_entries {
            s.max_entries = (m > 0).then_some(m);
        }
        if let Some(m) = max_bytes {
            s.max_bytes = (m > 0).then_some(m);
        }
        Ok(*s)
    }

    /// Reads entries; with `lease`, a miss on a key nobody holds the lease of takes it (see
    /// [`Lookup::Miss`]). `count`: add the reads to the hit and miss counters.
    pub fn get_many(
        &self,
        keys: Vec<String>,
        lease: Option<Lease>,
        count: bool,
    ) -> Op<Vec<Lookup>> {
        tri!(check_keys(&keys));
        if let Some(l) = &lease {
            if l.ms == 0 || l.ms > MAX_LEASE_MS || l.token.is_empty() {
                return Op::Ready(Err(Error::validation(format!(
                    "a lease lasts 1 ms to one hour, got {} ms",
                    l.ms
                ))));
            }
        }
        if keys.is_empty() {
            return Op::Ready(Ok(vec![]));
        }
        let now = crate::clock::now_ms();
        let pending = self.pending.clone();
        let pending_r = self.pending.clone();
        self.backend.call(
            (self.ns(), keys, lease),
            move |db, (ns, keys, lease)| {
                sqlite::get_many(db, &ns, &keys, lease.as_ref(), count, &pending, now)
            },
            move |r, c, (ns, keys, lease)| {
                redis::get_many(r, c, ns, keys, lease, count, pending_r, now)
            },
        )
    }

    /// Writes entries, all or none, then evicts the least recently used past the handle's
    /// bounds; with `lease_token`, gives up that lease on each key written.
    pub fn set_many(&self, puts: Vec<Put>, lease_token: Option<String>) -> Op<()> {
        tri!(check_keys(
            &puts.iter().map(|p| p.key.clone()).collect::<Vec<_>>()
        ));
        let settings = self.settings();
        let max = settings.max_value;
        for p in &puts {
            tri!(check_tags(&p.tags));
            if let Some(sem) = &p.semantic {
                tri!(semantic::check_scope(&sem.scope));
                tri!(semantic::check_vector(&sem.vector, "the embedding"));
                tri!(self.semantic.check_dim(&sem.scope, sem.vector.len()));
            }
            if p.value.data().len() > max {
                return Op::Ready(Err(Error::validation(format!(
                    "the value of {:?} is {} bytes; the limit is {max} (cache.configure(max_value=...))",
                    p.key,
                    p.value.data().len()
                ))));
            }
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = puts.iter().find(|p| !seen.insert(p.key.as_str())) {
            return Op::Ready(Err(Error::validation(format!(
                "key {:?} appears twice in the batch",
                dup.key
            ))));
        }
        if puts.is_empty() {
            return Op::Ready(Ok(()));
        }
        let now = crate::clock::now_ms();
        let pending = self.pending.clone();
        self.backend.call(
            (self.ns(), puts, lease_token),
            move |db, (ns, puts, tok)| {
                sqlite::set_many(db, &ns, &puts, tok.as_deref(), settings, &pending, now)
            },
            move |r, c, (ns, puts, tok)| redis::set_many(r, c, ns, puts, tok, settings, now),
        )
    }

    /// Gives up the lease on `key` if `token` holds it; true if it did.
    pub fn release(&self, key: &str, token: &str) -> Op<bool> {
        tri!(check_key(key));
        self.backend.call(
            (self.ns(), key.to_string(), token.to_string()),
            |db, (ns, key, tok)| sqlite::release(db, &ns, &key, &tok),
            |r, c, (ns, key, tok)| redis::release(r, c, ns, key, tok),
        )
    }

    /// Deletes entries; returns how many were live.
    pub fn delete_many(&self, keys: Vec<String>) -> Op<u64> {
        tri!(check_keys(&keys));
        if keys.is_empty() {
            return Op::Ready(Ok(0));
        }
        let now = crate::clock::now_ms();
        self.backend.call(
            (self.ns(), keys),
            move |db, (ns, keys)| sqlite::delete_many(db, &ns, &keys, now),
            move |r, c, (ns, keys)| redis::delete_many(r, c, ns, keys, now),
        )
    }

    /// Invalidates every entry tagged `tag` at once (one counter goes up; the entries go when
    /// read or swept); returns how many entries of the tag's current generation there were.
    pub fn invalidate_tag(&self, tag: &str) -> Op<u64> {
        tri!(check_tag(tag));
        self.backend.call(
            (self.ns(), tag.to_string()),
            |db, (ns, tag)| sqlite::invalidate_tag(db, &ns, &tag),
            |r, c, (ns, tag)| redis::invalidate_tag(r, c, ns, tag),
        )
    }

    /// Up to `limit` keys starting with `prefix`, in byte order, after `after`.
    pub fn keys(&self, prefix: &str, after: Option<&str>, limit: usize) -> Op<KeyPage> {
        tri!(check_prefix(prefix));
        if let Some(a) = after {
            tri!(check_key(a));
        }
        let now = crate::clock::now_ms();
        self.backend.call(
            (self.ns(), prefix.to_string(), after.map(str::to_string)),
            move |db, (ns, p, a)| sqlite::keys(db, &ns, &p, a.as_deref(), limit, now),
            move |r, c, (ns, p, a)| redis::keys(r, c, ns, p, a, limit),
        )
    }

    /// Deletes every entry whose key starts with `prefix`, page by page; returns how many.
    pub fn invalidate_prefix(&self, prefix: &str) -> Op<u64> {
        tri!(check_prefix(prefix));
        let me = self.clone();
        let prefix = prefix.to_string();
        Op::Async(Box::pin(async move {
            let mut total = 0;
            let mut after: Option<String> = None;
            loop {
                let page = me.keys(&prefix, after.as_deref(), 1000).run().await?;
                if page.keys.is_empty() {
                    return Ok(total);
                }
                after = page.next.clone();
                total += me.delete_many(page.keys).run().await?;
                if after.is_none() {
                    return Ok(total);
                }
            }
        }))
    }

    /// True when this handle has counts or removals not written to the store yet.
    pub fn has_pending(&self) -> bool {
        let p = self.pending.lock();
        p.hits > 0 || p.misses > 0 || !p.touched.is_empty() || !p.stale.is_empty()
    }

    /// The namespace's counters (this handle's pending reads written first).
    pub fn stats(&self) -> Op<Stats> {
        let now = crate::clock::now_ms();
        let pending = self.pending.clone();
        let pending_r = self.pending.clone();
        self.backend.call(
            self.ns(),
            move |db, ns| sqlite::stats(db, &ns, &pending, now),
            move |r, c, ns| redis::stats(r, c, ns, pending_r, now),
        )
    }

    /// Removes expired and invalidated entries now; returns how many went.
    pub fn sweep(&self) -> Op<u64> {
        let now = crate::clock::now_ms();
        let pending = self.pending.clone();
        self.backend.call(
            self.ns(),
            move |db, ns| sqlite::sweep_ns(db, &ns, &pending, now),
            move |r, c, ns| redis::sweep(r, c, ns, now),
        )
    }

    /// The best live entry of `scope` whose prompt embedding's cosine similarity to `vector`
    /// is at least `threshold`, among the `k` nearest (`semantic`).
    pub fn semantic_lookup(
        &self,
        scope: &str,
        vector: Vec<f32>,
        threshold: f64,
        k: usize,
    ) -> Op<Option<semantic::SemanticHit>> {
        tri!(semantic::check_scope(scope));
        tri!(semantic::check_vector(&vector, "the embedding"));
        if !threshold.is_finite() || !(-1.0..=1.0).contains(&threshold) {
            return Op::Ready(Err(Error::validation(format!(
                "threshold is a cosine similarity from -1.0 to 1.0, got {threshold}"
            ))));
        }
        if k == 0 || k > semantic::MAX_K {
            return Op::Ready(Err(Error::validation(format!(
                "k must be 1 to {}, got {k}",
                semantic::MAX_K
            ))));
        }
        let me = self.clone();
        let scope = scope.to_string();
        Op::Async(Box::pin(async move {
            me.semantic
                .lookup(&me, scope, vector, threshold as f32, k)
                .await
        }))
    }

    /// Semantic entries and scopes in this handle's index, after bringing it up to date.
    pub fn semantic_size(&self) -> Op<(u64, u64)> {
        let me = self.clone();
        Op::Async(Box::pin(async move { me.semantic.size(&me).await }))
    }

    /// Up to `limit` live semantic entries with keys after `after` ("" from the first), in
    /// key order, and the key to continue after (None at the end).
    pub fn semantic_page(
        &self,
        after: String,
        limit: usize,
    ) -> Op<(Vec<semantic::SemanticRow>, Option<String>)> {
        let now = crate::clock::now_ms();
        self.backend.call(
            (self.ns(), after),
            move |db, (ns, after)| sqlite::semantic_page(db, &ns, &after, limit, now),
            move |r, c, (ns, after)| redis::semantic_page(r, c, ns, after, limit, now),
        )
    }

    /// The scope and embedding of each key's semantic entry (None where there is none).
    pub fn semantic_rows(&self, keys: Vec<String>) -> Op<Vec<semantic::ScopedVector>> {
        if keys.is_empty() {
            return Op::Ready(Ok(vec![]));
        }
        let now = crate::clock::now_ms();
        self.backend.call(
            (self.ns(), keys),
            move |db, (ns, keys)| sqlite::semantic_rows(db, &ns, &keys, now),
            move |r, c, (ns, keys)| redis::semantic_rows(r, c, ns, keys, now),
        )
    }
}
