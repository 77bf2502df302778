//! Semantic lookups in `hub.cache`: the nearest cached prompt within a similarity threshold.
//!
//! A semantic entry is an ordinary cache entry (same key, value, TTL, tags, eviction) stored
//! with its prompt's embedding and a *scope* (the caller's hash of the model and the
//! parameters that change the answer). Writing one records `sem:<key>` in the cache's change
//! feed, in the same transaction or script; removing one (delete, prefix delete, eviction,
//! expiry met by a read or a sweep, an invalidated entry removed) records its deletion.
//!
//! Each handle keeps an in-process index, one [`VectorSpace`] per scope (cosine, int8 scan
//! re-ranked exactly: the memory capability's engine), loaded on the first lookup (after
//! noting the feed's end, so nothing written meanwhile is missed) and then kept current from
//! the feed before every lookup, exactly as `hub.memory.search` does. A reader that fell
//! behind the feed's retention loads again.
//!
//! The index only proposes: the best candidates at or above the threshold are read through
//! the same read path as an exact hit (`Cache::get_many`: expiry and tag generations checked
//! in the read's script or transaction), the first live one is served, and candidates found
//! gone are dropped from the index. So an expired, invalidated or deleted entry is never
//! served, whether or not its removal has reached the feed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use super::{check_tag, Cache, Lookup, Value};
use crate::changes::{self, Changes, Feed};
use crate::engine::Backend;
use crate::error::{Error, Result};
use crate::memory::vector::{Metric, VectorSpace, MAX_DIM};

/// Candidates at or above the threshold read to find a live one, by default.
pub const DEFAULT_K: usize = 4;
/// Most candidates one lookup reads.
pub const MAX_K: usize = 64;
/// Entries per page when an index loads, and changes per feed read.
pub const PAGE: usize = 1000;

/// What a semantic lookup found: the entry's key, its value and the cosine similarity of its
/// prompt embedding to the query's.
#[derive(Debug, Clone, PartialEq)]
pub struct SemanticHit {
    /// The matched entry's key.
    pub key: String,
    /// Its value.
    pub value: Value,
    /// Cosine similarity of the two embeddings (1.0: the same direction).
    pub similarity: f32,
}

/// A semantic entry as the store lists it: key, scope, embedding.
pub type SemanticRow = (String, String, Vec<f32>);

/// A semantic entry's scope and embedding, as a re-read returns it (None: no live entry).
pub type ScopedVector = Option<(String, Vec<f32>)>;

/// The embedding as stored: little-endian `f32`s.
pub fn encode(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The embedding from its stored bytes (None when the length is not a multiple of 4).
pub fn decode(b: &[u8]) -> Option<Vec<f32>> {
    if !b.len().is_multiple_of(4) {
        return None;
    }
    Some(
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

/// Checks a scope (as a tag: 1 to 256 bytes of text, no control characters).
pub fn check_scope(scope: &str) -> Result<()> {
    check_tag(scope).map_err(|_| {
        Error::validation(format!(
            "a semantic scope is 1 to {} bytes of text without control characters, got {scope:?}",
            super::MAX_TAG
        ))
    })
}

/// The error of an embedding whose dimension is not its scope's.
pub fn dim_error(scope: &str, dim: usize, have: usize) -> Error {
    Error::validation(format!(
        "the embedding has dimension {dim}; scope {scope:?} holds embeddings of dimension {have}"
    ))
}

/// Checks an embedding: 1 to [`MAX_DIM`] finite numbers, not all zero (cosine).
pub fn check_vector(v: &[f32], what: &str) -> Result<()> {
    if v.is_empty() || v.len() > MAX_DIM {
        return Err(Error::validation(format!(
            "{what} has {} dimensions; 1 to {MAX_DIM} are allowed",
            v.len()
        )));
    }
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(Error::validation(format!(
            "{what} has a non-finite value ({}) at index {i}",
            v[i]
        )));
    }
    if v.iter().all(|&x| x == 0.0) {
        return Err(Error::validation(format!(
            "{what} is all zeros: cosine similarity is undefined for it"
        )));
    }
    Ok(())
}

/// What a handle's index holds.
struct State {
    cursor: String,
    next_id: u64,
    /// key -> (scope, row id in the scope's space).
    rows: HashMap<String, (String, u64)>,
    /// row id -> key.
    keys: HashMap<u64, String>,
    spaces: HashMap<String, VectorSpace>,
}

impl State {
    fn empty(cursor: String) -> State {
        State {
            cursor,
            next_id: 0,
            rows: HashMap::new(),
            keys: HashMap::new(),
            spaces: HashMap::new(),
        }
    }

    /// Adds or replaces `key`. An embedding whose dimension differs from its scope's (the
    /// first one seen), or that the space refuses, is left out: it is never matched.
    fn put(&mut self, key: String, scope: String, v: &[f32]) {
        self.remove(&key);
        if check_vector(v, "a stored embedding").is_err() {
            return;
        }
        let space = match self.spaces.entry(scope.clone()) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                match VectorSpace::new(v.len(), Metric::Cosine, true) {
                    Ok(s) => e.insert(s),
                    Err(_) => return,
                }
            }
        };
        let id = self.next_id;
        if space.dim() != v.len() || space.add(id, v).is_err() {
            return;
        }
        self.next_id += 1;
        self.keys.insert(id, key.clone());
        self.rows.insert(key, (scope, id));
    }

    fn remove(&mut self, key: &str) {
        if let Some((scope, id)) = self.rows.remove(key) {
            self.keys.remove(&id);
            if let Some(space) = self.spaces.get_mut(&scope) {
                space.remove(id);
                if space.is_empty() {
                    self.spaces.remove(&scope);
                }
            }
        }
    }
}

/// The semantic index of one namespace's cache (shared by the clones of a handle).
#[derive(Clone)]
pub struct Semantic {
    feed: Changes,
    state: Arc<Mutex<Option<State>>>,
}

impl Semantic {
    /// The index of `ns` on `backend`, following the cache's own feed.
    pub fn new(backend: Backend, ns: Arc<str>) -> Semantic {
        let feed = Changes::new(
            backend,
            ns,
            Arc::from([Feed {
                name: super::CAPABILITY.name,
                tag: super::CAPABILITY.tag,
            }]),
        );
        Semantic {
            feed,
            state: Arc::new(Mutex::new(None)),
        }
    }

    /// Refuses a write whose embedding's dimension differs from its scope's in this handle's
    /// index, when the index is loaded and not busy (another process's index would leave the
    /// entry out; see [`State::put`]).
    pub fn check_dim(&self, scope: &str, dim: usize) -> Result<()> {
        if let Ok(guard) = self.state.try_lock() {
            if let Some(space) = guard.as_ref().and_then(|s| s.spaces.get(scope)) {
                if space.dim() != dim {
                    return Err(dim_error(scope, dim, space.dim()));
                }
            }
        }
        Ok(())
    }

    /// The entries this handle's index holds and its scopes (loading or updating it first).
    pub async fn size(&self, cache: &Cache) -> Result<(u64, u64)> {
        let mut guard = self.state.lock().await;
        self.current(cache, &mut guard).await?;
        Ok(guard
            .as_ref()
            .map_or((0, 0), |s| (s.rows.len() as u64, s.spaces.len() as u64)))
    }

    /// The best live entry of `scope` whose embedding's cosine similarity to `vector` is at
    /// least `threshold`, among the `k` nearest (see the module docs).
    pub async fn lookup(
        &self,
        cache: &Cache,
        scope: String,
        vector: Vec<f32>,
        threshold: f32,
        k: usize,
    ) -> Result<Option<SemanticHit>> {
        let candidates: Vec<(String, f32)> = {
            let mut guard = self.state.lock().await;
            self.current(cache, &mut guard).await?;
            let st = guard
                .as_ref()
                .ok_or_else(|| Error::Backend("semantic index not loaded".into()))?;
            let Some(space) = st.spaces.get(&scope) else {
                return Ok(None);
            };
            if space.dim() != vector.len() {
                return Err(dim_error(&scope, vector.len(), space.dim()));
            }
            space
                .search(&vector, k)?
                .into_iter()
                .filter(|h| h.score >= threshold)
                .filter_map(|h| st.keys.get(&h.id).map(|k| (k.clone(), h.score)))
                .collect()
        };
        if candidates.is_empty() {
            return Ok(None);
        }
        let keys: Vec<String> = candidates.iter().map(|(k, _)| k.clone()).collect();
        let found = cache.get_many(keys, None, false).run().await?;
        let mut gone = Vec::new();
        let mut best = None;
        for ((key, sim), l) in candidates.into_iter().zip(found) {
            match l {
                Lookup::Hit(value) => {
                    best = Some(SemanticHit {
                        key,
                        value,
                        similarity: sim.min(1.0),
                    });
                    break;
                }
                Lookup::Miss { .. } => gone.push(key),
            }
        }
        if !gone.is_empty() {
            let mut guard = self.state.lock().await;
            if let Some(st) = guard.as_mut() {
                for k in &gone {
                    st.remove(k);
                }
            }
        }
        Ok(best)
    }

    /// Loads the index if it is not, else applies the feed's changes since its cursor.
    async fn current(&self, cache: &Cache, guard: &mut Option<State>) -> Result<()> {
        if guard.is_none() {
            *guard = Some(self.load(cache).await?);
            return Ok(());
        }
        loop {
            let cursor = guard.as_ref().map(|s| s.cursor.clone()).unwrap_or_default();
            let page = match self
                .feed
                .read(Some(&cursor), PAGE, Duration::ZERO)
                .run()
                .await
            {
                Ok(p) => p,
                Err(Error::Rescan(_)) => {
                    *guard = Some(self.load(cache).await?);
                    return Ok(());
                }
                Err(e) => return Err(e),
            };
            let n = page.changes.len();
            let st = guard
                .as_mut()
                .ok_or_else(|| Error::Backend("semantic index not loaded".into()))?;
            apply(cache, st, &page.changes).await?;
            st.cursor = page.cursor.encode();
            if n < PAGE {
                return Ok(());
            }
        }
    }

    /// The whole index, from the feed's end noted first.
    async fn load(&self, cache: &Cache) -> Result<State> {
        let cursor = self.feed.end().run().await?.encode();
        let mut st = State::empty(cursor);
        let mut after = String::new();
        loop {
            let page = cache.semantic_page(after.clone(), PAGE).run().await?;
            let (rows, next) = page;
            for (key, scope, v) in rows {
                st.put(key, scope, &v);
            }
            match next {
                Some(n) => after = n,
                None => return Ok(st),
            }
        }
    }
}

/// Applies feed entries: semantic entries written are read again (the last state wins, so an
/// entry seen twice does no harm), deleted ones removed.
async fn apply(cache: &Cache, st: &mut State, changes: &[changes::Change]) -> Result<()> {
    let mut reread: Vec<String> = Vec::new();
    for c in changes {
        let Some(key) = c.id.strip_prefix("sem:") else {
            continue;
        };
        match c.kind {
            changes::Kind::Deleted => {
                st.remove(key);
                reread.retain(|k| k != key);
            }
            _ => {
                if !reread.iter().any(|k| k == key) {
                    reread.push(key.to_string());
                }
            }
        }
    }
    for chunk in reread.chunks(super::MAX_BATCH) {
        let got = cache.semantic_rows(chunk.to_vec()).run().await?;
        for (key, row) in chunk.iter().zip(got) {
            match row {
                Some((scope, v)) => st.put(key.clone(), scope, &v),
                None => st.remove(key),
            }
        }
    }
    Ok(())
}
