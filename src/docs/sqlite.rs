//! `hub.docs` on the embedded store: one row per document, and one row per path waiting to be
//! written back to its file (the write-back queue survives any process death: it is a table).

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde_json::Value;

use super::{
    document, merged_write, now, Document, Format, Imported, Origin, Settings, State, Write,
    MAX_LIST,
};
use crate::changes::{self, Kind, Record};
use crate::engine::Sqlite;
use crate::error::{Error, Result};

/// Tables of this capability (one migration; see `engine::sqlite::MIGRATIONS`).
pub const SCHEMA: &str = "
CREATE TABLE docs (
    ns TEXT NOT NULL,
    path TEXT NOT NULL,
    text TEXT NOT NULL,
    value TEXT NOT NULL,
    fmt TEXT NOT NULL,
    version INTEGER NOT NULL,
    hash TEXT NOT NULL,
    origin TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    synced TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (ns, path)
) WITHOUT ROWID;
CREATE TABLE doc_writeback (
    ns TEXT NOT NULL,
    path TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (ns, path)
) WITHOUT ROWID;
CREATE INDEX doc_writeback_at ON doc_writeback (ns, at);
";

/// The synced base text and how the text was made (a later migration).
pub const SCHEMA_BASE: &str = "
ALTER TABLE docs ADD COLUMN base TEXT;
ALTER TABLE docs ADD COLUMN whole INTEGER NOT NULL DEFAULT 0;
";

const TABLES: [&str; 2] = ["docs", "doc_writeback"];

/// Rows this namespace holds.
pub fn rows(c: &Connection, ns: &str) -> Result<u64> {
    crate::engine::sqlite::count_rows(c, ns, &TABLES)
}

/// Deletes this namespace's rows.
pub fn clear(tx: &Transaction<'_>, ns: &str) -> Result<u64> {
    crate::engine::sqlite::delete_rows(tx, ns, &TABLES)
}

fn read(c: &Connection, ns: &str, path: &str) -> Result<Option<Document>> {
    let row = c
        .prepare_cached(
            "SELECT text, value, fmt, version, hash, origin, created, updated, synced, whole
             FROM docs WHERE ns = ?1 AND path = ?2",
        )?
        .query_row([ns, path], |r| {
            Ok((
                (
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ),
                (
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ),
                (
                    r.get::<_, f64>(6)?,
                    r.get::<_, f64>(7)?,
                    r.get::<_, String>(8)?,
                    r.get::<_, bool>(9)?,
                ),
            ))
        })
        .optional()?;
    row.map(
        |((text, value, fmt), (version, hash, origin), (created, updated, synced, whole))| {
            document(
                path.to_string(),
                text,
                &value,
                &fmt,
                version as u64,
                hash,
                &origin,
                created,
                updated,
                synced,
                whole,
            )
        },
    )
    .transpose()
}

/// The document at `path`, if any.
pub fn get(db: &Sqlite, ns: &str, path: &str) -> Result<Option<Document>> {
    db.with(|c| read(c, ns, path))
}

fn queue(tx: &Transaction<'_>, ns: &str, path: &str, at: f64) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO doc_writeback (ns, path, at) VALUES (?1, ?2, ?3)
         ON CONFLICT (ns, path) DO UPDATE SET at = excluded.at",
    )?
    .execute(params![ns, path, at])?;
    Ok(())
}

fn put_tx(tx: &Transaction<'_>, ns: &str, w: &Write) -> Result<Document> {
    let cur = read(tx, ns, &w.path)?;
    let light = cur.as_ref().map(|d| Cur {
        version: d.version,
        hash: d.hash.clone(),
        synced: d.synced.clone(),
        created: d.created,
    });
    match put_over(tx, ns, w, light.as_ref())? {
        Put::Same { synced } => cur
            .map(|d| Document { synced, ..d })
            .ok_or_else(|| Error::Backend("document vanished during a write".into())),
        Put::New {
            version,
            created,
            at,
            synced,
            whole,
        } => document(
            w.path.clone(),
            w.text.clone(),
            &w.value,
            w.format.name(),
            version,
            w.hash.clone(),
            w.origin.name(),
            created,
            at,
            synced,
            whole,
        ),
    }
}

/// What a write decides from: the stored document's bookkeeping.
struct Cur {
    version: u64,
    hash: String,
    synced: String,
    created: f64,
}

fn read_cur(c: &Connection, ns: &str, path: &str) -> Result<Option<Cur>> {
    let cur = c
        .prepare_cached(
            "SELECT version, hash, synced, created FROM docs WHERE ns = ?1 AND path = ?2",
        )?
        .query_row([ns, path], |r| {
            Ok(Cur {
                version: r.get::<_, i64>(0)? as u64,
                hash: r.get(1)?,
                synced: r.get(2)?,
                created: r.get(3)?,
            })
        })
        .optional()?;
    Ok(cur)
}

/// What `put_over` did.
enum Put {
    /// The text was stored already; `synced` is the document's synced hash now.
    Same { synced: String },
    /// Stored as a new version.
    New {
        version: u64,
        created: f64,
        at: f64,
        synced: String,
        whole: bool,
    },
}

/// Stores `w` over `cur` (the stored document's bookkeeping, if any).
fn put_over(tx: &Transaction<'_>, ns: &str, w: &Write, cur: Option<&Cur>) -> Result<Put> {
    let version = cur.map_or(0, |d| d.version);
    if let Some(e) = w.expected {
        if e != version {
            return Err(stale(&w.path, e, version));
        }
    }
    if let Some(d) = cur {
        if d.hash == w.hash {
            // The same text: no new version, but a file-side write records the synced base.
            if w.origin == Origin::File && d.synced != w.hash {
                tx.prepare_cached(
                    "UPDATE docs SET synced = ?3, base = NULL WHERE ns = ?1 AND path = ?2",
                )?
                .execute([ns, w.path.as_str(), w.hash.as_str()])?;
                return Ok(Put::Same {
                    synced: w.hash.clone(),
                });
            }
            return Ok(Put::Same {
                synced: d.synced.clone(),
            });
        }
    }
    let at = now();
    let created = cur.map_or(at, |d| d.created);
    // A file-side write is what the file holds: the new synced base.
    let synced = match w.origin {
        Origin::File => w.hash.clone(),
        Origin::Store => cur.map(|d| d.synced.clone()).unwrap_or_default(),
    };
    // The base (the synced text) is kept from the first store-side change after a sync; a
    // file-side write is itself the new synced text, so none is needed.
    let base = match (w.origin, cur) {
        (Origin::File, _) => Base::Clear,
        (Origin::Store, Some(d)) if !d.synced.is_empty() && d.synced == d.hash => Base::FromText,
        (Origin::Store, _) => Base::Keep,
    };
    let whole = w.origin == Origin::Store && w.whole;
    tx.prepare_cached(
        "INSERT INTO docs (ns, path, text, value, fmt, version, hash, origin, created, updated,
           synced, whole)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?13)
         ON CONFLICT (ns, path) DO UPDATE SET
           base = CASE ?12 WHEN 0 THEN NULL WHEN 1 THEN docs.text ELSE docs.base END,
           text = excluded.text, value = excluded.value,
           fmt = excluded.fmt, version = excluded.version, hash = excluded.hash,
           origin = excluded.origin, updated = excluded.updated, synced = excluded.synced,
           whole = excluded.whole",
    )?
    .execute(params![
        ns,
        w.path,
        w.text,
        w.value,
        w.format.name(),
        (version + 1) as i64,
        w.hash,
        w.origin.name(),
        created,
        at,
        synced,
        base as i64,
        whole
    ])?;
    let kind = if cur.is_some() {
        Kind::Updated
    } else {
        Kind::Created
    };
    record_change(tx, ns, &w.path, version + 1, kind)?;
    if w.origin == Origin::Store {
        queue(tx, ns, &w.path, at)?;
    }
    Ok(Put::New {
        version: version + 1,
        created,
        at,
        synced,
        whole,
    })
}

/// Appends a document's change to the namespace's feed (in the write's transaction).
fn record_change(
    tx: &Transaction<'_>,
    ns: &str,
    path: &str,
    version: u64,
    kind: Kind,
) -> Result<()> {
    let rec = Record {
        id: path,
        version,
        kind,
    };
    changes::sqlite::record(tx, ns, super::CAPABILITY.name, &[rec])
}

/// What a store write does to the synced base text.
#[derive(Clone, Copy)]
enum Base {
    Clear = 0,
    FromText = 1,
    Keep = 2,
}

/// See `Docs::rebase`.
pub fn rebase(db: &Sqlite, ns: &str, path: &str, hash: &str, text: &str) -> Result<bool> {
    db.with_tx_on(super::TOPIC, |tx| {
        let n = tx
            .prepare_cached(
                "UPDATE docs SET synced = ?3, base = ?4 WHERE ns = ?1 AND path = ?2 AND hash != ?3",
            )?
            .execute([ns, path, hash, text])?;
        Ok(n > 0)
    })
}

/// See `Docs::base`.
pub fn base(db: &Sqlite, ns: &str, path: &str) -> Result<Option<String>> {
    db.with(|c| {
        let v: Option<Option<String>> = c
            .prepare_cached("SELECT base FROM docs WHERE ns = ?1 AND path = ?2")?
            .query_row([ns, path], |r| r.get(0))
            .optional()?;
        Ok(v.flatten())
    })
}

/// Stores a write (see `Docs::write`).
pub fn put(db: &Sqlite, ns: &str, w: &Write) -> Result<Document> {
    db.with_tx_on_all(&[super::TOPIC, changes::TOPIC], |tx| put_tx(tx, ns, w))
}

/// See `Docs::states`: one read of every path.
pub fn states(db: &Sqlite, ns: &str, paths: &[String]) -> Result<Vec<Option<State>>> {
    db.with(|c| {
        let mut st =
            c.prepare_cached("SELECT hash, synced, version FROM docs WHERE ns = ?1 AND path = ?2")?;
        paths
            .iter()
            .map(|p| {
                st.query_row([ns, p.as_str()], |r| {
                    Ok(State {
                        hash: r.get(0)?,
                        synced: r.get(1)?,
                        version: r.get::<_, i64>(2)? as u64,
                    })
                })
                .optional()
                .map_err(Error::from)
            })
            .collect()
    })
}

/// See `Docs::import_many`: one transaction, each write stored as `put` stores it.
pub fn import_many(db: &Sqlite, ns: &str, writes: &[Write]) -> Result<Vec<Imported>> {
    db.with_tx_on_all(&[super::TOPIC, changes::TOPIC], |tx| {
        let mut out = Vec::with_capacity(writes.len());
        for w in writes {
            let cur = read_cur(tx, ns, &w.path)?;
            let version = cur.as_ref().map_or(0, |d| d.version);
            if w.expected.is_some_and(|e| e != version) {
                out.push(Imported::Stale(version));
                continue;
            }
            out.push(match put_over(tx, ns, w, cur.as_ref())? {
                Put::Same { .. } => Imported::Same(version),
                Put::New { version, .. } => Imported::Stored(version),
            });
        }
        Ok(out)
    })
}

/// Read, merge and write in one transaction.
pub fn merge(
    db: &Sqlite,
    ns: &str,
    path: &str,
    format: Format,
    updates: &Value,
    s: &Settings,
) -> Result<Document> {
    db.with_tx_on_all(&[super::TOPIC, changes::TOPIC], |tx| {
        let cur = read(tx, ns, path)?;
        let w = merged_write(path, format, cur.as_ref(), updates, s)?;
        put_tx(tx, ns, &w)
    })
}

/// Deletes a document; a store-side delete queues the file's deletion.
pub fn delete(db: &Sqlite, ns: &str, path: &str, origin: Origin) -> Result<bool> {
    db.with_tx_on_all(&[super::TOPIC, changes::TOPIC], |tx| {
        let gone: Option<i64> = tx
            .prepare_cached("DELETE FROM docs WHERE ns = ?1 AND path = ?2 RETURNING version")?
            .query_row([ns, path], |r| r.get(0))
            .optional()?;
        let Some(version) = gone else {
            return Ok(false);
        };
        record_change(tx, ns, path, version as u64, Kind::Deleted)?;
        if origin == Origin::Store {
            queue(tx, ns, path, now())?;
        }
        Ok(true)
    })
}

/// Paths starting with `prefix`, sorted.
pub fn list(db: &Sqlite, ns: &str, prefix: &str) -> Result<Vec<String>> {
    db.with(|c| {
        let mut st = c.prepare_cached(
            "SELECT path FROM docs WHERE ns = ?1 AND path >= ?2 AND path < ?3
             ORDER BY path LIMIT ?4",
        )?;
        // Paths are UTF-8 compared bytewise: U+10FFFF sorts after anything a prefix continues with.
        let end = format!("{prefix}\u{10ffff}");
        let v = st
            .query_map(params![ns, prefix, end, MAX_LIST as i64], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(v)
    })
}

/// See `Docs::done_writeback`.
pub fn done_writeback(db: &Sqlite, ns: &str, path: &str, hash: Option<&str>) -> Result<bool> {
    db.with_tx_on(super::TOPIC, |tx| {
        let cur: Option<String> = tx
            .prepare_cached("SELECT hash FROM docs WHERE ns = ?1 AND path = ?2")?
            .query_row([ns, path], |r| r.get(0))
            .optional()?;
        if cur.as_deref() != hash {
            return Ok(false);
        }
        if let Some(h) = hash {
            tx.prepare_cached(
                "UPDATE docs SET synced = ?3, base = NULL WHERE ns = ?1 AND path = ?2",
            )?
            .execute([ns, path, h])?;
        }
        tx.prepare_cached("DELETE FROM doc_writeback WHERE ns = ?1 AND path = ?2")?
            .execute([ns, path])?;
        Ok(true)
    })
}

/// Paths waiting for write-back, oldest first.
pub fn pending(db: &Sqlite, ns: &str, limit: usize) -> Result<Vec<String>> {
    db.with(|c| {
        let mut st = c.prepare_cached(
            "SELECT path FROM doc_writeback WHERE ns = ?1 ORDER BY at, path LIMIT ?2",
        )?;
        let v = st
            .query_map(params![ns, limit as i64], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(v)
    })
}

/// Conflict for a write that expected another version.
pub fn stale(path: &str, expected: u64, actual: u64) -> Error {
    Error::Conflict(format!(
        "document {path:?} is at version {actual}, not {expected}; read it again and retry"
    ))
}
