//! The graph's rules: edges with valid time, invalidation of exclusive relations (kept with
//! its transaction time), and the breadth-first walk. Both engines use these functions.

use std::collections::{HashMap, VecDeque};

/// One stored edge.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub id: u64,
    /// The canonical scope.
    pub scope: String,
    pub src: String,
    pub relation: String,
    pub dst: String,
    /// Valid time (ms): from, and to as stored (None: open).
    pub valid_from: i64,
    pub valid_to: Option<i64>,
    pub confidence: f64,
    /// JSON text.
    pub metadata: Option<String>,
    /// The vector space of its embedding, if it has one.
    pub space: Option<String>,
    /// Transaction time (ms) it was recorded.
    pub recorded_at: i64,
    /// Invalidations: (valid time it ends at, transaction time it was recorded), in the
    /// order recorded.
    pub invalidations: Vec<(i64, i64)>,
}

impl Edge {
    /// The invalidation in force as known at `known_at` (all when None): the earliest end.
    pub fn invalidation(&self, known_at: Option<i64>) -> Option<(i64, i64)> {
        self.invalidations
            .iter()
            .filter(|(_, tx)| known_at.is_none_or(|k| *tx <= k))
            .min_by_key(|(at, tx)| (*at, *tx))
            .copied()
    }

    /// Where its valid time ends as known at `known_at`: its own `valid_to` or its
    /// invalidation, the earlier (None: open).
    pub fn end(&self, known_at: Option<i64>) -> Option<i64> {
        match (self.valid_to, self.invalidation(known_at)) {
            (Some(t), Some((at, _))) => Some(t.min(at)),
            (t, None) => t,
            (None, Some((at, _))) => Some(at),
        }
    }

    /// Valid at `as_of` as known at `known_at`.
    pub fn valid_at(&self, as_of: i64, known_at: Option<i64>) -> bool {
        known_at.is_none_or(|k| self.recorded_at <= k)
            && self.valid_from <= as_of
            && self.end(known_at).is_none_or(|e| as_of < e)
    }
}

/// What an exclusive edge starting at `valid_from` (ending at `valid_to`) does to the other
/// edges of the same scope, source and relation (`others`, as stored now): the ids of those
/// valid at `valid_from`, to invalidate at `valid_from`; and its own end, cut where the first
/// of those that start later (and are not empty) begins.
pub fn exclusive(
    others: &[Edge],
    valid_from: i64,
    valid_to: Option<i64>,
) -> (Vec<u64>, Option<i64>) {
    let mut invalidate = Vec::new();
    let mut end = valid_to;
    for e in others {
        let e_end = e.end(None);
        if e.valid_from <= valid_from && e_end.is_none_or(|x| valid_from < x) {
            invalidate.push(e.id);
        } else if e.valid_from > valid_from && e_end.is_none_or(|x| e.valid_from < x) {
            end = Some(end.map_or(e.valid_from, |t| t.min(e.valid_from)));
        }
    }
    (invalidate, end)
}

/// Which way `edges` follows an entity's edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Edges from the entity.
    Out,
    /// Edges to the entity.
    In,
    /// Both.
    Both,
}

impl Direction {
    /// Parses `out`, `in` or `both`.
    pub fn parse(s: &str) -> crate::error::Result<Direction> {
        match s {
            "out" => Ok(Direction::Out),
            "in" => Ok(Direction::In),
            "both" => Ok(Direction::Both),
            _ => Err(crate::error::Error::validation(format!(
                "direction must be 'out', 'in' or 'both', not {s:?}"
            ))),
        }
    }
}

/// One step of a breadth-first walk: from the frontier's entities (at distance `hop - 1`)
/// over `edges` (their edges both ways, already filtered by time), the entities first seen
/// now, recorded in `seen` with distance `hop`.
pub fn step(
    frontier: &[String],
    edges: &[Edge],
    hop: u32,
    seen: &mut HashMap<String, u32>,
) -> Vec<String> {
    let mut next = Vec::new();
    let mut queue: VecDeque<&Edge> = edges.iter().collect();
    while let Some(e) = queue.pop_front() {
        for (a, b) in [(&e.src, &e.dst), (&e.dst, &e.src)] {
            if frontier.contains(a) && !seen.contains_key(b) {
                seen.insert(b.clone(), hop);
                next.push(b.clone());
            }
        }
    }
    next.sort();
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(id: u64, from: i64, to: Option<i64>) -> Edge {
        Edge {
            id,
            scope: String::new(),
            src: "ana".into(),
            relation: "lives_in".into(),
            dst: format!("city{id}"),
            valid_from: from,
            valid_to: to,
            confidence: 1.0,
            metadata: None,
            space: None,
            recorded_at: id as i64 * 10,
            invalidations: vec![],
        }
    }

    #[test]
    fn exclusive_invalidates_the_valid_one_and_stops_before_a_later_one() {
        let mut a = e(1, 100, None);
        let b = e(2, 300, None);
        assert_eq!(
            exclusive(&[a.clone(), b.clone()], 200, None),
            (vec![1], Some(300))
        );
        a.invalidations.push((200, 50));
        assert!(a.valid_at(150, None) && !a.valid_at(250, None));
        // Before the invalidation was recorded, the edge was open.
        assert!(a.valid_at(250, Some(40)));
        assert_eq!(a.invalidation(None), Some((200, 50)));
    }
}
