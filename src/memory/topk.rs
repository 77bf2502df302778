//! A bounded best-k list: higher score first, ties broken by the lower id so every ranking
//! here is deterministic.

use super::Hit;

/// Whether `a` ranks before `b`: higher score, then lower id.
#[inline(always)]
pub fn ranks_before(a: &Hit, b: &Hit) -> bool {
    a.score > b.score || (a.score == b.score && a.id < b.id)
}

/// Sorts hits best first (score descending, then id ascending).
pub fn sort_hits(hits: &mut [Hit]) {
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
}

/// Keeps the best `cap` hits offered to it, sorted best first.
pub struct TopK {
    cap: usize,
    hits: Vec<Hit>,
}

impl TopK {
    pub fn new(cap: usize) -> Self {
        TopK {
            cap,
            hits: Vec::with_capacity(cap + 1),
        }
    }

    /// The score a new hit must reach to enter (`-inf` while there is room, `inf` for a cap of 0).
    #[inline(always)]
    pub fn threshold(&self) -> f32 {
        if self.cap == 0 {
            f32::INFINITY
        } else if self.hits.len() < self.cap {
            f32::NEG_INFINITY
        } else {
            self.hits[self.cap - 1].score
        }
    }

    /// Offers a hit; kept if it ranks among the best `cap`.
    #[inline(always)]
    pub fn push(&mut self, hit: Hit) {
        if self.cap == 0 {
            return;
        }
        if self.hits.len() == self.cap && !ranks_before(&hit, &self.hits[self.cap - 1]) {
            return;
        }
        let at = self.hits.partition_point(|h| ranks_before(h, &hit));
        self.hits.insert(at, hit);
        self.hits.truncate(self.cap);
    }

    /// Merges another list's hits into this one.
    pub fn merge(&mut self, other: TopK) {
        for h in other.hits {
            self.push(h);
        }
    }

    pub fn into_vec(self) -> Vec<Hit> {
        self.hits
    }
}
