//! A vector space: a fixed dimension and metric, rows kept in one contiguous `f32` buffer and
//! addressed by a `u64` row id.
//!
//! - `Metric::Cosine` stores each row normalised to unit length (and normalises the query), so
//!   the score is the dot product; `Metric::Dot` stores rows as given.
//! - Exact search scans every row. Quantised search (when the space is made with
//!   `quantized = true`) scans an int8 copy of the rows, one scale per row (the row's largest
//!   magnitude maps to 127, codes are -127..=127), keeps the best `2 * k * rerank` candidates
//!   and re-ranks them exactly against the `f32` rows, so the scores it returns are exact.
//! - A filtered search asks its filter as rarely as it can: of the best candidates in rank
//!   order until enough pass, and of every row good enough to enter only when most fail.
//! - Scans run the kernels of [`super::kernels`] (AVX2 and FMA found at run time, plain code
//!   elsewhere), block by block, split over the machine's cores when the rows are many.
//! - Removing a row moves the last row into its place (the storage stays contiguous); results
//!   never depend on row order: equal scores are broken by the lower id.
//! - Wrong dimensions, NaN or infinity (and a zero vector under cosine) are `Error::Validation`.

use std::collections::HashMap;

use super::kernels::Kernels;
use super::topk::{sort_hits, TopK};
use super::Hit;
use crate::error::{Error, Result};

/// The largest dimension a space accepts.
pub const MAX_DIM: usize = 65_536;

/// How many candidates per wanted hit the quantised scan keeps for exact re-ranking, by default.
pub const DEFAULT_RERANK: usize = 8;

/// Below this many rows a scan runs on one thread (spawning costs more than it saves).
const PARALLEL_MIN_ROWS: usize = 16_384;

/// Rows whose dot products a scan computes in one kernel call before ranking them.
const BLOCK: usize = 256;

/// How a space scores a query against a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Cosine similarity: rows and queries are normalised, the score is in [-1, 1].
    Cosine,
    /// The plain dot product.
    Dot,
}

impl Metric {
    /// Parses `"cosine"` or `"dot"`.
    pub fn parse(name: &str) -> Result<Metric> {
        match name {
            "cosine" => Ok(Metric::Cosine),
            "dot" => Ok(Metric::Dot),
            other => Err(Error::validation(format!(
                "metric must be 'cosine' or 'dot', not {other:?}"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Metric::Cosine => "cosine",
            Metric::Dot => "dot",
        }
    }
}

/// A vector space (see the module docs).
#[derive(Debug, Clone)]
pub struct VectorSpace {
    dim: usize,
    metric: Metric,
    quantized: bool,
    rerank: usize,
    ids: Vec<u64>,
    rows: Vec<f32>,
    pos: HashMap<u64, usize>,
    /// The int8 copy (quantised spaces only): `dim` codes per row, and one scale per row.
    codes: Vec<i8>,
    scales: Vec<f32>,
}

impl VectorSpace {
    /// A new empty space. `dim` is 1..=[`MAX_DIM`].
    pub fn new(dim: usize, metric: Metric, quantized: bool) -> Result<Self> {
        if dim == 0 || dim > MAX_DIM {
            return Err(Error::validation(format!(
                "dimension must be between 1 and {MAX_DIM}, not {dim}"
            )));
        }
        Ok(VectorSpace {
            dim,
            metric,
            quantized,
            rerank: DEFAULT_RERANK,
            ids: Vec::new(),
            rows: Vec::new(),
            pos: HashMap::new(),
            codes: Vec::new(),
            scales: Vec::new(),
        })
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn metric(&self) -> Metric {
        self.metric
    }

    pub fn quantized(&self) -> bool {
        self.quantized
    }

    /// Candidates per wanted hit that the quantised scan re-ranks exactly.
    pub fn rerank(&self) -> usize {
        self.rerank
    }

    /// Sets the re-rank factor (at least 1).
    pub fn set_rerank(&mut self, factor: usize) -> Result<()> {
        if factor == 0 {
            return Err(Error::validation("the re-rank factor must be at least 1"));
        }
        self.rerank = factor;
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn contains(&self, id: u64) -> bool {
        self.pos.contains_key(&id)
    }

    /// The stored row of `id` (normalised under cosine).
    pub fn get(&self, id: u64) -> Option<&[f32]> {
        self.pos.get(&id).map(|&p| self.row(p))
    }

    /// Row ids in storage order.
    pub fn ids(&self) -> &[u64] {
        &self.ids
    }

    /// Bytes held by rows, ids, the int8 copy and the id map (an estimate of the map's part).
    pub fn memory_bytes(&self) -> usize {
        let n = self.ids.capacity();
        self.rows.capacity() * 4
            + n * 8
            + self.codes.capacity()
            + self.scales.capacity() * 4
            // hashbrown: key + value + one control byte per bucket, at most 7/8 full.
            + self.pos.capacity() * (8 + 8 + 1) * 8 / 7
    }

    #[inline]
    fn row(&self, p: usize) -> &[f32] {
        &self.rows[p * self.dim..(p + 1) * self.dim]
    }

    /// Checks a vector's length and values and returns it as stored (normalised under cosine).
    fn prepare(&self, v: &[f32], what: &str) -> Result<Vec<f32>> {
        if v.len() != self.dim {
            return Err(Error::validation(format!(
                "{what} has dimension {}, the space has {}",
                v.len(),
                self.dim
            )));
        }
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(Error::validation(format!(
                "{what} has a non-finite value ({}) at index {i}",
                v[i]
            )));
        }
        let mut out = v.to_vec();
        if self.metric == Metric::Cosine {
            let norm = v
                .iter()
                .map(|&x| f64::from(x) * f64::from(x))
                .sum::<f64>()
                .sqrt();
            if norm == 0.0 {
                return Err(Error::validation(format!(
                    "{what} is all zeros: cosine is undefined for it"
                )));
            }
            for x in &mut out {
                *x = (f64::from(*x) / norm) as f32;
            }
        }
        Ok(out)
    }

    /// Adds a row, or replaces the row of an id that is already there.
    pub fn add(&mut self, id: u64, v: &[f32]) -> Result<()> {
        let row = self.prepare(v, "the vector")?;
        self.put(id, &row);
        Ok(())
    }

    /// Adds many rows from a row-major matrix (`ids.len()` rows of `dim`), all or none: every
    /// row is checked before any is stored.
    pub fn add_many(&mut self, ids: &[u64], matrix: &[f32]) -> Result<()> {
        if matrix.len() != ids.len() * self.dim {
            return Err(Error::validation(format!(
                "{} ids need a {} x {} matrix, got {} values",
                ids.len(),
                ids.len(),
                self.dim,
                matrix.len()
            )));
        }
        let mut prepared = Vec::with_capacity(matrix.len());
        for (i, v) in matrix.chunks_exact(self.dim).enumerate() {
            prepared.extend(self.prepare(v, &format!("row {i}"))?);
        }
        // Exactly what the batch needs (not the doubling of a growing Vec): a space loaded
        // page by page would otherwise hold up to twice its rows.
        self.rows.reserve_exact(matrix.len());
        self.ids.reserve_exact(ids.len());
        if self.quantized {
            self.codes.reserve_exact(matrix.len());
            self.scales.reserve_exact(ids.len());
        }
        for (id, row) in ids.iter().zip(prepared.chunks_exact(self.dim)) {
            self.put(*id, row);
        }
        Ok(())
    }

    fn put(&mut self, id: u64, row: &[f32]) {
        let p = match self.pos.get(&id) {
            Some(&p) => {
                self.rows[p * self.dim..(p + 1) * self.dim].copy_from_slice(row);
                p
            }
            None => {
                let p = self.ids.len();
                self.ids.push(id);
                self.rows.extend_from_slice(row);
                self.pos.insert(id, p);
                if self.quantized {
                    self.codes.resize((p + 1) * self.dim, 0);
                    self.scales.push(0.0);
                }
                p
            }
        };
        if self.quantized {
            let scale = quantize(row, &mut self.codes[p * self.dim..(p + 1) * self.dim]);
            self.scales[p] = scale;
        }
    }

    /// Removes a row; false if the id was not there.
    pub fn remove(&mut self, id: u64) -> bool {
        let Some(p) = self.pos.remove(&id) else {
            return false;
        };
        let last = self.ids.len() - 1;
        let d = self.dim;
        if p != last {
            let moved = self.ids[last];
            self.ids[p] = moved;
            self.rows.copy_within(last * d..(last + 1) * d, p * d);
            if self.quantized {
                self.codes.copy_within(last * d..(last + 1) * d, p * d);
                self.scales[p] = self.scales[last];
            }
            self.pos.insert(moved, p);
        }
        self.ids.pop();
        self.rows.truncate(last * d);
        if self.quantized {
            self.codes.truncate(last * d);
            self.scales.pop();
        }
        true
    }

    /// Top `k`: quantised and re-ranked when the space is quantised, exact otherwise.
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<Hit>> {
        self.search_where(query, k, &|_| true)
    }

    /// [`search`](Self::search) over the rows whose id `keep` accepts.
    pub fn search_where(
        &self,
        query: &[f32],
        k: usize,
        keep: &(dyn Fn(u64) -> bool + Sync),
    ) -> Result<Vec<Hit>> {
        if self.quantized {
            self.search_quantized_where(query, k, self.rerank, keep)
        } else {
            self.search_exact_where(query, k, keep)
        }
    }

    /// Exact top `k` over every row.
    pub fn search_exact(&self, query: &[f32], k: usize) -> Result<Vec<Hit>> {
        self.search_exact_where(query, k, &|_| true)
    }

    fn search_exact_where(
        &self,
        query: &[f32],
        k: usize,
        keep: &(dyn Fn(u64) -> bool + Sync),
    ) -> Result<Vec<Hit>> {
        let q = self.prepare(query, "the query")?;
        let d = self.dim;
        let kern = Kernels::detect();
        Ok(self.best(k, keep, &|lo, hi, out| {
            kern.dots_f32(&q, &self.rows[lo * d..hi * d], out);
        }))
    }

    /// Quantised top `k`: scans the int8 copy, keeps `k * rerank` candidates and re-ranks them
    /// exactly. On a space made without quantisation this is the exact search.
    pub fn search_quantized(&self, query: &[f32], k: usize, rerank: usize) -> Result<Vec<Hit>> {
        self.search_quantized_where(query, k, rerank, &|_| true)
    }

    fn search_quantized_where(
        &self,
        query: &[f32],
        k: usize,
        rerank: usize,
        keep: &(dyn Fn(u64) -> bool + Sync),
    ) -> Result<Vec<Hit>> {
        if !self.quantized {
            return self.search_exact_where(query, k, keep);
        }
        let q = self.prepare(query, "the query")?;
        let d = self.dim;
        let mut qcodes = vec![0i8; d];
        let qscale = quantize(&q, &mut qcodes);
        let cap = k.saturating_mul(rerank.max(1));
        let kern = Kernels::detect();
        let dots = |lo: usize, hi: usize, out: &mut [f32]| {
            let mut dots = [0i32; BLOCK];
            let dots = &mut dots[..hi - lo];
            kern.dots_i8(&qcodes, &self.codes[lo * d..hi * d], dots);
            for ((o, &dot), &scale) in out.iter_mut().zip(dots.iter()).zip(&self.scales[lo..hi]) {
                *o = dot as f32 * scale * qscale;
            }
        };
        // Candidates carry their position in `id`; re-ranked exactly, they get their ids.
        let rerank = |cand: Vec<Hit>| -> Vec<Hit> {
            let mut hits: Vec<Hit> = cand
                .into_iter()
                .map(|c| {
                    let p = c.id as usize;
                    Hit {
                        id: self.ids[p],
                        score: kern.dot_f32(&q, self.row(p)),
                    }
                })
                .collect();
            sort_hits(&mut hits);
            hits
        };
        // The best `2 x cap` by the int8 scan without the filter, re-ranked exactly; the
        // filter then runs in exact order until `k` pass (a filter can cost far more than a
        // re-rank: it is asked about `k` rows, not about every row good enough to enter).
        let wide = cap.saturating_mul(2);
        let cand = self.scan(wide, &|_| true, false, &dots);
        let all = cand.len() < wide;
        let mut hits = Vec::with_capacity(k);
        for h in rerank(cand) {
            if hits.len() == k {
                break;
            }
            if keep(h.id) {
                hits.push(h);
            }
        }
        if hits.len() == k || all {
            return Ok(hits);
        }
        // The filter rejected most of them: the best `cap` rows it accepts, re-ranked.
        let mut hits = rerank(self.scan(cap, keep, false, &dots));
        hits.truncate(k);
        Ok(hits)
    }

    /// The best `cap` rows that `keep` accepts, best first, scored block by block by
    /// `dots(lo, hi, out)` (rows `lo..hi` into `out`).
    ///
    /// The filter is asked as little as it can be: a first scan keeps the best `2 x cap` rows
    /// without it, then the filter runs on them in rank order until `cap` pass (the result
    /// is then exactly the filtered best, since every other row ranks below them). Only when
    /// it rejects more than that does a second scan ask it of every row good enough to enter.
    fn best<F>(&self, cap: usize, keep: &(dyn Fn(u64) -> bool + Sync), dots: &F) -> Vec<Hit>
    where
        F: Fn(usize, usize, &mut [f32]) + Sync,
    {
        let wide = cap.saturating_mul(2);
        let candidates = self.scan(wide, &|_| true, true, dots);
        let mut out = Vec::with_capacity(cap.min(candidates.len()));
        for h in &candidates {
            if out.len() == cap {
                return out;
            }
            if keep(h.id) {
                out.push(*h);
            }
        }
        if out.len() == cap || candidates.len() < wide {
            // Enough passed, or every row was a candidate.
            return out;
        }
        self.scan(cap, keep, true, dots)
    }

    /// One scan: the best `cap` rows `keep` accepts (asked of each row good enough to enter),
    /// best first, by the scores `dots(lo, hi, out)` writes for rows `lo..hi`; a hit's `id`
    /// is the row's id when `by_id`, else its position.
    fn scan<F>(
        &self,
        cap: usize,
        keep: &(dyn Fn(u64) -> bool + Sync),
        by_id: bool,
        dots: &F,
    ) -> Vec<Hit>
    where
        F: Fn(usize, usize, &mut [f32]) + Sync,
    {
        self.parallel(cap, |lo, hi| {
            let mut top = TopK::new(cap);
            let mut scores = [0f32; BLOCK];
            for start in (lo..hi).step_by(BLOCK) {
                let end = (start + BLOCK).min(hi);
                let scores = &mut scores[..end - start];
                dots(start, end, scores);
                for (p, &score) in (start..end).zip(scores.iter()) {
                    if score >= top.threshold() && keep(self.ids[p]) {
                        let id = if by_id { self.ids[p] } else { p as u64 };
                        top.push(Hit { id, score });
                    }
                }
            }
            top
        })
        .into_vec()
    }

    /// Runs `scan(lo, hi)` over row ranges, on several threads when the rows are many, and
    /// merges the best `cap`.
    fn parallel<F>(&self, cap: usize, scan: F) -> TopK
    where
        F: Fn(usize, usize) -> TopK + Sync,
    {
        let n = self.len();
        let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
        if cap == 0 || n < PARALLEL_MIN_ROWS || threads < 2 {
            return scan(0, n);
        }
        let parts = threads.min(n / (PARALLEL_MIN_ROWS / 2)).max(2);
        let step = n.div_ceil(parts);
        std::thread::scope(|s| {
            let scan = &scan;
            let handles: Vec<_> = (1..parts)
                .map(|i| s.spawn(move || scan(i * step, ((i + 1) * step).min(n))))
                .collect();
            let mut top = scan(0, step.min(n));
            for h in handles {
                match h.join() {
                    Ok(t) => top.merge(t),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            top
        })
    }
}

/// Writes `v`'s int8 codes (symmetric, the largest magnitude maps to 127) and returns the
/// scale that turns a code back into a value.
fn quantize(v: &[f32], out: &mut [i8]) -> f32 {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    if max == 0.0 {
        out.fill(0);
        return 0.0;
    }
    let scale = max / 127.0;
    for (o, x) in out.iter_mut().zip(v) {
        *o = (x / scale).round().clamp(-127.0, 127.0) as i8;
    }
    scale
}
