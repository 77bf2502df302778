//! Keyword search: one tokenizer and one BM25 formula.
//!
//! The index is two plain maps, postings (term -> doc -> term frequency) and document lengths
//! (doc -> tokens), plus their totals; [`score`] is a pure function of them through the
//! [`Postings`] trait, so the same maps kept in the store rank the same way.
//!
//! The formula (Okapi BM25 with Lucene's non-negative idf), for each query token `t`, repeats
//! counted:
//!
//! ```text
//! idf(t)   = ln(1 + (N - n(t) + 0.5) / (n(t) + 0.5))
//! score(d) = sum over t of idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(d) / avglen))
//! ```
//!
//! with `N` documents, `n(t)` of them holding `t`, `avglen` the mean document length.

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;

use super::topk::TopK;
use super::Hit;
use crate::error::{Error, Result};

/// Words the tokenizer drops (English function words).
pub const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have", "if",
    "in", "into", "is", "it", "its", "of", "on", "or", "that", "the", "their", "then", "there",
    "these", "they", "this", "to", "was", "were", "will", "with",
];

/// The tokenizer: Unicode words (letters, digits, marks, underscore), lowercased, stop words
/// dropped.
pub fn tokenize(text: &str) -> Vec<String> {
    static WORD: OnceLock<Regex> = OnceLock::new();
    let word = WORD.get_or_init(|| Regex::new(r"\w+").expect("a valid pattern"));
    word.find_iter(text)
        .map(|m| m.as_str().to_lowercase())
        .filter(|t| !STOP_WORDS.contains(&t.as_str()))
        .collect()
}

/// BM25's two parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bm25Params {
    /// Term-frequency saturation (default 1.2).
    pub k1: f64,
    /// Length normalisation, 0..=1 (default 0.75).
    pub b: f64,
}

impl Default for Bm25Params {
    fn default() -> Self {
        Bm25Params { k1: 1.2, b: 0.75 }
    }
}

impl Bm25Params {
    /// Checks the parameters: `k1` finite and not negative, `b` in 0..=1.
    pub fn new(k1: f64, b: f64) -> Result<Self> {
        if !(k1.is_finite() && k1 >= 0.0) {
            return Err(Error::validation(format!("k1 must be >= 0, not {k1}")));
        }
        if !(0.0..=1.0).contains(&b) {
            return Err(Error::validation(format!(
                "b must be between 0 and 1, not {b}"
            )));
        }
        Ok(Bm25Params { k1, b })
    }
}

/// What scoring reads: the postings, the document lengths and their totals.
pub trait Postings {
    /// Documents indexed.
    fn doc_count(&self) -> u64;
    /// The sum of all document lengths.
    fn total_len(&self) -> u64;
    /// A document's length in tokens.
    fn doc_len(&self, doc: u64) -> Option<u32>;
    /// Calls `f(doc, tf)` for each document holding `term`.
    fn for_each_posting(&self, term: &str, f: &mut dyn FnMut(u64, u32));
    /// How many documents hold `term`.
    fn doc_freq(&self, term: &str) -> u64;
}

/// The inverse document frequency of a term held by `n` of `total` documents.
pub fn idf(n: u64, total: u64) -> f64 {
    let (n, total) = (n as f64, total as f64);
    (1.0 + (total - n + 0.5) / (n + 0.5)).ln()
}

/// One term's contribution to a document's score, before idf.
pub fn term_weight(tf: u32, len: u32, avg_len: f64, p: Bm25Params) -> f64 {
    let tf = f64::from(tf);
    let norm = if avg_len > 0.0 {
        1.0 - p.b + p.b * f64::from(len) / avg_len
    } else {
        1.0
    };
    tf * (p.k1 + 1.0) / (tf + p.k1 * norm)
}

/// The best `k` documents for already tokenized query terms, over any [`Postings`]; only
/// documents that `keep` accepts count.
pub fn score<P: Postings + ?Sized>(
    index: &P,
    terms: &[String],
    k: usize,
    p: Bm25Params,
    keep: &dyn Fn(u64) -> bool,
) -> Vec<Hit> {
    let total = index.doc_count();
    if total == 0 || k == 0 {
        return Vec::new();
    }
    let avg_len = index.total_len() as f64 / total as f64;
    let mut scores: HashMap<u64, f64> = HashMap::new();
    for term in terms {
        let w = idf(index.doc_freq(term), total);
        index.for_each_posting(term, &mut |doc, tf| {
            let len = index.doc_len(doc).unwrap_or(0);
            *scores.entry(doc).or_insert(0.0) += w * term_weight(tf, len, avg_len, p);
        });
    }
    let mut top = TopK::new(k);
    for (doc, s) in scores {
        if keep(doc) {
            top.push(Hit {
                id: doc,
                score: s as f32,
            });
        }
    }
    top.into_vec()
}

/// An in-memory keyword index, updated one document at a time.
#[derive(Debug, Clone, Default)]
pub struct Bm25Index {
    params: Bm25Params,
    /// term -> doc -> term frequency.
    postings: HashMap<String, HashMap<u64, u32>>,
    /// doc -> length in tokens.
    lengths: HashMap<u64, u32>,
    /// doc -> its distinct terms (to remove it without its text).
    terms: HashMap<u64, Vec<String>>,
    total_len: u64,
}

impl Bm25Index {
    pub fn new(params: Bm25Params) -> Self {
        Bm25Index {
            params,
            ..Default::default()
        }
    }

    pub fn params(&self) -> Bm25Params {
        self.params
    }

    pub fn len(&self) -> usize {
        self.lengths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lengths.is_empty()
    }

    /// The postings of a term (doc -> tf).
    pub fn postings(&self, term: &str) -> Option<&HashMap<u64, u32>> {
        self.postings.get(term)
    }

    /// Every document's length.
    pub fn lengths(&self) -> &HashMap<u64, u32> {
        &self.lengths
    }

    /// Indexes a document's text, replacing what the id had.
    pub fn add(&mut self, doc: u64, text: &str) {
        self.remove(doc);
        let tokens = tokenize(text);
        let mut tf: HashMap<String, u32> = HashMap::new();
        for t in tokens.iter() {
            *tf.entry(t.clone()).or_insert(0) += 1;
        }
        let len = u32::try_from(tokens.len()).unwrap_or(u32::MAX);
        let mut distinct = Vec::with_capacity(tf.len());
        for (term, n) in tf {
            self.postings
                .entry(term.clone())
                .or_default()
                .insert(doc, n);
            distinct.push(term);
        }
        self.lengths.insert(doc, len);
        self.terms.insert(doc, distinct);
        self.total_len += u64::from(len);
    }

    /// Indexes a document from its postings (term, tf) and length, as the store keeps them,
    /// replacing what the id had.
    pub fn add_terms(&mut self, doc: u64, len: u32, terms: &[(String, u32)]) {
        self.remove(doc);
        let mut distinct = Vec::with_capacity(terms.len());
        for (term, n) in terms {
            self.postings
                .entry(term.clone())
                .or_default()
                .insert(doc, *n);
            distinct.push(term.clone());
        }
        self.lengths.insert(doc, len);
        self.terms.insert(doc, distinct);
        self.total_len += u64::from(len);
    }

    /// Removes a document; false if it was not indexed.
    pub fn remove(&mut self, doc: u64) -> bool {
        let Some(len) = self.lengths.remove(&doc) else {
            return false;
        };
        self.total_len -= u64::from(len);
        for term in self.terms.remove(&doc).unwrap_or_default() {
            if let Some(list) = self.postings.get_mut(&term) {
                list.remove(&doc);
                if list.is_empty() {
                    self.postings.remove(&term);
                }
            }
        }
        true
    }

    /// The best `k` documents for a query text.
    pub fn search(&self, query: &str, k: usize) -> Vec<Hit> {
        self.search_where(query, k, &|_| true)
    }

    /// [`search`](Self::search) over the documents `keep` accepts.
    pub fn search_where(&self, query: &str, k: usize, keep: &dyn Fn(u64) -> bool) -> Vec<Hit> {
        score(self, &tokenize(query), k, self.params, keep)
    }

    /// The number of distinct terms indexed.
    pub fn term_count(&self) -> usize {
        self.postings.len()
    }
}

impl Postings for Bm25Index {
    fn doc_count(&self) -> u64 {
        self.lengths.len() as u64
    }

    fn total_len(&self) -> u64 {
        self.total_len
    }

    fn doc_len(&self, doc: u64) -> Option<u32> {
        self.lengths.get(&doc).copied()
    }

    fn for_each_posting(&self, term: &str, f: &mut dyn FnMut(u64, u32)) {
        if let Some(list) = self.postings.get(term) {
            for (&doc, &tf) in list {
                f(doc, tf);
            }
        }
    }

    fn doc_freq(&self, term: &str) -> u64 {
        self.postings.get(term).map_or(0, |l| l.len() as u64)
    }
}
