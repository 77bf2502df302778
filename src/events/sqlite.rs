//! `hub.events` on the embedded store: one row per event keyed by (namespace, sequence), and
//! one row per namespace with the sequence counter and the retention. Waiting readers use the
//! store's commit watch, so a publisher in another process wakes them within ~1 ms.

use std::time::{Duration, Instant};

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{matches_any, parse_id, Batch, Event, Retention, DEFAULT_MAX_LEN};
use crate::archive::sources::{held, HOLD};
use crate::archive::Source;
use crate::engine::Sqlite;
use crate::error::Result;

/// Tables of this capability (one migration; see `engine::sqlite::MIGRATIONS`).
pub const SCHEMA: &str = "
CREATE TABLE events (
    ns TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    channel TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (ns, seq)
) WITHOUT ROWID;
CREATE TABLE event_logs (
    ns TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    max_len INTEGER NOT NULL,
    max_age_ms INTEGER
) WITHOUT ROWID;
";

/// Events dropped by age per publish at most (the rest go with the next publishes).
const AGE_TRIM_BATCH: i64 = 256;

fn id(at_ms: i64, seq: i64) -> String {
    format!("{at_ms}-{seq}")
}

/// Appends one event; returns its id and time.
pub fn publish(
    db: &Sqlite,
    ns: &str,
    channel: &str,
    data: &str,
    at_ms: u64,
) -> Result<(String, f64)> {
    db.with_tx_on(super::TOPIC, |tx| publish_tx(tx, ns, channel, data, at_ms))
}

/// Appends events in order in one transaction, each as `publish` appends one.
pub fn publish_many(
    db: &Sqlite,
    ns: &str,
    items: &[(String, String)],
    at_ms: u64,
) -> Result<Vec<(String, f64)>> {
    db.with_tx_on(super::TOPIC, |tx| {
        items
            .iter()
            .map(|(c, d)| publish_tx(tx, ns, c, d, at_ms))
            .collect()
    })
}

fn publish_tx(
    tx: &Transaction<'_>,
    ns: &str,
    channel: &str,
    data: &str,
    at_ms: u64,
) -> Result<(String, f64)> {
    {
        let (seq, max_len, max_age): (i64, i64, Option<i64>) = tx
            .prepare_cached(
                "INSERT INTO event_logs (ns, last_seq, max_len) VALUES (?1, 1, ?2)
                 ON CONFLICT (ns) DO UPDATE SET last_seq = last_seq + 1
                 RETURNING last_seq, max_len, max_age_ms",
            )?
            .query_row(params![ns, DEFAULT_MAX_LEN as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
        // Ids must grow in log order (readers compare them): a publisher that read the clock
        // before another but commits after it takes the later time, as Redis stream ids
        // never go back either.
        let before: Option<i64> = tx
            .prepare_cached("SELECT at_ms FROM events WHERE ns = ?1 AND seq = ?2")?
            .query_row(params![ns, seq - 1], |r| r.get(0))
            .optional()?;
        let at = (at_ms as i64).max(before.unwrap_or(0));
        tx.prepare_cached(
            "INSERT INTO events (ns, seq, at_ms, channel, data) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![ns, seq, at, channel, data])?;
        if seq > max_len || max_age.is_some() {
            trim(tx, ns, seq, at, max_len, max_age)?;
        }
        Ok((id(at, seq), at as f64 / 1e3))
    }
}

/// Keeps the log within `max_len` events (and `max_age` ms), except that while the archive
/// holds the log (a committed cursor) events after its cursor stay until the bound (`HOLD`
/// times both limits, docs/archive.md); what goes past it is added to the overrun counter.
fn trim(
    tx: &Transaction<'_>,
    ns: &str,
    seq: i64,
    at: i64,
    max_len: i64,
    max_age: Option<i64>,
) -> Result<()> {
    let held = match held::sqlite_hold(tx, ns, Source::Events)? {
        Some(k) => Some(held::seq_of(&k)?),
        None => None,
    };
    let upto = held.unwrap_or(i64::MAX);
    if seq > max_len {
        tx.prepare_cached("DELETE FROM events WHERE ns = ?1 AND seq <= ?2")?
            .execute(params![ns, (seq - max_len).min(upto)])?;
    }
    if let Some(age) = max_age {
        tx.prepare_cached(
            "DELETE FROM events WHERE ns = ?1 AND seq IN (
                 SELECT seq FROM events WHERE ns = ?1 ORDER BY seq LIMIT ?3)
             AND at_ms < ?2 AND seq <= ?4",
        )?
        .execute(params![ns, at - age, AGE_TRIM_BATCH, upto])?;
    }
    let Some(cur) = held else { return Ok(()) };
    let hold = HOLD as i64;
    let mut over = 0;
    let bound = seq - max_len.saturating_mul(hold);
    if bound > cur {
        over += tx
            .prepare_cached("DELETE FROM events WHERE ns = ?1 AND seq > ?2 AND seq <= ?3")?
            .execute(params![ns, cur, bound])?;
    }
    if let Some(age) = max_age {
        over += tx
            .prepare_cached(
                "DELETE FROM events WHERE ns = ?1 AND seq IN (
                     SELECT seq FROM events WHERE ns = ?1 AND seq > ?2 ORDER BY seq LIMIT ?4)
                 AND at_ms < ?3",
            )?
            .execute(params![
                ns,
                cur,
                at - age.saturating_mul(hold),
                AGE_TRIM_BATCH
            ])?;
    }
    held::sqlite_add_overrun(tx, ns, Source::Events, over as u64)
}

fn last(c: &Connection, ns: &str) -> Result<(i64, i64)> {
    let seq: Option<i64> = c
        .prepare_cached("SELECT last_seq FROM event_logs WHERE ns = ?1")?
        .query_row([ns], |r| r.get(0))
        .optional()?;
    let Some(seq) = seq else { return Ok((0, 0)) };
    let at: Option<i64> = c
        .prepare_cached("SELECT at_ms FROM events WHERE ns = ?1 AND seq = ?2")?
        .query_row(params![ns, seq], |r| r.get(0))
        .optional()?;
    Ok((at.unwrap_or(0), seq))
}

/// Id of the newest event ("0-<n>" when the log is empty).
pub fn last_id(db: &Sqlite, ns: &str) -> Result<String> {
    db.with(|c| {
        let (at, seq) = last(c, ns)?;
        Ok(id(at, seq))
    })
}

/// Rows of events after sequence `after` and above `floor` (ids compared as Redis compares
/// stream ids: milliseconds, then sequence), at most `limit`.
fn page(
    c: &Connection,
    ns: &str,
    after: i64,
    floor: (i64, i64),
    limit: usize,
) -> Result<Vec<(Event, i64)>> {
    let mut st = c.prepare_cached(
        "SELECT seq, at_ms, channel, data FROM events WHERE ns = ?1 AND seq > ?2
           AND (at_ms > ?3 OR (at_ms = ?3 AND seq > ?4))
         ORDER BY seq LIMIT ?5",
    )?;
    let rows = st.query_map(params![ns, after, floor.0, floor.1, limit as i64], |r| {
        let (seq, at, channel, data): (i64, i64, String, String) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
        Ok((seq, at, channel, data))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, at, channel, data) = row?;
        out.push((
            Event {
                id: id(at, seq),
                channel,
                data: serde_json::from_str(&data)?,
                time: at as f64 / 1e3,
            },
            seq,
        ));
    }
    Ok(out)
}

fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The sequence a read after the id `floor` scans from: the id's own sequence when it names
/// an event of this log (the usual case: a cursor this log handed out), else the last event at
/// or below it (event times grow with the sequence), so an id past the end reads nothing and an
/// id in the middle of the log reads what Redis would.
fn start(c: &Connection, ns: &str, floor: (i64, i64)) -> Result<i64> {
    let (ms, seq) = floor;
    if ms == 0 && seq == 0 {
        return Ok(0);
    }
    let at: Option<i64> = c
        .prepare_cached("SELECT at_ms FROM events WHERE ns = ?1 AND seq = ?2")?
        .query_row(params![ns, seq], |r| r.get(0))
        .optional()?;
    if at == Some(ms) {
        return Ok(seq);
    }
    let below: Option<i64> = c
        .prepare_cached(
            "SELECT MAX(seq) FROM events WHERE ns = ?1
               AND (at_ms < ?2 OR (at_ms = ?2 AND seq <= ?3))",
        )?
        .query_row(params![ns, ms, seq], |r| r.get(0))?;
    Ok(below.unwrap_or(0))
}

/// Matching events after `after` (None: from the current end), waiting up to `block` for one.
pub fn read(
    db: &Sqlite,
    ns: &str,
    patterns: &[String],
    after: &Option<String>,
    limit: usize,
    block: Duration,
) -> Result<Batch> {
    let deadline = Instant::now() + block;
    let (mut cursor, floor) = match after {
        Some(a) => {
            let (ms, seq) = parse_id(a)?;
            let floor = (clamp(ms), clamp(seq));
            (a.clone(), floor)
        }
        None => db.with(|c| {
            let (at, seq) = last(c, ns)?;
            Ok((id(at, seq), (at, seq)))
        })?,
    };
    let mut seq = db.with(|c| start(c, ns, floor))?;
    loop {
        // Watch before reading, so a publish between the read and the wait is not missed.
        let mut watch = db.watch(super::TOPIC)?;
        let rows = db.with(|c| page(c, ns, seq, floor, limit))?;
        let full = rows.len() == limit;
        let mut events = Vec::new();
        for (ev, s) in rows {
            seq = s;
            cursor = ev.id.clone();
            if matches_any(patterns, &ev.channel) {
                events.push(ev);
            }
        }
        if !events.is_empty() || (full && Instant::now() >= deadline) {
            return Ok(Batch { events, cursor });
        }
        if full {
            continue; // a page of other channels' events: keep scanning
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(Batch { events, cursor });
        }
        watch.wait(deadline - now)?;
    }
}

/// Stores the retention of `ns` (used from the next publish on).
pub fn set_retention(db: &Sqlite, ns: &str, ret: Retention) -> Result<()> {
    let age = ret.max_age.map(|a| a.as_millis() as i64);
    db.with_tx_on(super::TOPIC, |tx| {
        tx.execute(
            "INSERT INTO event_logs (ns, last_seq, max_len, max_age_ms) VALUES (?1, 0, ?2, ?3)
             ON CONFLICT (ns) DO UPDATE SET max_len = ?2, max_age_ms = ?3",
            params![ns, ret.max_len as i64, age],
        )?;
        Ok(())
    })
}

/// The retention of `ns`.
pub fn retention(db: &Sqlite, ns: &str) -> Result<Retention> {
    db.with(|c| {
        let row: Option<(i64, Option<i64>)> = c
            .prepare_cached("SELECT max_len, max_age_ms FROM event_logs WHERE ns = ?1")?
            .query_row([ns], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        Ok(match row {
            Some((len, age)) => Retention {
                max_len: len as u64,
                max_age: age.map(|a| Duration::from_millis(a as u64)),
            },
            None => Retention::default(),
        })
    })
}

/// Rows this namespace holds (events; the counter row is not data).
pub fn rows(c: &Connection, ns: &str) -> Result<u64> {
    let n: i64 = c
        .prepare_cached("SELECT COUNT(*) FROM events WHERE ns = ?1")?
        .query_row([ns], |r| r.get(0))?;
    Ok(n as u64)
}

/// Deletes every row of this namespace; returns how many events went. The sequence counter
/// stays, so a subscriber holding an id from before does not skip the events that follow.
pub fn clear(tx: &Transaction<'_>, ns: &str) -> Result<u64> {
    let n = tx.execute("DELETE FROM events WHERE ns = ?1", [ns])?;
    // The archive's cursor on the log goes with it, as it does on Redis (under the prefix).
    tx.execute(
        "DELETE FROM archive_cursors WHERE ns = ?1 AND source = 'events'",
        [ns],
    )?;
    tx.execute(
        "UPDATE event_logs SET max_len = ?2, max_age_ms = NULL WHERE ns = ?1",
        params![ns, DEFAULT_MAX_LEN as i64],
    )?;
    Ok(n as u64)
}
