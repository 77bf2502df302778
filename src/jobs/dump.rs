//! Jobs in a namespace export (`crate::transfer`, docs/export.md): the FIFO sequence counter,
//! then one record per job with every field the API shows (status, attempts, run_at,
//! progress, result, error, idempotency key, worker, ...) and where the queue holds it:
//! `ready` with its FIFO sequence number, `delayed` until `due`, `running` until `due` (its
//! claim's deadline) with the claim's `token`, or none once finished.
//!
//! A running job's claim survives the move: its worker's token still completes, fails or
//! heart-beats it, and once its deadline passes another worker's claim takes it over, as on
//! the store it came from. Ready jobs keep their order (priority, then sequence).

use std::collections::HashMap;
use std::sync::Arc;

use redis::Value as RValue;
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::model::{
    check_json, headers_text, job_id, partition_of, ready_score, worker_name, Backoff, Headers,
    Job, NewJob, MAX_ATTEMPTS, MAX_ERROR, SEQ_SPAN, STATUSES,
};
use super::{redis as rd, sqlite, TOPIC};
use crate::engine::{tri, Backend, Importer, Op, Page, Record, Redis, RedisConn, Sqlite};
use crate::error::{Error, Result};
use crate::transfer::record::{self, num, BATCH, PAGE};

/// A jobs record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case", deny_unknown_fields)]
enum Rec {
    /// The FIFO sequence counter (the last number given out) of partition `p` (absent: 0;
    /// a namespace with several partitions on Redis has one counter per partition).
    Seq {
        n: u64,
        #[serde(default, skip_serializing_if = "is_zero")]
        p: u16,
    },
    /// One job and its place in the queues.
    Job(Box<JobRec>),
}

fn is_zero(p: &u16) -> bool {
    *p == 0
}

/// The namespace's partition count as stored (`crate::engine::partition::count_key`; none:
/// 1). Export and import read it themselves: the registry hands them no hub.
async fn redis_count(r: &Redis, c: &mut RedisConn, ns: &str) -> Result<u16> {
    let n: Option<i64> = redis::cmd("GET")
        .arg(crate::engine::partition::count_key(ns))
        .query_async(c)
        .await
        .map_err(|e| r.err(e))?;
    Ok(n.unwrap_or(1)
        .clamp(1, i64::from(crate::engine::partition::MAX)) as u16)
}

/// [`redis_count`] on the embedded store (`ns_partitions`).
fn sqlite_count(c: &rusqlite::Connection, ns: &str) -> Result<u16> {
    let n: Option<i64> = c
        .query_row("SELECT n FROM ns_partitions WHERE ns = ?1", [ns], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(n.unwrap_or(1)
        .clamp(1, i64::from(crate::engine::partition::MAX)) as u16)
}

/// One job as exported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobRec {
    id: String,
    kind: String,
    payload: Value,
    priority: i64,
    status: String,
    attempts: u32,
    max_attempts: u32,
    backoff: String,
    backoff_base: f64,
    timeout: Option<f64>,
    run_at: f64,
    created_at: f64,
    started_at: Option<f64>,
    finished_at: Option<f64>,
    result: Option<Value>,
    error: Option<String>,
    progress: Option<Value>,
    idempotency_key: Option<String>,
    worker: Option<String>,
    /// Metadata it was enqueued with (absent: none).
    #[serde(default, skip_serializing_if = "Headers::is_empty")]
    headers: Headers,
    /// `ready`, `delayed`, `running`, or None (finished).
    queue: Option<String>,
    /// FIFO sequence number (ready).
    seq: Option<u64>,
    /// Delayed until / running until (Unix seconds).
    due: Option<f64>,
    /// The running claim's token.
    token: Option<String>,
}

/// Where the queue holds a job.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Queue {
    Ready(u64),
    Delayed(f64),
    Running(f64),
    Done,
}

fn job_rec(j: Job, q: Queue, token: Option<String>) -> Result<Record> {
    let (queue, seq, due) = match q {
        Queue::Ready(s) => (Some("ready"), Some(s), None),
        Queue::Delayed(d) => (Some("delayed"), None, Some(d)),
        Queue::Running(d) => (Some("running"), None, Some(d)),
        Queue::Done => (None, None, None),
    };
    record::record(&Rec::Job(Box::new(JobRec {
        kind: j.kind,
        payload: j.payload,
        priority: j.priority,
        status: j.status,
        attempts: j.attempts,
        max_attempts: j.max_attempts,
        backoff: j.backoff.name().into(),
        backoff_base: j.backoff.base(),
        timeout: j.timeout,
        run_at: j.run_at,
        created_at: j.created_at,
        started_at: j.started_at,
        finished_at: j.finished_at,
        result: j.result,
        error: j.error,
        progress: j.progress,
        idempotency_key: j.idempotency_key,
        worker: j.worker,
        headers: j.headers,
        queue: queue.map(String::from),
        seq,
        due,
        token: token.filter(|_| matches!(q, Queue::Running(_))),
        id: j.id,
    })))
}

/// Where a page starts. SQLite: after job id `after`. Redis: rank `i` of the first of
/// `zsets` (the queues' sorted sets still to read) of partition `p` of `n`; `fresh` when
/// that partition's counter and queue list are still to be read.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    after: String,
    zsets: Vec<String>,
    i: usize,
    #[serde(default)]
    p: u16,
    #[serde(default)]
    n: u16,
    #[serde(default)]
    fresh: bool,
}

/// One page of jobs (the counter first).
pub fn export(b: &Backend, ns: &str, cursor: Value) -> Op<Page> {
    let cur: Option<Cursor> = tri!(record::cursor(cursor));
    b.call(
        (ns.to_string(), cur),
        |db, (ns, cur)| sqlite_page(db, &ns, cur),
        |r, c, (ns, cur)| redis_page(r, c, ns, cur),
    )
}

fn sqlite_page(db: &Sqlite, ns: &str, cur: Option<Cursor>) -> Result<Page> {
    let mut records = Vec::new();
    if cur.is_none() {
        let n: Option<i64> = db.with(|c| {
            Ok(
                c.query_row("SELECT n FROM job_seq WHERE ns = ?1", [ns], |r| r.get(0))
                    .optional()?,
            )
        })?;
        if let Some(n) = n {
            records.push(record::record(&Rec::Seq { n: n as u64, p: 0 })?);
        }
    }
    let after = cur.map(|c| c.after).unwrap_or_default();
    type Row = (String, i64, i64, f64, Option<String>);
    let rows: Vec<Row> = db.with(|c| {
        let mut st = c.prepare_cached(
            "SELECT id, q, seq, due, token FROM jobs WHERE ns = ?1 AND id > ?2 ORDER BY id
             LIMIT ?3",
        )?;
        let v = st
            .query_map(params![ns, after, PAGE as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(v)
    })?;
    let ids: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let jobs = sqlite::get_many(db, ns, &ids)?;
    for ((_, q, seq, due, token), job) in rows.into_iter().zip(jobs) {
        let Some(job) = job else { continue };
        let q = match q {
            1 => Queue::Ready(seq as u64),
            2 => Queue::Delayed(due),
            3 => Queue::Running(due),
            _ => Queue::Done,
        };
        records.push(job_rec(job, q, token)?);
    }
    let next = if ids.len() == PAGE {
        ids.last().map(|after| Cursor {
            after: after.clone(),
            ..Cursor::default()
        })
    } else {
        None
    };
    Ok(Page {
        records,
        next: next.map(|c| record::next(&c)).transpose()?,
    })
}

async fn redis_page(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    cur: Option<Cursor>,
) -> Result<Page> {
    let mut records = Vec::new();
    let mut cur = match cur {
        Some(c) => c,
        None => Cursor {
            n: redis_count(&r, &mut c, &ns).await?,
            fresh: true,
            ..Cursor::default()
        },
    };
    let n = cur.n.max(1);
    let p = rd::prefix_in(&ns, cur.p, n);
    if cur.fresh {
        let s: Option<u64> = redis::cmd("GET")
            .arg(format!("{p}s"))
            .query_async(&mut c)
            .await
            .map_err(|e| r.err(e))?;
        if let Some(s) = s {
            records.push(record::record(&Rec::Seq { n: s, p: cur.p })?);
        }
        let mut ready: Vec<String> = r
            .scan_keys(&format!("{p}r:*"))
            .await?
            .into_iter()
            .filter_map(|k| k.strip_prefix(&p).map(String::from))
            .collect();
        ready.sort();
        let mut zsets = vec!["f".to_string(), "d".into(), "x".into()];
        zsets.extend(ready);
        cur = Cursor {
            zsets,
            p: cur.p,
            n,
            ..Cursor::default()
        };
    }
    let Some(z) = cur.zsets.first().cloned() else {
        return Ok(Page {
            records,
            next: None,
        });
    };
    let rows: Vec<(String, f64)> = redis::cmd("ZRANGE")
        .arg(format!("{p}{z}"))
        .arg(cur.i)
        .arg(cur.i + PAGE - 1)
        .arg("WITHSCORES")
        .query_async(&mut c)
        .await
        .map_err(|e| r.err(e))?;
    let ids: Vec<(u16, String)> = rows.iter().map(|(id, _)| (cur.p, id.clone())).collect();
    let jobs = rd::get_many(r.clone(), c.clone(), ns.clone(), n, ids.clone()).await?;
    let mut pipe = redis::pipe();
    for (_, id) in &ids {
        pipe.hget(format!("{p}j:{id}"), "token");
    }
    let tokens: Vec<Option<String>> = if ids.is_empty() {
        vec![]
    } else {
        pipe.query_async(&mut c).await.map_err(|e| r.err(e))?
    };
    for (((_, score), job), token) in rows.iter().zip(jobs).zip(tokens) {
        let Some(job) = job else { continue };
        let q = match z.as_str() {
            "f" => Queue::Done,
            "d" => Queue::Delayed(*score),
            "x" => Queue::Running(*score),
            _ => Queue::Ready((score + job.priority as f64 * SEQ_SPAN).round().max(0.0) as u64),
        };
        records.push(job_rec(job, q, token.filter(|t| !t.is_empty()))?);
    }
    let next = if rows.len() == PAGE {
        Some(Cursor {
            i: cur.i + PAGE,
            ..cur
        })
    } else if cur.zsets.len() > 1 {
        Some(Cursor {
            zsets: cur.zsets[1..].to_vec(),
            p: cur.p,
            n,
            ..Cursor::default()
        })
    } else if cur.p + 1 < n {
        Some(Cursor {
            p: cur.p + 1,
            n,
            fresh: true,
            ..Cursor::default()
        })
    } else {
        None
    };
    Ok(Page {
        records,
        next: next.map(|c| record::next(&c)).transpose()?,
    })
}

/// Writes jobs back in batches, each in the queue it was in.
pub fn import(b: &Backend, ns: &str) -> Box<dyn Importer> {
    Box::new(Import {
        b: b.clone(),
        ns: ns.to_string(),
        batch: Vec::new(),
    })
}

/// What a batch writes.
enum Item {
    Seq(u64, u16),
    Job(Box<(JobRec, Queue)>),
}

struct Import {
    b: Backend,
    ns: String,
    batch: Vec<Item>,
}

fn check(j: JobRec) -> Result<(JobRec, Queue)> {
    job_id(&j.id)?;
    let backoff = match j.backoff.as_str() {
        "fixed" => Backoff::Fixed(j.backoff_base),
        "exponential" => Backoff::Exponential(j.backoff_base),
        other => {
            return Err(Error::validation(format!(
                "job {:?}: backoff {other:?} (\"fixed\" or \"exponential\")",
                j.id
            )))
        }
    };
    // The enqueue path's checks of kind, payload, priority, attempts, backoff, timeout,
    // run_at and idempotency key.
    let new = NewJob {
        kind: j.kind.clone(),
        payload: j.payload.clone(),
        priority: j.priority,
        run_at: Some(j.run_at),
        max_attempts: j.max_attempts,
        backoff,
        timeout: j.timeout,
        idempotency_key: j.idempotency_key.clone(),
        headers: j.headers.clone(),
        key: None,
    };
    new.into_job(0.0)
        .map_err(|e| crate::error::context(e, format!("job {:?}", j.id)))?;
    if !STATUSES.contains(&j.status.as_str()) || j.attempts > MAX_ATTEMPTS {
        return Err(Error::validation(format!(
            "job {:?}: status {:?} with {} attempts is not a job's state",
            j.id, j.status, j.attempts
        )));
    }
    for t in [Some(j.created_at), j.started_at, j.finished_at, j.due]
        .into_iter()
        .flatten()
    {
        record::time("a job's time", t)?;
    }
    for v in [&j.result, &j.progress].into_iter().flatten() {
        check_json("a job's result or progress", v)?;
    }
    if j.error.as_ref().is_some_and(|e| e.len() > MAX_ERROR) {
        return Err(Error::validation(format!(
            "job {:?}: error text over the limit",
            j.id
        )));
    }
    if let Some(w) = &j.worker {
        worker_name(w)?;
    }
    let q = match (
        j.queue.as_deref(),
        j.status.as_str(),
        j.seq,
        j.due,
        &j.token,
    ) {
        (Some("ready"), "pending", Some(s), None, None) => Queue::Ready(s),
        (Some("delayed"), "pending" | "failed", None, Some(d), None) => Queue::Delayed(d),
        (Some("running"), "running", None, Some(d), Some(t)) if !t.is_empty() => Queue::Running(d),
        (None, "succeeded" | "dead" | "cancelled", None, None, None) => Queue::Done,
        _ => {
            return Err(Error::validation(format!(
                "job {:?}: status {:?} does not go with queue {:?} (seq {:?}, due {:?}, token \
                 {:?})",
                j.id, j.status, j.queue, j.seq, j.due, j.token
            )))
        }
    };
    Ok((j, q))
}

impl Import {
    fn flush(&mut self) -> Option<Op<()>> {
        if self.batch.is_empty() {
            return None;
        }
        let batch = std::mem::take(&mut self.batch);
        Some(self.b.call(
            (self.ns.clone(), batch),
            |db, (ns, batch)| sqlite_write(db, &ns, &batch),
            |r, c, (ns, batch)| redis_write(r, c, ns, batch),
        ))
    }
}

impl Importer for Import {
    fn add(&mut self, rec: Record) -> Result<Option<Op<()>>> {
        self.batch.push(match record::parse("jobs", rec)? {
            Rec::Seq { n, p } => Item::Seq(n, p),
            Rec::Job(j) => Item::Job(Box::new(check(*j)?)),
        });
        Ok(if self.batch.len() >= BATCH {
            self.flush()
        } else {
            None
        })
    }

    fn finish(&mut self) -> Result<Option<Op<()>>> {
        Ok(self.flush())
    }
}

fn sqlite_write(db: &Sqlite, ns: &str, batch: &[Item]) -> Result<()> {
    db.with_tx_on(TOPIC, |tx| {
        let n = sqlite_count(tx, ns)?;
        let mut ins = tx.prepare_cached(
            "INSERT INTO jobs (ns, id, kind, payload, priority, status, q, seq, due, attempts,
               max_attempts, bk, bb, timeout, run_at, created_at, started_at, finished_at,
               result, error, progress, idem, token, worker, headers, part)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
               ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)",
        )?;
        for item in batch {
            let (j, q) = match item {
                Item::Seq(s, _) => {
                    tx.execute(
                        "INSERT INTO job_seq (ns, n) VALUES (?1, ?2)
                         ON CONFLICT (ns) DO UPDATE SET n = max(n, excluded.n)",
                        params![ns, *s as i64],
                    )?;
                    continue;
                }
                Item::Job(b) => (&b.0, b.1),
            };
            let (qn, seq, due) = match q {
                Queue::Done => (0, 0, 0.0),
                Queue::Ready(s) => (1, s as i64, 0.0),
                Queue::Delayed(d) => (2, 0, d),
                Queue::Running(d) => (3, 0, d),
            };
            let part = partition_of(&j.id, n)?;
            let json = |v: &Option<Value>| v.as_ref().map(Value::to_string);
            let bk = if j.backoff == "fixed" { "f" } else { "e" };
            record::sqlite_insert(
                ins.execute(params![
                    ns,
                    j.id,
                    j.kind,
                    j.payload.to_string(),
                    j.priority,
                    j.status,
                    qn,
                    seq,
                    due,
                    j.attempts,
                    j.max_attempts,
                    bk,
                    j.backoff_base,
                    j.timeout,
                    j.run_at,
                    j.created_at,
                    j.started_at,
                    j.finished_at,
                    json(&j.result),
                    j.error,
                    json(&j.progress),
                    j.idempotency_key,
                    j.token,
                    j.worker,
                    (!j.headers.is_empty()).then(|| headers_text(&j.headers)),
                    part
                ]),
                "job (or its idempotency key)",
                &j.id,
            )?;
        }
        Ok(())
    })
}

/// One partition's share of an import batch: its pipeline, and the replies that say whether
/// a job or an idempotency key came twice.
type PartWrite<'a> = (redis::Pipeline, Vec<(&'a str, &'a str)>);

async fn redis_write(r: Arc<Redis>, mut c: RedisConn, ns: String, batch: Vec<Item>) -> Result<()> {
    let n = redis_count(&r, &mut c, &ns).await?;
    // Each partition's FIFO counter ends at least at the highest sequence number it holds
    // (counters and ready jobs from another count of partitions land where their ids route).
    let mut seqs: std::collections::BTreeMap<u16, u64> = Default::default();
    let mut pipes: std::collections::BTreeMap<u16, PartWrite<'_>> = Default::default();
    for item in &batch {
        let (j, q) = match item {
            Item::Seq(s, p) => {
                let t = if n == 1 { 0 } else { *p % n };
                let e = seqs.entry(t).or_default();
                *e = (*e).max(*s);
                continue;
            }
            Item::Job(b) => (&b.0, b.1),
        };
        let part = partition_of(&j.id, n)?;
        let p = rd::prefix_in(&ns, part, n);
        let (pipe, checks) = pipes
            .entry(part)
            .or_insert_with(|| (redis::pipe(), Vec::new()));
        let k = format!("{p}j:{}", j.id);
        pipe.cmd("HSETNX").arg(&k).arg("kind").arg(&j.kind);
        checks.push(("job", &j.id));
        let mut f: HashMap<&str, String> = HashMap::new();
        f.insert("payload", j.payload.to_string());
        f.insert("priority", j.priority.to_string());
        f.insert("status", j.status.clone());
        f.insert("attempts", j.attempts.to_string());
        f.insert("max_attempts", j.max_attempts.to_string());
        f.insert("bk", if j.backoff == "fixed" { "f" } else { "e" }.into());
        f.insert("bb", num(j.backoff_base));
        f.insert("run_at", num(j.run_at));
        f.insert("created_at", num(j.created_at));
        let opt = [
            ("timeout", j.timeout.map(num)),
            ("started_at", j.started_at.map(num)),
            ("finished_at", j.finished_at.map(num)),
            ("result", j.result.as_ref().map(Value::to_string)),
            ("error", j.error.clone()),
            ("progress", j.progress.as_ref().map(Value::to_string)),
            ("idem", j.idempotency_key.clone()),
            ("worker", j.worker.clone()),
            ("token", j.token.clone()),
            (
                "headers",
                (!j.headers.is_empty()).then(|| headers_text(&j.headers)),
            ),
        ];
        for (name, v) in opt {
            if let Some(v) = v {
                f.insert(name, v);
            }
        }
        let (qf, zset, score) = match q {
            Queue::Ready(s) => {
                let e = seqs.entry(part).or_default();
                *e = (*e).max(s);
                (
                    "r",
                    format!("r:{}", j.kind),
                    format!("{:.0}", ready_score(j.priority, s)),
                )
            }
            Queue::Delayed(d) => ("d", "d".into(), num(d)),
            Queue::Running(d) => ("x", "x".into(), num(d)),
            Queue::Done => ("", "f".into(), num(j.finished_at.unwrap_or(j.created_at))),
        };
        f.insert("q", qf.into());
        let mut hset = redis::cmd("HSET");
        hset.arg(&k);
        for (name, v) in &f {
            hset.arg(*name).arg(v);
        }
        pipe.add_command(hset).ignore();
        pipe.cmd("ZADD")
            .arg(format!("{p}{zset}"))
            .arg(score)
            .arg(&j.id)
            .ignore();
        if let Some(key) = &j.idempotency_key {
            pipe.cmd("SET")
                .arg(format!("{p}k:{key}"))
                .arg(&j.id)
                .arg("NX");
            checks.push(("idempotency key", key));
        }
    }
    for (part, (mut pipe, checks)) in pipes {
        // The per kind and state counts are rebuilt at their next read (`super::counts`).
        let p = rd::prefix_in(&ns, part, n);
        pipe.cmd("HDEL").arg(format!("{p}n")).arg("~").ignore();
        let got: Vec<RValue> = pipe.query_async(&mut c).await.map_err(|e| r.err(e))?;
        for (v, (what, id)) in got.iter().zip(checks) {
            if matches!(v, RValue::Nil | RValue::Int(0)) {
                return Err(record::duplicate(what, id));
            }
        }
    }
    // An import writes into an empty namespace alone, so read-then-write is safe here.
    for (part, s) in seqs {
        let key = format!("{}s", rd::prefix_in(&ns, part, n));
        let now: Option<u64> = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut c)
            .await
            .map_err(|e| r.err(e))?;
        if now.is_none_or(|v| v < s) {
            let _: () = redis::cmd("SET")
                .arg(&key)
                .arg(s)
                .query_async(&mut c)
                .await
                .map_err(|e| r.err(e))?;
        }
    }
    Ok(())
}
