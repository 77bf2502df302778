//! What the bus and events sources share: where cursors and overrun counters live on each
//! store, committing a cursor without going back, the generic stream read on Redis, and the
//! SQLite side of the retention hold that the capabilities' trimming calls
//! (`docs/archive.md`, "Retention holds: bus and events").
//!
//! Cursor texts (opaque to the loop):
//! - Redis stream sources (messages `B hist`, dead letters `B dead`, events `E log`):
//!   `<id>@<pos>`, the entry id and its position in the stream (XINFO's `entries-added`
//!   when it was appended), so entries after it are `entries-added - pos` without a scan.
//! - Redis acks (`B acked`): `<ms>|<message id>#<overrun>`.
//! - SQLite: `<key>#<overrun>` with key `<ms>-<n>` (messages), `<ms>|<message id>` (acks),
//!   `<seq>` (dead letters), `<ms>-<seq>` (events).
//!
//! `#<overrun>` is the source's overrun counter when the batch was read, so that the next
//! read reports as lost what trimming dropped past the bound since then.

use std::cmp::Ordering;
use std::sync::{Arc, LazyLock};

use redis::Value;
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::archive::model::Source;
use crate::engine::script::Lua;
use crate::engine::{Redis, RedisConn, Sqlite};
use crate::error::{Error, Result};

/// The Lua helpers of the hold, put in front of the bus and events scripts that trim and of
/// the archive's own scripts.
pub const LUA: &str = include_str!("../lua/hold.lua");

static STREAM_READ: LazyLock<Lua> =
    LazyLock::new(|| Lua::read_only(LUA, include_str!("../lua/bus_events_stream_read.lua")));
static COMMIT: LazyLock<Lua> =
    LazyLock::new(|| Lua::new(LUA, include_str!("../lua/bus_events_commit.lua")));
static START: LazyLock<Lua> =
    LazyLock::new(|| Lua::new(LUA, include_str!("../lua/bus_events_start.lua")));
static FORGET: LazyLock<Lua> =
    LazyLock::new(|| Lua::new(LUA, include_str!("../lua/bus_events_forget.lua")));

/// `zl:{<ns>:<tag>}:archived:<source>`: the source's cursor on Redis.
pub fn cursor_key(ns: &str, source: Source) -> String {
    format!(
        "{}archived:{}",
        crate::engine::keys::prefix(ns, source.tag()),
        source.name()
    )
}

/// `zl:{<ns>:<tag>}:archived:<source>:lost`: the source's overrun counter on Redis.
pub fn lost_key(ns: &str, source: Source) -> String {
    format!("{}:lost", cursor_key(ns, source))
}

pub(crate) fn bad(what: &str) -> Error {
    Error::Backend(format!("archive source: unexpected {what}"))
}

/// Splits a SQLite cursor `<key>#<overrun>`.
pub fn split(cursor: &str) -> Result<(&str, u64)> {
    let (k, o) = cursor
        .rsplit_once('#')
        .ok_or_else(|| Error::validation(format!("not an archive cursor: {cursor:?}")))?;
    let o = o
        .parse()
        .map_err(|_| Error::validation(format!("not an archive cursor: {cursor:?}")))?;
    Ok((k, o))
}

/// The `<n>` of `<ms>-<n>` (a message id, an event id).
pub fn seq_of(key: &str) -> Result<i64> {
    key.rsplit_once('-')
        .and_then(|(_, n)| n.parse().ok())
        .or_else(|| key.parse().ok())
        .ok_or_else(|| Error::validation(format!("not an archive cursor key: {key:?}")))
}

/// `<ms>|<id>` of an acks cursor.
pub fn ack_key(key: &str) -> Result<(i64, &str)> {
    let (ms, id) = key
        .split_once('|')
        .ok_or_else(|| Error::validation(format!("not an acks cursor: {key:?}")))?;
    let ms = ms
        .parse()
        .map_err(|_| Error::validation(format!("not an acks cursor: {key:?}")))?;
    Ok((ms, id))
}

/// Orders two SQLite cursor keys of `source`.
fn order(source: Source, a: &str, b: &str) -> Result<Ordering> {
    Ok(match source {
        Source::Acks => ack_key(a)?.cmp(&ack_key(b)?),
        _ => seq_of(a)?.cmp(&seq_of(b)?),
    })
}

// ---- SQLite ----

/// The committed cursor of `source` (SQLite), read inside the caller's transaction.
pub fn sqlite_cursor(c: &Connection, ns: &str, source: Source) -> Result<Option<String>> {
    Ok(
        c.prepare_cached("SELECT cursor FROM archive_cursors WHERE ns = ?1 AND source = ?2")?
            .query_row(params![ns, source.name()], |r| r.get(0))
            .optional()?,
    )
}

/// The key of the committed cursor of `source` when the archive holds it (SQLite): what the
/// capability's trimming must not drop entries after (up to the bound).
pub fn sqlite_hold(c: &Connection, ns: &str, source: Source) -> Result<Option<String>> {
    Ok(match sqlite_cursor(c, ns, source)? {
        Some(cur) => Some(split(&cur)?.0.to_string()),
        None => None,
    })
}

/// Adds `n` entries dropped unarchived past the bound to the overrun counter (SQLite).
pub fn sqlite_add_overrun(tx: &Transaction<'_>, ns: &str, source: Source, n: u64) -> Result<()> {
    if n > 0 {
        tx.prepare_cached(
            "UPDATE archive_cursors SET overrun = overrun + ?3 WHERE ns = ?1 AND source = ?2",
        )?
        .execute(params![ns, source.name(), n as i64])?;
    }
    Ok(())
}

/// The overrun counter of `source` (SQLite; 0 without a cursor).
pub fn sqlite_overrun(c: &Connection, ns: &str, source: Source) -> Result<u64> {
    let n: Option<i64> = c
        .prepare_cached("SELECT overrun FROM archive_cursors WHERE ns = ?1 AND source = ?2")?
        .query_row(params![ns, source.name()], |r| r.get(0))
        .optional()?;
    Ok(n.unwrap_or(0) as u64)
}

/// Commits `cursor` for `source` unless the stored one is further on (SQLite).
pub fn sqlite_commit(db: &Sqlite, ns: &str, source: Source, cursor: &str) -> Result<()> {
    let (key, _) = split(cursor)?;
    order(source, key, key)?; // validates the key
    db.with_tx(|tx| {
        if let Some(old) = sqlite_cursor(tx, ns, source)? {
            let (okey, _) = split(&old)?;
            if order(source, key, okey)? == Ordering::Less {
                return Ok(());
            }
        }
        tx.prepare_cached(
            "INSERT INTO archive_cursors (ns, source, cursor) VALUES (?1, ?2, ?3)
             ON CONFLICT (ns, source) DO UPDATE SET cursor = excluded.cursor",
        )?
        .execute(params![ns, source.name(), cursor])?;
        Ok(())
    })
}

/// The committed cursor of `source`, else a start cursor before every entry, committed with
/// the current overrun counter (SQLite): from then on trimming holds every entry.
pub fn sqlite_start(db: &Sqlite, ns: &str, source: Source) -> Result<String> {
    db.with_tx(|tx| {
        if let Some(cur) = sqlite_cursor(tx, ns, source)? {
            return Ok(cur);
        }
        let zero = if source == Source::Acks { "0|" } else { "0-0" };
        let cur = format!("{zero}#0");
        tx.prepare_cached("INSERT INTO archive_cursors (ns, source, cursor) VALUES (?1, ?2, ?3)")?
            .execute(params![ns, source.name(), cur])?;
        Ok(cur)
    })
}

/// Deletes the cursors of `sources` (SQLite); how many there were.
pub fn sqlite_forget(db: &Sqlite, ns: &str, sources: &[Source]) -> Result<u64> {
    db.with_tx(|tx| {
        let mut n = 0;
        for s in sources {
            n += tx
                .prepare_cached("DELETE FROM archive_cursors WHERE ns = ?1 AND source = ?2")?
                .execute(params![ns, s.name()])? as u64;
        }
        Ok(n)
    })
}

// ---- Redis ----

fn text(v: &Value) -> Result<String> {
    redis::from_redis_value_ref(v).map_err(|e| bad(&e.to_string()))
}

fn int(v: &Value) -> Result<u64> {
    let i: i64 = redis::from_redis_value_ref(v).map_err(|e| bad(&e.to_string()))?;
    Ok(i.max(0) as u64)
}

/// A Redis stream entry: its id and fields.
pub struct Entry {
    /// The stream id.
    pub id: String,
    /// Field name -> value.
    pub fields: Vec<(String, String)>,
}

impl Entry {
    /// The value of field `f`.
    pub fn get(&self, f: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == f)
            .map(|(_, v)| v.as_str())
    }
}

/// One read of a stream source on Redis: (next, behind, lost, entries).
pub async fn redis_stream_read(
    r: Arc<Redis>,
    mut c: RedisConn,
    key: String,
    after: Option<String>,
    limit: usize,
) -> Result<(String, u64, u64, Vec<Entry>)> {
    let mut cmd = STREAM_READ.call(&key);
    cmd.arg(after.as_deref().unwrap_or("")).arg(limit);
    let reply: Vec<Value> = STREAM_READ.run(&r, &mut c, &cmd).await?;
    let [next, behind, lost, entries] = reply.as_slice() else {
        return Err(bad("stream read reply"));
    };
    let Value::Array(entries) = entries else {
        return Err(bad("stream entries"));
    };
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let Value::Array(parts) = e else {
            return Err(bad("stream entry"));
        };
        let [id, fields] = parts.as_slice() else {
            return Err(bad("stream entry"));
        };
        let flat: Vec<String> =
            redis::from_redis_value_ref(fields).map_err(|e| bad(&e.to_string()))?;
        let mut fields = Vec::with_capacity(flat.len() / 2);
        let mut it = flat.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            fields.push((k, v));
        }
        out.push(Entry {
            id: text(id)?,
            fields,
        });
    }
    Ok((text(next)?, int(behind)?, int(lost)?, out))
}

/// The committed cursor at `key` (Redis).
pub async fn redis_get(r: Arc<Redis>, mut c: RedisConn, key: String) -> Result<Option<String>> {
    redis::cmd("GET")
        .arg(key)
        .query_async(&mut c)
        .await
        .map_err(|e| r.err(e))
}

/// The counter at `key` (Redis; 0 when absent).
pub async fn redis_count(r: Arc<Redis>, mut c: RedisConn, key: String) -> Result<u64> {
    let n: Option<u64> = redis::cmd("GET")
        .arg(key)
        .query_async(&mut c)
        .await
        .map_err(|e| r.err(e))?;
    Ok(n.unwrap_or(0))
}

/// Commits `cursor` at `key` unless the stored one is further on (Redis).
pub async fn redis_commit(
    r: Arc<Redis>,
    mut c: RedisConn,
    source: Source,
    key: String,
    cursor: String,
) -> Result<()> {
    let mut cmd = COMMIT.call(&key);
    let kind = if source == Source::Acks {
        "zset"
    } else {
        "stream"
    };
    cmd.arg(&cursor).arg(kind);
    let ok: i64 = COMMIT.run(&r, &mut c, &cmd).await?;
    if ok < 0 {
        return Err(Error::validation(format!(
            "not an archive cursor: {cursor:?}"
        )));
    }
    Ok(())
}

/// The committed cursor at `key`, else a start cursor just before the oldest entry of `data`
/// (a stream, or the ack log with its overrun counter `lost`), committed (Redis).
pub async fn redis_start(
    r: Arc<Redis>,
    mut c: RedisConn,
    source: Source,
    key: String,
    data: String,
    lost: String,
) -> Result<String> {
    let mut cmd = START.call_keys(&[&key, &data, &lost]);
    cmd.arg(if source == Source::Acks {
        "zset"
    } else {
        "stream"
    });
    START.run(&r, &mut c, &cmd).await
}

/// Deletes the cursors at `keys` (one slot) and their overrun counters (Redis); how many
/// cursors there were.
pub async fn redis_forget(r: Arc<Redis>, mut c: RedisConn, keys: Vec<String>) -> Result<u64> {
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let cmd = FORGET.call_keys(&refs);
    FORGET.run(&r, &mut c, &cmd).await
}
