//! The archive's patterns source: pattern-memory records as they stand after each write
//! that moves their last-seen time (a store or an observation), by last-seen time then id;
//! cursor `<last_ms>|<id>` (natural id `(id, observations, last_ms)`). Redis: the
//! repositories `M repos` lists as written at or after the cursor, their patterns with `l`
//! after it; SQLite: `pm_patterns` by `(ns, last_ms, id)` (index of schema step 26).
//!
//! Writes that follow one another between two reads collapse into the last (the record as
//! it stands); a confidence or data update without an observation keeps the natural id and
//! is not a new row. No retention hold: a record's ttl (its retention) is long against the
//! archive's lag; one that expires while the archive is more than a ttl behind is not
//! archived in that state (docs/archive.md).

use std::sync::LazyLock;

use rusqlite::params;
use serde_json::Value;

use super::state::{self, Order};
use crate::archive::model::{Batch, PatternRecord, Rows, Source};
use crate::engine::script::Lua;
use crate::engine::{tri, Backend, Op};
use crate::error::{Error, Result};

static READ: LazyLock<Lua> =
    LazyLock::new(|| Lua::read_only("", include_str!("../lua/patterns_read.lua")));

const S: Source = Source::Patterns;

/// Schema step 26 (the patterns capability's migration): records by last-seen time.
pub const SCHEMA: &str = "CREATE INDEX pm_patterns_last ON pm_patterns (ns, last_ms, id);";

fn split(cursor: &str) -> Result<(i64, String)> {
    let bad = || Error::validation(format!("bad patterns archive cursor {cursor:?}"));
    let (n, id) = cursor.split_once('|').ok_or_else(bad)?;
    Ok((n.parse().map_err(|_| bad())?, id.to_string()))
}

fn data(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

/// Rows after `after`, oldest first.
pub fn read(b: &Backend, ns: &str, after: Option<String>, limit: usize) -> Op<Batch> {
    let after = after.unwrap_or_else(|| "0|".to_string());
    let (am, aid) = tri!(split(&after));
    let limit = limit.clamp(1, super::MAX_READ);
    b.call(
        (ns.to_string(), after, aid),
        move |db, (ns, after, aid)| {
            db.with(|c| {
                let now = crate::clock::now_ms() as i64;
                let mut st = c.prepare_cached(
                    "SELECT id, repo, type, data, confidence, observations, first_ms, last_ms \
                     FROM pm_patterns WHERE ns = ?1 AND expires_ms > ?5 AND (last_ms > ?2 \
                     OR (last_ms = ?2 AND id > ?3)) ORDER BY last_ms, id LIMIT ?4",
                )?;
                let rows: Vec<PatternRecord> = st
                    .query_map(params![ns, am, aid, limit as i64, now], |r| {
                        Ok(PatternRecord {
                            id: r.get(0)?,
                            repo: r.get(1)?,
                            kind: r.get(2)?,
                            data: data(&r.get::<_, String>(3)?),
                            confidence: r.get(4)?,
                            observations: r.get(5)?,
                            first_ms: r.get(6)?,
                            last_ms: r.get(7)?,
                        })
                    })?
                    .collect::<rusqlite::Result<_>>()?;
                let (next, behind) = match rows.last() {
                    None => (after, 0),
                    Some(p) => {
                        let left: i64 = c
                            .prepare_cached(
                                "SELECT count(*) FROM pm_patterns WHERE ns = ?1 AND \
                                 expires_ms > ?4 AND (last_ms > ?2 OR (last_ms = ?2 AND id > ?3))",
                            )?
                            .query_row(params![ns, p.last_ms, p.id, now], |r| r.get(0))?;
                        (format!("{}|{}", p.last_ms, p.id), left as u64)
                    }
                };
                Ok(Batch {
                    rows: Rows::Patterns(rows),
                    next,
                    behind,
                    lost: 0,
                })
            })
        },
        move |r, mut c, (ns, after, aid)| async move {
            let m = crate::engine::keys::prefix(&ns, S.tag());
            let mut cmd = READ.call(&format!("{m}repos"));
            cmd.arg(&m).arg(am).arg(&aid).arg(limit);
            let reply: Vec<redis::Value> = READ.run(&r, &mut c, &cmd).await?;
            let bad = || Error::Backend("patterns archive read: a bad reply".into());
            let text = |v: &redis::Value| -> Result<String> {
                redis::from_redis_value_ref(v).map_err(|_| bad())
            };
            let num =
                |v: &redis::Value| -> Result<f64> { text(v)?.parse::<f64>().map_err(|_| bad()) };
            let behind: u64 =
                redis::from_redis_value_ref(reply.first().ok_or_else(bad)?).map_err(|_| bad())?;
            let n: usize =
                redis::from_redis_value_ref(reply.get(1).ok_or_else(bad)?).map_err(|_| bad())?;
            let mut rows = Vec::with_capacity(n);
            let mut next = after;
            for i in 0..n {
                let f = reply.get(2 + i * 8..2 + i * 8 + 8).ok_or_else(bad)?;
                let p = PatternRecord {
                    id: text(&f[0])?,
                    repo: text(&f[1])?,
                    kind: text(&f[2])?,
                    data: data(&text(&f[3])?),
                    confidence: num(&f[4])?,
                    observations: num(&f[5])? as i64,
                    first_ms: num(&f[6])? as i64,
                    last_ms: num(&f[7])? as i64,
                };
                next = format!("{}|{}", p.last_ms, p.id);
                rows.push(p);
            }
            Ok(Batch {
                rows: Rows::Patterns(rows),
                next,
                behind,
                lost: 0,
            })
        },
    )
}

/// The committed cursor, else the cursor before every record, committed.
pub fn start(b: &Backend, ns: &str) -> Op<String> {
    state::start(b, ns, S, "0|", &[], &[])
}

/// The committed cursor.
pub fn cursor(b: &Backend, ns: &str) -> Op<Option<String>> {
    state::cursor(b, ns, S)
}

/// Commits a cursor (never backwards).
pub fn commit(b: &Backend, ns: &str, cursor: String) -> Op<()> {
    tri!(split(&cursor));
    state::commit(b, ns, S, cursor, Order::NumId)
}

/// Entries trimmed before the archive had them (patterns keep none: always 0 unless a
/// future hold counts some).
pub fn overrun(b: &Backend, ns: &str) -> Op<u64> {
    state::overrun(b, ns, S)
}

/// Deletes the cursors of this capability's sources; how many there were.
pub fn forget(b: &Backend, ns: &str) -> Op<u64> {
    state::forget(b, ns, S, &[], &[])
}
