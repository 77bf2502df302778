//! A small deterministic embedder for demos and tests: feature hashing of words and character
//! n-grams. It needs no model and no network, gives the same vector for the same text in every
//! process and on every platform, and places texts that share words or word pieces near each
//! other under cosine similarity. It is not a language model: paraphrases with no words in
//! common are not found similar.
//!
//! Features of a text: each token of [`super::bm25::tokenize`] (Unicode words, lowercased,
//! stop words dropped) with weight 1, and each character n-gram of `<token>` (the token with
//! boundary marks, `n` from `ngram_min` to `ngram_max`) with weight [`NGRAM_WEIGHT`]. Each
//! feature is hashed with 64-bit FNV-1a: the hash modulo `dim` picks the coordinate, its top
//! bit the sign (signed feature hashing, so collisions cancel on average instead of piling
//! up). The vector is scaled to unit length. A text without tokens gets the vector of one
//! fixed feature, so every text has a usable unit vector.

use super::bm25::tokenize;
use crate::error::{Error, Result};

/// Weight of one character n-gram (a token counts 1).
pub const NGRAM_WEIGHT: f32 = 0.25;
/// Largest dimension.
pub const MAX_DIM: usize = 65_536;
/// Longest n-gram.
pub const MAX_NGRAM: usize = 16;
/// Texts from which [`HashEmbedder::embed_into`] splits the work over the machine's cores.
pub const PARALLEL_FROM: usize = 512;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
/// The feature of a text without tokens.
const EMPTY: &[u8] = b"\x00empty";

fn fnv1a(kind: u8, bytes: &[u8]) -> u64 {
    let mut h = FNV_OFFSET;
    for &b in std::iter::once(&kind).chain(bytes) {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// The hashing embedder's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashEmbedder {
    dim: usize,
    ngram_min: usize,
    ngram_max: usize,
}

impl HashEmbedder {
    /// An embedder of `dim` dimensions (1..=65,536) with character n-grams of `ngram_min` to
    /// `ngram_max` characters (0 for both: words only).
    pub fn new(dim: usize, ngram_min: usize, ngram_max: usize) -> Result<Self> {
        if dim == 0 || dim > MAX_DIM {
            return Err(Error::validation(format!(
                "dim must be 1 to {MAX_DIM}, got {dim}"
            )));
        }
        let words_only = ngram_min == 0 && ngram_max == 0;
        if !words_only && (ngram_min == 0 || ngram_min > ngram_max || ngram_max > MAX_NGRAM) {
            return Err(Error::validation(format!(
                "ngrams must be (0, 0) or 1 <= min <= max <= {MAX_NGRAM}, got \
                 ({ngram_min}, {ngram_max})"
            )));
        }
        Ok(HashEmbedder {
            dim,
            ngram_min,
            ngram_max,
        })
    }

    /// Its dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    fn add(&self, out: &mut [f32], kind: u8, bytes: &[u8], weight: f32) {
        let h = fnv1a(kind, bytes);
        let i = (h % self.dim as u64) as usize;
        out[i] += if h >> 63 == 1 { -weight } else { weight };
    }

    /// Writes the unit vector of `text` into `out` (length `dim`).
    pub fn embed_one(&self, text: &str, out: &mut [f32]) {
        debug_assert_eq!(out.len(), self.dim);
        out.fill(0.0);
        let mut any = false;
        let mut chars: Vec<char> = Vec::new();
        let mut gram = String::new();
        for token in tokenize(text) {
            any = true;
            self.add(out, b'w', token.as_bytes(), 1.0);
            if self.ngram_max == 0 {
                continue;
            }
            chars.clear();
            chars.push('<');
            chars.extend(token.chars());
            chars.push('>');
            for n in self.ngram_min..=self.ngram_max.min(chars.len()) {
                for w in chars.windows(n) {
                    gram.clear();
                    gram.extend(w);
                    self.add(out, b'g', gram.as_bytes(), NGRAM_WEIGHT);
                }
            }
        }
        if !any {
            self.add(out, b'e', EMPTY, 1.0);
        }
        let norm = out.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            out.iter_mut().for_each(|x| *x /= norm);
        } else {
            // Every feature cancelled out (vanishingly rare): the fixed feature, a unit vector.
            self.add(out, b'e', EMPTY, 1.0);
        }
    }

    /// Writes the vectors of `texts` into `out` (`texts.len() × dim`, row-major), on every
    /// core from [`PARALLEL_FROM`] texts on.
    pub fn embed_into<S: AsRef<str> + Sync>(&self, texts: &[S], out: &mut [f32]) {
        debug_assert_eq!(out.len(), texts.len() * self.dim);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        if texts.len() < PARALLEL_FROM || cores < 2 {
            for (t, row) in texts.iter().zip(out.chunks_exact_mut(self.dim)) {
                self.embed_one(t.as_ref(), row);
            }
            return;
        }
        let per = texts.len().div_ceil(cores);
        std::thread::scope(|s| {
            for (ts, rows) in texts.chunks(per).zip(out.chunks_mut(per * self.dim)) {
                s.spawn(move || {
                    for (t, row) in ts.iter().zip(rows.chunks_exact_mut(self.dim)) {
                        self.embed_one(t.as_ref(), row);
                    }
                });
            }
        });
    }

    /// The vectors of `texts`, row-major.
    pub fn embed<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Vec<f32> {
        let mut out = vec![0.0; texts.len() * self.dim];
        self.embed_into(texts, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn cos(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn vectors_are_unit_length_and_deterministic() {
        let e = HashEmbedder::new(64, 3, 5).unwrap();
        let texts = ["The user lives in Paris", "", "   ", "naïve café ☕ 東京"];
        let a = e.embed(&texts);
        let b = e.embed(&texts);
        assert_eq!(a, b);
        for row in a.chunks(64) {
            let n: f32 = row.iter().map(|x| x * x).sum();
            assert!((n - 1.0).abs() < 1e-5, "norm {n}");
        }
        // Empty and blank texts share the fixed feature's vector.
        assert_eq!(a[64..128], a[128..192]);
    }

    #[test]
    fn shared_words_are_closer_than_unrelated_text() {
        let e = HashEmbedder::new(384, 3, 5).unwrap();
        let v = e.embed(&[
            "the user moved to Berlin last year",
            "last year the user moved to berlin",
            "user relocated to Berlin",
            "quarterly invoice totals for the billing team",
        ]);
        let r = |i: usize| &v[i * 384..(i + 1) * 384];
        assert!(cos(r(0), r(1)) > 0.99, "same words, other order");
        assert!(cos(r(0), r(2)) > cos(r(0), r(3)) + 0.2);
    }

    #[test]
    fn parallel_and_serial_give_the_same_rows() {
        let e = HashEmbedder::new(32, 2, 4).unwrap();
        let texts: Vec<String> = (0..PARALLEL_FROM * 2 + 7)
            .map(|i| format!("text number {i} about topic {}", i % 13))
            .collect();
        let all = e.embed(&texts);
        for (i, t) in texts.iter().enumerate().step_by(97) {
            let mut one = vec![0.0; 32];
            e.embed_one(t, &mut one);
            assert_eq!(&all[i * 32..(i + 1) * 32], &one[..]);
        }
    }

    #[test]
    fn settings_are_checked() {
        assert!(HashEmbedder::new(0, 3, 5).is_err());
        assert!(HashEmbedder::new(MAX_DIM + 1, 3, 5).is_err());
        assert!(HashEmbedder::new(8, 4, 3).is_err());
        assert!(HashEmbedder::new(8, 0, 3).is_err());
        assert!(HashEmbedder::new(8, 1, MAX_NGRAM + 1).is_err());
        assert!(HashEmbedder::new(8, 0, 0).is_ok());
    }

    #[test]
    fn a_known_vector_stays_the_same() {
        // Pins the hash and the features: a change here changes every stored embedding.
        let e = HashEmbedder::new(8, 0, 0).unwrap();
        let v = e.embed(&["paris"]);
        let h = fnv1a(b'w', b"paris");
        let i = (h % 8) as usize;
        let sign = if h >> 63 == 1 { -1.0 } else { 1.0 };
        let mut want = vec![0.0; 8];
        want[i] = sign;
        assert_eq!(v, want);
        // FNV-1a's published 64-bit test vector: "a".
        assert_eq!(fnv1a(b'a', b""), 0xaf63_dc4c_8601_ec8c);
    }
}
