//! The valid-time line of a key, the one definition of the bi-temporal rule both engines use.
//!
//! Every version of a (scope, key) has a valid-time interval `[valid_from, valid_to)` given by
//! the caller and a transaction time `recorded_at` set by the store; versions are recorded in
//! the order of their version numbers. The line as the store knew it at transaction time
//! `known_at` is derived, never rewritten:
//!
//! - take the versions recorded at or before `known_at` (all of them when None);
//! - among versions with the same `valid_from`, the later recorded hides the earlier (its
//!   interval is empty);
//! - a version's effective `valid_to` is the smaller of its own `valid_to` and the
//!   `valid_from` of the next version by `valid_from` (recorded before or after it);
//! - `recall(as_of)` is the version whose effective interval holds `as_of` (a tombstone
//!   there means no value).
//!
//! `superseded_at` of a version is the `recorded_at` of the first later-recorded version that
//! cut its effective interval as known just before: one with the same `valid_from`, or one
//! whose `valid_from` falls inside that interval. The store computes it when it writes the
//! later version ([`cuts`]) and keeps it with the version.

/// The times of one version, what the rule reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    pub version: u64,
    pub row: u64,
    pub valid_from: i64,
    pub valid_to: Option<i64>,
    pub recorded_at: i64,
    pub superseded_at: Option<i64>,
    pub deleted: bool,
}

/// Where the effective interval of `line[i]` ends among `line` (all known versions): None when
/// open-ended; `Some(valid_from)` (an empty interval) when a later-recorded version has the
/// same `valid_from`.
pub fn effective_to(line: &[&Version], i: usize) -> Option<i64> {
    let v = line[i];
    let mut end = v.valid_to;
    for w in line {
        if w.valid_from == v.valid_from && w.version > v.version {
            return Some(v.valid_from);
        }
        if w.valid_from > v.valid_from {
            end = Some(end.map_or(w.valid_from, |e| e.min(w.valid_from)));
        }
    }
    end
}

/// The versions recorded at or before `known_at` (all when None).
pub fn known(line: &[Version], known_at: Option<i64>) -> Vec<&Version> {
    line.iter()
        .filter(|v| known_at.is_none_or(|k| v.recorded_at <= k))
        .collect()
}

/// The version valid at `as_of` as known at `known_at` (a tombstone included: the caller
/// reads it as no value).
pub fn select(line: &[Version], as_of: i64, known_at: Option<i64>) -> Option<&Version> {
    let k = known(line, known_at);
    (0..k.len())
        .find(|&i| {
            let v = k[i];
            v.valid_from <= as_of && effective_to(&k, i).is_none_or(|e| as_of < e)
        })
        .map(|i| k[i])
}

/// The versions of `line` (everything recorded so far) whose effective interval a new version
/// starting at `valid_from` cuts and that no version cut before: their `superseded_at`
/// becomes the new version's `recorded_at`. Returns their indexes in `line`.
pub fn cuts(line: &[Version], valid_from: i64) -> Vec<usize> {
    let all: Vec<&Version> = line.iter().collect();
    (0..all.len())
        .filter(|&i| {
            let v = all[i];
            if v.superseded_at.is_some() {
                return false;
            }
            let end = effective_to(&all, i);
            valid_from == v.valid_from
                || (v.valid_from < valid_from && end.is_none_or(|e| valid_from < e))
        })
        .collect()
}

/// The effective valid_to of every version as known now (for `history`), None when open.
pub fn effective_ends(line: &[Version]) -> Vec<Option<i64>> {
    let all: Vec<&Version> = line.iter().collect();
    (0..all.len()).map(|i| effective_to(&all, i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(version: u64, from: i64, to: Option<i64>, at: i64) -> Version {
        Version {
            version,
            row: version,
            valid_from: from,
            valid_to: to,
            recorded_at: at,
            superseded_at: None,
            deleted: false,
        }
    }

    #[test]
    fn a_back_dated_version_ends_where_the_next_begins() {
        let mut line = vec![v(1, 100, None, 1000)];
        assert_eq!(cuts(&line, 200), [0]);
        line[0].superseded_at = Some(2000);
        line.push(v(2, 200, None, 2000));
        // Back-dated to 50: cuts nothing, ends at 100.
        assert!(cuts(&line, 50).is_empty());
        line.push(v(3, 50, None, 3000));
        assert_eq!(select(&line, 60, None).map(|x| x.version), Some(3));
        assert_eq!(select(&line, 150, None).map(|x| x.version), Some(1));
        assert_eq!(select(&line, 250, None).map(|x| x.version), Some(2));
        // As known before version 3 was recorded, 60 had no value; before 2, 250 was 1's.
        assert_eq!(select(&line, 60, Some(2999)), None);
        assert_eq!(select(&line, 250, Some(1999)).map(|x| x.version), Some(1));
        assert_eq!(effective_ends(&line), [Some(200), None, Some(100)]);
    }

    #[test]
    fn the_same_valid_from_hides_the_earlier_record() {
        let mut line = vec![v(1, 100, Some(500), 1000)];
        assert_eq!(cuts(&line, 100), [0]);
        line[0].superseded_at = Some(2000);
        line.push(v(2, 100, Some(300), 2000));
        assert_eq!(select(&line, 400, None), None);
        assert_eq!(select(&line, 400, Some(1500)).map(|x| x.version), Some(1));
        // A version after the end of an earlier one's interval cuts nothing.
        assert!(cuts(&line, 300).is_empty());
    }
}
