//! The retrieval core of `hub.memory`: pure Rust, no store and no PyO3.
//!
//! - [`vector`]: a vector space of fixed dimension and metric over contiguous `f32` rows, with
//!   exact top-k and an int8 quantised scan re-ranked exactly; SIMD chosen at run time, both
//!   cores on large scans.
//! - [`bm25`]: one tokenizer and one BM25 formula over postings (term -> (doc, tf), doc ->
//!   length), the scoring a pure function of those maps so they can live in the store.
//! - [`embed`]: a deterministic offline embedder (feature hashing of words and n-grams).
//! - [`fusion`]: reciprocal rank fusion and weighted sums of ranked lists; every fused hit keeps
//!   each signal's score and rank.
//!
//! [`store`] is the store-backed capability `hub.memory` (records with two times, the graph,
//! postings and vectors in the store); the search over it sits on top of these.

pub mod bm25;
pub mod embed;
pub mod fusion;
mod kernels;
pub mod search;
pub mod store;
pub mod topk;
pub mod vector;

#[cfg(test)]
mod tests;

/// One result of a ranked search: a row or document id and its score (higher is better).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub id: u64,
    pub score: f32,
}
