//! `hub.jobs.workers()`: the registry of worker processes. A worker registers when it starts
//! (id, host, pid, kinds, its beat interval), beats every interval with its counts of jobs
//! done and failed, and unregisters when it stops. One small record per worker: a row of
//! `job_workers` on the embedded store, a hash `J w:<id>` plus the sorted set `J w` (ids by
//! last beat) under the jobs hash tag on Redis.
//!
//! A worker silent for [`LOST_BEATS`] of its intervals is reported `lost` (killed, frozen or
//! cut off); one silent for [`FORGET`] seconds is no longer listed and is deleted by the next
//! registration or beat in the namespace (on Redis its hash also expires then).

use std::sync::{Arc, LazyLock};

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};

use super::model::{now, worker_name};
use super::Jobs;
use crate::engine::script::Lua;
use crate::engine::{tri, Op, Redis, RedisConn, Sqlite};
use crate::error::{Error, Result};
use crate::ids;

/// A worker that missed this many beats in a row is reported lost.
pub const LOST_BEATS: f64 = 3.0;
/// A worker silent for this many seconds is dropped from the registry (one hour).
pub const FORGET: f64 = 3600.0;
/// Shortest beat interval, seconds.
pub const MIN_INTERVAL: f64 = 0.01;
/// Longest beat interval, seconds (so a lost worker shows as lost well before it is dropped).
pub const MAX_INTERVAL: f64 = 600.0;
/// Longest host name kept.
pub const MAX_HOST: usize = 255;
/// Most kinds one worker may declare.
pub const MAX_KINDS: usize = 1000;
/// Most workers one listing returns.
pub const MAX_LIST: usize = 10_000;

/// The embedded store's table (schema step of the jobs capability).
pub const SCHEMA: &str = "
CREATE TABLE job_workers (
  ns TEXT NOT NULL, id TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL,
  kinds TEXT NOT NULL, interval REAL NOT NULL, started REAL NOT NULL, last_beat REAL NOT NULL,
  done INTEGER NOT NULL, failed INTEGER NOT NULL,
  PRIMARY KEY (ns, id)
) WITHOUT ROWID;
";

/// A worker about to register.
#[derive(Debug, Clone)]
pub struct WorkerSpec {
    /// Unique name (an id); a second registration under it replaces the first.
    pub id: String,
    /// Host name (free text, at most [`MAX_HOST`] bytes, no control characters).
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// The job kinds it runs.
    pub kinds: Vec<String>,
    /// Seconds between its beats.
    pub interval: f64,
}

impl WorkerSpec {
    fn check(&self) -> Result<()> {
        worker_name(&self.id)?;
        if self.host.is_empty()
            || self.host.len() > MAX_HOST
            || self.host.chars().any(char::is_control)
        {
            return Err(Error::validation(format!(
                "host must be 1 to {MAX_HOST} bytes without control characters, got {:?}",
                self.host
            )));
        }
        if self.kinds.len() > MAX_KINDS {
            return Err(Error::validation(format!(
                "at most {MAX_KINDS} kinds per worker, got {}",
                self.kinds.len()
            )));
        }
        for k in &self.kinds {
            ids::id("job kind", k)?;
        }
        if !self.interval.is_finite() || !(MIN_INTERVAL..=MAX_INTERVAL).contains(&self.interval) {
            return Err(Error::validation(format!(
                "interval must be {MIN_INTERVAL} to {MAX_INTERVAL} seconds, got {}",
                self.interval
            )));
        }
        Ok(())
    }
}

/// A registered worker as `workers()` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerInfo {
    pub id: String,
    pub host: String,
    pub pid: u32,
    pub kinds: Vec<String>,
    /// Seconds between its beats.
    pub interval: f64,
    /// When it registered, Unix seconds.
    pub started: f64,
    /// Its latest beat, Unix seconds.
    pub last_beat: f64,
    /// Jobs it completed.
    pub done: u64,
    /// Attempts that failed under it.
    pub failed: u64,
    /// Silent for more than [`LOST_BEATS`] intervals.
    pub lost: bool,
}

impl WorkerInfo {
    /// The record as JSON (the shape of `/status`'s `workers` entries).
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id, "host": self.host, "pid": self.pid, "kinds": self.kinds,
            "interval": self.interval, "started": self.started, "last_beat": self.last_beat,
            "done": self.done, "failed": self.failed, "lost": self.lost,
        })
    }
}

fn is_lost(last_beat: f64, interval: f64, at: f64) -> bool {
    at - last_beat > LOST_BEATS * interval
}

fn sort(v: &mut [WorkerInfo]) {
    v.sort_by(|a, b| a.started.total_cmp(&b.started).then(a.id.cmp(&b.id)));
}

/// The key prefix of the workers registry: partition 0's (one registry per namespace).
fn registry(ns: &str, n: u16) -> String {
    crate::jobs::redis::prefix_in(ns, 0, n)
}

impl Jobs {
    /// Registers (or registers again) a worker; its counts start at zero.
    pub fn register_worker(&self, w: WorkerSpec) -> Op<()> {
        let n = self.n;
        tri!(w.check());
        let at = now();
        self.backend.call(
            (self.ns(), w),
            move |db, (ns, w)| sqlite::register(db, &ns, &w, at),
            move |r, c, (ns, w)| redis::register(r, c, registry(&ns, n), w, at),
        )
    }

    /// Records a beat of worker `id` with its totals so far; false if the registry does not
    /// know it (never registered, unregistered, or dropped after [`FORGET`] seconds of
    /// silence): the worker registers again.
    pub fn beat_worker(&self, id: &str, done: u64, failed: u64) -> Op<bool> {
        let n = self.n;
        tri!(worker_name(id));
        let at = now();
        self.backend.call(
            (self.ns(), id.to_string()),
            move |db, (ns, id)| sqlite::beat(db, &ns, &id, done, failed, at),
            move |r, c, (ns, id)| redis::beat(r, c, registry(&ns, n), id, done, failed, at),
        )
    }

    /// Removes worker `id` from the registry (a clean stop); false if it was not there.
    pub fn unregister_worker(&self, id: &str) -> Op<bool> {
        let n = self.n;
        tri!(worker_name(id));
        self.backend.call(
            (self.ns(), id.to_string()),
            |db, (ns, id)| sqlite::unregister(db, &ns, &id),
            move |r, c, (ns, id)| redis::unregister(r, c, registry(&ns, n), id),
        )
    }

    /// The registered workers, first started first; `lost` for those silent too long.
    pub fn workers(&self) -> Op<Vec<WorkerInfo>> {
        self.workers_at(now())
    }

    /// [`Jobs::workers`] as seen at time `at` (tests look into the future with it).
    pub(crate) fn workers_at(&self, at: f64) -> Op<Vec<WorkerInfo>> {
        let n = self.n;
        self.backend.call(
            self.ns(),
            move |db, ns| sqlite::list(db, &ns, at),
            move |r, c, ns| redis::list(r, c, registry(&ns, n), at),
        )
    }
}

/// The embedded store's half.
pub mod sqlite {
    use super::*;

    fn forget_silent(tx: &rusqlite::Transaction<'_>, ns: &str, at: f64) -> Result<()> {
        tx.prepare_cached("DELETE FROM job_workers WHERE ns = ?1 AND last_beat < ?2")?
            .execute(params![ns, at - FORGET])?;
        Ok(())
    }

    pub fn register(db: &Sqlite, ns: &str, w: &WorkerSpec, at: f64) -> Result<()> {
        let kinds = serde_json::to_string(&w.kinds)?;
        db.with_tx_on(super::super::TOPIC, |tx| {
            forget_silent(tx, ns, at)?;
            tx.prepare_cached(
                "INSERT OR REPLACE INTO job_workers (ns, id, host, pid, kinds, interval, \
                 started, last_beat, done, failed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 0, 0)",
            )?
            .execute(params![ns, w.id, w.host, w.pid, kinds, w.interval, at])?;
            Ok(())
        })
    }

    pub fn beat(db: &Sqlite, ns: &str, id: &str, done: u64, failed: u64, at: f64) -> Result<bool> {
        db.with_tx_on(super::super::TOPIC, |tx| {
            forget_silent(tx, ns, at)?;
            let n = tx
                .prepare_cached(
                    "UPDATE job_workers SET last_beat = ?3, done = ?4, failed = ?5 \
                     WHERE ns = ?1 AND id = ?2",
                )?
                .execute(params![ns, id, at, done as i64, failed as i64])?;
            Ok(n == 1)
        })
    }

    pub fn unregister(db: &Sqlite, ns: &str, id: &str) -> Result<bool> {
        db.with_tx_on(super::super::TOPIC, |tx| {
            Ok(tx
                .prepare_cached("DELETE FROM job_workers WHERE ns = ?1 AND id = ?2")?
                .execute(params![ns, id])?
                == 1)
        })
    }

    pub fn list(db: &Sqlite, ns: &str, at: f64) -> Result<Vec<WorkerInfo>> {
        db.with(|c: &mut Connection| {
            let mut st = c.prepare_cached(
                "SELECT id, host, pid, kinds, interval, started, last_beat, done, failed \
                 FROM job_workers WHERE ns = ?1 AND last_beat >= ?2 \
                 ORDER BY started, id LIMIT ?3",
            )?;
            let rows = st.query_map(params![ns, at - FORGET, MAX_LIST as i64], |r| {
                let kinds: String = r.get(3)?;
                let interval: f64 = r.get(4)?;
                let last_beat: f64 = r.get(6)?;
                let done: i64 = r.get(7)?;
                let failed: i64 = r.get(8)?;
                Ok(WorkerInfo {
                    id: r.get(0)?,
                    host: r.get(1)?,
                    pid: r.get(2)?,
                    kinds: serde_json::from_str(&kinds).unwrap_or_default(),
                    interval,
                    started: r.get(5)?,
                    last_beat,
                    done: done.max(0) as u64,
                    failed: failed.max(0) as u64,
                    lost: is_lost(last_beat, interval, at),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Rows of this namespace (for `health()`).
    pub fn rows(c: &Connection, ns: &str) -> Result<u64> {
        let n: Option<i64> = c
            .query_row(
                "SELECT count(*) FROM job_workers WHERE ns = ?1",
                [ns],
                |r| r.get(0),
            )
            .optional()?;
        Ok(n.unwrap_or(0) as u64)
    }

    /// Deletes this namespace's rows (for `clear()`).
    pub fn clear(tx: &rusqlite::Transaction<'_>, ns: &str) -> Result<u64> {
        Ok(tx.execute("DELETE FROM job_workers WHERE ns = ?1", [ns])? as u64)
    }
}

/// The Redis half: one script per operation under the jobs hash tag.
pub mod redis {
    use super::*;

    static BEAT: LazyLock<Lua> =
        LazyLock::new(|| Lua::new("", include_str!("lua/worker_beat.lua")));
    static LIST: LazyLock<Lua> =
        LazyLock::new(|| Lua::read_only("", include_str!("lua/workers.lua")));

    /// A call of `script` on the registry under key prefix `p` (partition 0's).
    fn call(script: &Lua, p: &str, at: f64) -> ::redis::Cmd {
        let mut cmd = script.call(&format!("{p}w"));
        cmd.arg(p).arg(format!("{at:.3}")).arg(FORGET);
        cmd
    }

    pub async fn register(
        r: Arc<Redis>,
        mut c: RedisConn,
        ns: String,
        w: WorkerSpec,
        at: f64,
    ) -> Result<()> {
        let mut cmd = call(&BEAT, &ns, at);
        cmd.arg("r")
            .arg(&w.id)
            .arg(&w.host)
            .arg(w.pid)
            .arg(serde_json::to_string(&w.kinds)?)
            .arg(w.interval);
        let _: i64 = BEAT.run(&r, &mut c, &cmd).await?;
        Ok(())
    }

    pub async fn beat(
        r: Arc<Redis>,
        mut c: RedisConn,
        ns: String,
        id: String,
        done: u64,
        failed: u64,
        at: f64,
    ) -> Result<bool> {
        let mut cmd = call(&BEAT, &ns, at);
        cmd.arg("b").arg(&id).arg(done).arg(failed);
        let n: i64 = BEAT.run(&r, &mut c, &cmd).await?;
        Ok(n == 1)
    }

    pub async fn unregister(
        r: Arc<Redis>,
        mut c: RedisConn,
        ns: String,
        id: String,
    ) -> Result<bool> {
        let mut cmd = call(&BEAT, &ns, now());
        cmd.arg("u").arg(&id);
        let n: i64 = BEAT.run(&r, &mut c, &cmd).await?;
        Ok(n == 1)
    }

    pub async fn list(
        r: Arc<Redis>,
        mut c: RedisConn,
        ns: String,
        at: f64,
    ) -> Result<Vec<WorkerInfo>> {
        let mut cmd = call(&LIST, &ns, at);
        cmd.arg(MAX_LIST);
        let reply: Vec<String> = LIST.run(&r, &mut c, &cmd).await?;
        let mut out = Vec::with_capacity(reply.len() / 9);
        for f in reply.chunks_exact(9) {
            let bad = || Error::Backend(format!("worker {:?} has a bad field", f[0]));
            let num = |s: &str| s.parse::<f64>().map_err(|_| bad());
            let interval = num(&f[4])?;
            let last_beat = num(&f[6])?;
            out.push(WorkerInfo {
                id: f[0].clone(),
                host: f[1].clone(),
                pid: f[2].parse().map_err(|_| bad())?,
                kinds: serde_json::from_str(&f[3]).unwrap_or_default(),
                interval,
                started: num(&f[5])?,
                last_beat,
                done: f[7].parse().map_err(|_| bad())?,
                failed: f[8].parse().map_err(|_| bad())?,
                lost: is_lost(last_beat, interval, at),
            });
        }
        sort(&mut out);
        Ok(out)
    }
}
