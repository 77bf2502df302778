//! `hub.limits`: sliding-window rate limits. A limit is a key (a user, an endpoint, both:
//! `"user:42/search"`), a `limit` and a window: `check` admits a request when fewer than
//! `limit` admissions (counting `cost` each) fall in the last `window` and records it, in one
//! transaction (embedded) or one script (Redis), so that in no window of that length are more
//! than `limit` admitted, however many processes check at once.
//!
//! The window is exact: each key keeps a log of its admissions' times (a request of cost `c`
//! adds `c` entries), never more than `limit` of them, and drops the entries that left the
//! window at each check. An admission at time `t` counts at time `now` while
//! `now - t < window`.
//!
//! Behaviour is defined here once; `sqlite` and `redis` implement it.

pub mod redis;
pub mod sqlite;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use serde_json::Value as Json;

use crate::engine::{tri, Backend, Capability, Importer, Migration, Op, Page, Record};
use crate::error::{Error, Result};

/// This capability's row in the registry (`crate::registry`).
pub const CAPABILITY: Capability = Capability {
    name: "limits",
    migrations: &[Migration {
        version: 16,
        sql: sqlite::SCHEMA,
    }],
    rows: sqlite::rows,
    clear: sqlite::clear,
    topic: None,
    tag: "limits",
    partitioned: false,
    changes: false,
    sweep: Some(sqlite::sweep),
    export: no_export,
    import: no_import,
};

/// Largest `limit`: the log of a key holds at most this many entries.
pub const MAX_LIMIT: u64 = 100_000;
/// Longest window: one year, in milliseconds.
pub const MAX_WINDOW_MS: u64 = 366 * 86_400_000;

/// What a check (or a peek) decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// True when the request is admitted (for `peek`: would be).
    pub allowed: bool,
    /// The limit checked against.
    pub limit: u64,
    /// Admissions left in the window after this decision.
    pub remaining: u64,
    /// Milliseconds until the window holds no admission of this key (the whole limit is
    /// available again); 0 when it holds none.
    pub reset_after_ms: u64,
    /// Milliseconds until a request of the same cost would be admitted; 0 when allowed.
    pub retry_after_ms: u64,
}

/// One check's parameters, validated.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Admissions allowed per window.
    pub limit: u64,
    /// The window in milliseconds.
    pub window_ms: u64,
    /// Entries this request takes.
    pub cost: u64,
    /// The time of the check, ms since the epoch.
    pub now_ms: u64,
}

/// Checks a limit key: an id (1 to 128 of letters, digits and `_ - . : / @ + =`).
pub fn check_key(key: &str) -> Result<()> {
    crate::ids::id("rate-limit key", key).map(|_| ())
}

/// Seconds since the epoch as milliseconds (`now=`), or the clock's time.
pub fn now_ms(now: Option<f64>) -> Result<u64> {
    match now {
        None => Ok(crate::clock::now_ms()),
        Some(s) if (0.0..1e13).contains(&s) => Ok((s * 1000.0).round() as u64),
        Some(s) => Err(Error::validation(format!(
            "now must be seconds since the epoch (0 or more), got {s}"
        ))),
    }
}

/// Validates a check's numbers: `limit` 1 to [`MAX_LIMIT`], `window_s` more than 0 (at
/// least a millisecond) and at most a year, `cost` 1 to `limit`.
pub fn spec(limit: i64, window_s: f64, cost: i64, now: Option<f64>) -> Result<Spec> {
    if limit < 1 || limit as u64 > MAX_LIMIT {
        return Err(Error::validation(format!(
            "limit must be 1 to {MAX_LIMIT}, got {limit}"
        )));
    }
    let ms = (window_s * 1000.0).round();
    if !window_s.is_finite() || window_s <= 0.0 || ms < 1.0 || ms > MAX_WINDOW_MS as f64 {
        return Err(Error::validation(format!(
            "window_s must be more than 0 (at least 0.001) and at most a year, got {window_s}"
        )));
    }
    if cost < 1 {
        return Err(Error::validation(format!(
            "cost must be 1 or more, got {cost}"
        )));
    }
    if cost > limit {
        return Err(Error::validation(format!(
            "cost {cost} is more than the limit {limit}: such a request could never be admitted"
        )));
    }
    Ok(Spec {
        limit: limit as u64,
        window_ms: ms as u64,
        cost: cost as u64,
        now_ms: now_ms(now)?,
    })
}

/// The decision for a log of admission times (`times`, ascending, only those still in the
/// window) and a request of `s.cost`, before it is recorded.
pub fn decide(times: &[u64], s: &Spec) -> Decision {
    let n = times.len() as u64;
    let gate = (n + s.cost > s.limit).then(|| times[(n + s.cost - s.limit - 1) as usize]);
    decide_from(n, times.last().copied(), gate, s)
}

/// The decision from what a log shows: `n` entries in the window, the newest at `newest`,
/// and `gate`, the time of the entry whose leaving the window makes room for the request
/// (None when it fits now). Both engines decide with it.
pub fn decide_from(n: u64, newest: Option<u64>, gate: Option<u64>, s: &Spec) -> Decision {
    let allowed = gate.is_none() && n + s.cost <= s.limit;
    let left = |t: u64| (t + s.window_ms).saturating_sub(s.now_ms);
    let newest = if allowed {
        Some(newest.unwrap_or(0).max(s.now_ms))
    } else {
        newest
    };
    Decision {
        allowed,
        limit: s.limit,
        remaining: s.limit.saturating_sub(if allowed { n + s.cost } else { n }),
        reset_after_ms: newest.map_or(0, left),
        retry_after_ms: if allowed { 0 } else { gate.map_or(0, left) },
    }
}

/// The rate limits of one namespace.
#[derive(Clone)]
pub struct Limits {
    backend: Backend,
    ns: Arc<str>,
}

impl Limits {
    /// The limits of `ns` on `backend`.
    pub fn new(backend: Backend, ns: Arc<str>) -> Limits {
        Limits { backend, ns }
    }

    /// Admits a request of `s.cost` on `key` if the window has room, recording it.
    pub fn check(&self, key: &str, s: Spec) -> Op<Decision> {
        self.run(key, s, true)
    }

    /// What `check` would decide, recording nothing.
    pub fn peek(&self, key: &str, s: Spec) -> Op<Decision> {
        self.run(key, s, false)
    }

    fn run(&self, key: &str, s: Spec, admit: bool) -> Op<Decision> {
        tri!(check_key(key));
        self.backend.call(
            (self.ns.to_string(), key.to_string()),
            move |db, (ns, key)| sqlite::check(db, &ns, &key, &s, admit),
            move |r, c, (ns, key)| redis::check(r, c, ns, key, s, admit),
        )
    }

    /// Forgets `key`'s admissions; true if it had any.
    pub fn reset(&self, key: &str) -> Op<bool> {
        tri!(check_key(key));
        self.backend.call(
            (self.ns.to_string(), key.to_string()),
            |db, (ns, key)| sqlite::reset(db, &ns, &key),
            |r, c, (ns, key)| redis::reset(r, c, ns, key),
        )
    }
}

/// The export of a capability whose data is not exported (rate-limit windows hold the last
/// window's admissions only, which an import minutes later would not need; sessions: see
/// docs/export.md): no records.
pub fn no_export(_: &Backend, _: &str, _: Json) -> Op<Page> {
    Op::Ready(Ok(Page::default()))
}

/// The import of a capability whose data is not exported: refuses any record.
pub fn no_import(_: &Backend, _: &str) -> Box<dyn Importer> {
    Box::new(NoImport)
}

struct NoImport;

impl Importer for NoImport {
    fn add(&mut self, _: Record) -> Result<Option<Op<()>>> {
        Err(Error::validation(
            "rate-limit and session records are not part of an export",
        ))
    }
    fn finish(&mut self) -> Result<Option<Op<()>>> {
        Ok(None)
    }
}
