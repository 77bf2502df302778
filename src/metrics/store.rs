//! The store gauges of one hub: job counts, bus pending and dead letters, the event log,
//! the cache's hit ratio, the write-back queue, the file sync and the store's round trip.
//!
//! A read costs a ping, then every other figure read at once: on Redis the requests share the
//! hub's multiplexed connection (a cluster answers from its nodes in parallel), so the whole
//! read is about two round trips whatever the number of jobs or agents; on the embedded store
//! it is a handful of indexed queries on one thread.

use std::time::Instant;

use rusqlite::OptionalExtension;

use crate::bus::Stats as BusStats;
use crate::cache::Stats as CacheStats;
use crate::engine::{Backend, Op, Sqlite};
use crate::error::{Error, Result};
use crate::filesync::Status as SyncStatus;
use crate::hub::Hub;
use crate::jobs::counts::Count;

/// The documents waiting to be written back to their files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Writeback {
    /// Paths queued.
    pub pending: u64,
    /// When the oldest was queued (Unix seconds), if any.
    pub oldest: Option<f64>,
}

/// What [`read`] reports.
#[derive(Debug, Clone)]
pub struct Store {
    /// "embedded", "redis" or "redis-cluster".
    pub backend: &'static str,
    pub namespace: String,
    /// A ping's (Redis) or `SELECT 1`'s (embedded) round trip, milliseconds.
    pub rtt_ms: f64,
    pub jobs: Vec<Count>,
    pub bus: BusStats,
    /// Events the log holds and the newest one's id ("0-0" when empty).
    pub events_count: u64,
    pub events_last_id: String,
    pub cache: CacheStats,
    pub writeback: Writeback,
    /// The running file sync's counters (None when this hub runs none).
    pub sync: Option<SyncStatus>,
    /// When this was read (Unix seconds).
    pub at: f64,
}

impl Store {
    /// Dead jobs over every kind.
    pub fn dead_jobs(&self) -> u64 {
        self.jobs
            .iter()
            .filter(|c| c.state == "dead")
            .map(|c| c.count)
            .sum()
    }

    /// Hits over reads (None before the first read).
    pub fn cache_hit_ratio(&self) -> Option<f64> {
        let reads = self.cache.hits + self.cache.misses;
        (reads > 0).then(|| self.cache.hits as f64 / reads as f64)
    }

    /// How long the oldest pending write-back has waited, milliseconds (None when none waits).
    pub fn sync_lag_ms(&self) -> Option<f64> {
        self.writeback
            .oldest
            .map(|t| ((self.at - t) * 1e3).max(0.0))
    }
}

fn writeback(b: &Backend, ns: &str) -> Op<Writeback> {
    b.call(
        ns.to_string(),
        |db, ns| {
            db.with(|c| {
                let (n, oldest): (i64, Option<f64>) = c
                    .prepare_cached("SELECT count(*), min(at) FROM doc_writeback WHERE ns = ?1")?
                    .query_row([&ns], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?
                    .unwrap_or((0, None));
                Ok(Writeback {
                    pending: n as u64,
                    oldest,
                })
            })
        },
        |r, mut c, ns| async move {
            let key = format!("{}writeback", crate::docs::redis::prefix(&ns));
            let (n, first): (u64, Vec<(String, f64)>) = redis::pipe()
                .zcard(&key)
                .cmd("ZRANGE")
                .arg(&key)
                .arg(0)
                .arg(0)
                .arg("WITHSCORES")
                .query_async(&mut c)
                .await
                .map_err(|e| r.err(e))?;
            Ok(Writeback {
                pending: n,
                oldest: first.first().map(|(_, s)| *s),
            })
        },
    )
}

fn ping(b: &Backend) -> Op<f64> {
    b.call(
        (),
        |db, ()| {
            let t = Instant::now();
            db.with(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))?;
            Ok(t.elapsed().as_secs_f64() * 1e3)
        },
        |r, _c, ()| async move {
            let t = Instant::now();
            r.ping().await?;
            Ok(t.elapsed().as_secs_f64() * 1e3)
        },
    )
}

/// Runs an embedded-store operation on this thread.
fn here<T: Send + 'static>(op: Op<T>, db: &Sqlite) -> Result<T> {
    match op {
        Op::Sqlite(_, f) => f(db),
        Op::Ready(r) => r,
        other => other.wait(),
    }
}

/// Reads the store gauges of `hub`.
pub fn read(hub: &Hub) -> Op<Store> {
    let b = hub.backend().clone();
    let ns = hub.namespace().to_string();
    let name = b.name();
    let sync = hub.sync.lock().as_ref().map(|e| e.status());
    let rtt = ping(&b);
    let jobs = hub.jobs.counts();
    let bus = hub.bus.stats();
    let len = hub.events.len();
    let last = hub.events.last_id();
    let cache = hub.cache.stats();
    let wb = writeback(&b, &ns);
    let build = move |rtt_ms, jobs, bus, events_count, events_last_id, cache, writeback| Store {
        backend: name,
        namespace: ns,
        rtt_ms,
        jobs,
        bus,
        events_count,
        events_last_id,
        cache,
        writeback,
        sync,
        at: crate::clock::now(),
    };
    match &b {
        Backend::Sqlite(db) => {
            let db = db.clone();
            Op::Sqlite(
                db,
                Box::new(move |db| {
                    Ok(build(
                        here(rtt, db)?,
                        here(jobs, db)?,
                        here(bus, db)?,
                        here(len, db)?,
                        here(last, db)?,
                        here(cache, db)?,
                        here(wb, db)?,
                    ))
                }),
            )
        }
        Backend::Redis(_) => Op::Async(Box::pin(async move {
            let rtt_ms = rtt.run().await?;
            let (jobs, bus, len, last, cache, wb) = tokio::try_join!(
                jobs.run(),
                bus.run(),
                len.run(),
                last.run(),
                cache.run(),
                wb.run()
            )?;
            Ok::<_, Error>(build(rtt_ms, jobs, bus, len, last, cache, wb))
        })),
    }
}
