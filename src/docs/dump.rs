//! Documents in a namespace export (`crate::transfer`, docs/export.md): one record per
//! document with everything the store keeps of it (text, value, version, hash, origin, times,
//! the synced hash and base, whether the text was rendered whole), then one record per path in
//! the write-back queue with its time. Written back as they were: no version moves, and the
//! queue holds the same paths in the same order.

use std::collections::HashMap;
use std::sync::Arc;

use redis::Value as RValue;
use rusqlite::params;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{check_path, hash, redis as rd, Format, TOPIC};
use crate::engine::{tri, Backend, Importer, Op, Page, Record, Redis, RedisConn, Sqlite};
use crate::error::{Error, Result};
use crate::transfer::record::{self, num, BATCH, PAGE};

/// Documents per page: a document may be a megabyte.
const DOC_PAGE: usize = 64;

/// A docs record (a batch holds a few hundred at most, so the size of a document's variant
/// does not matter).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case", deny_unknown_fields)]
enum Rec {
    /// One stored document.
    Doc {
        path: String,
        text: String,
        value: Value,
        format: String,
        version: u64,
        hash: String,
        origin: String,
        created: f64,
        updated: f64,
        synced: String,
        base: Option<String>,
        whole: bool,
    },
    /// A path waiting to be written back to its file (changed, or deleted, through the API).
    Writeback { path: String, at: f64 },
}

/// Where a page starts: documents after `after`, or the queue from `after` (SQLite, by path)
/// or rank `i` (Redis).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    queue: bool,
    after: String,
    i: usize,
}

/// One page of documents, then of the write-back queue.
pub fn export(b: &Backend, ns: &str, cursor: Value) -> Op<Page> {
    let cur: Cursor = tri!(record::cursor(cursor)).unwrap_or_default();
    b.call(
        (ns.to_string(), cur),
        |db, (ns, cur)| sqlite_page(db, &ns, cur),
        |r, c, (ns, cur)| redis_page(r, c, ns, cur),
    )
}

fn page(records: Vec<Record>, full: bool, next: Cursor, done: Option<Cursor>) -> Result<Page> {
    let next = if full { Some(next) } else { done };
    Ok(Page {
        records,
        next: next.map(|c| record::next(&c)).transpose()?,
    })
}

fn queue_start() -> Option<Cursor> {
    Some(Cursor {
        queue: true,
        ..Cursor::default()
    })
}

#[allow(clippy::too_many_arguments)]
fn doc_rec(
    path: String,
    text: String,
    value: &str,
    fmt: String,
    version: u64,
    hash: String,
    origin: String,
    (created, updated): (f64, f64),
    synced: String,
    base: Option<String>,
    whole: bool,
) -> Result<Record> {
    record::record(&Rec::Doc {
        path,
        text,
        value: serde_json::from_str(value)?,
        format: fmt,
        version,
        hash,
        origin,
        created,
        updated,
        synced,
        base,
        whole,
    })
}

fn sqlite_page(db: &Sqlite, ns: &str, cur: Cursor) -> Result<Page> {
    db.with(|c| {
        if !cur.queue {
            let mut st = c.prepare_cached(
                "SELECT path, text, value, fmt, version, hash, origin, created, updated, synced,
                   base, whole FROM docs WHERE ns = ?1 AND path > ?2 ORDER BY path LIMIT ?3",
            )?;
            let mut rows = st.query(params![ns, cur.after, DOC_PAGE as i64])?;
            let mut out = Vec::new();
            let mut last = String::new();
            while let Some(r) = rows.next()? {
                let path: String = r.get(0)?;
                last.clone_from(&path);
                out.push(doc_rec(
                    path,
                    r.get(1)?,
                    &r.get::<_, String>(2)?,
                    r.get(3)?,
                    r.get::<_, i64>(4)? as u64,
                    r.get(5)?,
                    r.get(6)?,
                    (r.get(7)?, r.get(8)?),
                    r.get(9)?,
                    r.get(10)?,
                    r.get(11)?,
                )?);
            }
            let full = out.len() == DOC_PAGE;
            let next = Cursor {
                after: last,
                ..Cursor::default()
            };
            return page(out, full, next, queue_start());
        }
        let mut st = c.prepare_cached(
            "SELECT path, at FROM doc_writeback WHERE ns = ?1 AND path > ?2 ORDER BY path
             LIMIT ?3",
        )?;
        let rows: Vec<(String, f64)> = st
            .query_map(params![ns, cur.after, PAGE as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let full = rows.len() == PAGE;
        let last = rows.last().map(|(p, _)| p.clone()).unwrap_or_default();
        let out = rows
            .into_iter()
            .map(|(path, at)| record::record(&Rec::Writeback { path, at }))
            .collect::<Result<_>>()?;
        let next = Cursor {
            queue: true,
            after: last,
            i: 0,
        };
        page(out, full, next, None)
    })
}

fn bad(what: &str) -> Error {
    Error::Backend(format!("unreadable document hash in the export: {what}"))
}

async fn redis_page(r: Arc<Redis>, mut c: RedisConn, ns: String, cur: Cursor) -> Result<Page> {
    let p = rd::prefix(&ns);
    if !cur.queue {
        let lo = if cur.after.is_empty() {
            "-".to_string()
        } else {
            format!("({}", cur.after)
        };
        let paths: Vec<String> = redis::cmd("ZRANGEBYLEX")
            .arg(format!("{p}paths"))
            .arg(lo)
            .arg("+")
            .arg("LIMIT")
            .arg(0)
            .arg(DOC_PAGE)
            .query_async(&mut c)
            .await
            .map_err(|e| r.err(e))?;
        let mut pipe = redis::pipe();
        for path in &paths {
            pipe.hgetall(format!("{p}doc:{path}"));
        }
        let hashes: Vec<HashMap<String, String>> = if paths.is_empty() {
            vec![]
        } else {
            pipe.query_async(&mut c).await.map_err(|e| r.err(e))?
        };
        let mut out = Vec::with_capacity(paths.len());
        for (path, mut h) in paths.iter().zip(hashes) {
            if h.is_empty() {
                continue; // deleted since the path list was read
            }
            let mut take = |k: &str| h.remove(k).ok_or_else(|| bad(k));
            let num = |s: String, k: &str| s.parse::<f64>().map_err(|_| bad(k));
            let text = take("text")?;
            let value = take("value")?;
            let fmt = take("fmt")?;
            let version = num(take("version")?, "version")? as u64;
            let hash = take("hash")?;
            let origin = take("origin")?;
            let created = num(take("created")?, "created")?;
            let updated = num(take("updated")?, "updated")?;
            let synced = take("synced").unwrap_or_default();
            let whole = take("whole").is_ok_and(|w| w == "1");
            let base = take("base").ok();
            out.push(doc_rec(
                path.clone(),
                text,
                &value,
                fmt,
                version,
                hash,
                origin,
                (created, updated),
                synced,
                base,
                whole,
            )?);
        }
        let next = Cursor {
            after: paths.last().cloned().unwrap_or_default(),
            ..Cursor::default()
        };
        return page(out, paths.len() == DOC_PAGE, next, queue_start());
    }
    let rows: Vec<(String, f64)> = redis::cmd("ZRANGE")
        .arg(format!("{p}writeback"))
        .arg(cur.i)
        .arg(cur.i + PAGE - 1)
        .arg("WITHSCORES")
        .query_async(&mut c)
        .await
        .map_err(|e| r.err(e))?;
    let full = rows.len() == PAGE;
    let out = rows
        .into_iter()
        .map(|(path, at)| record::record(&Rec::Writeback { path, at }))
        .collect::<Result<_>>()?;
    let next = Cursor {
        queue: true,
        after: String::new(),
        i: cur.i + PAGE,
    };
    page(out, full, next, None)
}

/// Writes documents and the write-back queue back in batches.
pub fn import(b: &Backend, ns: &str) -> Box<dyn Importer> {
    Box::new(Import {
        b: b.clone(),
        ns: ns.to_string(),
        batch: Vec::new(),
    })
}

struct Import {
    b: Backend,
    ns: String,
    batch: Vec<Rec>,
}

/// The path's format if it is a valid document path (under its own first directory: the
/// roots a handle syncs are its own setting, not the store's).
fn path_format(path: &str) -> Result<Format> {
    let root = path.split('/').next().unwrap_or_default().to_string();
    check_path(path, &[root])
}

fn check(rec: &Rec) -> Result<()> {
    match rec {
        Rec::Doc {
            path,
            text,
            format,
            version,
            hash: h,
            origin,
            created,
            updated,
            synced,
            ..
        } => {
            let f = path_format(path)?;
            record::same(
                &format!("the format of {path:?}"),
                &format.as_str(),
                &f.name(),
            )?;
            if *h != hash(text) {
                return Err(Error::validation(format!(
                    "document {path:?}: its hash is not the SHA-256 of its text"
                )));
            }
            if *version == 0 {
                return Err(Error::validation(format!(
                    "document {path:?} has version 0 (versions start at 1)"
                )));
            }
            if origin != "file" && origin != "store" {
                return Err(Error::validation(format!(
                    "document {path:?} has origin {origin:?} (\"file\" or \"store\")"
                )));
            }
            let hex = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
            if !(synced.is_empty() || hex(synced)) {
                return Err(Error::validation(format!(
                    "document {path:?}: synced {synced:?} is not a SHA-256"
                )));
            }
            record::time("created", *created)?;
            record::time("updated", *updated)?;
        }
        Rec::Writeback { path, at } => {
            path_format(path)?;
            record::time("at", *at)?;
        }
    }
    Ok(())
}

impl Import {
    fn flush(&mut self) -> Option<Op<()>> {
        if self.batch.is_empty() {
            return None;
        }
        let batch = std::mem::take(&mut self.batch);
        Some(self.b.call(
            (self.ns.clone(), batch),
            |db, (ns, batch)| sqlite_write(db, &ns, &batch),
            |r, c, (ns, batch)| redis_write(r, c, ns, batch),
        ))
    }
}

impl Importer for Import {
    fn add(&mut self, rec: Record) -> Result<Option<Op<()>>> {
        let rec: Rec = record::parse("docs", rec)?;
        check(&rec)?;
        let big = matches!(&rec, Rec::Doc { .. });
        self.batch.push(rec);
        let docs = self
            .batch
            .iter()
            .filter(|r| matches!(r, Rec::Doc { .. }))
            .count();
        Ok(if self.batch.len() >= BATCH || (big && docs >= DOC_PAGE) {
            self.flush()
        } else {
            None
        })
    }

    fn finish(&mut self) -> Result<Option<Op<()>>> {
        Ok(self.flush())
    }
}

fn sqlite_write(db: &Sqlite, ns: &str, batch: &[Rec]) -> Result<()> {
    db.with_tx_on(TOPIC, |tx| {
        let mut doc = tx.prepare_cached(
            "INSERT INTO docs (ns, path, text, value, fmt, version, hash, origin, created,
               updated, synced, base, whole)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?;
        let mut wb =
            tx.prepare_cached("INSERT INTO doc_writeback (ns, path, at) VALUES (?1, ?2, ?3)")?;
        for rec in batch {
            match rec {
                Rec::Doc {
                    path,
                    text,
                    value,
                    format,
                    version,
                    hash,
                    origin,
                    created,
                    updated,
                    synced,
                    base,
                    whole,
                } => record::sqlite_insert(
                    doc.execute(params![
                        ns,
                        path,
                        text,
                        value.to_string(),
                        format,
                        *version as i64,
                        hash,
                        origin,
                        created,
                        updated,
                        synced,
                        base,
                        whole
                    ]),
                    "document",
                    path,
                )?,
                Rec::Writeback { path, at } => {
                    record::sqlite_insert(wb.execute(params![ns, path, at]), "queued path", path)?
                }
            }
        }
        Ok(())
    })
}

async fn redis_write(r: Arc<Redis>, mut c: RedisConn, ns: String, batch: Vec<Rec>) -> Result<()> {
    let p = rd::prefix(&ns);
    let mut pipe = redis::pipe();
    let mut checks = Vec::new();
    for rec in &batch {
        match rec {
            Rec::Doc {
                path,
                text,
                value,
                format,
                version,
                hash,
                origin,
                created,
                updated,
                synced,
                base,
                whole,
            } => {
                let k = format!("{p}doc:{path}");
                // HSETNX first: 0 when the file held this path already.
                pipe.cmd("HSETNX").arg(&k).arg("text").arg(text);
                checks.push(("document", path));
                pipe.cmd("HSET")
                    .arg(&k)
                    .arg("text")
                    .arg(text)
                    .arg("value")
                    .arg(value.to_string())
                    .arg("fmt")
                    .arg(format)
                    .arg("version")
                    .arg(*version)
                    .arg("hash")
                    .arg(hash)
                    .arg("origin")
                    .arg(origin)
                    .arg("created")
                    .arg(num(*created))
                    .arg("updated")
                    .arg(num(*updated))
                    .arg("synced")
                    .arg(synced)
                    .arg("whole")
                    .arg(if *whole { "1" } else { "0" })
                    .ignore();
                if let Some(b) = base {
                    pipe.hset(&k, "base", b).ignore();
                }
                pipe.zadd(format!("{p}paths"), path, 0).ignore();
            }
            Rec::Writeback { path, at } => {
                pipe.cmd("ZADD")
                    .arg(format!("{p}writeback"))
                    .arg(num(*at))
                    .arg(path);
                checks.push(("queued path", path));
            }
        }
    }
    let got: Vec<RValue> = pipe.query_async(&mut c).await.map_err(|e| r.err(e))?;
    for (v, (what, path)) in got.iter().zip(checks) {
        let n: i64 = redis::from_redis_value_ref(v).map_err(|e| bad(&e.to_string()))?;
        if n == 0 {
            return Err(record::duplicate(what, path));
        }
    }
    Ok(())
}
