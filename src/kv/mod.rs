//! `hub.kv`: a key-value and blob store. Values are bytes, text or JSON and come back as they
//! went in; each key has a version (compare-and-set with `if_version`) and an optional time to
//! live (native expiry on Redis; on the embedded store expired keys are never returned and are
//! swept in the background). Keys are free text up to [`MAX_KEY`] bytes, never validated away
//! and never used as patterns: prefixes are listed from a lexicographic index. Not mirrored to
//! files, and not part of the change feed (a cache's writes would double its cost).
//!
//! Behaviour is defined here once; `sqlite` (one transaction per operation) and `redis` (one
//! Lua script per operation) implement it.

pub mod dump;
pub mod redis;
pub mod sqlite;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use parking_lot::RwLock;

use crate::engine::{tri, Backend, Capability, Migration, Op};
use crate::error::{Error, Result};

/// This capability's row in the registry (`crate::registry`).
pub const CAPABILITY: Capability = Capability {
    name: "kv",
    migrations: &[Migration {
        version: 10,
        sql: sqlite::SCHEMA,
    }],
    rows: sqlite::rows,
    clear: sqlite::clear,
    topic: None,
    tag: "kv",
    partitioned: false,
    changes: false,
    sweep: Some(sqlite::sweep),
    export: dump::export,
    import: dump::import,
};

/// Longest key, in bytes of UTF-8.
pub const MAX_KEY: usize = 1024;
/// Largest value unless configured otherwise (16 MiB).
pub const DEFAULT_MAX_VALUE: usize = 16 << 20;
/// Largest value a handle may be configured for (Redis's default bulk limit, 512 MiB).
pub const MAX_VALUE_LIMIT: usize = 512 << 20;
/// Most keys one batch call takes.
pub const MAX_BATCH: usize = 10_000;
/// Most keys one page of `keys` returns.
pub const MAX_PAGE: usize = 10_000;
/// Longest time to live: ten years, in milliseconds.
pub const MAX_TTL_MS: u64 = 10 * 365 * 86_400_000;

/// A stored value, as it was given.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// Text.
    Text(String),
    /// A JSON value, serialized.
    Json(String),
}

impl Value {
    /// Its type code in the store: `b`, `s` or `j`.
    pub fn code(&self) -> &'static str {
        match self {
            Value::Bytes(_) => "b",
            Value::Text(_) => "s",
            Value::Json(_) => "j",
        }
    }

    /// Its bytes in the store.
    pub fn data(&self) -> &[u8] {
        match self {
            Value::Bytes(b) => b,
            Value::Text(s) | Value::Json(s) => s.as_bytes(),
        }
    }

    /// From the store's type code and bytes.
    pub fn from_stored(code: &str, data: Vec<u8>) -> Result<Value> {
        let text = |d: Vec<u8>| {
            String::from_utf8(d).map_err(|_| Error::Backend("stored kv text is not UTF-8".into()))
        };
        match code {
            "b" => Ok(Value::Bytes(data)),
            "s" => Ok(Value::Text(text(data)?)),
            "j" => Ok(Value::Json(text(data)?)),
            _ => Err(Error::Backend(format!("unknown kv value type {code:?}"))),
        }
    }
}

/// One stored key.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The key.
    pub key: String,
    /// The value.
    pub value: Value,
    /// 1 for a new key, one more for every write.
    pub version: u64,
    /// When it expires (milliseconds since the epoch), if it does.
    pub expires_at_ms: Option<u64>,
}

/// One write of `set_many`.
#[derive(Debug, Clone)]
pub struct Put {
    /// The key.
    pub key: String,
    /// The value.
    pub value: Value,
    /// Time to live in milliseconds (None: no expiry; an existing expiry is removed).
    pub ttl_ms: Option<u64>,
    /// Compare-and-set: the version the key must be at (0: it must not exist).
    pub if_version: Option<u64>,
}

/// A page of keys and where the next one starts.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyPage {
    /// Keys in byte order.
    pub keys: Vec<String>,
    /// The last key of the page, to pass as `after` (None: no more).
    pub next: Option<String>,
}

/// This handle's limits.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Largest value in bytes.
    pub max_value: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_value: DEFAULT_MAX_VALUE,
        }
    }
}

/// Checks a key (1 to [`MAX_KEY`] bytes; any text).
pub fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > MAX_KEY {
        return Err(Error::validation(format!(
            "a kv key is 1 to {MAX_KEY} bytes of text, got {} bytes",
            key.len()
        )));
    }
    Ok(())
}

/// Checks a prefix (at most [`MAX_KEY`] bytes; may be empty).
pub fn check_prefix(prefix: &str) -> Result<()> {
    if prefix.len() > MAX_KEY {
        return Err(Error::validation(format!(
            "a kv prefix is at most {MAX_KEY} bytes"
        )));
    }
    Ok(())
}

/// A time to live in seconds as milliseconds (at least 1 ms, at most ten years).
pub fn ttl_ms(seconds: f64) -> Result<u64> {
    let ms = (seconds * 1000.0).round();
    if !seconds.is_finite() || seconds <= 0.0 || ms < 1.0 || ms > MAX_TTL_MS as f64 {
        return Err(Error::validation(format!(
            "ttl must be more than 0 and at most ten years, in seconds; got {seconds}"
        )));
    }
    Ok(ms as u64)
}

fn check_batch(n: usize, what: &str) -> Result<()> {
    if n > MAX_BATCH {
        return Err(Error::validation(format!(
            "at most {MAX_BATCH} {what} per call, got {n}"
        )));
    }
    Ok(())
}

/// The key-value store of one namespace.
#[derive(Clone)]
pub struct Kv {
    backend: Backend,
    ns: Arc<str>,
    settings: Arc<RwLock<Settings>>,
}

impl Kv {
    /// The store of `ns` on `backend`.
    pub fn new(backend: Backend, ns: Arc<str>) -> Kv {
        Kv {
            backend,
            ns,
            settings: Arc::new(RwLock::new(Settings::default())),
        }
    }

    fn ns(&self) -> String {
        self.ns.to_string()
    }

    /// This handle's limits.
    pub fn settings(&self) -> Settings {
        *self.settings.read()
    }

    /// Sets this handle's largest value (bytes); returns the settings in force.
    pub fn configure(&self, max_value: Option<usize>) -> Result<Settings> {
        if let Some(m) = max_value {
            if m == 0 || m > MAX_VALUE_LIMIT {
                return Err(Error::validation(format!(
                    "max_value must be 1 to {MAX_VALUE_LIMIT} bytes, got {m}"
                )));
            }
            self.settings.write().max_value = m;
        }
        Ok(self.settings())
    }

    /// Items by key; None where missing or expired.
    pub fn get_many(&self, keys: Vec<String>) -> Op<Vec<Option<Item>>> {
        tri!(check_batch(keys.len(), "keys"));
        for k in &keys {
            tri!(check_key(k));
        }
        if keys.is_empty() {
            return Op::Ready(Ok(vec![]));
        }
        self.backend.call(
            (self.ns(), keys),
            |db, (ns, keys)| sqlite::get_many(db, &ns, &keys),
            |r, c, (ns, keys)| redis::get_many(r, c, ns, keys),
        )
    }

    /// Writes all `puts` or none (a failed compare-and-set anywhere: Conflict naming the
    /// key, nothing written); returns each key's new version.
    pub fn set_many(&self, puts: Vec<Put>) -> Op<Vec<u64>> {
        tri!(check_batch(puts.len(), "items"));
        let max = self.settings().max_value;
        for p in &puts {
            tri!(check_key(&p.key));
            if p.value.data().len() > max {
                return Op::Ready(Err(Error::validation(format!(
                    "the value of {:?} is {} bytes; the limit is {max} (kv.configure(max_value=...))",
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
            return Op::Ready(Ok(vec![]));
        }
        let now = crate::clock::now_ms();
        self.backend.call(
            (self.ns(), puts),
            move |db, (ns, puts)| sqlite::set_many(db, &ns, &puts, now),
            move |r, c, (ns, puts)| redis::set_many(r, c, ns, puts, now),
        )
    }

    /// Deletes keys; returns how many existed.
    pub fn delete_many(&self, keys: Vec<String>) -> Op<u64> {
        tri!(check_batch(keys.len(), "keys"));
        for k in &keys {
            tri!(check_key(k));
        }
        if keys.is_empty() {
            return Op::Ready(Ok(0));
        }
        let now = crate::clock::now_ms();
        self.backend.call(
            (self.ns(), keys),
            move |db, (ns, keys)| sqlite::delete_many(db, &ns, &keys, now),
            move |r, c, (ns, keys)| redis::delete_many(r, c, ns, keys),
        )
    }

    /// Adds `by` to the integer at `key` (a missing key counts as 0; `ttl_ms` applies only
    /// to a key it creates) and returns the result. ValidationError when the value is not a
    /// JSON integer, or the sum leaves 64 bits.
    pub fn incr(&self, key: &str, by: i64, ttl_ms: Option<u64>) -> Op<i64> {
        tri!(check_key(key));
        let now = crate::clock::now_ms();
        self.backend.call(
            (self.ns(), key.to_string()),
            move |db, (ns, key)| sqlite::incr(db, &ns, &key, by, ttl_ms, now),
            move |r, c, (ns, key)| redis::incr(r, c, ns, key, by, ttl_ms, now),
        )
    }

    /// Sets (`Some`) or removes (`None`) the expiry of `key`; false if there is no such key.
    pub fn expire(&self, key: &str, ttl_ms: Option<u64>) -> Op<bool> {
        tri!(check_key(key));
        let now = crate::clock::now_ms();
        self.backend.call(
            (self.ns(), key.to_string()),
            move |db, (ns, key)| sqlite::expire(db, &ns, &key, ttl_ms, now),
            move |r, c, (ns, key)| redis::expire(r, c, ns, key, ttl_ms, now),
        )
    }

    /// Extends the expiry of `key` by its time to live again (sliding expiry; a key without
    /// one is left as it is); false if there is no such key.
    pub fn touch(&self, key: &str) -> Op<bool> {
        tri!(check_key(key));
        let now = crate::clock::now_ms();
        self.backend.call(
            (self.ns(), key.to_string()),
            move |db, (ns, key)| sqlite::touch(db, &ns, &key, now),
            move |r, c, (ns, key)| redis::touch(r, c, ns, key, now),
        )
    }

    /// Milliseconds `key` has left: None when missing, `Some(None)` when it does not expire.
    pub fn ttl(&self, key: &str) -> Op<Option<Option<u64>>> {
        tri!(check_key(key));
        let now = crate::clock::now_ms();
        self.backend.call(
            (self.ns(), key.to_string()),
            move |db, (ns, key)| sqlite::ttl(db, &ns, &key, now),
            move |r, c, (ns, key)| redis::ttl(r, c, ns, key),
        )
    }

    /// Up to `limit` keys starting with `prefix`, in byte order, after `after` (None: from
    /// the first).
    pub fn keys(&self, prefix: &str, after: Option<&str>, limit: usize) -> Op<KeyPage> {
        tri!(check_prefix(prefix));
        if let Some(a) = after {
            tri!(check_key(a));
        }
        if limit == 0 || limit > MAX_PAGE {
            return Op::Ready(Err(Error::validation(format!(
                "limit must be 1 to {MAX_PAGE}, got {limit}"
            ))));
        }
        let now = crate::clock::now_ms();
        self.backend.call(
            (self.ns(), prefix.to_string(), after.map(str::to_string)),
            move |db, (ns, p, a)| sqlite::keys(db, &ns, &p, a.as_deref(), limit, now),
            move |r, c, (ns, p, a)| redis::keys(r, c, ns, p, a, limit, now),
        )
    }

    /// Like [`Kv::keys`], in descending byte order: the page below `before` (None: from the
    /// greatest key under `prefix`). `next` is the page's last (smallest) key.
    pub fn keys_desc(&self, prefix: &str, before: Option<&str>, limit: usize) -> Op<KeyPage> {
        tri!(check_prefix(prefix));
        if let Some(b) = before {
            tri!(check_key(b));
        }
        if limit == 0 || limit > MAX_PAGE {
            return Op::Ready(Err(Error::validation(format!(
                "limit must be 1 to {MAX_PAGE}, got {limit}"
            ))));
        }
        let now = crate::clock::now_ms();
        self.backend.call(
            (self.ns(), prefix.to_string(), before.map(str::to_string)),
            move |db, (ns, p, b)| sqlite::keys_desc(db, &ns, &p, b.as_deref(), limit, now),
            move |r, c, (ns, p, b)| redis::keys_desc(r, c, ns, p, b, limit, now),
        )
    }

    /// Deletes every key starting with `prefix` (page by page: keys written meanwhile under
    /// the prefix may stay); returns how many went.
    pub fn delete_prefix(&self, prefix: &str) -> Op<u64> {
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

    /// Removes expired keys now (reads skip them anyway; the embedded store also sweeps in
    /// the background, and Redis expires values itself); returns how many index entries or
    /// rows went.
    pub fn sweep(&self) -> Op<u64> {
        let now = crate::clock::now_ms();
        self.backend.call(
            self.ns(),
            move |db, ns| db.with_tx(|tx| sqlite::sweep_ns(tx, &ns, now)),
            move |r, c, ns| redis::sweep(r, c, ns, now),
        )
    }
}
