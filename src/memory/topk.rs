//! A bounded best-k list: higher score first, ties broken by the lower id so every ranking
//! here is deterministic.

use std::cmp::Ordering;

use super::Hit;

/// Whether `a` ranks before `b`: higher score, then lower id.
#[inline(always)]
pub fn ranks_before(a: &Hit, b: &Hit) -> bool {
    a.score > b.score || (a.score == b.score && a.id < b.id)
}

/// The ranking order: best first.
#[inline]
fn order(a: &Hit, b: &Hit) -> Ordering {
    b.score.total_cmp(&a.score).then(a.id.cmp(&b.id))
}

/// Sorts hits best first (score descending, then id ascending).
pub fn sort_hits(hits: &mut [Hit]) {
    hits.sort_by(order);
}

/// Keeps the best `cap` hits offered to it. Hits gather unsorted in a buffer of up to twice
/// `cap`; when it is full the best `cap` are selected (linear time) and the worst of them
/// becomes the bar a new hit must pass. A `cap` far above the hits offered costs nothing.
pub struct TopK {
    cap: usize,
    hits: Vec<Hit>,
    floor: Option<Hit>,
}

impl TopK {
    pub fn new(cap: usize) -> Self {
        TopK {
            cap,
            hits: Vec::with_capacity(cap.saturating_mul(2).min(1 << 12)),
            floor: None,
        }
    }

    /// The score a new hit must reach to enter (`-inf` until the list first fills, `inf`
    /// for a cap of 0).
    #[inline(always)]
    pub fn threshold(&self) -> f32 {
        if self.cap == 0 {
            return f32::INFINITY;
        }
        self.floor.map_or(f32::NEG_INFINITY, |f| f.score)
    }

    /// Offers a hit; kept if it may rank among the best `cap`.
    #[inline(always)]
    pub fn push(&mut self, hit: Hit) {
        if self.cap == 0 || self.floor.is_some_and(|f| !ranks_before(&hit, &f)) {
            return;
        }
        self.hits.push(hit);
        if self.hits.len() >= self.cap.saturating_mul(2) {
            self.compact();
        }
    }

    /// Keeps the best `cap` of the buffer and raises the bar to the worst of them.
    fn compact(&mut self) {
        if self.hits.len() > self.cap {
            self.hits.select_nth_unstable_by(self.cap - 1, order);
            self.hits.truncate(self.cap);
        }
        if self.hits.len() == self.cap {
            // After the selection the last kept hit is the worst of them (or, when the buffer
            // held exactly `cap`, any: find it).
            self.floor = self
                .hits
                .iter()
                .copied()
                .reduce(|a, b| if ranks_before(&a, &b) { b } else { a });
        }
    }

    /// Merges another list's hits into this one.
    pub fn merge(&mut self, other: TopK) {
        for h in other.hits {
            self.push(h);
        }
    }

    /// The best `cap`, best first.
    pub fn into_vec(mut self) -> Vec<Hit> {
        sort_hits(&mut self.hits);
        self.hits.truncate(self.cap);
        self.hits
    }
}
