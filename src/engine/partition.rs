//! Partitioned namespaces: how a capability's keys spread over several hash tags, so that one
//! namespace's jobs, bus and events can use every master of a Redis Cluster (docs/scaling.md).
//!
//! A namespace has `n` partitions (1 unless opened with `partitions=N`; the number is kept in
//! the store and every later open adopts it). A capability that declares itself partitioned in
//! its registry row (`Capability::partitioned`) keeps partition `p`'s keys under the tag
//! `{<ns>:<tag>:<p>}`; with one partition its keys are `{<ns>:<tag>}`, today's layout byte for
//! byte. Capabilities that are not partitioned keep one tag whatever `n` is.
//!
//! On the embedded store there is one database file, so partitions spread nothing; the number
//! is kept all the same and capabilities give it the same meaning (which partition a job or an
//! inbox belongs to, a worker pinned to partitions), so code behaves alike on every backend.

use crate::error::{Error, Result};

/// Most partitions a namespace may have.
pub const MAX: u16 = 1024;

/// Checks a requested partition count: 1..=[`MAX`].
pub fn check(n: i64) -> Result<u16> {
    match u16::try_from(n) {
        Ok(v) if (1..=MAX).contains(&v) => Ok(v),
        _ => Err(Error::Validation(format!(
            "partitions must be between 1 and {MAX}, got {n}"
        ))),
    }
}

/// `zl:{<ns>:<tag>:<p>}:` when the namespace has `n > 1` partitions, else
/// [`super::keys::prefix`] (`zl:{<ns>:<tag>}:`): the prefix of partition `p`'s keys.
pub fn prefix(ns: &str, tag: &str, p: u16, n: u16) -> String {
    if n <= 1 {
        super::keys::prefix(ns, tag)
    } else {
        format!("zl:{{{ns}:{tag}:{p}}}:")
    }
}

/// SCAN pattern of every key of capability `tag` in namespace `ns`, over all its partitions:
/// `zl:{<ns>:<tag>[}:]*` (matches `zl:{ns:tag}:…` and `zl:{ns:tag:3}:…`, never another tag,
/// since tags hold no `:` or `}`).
pub fn pattern(ns: &str, tag: &str) -> String {
    format!("zl:{{{ns}:{tag}[}}:]*")
}

/// The partition of `key` among `n`: FNV-1a (64 bit) of its UTF-8 bytes, modulo `n`. Stable
/// across processes, machines and releases (a test pins values): every client routes a key to
/// the same partition.
pub fn of_key(key: &str, n: u16) -> u16 {
    if n <= 1 {
        return 0;
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % u64::from(n)) as u16
}

/// The key (Redis) holding a namespace's partition count, next to its layout version.
pub fn count_key(ns: &str) -> String {
    format!("{}partitions", super::keys::prefix(ns, "meta"))
}

/// The embedded store's table of partition counts (a hub-level schema step, see
/// `crate::registry`): one row per namespace opened with a count; no row means 1.
pub const SCHEMA: &str = "CREATE TABLE ns_partitions (
    ns TEXT PRIMARY KEY,
    n  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;";

/// The error of reopening a namespace that holds data with another count.
pub fn refused(ns: &str, stored: u16, requested: u16) -> Error {
    Error::Validation(format!(
        "namespace {ns:?} has {stored} partition(s) and holds jobs, bus or events data; it \
         cannot be opened with partitions={requested}. Open it without partitions= (or with \
         partitions={stored}); docs/scaling.md says what moving its data to another count takes"
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use redis::cluster_routing::Slot;

    #[test]
    fn one_partition_is_todays_layout() {
        assert_eq!(prefix("ns", "jobs", 0, 1), "zl:{ns:jobs}:");
        assert_eq!(prefix("ns", "jobs", 3, 4), "zl:{ns:jobs:3}:");
    }

    #[test]
    fn of_key_is_pinned() {
        // FNV-1a 64 of "" is the offset basis; of "a" is 0xaf63dc4c8601ec8c.
        assert_eq!(of_key("a", 1), 0);
        assert_eq!(of_key("a", 7), (0xaf63_dc4c_8601_ec8c_u64 % 7) as u16);
        assert_eq!(of_key("", 5), (0xcbf2_9ce4_8422_2325_u64 % 5) as u16);
        let mut seen = [0u32; 4];
        for i in 0..4000 {
            seen[of_key(&format!("job-{i}"), 4) as usize] += 1;
        }
        assert!(seen.iter().all(|&c| (800..1200).contains(&c)), "{seen:?}");
    }

    #[test]
    fn partitions_spread_over_slots() {
        let slots: std::collections::HashSet<_> = (0..6)
            .map(|p| Slot::for_key(format!("{}x", prefix("app", "jobs", p, 6))))
            .collect();
        assert_eq!(slots.len(), 6);
    }

    #[test]
    fn pattern_matches_every_partition_and_no_other_tag() {
        let pat = pattern("ns", "bus");
        assert_eq!(pat, "zl:{ns:bus[}:]*");
    }

    #[test]
    fn check_bounds() {
        assert!(check(0).is_err());
        assert!(check(-1).is_err());
        assert_eq!(check(1).unwrap(), 1);
        assert!(check(i64::from(MAX) + 1).is_err());
    }
}
