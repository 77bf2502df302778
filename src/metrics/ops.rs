//! Process-wide operation counters and latency histograms, per capability and outcome.
//!
//! Every call from Python passes through `src/py/mod.rs` (`run_sync`, `run_async` and their
//! blocking twins), which records it here: one clock read when the call starts, one when it
//! ends, and three relaxed atomic adds (the outcome's counter, the latency bucket, the
//! latency sum). No lock, no allocation. The capability is the name of the `src/py/` file the
//! call was declared in (`#[track_caller]`), the outcome `ok` or the error's type.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use crate::engine::Op;
use crate::error::Error;

/// Capability labels (`other` for a call declared outside the known files).
pub const CAPABILITIES: [&str; 25] = [
    "hub",
    "tasks",
    "bus",
    "events",
    "jobs",
    "docs",
    "sync",
    "kv",
    "cache",
    "memory",
    "patterns",
    "changes",
    "analytics",
    "trending",
    "limits",
    "sessions",
    "flags",
    "streams",
    "protocol",
    "anonymize",
    "loop",
    "transfer",
    "http",
    "metrics",
    "other",
];

/// Outcome labels: `ok`, or the type of the error the call raised.
pub const OUTCOMES: [&str; 13] = [
    "ok",
    "validation",
    "protocol",
    "not_found",
    "conflict",
    "connection",
    "authentication",
    "timeout",
    "closed",
    "forked",
    "backend",
    "rescan",
    "io",
];

/// Latency buckets: upper bounds of 50 µs × 2^i, i = 0..=18 (50 µs to about 13 s), then +Inf.
pub const BUCKETS: usize = 19;
const FIRST_US: u64 = 50;

const NC: usize = CAPABILITIES.len();
const NO: usize = OUTCOMES.len();

struct Table {
    calls: [[AtomicU64; NO]; NC],
    // BUCKETS bounded buckets and +Inf; not cumulative (the export sums them).
    buckets: [[AtomicU64; BUCKETS + 1]; NC],
    sum_ns: [AtomicU64; NC],
}

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicU64 = AtomicU64::new(0);
#[allow(clippy::declare_interior_mutable_const)]
const ROW_O: [AtomicU64; NO] = [ZERO; NO];
#[allow(clippy::declare_interior_mutable_const)]
const ROW_B: [AtomicU64; BUCKETS + 1] = [ZERO; BUCKETS + 1];

static TABLE: Table = Table {
    calls: [ROW_O; NC],
    buckets: [ROW_B; NC],
    sum_ns: [ZERO; NC],
};

/// The capability label of a `src/py/` file (`src/py/kv.rs` → `kv`), as an index into
/// [`CAPABILITIES`].
pub fn capability_of(file: &str) -> usize {
    let stem = file
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(file)
        .trim_end_matches(".rs");
    let name = match stem {
        "job" | "job_page" | "jobs" => "jobs",
        "dual_loop" => "loop",
        "filesync" => "sync",
        "pattern_results" | "patterns" => "patterns",
        "stream_follow" | "stream_items" | "streams" => "streams",
        s if s.starts_with("memory") => "memory",
        s => s,
    };
    CAPABILITIES
        .iter()
        .position(|c| *c == name)
        .unwrap_or(NC - 1)
}

/// The outcome label of an error, as an index into [`OUTCOMES`].
pub fn outcome_of(e: &Error) -> usize {
    match e {
        Error::Validation(_) => 1,
        Error::Protocol(_) => 2,
        Error::NotFound(_) => 3,
        Error::Conflict(_) => 4,
        Error::Connection(_) => 5,
        Error::Authentication(_) => 6,
        Error::Timeout(_) => 7,
        Error::Closed => 8,
        Error::Forked(_) => 9,
        Error::Backend(_) => 10,
        Error::Rescan(_) => 11,
        Error::Io(_) => 12,
    }
}

/// The bucket of a latency: the first `i` with `ns <= 50 µs × 2^i`, or [`BUCKETS`] (+Inf).
fn bucket(ns: u64) -> usize {
    let us = ns.div_ceil(1000);
    if us <= FIRST_US {
        return 0;
    }
    // ceil(log2(us / 50)) without floating point.
    let q = (us - 1) / FIRST_US; // >= 1
    let i = (64 - q.leading_zeros()) as usize;
    i.min(BUCKETS)
}

/// Records one finished call of capability `cap` (see [`capability_of`]) that started at
/// `started`.
pub fn record<T>(cap: usize, started: Instant, out: &Result<T, Error>) {
    let o = match out {
        Ok(_) => 0,
        Err(e) => outcome_of(e),
    };
    record_outcome(cap, started, o);
}

/// [`record`] with the outcome as an index into [`OUTCOMES`].
pub fn record_outcome(cap: usize, started: Instant, o: usize) {
    let ns = started.elapsed().as_nanos().min(u64::MAX as u128) as u64;
    let cap = cap.min(NC - 1);
    let o = o.min(NO - 1);
    TABLE.calls[cap][o].fetch_add(1, Relaxed);
    TABLE.buckets[cap][bucket(ns)].fetch_add(1, Relaxed);
    TABLE.sum_ns[cap].fetch_add(ns, Relaxed);
}

std::thread_local! {
    // The last call site's file and its capability: a loop calling one method skips the
    // lookup (the file name is a `&'static str`, compared by address).
    static LAST: std::cell::Cell<(usize, usize)> = const { std::cell::Cell::new((0, 0)) };
}

/// [`capability_of`] for a `#[track_caller]` location's file, remembered per thread.
pub fn capability_of_site(file: &'static str) -> usize {
    let key = file.as_ptr() as usize;
    LAST.with(|c| {
        let (k, v) = c.get();
        if k == key {
            return v;
        }
        let v = capability_of(file);
        c.set((key, v));
        v
    })
}

/// `op`, recording its outcome and time (from now) under capability `cap` when it finishes.
/// An operation dropped before it finishes (a cancelled await) is not recorded.
pub fn observe<T: Send + 'static>(op: Op<T>, cap: usize) -> Op<T> {
    let t = Instant::now();
    match op {
        Op::Ready(r) => {
            record(cap, t, &r);
            Op::Ready(r)
        }
        Op::Sqlite(db, f) => Op::Sqlite(
            db,
            Box::new(move |d| {
                let out = f(d);
                record(cap, t, &out);
                out
            }),
        ),
        Op::Redis(r, work) => Op::Redis(
            r,
            Box::new(move |r, c| {
                let fut = work(r, c);
                Box::pin(async move {
                    let out = fut.await;
                    record(cap, t, &out);
                    out
                })
            }),
        ),
        Op::Async(f) => Op::Async(Box::pin(async move {
            let out = f.await;
            record(cap, t, &out);
            out
        })),
    }
}

/// Upper bound of bucket `i` in seconds.
pub fn bucket_bound(i: usize) -> f64 {
    (FIRST_US << i) as f64 / 1e6
}

/// Calls of one capability with one outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Calls {
    pub capability: &'static str,
    pub outcome: &'static str,
    pub count: u64,
}

/// The latency histogram of one capability.
#[derive(Debug, Clone, PartialEq)]
pub struct Latency {
    pub capability: &'static str,
    /// Calls counted.
    pub count: u64,
    /// Their total time in seconds.
    pub sum: f64,
    /// `(upper bound in seconds, calls at or under it)`, cumulative, +Inf left out (it is
    /// `count`).
    pub buckets: Vec<(f64, u64)>,
}

/// What the process has counted so far (capabilities never called left out).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Operations {
    pub calls: Vec<Calls>,
    pub latency: Vec<Latency>,
}

/// A snapshot of the counters (each read relaxed: a call finishing meanwhile may show in one
/// figure and not yet in another).
pub fn snapshot() -> Operations {
    let mut out = Operations::default();
    for (c, name) in CAPABILITIES.iter().enumerate() {
        for (o, outcome) in OUTCOMES.iter().enumerate() {
            let n = TABLE.calls[c][o].load(Relaxed);
            if n > 0 {
                out.calls.push(Calls {
                    capability: name,
                    outcome,
                    count: n,
                });
            }
        }
        let raw: Vec<u64> = TABLE.buckets[c].iter().map(|b| b.load(Relaxed)).collect();
        let count: u64 = raw.iter().sum();
        if count == 0 {
            continue;
        }
        let mut acc = 0;
        let buckets = raw[..BUCKETS]
            .iter()
            .enumerate()
            .map(|(i, n)| {
                acc += n;
                (bucket_bound(i), acc)
            })
            .collect();
        out.latency.push(Latency {
            capability: name,
            count,
            sum: TABLE.sum_ns[c].load(Relaxed) as f64 / 1e9,
            buckets,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_log_spaced_upper_bounds() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(50_000), 0);
        assert_eq!(bucket(50_001), 1);
        assert_eq!(bucket(100_000), 1);
        assert_eq!(bucket(100_001), 2);
        assert_eq!(bucket(200_000), 2);
        assert_eq!(bucket(1_000_000_000), 15); // 1 s <= 50 µs × 2^15 = 1.6384 s
        assert_eq!(bucket(u64::MAX), BUCKETS);
        for i in 0..BUCKETS {
            let ns = (bucket_bound(i) * 1e9).round() as u64;
            assert_eq!(bucket(ns), i);
            assert_eq!(bucket(ns + 1000), i + 1);
        }
    }

    #[test]
    fn capability_of_a_file() {
        let name = |f: &str| CAPABILITIES[capability_of(f)];
        assert_eq!(name("src/py/kv.rs"), "kv");
        assert_eq!(name("src/py/job_page.rs"), "jobs");
        assert_eq!(name("src/py/memory_store.rs"), "memory");
        assert_eq!(name("src/py/dual_loop.rs"), "loop");
        assert_eq!(name("src/py/filesync.rs"), "sync");
        assert_eq!(name("src/py/unknown.rs"), "other");
    }

    #[test]
    fn record_counts_by_outcome() {
        let cap = capability_of("src/py/metrics.rs");
        let before = snapshot();
        let n = |s: &Operations, o: &str| {
            s.calls
                .iter()
                .find(|c| c.capability == "metrics" && c.outcome == o)
                .map_or(0, |c| c.count)
        };
        record(cap, Instant::now(), &Ok::<(), Error>(()));
        record::<()>(cap, Instant::now(), &Err(Error::Timeout("t".into())));
        let after = snapshot();
        assert!(n(&after, "ok") > n(&before, "ok"));
        assert!(n(&after, "timeout") > n(&before, "timeout"));
        let lat = after.latency.iter().find(|l| l.capability == "metrics");
        assert!(lat.is_some_and(|l| l.count >= 2 && l.buckets.len() == BUCKETS));
    }
}
