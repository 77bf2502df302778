//! `hub.jobs.requeue`: dead jobs back to their ready queue, as if enqueued again (attempts
//! from zero, a new place at the end of their priority). Named by id, a dead or cancelled job
//! is requeued; without ids, the dead jobs (of one kind, if given), oldest first, in batches
//! of [`BATCH`] (each one script or transaction). Other jobs (pending, running, succeeded,
//! missing) are left alone and not counted. The job keeps its id, payload, options,
//! idempotency key and its last error until its next attempt ends.

use std::sync::{Arc, LazyLock};

use rusqlite::{params, OptionalExtension, Transaction};

use super::model::{job_id, now, MAX_BATCH};
use super::Jobs;
use crate::engine::script::Lua;
use crate::engine::{tri, wake, Op, Redis, RedisConn, Sqlite};
use crate::error::{Error, Result};
use crate::ids;

/// Jobs one script or transaction of a bulk requeue moves.
pub const BATCH: u64 = 1000;
/// Finished jobs one Redis script reads while looking for dead ones.
pub const SCAN: usize = 10_000;

/// Which jobs to requeue.
#[derive(Debug, Clone)]
pub enum Requeue {
    /// These ids (dead or cancelled ones).
    Ids(Vec<String>),
    /// Dead jobs, of this kind if given, at most `limit` (None: all).
    Dead {
        kind: Option<String>,
        limit: Option<u64>,
    },
}

impl Requeue {
    /// Checks the arguments of `requeue(ids, kind=, limit=)`.
    pub fn new(ids: Option<Vec<String>>, kind: Option<String>, limit: Option<u64>) -> Result<Self> {
        match ids {
            Some(ids) => {
                if kind.is_some() || limit.is_some() {
                    return Err(Error::validation(
                        "give ids, or kind and limit to requeue dead jobs in bulk, not both",
                    ));
                }
                if ids.len() > MAX_BATCH {
                    return Err(Error::validation(format!(
                        "at most {MAX_BATCH} ids per call, got {}",
                        ids.len()
                    )));
                }
                for i in &ids {
                    job_id(i)?;
                }
                Ok(Requeue::Ids(ids))
            }
            None => {
                if let Some(k) = &kind {
                    ids::id("job kind", k)?;
                }
                if limit == Some(0) {
                    return Err(Error::validation("limit must be at least 1 (None: all)"));
                }
                Ok(Requeue::Dead { kind, limit })
            }
        }
    }
}

impl Jobs {
    /// Requeues dead jobs (see the module); returns how many moved.
    pub fn requeue(&self, what: Requeue) -> Op<u64> {
        let parts = tri!(match &what {
            Requeue::Ids(ids) => self.parts_of(ids.iter().map(String::as_str)),
            Requeue::Dead { .. } => Ok(vec![]),
        });
        let n = self.n;
        self.backend.call(
            (self.ns(), what),
            |db, (ns, what)| sqlite::requeue(db, &ns, what),
            move |r, c, (ns, what)| redis::requeue(r, c, ns, n, parts, what),
        )
    }
}

/// The embedded store's half.
pub mod sqlite {
    use super::*;

    fn move_back(tx: &Transaction<'_>, ns: &str, ids: &[String], at: f64) -> Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let first = crate::jobs::sqlite::next_seq(tx, ns, ids.len() as i64)?;
        let mut up = tx.prepare_cached(
            "UPDATE jobs SET status = 'pending', q = 1, seq = ?3, due = ?4, run_at = ?4, \
             attempts = 0, started_at = NULL, finished_at = NULL, result = NULL, token = NULL \
             WHERE ns = ?1 AND id = ?2",
        )?;
        for (seq, id) in (first..).zip(ids) {
            up.execute(params![ns, id, seq, at])?;
        }
        Ok(ids.len() as u64)
    }

    pub fn requeue(db: &Sqlite, ns: &str, what: Requeue) -> Result<u64> {
        match what {
            Requeue::Ids(ids) => db.with_tx_on(crate::jobs::TOPIC, |tx| {
                let mut ok = Vec::with_capacity(ids.len());
                {
                    let mut st = tx.prepare_cached(
                        "SELECT status FROM jobs WHERE ns = ?1 AND id = ?2 AND q = 0",
                    )?;
                    for id in ids {
                        let s: Option<String> =
                            st.query_row(params![ns, id], |r| r.get(0)).optional()?;
                        if matches!(s.as_deref(), Some("dead" | "cancelled")) && !ok.contains(&id) {
                            ok.push(id);
                        }
                    }
                }
                move_back(tx, ns, &ok, now())
            }),
            Requeue::Dead { kind, limit } => {
                let mut total = 0u64;
                loop {
                    let want = limit.map_or(BATCH, |l| (l - total).min(BATCH));
                    let n = db.with_tx_on(crate::jobs::TOPIC, |tx| {
                        let ids: Vec<String> = tx
                            .prepare_cached(
                                "SELECT id FROM jobs WHERE ns = ?1 AND q = 0 AND status = 'dead' \
                                 AND (?2 IS NULL OR kind = ?2) ORDER BY finished_at, id LIMIT ?3",
                            )?
                            .query_map(params![ns, kind, want as i64], |r| r.get(0))?
                            .collect::<rusqlite::Result<_>>()?;
                        move_back(tx, ns, &ids, now())
                    })?;
                    total += n;
                    if n < want || limit.is_some_and(|l| total >= l) {
                        return Ok(total);
                    }
                }
            }
        }
    }
}

/// The Redis half: `lua/requeue.lua`, one call per batch.
pub mod redis {
    use super::*;
    use crate::jobs::redis::{prefix_in, TOPIC};
    use crate::jobs::route::group;

    static REQUEUE: LazyLock<Lua> = LazyLock::new(|| {
        Lua::new(
            include_str!("lua/common.lua"),
            include_str!("lua/requeue.lua"),
        )
    });

    fn start(ns: &str, (p, n): (u16, u16), mode: &str) -> ::redis::Cmd {
        let p = prefix_in(ns, p, n);
        let mut cmd = REQUEUE.call(&format!("{p}s"));
        cmd.arg(p)
            .arg(format!("{:.3}", now()))
            .arg(wake::channel(ns, TOPIC))
            .arg(mode);
        cmd
    }

    /// Requeues by id (one script per partition, concurrently), or the dead jobs partition by
    /// partition (0 first) while the limit allows.
    pub async fn requeue(
        r: Arc<Redis>,
        c: RedisConn,
        ns: String,
        n: u16,
        parts: Vec<u16>,
        what: Requeue,
    ) -> Result<u64> {
        let (kind, limit) = match what {
            Requeue::Ids(ids) => {
                let runs =
                    group(parts.into_iter().zip(ids).collect())
                        .into_iter()
                        .map(|(p, part)| {
                            let (r, mut c, ns) = (r.clone(), c.clone(), ns.clone());
                            async move {
                                let mut cmd = start(&ns, (p, n), "i");
                                cmd.arg(part.len());
                                for (_, i) in &part {
                                    cmd.arg(i);
                                }
                                let (k, _): (u64, i64) = REQUEUE.run(&r, &mut c, &cmd).await?;
                                Ok::<_, Error>(k)
                            }
                        });
                let moved: u64 = crate::jobs::redis::fan_out(&r, runs)
                    .await?
                    .into_iter()
                    .sum();
                if moved > 0 {
                    r.wakeups(&ns).fire(TOPIC);
                }
                return Ok(moved);
            }
            Requeue::Dead { kind, limit } => (kind, limit),
        };
        let mut total = 0u64;
        for p in 0..n {
            if limit.is_some_and(|l| total >= l) {
                break;
            }
            let mut c = c.clone();
            let mut pos = 0i64;
            loop {
                let want = limit.map_or(BATCH, |l| (l - total).min(BATCH));
                let mut cmd = start(&ns, (p, n), "k");
                cmd.arg(kind.as_deref().unwrap_or(""))
                    .arg(pos)
                    .arg(want)
                    .arg(SCAN);
                let (k, next): (u64, i64) = REQUEUE.run(&r, &mut c, &cmd).await?;
                if k > 0 {
                    r.wakeups(&ns).fire(TOPIC);
                }
                total += k;
                if next < 0 || limit.is_some_and(|l| total >= l) {
                    break;
                }
                pos = next;
            }
        }
        Ok(total)
    }
}
