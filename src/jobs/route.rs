//! Which partition a job goes to and which partitions a claim visits, in that order
//! (docs/scaling.md "Jobs"). With one partition every answer is partition 0, so nothing changes.

use std::sync::atomic::{AtomicU64, Ordering};

use super::model::NewJob;
use crate::engine::partition::of_key;
use crate::error::{Error, Result};

/// Round-robin position of jobs enqueued without a key (per process).
static NEXT_JOB: AtomicU64 = AtomicU64::new(0);
/// Rotation of the first partition a claim looks at (per process).
static NEXT_CLAIM: AtomicU64 = AtomicU64::new(0);

/// The partition of a new job among `n`: the stable hash of its `key`, else of its
/// idempotency key (so a repeated key always meets the first job), else the next one in a
/// per-process round-robin.
pub fn of_job(j: &NewJob, n: u16) -> u16 {
    if n <= 1 {
        return 0;
    }
    match j.key.as_deref().or(j.idempotency_key.as_deref()) {
        Some(k) => of_key(k, n),
        None => (NEXT_JOB.fetch_add(1, Ordering::Relaxed) % u64::from(n)) as u16,
    }
}

/// Checks a worker's pinned partitions (`claim(partitions=[...])`) against the namespace's
/// `n`: at least one, each below `n`; returns them sorted without repeats. None: all of them.
pub fn pinned(parts: Option<Vec<i64>>, n: u16) -> Result<Vec<u16>> {
    let Some(parts) = parts else {
        return Ok((0..n).collect());
    };
    if parts.is_empty() {
        return Err(Error::validation(
            "partitions must name at least one partition (None: all)",
        ));
    }
    let mut out = Vec::with_capacity(parts.len());
    for p in parts {
        match u16::try_from(p) {
            Ok(v) if v < n => out.push(v),
            _ => {
                return Err(Error::validation(format!(
                    "partition {p} is out of range: this namespace has {n} partition(s), \
                     numbered 0 to {}",
                    n - 1
                )))
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// The order one claim visits `watched` (never empty): rotated by one place per claim made
/// in this process, so every partition is looked at first equally often and none starves.
pub fn claim_order(watched: &[u16]) -> Vec<u16> {
    if watched.len() <= 1 {
        return watched.to_vec();
    }
    let start = (NEXT_CLAIM.fetch_add(1, Ordering::Relaxed) % watched.len() as u64) as usize;
    watched[start..]
        .iter()
        .chain(&watched[..start])
        .copied()
        .collect()
}

/// Items grouped by partition, each with its position in the input: `(partition, [(index,
/// item)])`, partitions in ascending order.
pub fn group<T>(items: Vec<(u16, T)>) -> Vec<(u16, Vec<(usize, T)>)> {
    let mut map: std::collections::BTreeMap<u16, Vec<(usize, T)>> = Default::default();
    for (i, (p, t)) in items.into_iter().enumerate() {
        map.entry(p).or_default().push((i, t));
    }
    map.into_iter().collect()
}

/// Puts per-partition answers back in input order (the inverse of [`group`]).
pub fn ungroup<T>(len: usize, parts: Vec<Vec<(usize, T)>>) -> Vec<T> {
    let mut slots: Vec<Option<T>> = (0..len).map(|_| None).collect();
    for (i, t) in parts.into_iter().flatten() {
        slots[i] = Some(t);
    }
    slots.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn one_partition_routes_everything_to_zero() {
        let mut j = NewJob::new("k", json!(1));
        assert_eq!(of_job(&j, 1), 0);
        j.key = Some("user-1".into());
        assert_eq!(of_job(&j, 1), 0);
    }

    #[test]
    fn keys_route_by_hash_and_idempotency_keys_stand_in() {
        let mut j = NewJob::new("k", json!(1));
        j.key = Some("user-7".into());
        assert_eq!(of_job(&j, 4), of_key("user-7", 4));
        j.idempotency_key = Some("other".into());
        assert_eq!(of_job(&j, 4), of_key("user-7", 4), "the key wins");
        j.key = None;
        assert_eq!(of_job(&j, 4), of_key("other", 4));
    }

    #[test]
    fn jobs_without_keys_spread_round_robin() {
        let j = NewJob::new("k", json!(1));
        let mut seen = [0u32; 4];
        for _ in 0..400 {
            seen[of_job(&j, 4) as usize] += 1;
        }
        // Other tests of this process may take turns in between; each partition still gets
        // a fair share.
        assert!(seen.iter().all(|&c| c >= 50), "{seen:?}");
    }

    #[test]
    fn pinned_checks_range() {
        assert_eq!(pinned(None, 3).unwrap(), vec![0, 1, 2]);
        assert_eq!(pinned(Some(vec![2, 0, 2]), 3).unwrap(), vec![0, 2]);
        assert!(pinned(Some(vec![3]), 3).is_err());
        assert!(pinned(Some(vec![-1]), 3).is_err());
        assert!(pinned(Some(vec![]), 3).is_err());
        assert_eq!(pinned(Some(vec![0]), 1).unwrap(), vec![0]);
    }

    #[test]
    fn claim_order_rotates_over_every_partition() {
        let watched = [1u16, 3, 5];
        let mut first = std::collections::HashMap::new();
        for _ in 0..300 {
            let o = claim_order(&watched);
            let mut sorted = o.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, watched);
            *first.entry(o[0]).or_insert(0) += 1;
        }
        assert_eq!(first.len(), 3, "{first:?}");
        assert!(first.values().all(|&c| c >= 50), "{first:?}");
    }

    #[test]
    fn group_and_ungroup_keep_order() {
        let g = group(vec![(2, 'a'), (0, 'b'), (2, 'c')]);
        assert_eq!(g, vec![(0, vec![(1, 'b')]), (2, vec![(0, 'a'), (2, 'c')])]);
        let back = ungroup(3, g.into_iter().map(|(_, v)| v).collect());
        assert_eq!(back, vec!['a', 'b', 'c']);
    }
}
