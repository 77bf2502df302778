//! `hub.memory` records on the embedded store: one row per version, postings, the entity
//! index and the namespace's counters, each write one transaction (the plan is made inside
//! it, so no other writer can come between the read and the write). The graph is in
//! `sqlite_graph.rs`.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};

use super::plan::{self, Cut, Space};
use super::record::{Kind, MemoryRecord, RowInfo, Value, Write};
use super::timeline::Version;
use super::{RowTerms, TermsPage, Totals, VectorPage};
use crate::changes::{self, Kind as Change, Record};
use crate::engine::Sqlite;
use crate::error::{Error, Result};
use crate::memory::vector::Metric;

/// Tables (migration step 11).
pub const SCHEMA: &str = "
CREATE TABLE mem_rows (
  ns TEXT NOT NULL, row INTEGER NOT NULL, scope TEXT NOT NULL, key TEXT NOT NULL,
  version INTEGER NOT NULL, type TEXT NOT NULL, data TEXT, kind TEXT NOT NULL, category TEXT,
  significance REAL NOT NULL, entities TEXT NOT NULL, metadata TEXT, source TEXT,
  valid_from INTEGER NOT NULL, valid_to INTEGER, recorded_at INTEGER NOT NULL,
  superseded_at INTEGER, deleted INTEGER NOT NULL, space TEXT, vector BLOB, len INTEGER NOT NULL,
  PRIMARY KEY (ns, row)
) WITHOUT ROWID;
CREATE UNIQUE INDEX mem_rows_key ON mem_rows (ns, scope, key, version);
CREATE INDEX mem_rows_space ON mem_rows (ns, space, row) WHERE space IS NOT NULL;
CREATE TABLE mem_postings (
  ns TEXT NOT NULL, term TEXT NOT NULL, row INTEGER NOT NULL, tf INTEGER NOT NULL,
  PRIMARY KEY (ns, term, row)
) WITHOUT ROWID;
CREATE INDEX mem_postings_row ON mem_postings (ns, row);
CREATE TABLE mem_entities (
  ns TEXT NOT NULL, scope TEXT NOT NULL, entity TEXT NOT NULL, row INTEGER NOT NULL,
  PRIMARY KEY (ns, scope, entity, row)
) WITHOUT ROWID;
CREATE INDEX mem_entities_row ON mem_entities (ns, row);
CREATE TABLE mem_edges (
  ns TEXT NOT NULL, id INTEGER NOT NULL, scope TEXT NOT NULL, src TEXT NOT NULL,
  relation TEXT NOT NULL, dst TEXT NOT NULL, valid_from INTEGER NOT NULL, valid_to INTEGER,
  confidence REAL NOT NULL, metadata TEXT, space TEXT, vector BLOB,
  recorded_at INTEGER NOT NULL, invalidations TEXT NOT NULL,
  PRIMARY KEY (ns, id)
) WITHOUT ROWID;
CREATE INDEX mem_edges_src ON mem_edges (ns, scope, src);
CREATE INDEX mem_edges_dst ON mem_edges (ns, scope, dst);
CREATE TABLE mem_spaces (
  ns TEXT NOT NULL, name TEXT NOT NULL, dim INTEGER NOT NULL, metric TEXT NOT NULL,
  PRIMARY KEY (ns, name)
) WITHOUT ROWID;
CREATE TABLE mem_meta (
  ns TEXT NOT NULL PRIMARY KEY, last_row INTEGER NOT NULL, last_edge INTEGER NOT NULL,
  last_t INTEGER NOT NULL, docs INTEGER NOT NULL, total_len INTEGER NOT NULL
) WITHOUT ROWID;
";

/// The tables, for `rows` and `clear`.
pub const TABLES: &[&str] = &[
    "mem_rows",
    "mem_postings",
    "mem_entities",
    "mem_edges",
    "mem_spaces",
    "mem_meta",
];

/// The columns [`record`] reads, in order.
pub const COLUMNS: &str = "row, scope, key, version, type, data, kind, category, significance, \
    entities, metadata, source, valid_from, valid_to, recorded_at, superseded_at, deleted, \
    space, len";

/// A row of [`COLUMNS`] as a record.
pub fn record(r: &Row<'_>) -> rusqlite::Result<Result<MemoryRecord>> {
    let code: String = r.get(4)?;
    let data: Option<String> = r.get(5)?;
    let kind: String = r.get(6)?;
    let entities: String = r.get(9)?;
    Ok((|| -> Result<MemoryRecord> {
        Ok(MemoryRecord {
            row: r.get::<_, i64>(0)? as u64,
            scope: r.get(1)?,
            key: r.get(2)?,
            version: r.get::<_, i64>(3)? as u64,
            value: Value::from_stored(&code, data.unwrap_or_default())?,
            kind: Kind::parse(&kind).map_err(|e| Error::Backend(e.to_string()))?,
            category: r.get(7)?,
            significance: r.get(8)?,
            entities: split(&entities),
            metadata: r.get(10)?,
            source: r.get(11)?,
            valid_from: r.get(12)?,
            valid_to: r.get(13)?,
            recorded_at: r.get(14)?,
            superseded_at: r.get(15)?,
            deleted: r.get::<_, i64>(16)? != 0,
            space: r.get(17)?,
            len: r.get::<_, i64>(18)?.max(0) as u32,
        })
    })())
}

/// Space-joined ids back as a list.
pub fn split(s: &str) -> Vec<String> {
    s.split(' ')
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

fn records(c: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<Vec<MemoryRecord>> {
    let mut st = c.prepare_cached(sql)?;
    let rows = st.query_map(p, record)?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r??);
    }
    Ok(out)
}

/// Every version of (scope, key), oldest first.
pub fn line(c: &Connection, ns: &str, scope: &str, key: &str) -> Result<Vec<MemoryRecord>> {
    records(
        c,
        &format!(
            "SELECT {COLUMNS} FROM mem_rows WHERE ns = ?1 AND scope = ?2 AND key = ?3 \
             ORDER BY version"
        ),
        params![ns, scope, key],
    )
}

/// The times of a record's version.
pub fn version_of(r: &MemoryRecord) -> Version {
    Version {
        version: r.version,
        row: r.row,
        valid_from: r.valid_from,
        valid_to: r.valid_to,
        recorded_at: r.recorded_at,
        superseded_at: r.superseded_at,
        deleted: r.deleted,
    }
}

/// The times of every version of (scope, key), oldest first (what a write is planned from).
pub fn times(c: &Connection, ns: &str, scope: &str, key: &str) -> Result<Vec<Version>> {
    let mut st = c.prepare_cached(
        "SELECT version, row, valid_from, valid_to, recorded_at, superseded_at, deleted \
         FROM mem_rows WHERE ns = ?1 AND scope = ?2 AND key = ?3 ORDER BY version",
    )?;
    let rows = st.query_map(params![ns, scope, key], |r| {
        Ok(Version {
            version: r.get::<_, i64>(0)? as u64,
            row: r.get::<_, i64>(1)? as u64,
            valid_from: r.get(2)?,
            valid_to: r.get(3)?,
            recorded_at: r.get(4)?,
            superseded_at: r.get(5)?,
            deleted: r.get::<_, i64>(6)? != 0,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The version of (scope, key) valid at `as_of` as known at `known_at`, without tombstones
/// (the rule: `timeline::select`).
pub fn recall(
    db: &Sqlite,
    ns: &str,
    scope: &str,
    key: &str,
    as_of: i64,
    known_at: Option<i64>,
) -> Result<Option<MemoryRecord>> {
    db.with(|c| {
        let tx = c.transaction()?;
        let line = times(&tx, ns, scope, key)?;
        let Some(v) = super::timeline::select(&line, as_of, known_at) else {
            return Ok(None);
        };
        if v.deleted {
            return Ok(None);
        }
        Ok(records(
            &tx,
            &format!("SELECT {COLUMNS} FROM mem_rows WHERE ns = ?1 AND row = ?2"),
            params![ns, v.row as i64],
        )?
        .pop())
    })
}

/// The versions of (scope, key), for reads.
pub fn read_line(db: &Sqlite, ns: &str, scope: &str, key: &str) -> Result<Vec<MemoryRecord>> {
    db.with(|c| line(c, ns, scope, key))
}

/// The namespace's counters: (last row, last edge, last transaction time, docs, total length).
pub fn meta(c: &Connection, ns: &str) -> Result<(u64, u64, i64, u64, u64)> {
    Ok(c.prepare_cached(
        "SELECT last_row, last_edge, last_t, docs, total_len FROM mem_meta WHERE ns = ?1",
    )?
    .query_row([ns], |r| {
        Ok((
            r.get::<_, i64>(0)? as u64,
            r.get::<_, i64>(1)? as u64,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)? as u64,
            r.get::<_, i64>(4)? as u64,
        ))
    })
    .optional()?
    .unwrap_or((0, 0, 0, 0, 0)))
}

/// Stores the counters.
pub fn set_meta(tx: &Transaction<'_>, ns: &str, m: (u64, u64, i64, u64, u64)) -> Result<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO mem_meta (ns, last_row, last_edge, last_t, docs, total_len) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        ns, m.0 as i64, m.1 as i64, m.2, m.3 as i64, m.4 as i64
    ])?;
    Ok(())
}

/// The declared spaces.
pub fn spaces_of(c: &Connection, ns: &str) -> Result<HashMap<String, Space>> {
    let mut st = c.prepare_cached("SELECT name, dim, metric FROM mem_spaces WHERE ns = ?1")?;
    let rows = st.query_map([ns], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut out = HashMap::new();
    for r in rows {
        let (name, dim, metric) = r?;
        let metric = Metric::parse(&metric).map_err(|e| Error::Backend(e.to_string()))?;
        out.insert(
            name.clone(),
            Space {
                name,
                dim: dim.max(0) as usize,
                metric,
            },
        );
    }
    Ok(out)
}

/// Inserts one stored record with its postings and entity index (a write or an import).
pub fn insert(
    tx: &Transaction<'_>,
    ns: &str,
    r: &MemoryRecord,
    vector: Option<&[u8]>,
    terms: &[(String, u32)],
) -> Result<()> {
    let ins = tx
        .prepare_cached(&format!(
            "INSERT INTO mem_rows ({COLUMNS}, vector, ns) VALUES \
             (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, \
              ?19, ?20, ?21)"
        ))?
        .execute(params![
            r.row as i64,
            r.scope,
            r.key,
            r.version as i64,
            r.value.as_ref().map_or("", Value::code),
            r.value.as_ref().map(Value::data),
            r.kind.name(),
            r.category,
            r.significance,
            r.entities.join(" "),
            r.metadata,
            r.source,
            r.valid_from,
            r.valid_to,
            r.recorded_at,
            r.superseded_at,
            i64::from(r.deleted),
            r.space,
            i64::from(r.len),
            vector,
            ns
        ]);
    crate::transfer::record::sqlite_insert(ins, "memory row", &r.row.to_string())?;
    let mut post =
        tx.prepare_cached("INSERT INTO mem_postings (ns, term, row, tf) VALUES (?1, ?2, ?3, ?4)")?;
    for (t, n) in terms {
        post.execute(params![ns, t, r.row as i64, *n as i64])?;
    }
    let mut ent = tx.prepare_cached(
        "INSERT OR IGNORE INTO mem_entities (ns, scope, entity, row) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for e in &r.entities {
        ent.execute(params![ns, r.scope, e, r.row as i64])?;
    }
    Ok(())
}

/// Writes `writes` (checked, valid_from resolved) as new versions, all or none.
pub fn write(db: &Sqlite, ns: &str, writes: Vec<Write>, now: i64) -> Result<Vec<MemoryRecord>> {
    db.with_tx(|tx| {
        let spaces = spaces_of(tx, ns)?;
        let mut lines: HashMap<(String, String), Vec<Version>> = HashMap::new();
        let mut stored: HashMap<u64, u64> = HashMap::new(); // row -> version
        for w in &writes {
            let k = (w.scope.clone(), w.key.clone());
            if let std::collections::hash_map::Entry::Vacant(e) = lines.entry(k) {
                let l = times(tx, ns, &w.scope, &w.key)?;
                for v in &l {
                    stored.insert(v.row, v.version);
                }
                e.insert(l);
            }
        }
        let planned = plan::writes(&mut lines, &spaces, &writes)?;
        let mut m = meta(tx, ns)?;
        let t = now.max(m.2);
        m.2 = t;
        let first = m.0 + 1;
        let mut out = Vec::with_capacity(writes.len());
        let mut feed: Vec<(String, u64, Change)> = Vec::new();
        let mut sup = tx.prepare_cached(
            "UPDATE mem_rows SET superseded_at = ?3 WHERE ns = ?1 AND row = ?2 \
             AND superseded_at IS NULL",
        )?;
        for (i, (w, p)) in writes.into_iter().zip(planned).enumerate() {
            let row = first + i as u64;
            for c in &p.cuts {
                let (r, v) = match *c {
                    Cut::Row(r) => (r, stored.get(&r).copied().unwrap_or(0)),
                    Cut::Batch(j) => (
                        first + j as u64,
                        out.get(j).map_or(0, |x: &MemoryRecord| x.version),
                    ),
                };
                sup.execute(params![ns, r as i64, t])?;
                if let Some(x) = out.iter_mut().find(|x| x.row == r) {
                    x.superseded_at = Some(t);
                }
                feed.push((format!("row:{r}"), v, Change::Updated));
            }
            let rec = MemoryRecord {
                row,
                key: w.key,
                scope: w.scope,
                version: p.version,
                deleted: w.value.is_none(),
                value: w.value,
                kind: w.kind,
                category: w.category,
                significance: w.significance,
                entities: w.entities,
                metadata: w.metadata,
                source: w.source,
                valid_from: w.valid_from.unwrap_or(t),
                valid_to: w.valid_to,
                recorded_at: t,
                superseded_at: None,
                space: w.embedding.as_ref().map(|(s, _)| s.clone()),
                len: p.terms.len,
            };
            let vector = w.embedding.as_ref().map(|(_, v)| plan::vector_bytes(v));
            insert(tx, ns, &rec, vector.as_deref(), &p.terms.tf)?;
            if !rec.deleted {
                m.3 += 1;
                m.4 += u64::from(rec.len);
            }
            feed.push((format!("row:{row}"), rec.version, Change::Created));
            out.push(rec);
        }
        m.0 = first + out.len() as u64 - 1;
        set_meta(tx, ns, m)?;
        changed(tx, ns, &feed)?;
        Ok(out)
    })
}

/// Appends `(id, version, kind)` entries to the change feed.
pub fn changed(tx: &Transaction<'_>, ns: &str, feed: &[(String, u64, Change)]) -> Result<()> {
    let recs: Vec<Record<'_>> = feed
        .iter()
        .map(|(id, version, kind)| Record {
            id: id.as_str(),
            version: *version,
            kind: *kind,
        })
        .collect();
    changes::sqlite::record(tx, ns, super::CAPABILITY.name, &recs)
}

/// Deletes rows by id with their postings, entity index and totals; returns their feed
/// entries.
fn drop_rows(
    tx: &Transaction<'_>,
    ns: &str,
    rows: &[MemoryRecord],
) -> Result<Vec<(String, u64, Change)>> {
    let mut m = meta(tx, ns)?;
    let mut feed = Vec::with_capacity(rows.len());
    for r in rows {
        for table in ["mem_rows", "mem_postings", "mem_entities"] {
            tx.prepare_cached(&format!("DELETE FROM {table} WHERE ns = ?1 AND row = ?2"))?
                .execute(params![ns, r.row as i64])?;
        }
        if !r.deleted {
            m.3 = m.3.saturating_sub(1);
            m.4 = m.4.saturating_sub(u64::from(r.len));
        }
        feed.push((format!("row:{}", r.row), r.version, Change::Deleted));
    }
    set_meta(tx, ns, m)?;
    Ok(feed)
}

/// Deletes every version of (scope, key); returns how many.
pub fn purge(db: &Sqlite, ns: &str, scope: &str, key: &str) -> Result<u64> {
    db.with_tx(|tx| {
        let rows = line(tx, ns, scope, key)?;
        let feed = drop_rows(tx, ns, &rows)?;
        changed(tx, ns, &feed)?;
        Ok(rows.len() as u64)
    })
}

/// Deletes every record, edge, posting and vector of `scope`; returns how many records and
/// edges went.
pub fn forget_scope(db: &Sqlite, ns: &str, scope: &str) -> Result<u64> {
    db.with_tx(|tx| {
        let rows = records(
            tx,
            &format!("SELECT {COLUMNS} FROM mem_rows WHERE ns = ?1 AND scope = ?2 ORDER BY row"),
            params![ns, scope],
        )?;
        let mut feed = drop_rows(tx, ns, &rows)?;
        let mut st =
            tx.prepare_cached("SELECT id FROM mem_edges WHERE ns = ?1 AND scope = ?2 ORDER BY id")?;
        let ids: Vec<i64> = st
            .query_map(params![ns, scope], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        tx.prepare_cached("DELETE FROM mem_edges WHERE ns = ?1 AND scope = ?2")?
            .execute(params![ns, scope])?;
        feed.extend(
            ids.iter()
                .map(|id| (format!("edge:{id}"), 0, Change::Deleted)),
        );
        changed(tx, ns, &feed)?;
        Ok((rows.len() + ids.len()) as u64)
    })
}

/// Declares a space (or checks that an existing one is the same).
pub fn declare(db: &Sqlite, ns: &str, s: Space) -> Result<Space> {
    db.with_tx(|tx| {
        if let Some(old) = spaces_of(tx, ns)?.remove(&s.name) {
            return super::same_space(old, s);
        }
        tx.prepare_cached(
            "INSERT INTO mem_spaces (ns, name, dim, metric) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![ns, s.name, s.dim as i64, s.metric.name()])?;
        changed(tx, ns, &[(format!("space:{}", s.name), 1, Change::Created)])?;
        Ok(s)
    })
}

/// Every declared space, by name.
pub fn spaces(db: &Sqlite, ns: &str) -> Result<Vec<Space>> {
    db.with(|c| {
        let mut v: Vec<Space> = spaces_of(c, ns)?.into_values().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(v)
    })
}

/// Records by row id, None where missing.
pub fn get_rows(db: &Sqlite, ns: &str, rows: &[u64]) -> Result<Vec<Option<MemoryRecord>>> {
    db.with(|c| {
        let sql = format!("SELECT {COLUMNS} FROM mem_rows WHERE ns = ?1 AND row = ?2");
        rows.iter()
            .map(|r| Ok(records(c, &sql, params![ns, *r as i64])?.pop()))
            .collect()
    })
}

/// Up to `limit` rows after row `after`, in row order.
pub fn rows_page(db: &Sqlite, ns: &str, after: u64, limit: usize) -> Result<Vec<RowInfo>> {
    db.with(|c| {
        let rs = records(
            c,
            &format!(
                "SELECT {COLUMNS} FROM mem_rows WHERE ns = ?1 AND row > ?2 ORDER BY row LIMIT ?3"
            ),
            params![ns, after as i64, limit as i64],
        )?;
        Ok(rs.iter().map(RowInfo::from).collect())
    })
}

/// Up to `limit` vectors of `space` after row `after`, in row order.
pub fn vectors_page(
    db: &Sqlite,
    ns: &str,
    space: &str,
    after: u64,
    limit: usize,
) -> Result<VectorPage> {
    db.with(|c| {
        let mut st = c.prepare_cached(
            "SELECT row, vector FROM mem_rows WHERE ns = ?1 AND space = ?2 AND row > ?3 \
             ORDER BY row LIMIT ?4",
        )?;
        let mut page = VectorPage::default();
        let rows = st.query_map(params![ns, space, after as i64, limit as i64], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        for r in rows {
            let (row, v) = r?;
            page.rows.push(row as u64);
            page.data.extend(plan::vector_of(&v)?);
        }
        Ok(page)
    })
}

/// The postings of each term: (row, tf) in row order.
pub fn postings(db: &Sqlite, ns: &str, terms: &[String]) -> Result<Vec<Vec<(u64, u32)>>> {
    db.with(|c| {
        let mut st = c.prepare_cached(
            "SELECT row, tf FROM mem_postings WHERE ns = ?1 AND term = ?2 ORDER BY row",
        )?;
        terms
            .iter()
            .map(|t| {
                st.query_map(params![ns, t], |r| {
                    Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u32))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(Error::from)
            })
            .collect()
    })
}

/// The postings of up to `limit` rows after `after`, by row.
pub fn postings_page(db: &Sqlite, ns: &str, after: u64, limit: usize) -> Result<TermsPage> {
    db.with(|c| {
        let tx = c.transaction()?;
        let mut st = tx.prepare_cached(
            "SELECT row, len, deleted FROM mem_rows WHERE ns = ?1 AND row > ?2 \
             ORDER BY row LIMIT ?3",
        )?;
        let scanned: Vec<(i64, i64, i64)> = st
            .query_map(params![ns, after as i64, limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        // One range read of the page's postings, through the (ns, row) index (named: without
        // it SQLite may walk the primary key (ns, term, row), every posting of the namespace,
        // to return the terms in order).
        let mut terms = tx.prepare_cached(
            "SELECT row, term, tf FROM mem_postings INDEXED BY mem_postings_row \
             WHERE ns = ?1 AND row >= ?2 AND row <= ?3 ORDER BY row, term",
        )?;
        let mut page = TermsPage {
            next: (scanned.len() == limit)
                .then(|| scanned.last().map(|x| x.0 as u64))
                .flatten(),
            ..TermsPage::default()
        };
        let (Some(first), Some(last)) = (scanned.first(), scanned.last()) else {
            return Ok(page);
        };
        let mut by_row: HashMap<i64, Vec<(String, u32)>> = HashMap::new();
        let postings = terms.query_map(params![ns, first.0, last.0], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)? as u32,
            ))
        })?;
        for p in postings {
            let (row, term, tf) = p?;
            by_row.entry(row).or_default().push((term, tf));
        }
        for (row, len, deleted) in scanned {
            if deleted != 0 {
                continue;
            }
            page.rows.push(RowTerms {
                row: row as u64,
                len: len.max(0) as u32,
                terms: by_row.remove(&row).unwrap_or_default(),
            });
        }
        Ok(page)
    })
}

/// The namespace's keyword totals and counters.
pub fn totals(db: &Sqlite, ns: &str) -> Result<Totals> {
    db.with(|c| {
        let m = meta(c, ns)?;
        Ok(Totals {
            docs: m.3,
            total_len: m.4,
            last_row: m.0,
            last_edge: m.1,
        })
    })
}

/// The rows linked to any of `entities` in `scope`, ascending.
pub fn rows_of_entities(
    db: &Sqlite,
    ns: &str,
    scope: &str,
    entities: &[String],
) -> Result<Vec<u64>> {
    db.with(|c| {
        let mut st = c.prepare_cached(
            "SELECT row FROM mem_entities WHERE ns = ?1 AND scope = ?2 AND entity = ?3",
        )?;
        let mut out = Vec::new();
        for e in entities {
            for r in st.query_map(params![ns, scope, e], |r| r.get::<_, i64>(0))? {
                out.push(r? as u64);
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    })
}

/// Rows of the namespace.
pub fn rows(c: &Connection, ns: &str) -> Result<u64> {
    crate::engine::sqlite::count_rows(c, ns, TABLES)
}

/// Deletes the namespace's rows.
pub fn clear(tx: &Transaction<'_>, ns: &str) -> Result<u64> {
    crate::engine::sqlite::delete_rows(tx, ns, TABLES)
}
