//! `hub.memory`: records with two times, a graph with edge invalidation, and the postings and
//! vectors the search reads, all in the store.
//!
//! - Records ([`record`]): each write of a (scope, key) is a new version with a namespace-wide
//!   row id; valid time from the caller, transaction time from the store. The rule that
//!   derives the valid-time line and `superseded_at` is defined once in [`timeline`]; writes
//!   are planned in Rust ([`plan`]) on both engines.
//! - The graph ([`graph`]): edges between entities with valid time; an exclusive relation
//!   invalidates the other edges of its source and relation, kept with the transaction time.
//! - For the search: postings (term -> row -> tf, each row's length, the namespace's totals)
//!   and embeddings (little-endian f32 bytes per row, per declared space) are written in the
//!   same transaction or script as the record; readers page through them.
//!
//! Every write appends change-feed entries naming what changed: `row:<id>` (created, updated
//! when superseded, deleted), `edge:<id>` (created, updated when invalidated, deleted) and
//! `space:<name>` (created).

pub mod dump;
pub mod graph;
pub mod plan;
pub mod record;
pub mod redis;
pub mod redis_graph;
pub mod sqlite;
pub mod sqlite_graph;
#[cfg(test)]
mod tests;
pub mod timeline;

use std::collections::HashMap;
use std::sync::Arc;

use self::graph::{Direction, Edge};
pub use self::plan::{EdgeWrite, Space};
use self::record::{check_key, MemoryRecord, RowInfo, Write, MAX_BATCH};
use crate::engine::{tri, Backend, Capability, Migration, Op};
use crate::error::{Error, Result};
use crate::ids;
use crate::memory::vector::{Metric, MAX_DIM};

/// This capability's row in the registry (`crate::registry`).
pub const CAPABILITY: Capability = Capability {
    name: "memory",
    migrations: &[Migration {
        version: 11,
        sql: sqlite::SCHEMA,
    }],
    rows: sqlite::rows,
    clear: sqlite::clear,
    topic: None,
    tag: "mem",
    partitioned: false,
    changes: true,
    sweep: None,
    export: dump::export,
    import: dump::import,
};

/// Most rows, vectors or terms one reader call returns.
pub const MAX_PAGE: usize = 10_000;
/// Most hops `neighbors` walks.
pub const MAX_HOPS: u32 = 3;

/// A page of one space's vectors: row ids and their vectors, row-major.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VectorPage {
    pub rows: Vec<u64>,
    pub data: Vec<f32>,
}

/// One row's postings, as an index loads them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowTerms {
    pub row: u64,
    /// Its length in tokens.
    pub len: u32,
    /// (term, tf), terms in byte order.
    pub terms: Vec<(String, u32)>,
}

/// A page of rows' postings, and the row to continue after (None: no more).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TermsPage {
    /// The indexed rows of the page (tombstones are not indexed and are left out).
    pub rows: Vec<RowTerms>,
    pub next: Option<u64>,
}

/// The namespace's keyword totals and counters.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    /// Rows indexed for keywords (every version but tombstones).
    pub docs: u64,
    /// The sum of their lengths in tokens.
    pub total_len: u64,
    /// The last row id given.
    pub last_row: u64,
    /// The last edge id given.
    pub last_edge: u64,
}

/// Re-declaring a space: the same definition is fine, another is a ValidationError.
pub fn same_space(old: Space, new: Space) -> Result<Space> {
    if old == new {
        Ok(old)
    } else {
        Err(Error::validation(format!(
            "vector space {:?} is declared with dim={} metric={:?}; it cannot change to dim={} metric={:?}",
            old.name,
            old.dim,
            old.metric.name(),
            new.dim,
            new.metric.name()
        )))
    }
}

fn now() -> i64 {
    crate::clock::now_ms() as i64
}

fn check_page(limit: usize) -> Result<()> {
    if limit == 0 || limit > MAX_PAGE {
        return Err(Error::validation(format!(
            "limit must be 1 to {MAX_PAGE}, got {limit}"
        )));
    }
    Ok(())
}

/// The memory of one namespace.
#[derive(Clone)]
pub struct Memory {
    backend: Backend,
    ns: Arc<str>,
}

impl Memory {
    /// The memory of `ns` on `backend`.
    pub fn new(backend: Backend, ns: Arc<str>) -> Memory {
        Memory { backend, ns }
    }

    fn ns(&self) -> String {
        self.ns.to_string()
    }

    /// Writes new versions, all or none, and returns them (with their row ids and times).
    /// A write without `valid_from` is valid from now.
    pub fn remember_many(&self, mut writes: Vec<Write>) -> Op<Vec<MemoryRecord>> {
        if writes.len() > MAX_BATCH {
            return Op::Ready(Err(Error::validation(format!(
                "at most {MAX_BATCH} records per call, got {}",
                writes.len()
            ))));
        }
        let now = now();
        for w in &mut writes {
            w.valid_from = Some(w.valid_from.unwrap_or(now));
            tri!(w.check());
        }
        if writes.is_empty() {
            return Op::Ready(Ok(Vec::new()));
        }
        self.backend.call(
            (self.ns(), writes),
            move |db, (ns, w)| sqlite::write(db, &ns, w, now),
            move |r, c, (ns, w)| redis::write(r, c, ns, w, now),
        )
    }

    /// Every version of (scope, key), oldest first.
    pub fn history(&self, key: &str, scope: &str) -> Op<Vec<MemoryRecord>> {
        tri!(check_key(key));
        self.backend.call(
            (self.ns(), scope.to_string(), key.to_string()),
            |db, (ns, s, k)| sqlite::read_line(db, &ns, &s, &k),
            |r, c, (ns, s, k)| redis::line(r, c, ns, s, k),
        )
    }

    /// The version of (scope, key) valid at `as_of` as the store knew it at `known_at` (ms;
    /// None: now, and everything recorded); None when there is none or it is a tombstone.
    pub fn recall(
        &self,
        key: &str,
        scope: &str,
        as_of: Option<i64>,
        known_at: Option<i64>,
    ) -> Op<Option<MemoryRecord>> {
        tri!(check_key(key));
        let as_of = as_of.unwrap_or_else(now);
        self.backend.call(
            (self.ns(), scope.to_string(), key.to_string()),
            move |db, (ns, s, k)| sqlite::recall(db, &ns, &s, &k, as_of, known_at),
            move |r, c, (ns, s, k)| redis::recall(r, c, ns, s, k, as_of, known_at),
        )
    }

    /// Deletes every version of (scope, key) with its postings and vectors; returns how many.
    pub fn purge(&self, key: &str, scope: &str) -> Op<u64> {
        tri!(check_key(key));
        self.backend.call(
            (self.ns(), scope.to_string(), key.to_string()),
            |db, (ns, s, k)| sqlite::purge(db, &ns, &s, &k),
            |r, c, (ns, s, k)| redis::purge(r, c, ns, s, k),
        )
    }

    /// Erases every record, edge, posting and vector of `scope` (canonical; "" is the global
    /// scope); returns how many records and edges went.
    pub fn forget_scope(&self, scope: &str) -> Op<u64> {
        self.backend.call(
            (self.ns(), scope.to_string()),
            |db, (ns, s)| sqlite::forget_scope(db, &ns, &s),
            |r, c, (ns, s)| redis::forget_scope(r, c, ns, s),
        )
    }

    /// Declares vector space `name` (persisted); declaring it again with the same dimension
    /// and metric is fine, with others a ValidationError.
    pub fn space(&self, name: &str, dim: usize, metric: &str) -> Op<Space> {
        tri!(record::check_space(name));
        let metric = tri!(Metric::parse(metric));
        if dim == 0 || dim > MAX_DIM {
            return Op::Ready(Err(Error::validation(format!(
                "dim must be 1 to {MAX_DIM}, got {dim}"
            ))));
        }
        let s = Space {
            name: name.to_string(),
            dim,
            metric,
        };
        self.backend.call(
            (self.ns(), s),
            |db, (ns, s)| sqlite::declare(db, &ns, s),
            |r, c, (ns, s)| redis::declare(r, c, ns, s),
        )
    }

    /// The declared spaces, by name.
    pub fn spaces(&self) -> Op<Vec<Space>> {
        self.backend
            .call(self.ns(), |db, ns| sqlite::spaces(db, &ns), redis::spaces)
    }

    /// Adds an edge (see `plan::relate` and `graph::exclusive` for what `exclusive` does).
    pub fn relate(&self, w: EdgeWrite) -> Op<Edge> {
        tri!(ids::id("entity id", &w.src));
        tri!(ids::id("entity id", &w.dst));
        tri!(ids::id("relation", &w.relation));
        tri!(record::check_interval(Some(w.valid_from), w.valid_to));
        if !(0.0..=1.0).contains(&w.confidence) {
            return Op::Ready(Err(Error::validation(format!(
                "confidence must be between 0 and 1, got {}",
                w.confidence
            ))));
        }
        if let Some(m) = &w.metadata {
            if m.len() > record::MAX_METADATA {
                return Op::Ready(Err(Error::validation(format!(
                    "the metadata is {} bytes serialized; the limit is {}",
                    m.len(),
                    record::MAX_METADATA
                ))));
            }
        }
        if let Some((s, _)) = &w.embedding {
            tri!(record::check_space(s));
        }
        let now = now();
        self.backend.call(
            (self.ns(), w),
            move |db, (ns, w)| sqlite_graph::relate(db, &ns, w, now),
            move |r, c, (ns, w)| redis_graph::relate(r, c, ns, w, now),
        )
    }

    /// Every edge from (`out`) and/or to (`inn`) the entities in `scope`, whatever their
    /// times.
    fn raw_edges(&self, scope: &str, entities: Vec<String>, out: bool, inn: bool) -> Op<Vec<Edge>> {
        self.backend.call(
            (self.ns(), scope.to_string(), entities),
            move |db, (ns, s, e)| sqlite_graph::read_edges(db, &ns, &s, &e, out, inn),
            move |r, c, (ns, s, e)| redis_graph::edges_of(r, c, ns, s, e, out, inn),
        )
    }

    /// The edges of `entity` valid at `as_of` (None: now) as known at `known_at` (None:
    /// everything recorded), by id.
    pub fn edges(
        &self,
        entity: &str,
        scope: &str,
        relation: Option<&str>,
        direction: Direction,
        as_of: Option<i64>,
        known_at: Option<i64>,
    ) -> Op<Vec<Edge>> {
        tri!(ids::id("entity id", entity));
        if let Some(r) = relation {
            tri!(ids::id("relation", r));
        }
        let as_of = as_of.unwrap_or_else(now);
        let relation = relation.map(str::to_string);
        let (out, inn) = match direction {
            Direction::Out => (true, false),
            Direction::In => (false, true),
            Direction::Both => (true, true),
        };
        let entity = entity.to_string();
        self.raw_edges(scope, vec![entity.clone()], out, inn)
            .map(move |all| {
                all.into_iter()
                    .filter(|e| relation.as_ref().is_none_or(|r| &e.relation == r))
                    .filter(|e| (out && e.src == entity) || (inn && e.dst == entity))
                    .filter(|e| e.valid_at(as_of, known_at))
                    .collect()
            })
    }

    /// The entities within `hops` (1 to 3) of `entity` over edges valid at `as_of` (either
    /// direction), with their distance, nearest first then by id.
    pub fn neighbors(
        &self,
        entity: &str,
        scope: &str,
        hops: u32,
        as_of: Option<i64>,
    ) -> Op<Vec<(String, u32)>> {
        tri!(ids::id("entity id", entity));
        if hops == 0 || hops > MAX_HOPS {
            return Op::Ready(Err(Error::validation(format!(
                "hops must be 1 to {MAX_HOPS}, got {hops}"
            ))));
        }
        let as_of = as_of.unwrap_or_else(now);
        let me = self.clone();
        let (scope, start) = (scope.to_string(), entity.to_string());
        Op::Async(Box::pin(async move {
            let mut seen: HashMap<String, u32> = HashMap::from([(start.clone(), 0)]);
            let mut frontier = vec![start.clone()];
            for hop in 1..=hops {
                if frontier.is_empty() {
                    break;
                }
                let edges: Vec<Edge> = me
                    .raw_edges(&scope, frontier.clone(), true, true)
                    .run()
                    .await?
                    .into_iter()
                    .filter(|e| e.valid_at(as_of, None))
                    .collect();
                frontier = graph::step(&frontier, &edges, hop, &mut seen);
            }
            seen.remove(&start);
            let mut out: Vec<(String, u32)> = seen.into_iter().collect();
            out.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
            Ok(out)
        }))
    }

    /// The rows linked to any of `entities` in `scope` (the graph signal of the search).
    pub fn rows_of_entities(&self, entities: Vec<String>, scope: &str) -> Op<Vec<u64>> {
        for e in &entities {
            tri!(ids::id("entity id", e));
        }
        self.backend.call(
            (self.ns(), scope.to_string(), entities),
            |db, (ns, s, e)| sqlite::rows_of_entities(db, &ns, &s, &e),
            |r, c, (ns, s, e)| redis::rows_of_entities(r, c, ns, s, e),
        )
    }

    /// Records by row id, None where missing.
    pub fn get_rows(&self, rows: Vec<u64>) -> Op<Vec<Option<MemoryRecord>>> {
        tri!(check_page(rows.len().max(1)));
        self.backend.call(
            (self.ns(), rows),
            |db, (ns, rows)| sqlite::get_rows(db, &ns, &rows),
            |r, c, (ns, rows)| redis::get_rows(r, c, ns, rows),
        )
    }

    /// Up to `limit` rows after row `after` (0: from the first), in row order.
    pub fn rows_page(&self, after: u64, limit: usize) -> Op<Vec<RowInfo>> {
        tri!(check_page(limit));
        self.backend.call(
            self.ns(),
            move |db, ns| sqlite::rows_page(db, &ns, after, limit),
            move |r, c, ns| redis::rows_page(r, c, ns, after, limit),
        )
    }

    /// Up to `limit` vectors of `space` after row `after`, in row order (as given, not
    /// normalised).
    pub fn vectors_page(&self, space: &str, after: u64, limit: usize) -> Op<VectorPage> {
        tri!(record::check_space(space));
        tri!(check_page(limit));
        self.backend.call(
            (self.ns(), space.to_string()),
            move |db, (ns, s)| sqlite::vectors_page(db, &ns, &s, after, limit),
            move |r, c, (ns, s)| redis::vectors_page(r, c, ns, s, after, limit),
        )
    }

    /// The postings of up to `limit` rows after row `after`, by row: what a keyword index
    /// loads the namespace from, page by page.
    pub fn postings_page(&self, after: u64, limit: usize) -> Op<TermsPage> {
        tri!(check_page(limit));
        self.backend.call(
            self.ns(),
            move |db, ns| sqlite::postings_page(db, &ns, after, limit),
            move |r, c, ns| redis::postings_page(r, c, ns, after, limit),
        )
    }

    /// The postings of each term ((row, tf) in row order).
    pub fn postings(&self, terms: Vec<String>) -> Op<Vec<Vec<(u64, u32)>>> {
        tri!(check_page(terms.len().max(1)));
        self.backend.call(
            (self.ns(), terms),
            |db, (ns, t)| sqlite::postings(db, &ns, &t),
            |r, c, (ns, t)| redis::postings(r, c, ns, t),
        )
    }

    /// The keyword totals and counters.
    pub fn totals(&self) -> Op<Totals> {
        self.backend
            .call(self.ns(), |db, ns| sqlite::totals(db, &ns), redis::totals)
    }
}
