//! The change feed on the embedded store: one table of entries and one row per (namespace,
//! capability) holding its sequence's last number. A capability's write appends its entries
//! with [`record`] inside its own transaction.

use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{merge, rescan, Change, Cursor, Feed, Kind, Page, Record, Slice, MAX_LEN, TOPIC};
use crate::engine::Sqlite;
use crate::error::Result;

/// Tables (migration step 9).
pub const SCHEMA: &str = "
CREATE TABLE changes (
  ns TEXT NOT NULL, cap TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL,
  version INTEGER NOT NULL, kind TEXT NOT NULL, at INTEGER NOT NULL,
  PRIMARY KEY (ns, cap, seq)
) WITHOUT ROWID;
CREATE TABLE change_seq (
  ns TEXT NOT NULL, cap TEXT NOT NULL, last INTEGER NOT NULL,
  PRIMARY KEY (ns, cap)
) WITHOUT ROWID;
";

/// Appends `records` to capability `cap`'s feed in namespace `ns`, inside the caller's
/// transaction, and trims the feed to [`MAX_LEN`] entries. A new sequence starts at the
/// current time in microseconds (see the module docs of `crate::changes`).
pub fn record(tx: &Transaction<'_>, ns: &str, cap: &str, records: &[Record<'_>]) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let at = crate::clock::now_ms();
    let last: Option<i64> = tx
        .prepare_cached("SELECT last FROM change_seq WHERE ns = ?1 AND cap = ?2")?
        .query_row(params![ns, cap], |r| r.get(0))
        .optional()?;
    let mut seq = match last {
        Some(l) => l,
        None => (crate::clock::now_us() as i64) - 1,
    };
    {
        let mut ins = tx.prepare_cached(
            "INSERT INTO changes (ns, cap, seq, id, version, kind, at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for r in records {
            seq += 1;
            ins.execute(params![
                ns,
                cap,
                seq,
                r.id,
                r.version as i64,
                r.kind.code(),
                at as i64
            ])?;
        }
    }
    tx.prepare_cached(
        "INSERT INTO change_seq (ns, cap, last) VALUES (?1, ?2, ?3) \
         ON CONFLICT (ns, cap) DO UPDATE SET last = excluded.last",
    )?
    .execute(params![ns, cap, seq])?;
    tx.prepare_cached("DELETE FROM changes WHERE ns = ?1 AND cap = ?2 AND seq <= ?3")?
        .execute(params![ns, cap, seq - MAX_LEN as i64])?;
    Ok(())
}

fn slice(
    c: &Connection,
    ns: &str,
    cap: &'static str,
    after: Option<u64>,
    n: usize,
) -> Result<Slice> {
    let last: i64 = c
        .prepare_cached("SELECT last FROM change_seq WHERE ns = ?1 AND cap = ?2")?
        .query_row(params![ns, cap], |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    let mut st = c.prepare_cached(
        "SELECT seq, id, version, kind, at FROM changes \
         WHERE ns = ?1 AND cap = ?2 AND seq > ?3 ORDER BY seq LIMIT ?4",
    )?;
    let rows = st.query_map(params![ns, cap, after.unwrap_or(0) as i64, n as i64], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, i64>(4)?,
        ))
    })?;
    let mut entries = Vec::new();
    for row in rows {
        let (seq, id, version, kind, at) = row?;
        entries.push(Change {
            capability: cap.to_string(),
            id,
            version: version.max(0) as u64,
            kind: Kind::parse(&kind)?,
            at_ms: at.max(0) as u64,
            seq: seq as u64,
            pos: seq.to_string(),
        });
    }
    Ok(Slice {
        entries,
        last: last.max(0) as u64,
    })
}

/// The end of each declaring capability's sequence: `(capability, last, position)`.
pub fn last(db: &Sqlite, ns: &str, feeds: &[Feed]) -> Result<Vec<(String, u64, String)>> {
    db.with(|c| ends(c, ns, feeds))
}

fn ends(c: &Connection, ns: &str, feeds: &[Feed]) -> Result<Vec<(String, u64, String)>> {
    let mut out = Vec::new();
    for cap in feeds {
        let last: i64 = c
            .prepare_cached("SELECT last FROM change_seq WHERE ns = ?1 AND cap = ?2")?
            .query_row(params![ns, cap.name], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
        out.push((cap.name.to_string(), last.max(0) as u64, last.to_string()));
    }
    Ok(out)
}

/// Changes after `cur` (see `Changes::read`), waiting up to `block` for the first.
pub fn read(
    db: &Sqlite,
    ns: &str,
    feeds: &[Feed],
    cur: Cursor,
    limit: usize,
    block: Duration,
) -> Result<Page> {
    let deadline = std::time::Instant::now() + block;
    loop {
        let mut watch = db.watch(TOPIC)?;
        let found = db.with(|c| {
            // One snapshot for every capability's slice.
            let tx = c.transaction()?;
            let mut slices = Vec::new();
            for cap in feeds {
                let after = cur.get(cap.name).map(|(s, _)| s);
                slices.push((cap.name, slice(&tx, ns, cap.name, after, limit)?));
            }
            match merge(&cur, slices, limit) {
                Some(page) => Ok(Ok(page)),
                None => Ok(Err(Cursor::at_end(ends(&tx, ns, feeds)?))),
            }
        })?;
        let page = found.map_err(rescan)?;
        let now = std::time::Instant::now();
        if !page.changes.is_empty() || now >= deadline {
            return Ok(page);
        }
        watch.wait(deadline - now)?;
    }
}

/// Rows the namespace holds in the feed's tables.
pub fn rows(c: &Connection, ns: &str) -> Result<u64> {
    crate::engine::sqlite::count_rows(c, ns, &["changes", "change_seq"])
}

/// Deletes the namespace's feed.
pub fn clear(tx: &Transaction<'_>, ns: &str) -> Result<u64> {
    crate::engine::sqlite::delete_rows(tx, ns, &["changes", "change_seq"])
}
