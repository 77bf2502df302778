//! The archive's events source on both stores: the namespace's event log (`E log` on Redis,
//! the `events` table on SQLite). Cursor formats: see [`super::held`].

use std::sync::Arc;

use rusqlite::params;

use super::held::{self, bad};
use crate::archive::model::{Batch, Event, Rows, Source};
use crate::engine::{Backend, Op, Redis, RedisConn, Sqlite};
use crate::error::Result;

const SOURCE: Source = Source::Events;

/// Rows after `after`, oldest first.
pub fn read(b: &Backend, ns: &str, after: Option<String>, limit: usize) -> Op<Batch> {
    let limit = limit.clamp(1, super::MAX_READ);
    b.call(
        (ns.to_string(), after),
        move |db, (ns, after)| sqlite_read(db, &ns, after, limit),
        move |r, c, (ns, after)| redis_read(r, c, ns, after, limit),
    )
}

/// The committed cursor.
pub fn cursor(b: &Backend, ns: &str) -> Op<Option<String>> {
    b.call(
        ns.to_string(),
        |db, ns| db.with(|c| held::sqlite_cursor(c, &ns, SOURCE)),
        |r, c, ns| held::redis_get(r, c, held::cursor_key(&ns, SOURCE)),
    )
}

/// Commits a cursor (never backwards).
pub fn commit(b: &Backend, ns: &str, cursor: String) -> Op<()> {
    b.call(
        (ns.to_string(), cursor),
        |db, (ns, cur)| held::sqlite_commit(db, &ns, SOURCE, &cur),
        |r, c, (ns, cur)| held::redis_commit(r, c, SOURCE, held::cursor_key(&ns, SOURCE), cur),
    )
}

/// The committed cursor, else a start cursor before every event held now, committed.
pub fn start(b: &Backend, ns: &str) -> Op<String> {
    b.call(
        ns.to_string(),
        |db, ns| held::sqlite_start(db, &ns, SOURCE),
        |r, c, ns| {
            let (key, lost) = (held::cursor_key(&ns, SOURCE), held::lost_key(&ns, SOURCE));
            let log = format!("{}log", crate::engine::keys::prefix(&ns, SOURCE.tag()));
            held::redis_start(r, c, SOURCE, key, log, lost)
        },
    )
}

/// Entries trimmed before the archive had them.
pub fn overrun(b: &Backend, ns: &str) -> Op<u64> {
    b.call(
        ns.to_string(),
        |db, ns| db.with(|c| held::sqlite_overrun(c, &ns, SOURCE)),
        |r, c, ns| held::redis_count(r, c, held::lost_key(&ns, SOURCE)),
    )
}

/// Deletes the cursors of this capability's sources; how many there were.
pub fn forget(b: &Backend, ns: &str) -> Op<u64> {
    b.call(
        ns.to_string(),
        |db, ns| held::sqlite_forget(db, &ns, &[SOURCE]),
        |r, c, ns| held::redis_forget(r, c, vec![held::cursor_key(&ns, SOURCE)]),
    )
}

fn ms_of(id: &str) -> i64 {
    id.split('-')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0)
}

async fn redis_read(
    r: Arc<Redis>,
    c: RedisConn,
    ns: String,
    after: Option<String>,
    limit: usize,
) -> Result<Batch> {
    let key = format!("{}log", crate::engine::keys::prefix(&ns, SOURCE.tag()));
    let (next, behind, lost, es) = held::redis_stream_read(r, c, key, after, limit).await?;
    let rows = es
        .into_iter()
        .map(|e| {
            let channel = e.get("c").ok_or_else(|| bad("event without channel"))?;
            let data = e.get("d").ok_or_else(|| bad("event without data"))?;
            Ok(Event {
                at_ms: ms_of(&e.id),
                channel: channel.to_string(),
                data: serde_json::from_str(data)?,
                id: e.id,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Batch {
        rows: Rows::Events(rows),
        next,
        behind,
        lost,
    })
}

fn sqlite_read(db: &Sqlite, ns: &str, after: Option<String>, limit: usize) -> Result<Batch> {
    let (from, seen) = match &after {
        Some(a) => {
            let (k, o) = held::split(a)?;
            (held::seq_of(k)?, Some((k.to_string(), o)))
        }
        None => (0, None),
    };
    db.with(|c| {
        let raw = c
            .prepare_cached(
                "SELECT seq, at_ms, channel, data FROM events WHERE ns = ?1 AND seq > ?2
                 ORDER BY seq LIMIT ?3",
            )?
            .query_map(params![ns, from, limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let o = held::sqlite_overrun(c, ns, SOURCE)?;
        let lost = seen.as_ref().map_or(0, |(_, s)| o.saturating_sub(*s));
        let last = raw
            .last()
            .map(|(seq, at, ..)| (*seq, format!("{at}-{seq}")));
        let (next, upto) = match (&last, &seen) {
            (Some((seq, k)), _) => (format!("{k}#{o}"), *seq),
            (None, Some((k, _))) if lost > 0 => (format!("{k}#{o}"), from),
            (None, Some(_)) => (after.clone().unwrap_or_default(), from),
            (None, None) => (format!("0-0#{o}"), 0),
        };
        // Sequences of a namespace's log have no holes: what follows is the last one minus.
        let top: Option<i64> = c
            .prepare_cached("SELECT max(seq) FROM events WHERE ns = ?1")?
            .query_row([ns], |r| r.get(0))?;
        let behind = top.map_or(0, |t| (t - upto).max(0) as u64);
        let rows = raw
            .into_iter()
            .map(|(seq, at, channel, data)| {
                Ok(Event {
                    id: format!("{at}-{seq}"),
                    channel,
                    data: serde_json::from_str(&data)?,
                    at_ms: at,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Batch {
            rows: Rows::Events(rows),
            next,
            behind,
            lost,
        })
    })
}
