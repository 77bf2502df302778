//! `hub.sessions` on the embedded store: one row per session (data as a JSON object text,
//! top-level keys in byte order); `gone` is when the background sweep may drop it, on the
//! machine's clock (a call's `now` may be another clock).

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde_json::{Map, Value as Json};

use super::{Session, MAX_DATA};
use crate::engine::Sqlite;
use crate::error::{Error, Result};

/// Table (schema step 17).
pub const SCHEMA: &str = "
CREATE TABLE sessions (
  ns TEXT NOT NULL, id TEXT NOT NULL, user TEXT NOT NULL, data TEXT NOT NULL,
  size INTEGER NOT NULL, created INTEGER NOT NULL, expires INTEGER NOT NULL,
  ttl INTEGER NOT NULL, gone INTEGER NOT NULL,
  PRIMARY KEY (ns, id)
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (ns, user);
CREATE INDEX sessions_gone ON sessions (gone);
";

const SWEEP_BATCH: i64 = 10_000;

fn gone(expires: u64, now: u64) -> i64 {
    (crate::clock::now_ms() + expires.saturating_sub(now)) as i64
}

fn text(data: &Map<String, Json>) -> Result<String> {
    serde_json::to_string(data).map_err(|e| Error::validation(e.to_string()))
}

const COLS: &str = "id, user, data, created, expires, ttl, size";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Session, String, i64)> {
    Ok((
        Session {
            id: r.get(0)?,
            user: r.get(1)?,
            data: Map::new(),
            created_ms: r.get::<_, i64>(3)?.max(0) as u64,
            expires_ms: r.get::<_, i64>(4)?.max(0) as u64,
            ttl_ms: r.get::<_, i64>(5)?.max(0) as u64,
        },
        r.get(2)?,
        r.get(6)?,
    ))
}

fn parse((mut s, d, _): (Session, String, i64)) -> Result<Session> {
    s.data = serde_json::from_str(&d)?;
    Ok(s)
}

fn load(c: &Connection, ns: &str, id: &str, now: u64) -> Result<Option<(Session, String, i64)>> {
    Ok(c.prepare_cached(&format!(
        "SELECT {COLS} FROM sessions WHERE ns = ?1 AND id = ?2 AND expires > ?3"
    ))?
    .query_row(params![ns, id, now as i64], row)
    .optional()?)
}

/// See `Sessions::create`.
pub fn create(
    db: &Sqlite,
    ns: &str,
    s: Session,
    e: &[(String, String)],
    now: u64,
) -> Result<Session> {
    db.with_tx(|tx| {
        let n = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO sessions (ns, id, user, data, size, created, expires, ttl, gone) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                ns,
                s.id,
                s.user,
                text(&s.data)?,
                super::size(e) as i64,
                s.created_ms as i64,
                s.expires_ms as i64,
                s.ttl_ms as i64,
                gone(s.expires_ms, now)
            ])?;
        if n == 0 {
            return Err(Error::Conflict("session id taken (retry)".into()));
        }
        Ok(s)
    })
}

/// See `Sessions::get`.
pub fn get(db: &Sqlite, ns: &str, id: &str, now: u64) -> Result<Option<Session>> {
    db.with(|c| load(c, ns, id, now)?.map(parse).transpose())
}

/// See `Sessions::touch`.
pub fn touch(db: &Sqlite, ns: &str, id: &str, ttl: Option<u64>, now: u64) -> Result<bool> {
    db.with_tx(|tx| {
        let Some((s, _, _)) = load(tx, ns, id, now)? else {
            return Ok(false);
        };
        let ttl = ttl.unwrap_or(s.ttl_ms);
        tx.prepare_cached(
            "UPDATE sessions SET expires = ?3, ttl = ?4, gone = ?5 WHERE ns = ?1 AND id = ?2",
        )?
        .execute(params![
            ns,
            id,
            (now + ttl) as i64,
            ttl as i64,
            gone(now + ttl, now)
        ])?;
        Ok(true)
    })
}

/// See `Sessions::update`.
pub fn update(
    db: &Sqlite,
    ns: &str,
    id: &str,
    e: &[(String, Option<String>)],
    replace: bool,
    now: u64,
) -> Result<bool> {
    db.with_tx(|tx| {
        let Some(cur) = load(tx, ns, id, now)? else {
            return Ok(false);
        };
        let mut data = if replace {
            Map::new()
        } else {
            parse(cur)?.data
        };
        for (k, v) in e {
            match v {
                Some(v) => {
                    data.insert(k.clone(), serde_json::from_str(v)?);
                }
                None => {
                    data.remove(k);
                }
            }
        }
        let entries: Vec<(String, String)> = super::entries(&data, false)?
            .into_iter()
            .map(|(k, v)| (k, v.unwrap_or_default()))
            .collect();
        let n = super::size(&entries);
        if n > MAX_DATA {
            return Err(super::too_big(n));
        }
        let data = super::data(entries)?;
        tx.prepare_cached("UPDATE sessions SET data = ?3, size = ?4 WHERE ns = ?1 AND id = ?2")?
            .execute(params![ns, id, text(&data)?, n as i64])?;
        Ok(true)
    })
}

/// See `Sessions::destroy`.
pub fn destroy(db: &Sqlite, ns: &str, id: &str, now: u64) -> Result<bool> {
    db.with_tx(|tx| {
        let live: Option<bool> = tx
            .prepare_cached(
                "DELETE FROM sessions WHERE ns = ?1 AND id = ?2 RETURNING expires > ?3",
            )?
            .query_row(params![ns, id, now as i64], |r| r.get(0))
            .optional()?;
        Ok(live == Some(true))
    })
}

/// See `Sessions::for_user`.
pub fn for_user(db: &Sqlite, ns: &str, user: &str, now: u64) -> Result<Vec<Session>> {
    db.with(|c| {
        let mut st = c.prepare_cached(&format!(
            "SELECT {COLS} FROM sessions WHERE ns = ?1 AND user = ?2 AND expires > ?3"
        ))?;
        let rows = st.query_map(params![ns, user, now as i64], row)?;
        rows.map(|r| parse(r?)).collect()
    })
}

/// See `Sessions::destroy_user`.
pub fn destroy_user(db: &Sqlite, ns: &str, user: &str, now: u64) -> Result<u64> {
    db.with_tx(|tx| {
        let mut st = tx.prepare_cached(
            "DELETE FROM sessions WHERE ns = ?1 AND user = ?2 RETURNING expires > ?3",
        )?;
        let live = st
            .query_map(params![ns, user, now as i64], |r| r.get::<_, bool>(0))?
            .collect::<rusqlite::Result<Vec<bool>>>()?;
        Ok(live.into_iter().filter(|l| *l).count() as u64)
    })
}

/// Deletes sessions past their time on the machine's clock, at most a batch (the engine's
/// background sweep).
pub fn sweep(tx: &Transaction<'_>, now: u64) -> Result<u64> {
    Ok(tx
        .prepare_cached(
            "DELETE FROM sessions WHERE (ns, id) IN \
             (SELECT ns, id FROM sessions WHERE gone <= ?1 LIMIT ?2)",
        )?
        .execute(params![now as i64, SWEEP_BATCH])? as u64)
}

/// Rows of the namespace.
pub fn rows(c: &Connection, ns: &str) -> Result<u64> {
    crate::engine::sqlite::count_rows(c, ns, &["sessions"])
}

/// Deletes the namespace's rows.
pub fn clear(tx: &Transaction<'_>, ns: &str) -> Result<u64> {
    crate::engine::sqlite::delete_rows(tx, ns, &["sessions"])
}
