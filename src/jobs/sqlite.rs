//! `hub.jobs` on the embedded store: one table, every operation one `BEGIN IMMEDIATE`
//! transaction, so producers and workers in several processes sharing `.zerolag/` never see
//! a half-done step.

use std::time::{Duration, Instant};

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};
use serde_json::Value;

use super::list::{JobPage, Listing, Queue};
use super::model::{
    cut_error, headers_text, new_token, parse_headers, Ack, Backoff, Claim, Claimed, Finish,
    Headers, Job, Outcome,
};
use crate::engine::Sqlite;
use crate::error::{Error, Result};

/// Tables of this capability (one migration; see `engine::sqlite::MIGRATIONS`).
///
/// `q` says which queue a job is in: 0 none (terminal), 1 ready (ordered by priority, then
/// `seq`), 2 delayed (until `due`), 3 running (reclaimable at `due`, its deadline).
pub const SCHEMA: &str = "
CREATE TABLE jobs (
  ns TEXT NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL,
  priority INTEGER NOT NULL, status TEXT NOT NULL, q INTEGER NOT NULL, seq INTEGER NOT NULL,
  due REAL NOT NULL, attempts INTEGER NOT NULL, max_attempts INTEGER NOT NULL,
  bk TEXT NOT NULL, bb REAL NOT NULL, timeout REAL, run_at REAL NOT NULL,
  created_at REAL NOT NULL, started_at REAL, finished_at REAL, result TEXT, error TEXT,
  progress TEXT, idem TEXT, token TEXT, worker TEXT,
  PRIMARY KEY (ns, id)
) WITHOUT ROWID;
CREATE INDEX jobs_ready ON jobs (ns, kind, priority DESC, seq) WHERE q = 1;
CREATE INDEX jobs_due ON jobs (ns, q, due) WHERE q >= 2;
CREATE INDEX jobs_done ON jobs (ns, finished_at) WHERE q = 0;
CREATE UNIQUE INDEX jobs_idem ON jobs (ns, idem) WHERE idem IS NOT NULL;
CREATE TABLE job_seq (ns TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
";

pub(crate) const COLS: &str =
    "id, kind, payload, priority, status, attempts, max_attempts, bk, bb, \
                    timeout, run_at, created_at, started_at, finished_at, result, error, \
                    progress, idem, worker, headers";

/// Step 21: the headers column (JSON object text, NULL for none).
pub const HEADERS_SCHEMA: &str = "ALTER TABLE jobs ADD COLUMN headers TEXT;";

/// Step 28: the partition a job belongs to (`super::route`; 0 in a namespace with one
/// partition, so rows from before stay right), read by claims pinned to partitions.
pub const PART_SCHEMA: &str = "ALTER TABLE jobs ADD COLUMN part INTEGER NOT NULL DEFAULT 0;";

/// Most expired entries one claim moves (the rest move on the next claim).
const SWEEP: i64 = 1000;

fn json(s: Option<String>) -> rusqlite::Result<Option<Value>> {
    s.map(|s| serde_json::from_str(&s))
        .transpose()
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
        })
}

fn hdrs(s: Option<String>) -> rusqlite::Result<Headers> {
    parse_headers(s.as_deref()).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
    })
}

pub(crate) fn job_row(r: &Row<'_>) -> rusqlite::Result<Job> {
    let bk: String = r.get(7)?;
    Ok(Job {
        id: r.get(0)?,
        kind: r.get(1)?,
        payload: json(Some(r.get(2)?))?.unwrap_or(Value::Null),
        priority: r.get(3)?,
        status: r.get(4)?,
        attempts: r.get(5)?,
        max_attempts: r.get(6)?,
        backoff: Backoff::from_code(&bk, r.get(8)?),
        timeout: r.get(9)?,
        run_at: r.get(10)?,
        created_at: r.get(11)?,
        started_at: r.get(12)?,
        finished_at: r.get(13)?,
        result: json(r.get(14)?)?,
        error: r.get(15)?,
        progress: json(r.get(16)?)?,
        idempotency_key: r.get(17)?,
        worker: r.get(18)?,
        headers: hdrs(r.get(19)?)?,
    })
}

fn get_one(c: &Connection, ns: &str, id: &str) -> Result<Option<Job>> {
    Ok(c.prepare_cached(&format!(
        "SELECT {COLS} FROM jobs WHERE ns = ?1 AND id = ?2"
    ))?
    .query_row(params![ns, id], job_row)
    .optional()?)
}

/// Reserves `k` sequence numbers; returns the first.
pub(super) fn next_seq(tx: &Transaction<'_>, ns: &str, k: i64) -> Result<i64> {
    let n: i64 = tx
        .prepare_cached(
            "INSERT INTO job_seq (ns, n) VALUES (?1, ?2) \
             ON CONFLICT (ns) DO UPDATE SET n = n + ?2 RETURNING n",
        )?
        .query_row(params![ns, k], |r| r.get(0))?;
    Ok(n + 1 - k)
}

/// Enqueues all jobs or none; an idempotency key already in use returns that job instead.
pub fn enqueue_many(db: &Sqlite, ns: &str, jobs: Vec<(u16, Job)>, at: f64) -> Result<Vec<Job>> {
    db.with_tx_on(super::TOPIC, |tx| {
        let mut out = Vec::with_capacity(jobs.len());
        let ready = jobs.iter().filter(|(_, j)| j.run_at <= at).count() as i64;
        let mut seq = if ready > 0 { next_seq(tx, ns, ready)? } else { 0 };
        let mut find = tx.prepare_cached("SELECT id FROM jobs WHERE ns = ?1 AND idem = ?2")?;
        let mut ins = tx.prepare_cached(
            "INSERT INTO jobs (ns, id, kind, payload, priority, status, q, seq, due, attempts, \
             max_attempts, bk, bb, timeout, run_at, created_at, idem, headers, part) \
             VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7, ?8, 0, ?9, ?10, ?11, ?12, ?13, ?14, ?15, \
             ?16, ?17)",
        )?;
        for (part, j) in jobs {
            if let Some(k) = &j.idempotency_key {
                let existing: Option<String> =
                    find.query_row(params![ns, k], |r| r.get(0)).optional()?;
                if let Some(id) = existing {
                    let job = get_one(tx, ns, &id)?
                        .ok_or_else(|| Error::Backend(format!("job {id:?} vanished")))?;
                    out.push(job);
                    continue;
                }
            }
            let is_ready = j.run_at <= at;
            let s = if is_ready {
                seq += 1;
                seq - 1
            } else {
                0
            };
            ins.execute(params![
                ns,
                j.id,
                j.kind,
                serde_json::to_string(&j.payload)?,
                j.priority,
                if is_ready { 1 } else { 2 },
                s,
                j.run_at,
                j.max_attempts,
                j.backoff.code(),
                j.backoff.base(),
                j.timeout,
                j.run_at,
                j.created_at,
                j.idempotency_key,
                (!j.headers.is_empty()).then(|| headers_text(&j.headers)),
                part,
            ])?;
            out.push(j);
        }
        Ok(out)
    })
}

/// Jobs by id, None where missing.
pub fn get_many(db: &Sqlite, ns: &str, ids: &[String]) -> Result<Vec<Option<Job>>> {
    db.with(|c| ids.iter().map(|id| get_one(c, ns, id)).collect())
}

/// One page of a queue (`super::list`): `limit + 1` rows tell whether another page follows.
pub fn list(db: &Sqlite, ns: &str, l: &Listing) -> Result<JobPage> {
    let order = match l.queue {
        Queue::Ready => "priority DESC, seq",
        Queue::Delayed | Queue::Running => "due, id",
        Queue::Finished => "finished_at DESC, id DESC",
    };
    let sql = format!(
        "SELECT {COLS} FROM jobs WHERE ns = ?1 AND q = ?2 AND (?3 IS NULL OR kind = ?3) \
         AND (?4 IS NULL OR status = ?4) ORDER BY {order} LIMIT ?5 OFFSET ?6"
    );
    db.with(|c| {
        let mut st = c.prepare_cached(&sql)?;
        let rows = st.query_map(
            params![
                ns,
                l.queue.code(),
                l.kind,
                l.status,
                (l.limit + 1) as i64,
                l.start as i64
            ],
            job_row,
        )?;
        let mut jobs = rows.collect::<rusqlite::Result<Vec<Job>>>()?;
        let next = (jobs.len() > l.limit).then(|| (l.start + l.limit as u64).to_string());
        jobs.truncate(l.limit);
        Ok(JobPage { jobs, next })
    })
}

/// What a failed attempt turns into: `(status, q, due)`.
fn after_failure(
    attempts: u32,
    max: u32,
    backoff: Backoff,
    retry: bool,
    at: f64,
) -> (&'static str, i64, f64) {
    if retry && attempts < max {
        ("failed", 2, at + backoff.delay(attempts))
    } else {
        ("dead", 0, 0.0)
    }
}

fn fail_job(
    tx: &Transaction<'_>,
    ns: &str,
    id: &str,
    error: &str,
    retry: bool,
    at: f64,
) -> Result<()> {
    let (attempts, max, bk, bb): (u32, u32, String, f64) = tx
        .prepare_cached(
            "SELECT attempts, max_attempts, bk, bb FROM jobs WHERE ns = ?1 AND id = ?2",
        )?
        .query_row(params![ns, id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
    let (status, q, due) = after_failure(attempts, max, Backoff::from_code(&bk, bb), retry, at);
    tx.prepare_cached(
        "UPDATE jobs SET status = ?3, q = ?4, due = ?5, run_at = CASE WHEN ?4 = 2 THEN ?5 ELSE run_at END, \
         finished_at = CASE WHEN ?4 = 0 THEN ?6 ELSE NULL END, error = ?7, token = NULL \
         WHERE ns = ?1 AND id = ?2",
    )?
    .execute(params![ns, id, status, q, due, at, error])?;
    Ok(())
}

/// Moves due delayed jobs to ready and expired running jobs to retry or dead. The queries
/// state `q >= 2` (the partial index `jobs_due`'s condition) so SQLite may use that index.
fn sweep(tx: &Transaction<'_>, ns: &str, at: f64) -> Result<()> {
    let due: Vec<String> = tx
        .prepare_cached(
            "SELECT id FROM jobs WHERE ns = ?1 AND q >= 2 AND q = 2 AND due <= ?2 \
             ORDER BY due LIMIT ?3",
        )?
        .query_map(params![ns, at, SWEEP], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if !due.is_empty() {
        let first = next_seq(tx, ns, due.len() as i64)?;
        let mut up = tx.prepare_cached(
            "UPDATE jobs SET q = 1, seq = ?3, status = 'pending' WHERE ns = ?1 AND id = ?2",
        )?;
        for (seq, id) in (first..).zip(due.iter()) {
            up.execute(params![ns, id, seq])?;
        }
    }
    let expired: Vec<(String, Option<f64>, Option<f64>)> = tx
        .prepare_cached(
            "SELECT id, timeout, started_at FROM jobs \
             WHERE ns = ?1 AND q >= 2 AND q = 3 AND due <= ?2 LIMIT ?3",
        )?
        .query_map(params![ns, at, SWEEP], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for (id, timeout, started) in expired {
        fail_job(tx, ns, &id, &lost_reason(timeout, started, at), true, at)?;
    }
    Ok(())
}

/// Why a running job's deadline passed: its timeout, or a worker that stopped heart-beating.
pub fn lost_reason(timeout: Option<f64>, started: Option<f64>, at: f64) -> String {
    match (timeout, started) {
        (Some(t), Some(s)) if s + t <= at + 1e-3 => format!("timed out after {t} s"),
        _ => "worker lost: visibility timeout expired without a heartbeat".to_string(),
    }
}

/// A running job's deadline: the visibility timeout, never past its own timeout.
pub fn deadline(at: f64, visibility: f64, timeout: Option<f64>, started: f64) -> f64 {
    match timeout {
        Some(t) => (at + visibility).min(started + t),
        None => at + visibility,
    }
}

#[allow(clippy::too_many_arguments)]
fn claim_once(
    tx: &Transaction<'_>,
    ns: &str,
    kinds: &[String],
    count: usize,
    worker: &str,
    visibility: f64,
    at: f64,
    only: Option<&[u16]>,
) -> Result<Claimed> {
    sweep(tx, ns, at)?;
    // Best `count` per kind, merged by (priority desc, seq asc); a pinned worker's from its
    // partitions only (`?4`: a JSON list of them).
    let mut cand: Vec<(i64, i64, String)> = Vec::new();
    {
        let mut st = tx.prepare_cached(if only.is_some() {
            "SELECT priority, seq, id FROM jobs WHERE ns = ?1 AND q = 1 AND kind = ?2 \
             AND part IN (SELECT value FROM json_each(?4)) ORDER BY priority DESC, seq LIMIT ?3"
        } else {
            "SELECT priority, seq, id FROM jobs WHERE ns = ?1 AND q = 1 AND kind = ?2 \
             ORDER BY priority DESC, seq LIMIT ?3"
        })?;
        let pins = only.map(serde_json::to_string).transpose()?;
        for k in kinds {
            let row = |r: &rusqlite::Row<'_>| Ok((r.get(0)?, r.get(1)?, r.get(2)?));
            let rows: Vec<(i64, i64, String)> = match &pins {
                Some(pins) => st
                    .query_map(params![ns, k, count as i64, pins], row)?
                    .collect::<rusqlite::Result<_>>()?,
                None => st
                    .query_map(params![ns, k, count as i64], row)?
                    .collect::<rusqlite::Result<_>>()?,
            };
            cand.extend(rows);
        }
    }
    cand.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    cand.truncate(count);
    let mut jobs = Vec::with_capacity(cand.len());
    let mut up = tx.prepare_cached(
        "UPDATE jobs SET q = 3, status = 'running', attempts = attempts + 1, token = ?3, \
         started_at = ?4, worker = ?5, \
         due = CASE WHEN timeout IS NULL THEN ?4 + ?6 ELSE min(?4 + ?6, ?4 + timeout) END \
         WHERE ns = ?1 AND id = ?2 \
         RETURNING kind, payload, attempts, max_attempts, priority, timeout, headers",
    )?;
    for (_, _, id) in cand {
        let token = new_token();
        let c = up.query_row(params![ns, id, token, at, worker, visibility], |r| {
            Ok(Claim {
                id: id.clone(),
                kind: r.get(0)?,
                payload: json(Some(r.get(1)?))?.unwrap_or(Value::Null),
                attempt: r.get(2)?,
                max_attempts: r.get(3)?,
                priority: r.get(4)?,
                timeout: r.get(5)?,
                token: token.clone(),
                started_at: at,
                headers: hdrs(r.get(6)?)?,
            })
        })?;
        jobs.push(c);
    }
    let next_due = if jobs.is_empty() {
        // `q >= 2` repeats the partial index's condition: SQLite uses `jobs_due` only when
        // the query states it (`q = 2` alone made every claim scan the namespace's jobs).
        let mut st =
            tx.prepare_cached("SELECT min(due) FROM jobs WHERE ns = ?1 AND q >= 2 AND q = ?2")?;
        let a: Option<f64> = st.query_row(params![ns, 2], |r| r.get(0))?;
        let b: Option<f64> = st.query_row(params![ns, 3], |r| r.get(0))?;
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    } else {
        None
    };
    Ok(Claimed { jobs, next_due })
}

/// Claims up to `count` ready jobs of `kinds` (of the partitions `only`, when pinned),
/// waiting up to `block` for one.
#[allow(clippy::too_many_arguments)]
pub fn claim(
    db: &Sqlite,
    ns: &str,
    kinds: &[String],
    count: usize,
    worker: &str,
    visibility: f64,
    block: Duration,
    only: Option<&[u16]>,
) -> Result<Claimed> {
    let until = Instant::now() + block;
    loop {
        let mut w = db.watch(super::TOPIC)?;
        let at = super::model::now();
        let c = db.with_tx_on(super::TOPIC, |tx| {
            claim_once(tx, ns, kinds, count, worker, visibility, at, only)
        })?;
        let left = until.saturating_duration_since(Instant::now());
        if !c.jobs.is_empty() || left.is_zero() {
            return Ok(c);
        }
        let wait = match c.next_due {
            Some(d) => left.min(Duration::from_secs_f64((d - at).max(0.001))),
            None => left,
        };
        w.wait(wait)?;
    }
}

/// Completes or fails claimed attempts.
pub fn finish(db: &Sqlite, ns: &str, items: Vec<Finish>, at: f64) -> Result<Vec<Ack>> {
    db.with_tx_on(super::TOPIC, |tx| {
        let mut out = Vec::with_capacity(items.len());
        for f in items {
            let ack = check_claim(tx, ns, &f.id, &f.token)?;
            if ack == Ack::Ok {
                match f.outcome {
                    Outcome::Done(result) => {
                        tx.prepare_cached(
                            "UPDATE jobs SET status = 'succeeded', q = 0, due = 0, result = ?3, \
                             finished_at = ?4, token = NULL WHERE ns = ?1 AND id = ?2",
                        )?
                        .execute(params![ns, f.id, result, at])?;
                    }
                    Outcome::Failed { error, retry } => {
                        fail_job(tx, ns, &f.id, &cut_error(error), retry, at)?;
                    }
                }
            }
            out.push(ack);
        }
        Ok(out)
    })
}

fn check_claim(tx: &Transaction<'_>, ns: &str, id: &str, token: &str) -> Result<Ack> {
    let row: Option<(i64, Option<String>)> = tx
        .prepare_cached("SELECT q, token FROM jobs WHERE ns = ?1 AND id = ?2")?
        .query_row(params![ns, id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(match row {
        None => Ack::Missing,
        Some((3, Some(t))) if t == token => Ack::Ok,
        Some(_) => Ack::Stale,
    })
}

/// Extends running claims by `visibility` (never past the job's timeout), storing progress.
pub fn heartbeat(
    db: &Sqlite,
    ns: &str,
    items: Vec<(String, String, Option<String>)>,
    visibility: f64,
    at: f64,
) -> Result<Vec<Ack>> {
    db.with_tx_on(super::TOPIC, |tx| {
        let mut out = Vec::with_capacity(items.len());
        for (id, token, progress) in items {
            let ack = check_claim(tx, ns, &id, &token)?;
            if ack == Ack::Ok {
                tx.prepare_cached(
                    "UPDATE jobs SET due = CASE WHEN timeout IS NULL THEN ?3 + ?4 \
                     ELSE min(?3 + ?4, started_at + timeout) END, \
                     progress = coalesce(?5, progress) WHERE ns = ?1 AND id = ?2",
                )?
                .execute(params![ns, id, at, visibility, progress])?;
            }
            out.push(ack);
        }
        Ok(out)
    })
}

/// Cancels a job that has not finished; false if it already had.
pub fn cancel(db: &Sqlite, ns: &str, id: &str, at: f64) -> Result<bool> {
    db.with_tx_on(super::TOPIC, |tx| {
        let q: Option<i64> = tx
            .prepare_cached("SELECT q FROM jobs WHERE ns = ?1 AND id = ?2")?
            .query_row(params![ns, id], |r| r.get(0))
            .optional()?;
        match q {
            None => Err(Error::NotFound(format!("no job {id:?}"))),
            Some(0) => Ok(false),
            Some(_) => {
                tx.prepare_cached(
                    "UPDATE jobs SET status = 'cancelled', q = 0, due = 0, finished_at = ?3, \
                     token = NULL WHERE ns = ?1 AND id = ?2",
                )?
                .execute(params![ns, id, at])?;
                Ok(true)
            }
        }
    })
}

/// Deletes finished jobs (succeeded, dead, cancelled) that finished at or before `before`,
/// at most `limit` (None: all), oldest first.
pub fn purge(db: &Sqlite, ns: &str, before: f64, limit: Option<u64>) -> Result<u64> {
    use crate::archive::{sources::state, Source};
    db.with_tx_on(super::TOPIC, |tx| {
        let Some(cur) = state::sqlite_cursor(tx, ns, Source::Jobs)? else {
            return Ok(tx
                .prepare_cached(
                    "DELETE FROM jobs WHERE ns = ?1 AND id IN (SELECT id FROM jobs WHERE ns = ?1 \
                     AND q = 0 AND finished_at <= ?2 ORDER BY finished_at LIMIT ?3)",
                )?
                .execute(params![ns, before, limit.map_or(-1, |l| l as i64)])?
                as u64);
        };
        // The archive's retention hold (docs/archive.md): jobs after the cursor wait for the
        // archive unless more than HOLD_UNBOUNDED of them do.
        let (cn, cid) = cur.split_once('|').unwrap_or(("0", ""));
        let cn: f64 = cn.parse().unwrap_or(0.0);
        let waiting: i64 = tx
            .prepare_cached(
                "SELECT count(*) FROM jobs WHERE ns = ?1 AND q = 0 AND (finished_at > ?2 \
                 OR (finished_at = ?2 AND id > ?3))",
            )?
            .query_row(params![ns, cn, cid], |r| r.get(0))?;
        let mut spare = waiting - crate::archive::sources::HOLD_UNBOUNDED as i64;
        let found: Vec<(String, f64)> = tx
            .prepare_cached(
                "SELECT id, finished_at FROM jobs WHERE ns = ?1 AND q = 0 AND finished_at <= ?2 \
                 ORDER BY finished_at, id LIMIT ?3",
            )?
            .query_map(params![ns, before, limit.map_or(-1, |l| l as i64)], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let (mut n, mut lost) = (0u64, 0u64);
        let mut del = tx.prepare_cached("DELETE FROM jobs WHERE ns = ?1 AND id = ?2")?;
        for (id, f) in found {
            let archived = f < cn || (f == cn && id.as_str() <= cid);
            if !archived {
                if spare <= 0 {
                    break;
                }
                spare -= 1;
                lost += 1;
            }
            n += del.execute(params![ns, id])? as u64;
        }
        state::sqlite_add_overrun(tx, ns, Source::Jobs, lost)?;
        Ok(n)
    })
}

/// Rows this namespace holds.
pub fn rows(c: &Connection, ns: &str) -> Result<u64> {
    let a: i64 = c.query_row("SELECT count(*) FROM jobs WHERE ns = ?1", [ns], |r| {
        r.get(0)
    })?;
    let b: i64 = c.query_row("SELECT count(*) FROM job_seq WHERE ns = ?1", [ns], |r| {
        r.get(0)
    })?;
    Ok((a + b) as u64 + super::workers::sqlite::rows(c, ns)?)
}

/// Deletes every row of this namespace; returns how many.
pub fn clear(tx: &Transaction<'_>, ns: &str) -> Result<u64> {
    let a = tx.execute("DELETE FROM jobs WHERE ns = ?1", [ns])?;
    let b = tx.execute("DELETE FROM job_seq WHERE ns = ?1", [ns])?;
    super::counts::sqlite_clear(tx, ns)?;
    Ok((a + b) as u64 + super::workers::sqlite::clear(tx, ns)?)
}
