//! `hub.kv` on the embedded store: one row per key; an expired row is never returned (every
//! read compares its expiry with now) and the engine's background thread sweeps expired rows
//! of every namespace ([`sweep`]).

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{Item, KeyPage, Put, Value};
use crate::engine::Sqlite;
use crate::error::{Error, Result};

/// Table (migration step 10).
pub const SCHEMA: &str = "
CREATE TABLE kv (
  ns TEXT NOT NULL, key TEXT NOT NULL, type TEXT NOT NULL, data BLOB NOT NULL,
  version INTEGER NOT NULL, expires INTEGER, ttl INTEGER,
  PRIMARY KEY (ns, key)
) WITHOUT ROWID;
CREATE INDEX kv_expires ON kv (expires) WHERE expires IS NOT NULL;
";

/// Rows one background sweep removes at most (keeps the write lock short).
const SWEEP_BATCH: i64 = 10_000;

const LIVE: &str = "(expires IS NULL OR expires > ?3)";

type Row = (String, Vec<u8>, i64, Option<i64>, Option<i64>);

fn load(c: &Connection, ns: &str, key: &str, now: u64) -> Result<Option<Row>> {
    Ok(c.prepare_cached(&format!(
        "SELECT type, data, version, expires, ttl FROM kv \
             WHERE ns = ?1 AND key = ?2 AND {LIVE}"
    ))?
    .query_row(params![ns, key, now as i64], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })
    .optional()?)
}

fn item(key: &str, row: Row) -> Result<Item> {
    let (code, data, version, expires, _) = row;
    Ok(Item {
        key: key.to_string(),
        value: Value::from_stored(&code, data)?,
        version: version.max(0) as u64,
        expires_at_ms: expires.map(|e| e.max(0) as u64),
    })
}

/// Items by key, None where missing or expired.
pub fn get_many(db: &Sqlite, ns: &str, keys: &[String]) -> Result<Vec<Option<Item>>> {
    let now = crate::clock::now_ms();
    db.with(|c| {
        let tx = c.transaction()?;
        keys.iter()
            .map(|k| load(&tx, ns, k, now)?.map(|r| item(k, r)).transpose())
            .collect()
    })
}

fn write(
    tx: &Transaction<'_>,
    ns: &str,
    key: &str,
    v: &Value,
    version: i64,
    ttl: Option<u64>,
    now: u64,
) -> Result<()> {
    let expires = ttl.map(|t| (now + t) as i64);
    tx.prepare_cached(
        "INSERT OR REPLACE INTO kv (ns, key, type, data, version, expires, ttl) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        ns,
        key,
        v.code(),
        v.data(),
        version,
        expires,
        ttl.map(|t| t as i64)
    ])?;
    Ok(())
}

/// Writes all or none; returns the new versions.
pub fn set_many(db: &Sqlite, ns: &str, puts: &[Put], now: u64) -> Result<Vec<u64>> {
    db.with_tx(|tx| {
        let mut versions = Vec::with_capacity(puts.len());
        for p in puts {
            let cur = load(tx, ns, &p.key, now)?.map_or(0, |r| r.2);
            if let Some(want) = p.if_version {
                if want as i64 != cur {
                    return Err(conflict(&p.key, want, cur.max(0) as u64));
                }
            }
            versions.push(cur + 1);
        }
        for (p, v) in puts.iter().zip(&versions) {
            write(tx, ns, &p.key, &p.value, *v, p.ttl_ms, now)?;
        }
        Ok(versions.into_iter().map(|v| v as u64).collect())
    })
}

/// Conflict for a compare-and-set that found another version.
pub fn conflict(key: &str, want: u64, cur: u64) -> Error {
    if cur == 0 {
        Error::Conflict(format!(
            "kv key {key:?} does not exist (if_version={want}); read it again and retry"
        ))
    } else {
        Error::Conflict(format!(
            "kv key {key:?} is at version {cur}, not {want}; read it again and retry"
        ))
    }
}

/// Deletes keys; returns how many were live.
pub fn delete_many(db: &Sqlite, ns: &str, keys: &[String], now: u64) -> Result<u64> {
    db.with_tx(|tx| {
        let mut n = 0;
        let mut st = tx.prepare_cached(&format!(
            "DELETE FROM kv WHERE ns = ?1 AND key = ?2 RETURNING {LIVE}"
        ))?;
        for k in keys {
            let live: Option<bool> = st
                .query_row(params![ns, k, now as i64], |r| r.get(0))
                .optional()?;
            n += u64::from(live == Some(true));
        }
        Ok(n)
    })
}

/// Parses a stored JSON integer.
pub fn integer(key: &str, code: &str, data: &[u8]) -> Result<i64> {
    let not = || Error::validation(format!("kv key {key:?} does not hold an integer"));
    if code != "j" {
        return Err(not());
    }
    std::str::from_utf8(data)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(not)
}

/// See `Kv::incr`.
pub fn incr(db: &Sqlite, ns: &str, key: &str, by: i64, ttl: Option<u64>, now: u64) -> Result<i64> {
    db.with_tx(|tx| {
        let cur = load(tx, ns, key, now)?;
        let (old, version) = match &cur {
            Some((code, data, v, _, _)) => (integer(key, code, data)?, *v),
            None => (0, 0),
        };
        let new = old
            .checked_add(by)
            .ok_or_else(|| Error::validation(format!("kv key {key:?}: {old} + {by} overflows")))?;
        let v = Value::Json(new.to_string());
        match cur {
            // An existing key keeps its expiry.
            Some(_) => {
                tx.prepare_cached(
                    "UPDATE kv SET data = ?3, version = ?4 WHERE ns = ?1 AND key = ?2",
                )?
                .execute(params![ns, key, v.data(), version + 1])?;
            }
            None => write(tx, ns, key, &v, 1, ttl, now)?,
        }
        Ok(new)
    })
}

/// See `Kv::expire`.
pub fn expire(db: &Sqlite, ns: &str, key: &str, ttl: Option<u64>, now: u64) -> Result<bool> {
    db.with_tx(|tx| {
        let n = tx
            .prepare_cached(&format!(
                "UPDATE kv SET expires = ?4, ttl = ?5 WHERE ns = ?1 AND key = ?2 AND {LIVE}"
            ))?
            .execute(params![
                ns,
                key,
                now as i64,
                ttl.map(|t| (now + t) as i64),
                ttl.map(|t| t as i64)
            ])?;
        Ok(n > 0)
    })
}

/// See `Kv::touch`.
pub fn touch(db: &Sqlite, ns: &str, key: &str, now: u64) -> Result<bool> {
    db.with_tx(|tx| {
        let n = tx
            .prepare_cached(&format!(
                "UPDATE kv SET expires = CASE WHEN ttl IS NULL THEN NULL ELSE ?3 + ttl END \
                 WHERE ns = ?1 AND key = ?2 AND {LIVE}"
            ))?
            .execute(params![ns, key, now as i64])?;
        Ok(n > 0)
    })
}

/// See `Kv::ttl`.
pub fn ttl(db: &Sqlite, ns: &str, key: &str, now: u64) -> Result<Option<Option<u64>>> {
    db.with(|c| {
        Ok(load(c, ns, key, now)?
            .map(|(_, _, _, expires, _)| expires.map(|e| (e as u64).saturating_sub(now))))
    })
}

/// See `Kv::keys`.
pub fn keys(
    db: &Sqlite,
    ns: &str,
    prefix: &str,
    after: Option<&str>,
    limit: usize,
    now: u64,
) -> Result<KeyPage> {
    db.with(|c| {
        // Keys starting with `prefix`: the range [prefix, prefix_end) of the primary key (SQLite
        // compares text by bytes), so a page never reads past the prefix's keys.
        // (Two statements: a bound inside an OR would not bound the index range.)
        let end = crate::engine::keys::prefix_end(prefix);
        let upper = if end.is_some() {
            "key < ?4"
        } else {
            "?4 IS NULL"
        };
        let mut st = c.prepare_cached(&format!(
            "SELECT key FROM kv WHERE ns = ?1 AND key > ?2 AND {LIVE} \
             AND {upper} ORDER BY key LIMIT ?5"
        ))?;
        let start = match after {
            Some(a) if a >= prefix => a.to_string(),
            _ => prefix.to_string(),
        };
        let mut keys: Vec<String> = Vec::new();
        // `key > start` skips a key equal to the prefix itself; include it on the first page.
        if after.is_none() && !prefix.is_empty() && load(c, ns, prefix, now)?.is_some() {
            keys.push(prefix.to_string());
        }
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

/// See `Kv::keys_desc`.
pub fn keys_desc(
    db: &Sqlite,
    ns: &str,
    prefix: &str,
    before: Option<&str>,
    limit: usize,
    now: u64,
) -> Result<KeyPage> {
    db.with(|c| {
        // The range [prefix, min(prefix_end, before)) of the primary key, read backwards.
        let end = crate::engine::keys::prefix_end(prefix);
        let top = match (end, before) {
            (Some(e), Some(b)) => Some(if b < e.as_str() { b.to_string() } else { e }),
            (e, b) => e.or(b.map(str::to_string)),
        };
        let upper = if top.is_some() {
            "key < ?3"
        } else {
            "?3 IS NULL"
        };
        let mut st = c.prepare_cached(&format!(
            "SELECT key FROM kv WHERE ns = ?1 AND key >= ?2 AND {upper} \
             AND (expires IS NULL OR expires > ?4) ORDER BY key DESC LIMIT ?5"
        ))?;
        let rows = st.query_map(params![ns, prefix, top, now as i64, limit as i64], |r| {
            r.get::<_, String>(0)
        })?;
        let mut keys: Vec<String> = Vec::new();
        for k in rows {
            keys.push(k?);
        }
        let next = (keys.len() == limit)
            .then(|| keys.last().cloned())
            .flatten();
        Ok(KeyPage { keys, next })
    })
}

/// Deletes expired rows of every namespace (the engine's background sweep), at most a batch.
pub fn sweep(tx: &Transaction<'_>, now: u64) -> Result<u64> {
    Ok(tx
        .prepare_cached(
            "DELETE FROM kv WHERE (ns, key) IN \
             (SELECT ns, key FROM kv WHERE expires <= ?1 LIMIT ?2)",
        )?
        .execute(params![now as i64, SWEEP_BATCH])? as u64)
}

/// Deletes expired rows of one namespace.
pub fn sweep_ns(tx: &Transaction<'_>, ns: &str, now: u64) -> Result<u64> {
    Ok(tx
        .prepare_cached("DELETE FROM kv WHERE ns = ?1 AND expires <= ?2")?
        .execute(params![ns, now as i64])? as u64)
}

/// Rows of the namespace.
pub fn rows(c: &Connection, ns: &str) -> Result<u64> {
    crate::engine::sqlite::count_rows(c, ns, &["kv"])
}

/// Deletes the namespace's rows.
pub fn clear(tx: &Transaction<'_>, ns: &str) -> Result<u64> {
    crate::engine::sqlite::delete_rows(tx, ns, &["kv"])
}

/// Writes items exactly as given (an import into an empty namespace).
pub fn restore(db: &Sqlite, ns: &str, items: &[Item]) -> Result<()> {
    let now = crate::clock::now_ms();
    db.with_tx(|tx| {
        let mut st = tx.prepare_cached(
            "INSERT INTO kv (ns, key, type, data, version, expires, ttl) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for it in items {
            let ttl = it
                .expires_at_ms
                .map(|e| e.saturating_sub(now).max(1) as i64);
            st.execute(params![
                ns,
                it.key,
                it.value.code(),
                it.value.data(),
                it.version as i64,
                it.expires_at_ms.map(|e| e as i64),
                ttl
            ])
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    Error::Conflict(format!("kv key {:?} exists already", it.key))
                }
                e => e.into(),
            })?;
        }
        Ok(())
    })
}
