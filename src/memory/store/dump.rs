//! Memory in a namespace export (`crate::transfer`, docs/export.md): the declared spaces, then
//! every row (every version and tombstone, with its row id, both times and its embedding in
//! base64 little-endian f32), then every edge (with its invalidations). Imported as they were:
//! the same row and edge ids and times; postings and the entity index are rebuilt from the
//! records with the same tokenizer, and the counters continue after the largest ids.

use base64::Engine as _;
use rusqlite::params;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::graph::Edge;
use super::plan::{vector_of, Space};
use super::record::{self as rec, Kind, MemoryRecord, Terms, Value};
use super::sqlite::{self, meta, set_meta, COLUMNS};
use super::{redis, redis_graph, sqlite_graph};
use crate::engine::{tri, Backend, Importer, Op, Page, Record, Sqlite};
use crate::error::{Error, Result};
use crate::memory::vector::Metric;
use crate::transfer::record::{self, BATCH, PAGE};

/// A memory record of an export.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
enum Rec {
    Space {
        name: String,
        dim: usize,
        metric: String,
    },
    Row {
        row: u64,
        scope: String,
        key: String,
        version: u64,
        /// "s" text, "j" JSON, "" a tombstone.
        #[serde(rename = "type")]
        ty: String,
        data: Option<String>,
        kind: String,
        category: Option<String>,
        significance: f64,
        entities: Vec<String>,
        metadata: Option<String>,
        source: Option<String>,
        #[serde(rename = "valid_from_ms")]
        valid_from: i64,
        #[serde(rename = "valid_to_ms")]
        valid_to: Option<i64>,
        #[serde(rename = "recorded_at_ms")]
        recorded_at: i64,
        #[serde(rename = "superseded_at_ms")]
        superseded_at: Option<i64>,
        space: Option<String>,
        vector: Option<String>,
    },
    Edge {
        id: u64,
        scope: String,
        src: String,
        relation: String,
        dst: String,
        #[serde(rename = "valid_from_ms")]
        valid_from: i64,
        #[serde(rename = "valid_to_ms")]
        valid_to: Option<i64>,
        confidence: f64,
        metadata: Option<String>,
        space: Option<String>,
        vector: Option<String>,
        #[serde(rename = "recorded_at_ms")]
        recorded_at: i64,
        /// (valid time it ends at, transaction time), in ms.
        #[serde(rename = "invalidations_ms")]
        invalidations: Vec<(i64, i64)>,
    },
}

fn b64(v: &[u8]) -> Option<String> {
    (!v.is_empty()).then(|| base64::engine::general_purpose::STANDARD.encode(v))
}

fn row_rec(r: MemoryRecord, vector: &[u8]) -> Rec {
    Rec::Row {
        row: r.row,
        scope: r.scope,
        key: r.key,
        version: r.version,
        ty: r.value.as_ref().map_or("", Value::code).to_string(),
        data: r.value.map(|v| v.data().to_string()),
        kind: r.kind.name().to_string(),
        category: r.category,
        significance: r.significance,
        entities: r.entities,
        metadata: r.metadata,
        source: r.source,
        valid_from: r.valid_from,
        valid_to: r.valid_to,
        recorded_at: r.recorded_at,
        superseded_at: r.superseded_at,
        space: r.space,
        vector: b64(vector),
    }
}

fn edge_rec(e: Edge, vector: &[u8]) -> Rec {
    Rec::Edge {
        id: e.id,
        scope: e.scope,
        src: e.src,
        relation: e.relation,
        dst: e.dst,
        valid_from: e.valid_from,
        valid_to: e.valid_to,
        confidence: e.confidence,
        metadata: e.metadata,
        space: e.space,
        vector: b64(vector),
        recorded_at: e.recorded_at,
        invalidations: e.invalidations,
    }
}

/// Where an export is: the rows after `a` ("r"), or the edges after `a` ("e").
#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    p: String,
    a: u64,
}

type Rows = Vec<(MemoryRecord, Vec<u8>)>;
type Edges = Vec<(Edge, Vec<u8>)>;

fn sqlite_rows(db: &Sqlite, ns: &str, after: u64) -> Result<Rows> {
    db.with(|c| {
        let mut st = c.prepare_cached(&format!(
            "SELECT {COLUMNS}, vector FROM mem_rows WHERE ns = ?1 AND row > ?2 ORDER BY row LIMIT ?3"
        ))?;
        let rows = st.query_map(params![ns, after as i64, PAGE as i64], |r| {
            Ok((sqlite::record(r)?, r.get::<_, Option<Vec<u8>>>(19)?))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (rec, v) = r?;
            out.push((rec?, v.unwrap_or_default()));
        }
        Ok(out)
    })
}

/// One page: the spaces and the first rows, then rows, then edges.
pub fn export(b: &Backend, ns: &str, cursor: Json) -> Op<Page> {
    let cur: Cursor = tri!(record::cursor(cursor)).unwrap_or(Cursor {
        p: "s".into(),
        a: 0,
    });
    let ns = ns.to_string();
    let b = b.clone();
    Op::Async(Box::pin(async move {
        let mut records = Vec::new();
        let mem = super::Memory::new(b.clone(), ns.clone().into());
        if cur.p == "s" {
            for s in mem.spaces().run().await? {
                records.push(record::record(&Rec::Space {
                    name: s.name,
                    dim: s.dim,
                    metric: s.metric.name().to_string(),
                })?);
            }
            return Ok(Page {
                records,
                next: Some(record::next(&Cursor {
                    p: "r".into(),
                    a: 0,
                })?),
            });
        }
        if cur.p == "r" {
            let a = cur.a;
            let rows: Rows = b
                .call(
                    ns.clone(),
                    move |db, ns| sqlite_rows(db, &ns, a),
                    move |r, mut c, ns| async move {
                        let args =
                            vec!["all".into(), "page".into(), a.to_string(), PAGE.to_string()];
                        Ok(redis::rows_whole(&r, &mut c, &ns, args)
                            .await?
                            .into_iter()
                            .filter_map(|(_, x)| x)
                            .collect())
                    },
                )
                .run()
                .await?;
            let next = match rows.last() {
                Some((last, _)) if rows.len() == PAGE => Cursor {
                    p: "r".into(),
                    a: last.row,
                },
                _ => Cursor {
                    p: "e".into(),
                    a: 0,
                },
            };
            for (r, v) in rows {
                records.push(record::record(&row_rec(r, &v))?);
            }
            return Ok(Page {
                records,
                next: Some(record::next(&next)?),
            });
        }
        let a = cur.a;
        let edges: Edges = b
            .call(
                ns.clone(),
                move |db, ns| {
                    sqlite_graph::edges_page(db, &ns, a, PAGE).map(|v| {
                        v.into_iter()
                            .map(|(e, x)| (e, x.unwrap_or_default()))
                            .collect()
                    })
                },
                move |r, mut c, ns| async move {
                    let args = vec!["page".into(), a.to_string(), PAGE.to_string()];
                    Ok(redis_graph::read(&r, &mut c, &ns, &args).await?.1)
                },
            )
            .run()
            .await?;
        let next = match edges.last() {
            Some((last, _)) if edges.len() == PAGE => Some(record::next(&Cursor {
                p: "e".into(),
                a: last.id,
            })?),
            _ => None,
        };
        for (e, v) in edges {
            records.push(record::record(&edge_rec(e, &v))?);
        }
        Ok(Page { records, next })
    }))
}

/// Writes exported memory back in batches, as it was.
pub fn import(b: &Backend, ns: &str) -> Box<dyn Importer> {
    Box::new(Import {
        b: b.clone(),
        ns: ns.to_string(),
        batch: Vec::new(),
    })
}

/// One checked item of an import.
#[derive(Debug, Clone)]
enum Item {
    Space(Space),
    Row(MemoryRecord, Vec<u8>),
    Edge(Edge, Vec<u8>),
}

struct Import {
    b: Backend,
    ns: String,
    batch: Vec<Item>,
}

fn unb64(what: &str, s: Option<String>) -> Result<Vec<u8>> {
    match s {
        None => Ok(Vec::new()),
        Some(s) => {
            let v = base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(|_| Error::validation(format!("{what}: vector is not base64")))?;
            vector_of(&v)
                .map_err(|_| Error::validation(format!("{what}: vector is not whole f32s")))?;
            Ok(v)
        }
    }
}

fn item(r: Rec) -> Result<Item> {
    match r {
        Rec::Space { name, dim, metric } => {
            rec::check_space(&name)?;
            if dim == 0 || dim > crate::memory::vector::MAX_DIM {
                return Err(Error::validation(format!(
                    "memory space {name:?}: bad dim {dim}"
                )));
            }
            Ok(Item::Space(Space {
                name,
                dim,
                metric: Metric::parse(&metric)?,
            }))
        }
        Rec::Row {
            row,
            scope,
            key,
            version,
            ty,
            data,
            kind,
            category,
            significance,
            entities,
            metadata,
            source,
            valid_from,
            valid_to,
            recorded_at,
            superseded_at,
            space,
            vector,
        } => {
            let what = format!("memory row {row}");
            let bad = |m: &str| Error::validation(format!("{what}: {m}"));
            if row == 0 || version == 0 {
                return Err(bad("row ids and versions start at 1"));
            }
            rec::check_canonical_scope(&scope)?;
            let value = match ty.as_str() {
                "" => None,
                "s" => Some(Value::Text(data.unwrap_or_default())),
                "j" => {
                    let d = data.unwrap_or_default();
                    serde_json::from_str::<Json>(&d).map_err(|_| bad("data is not JSON"))?;
                    Some(Value::Json(d))
                }
                _ => return Err(bad("type must be s, j or empty")),
            };
            let vec = unb64(&what, vector)?;
            if vec.is_empty() != space.is_none() {
                return Err(bad("a vector needs its space and a space its vector"));
            }
            let len = value.as_ref().map_or(0, |v| Terms::of(&v.text()).len);
            let r = MemoryRecord {
                row,
                key,
                scope,
                version,
                deleted: value.is_none(),
                value,
                kind: Kind::parse(&kind)?,
                category,
                significance,
                entities,
                metadata,
                source,
                valid_from,
                valid_to,
                recorded_at,
                superseded_at,
                space: space.clone(),
                len,
            };
            let w = rec::Write {
                key: r.key.clone(),
                scope: r.scope.clone(),
                value: r.value.clone(),
                kind: r.kind,
                category: r.category.clone(),
                significance: r.significance,
                embedding: space.map(|s| (s, Vec::new())),
                entities: r.entities.clone(),
                metadata: r.metadata.clone(),
                source: r.source.clone(),
                valid_from: Some(r.valid_from),
                valid_to: r.valid_to,
            };
            w.check()?;
            Ok(Item::Row(r, vec))
        }
        Rec::Edge {
            id,
            scope,
            src,
            relation,
            dst,
            valid_from,
            valid_to,
            confidence,
            metadata,
            space,
            vector,
            recorded_at,
            invalidations,
        } => {
            let what = format!("memory edge {id}");
            rec::check_canonical_scope(&scope)?;
            for x in [&src, &dst] {
                crate::ids::id("entity id", x)?;
            }
            crate::ids::id("relation", &relation)?;
            rec::check_interval(Some(valid_from), valid_to)?;
            let vec = unb64(&what, vector)?;
            if id == 0 || vec.is_empty() != space.is_none() {
                return Err(Error::validation(format!(
                    "{what}: bad id, or a vector without its space"
                )));
            }
            Ok(Item::Edge(
                Edge {
                    id,
                    scope,
                    src,
                    relation,
                    dst,
                    valid_from,
                    valid_to,
                    confidence,
                    metadata,
                    space,
                    recorded_at,
                    invalidations,
                },
                vec,
            ))
        }
    }
}

fn restore_sqlite(db: &Sqlite, ns: &str, items: &[Item]) -> Result<()> {
    db.with_tx(|tx| {
        let mut m = meta(tx, ns)?;
        for it in items {
            match it {
                Item::Space(s) => {
                    tx.prepare_cached(
                        "INSERT INTO mem_spaces (ns, name, dim, metric) VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![
                        ns,
                        s.name,
                        s.dim as i64,
                        s.metric.name()
                    ])?;
                }
                Item::Row(r, v) => {
                    let terms = r
                        .value
                        .as_ref()
                        .map(|v| Terms::of(&v.text()))
                        .unwrap_or_default();
                    sqlite::insert(
                        tx,
                        ns,
                        r,
                        (!v.is_empty()).then_some(v.as_slice()),
                        &terms.tf,
                    )?;
                    m.0 = m.0.max(r.row);
                    m.2 = m.2.max(r.recorded_at).max(r.superseded_at.unwrap_or(0));
                    if !r.deleted {
                        m.3 += 1;
                        m.4 += u64::from(r.len);
                    }
                }
                Item::Edge(e, v) => {
                    sqlite_graph::insert(tx, ns, e, (!v.is_empty()).then_some(v.as_slice()))?;
                    m.1 = m.1.max(e.id);
                    m.2 = m.2.max(e.recorded_at);
                    for (_, t) in &e.invalidations {
                        m.2 = m.2.max(*t);
                    }
                }
            }
        }
        set_meta(tx, ns, m)
    })
}

async fn restore_redis(
    r: std::sync::Arc<crate::engine::Redis>,
    mut c: crate::engine::RedisConn,
    ns: String,
    items: Vec<Item>,
) -> Result<()> {
    let mut spaces = redis::call(&redis::RESTORE, &ns);
    let mut rows = redis::call(&redis::RESTORE, &ns);
    let mut edges = redis::call(&redis::RESTORE, &ns);
    spaces.arg("space");
    rows.arg("row");
    edges.arg("edge");
    let (mut ns_, mut nr, mut ne) = (0, 0, 0);
    for it in &items {
        match it {
            Item::Space(s) => {
                spaces.arg(&s.name).arg(s.def());
                ns_ += 1;
            }
            Item::Row(x, v) => {
                let terms = x
                    .value
                    .as_ref()
                    .map(|v| Terms::of(&v.text()))
                    .unwrap_or_default();
                rows.arg(x.row)
                    .arg(x.recorded_at)
                    .arg(x.superseded_at.map(|t| t.to_string()).unwrap_or_default());
                redis::row_args(&mut rows, x, v, &terms.tf);
                nr += 1;
            }
            Item::Edge(e, v) => {
                let last = e
                    .invalidations
                    .iter()
                    .map(|(_, t)| *t)
                    .max()
                    .unwrap_or(0)
                    .max(e.recorded_at);
                edges
                    .arg(e.id)
                    .arg(&e.scope)
                    .arg(&e.src)
                    .arg(&e.relation)
                    .arg(&e.dst)
                    .arg(e.valid_from)
                    .arg(e.valid_to.map(|t| t.to_string()).unwrap_or_default())
                    .arg(record::num(e.confidence))
                    .arg(e.metadata.as_deref().unwrap_or(""))
                    .arg(e.space.as_deref().unwrap_or(""))
                    .arg(v.as_slice())
                    .arg(e.recorded_at)
                    .arg(sqlite_graph::inv_text(&e.invalidations))
                    .arg(last);
                ne += 1;
            }
        }
    }
    for (cmd, n) in [(spaces, ns_), (rows, nr), (edges, ne)] {
        if n > 0 {
            let _: i64 = redis::RESTORE.run(&r, &mut c, &cmd).await?;
        }
    }
    Ok(())
}

impl Import {
    fn flush(&mut self) -> Option<Op<()>> {
        if self.batch.is_empty() {
            return None;
        }
        let items = std::mem::take(&mut self.batch);
        Some(self.b.call(
            (self.ns.clone(), items),
            |db, (ns, items)| restore_sqlite(db, &ns, &items),
            |r, c, (ns, items)| restore_redis(r, c, ns, items),
        ))
    }
}

impl Importer for Import {
    fn add(&mut self, r: Record) -> Result<Option<Op<()>>> {
        let keys: Vec<String> = r.keys().cloned().collect();
        let parsed: Rec = record::parse("memory", r)?;
        record::no_strangers("memory", &keys, &record::record(&parsed)?)?;
        let it = item(parsed)?;
        let dup = self.batch.iter().any(|x| match (x, &it) {
            (Item::Row(a, _), Item::Row(b, _)) => a.row == b.row,
            (Item::Edge(a, _), Item::Edge(b, _)) => a.id == b.id,
            (Item::Space(a), Item::Space(b)) => a.name == b.name,
            _ => false,
        });
        if dup {
            return Err(record::duplicate(
                "memory record",
                &format!("{it:?}").chars().take(60).collect::<String>(),
            ));
        }
        self.batch.push(it);
        Ok((self.batch.len() >= BATCH).then(|| self.flush()).flatten())
    }

    fn finish(&mut self) -> Result<Option<Op<()>>> {
        Ok(self.flush())
    }
}
