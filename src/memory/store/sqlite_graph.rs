//! `hub.memory`'s graph on the embedded store: one row per edge, its invalidations kept as
//! JSON `[[at, tx], ...]`; relating is one transaction that plans and writes.

use rusqlite::{params, Connection, Row, Transaction};

use super::graph::Edge;
use super::plan::{self, EdgeWrite};
use super::sqlite::{changed, meta, set_meta, spaces_of};
use crate::changes::Kind as Change;
use crate::engine::Sqlite;
use crate::error::{Error, Result};

const EDGE_COLUMNS: &str = "id, scope, src, relation, dst, valid_from, valid_to, confidence, \
    metadata, space, recorded_at, invalidations";

/// Invalidations as stored.
pub fn inv_text(inv: &[(i64, i64)]) -> String {
    serde_json::to_string(inv).unwrap_or_else(|_| "[]".into())
}

/// Invalidations from storage.
pub fn inv_parse(s: &str) -> Result<Vec<(i64, i64)>> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_str(s).map_err(Error::from)
}

fn edge(r: &Row<'_>) -> rusqlite::Result<Result<Edge>> {
    let inv: String = r.get(11)?;
    let e = Edge {
        id: r.get::<_, i64>(0)? as u64,
        scope: r.get(1)?,
        src: r.get(2)?,
        relation: r.get(3)?,
        dst: r.get(4)?,
        valid_from: r.get(5)?,
        valid_to: r.get(6)?,
        confidence: r.get(7)?,
        metadata: r.get(8)?,
        space: r.get(9)?,
        recorded_at: r.get(10)?,
        invalidations: Vec::new(),
    };
    Ok(inv_parse(&inv).map(|invalidations| Edge { invalidations, ..e }))
}

fn edges(c: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<Vec<Edge>> {
    let mut st = c.prepare_cached(sql)?;
    let rows = st.query_map(p, edge)?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r??);
    }
    Ok(out)
}

/// The edges from (`out`) or to each of `entities` in `scope`, by id.
pub fn edges_of(
    c: &Connection,
    ns: &str,
    scope: &str,
    entities: &[String],
    out: bool,
    inn: bool,
) -> Result<Vec<Edge>> {
    let mut all = Vec::new();
    for e in entities {
        if out {
            all.extend(edges(
                c,
                &format!("SELECT {EDGE_COLUMNS} FROM mem_edges WHERE ns = ?1 AND scope = ?2 AND src = ?3"),
                params![ns, scope, e],
            )?);
        }
        if inn {
            all.extend(edges(
                c,
                &format!("SELECT {EDGE_COLUMNS} FROM mem_edges WHERE ns = ?1 AND scope = ?2 AND dst = ?3"),
                params![ns, scope, e],
            )?);
        }
    }
    all.sort_by_key(|e| e.id);
    all.dedup_by_key(|e| e.id);
    Ok(all)
}

/// [`edges_of`] on a pooled connection.
pub fn read_edges(
    db: &Sqlite,
    ns: &str,
    scope: &str,
    entities: &[String],
    out: bool,
    inn: bool,
) -> Result<Vec<Edge>> {
    db.with(|c| edges_of(c, ns, scope, entities, out, inn))
}

/// Inserts one edge as given (a write or an import).
pub fn insert(tx: &Transaction<'_>, ns: &str, e: &Edge, vector: Option<&[u8]>) -> Result<()> {
    let r = tx
        .prepare_cached(&format!(
            "INSERT INTO mem_edges ({EDGE_COLUMNS}, vector, ns) VALUES \
             (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
        ))?
        .execute(params![
            e.id as i64,
            e.scope,
            e.src,
            e.relation,
            e.dst,
            e.valid_from,
            e.valid_to,
            e.confidence,
            e.metadata,
            e.space,
            e.recorded_at,
            inv_text(&e.invalidations),
            vector,
            ns
        ]);
    crate::transfer::record::sqlite_insert(r, "memory edge", &e.id.to_string())
}

/// Relates: invalidates what an exclusive edge replaces and writes the new edge.
pub fn relate(db: &Sqlite, ns: &str, w: EdgeWrite, now: i64) -> Result<Edge> {
    db.with_tx(|tx| {
        let spaces = spaces_of(tx, ns)?;
        let same = edges_of(tx, ns, &w.scope, std::slice::from_ref(&w.src), true, false)?;
        let (invalidate, valid_to) = plan::relate(&w, &same, &spaces)?;
        let mut m = meta(tx, ns)?;
        let t = now.max(m.2);
        m.2 = t;
        m.1 += 1;
        let mut feed = Vec::new();
        for old in same.iter().filter(|e| invalidate.contains(&e.id)) {
            let mut inv = old.invalidations.clone();
            inv.push((w.valid_from, t));
            tx.prepare_cached("UPDATE mem_edges SET invalidations = ?3 WHERE ns = ?1 AND id = ?2")?
                .execute(params![ns, old.id as i64, inv_text(&inv)])?;
            feed.push((
                format!("edge:{}", old.id),
                inv.len() as u64 + 1,
                Change::Updated,
            ));
        }
        let e = Edge {
            id: m.1,
            scope: w.scope,
            src: w.src,
            relation: w.relation,
            dst: w.dst,
            valid_from: w.valid_from,
            valid_to,
            confidence: w.confidence,
            metadata: w.metadata,
            space: w.embedding.as_ref().map(|(s, _)| s.clone()),
            recorded_at: t,
            invalidations: Vec::new(),
        };
        let vector = w.embedding.as_ref().map(|(_, v)| plan::vector_bytes(v));
        insert(tx, ns, &e, vector.as_deref())?;
        feed.push((format!("edge:{}", e.id), 1, Change::Created));
        set_meta(tx, ns, m)?;
        changed(tx, ns, &feed)?;
        Ok(e)
    })
}

/// Up to `limit` edges after id `after`, by id (exports), with their vectors.
pub fn edges_page(
    db: &Sqlite,
    ns: &str,
    after: u64,
    limit: usize,
) -> Result<Vec<(Edge, Option<Vec<u8>>)>> {
    db.with(|c| {
        let mut st = c.prepare_cached(&format!(
            "SELECT {EDGE_COLUMNS}, vector FROM mem_edges WHERE ns = ?1 AND id > ?2 ORDER BY id LIMIT ?3"
        ))?;
        let rows = st.query_map(params![ns, after as i64, limit as i64], |r| {
            Ok((edge(r)?, r.get::<_, Option<Vec<u8>>>(12)?))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (e, v) = r?;
            out.push((e?, v));
        }
        Ok(out)
    })
}
