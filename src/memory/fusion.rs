//! Fusing ranked lists (keyword, vector, graph, ...) into one ranking.
//!
//! Each input list is in rank order, best first (rank 1). Every fused hit keeps, for each
//! input list, the score and rank it had there (`None` where the list did not hold it), so a
//! caller can see why it ranks where it does.
//!
//! - Reciprocal rank fusion: `score = sum over lists of weight / (k + rank)`, `k` = 60 by
//!   default, weights 1 by default. Scores of different scales never meet, only ranks.
//! - Weighted sum: `score = sum over lists of weight * normalised score`, each list's scores
//!   normalised to 0..=1 by its own minimum and maximum (a list whose scores are all equal
//!   gives 1 to each), a missing hit counting 0.
//!
//! Ties in the fused score go to the lower id.

use std::collections::HashMap;

use super::topk::sort_hits;
use super::Hit;
use crate::error::{Error, Result};

/// The default `k` of reciprocal rank fusion.
pub const RRF_K: f64 = 60.0;

/// How lists are fused.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fusion {
    /// Reciprocal rank fusion with this `k`.
    Rrf { k: f64 },
    /// Weighted sum of min-max normalised scores.
    Weighted,
}

impl Default for Fusion {
    fn default() -> Self {
        Fusion::Rrf { k: RRF_K }
    }
}

impl Fusion {
    /// Parses `"rrf"` (with the default `k`) or `"weighted"`.
    pub fn parse(name: &str) -> Result<Fusion> {
        match name {
            "rrf" => Ok(Fusion::default()),
            "weighted" => Ok(Fusion::Weighted),
            other => Err(Error::validation(format!(
                "fusion must be 'rrf' or 'weighted', not {other:?}"
            ))),
        }
    }
}

/// A hit's place in one input list.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SignalScore {
    /// The score the list gave it.
    pub score: f32,
    /// Its rank there, 1 for the first.
    pub rank: u32,
}

/// One fused result.
#[derive(Debug, Clone, PartialEq)]
pub struct FusedHit {
    pub id: u64,
    /// The fused score (higher is better).
    pub score: f64,
    /// Per input list, in the order the lists were given.
    pub signals: Vec<Option<SignalScore>>,
}

/// Fuses `lists` (each best first) into the best `limit` hits. `weights`, when given, has one
/// finite, non-negative weight per list (default 1 each).
pub fn fuse(
    lists: &[&[Hit]],
    method: Fusion,
    weights: Option<&[f64]>,
    limit: usize,
) -> Result<Vec<FusedHit>> {
    let weights = match weights {
        Some(w) if w.len() != lists.len() => {
            return Err(Error::validation(format!(
                "{} weights for {} ranked lists",
                w.len(),
                lists.len()
            )))
        }
        Some(w) => {
            if let Some(bad) = w.iter().find(|x| !(x.is_finite() && **x >= 0.0)) {
                return Err(Error::validation(format!(
                    "weights must be finite and not negative, not {bad}"
                )));
            }
            w.to_vec()
        }
        None => vec![1.0; lists.len()],
    };
    if let Fusion::Rrf { k } = method {
        if !(k.is_finite() && k >= 0.0) {
            return Err(Error::validation(format!(
                "the rank constant k must be >= 0, not {k}"
            )));
        }
    }
    let mut order: Vec<u64> = Vec::new();
    let mut fused: HashMap<u64, FusedHit> = HashMap::new();
    for (li, list) in lists.iter().enumerate() {
        let (lo, hi) = list
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), h| {
                (lo.min(f64::from(h.score)), hi.max(f64::from(h.score)))
            });
        for (ri, h) in list.iter().enumerate() {
            let entry = fused.entry(h.id).or_insert_with(|| {
                order.push(h.id);
                FusedHit {
                    id: h.id,
                    score: 0.0,
                    signals: vec![None; lists.len()],
                }
            });
            if entry.signals[li].is_some() {
                continue; // an id listed twice counts at its best rank
            }
            let rank = ri + 1;
            entry.signals[li] = Some(SignalScore {
                score: h.score,
                rank: u32::try_from(rank).unwrap_or(u32::MAX),
            });
            entry.score += weights[li]
                * match method {
                    Fusion::Rrf { k } => 1.0 / (k + rank as f64),
                    Fusion::Weighted if hi > lo => (f64::from(h.score) - lo) / (hi - lo),
                    Fusion::Weighted => 1.0,
                };
        }
    }
    let mut out: Vec<FusedHit> = order
        .into_iter()
        .filter_map(|id| fused.remove(&id))
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    out.truncate(limit);
    Ok(out)
}

/// Sorts a list best first, the order [`fuse`] expects (for callers whose signal comes
/// unsorted, such as graph distances turned into scores).
pub fn ranked(mut hits: Vec<Hit>) -> Vec<Hit> {
    sort_hits(&mut hits);
    hits
}
