//! `hub.memory.search`: hybrid retrieval (keywords, vectors, the graph) over the records in
//! the store, from an in-process index kept current by the change feed.
//!
//! The first search of a handle loads the namespace's rows, postings and vectors page by page
//! (after noting the feed's end, so nothing written meanwhile is missed); every later search
//! first reads the memory feed after its cursor and applies what changed: new rows (loaded
//! after the last row it holds, rows, postings and vectors in row order), rows a later
//! version superseded (their times reread), rows purged or erased with their scope (removed).
//! Applying is idempotent, so a change seen twice does no harm. A reader that fell behind the
//! feed's retention (or a `clear()`) loads everything again. No search fetches every vector
//! again once loaded.
//!
//! Filters (scope, kinds, categories, and the bi-temporal validity at `as_of` / `known_at`
//! by [`timeline::select`] over the key's versions) run inside each signal's top-k, so they
//! cost only for rows good enough to rank. Signals: BM25 over the postings (the same
//! tokenizer and formula as [`crate::memory::bm25`], idf over every version in the store),
//! vector top-k in the space (int8 scan re-ranked exactly), and the graph (rows linked to the
//! entities within `hops` of `around`, nearer first). They are fused by reciprocal rank
//! fusion or a weighted sum, and each hit keeps every signal's score and rank.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex as PMutex;
use tokio::sync::Mutex;

use super::bm25::{tokenize, Bm25Index, Bm25Params};
use super::fusion::{fuse, Fusion, SignalScore};
use super::store::record::{Kind, MemoryRecord, RowInfo};
use super::store::timeline::{self, Version};
use super::store::{Memory, MAX_PAGE};
use super::vector::VectorSpace;
use super::Hit;
use crate::changes::{self, Changes, Feed};
use crate::engine::{Backend, Op};
use crate::error::{Error, Result};

/// Most results one search returns.
pub const MAX_K: usize = 1000;
/// Candidates each signal contributes to the fusion, at least.
const CANDIDATES: usize = 100;
/// Changes read per feed page while catching up.
const FEED_PAGE: usize = 1000;

/// What to search for (times in ms).
#[derive(Debug, Clone)]
pub struct Query {
    pub text: Option<String>,
    pub embedding: Option<Vec<f32>>,
    pub space: String,
    /// The canonical scope ("" for the global one): only its records are searched.
    pub scope: String,
    pub around: Option<String>,
    pub hops: u32,
    pub kinds: Option<Vec<Kind>>,
    pub categories: Option<Vec<String>>,
    pub as_of: Option<i64>,
    pub known_at: Option<i64>,
    pub k: usize,
    pub fusion: Fusion,
    /// One weight per signal (keyword, vector, graph).
    pub weights: Option<Vec<f64>>,
}

/// One result: the record, the fused score and each signal's score and rank (keyword,
/// vector, graph; None where the signal did not rank it or was not asked).
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub record: MemoryRecord,
    pub score: f64,
    pub keyword: Option<SignalScore>,
    pub vector: Option<SignalScore>,
    pub graph: Option<SignalScore>,
}

/// What the index holds of the namespace.
struct State {
    cursor: String,
    last_row: u64,
    rows: HashMap<u64, RowInfo>,
    /// (scope, key) -> its rows.
    lines: HashMap<(String, String), Vec<u64>>,
    bm25: Bm25Index,
    spaces: HashMap<String, VectorSpace>,
}

impl State {
    fn empty(cursor: String) -> State {
        State {
            cursor,
            last_row: 0,
            rows: HashMap::new(),
            lines: HashMap::new(),
            bm25: Bm25Index::new(Bm25Params::default()),
            spaces: HashMap::new(),
        }
    }

    fn put_row(&mut self, r: RowInfo) {
        self.last_row = self.last_row.max(r.row);
        let line = self
            .lines
            .entry((r.scope.clone(), r.key.clone()))
            .or_default();
        if !line.contains(&r.row) {
            line.push(r.row);
        }
        self.rows.insert(r.row, r);
    }

    fn remove_row(&mut self, row: u64) {
        if let Some(r) = self.rows.remove(&row) {
            let lk = (r.scope, r.key);
            if let Some(line) = self.lines.get_mut(&lk) {
                line.retain(|&x| x != row);
                if line.is_empty() {
                    self.lines.remove(&lk);
                }
            }
        }
        self.bm25.remove(row);
        for s in self.spaces.values_mut() {
            s.remove(row);
        }
    }

    /// True when `row` is the version of its key valid at `as_of` as known at `known_at`,
    /// and passes the query's filters.
    fn keep(&self, row: u64, q: &Query, as_of: i64, memo: &PMutex<HashMap<u64, bool>>) -> bool {
        if let Some(&b) = memo.lock().get(&row) {
            return b;
        }
        let ok = self.rows.get(&row).is_some_and(|r| {
            !r.deleted
                && r.scope == q.scope
                && q.kinds.as_ref().is_none_or(|ks| ks.contains(&r.kind))
                && q.categories
                    .as_ref()
                    .is_none_or(|cs| r.category.as_ref().is_some_and(|c| cs.contains(c)))
                && self.selected(r, as_of, q.known_at) == Some(row)
        });
        memo.lock().insert(row, ok);
        ok
    }

    fn selected(&self, r: &RowInfo, as_of: i64, known_at: Option<i64>) -> Option<u64> {
        let rows = self.lines.get(&(r.scope.clone(), r.key.clone()))?;
        let line: Vec<Version> = rows
            .iter()
            .filter_map(|id| self.rows.get(id))
            .map(|x| Version {
                version: x.version,
                row: x.row,
                valid_from: x.valid_from,
                valid_to: x.valid_to,
                recorded_at: x.recorded_at,
                superseded_at: x.superseded_at,
                deleted: x.deleted,
            })
            .collect();
        timeline::select(&line, as_of, known_at).map(|v| v.row)
    }
}

/// The search of one namespace's memory: the store handle, its feed, and the index.
#[derive(Clone)]
pub struct Search {
    memory: Memory,
    feed: Changes,
    state: Arc<Mutex<Option<State>>>,
}

impl Search {
    /// The search of `memory`'s namespace on `backend`.
    pub fn new(backend: Backend, ns: Arc<str>, memory: Memory) -> Search {
        let feed = Changes::new(
            backend,
            ns,
            Arc::from([Feed {
                name: super::store::CAPABILITY.name,
                tag: super::store::CAPABILITY.tag,
            }]),
        );
        Search {
            memory,
            feed,
            state: Arc::new(Mutex::new(None)),
        }
    }

    /// Searches (see the module's documentation).
    pub fn search(&self, q: Query) -> Op<Vec<SearchHit>> {
        if q.k == 0 || q.k > MAX_K {
            return Op::Ready(Err(Error::validation(format!(
                "k must be 1 to {MAX_K}, got {}",
                q.k
            ))));
        }
        if q.text.is_none() && q.embedding.is_none() && q.around.is_none() {
            return Op::Ready(Err(Error::validation(
                "search needs text, an embedding or an entity to search around",
            )));
        }
        if let Some(w) = &q.weights {
            if w.len() != 3 {
                return Op::Ready(Err(Error::validation(format!(
                    "weights are three numbers (keyword, vector, graph), got {}",
                    w.len()
                ))));
            }
        }
        let me = self.clone();
        Op::Async(Box::pin(async move { me.run(q).await }))
    }

    async fn run(&self, q: Query) -> Result<Vec<SearchHit>> {
        let as_of = q.as_of.unwrap_or_else(|| crate::clock::now_ms() as i64);
        // The graph signal reads the store (edges valid at as_of), outside the index's lock.
        let graph = match &q.around {
            Some(entity) => self.graph_rows(entity, &q, as_of).await?,
            None => Vec::new(),
        };
        let mut guard = self.state.lock().await;
        self.current(&mut guard).await?;
        let st = guard
            .as_ref()
            .ok_or_else(|| Error::Backend("index not loaded".into()))?;
        let want = (q.k * 4).max(CANDIDATES);
        // Signals ask about the same rows; the answer is kept (scans may ask from both cores).
        let memo = PMutex::new(HashMap::new());
        let keep = |row: u64| st.keep(row, &q, as_of, &memo);
        let keyword: Vec<Hit> = match &q.text {
            Some(t) => {
                let terms = tokenize(t);
                super::bm25::score(&st.bm25, &terms, want, st.bm25.params(), &keep)
            }
            None => Vec::new(),
        };
        let vector: Vec<Hit> = match &q.embedding {
            Some(e) => match st.spaces.get(&q.space) {
                Some(space) => space.search_where(e, want, &keep)?,
                None => {
                    return Err(Error::validation(format!(
                        "no vector space {:?} is declared (hub.memory.space(name, dim, metric))",
                        q.space
                    )))
                }
            },
            None => Vec::new(),
        };
        let graph: Vec<Hit> = graph
            .into_iter()
            .filter(|h| keep(h.id))
            .take(want)
            .collect();
        let fused = fuse(
            &[&keyword, &vector, &graph],
            q.fusion,
            q.weights.as_deref(),
            q.k,
        )?;
        drop(guard);
        if fused.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<u64> = fused.iter().map(|h| h.id).collect();
        let records = self.memory.get_rows(ids).run().await?;
        Ok(fused
            .into_iter()
            .zip(records)
            .filter_map(|(h, r)| {
                r.map(|record| SearchHit {
                    record,
                    score: h.score,
                    keyword: h.signals[0],
                    vector: h.signals[1],
                    graph: h.signals[2],
                })
            })
            .collect())
    }

    /// Rows linked to the entities within `hops` of `entity` (itself at distance 0), nearer
    /// first: score 1 / (1 + distance).
    async fn graph_rows(&self, entity: &str, q: &Query, as_of: i64) -> Result<Vec<Hit>> {
        let near = self
            .memory
            .neighbors(entity, &q.scope, q.hops, Some(as_of))
            .run()
            .await?;
        let mut by_hop: Vec<Vec<String>> = vec![vec![entity.to_string()]];
        for (e, d) in near {
            let d = d as usize;
            if by_hop.len() <= d {
                by_hop.resize(d + 1, Vec::new());
            }
            by_hop[d].push(e);
        }
        let mut hits = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (d, entities) in by_hop.into_iter().enumerate() {
            if entities.is_empty() {
                continue;
            }
            let mut rows = self
                .memory
                .rows_of_entities(entities, &q.scope)
                .run()
                .await?;
            rows.sort_unstable();
            for row in rows {
                if seen.insert(row) {
                    hits.push(Hit {
                        id: row,
                        score: 1.0 / (1.0 + d as f32),
                    });
                }
            }
        }
        Ok(hits)
    }

    /// Loads the index if it is not, else applies the feed's changes since its cursor.
    async fn current(&self, guard: &mut Option<State>) -> Result<()> {
        if guard.is_none() {
            *guard = Some(self.load().await?);
            return Ok(());
        }
        loop {
            let cursor = guard.as_ref().map(|s| s.cursor.clone()).unwrap_or_default();
            let page = match self
                .feed
                .read(Some(&cursor), FEED_PAGE, Duration::ZERO)
                .run()
                .await
            {
                Ok(p) => p,
                Err(Error::Rescan(_)) => {
                    *guard = Some(self.load().await?);
                    return Ok(());
                }
                Err(e) => return Err(e),
            };
            let n = page.changes.len();
            let st = guard
                .as_mut()
                .ok_or_else(|| Error::Backend("index not loaded".into()))?;
            self.apply(st, &page.changes).await?;
            st.cursor = page.cursor.encode();
            if n < FEED_PAGE {
                return Ok(());
            }
        }
    }

    async fn apply(&self, st: &mut State, changes: &[changes::Change]) -> Result<()> {
        let mut new_rows = false;
        let mut reread: Vec<u64> = Vec::new();
        let mut spaces_changed = false;
        for c in changes {
            if let Some(row) =
                c.id.strip_prefix("row:")
                    .and_then(|r| r.parse::<u64>().ok())
            {
                match c.kind {
                    changes::Kind::Deleted => st.remove_row(row),
                    _ if row > st.last_row => new_rows = true,
                    _ => reread.push(row),
                }
            } else if c.id.starts_with("space:") {
                spaces_changed = true;
            }
        }
        if spaces_changed {
            self.load_spaces(st).await?;
        }
        if new_rows {
            self.load_after(st, st.last_row).await?;
        }
        reread.sort_unstable();
        reread.dedup();
        for chunk in reread.chunks(MAX_PAGE) {
            let got = self.memory.get_rows(chunk.to_vec()).run().await?;
            for (row, r) in chunk.iter().zip(got) {
                match r {
                    Some(r) => st.put_row(RowInfo::from(&r)),
                    None => st.remove_row(*row),
                }
            }
        }
        Ok(())
    }

    /// The whole index, from the feed's end noted first.
    async fn load(&self) -> Result<State> {
        let cursor = self.feed.end().run().await?.encode();
        let mut st = State::empty(cursor);
        // Rows first, then their postings, then vectors: every row the index holds has its
        // postings and vectors (written with it), whatever is written meanwhile.
        self.load_after(&mut st, 0).await?;
        self.load_spaces(&mut st).await?;
        Ok(st)
    }

    /// Adds the spaces the store has that the index lacks, with every vector they hold.
    async fn load_spaces(&self, st: &mut State) -> Result<()> {
        for sp in self.memory.spaces().run().await? {
            if !st.spaces.contains_key(&sp.name) {
                let mut space = VectorSpace::new(sp.dim, sp.metric, true)?;
                let mut after = 0;
                loop {
                    let page = self
                        .memory
                        .vectors_page(&sp.name, after, MAX_PAGE)
                        .run()
                        .await?;
                    let Some(&last) = page.rows.last() else { break };
                    space.add_many(&page.rows, &page.data)?;
                    after = last;
                    if page.rows.len() < MAX_PAGE {
                        break;
                    }
                }
                st.spaces.insert(sp.name.clone(), space);
            }
        }
        Ok(())
    }

    /// Rows, postings and vectors (of the spaces the index has) after row `after`, in row
    /// order and in that order, so that every row loaded has its postings and vectors.
    async fn load_after(&self, st: &mut State, after: u64) -> Result<()> {
        let mut from = after;
        loop {
            let rows = self.memory.rows_page(from, MAX_PAGE).run().await?;
            let Some(last) = rows.last().map(|r| r.row) else {
                break;
            };
            let full = rows.len() == MAX_PAGE;
            for r in rows {
                st.put_row(r);
            }
            from = last;
            if !full {
                break;
            }
        }
        let mut from = after;
        loop {
            let page = self.memory.postings_page(from, MAX_PAGE).run().await?;
            for rt in &page.rows {
                st.bm25.add_terms(rt.row, rt.len, &rt.terms);
            }
            match page.next {
                Some(n) => from = n,
                None => break,
            }
        }
        let names: Vec<String> = st.spaces.keys().cloned().collect();
        for name in names {
            let mut from = after;
            loop {
                let page = self
                    .memory
                    .vectors_page(&name, from, MAX_PAGE)
                    .run()
                    .await?;
                let Some(&last) = page.rows.last() else { break };
                if let Some(space) = st.spaces.get_mut(&name) {
                    space.add_many(&page.rows, &page.data)?;
                }
                from = last;
                if page.rows.len() < MAX_PAGE {
                    break;
                }
            }
        }
        Ok(())
    }
}
