//! The archive's jobs source: finished jobs (succeeded, dead, cancelled) in finish order.
//! Redis: the `J f` sorted set (score: finished_at) and each job's hash; SQLite: the `jobs`
//! rows with `q = 0` (index `jobs_done`). The cursor is `<finished_at>|<id>` (the score as
//! the store gave it, then the id); a dead job requeued and finished again comes back with
//! its new finish time, so it is a new row (natural id `(id, finished_ms)`).

use std::sync::LazyLock;

use rusqlite::params;
use serde_json::Value;

use super::state::{self, Order};
use crate::archive::model::{Batch, JobOutcome, Rows, Source};
use crate::engine::script::Lua;
use crate::engine::{tri, Backend, Op};
use crate::error::{Error, Result};
use crate::jobs::model::Job;

static READ: LazyLock<Lua> =
    LazyLock::new(|| Lua::read_only("", include_str!("../lua/jobs_read.lua")));

const S: Source = Source::Jobs;

/// The cursor before every finished job.
const START: &str = "0|";

fn split(cursor: &str) -> Result<(f64, &str)> {
    let (n, id) = cursor
        .split_once('|')
        .ok_or_else(|| Error::validation(format!("bad jobs archive cursor {cursor:?}")))?;
    let n = n
        .parse::<f64>()
        .map_err(|_| Error::validation(format!("bad jobs archive cursor {cursor:?}")))?;
    Ok((n, id))
}

fn ms(s: f64) -> i64 {
    (s * 1000.0).round() as i64
}

fn outcome(j: Job) -> JobOutcome {
    JobOutcome {
        finished_ms: ms(j.finished_at.unwrap_or(0.0)),
        started_ms: j.started_at.map(ms),
        created_ms: ms(j.created_at),
        headers: Value::Object(
            j.headers
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        ),
        worker: j.worker,
        error: j.error,
        result: j.result.unwrap_or(Value::Null),
        payload: j.payload,
        attempts: j.attempts as i64,
        status: j.status,
        kind: j.kind,
        id: j.id,
    }
}

/// Rows after `after`, oldest first.
pub fn read(b: &Backend, ns: &str, after: Option<String>, limit: usize) -> Op<Batch> {
    let after = after.unwrap_or_else(|| START.to_string());
    let (an, aid) = match split(&after) {
        Ok((n, id)) => (n, id.to_string()),
        Err(e) => return Op::Ready(Err(e)),
    };
    let limit = limit.clamp(1, super::MAX_READ);
    b.call(
        (ns.to_string(), after, aid),
        move |db, (ns, after, aid)| {
            db.with(|c| {
                let sql = format!(
                    "SELECT {} FROM jobs WHERE ns = ?1 AND q = 0 AND (finished_at > ?2 \
                     OR (finished_at = ?2 AND id > ?3)) ORDER BY finished_at, id LIMIT ?4",
                    crate::jobs::sqlite::COLS
                );
                let jobs: Vec<Job> = c
                    .prepare_cached(&sql)?
                    .query_map(
                        params![ns, an, aid, limit as i64],
                        crate::jobs::sqlite::job_row,
                    )?
                    .collect::<rusqlite::Result<_>>()?;
                let (next, behind) = match jobs.last() {
                    None => (after, 0),
                    Some(j) => {
                        let f = j.finished_at.unwrap_or(0.0);
                        let behind: i64 = c
                            .prepare_cached(
                                "SELECT count(*) FROM jobs WHERE ns = ?1 AND q = 0 AND \
                                 (finished_at > ?2 OR (finished_at = ?2 AND id > ?3))",
                            )?
                            .query_row(params![ns, f, j.id], |r| r.get(0))?;
                        (format!("{f}|{}", j.id), behind as u64)
                    }
                };
                Ok(Batch {
                    rows: Rows::Jobs(jobs.into_iter().map(outcome).collect()),
                    next,
                    behind,
                    lost: 0,
                })
            })
        },
        move |r, mut c, (ns, after, aid)| async move {
            let p = crate::jobs::redis::prefix(&ns);
            let (an_text, _) = after.split_once('|').unwrap_or((&after, ""));
            let mut cmd = READ.call(&format!("{p}f"));
            cmd.arg(&p).arg(an_text).arg(&aid).arg(limit);
            let reply: Vec<redis::Value> = READ.run(&r, &mut c, &cmd).await?;
            let bad = || Error::Backend("jobs archive read: a bad reply".into());
            let int = |v: &redis::Value| -> Result<u64> {
                redis::from_redis_value_ref(v).map_err(|_| bad())
            };
            let behind = int(reply.first().ok_or_else(bad)?)?;
            let n = int(reply.get(1).ok_or_else(bad)?)? as usize;
            let mut rows = Vec::with_capacity(n);
            let mut next = after;
            for i in 0..n {
                let at = 2 + i * 3;
                let s: String = redis::from_redis_value_ref(&reply[at]).map_err(|_| bad())?;
                let id: String = redis::from_redis_value_ref(&reply[at + 1]).map_err(|_| bad())?;
                let h: std::collections::HashMap<String, String> =
                    redis::from_redis_value_ref(&reply[at + 2]).map_err(|_| bad())?;
                next = format!("{s}|{id}");
                // A hash gone (purged in between) leaves its place: the cursor still moves.
                if let Some(mut j) = crate::jobs::redis::parse_job(&id, h)? {
                    if j.finished_at.is_none() {
                        j.finished_at = s.parse().ok();
                    }
                    rows.push(outcome(j));
                }
            }
            Ok(Batch {
                rows: Rows::Jobs(rows),
                next,
                behind,
                lost: 0,
            })
        },
    )
}

/// The committed cursor, else the cursor before every record, committed.
pub fn start(b: &Backend, ns: &str) -> Op<String> {
    state::start(b, ns, S, START, &[], &[])
}

/// The committed cursor.
pub fn cursor(b: &Backend, ns: &str) -> Op<Option<String>> {
    state::cursor(b, ns, S)
}

/// Commits a cursor (never backwards).
pub fn commit(b: &Backend, ns: &str, cursor: String) -> Op<()> {
    tri!(split(&cursor));
    state::commit(b, ns, S, cursor, Order::NumId)
}

/// Entries trimmed before the archive had them.
pub fn overrun(b: &Backend, ns: &str) -> Op<u64> {
    state::overrun(b, ns, S)
}

/// Deletes the cursors of this capability's sources; how many there were.
pub fn forget(b: &Backend, ns: &str) -> Op<u64> {
    state::forget(b, ns, S, &[], &[])
}
