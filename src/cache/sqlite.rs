//! `hub.cache` on the embedded store: one row per entry with the generations of its tags, one
//! row per tag (its generation and how many entries of that generation there are), one row of
//! counters per namespace and one row per lease. A read is a read-only transaction: the
//! entry's tags are compared with their current generations there; hits, misses, access times
//! and stale entries are kept by the handle ([`Pending`]) and written in batches (every
//! 1,024 reads or second, before every write and by `stats()`), so a hit costs no write.

use parking_lot::Mutex;
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::semantic::{self, SemanticRow};
use super::{Lease, Lookup, Pending, Put, Settings, Stats, Value};
use crate::changes::{self, Kind, Record};
use crate::engine::Sqlite;
use crate::error::Result;
use crate::kv::KeyPage;

/// Tables (migration step 12).
pub const SCHEMA: &str = "
CREATE TABLE cache (
  ns TEXT NOT NULL, key TEXT NOT NULL, type TEXT NOT NULL, data BLOB NOT NULL,
  size INTEGER NOT NULL, tags TEXT NOT NULL, expires INTEGER, atime INTEGER NOT NULL,
  PRIMARY KEY (ns, key)
) WITHOUT ROWID;
CREATE INDEX cache_expires ON cache (expires) WHERE expires IS NOT NULL;
CREATE INDEX cache_atime ON cache (ns, atime);
CREATE TABLE cache_tags (
  ns TEXT NOT NULL, tag TEXT NOT NULL, gen INTEGER NOT NULL, entries INTEGER NOT NULL,
  PRIMARY KEY (ns, tag)
) WITHOUT ROWID;
CREATE TABLE cache_stats (
  ns TEXT NOT NULL PRIMARY KEY, hits INTEGER NOT NULL, misses INTEGER NOT NULL,
  entries INTEGER NOT NULL, bytes INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE cache_leases (
  ns TEXT NOT NULL, key TEXT NOT NULL, token TEXT NOT NULL, expires INTEGER NOT NULL,
  PRIMARY KEY (ns, key)
) WITHOUT ROWID;
";

/// The prompt embeddings of semantic entries (migration step 13): one row per entry that has
/// one, removed with it.
pub const SCHEMA_SEMANTIC: &str = "
CREATE TABLE cache_semantic (
  ns TEXT NOT NULL, key TEXT NOT NULL, scope TEXT NOT NULL, vec BLOB NOT NULL,
  PRIMARY KEY (ns, key)
) WITHOUT ROWID;
CREATE TABLE cache_semantic_dims (
  ns TEXT NOT NULL, scope TEXT NOT NULL, dim INTEGER NOT NULL,
  PRIMARY KEY (ns, scope)
) WITHOUT ROWID;
";

const TABLES: &[&str] = &[
    "cache",
    "cache_tags",
    "cache_stats",
    "cache_leases",
    "cache_semantic",
    "cache_semantic_dims",
];

fn record_semantic(tx: &Transaction<'_>, ns: &str, key: &str, kind: Kind) -> Result<()> {
    let id = super::semantic_id(key);
    changes::sqlite::record(
        tx,
        ns,
        super::CAPABILITY.name,
        &[Record {
            id: &id,
            version: 0,
            kind,
        }],
    )
}

/// Rows one background sweep removes at most.
const SWEEP_BATCH: i64 = 10_000;

/// An entry as stored.
struct Row {
    code: String,
    data: Vec<u8>,
    size: i64,
    tags: Vec<(String, i64)>,
    expires: Option<i64>,
}

fn load(c: &Connection, ns: &str, key: &str) -> Result<Option<Row>> {
    let row = c
        .prepare_cached(
            "SELECT type, data, size, tags, expires FROM cache WHERE ns = ?1 AND key = ?2",
        )?
        .query_row(params![ns, key], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<i64>>(4)?,
            ))
        })
        .optional()?;
    row.map(|(code, data, size, tags, expires)| -> Result<Row> {
        Ok(Row {
            code,
            data,
            size,
            tags: serde_json::from_str(&tags)?,
            expires,
        })
    })
    .transpose()
}

fn gen(c: &Connection, ns: &str, tag: &str) -> Result<i64> {
    Ok(
        c.prepare_cached("SELECT gen FROM cache_tags WHERE ns = ?1 AND tag = ?2")?
            .query_row(params![ns, tag], |r| r.get(0))
            .optional()?
            .unwrap_or(0),
    )
}

fn expired(row: &Row, now: u64) -> bool {
    row.expires.is_some_and(|e| e <= now as i64)
}

/// True when every tag of the entry is at the generation the entry was written in.
fn current(c: &Connection, ns: &str, row: &Row) -> Result<bool> {
    for (t, g) in &row.tags {
        if gen(c, ns, t)? != *g {
            return Ok(false);
        }
    }
    Ok(true)
}

fn live(c: &Connection, ns: &str, row: &Row, now: u64) -> Result<bool> {
    Ok(!expired(row, now) && current(c, ns, row)?)
}

fn bump_stats(
    tx: &Transaction<'_>,
    ns: &str,
    hits: i64,
    misses: i64,
    entries: i64,
    bytes: i64,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO cache_stats (ns, hits, misses, entries, bytes) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (ns) DO UPDATE SET hits = hits + ?2, misses = misses + ?3, \
         entries = entries + ?4, bytes = bytes + ?5",
    )?
    .execute(params![ns, hits, misses, entries, bytes])?;
    Ok(())
}

/// Removes an entry and takes it out of the counters; true if there was one.
fn remove(tx: &Transaction<'_>, ns: &str, key: &str) -> Result<Option<Row>> {
    let Some(row) = load(tx, ns, key)? else {
        return Ok(None);
    };
    tx.prepare_cached("DELETE FROM cache WHERE ns = ?1 AND key = ?2")?
        .execute(params![ns, key])?;
    if tx
        .prepare_cached("DELETE FROM cache_semantic WHERE ns = ?1 AND key = ?2")?
        .execute(params![ns, key])?
        > 0
    {
        record_semantic(tx, ns, key, Kind::Deleted)?;
    }
    for (t, g) in &row.tags {
        tx.prepare_cached(
            "UPDATE cache_tags SET entries = MAX(entries - 1, 0) \
             WHERE ns = ?1 AND tag = ?2 AND gen = ?3",
        )?
        .execute(params![ns, t, g])?;
    }
    bump_stats(tx, ns, 0, 0, -1, -row.size)?;
    Ok(Some(row))
}

/// Writes what the handle's reads left pending: counters, access times, stale entries (each
/// checked again here: it may have been written anew since).
fn flush(tx: &Transaction<'_>, ns: &str, p: Pending, now: u64) -> Result<()> {
    if p.hits > 0 || p.misses > 0 {
        bump_stats(tx, ns, p.hits as i64, p.misses as i64, 0, 0)?;
    }
    let mut st =
        tx.prepare_cached("UPDATE cache SET atime = ?3 WHERE ns = ?1 AND key = ?2 AND atime < ?3")?;
    for (k, at) in &p.touched {
        st.execute(params![ns, k, *at as i64])?;
    }
    for k in &p.stale {
        if let Some(row) = load(tx, ns, k)? {
            if !live(tx, ns, &row, now)? {
                remove(tx, ns, k)?;
            }
        }
    }
    Ok(())
}

fn flush_due(db: &Sqlite, ns: &str, pending: &Mutex<Pending>, now: u64, force: bool) -> Result<()> {
    let due = pending.lock().take(now, force);
    if let Some(p) = due {
        db.with_tx(|tx| flush(tx, ns, p, now))?;
    }
    Ok(())
}

/// See `Cache::get_many`.
pub fn get_many(
    db: &Sqlite,
    ns: &str,
    keys: &[String],
    lease: Option<&Lease>,
    count: bool,
    pending: &Mutex<Pending>,
    now: u64,
) -> Result<Vec<Lookup>> {
    let mut stale = Vec::new();
    let mut out: Vec<Lookup> = db.with(|c| {
        let tx = c.transaction()?;
        keys.iter()
            .map(|k| match load(&tx, ns, k)? {
                Some(row) if live(&tx, ns, &row, now)? => {
                    Ok(Lookup::Hit(Value::from_stored(&row.code, row.data)?))
                }
                Some(_) => {
                    stale.push(k.clone());
                    Ok(Lookup::Miss { leased: false })
                }
                None => Ok(Lookup::Miss { leased: false }),
            })
            .collect::<Result<_>>()
    })?;
    if let Some(l) = lease {
        if out.iter().any(|x| matches!(x, Lookup::Miss { .. })) {
            db.with_tx(|tx| {
                for (k, x) in keys.iter().zip(out.iter_mut()) {
                    if matches!(x, Lookup::Hit(_)) {
                        continue;
                    }
                    // Written by someone else since the read?
                    if let Some(row) = load(tx, ns, k)? {
                        if live(tx, ns, &row, now)? {
                            *x = Lookup::Hit(Value::from_stored(&row.code, row.data)?);
                            continue;
                        }
                    }
                    let n = tx
                        .prepare_cached(
                            "INSERT INTO cache_leases (ns, key, token, expires) VALUES (?1, ?2, ?3, ?4) \
                             ON CONFLICT (ns, key) DO UPDATE SET token = ?3, expires = ?4 \
                             WHERE expires <= ?5",
                        )?
                        .execute(params![ns, k, l.token, (now + l.ms) as i64, now as i64])?;
                    *x = Lookup::Miss { leased: n > 0 };
                }
                Ok(())
            })?;
        }
    }
    {
        let mut p = pending.lock();
        for (k, x) in keys.iter().zip(&out) {
            match x {
                Lookup::Hit(_) => {
                    p.hits += u64::from(count);
                    p.touched.insert(k.clone(), now);
                }
                Lookup::Miss { .. } => p.misses += u64::from(count),
            }
        }
        p.stale.extend(stale);
    }
    flush_due(db, ns, pending, now, false)?;
    Ok(out)
}

/// See `Cache::set_many`.
pub fn set_many(
    db: &Sqlite,
    ns: &str,
    puts: &[Put],
    lease_token: Option<&str>,
    settings: Settings,
    pending: &Mutex<Pending>,
    now: u64,
) -> Result<()> {
    let p = pending.lock().take(now, true);
    db.with_tx(|tx| {
        if let Some(p) = p {
            flush(tx, ns, p, now)?;
        }
        for put in puts {
            remove(tx, ns, &put.key)?;
            let mut tags = Vec::with_capacity(put.tags.len());
            for t in &put.tags {
                let g: i64 = tx
                    .prepare_cached(
                        "INSERT INTO cache_tags (ns, tag, gen, entries) VALUES (?1, ?2, 0, 1) \
                         ON CONFLICT (ns, tag) DO UPDATE SET entries = entries + 1 RETURNING gen",
                    )?
                    .query_row(params![ns, t], |r| r.get(0))?;
                tags.push((t.clone(), g));
            }
            let size = put.value.data().len() as i64;
            tx.prepare_cached(
                "INSERT INTO cache (ns, key, type, data, size, tags, expires, atime) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                ns,
                put.key,
                put.value.code(),
                put.value.data(),
                size,
                serde_json::to_string(&tags)?,
                put.ttl_ms.map(|t| (now + t) as i64),
                now as i64
            ])?;
            bump_stats(tx, ns, 0, 0, 1, size)?;
            if let Some(sem) = &put.semantic {
                let dim = sem.vector.len() as i64;
                let have: i64 = tx
                    .prepare_cached(
                        "INSERT INTO cache_semantic_dims (ns, scope, dim) VALUES (?1, ?2, ?3) \
                         ON CONFLICT (ns, scope) DO UPDATE SET dim = dim RETURNING dim",
                    )?
                    .query_row(params![ns, sem.scope, dim], |r| r.get(0))?;
                if have != dim {
                    return Err(semantic::dim_error(&sem.scope, dim as usize, have as usize));
                }
                tx.prepare_cached(
                    "INSERT INTO cache_semantic (ns, key, scope, vec) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![
                    ns,
                    put.key,
                    sem.scope,
                    semantic::encode(&sem.vector)
                ])?;
                record_semantic(tx, ns, &put.key, Kind::Created)?;
            }
            if let Some(tok) = lease_token {
                tx.prepare_cached(
                    "DELETE FROM cache_leases WHERE ns = ?1 AND key = ?2 AND token = ?3",
                )?
                .execute(params![ns, put.key, tok])?;
            }
        }
        evict(tx, ns, settings, puts)
    })
}

/// Removes the least recently used entries while the namespace is past a bound; the entries
/// just written go last (only when nothing else is left).
fn evict(tx: &Transaction<'_>, ns: &str, s: Settings, written: &[Put]) -> Result<()> {
    if s.max_entries.is_none() && s.max_bytes.is_none() {
        return Ok(());
    }
    loop {
        let (entries, bytes) = counts(tx, ns)?;
        let over_n = s.max_entries.map_or(0, |m| entries.saturating_sub(m));
        let over_b = s.max_bytes.is_some_and(|m| bytes > m);
        if over_n == 0 && !over_b {
            return Ok(());
        }
        let want = over_n.max(1) as usize;
        let oldest: Vec<String> = tx
            .prepare_cached("SELECT key FROM cache WHERE ns = ?1 ORDER BY atime LIMIT ?2")?
            .query_map(params![ns, (want + written.len()) as i64], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut pick: Vec<&String> = oldest
            .iter()
            .filter(|k| !written.iter().any(|p| &p.key == *k))
            .take(want)
            .collect();
        if pick.is_empty() {
            pick = oldest.iter().take(want).collect();
        }
        if pick.is_empty() {
            return Ok(());
        }
        for k in pick {
            remove(tx, ns, k)?;
        }
    }
}

fn counts(c: &Connection, ns: &str) -> Result<(u64, u64)> {
    Ok(
        c.prepare_cached("SELECT entries, bytes FROM cache_stats WHERE ns = ?1")?
            .query_row(params![ns], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })
            .optional()?
            .map_or((0, 0), |(e, b)| (e.max(0) as u64, b.max(0) as u64)),
    )
}

/// See `Cache::release`.
pub fn release(db: &Sqlite, ns: &str, key: &str, token: &str) -> Result<bool> {
    db.with_tx(|tx| {
        Ok(tx
            .prepare_cached("DELETE FROM cache_leases WHERE ns = ?1 AND key = ?2 AND token = ?3")?
            .execute(params![ns, key, token])?
            > 0)
    })
}

/// See `Cache::delete_many`.
pub fn delete_many(db: &Sqlite, ns: &str, keys: &[String], now: u64) -> Result<u64> {
    db.with_tx(|tx| {
        let mut n = 0;
        for k in keys {
            if let Some(row) = remove(tx, ns, k)? {
                n += u64::from(!expired(&row, now));
            }
        }
        Ok(n)
    })
}

/// See `Cache::invalidate_tag`.
pub fn invalidate_tag(db: &Sqlite, ns: &str, tag: &str) -> Result<u64> {
    db.with_tx(|tx| {
        let before: i64 = tx
            .prepare_cached("SELECT entries FROM cache_tags WHERE ns = ?1 AND tag = ?2")?
            .query_row(params![ns, tag], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
        tx.prepare_cached(
            "INSERT INTO cache_tags (ns, tag, gen, entries) VALUES (?1, ?2, 1, 0) \
             ON CONFLICT (ns, tag) DO UPDATE SET gen = gen + 1, entries = 0",
        )?
        .execute(params![ns, tag])?;
        Ok(before.max(0) as u64)
    })
}

/// See `Cache::keys`.
pub fn keys(
    db: &Sqlite,
    ns: &str,
    prefix: &str,
    after: Option<&str>,
    limit: usize,
    now: u64,
) -> Result<KeyPage> {
    db.with(|c| {
        let start = match after {
            Some(a) if a >= prefix => a.to_string(),
            _ => prefix.to_string(),
        };
        let mut keys: Vec<String> = Vec::new();
        if after.is_none() && !prefix.is_empty() {
            if let Some(row) = load(c, ns, prefix)? {
                if !expired(&row, now) {
                    keys.push(prefix.to_string());
                }
            }
        }
        // The prefix's range of the primary key, bounded above (see `prefix_end`); two
        // statements, as a bound inside an OR would not bound the index range.
        let end = crate::engine::keys::prefix_end(prefix);
        let upper = if end.is_some() {
            "key < ?4"
        } else {
            "?4 IS NULL"
        };
        let mut st = c.prepare_cached(&format!(
            "SELECT key FROM cache WHERE ns = ?1 AND key > ?2 \
             AND (expires IS NULL OR expires > ?3) AND {upper} ORDER BY key LIMIT ?5"
        ))?;
        let rows = st.query_map(
            params![ns, start, now as i64, end, (limit - keys.len()) as i64],
            |r| r.get::<_, String>(0),
        )?;
        for k in rows {
            keys.push(k?);
        }
        let next = (keys.len() == limit)
            .then(|| keys.last().cloned())
            .flatten();
        Ok(KeyPage { keys, next })
    })
}

/// See `Cache::stats`.
pub fn stats(db: &Sqlite, ns: &str, pending: &Mutex<Pending>, now: u64) -> Result<Stats> {
    flush_due(db, ns, pending, now, true)?;
    db.with(|c| {
        let (hits, misses, entries, bytes) = c
            .prepare_cached("SELECT hits, misses, entries, bytes FROM cache_stats WHERE ns = ?1")?
            .query_row(params![ns], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .optional()?
            .unwrap_or((0, 0, 0, 0));
        let tags = c
            .prepare_cached(
                "SELECT tag, entries FROM cache_tags WHERE ns = ?1 AND entries > 0 ORDER BY tag",
            )?
            .query_map(params![ns], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let u = |x: i64| x.max(0) as u64;
        Ok(Stats {
            hits: u(hits),
            misses: u(misses),
            entries: u(entries),
            bytes: u(bytes),
            tags,
        })
    })
}

/// Deletes expired entries and leases of every namespace (the engine's background sweep), at
/// most a batch.
pub fn sweep(tx: &Transaction<'_>, now: u64) -> Result<u64> {
    let gone: Vec<(String, String)> = tx
        .prepare_cached("SELECT ns, key FROM cache WHERE expires <= ?1 LIMIT ?2")?
        .query_map(params![now as i64, SWEEP_BATCH], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for (ns, k) in &gone {
        remove(tx, ns, k)?;
    }
    let leases = tx
        .prepare_cached("DELETE FROM cache_leases WHERE expires <= ?1")?
        .execute(params![now as i64])?;
    Ok(gone.len() as u64 + leases as u64)
}

/// Deletes the namespace's expired and invalidated entries; returns how many.
pub fn sweep_ns(db: &Sqlite, ns: &str, pending: &Mutex<Pending>, now: u64) -> Result<u64> {
    flush_due(db, ns, pending, now, true)?;
    db.with_tx(|tx| {
        let keys: Vec<String> = tx
            .prepare_cached(
                "SELECT key FROM cache WHERE ns = ?1 AND (tags != '[]' OR expires <= ?2)",
            )?
            .query_map(params![ns, now as i64], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut n = 0;
        for k in keys {
            if let Some(row) = load(tx, ns, &k)? {
                if !live(tx, ns, &row, now)? {
                    remove(tx, ns, &k)?;
                    n += 1;
                }
            }
        }
        tx.prepare_cached("DELETE FROM cache_leases WHERE ns = ?1 AND expires <= ?2")?
            .execute(params![ns, now as i64])?;
        Ok(n)
    })
}

/// See `Cache::semantic_page`.
pub fn semantic_page(
    db: &Sqlite,
    ns: &str,
    after: &str,
    limit: usize,
    now: u64,
) -> Result<(Vec<SemanticRow>, Option<String>)> {
    db.with(|c| {
        let mut st = c.prepare_cached(
            "SELECT s.key, s.scope, s.vec, c.expires FROM cache_semantic s \
             JOIN cache c ON c.ns = s.ns AND c.key = s.key \
             WHERE s.ns = ?1 AND s.key > ?2 ORDER BY s.key LIMIT ?3",
        )?;
        let rows = st.query_map(params![ns, after, limit as i64], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, Option<i64>>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        let mut last = None;
        let mut n = 0;
        for row in rows {
            let (key, scope, vec, expires) = row?;
            n += 1;
            last = Some(key.clone());
            if expires.is_some_and(|e| e <= now as i64) {
                continue;
            }
            if let Some(v) = semantic::decode(&vec) {
                out.push((key, scope, v));
            }
        }
        Ok((out, if n == limit { last } else { None }))
    })
}

/// See `Cache::semantic_rows`.
pub fn semantic_rows(
    db: &Sqlite,
    ns: &str,
    keys: &[String],
    now: u64,
) -> Result<Vec<semantic::ScopedVector>> {
    db.with(|c| {
        let mut st = c.prepare_cached(
            "SELECT s.scope, s.vec, c.expires FROM cache_semantic s \
             JOIN cache c ON c.ns = s.ns AND c.key = s.key WHERE s.ns = ?1 AND s.key = ?2",
        )?;
        keys.iter()
            .map(|k| {
                let row = st
                    .query_row(params![ns, k], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, Vec<u8>>(1)?,
                            r.get::<_, Option<i64>>(2)?,
                        ))
                    })
                    .optional()?;
                Ok(row.and_then(|(scope, vec, expires)| {
                    if expires.is_some_and(|e| e <= now as i64) {
                        return None;
                    }
                    semantic::decode(&vec).map(|v| (scope, v))
                }))
            })
            .collect()
    })
}

/// Rows of the namespace.
pub fn rows(c: &Connection, ns: &str) -> Result<u64> {
    crate::engine::sqlite::count_rows(c, ns, TABLES)
}

/// Deletes the namespace's rows.
pub fn clear(tx: &Transaction<'_>, ns: &str) -> Result<u64> {
    crate::engine::sqlite::delete_rows(tx, ns, TABLES)
}
