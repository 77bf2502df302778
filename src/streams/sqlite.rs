//! Chat and activity logs on the embedded store: one row per entry keyed by (namespace, log,
//! ms, seq) — the two parts of its id, numbered as a Redis stream numbers them — and one row
//! per log with its last id and its length (what trimming and "from now" read). Waiting
//! followers use the store's commit watch, so an append in another process wakes them within
//! about a millisecond.

use std::time::{Duration, Instant};

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{first_id, id_text, Entry, Kind, NewEntry, Restored, KINDS};
use crate::engine::Sqlite;
use crate::error::Result;

/// Tables of `hub.chat` (schema step 19). `kind` holds the role, `body` the content, `meta`
/// the metadata as JSON text (NULL: none).
pub const CHAT_SCHEMA: &str = "
CREATE TABLE chat (
    ns TEXT NOT NULL,
    stream TEXT NOT NULL,
    ms INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    meta TEXT,
    PRIMARY KEY (ns, stream, ms, seq)
) WITHOUT ROWID;
CREATE TABLE chat_logs (
    ns TEXT NOT NULL,
    stream TEXT NOT NULL,
    last_ms INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (ns, stream)
) WITHOUT ROWID;
";

/// Tables of `hub.activity` (schema step 20): as chat's; `kind` is the item's kind, `body`
/// its data as JSON text, `meta` always NULL.
pub const ACTIVITY_SCHEMA: &str = "
CREATE TABLE activity (
    ns TEXT NOT NULL,
    stream TEXT NOT NULL,
    ms INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    meta TEXT,
    PRIMARY KEY (ns, stream, ms, seq)
) WITHOUT ROWID;
CREATE TABLE activity_logs (
    ns TEXT NOT NULL,
    stream TEXT NOT NULL,
    last_ms INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (ns, stream)
) WITHOUT ROWID;
";

/// One stored row: ms, seq, kind, body, meta.
pub type Row = (i64, i64, String, String, Option<String>);

fn entry(stream: &str, r: Row) -> Entry {
    let (ms, seq, kind, body, meta) = r;
    Entry {
        id: id_text(ms as u64, seq as u64),
        stream: stream.to_string(),
        kind,
        body,
        meta,
    }
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

/// The log's last id and length, if it has a row.
fn log(c: &Connection, k: &Kind, ns: &str, stream: &str) -> Result<Option<(u64, u64, u64)>> {
    Ok(c.prepare_cached(&format!(
        "SELECT last_ms, last_seq, n FROM {} WHERE ns = ?1 AND stream = ?2",
        k.logs_table
    ))?
    .query_row(params![ns, stream], |r| {
        Ok((
            r.get::<_, i64>(0)? as u64,
            r.get::<_, i64>(1)? as u64,
            r.get::<_, i64>(2)? as u64,
        ))
    })
    .optional()?)
}

/// Appends entries in order, trims to `max_len`; returns their ids.
pub fn append(
    db: &Sqlite,
    k: &'static Kind,
    ns: &str,
    stream: &str,
    entries: &[NewEntry],
    max_len: u64,
    now_us: u64,
) -> Result<Vec<String>> {
    db.with_tx_on(k.topic, |tx| {
        append_tx(tx, k, ns, stream, entries, max_len, now_us)
    })
}

fn append_tx(
    tx: &Transaction<'_>,
    k: &Kind,
    ns: &str,
    stream: &str,
    entries: &[NewEntry],
    max_len: u64,
    now_us: u64,
) -> Result<Vec<String>> {
    let now_ms = now_us / 1000;
    // Ids grow within a log as Redis stream ids do: the time, or the last id's time when the
    // clock is behind it (another process's append, a clock step back), with the next seq.
    let (ms, mut seq, n) = match log(tx, k, ns, stream)? {
        Some((lm, _, n)) if now_ms > lm => (now_ms, 0, n),
        Some((lm, ls, n)) => (lm, ls + 1, n),
        None => {
            let (m, s) = first_id(now_us);
            (m, s, 0)
        }
    };
    let mut ids = Vec::with_capacity(entries.len());
    {
        let mut ins = tx.prepare_cached(&format!(
            "INSERT INTO {} (ns, stream, ms, seq, kind, body, meta)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            k.table
        ))?;
        for (i, e) in entries.iter().enumerate() {
            if i > 0 {
                seq += 1;
            }
            ins.execute(params![
                ns, stream, ms as i64, seq as i64, e.kind, e.body, e.meta
            ])?;
            ids.push(id_text(ms, seq));
        }
    }
    let mut n = n + entries.len() as u64;
    if n > max_len {
        tx.prepare_cached(&format!(
            "DELETE FROM {t} WHERE ns = ?1 AND stream = ?2 AND (ms, seq) IN (
                 SELECT ms, seq FROM {t} WHERE ns = ?1 AND stream = ?2
                 ORDER BY ms, seq LIMIT ?3)",
            t = k.table
        ))?
        .execute(params![ns, stream, (n - max_len) as i64])?;
        n = max_len;
    }
    tx.prepare_cached(&format!(
        "INSERT INTO {} (ns, stream, last_ms, last_seq, n) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (ns, stream) DO UPDATE SET last_ms = ?3, last_seq = ?4, n = ?5",
        k.logs_table
    ))?
    .execute(params![ns, stream, ms as i64, seq as i64, n as i64])?;
    Ok(ids)
}

/// The newest `n` entries, oldest first.
pub fn recent(db: &Sqlite, k: &Kind, ns: &str, stream: &str, n: usize) -> Result<Vec<Entry>> {
    db.with(|c| recent_on(c, k, ns, stream, n))
}

fn recent_on(c: &Connection, k: &Kind, ns: &str, stream: &str, n: usize) -> Result<Vec<Entry>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT ms, seq, kind, body, meta FROM {} WHERE ns = ?1 AND stream = ?2
         ORDER BY ms DESC, seq DESC LIMIT ?3",
        k.table
    ))?;
    let rows = st.query_map(params![ns, stream, n as i64], row)?;
    let mut out = rows
        .map(|r| Ok(entry(stream, r?)))
        .collect::<Result<Vec<_>>>()?;
    out.reverse();
    Ok(out)
}

/// [`append`], then the newest `n` entries, in one transaction.
#[allow(clippy::too_many_arguments)]
pub fn append_recent(
    db: &Sqlite,
    k: &'static Kind,
    ns: &str,
    stream: &str,
    entries: &[NewEntry],
    max_len: u64,
    now_us: u64,
    n: usize,
) -> Result<(Vec<String>, Vec<Entry>)> {
    db.with_tx_on(k.topic, |tx| {
        let ids = append_tx(tx, k, ns, stream, entries, max_len, now_us)?;
        Ok((ids, recent_on(tx, k, ns, stream, n)?))
    })
}

fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Entries after `after` and before `before` (exclusive), oldest first, at most `limit`.
fn page(
    c: &Connection,
    k: &Kind,
    ns: &str,
    stream: &str,
    after: (u64, u64),
    before: Option<(u64, u64)>,
    limit: usize,
) -> Result<Vec<Entry>> {
    let (am, aseq) = (clamp(after.0), clamp(after.1));
    // `ms >= a` (and `ms <= b`) bound the primary key's range; the rest filters its ends.
    let rows: Vec<Row> = match before {
        None => {
            let mut st = c.prepare_cached(&format!(
                "SELECT ms, seq, kind, body, meta FROM {} WHERE ns = ?1 AND stream = ?2
                   AND ms >= ?3 AND (ms > ?3 OR seq > ?4)
                 ORDER BY ms, seq LIMIT ?5",
                k.table
            ))?;
            let v = st
                .query_map(params![ns, stream, am, aseq, limit as i64], row)?
                .collect::<rusqlite::Result<_>>()?;
            v
        }
        Some((bm, bseq)) => {
            let mut st = c.prepare_cached(&format!(
                "SELECT ms, seq, kind, body, meta FROM {} WHERE ns = ?1 AND stream = ?2
                   AND ms >= ?3 AND (ms > ?3 OR seq > ?4)
                   AND ms <= ?5 AND (ms < ?5 OR seq < ?6)
                 ORDER BY ms, seq LIMIT ?7",
                k.table
            ))?;
            let v = st
                .query_map(
                    params![ns, stream, am, aseq, clamp(bm), clamp(bseq), limit as i64],
                    row,
                )?
                .collect::<rusqlite::Result<_>>()?;
            v
        }
    };
    Ok(rows.into_iter().map(|r| entry(stream, r)).collect())
}

/// Entries between `after` and `before`, waiting up to `block` for the first one.
#[allow(clippy::too_many_arguments)]
pub fn range(
    db: &Sqlite,
    k: &Kind,
    ns: &str,
    stream: &str,
    after: (u64, u64),
    before: Option<(u64, u64)>,
    limit: usize,
    block: Duration,
) -> Result<Vec<Entry>> {
    let deadline = Instant::now() + block;
    loop {
        // Watch before reading, so an append between the read and the wait is not missed.
        let mut watch = if block.is_zero() {
            None
        } else {
            Some(db.watch(k.topic)?)
        };
        let out = db.with(|c| page(c, k, ns, stream, after, before, limit))?;
        let now = Instant::now();
        if !out.is_empty() || now >= deadline {
            return Ok(out);
        }
        if let Some(w) = watch.as_mut() {
            w.wait(deadline - now)?;
        }
    }
}

/// Id of the newest entry ("0-0" when the log has none).
pub fn last_id(db: &Sqlite, k: &Kind, ns: &str, stream: &str) -> Result<String> {
    db.with(|c| {
        Ok(match log(c, k, ns, stream)? {
            Some((ms, seq, _)) => id_text(ms, seq),
            None => "0-0".into(),
        })
    })
}

/// Entries the log holds.
pub fn count(db: &Sqlite, k: &Kind, ns: &str, stream: &str) -> Result<u64> {
    db.with(|c| Ok(log(c, k, ns, stream)?.map_or(0, |(_, _, n)| n)))
}

/// Deletes one log; returns how many entries went.
pub fn clear_stream(db: &Sqlite, k: &'static Kind, ns: &str, stream: &str) -> Result<u64> {
    db.with_tx_on(k.topic, |tx| {
        let n = tx
            .prepare_cached(&format!(
                "DELETE FROM {} WHERE ns = ?1 AND stream = ?2",
                k.table
            ))?
            .execute(params![ns, stream])?;
        tx.prepare_cached(&format!(
            "DELETE FROM {} WHERE ns = ?1 AND stream = ?2",
            k.logs_table
        ))?
        .execute(params![ns, stream])?;
        Ok(n as u64)
    })
}

/// Entries of the namespace (what `health()` counts; the per-log rows are not data).
pub fn rows<const K: usize>(c: &Connection, ns: &str) -> Result<u64> {
    crate::engine::sqlite::count_rows(c, ns, &[KINDS[K].table])
}

/// Deletes the namespace's logs; returns how many entries went.
pub fn clear<const K: usize>(tx: &Transaction<'_>, ns: &str) -> Result<u64> {
    let n = crate::engine::sqlite::delete_rows(tx, ns, &[KINDS[K].table])?;
    crate::engine::sqlite::delete_rows(tx, ns, &[KINDS[K].logs_table])?;
    Ok(n)
}

/// Writes entries exactly as given, with their ids (an import into an empty namespace);
/// `rows` are `(stream, ms, seq, kind, body, meta)` with ids growing within each log.
pub fn restore(db: &Sqlite, k: &'static Kind, ns: &str, rows: &[Restored]) -> Result<()> {
    db.with_tx_on(k.topic, |tx| {
        let mut ins = tx.prepare_cached(&format!(
            "INSERT INTO {} (ns, stream, ms, seq, kind, body, meta)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            k.table
        ))?;
        let mut up = tx.prepare_cached(&format!(
            "INSERT INTO {} (ns, stream, last_ms, last_seq, n) VALUES (?1, ?2, ?3, ?4, 1)
             ON CONFLICT (ns, stream) DO UPDATE SET last_ms = ?3, last_seq = ?4, n = n + 1",
            k.logs_table
        ))?;
        for (stream, ms, seq, kind, body, meta) in rows {
            let id = format!("{stream} {}", id_text(*ms, *seq));
            crate::transfer::record::sqlite_insert(
                ins.execute(params![
                    ns,
                    stream,
                    clamp(*ms),
                    clamp(*seq),
                    kind,
                    body,
                    meta
                ]),
                &format!("{} entry", k.name),
                &id,
            )?;
            up.execute(params![ns, stream, clamp(*ms), clamp(*seq)])?;
        }
        Ok(())
    })
}

/// One page of the namespace's entries in (log, id) order after `(stream, ms, seq)`.
pub fn export_page(
    db: &Sqlite,
    k: &Kind,
    ns: &str,
    after: Option<(String, u64, u64)>,
    limit: usize,
) -> Result<Vec<Entry>> {
    db.with(|c| {
        let (s, m, q) = after.unwrap_or_default();
        let mut st = c.prepare_cached(&format!(
            "SELECT stream, ms, seq, kind, body, meta FROM {} WHERE ns = ?1 AND stream >= ?2
               AND (stream > ?2 OR ms > ?3 OR (ms = ?3 AND seq > ?4))
             ORDER BY stream, ms, seq LIMIT ?5",
            k.table
        ))?;
        let rows = st.query_map(params![ns, s, clamp(m), clamp(q), limit as i64], |r| {
            Ok((
                r.get::<_, String>(0)?,
                (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?),
            ))
        })?;
        rows.map(|r| {
            let (stream, rest) = r?;
            Ok(entry(&stream, rest))
        })
        .collect()
    })
}
