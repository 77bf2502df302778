//! The values of pattern memory (patterns, issues, fix outcomes, sessions, insights, health,
//! the export document), its settings, and the pure logic every backend shares: pattern ids,
//! day buckets, trends.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Milliseconds in a day (issue windows are counted in UTC days).
pub const DAY_MS: u64 = 86_400_000;
/// Default time to live of every record: 90 days.
pub const DEFAULT_TTL_MS: u64 = 90 * DAY_MS;
/// Version tag of the export document.
pub const EXPORT_FORMAT: &str = "zerolag.patterns/1";

/// Limits and retention of one pattern-memory handle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Time to live of every record in milliseconds, counted from its last write or use.
    pub ttl_ms: u64,
    /// Fix outcomes kept per repository (newest first).
    pub max_fixes: u64,
    /// Learning sessions kept per repository (newest first).
    pub max_sessions: u64,
    /// Largest stored text or JSON document in bytes (after anonymisation).
    pub max_payload: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            ttl_ms: DEFAULT_TTL_MS,
            max_fixes: 1000,
            max_sessions: 500,
            max_payload: 64 * 1024,
        }
    }
}

impl Settings {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<()> {
        if self.ttl_ms == 0 {
            return Err(Error::validation("ttl must be more than 0 seconds"));
        }
        if self.max_fixes == 0 || self.max_sessions == 0 {
            return Err(Error::validation(
                "max_fixes and max_sessions must be at least 1",
            ));
        }
        if self.max_payload < 64 {
            return Err(Error::validation("max_payload must be at least 64 bytes"));
        }
        Ok(())
    }
}

/// A learned pattern of a repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pattern {
    /// `p` + 16 hex digits derived from repository, type and data when first stored.
    pub id: String,
    /// Repository id.
    pub repo: String,
    /// Pattern type (a normalised term).
    pub r#type: String,
    /// The pattern itself (anonymised JSON).
    pub data: Value,
    /// 0..1.
    pub confidence: f64,
    /// How often it was stored or observed.
    pub observations: u64,
    /// First stored (ms).
    pub first_ms: u64,
    /// Last stored or observed (ms).
    pub last_ms: u64,
}

/// How often one rule fired in a repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issue {
    /// Repository id.
    pub repo: String,
    /// Rule id.
    pub rule: String,
    /// Occurrences (overall, or inside the asked window).
    pub count: u64,
    /// File of the last occurrence (anonymised).
    pub file: String,
    /// Severity of the last occurrence.
    pub severity: String,
    /// Message of the last occurrence (anonymised).
    pub message: String,
    /// First occurrence (ms).
    pub first_ms: u64,
    /// Last occurrence (ms).
    pub last_ms: u64,
}

/// One proposed fix and whether it was accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fix {
    /// Repository id.
    pub repo: String,
    /// Rule id.
    pub rule: String,
    /// The proposed fix (anonymised).
    pub fix: String,
    /// Accepted by the team.
    pub accepted: bool,
    /// Feedback (anonymised).
    pub feedback: Option<String>,
    /// When (ms).
    pub at_ms: u64,
}

/// Acceptance of the fixes of one rule (over the fixes kept).
#[derive(Debug, Clone, PartialEq)]
pub struct Acceptance {
    /// Rule id.
    pub rule: String,
    /// Accepted fixes.
    pub accepted: u64,
    /// All fixes.
    pub total: u64,
}

/// A learning session summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Repository id.
    pub repo: String,
    /// The summary (anonymised JSON).
    pub summary: Value,
    /// When (ms).
    pub at_ms: u64,
}

/// How a rule's count moved: this window against the one before.
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    /// Rule id.
    pub rule: String,
    /// Occurrences in the last `window_days` days (today included).
    pub current: u64,
    /// Occurrences in the `window_days` days before.
    pub previous: u64,
}

/// What `insights(repo)` returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Insights {
    /// Repository id.
    pub repo: String,
    /// Most confident patterns.
    pub patterns: Vec<Pattern>,
    /// Most frequent issues overall.
    pub issues: Vec<Issue>,
    /// Fix acceptance per rule, most fixes first.
    pub acceptance: Vec<Acceptance>,
    /// Rules whose counts moved most between the two windows.
    pub trends: Vec<Trend>,
    /// Live records per type: patterns, issues, fixes, sessions.
    pub counts: BTreeMap<String, u64>,
    /// Window length used for the trends.
    pub window_days: u64,
}

/// What `health()` returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    /// "embedded", "redis" or "redis-cluster".
    pub backend: String,
    /// The store answered.
    pub connected: bool,
    /// Round trip in milliseconds.
    pub rtt_ms: f64,
    /// Records per type (patterns, issues, fixes, sessions) and `repos`.
    pub counts: BTreeMap<String, u64>,
    /// Bytes used (Redis: MEMORY USAGE of every key; embedded: bytes of the stored rows).
    pub storage_bytes: u64,
    /// Oldest record time (ms), if any.
    pub oldest_ms: Option<u64>,
    /// Newest record time (ms), if any.
    pub newest_ms: Option<u64>,
}

/// An issue with its day buckets, as exported.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueExport {
    /// The issue (overall count).
    pub issue: Issue,
    /// (day number since the epoch, count) in day order.
    pub days: Vec<(u64, u64)>,
}

/// Everything one repository holds, as exported and imported.
#[derive(Debug, Clone, PartialEq)]
pub struct Dump {
    /// Repository id.
    pub repo: String,
    /// Patterns, by id.
    pub patterns: Vec<Pattern>,
    /// Issues, by rule.
    pub issues: Vec<IssueExport>,
    /// Fix outcomes, oldest first.
    pub fixes: Vec<Fix>,
    /// Sessions, oldest first.
    pub sessions: Vec<Session>,
}

pub use crate::clock::{now_ms, secs};

/// Milliseconds from caller seconds (a time given to `at=` or `since=`).
pub fn ms_of(what: &str, s: f64) -> Result<u64> {
    if !(s.is_finite() && (0.0..1e11).contains(&s)) {
        return Err(Error::validation(format!(
            "{what} must be Unix seconds (a finite number >= 0), got {s}"
        )));
    }
    Ok((s * 1000.0).round() as u64)
}

/// Day number (UTC) of a time.
pub fn day_of(ms: u64) -> u64 {
    ms / DAY_MS
}

/// The id a pattern gets when first stored.
pub fn pattern_id(repo: &str, ty: &str, data: &str) -> String {
    let mut h = Sha256::new();
    h.update(repo.as_bytes());
    h.update([0]);
    h.update(ty.as_bytes());
    h.update([0]);
    h.update(data.as_bytes());
    let d = h.finalize();
    let mut s = String::with_capacity(17);
    s.push('p');
    for b in &d[..8] {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Checks a pattern id (`p` + 16 hex digits).
pub fn check_pattern_id(id: &str) -> Result<&str> {
    if id.len() == 17 && id.starts_with('p') && id[1..].bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(id)
    } else {
        Err(Error::validation(format!(
            "pattern id must be 'p' and 16 hex digits (as store() returns), got {id:?}"
        )))
    }
}

/// Checks a confidence.
pub fn check_confidence(c: f64) -> Result<f64> {
    if c.is_finite() && (0.0..=1.0).contains(&c) {
        Ok(c)
    } else {
        Err(Error::validation(format!(
            "confidence must be between 0 and 1, got {c}"
        )))
    }
}

/// Checks a stored text's size.
pub fn check_size(what: &str, s: &str, max: usize) -> Result<()> {
    if s.len() > max {
        return Err(Error::validation(format!(
            "{what} is {} bytes; the limit is {max} (configure(max_payload=...))",
            s.len()
        )));
    }
    Ok(())
}

/// Trends from per-day counts `(rule, day, count)`: the last `window` days up to `today`
/// against the `window` days before; rules ordered by how much they moved, then by name.
pub fn trends(rows: &[(String, u64, u64)], today: u64, window: u64, limit: usize) -> Vec<Trend> {
    let start_cur = today + 1 - window.min(today + 1);
    let start_prev = start_cur.saturating_sub(window);
    let mut by: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for (rule, day, n) in rows {
        let e = by.entry(rule).or_default();
        if *day >= start_cur && *day <= today {
            e.0 += n;
        } else if *day >= start_prev && *day < start_cur {
            e.1 += n;
        }
    }
    let out: Vec<Trend> = by
        .into_iter()
        .map(|(r, (c, p))| Trend {
            rule: r.to_string(),
            current: c,
            previous: p,
        })
        .collect();
    rank_trends(out, limit)
}

/// Orders trends by how much they moved, then by rule; drops rules without counts.
pub fn rank_trends(mut out: Vec<Trend>, limit: usize) -> Vec<Trend> {
    out.retain(|t| t.current + t.previous > 0);
    out.sort_by(|a, b| {
        let da = a.current.abs_diff(a.previous);
        let db = b.current.abs_diff(b.previous);
        db.cmp(&da).then_with(|| a.rule.cmp(&b.rule))
    });
    out.truncate(limit);
    out
}

/// First day of the window `[today - 2 * window + 1, today]` that trends need.
pub fn trend_start(today: u64, window: u64) -> u64 {
    (today + 1).saturating_sub(2 * window)
}

/// Orders acceptance rows: most fixes first, then rule.
pub fn sort_acceptance(v: &mut [Acceptance]) {
    v.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.rule.cmp(&b.rule)));
}

/// Orders issues: highest count first, then rule.
pub fn sort_issues(v: &mut [Issue]) {
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.rule.cmp(&b.rule)));
}

/// Orders patterns: most confident first, then most observed, then id.
pub fn sort_patterns(v: &mut [Pattern]) {
    v.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then_with(|| b.observations.cmp(&a.observations))
            .then_with(|| a.id.cmp(&b.id))
    });
}

/// The stored JSON of a fix outcome or session entry (Redis lists; the same fields the
/// export uses). `x` is the expiry time.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FixEntry {
    /// Rule id.
    pub rule: String,
    /// The fix.
    pub fix: String,
    /// Accepted.
    pub accepted: bool,
    /// Feedback.
    pub feedback: Option<String>,
    /// When (ms).
    pub at: u64,
    /// Expires (ms).
    pub x: u64,
}

/// The stored JSON of a session entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionEntry {
    /// Summary.
    pub summary: Value,
    /// When (ms).
    pub at: u64,
    /// Expires (ms).
    pub x: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trends_compare_windows() {
        let rows = vec![
            ("a".to_string(), 100, 5),
            ("a".to_string(), 93, 1),
            ("b".to_string(), 90, 4),
            ("c".to_string(), 80, 9),
        ];
        let t = trends(&rows, 100, 7, 10);
        assert_eq!(t[0].rule, "a");
        assert_eq!((t[0].current, t[0].previous), (5, 1));
        let b = t
            .iter()
            .find(|x| x.rule == "b")
            .map(|x| (x.current, x.previous));
        assert_eq!(b, Some((0, 4)));
        assert!(t.iter().all(|x| x.rule != "c"));
        assert_eq!(trend_start(100, 7), 87);
    }

    #[test]
    fn ids_are_stable_and_checked() {
        let a = pattern_id("r", "naming", "{}");
        assert_eq!(a, pattern_id("r", "naming", "{}"));
        assert_ne!(a, pattern_id("r", "naming", "[]"));
        assert!(check_pattern_id(&a).is_ok());
        assert!(check_pattern_id("p*").is_err());
        assert!(check_confidence(1.5).is_err());
        assert!(check_confidence(f64::NAN).is_err());
    }
}
