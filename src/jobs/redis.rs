//! Jobs on Redis: one hash per job, a ready sorted set per kind, sorted sets for delayed,
//! running and finished jobs, all under the namespace's jobs hash tag so each operation is
//! one Lua script (docs/keys.md lists every key).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use super::list::{JobPage, Listing, Queue, MAX_SCAN};
use super::model::{
    headers_text, new_token, parse_headers, Ack, Backoff, Claim, Claimed, Finish, Job, Outcome,
};
use crate::engine::script::Lua;
use crate::engine::{wake, Redis, RedisConn};
use crate::error::{Error, Result};

const COMMON: &str = include_str!("lua/common.lua");

/// The wake topic workers wait on.
pub const TOPIC: &str = "jobs";

fn script(body: &str) -> Lua {
    Lua::new(COMMON, body)
}

static ENQUEUE: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/enqueue.lua")));
static CLAIM: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/claim.lua")));
static FINISH: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/finish.lua")));
static HEARTBEAT: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/heartbeat.lua")));
static CANCEL: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/cancel.lua")));
static PURGE: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/purge.lua")));
static LIST: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/list.lua")));

/// `zl:{<ns>:jobs}:` — every job key starts with it.
pub fn prefix(ns: &str) -> String {
    crate::engine::keys::prefix(ns, super::CAPABILITY.tag)
}

/// Starts an `EVALSHA` of `script` routed by the namespace's jobs tag, with ARGV[1] = prefix.
fn evalsha(script: &Lua, ns: &str) -> redis::Cmd {
    let p = prefix(ns);
    let mut cmd = script.call(&format!("{p}s"));
    cmd.arg(p);
    cmd
}

fn t3(x: f64) -> String {
    format!("{x:.3}")
}

/// Enqueues; for an idempotency key in use, returns the stored job instead.
pub async fn enqueue_many(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    jobs: Vec<Job>,
    at: f64,
) -> Result<Vec<Job>> {
    let mut cmd = evalsha(&ENQUEUE, &ns);
    cmd.arg(t3(at))
        .arg(wake::channel(&ns, TOPIC))
        .arg(jobs.len());
    for j in &jobs {
        cmd.arg(&j.id)
            .arg(&j.kind)
            .arg(serde_json::to_string(&j.payload)?)
            .arg(j.priority)
            .arg(t3(j.run_at))
            .arg(j.max_attempts)
            .arg(j.backoff.code())
            .arg(j.backoff.base().to_string())
            .arg(j.timeout.map(|t| t.to_string()).unwrap_or_default())
            .arg(t3(j.created_at))
            .arg(j.idempotency_key.as_deref().unwrap_or(""))
            .arg(headers_text(&j.headers));
    }
    let reply: Vec<String> = ENQUEUE.run(&r, &mut c, &cmd).await?;
    let existing: Vec<String> = reply.iter().filter(|s| !s.is_empty()).cloned().collect();
    let mut found: HashMap<String, Job> = HashMap::new();
    if !existing.is_empty() {
        for j in get_many(r.clone(), c.clone(), ns.clone(), existing)
            .await?
            .into_iter()
            .flatten()
        {
            found.insert(j.id.clone(), j);
        }
    }
    if reply.iter().any(|s| s.is_empty()) {
        r.wakeups(&ns).fire(TOPIC);
    }
    let mut out = Vec::with_capacity(jobs.len());
    for (j, rep) in jobs.into_iter().zip(reply) {
        if rep.is_empty() {
            out.push(j);
        } else {
            out.push(
                found
                    .get(&rep)
                    .cloned()
                    .ok_or_else(|| Error::Backend(format!("job {rep:?} vanished")))?,
            );
        }
    }
    Ok(out)
}

pub(crate) fn parse_job(id: &str, mut h: HashMap<String, String>) -> Result<Option<Job>> {
    if h.is_empty() {
        return Ok(None);
    }
    let bad = |f: &str| Error::Backend(format!("job {id:?} has a bad {f} field"));
    let mut take = |f: &str| h.remove(f).filter(|s| !s.is_empty());
    let num = |v: Option<String>, f: &str| -> Result<Option<f64>> {
        v.map(|s| s.parse::<f64>().map_err(|_| bad(f))).transpose()
    };
    let json = |v: Option<String>| -> Result<Option<serde_json::Value>> {
        Ok(v.map(|s| serde_json::from_str(&s)).transpose()?)
    };
    let kind = take("kind").ok_or_else(|| bad("kind"))?;
    let payload = json(take("payload"))?.unwrap_or(serde_json::Value::Null);
    let priority = take("priority")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("priority"))?;
    let status = take("status").ok_or_else(|| bad("status"))?;
    let attempts = take("attempts")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("attempts"))?;
    let max_attempts = take("max_attempts")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("max_attempts"))?;
    let bk = take("bk").unwrap_or_default();
    let bb = num(take("bb"), "bb")?.unwrap_or(1.0);
    Ok(Some(Job {
        id: id.to_string(),
        kind,
        payload,
        priority,
        status,
        attempts,
        max_attempts,
        backoff: Backoff::from_code(&bk, bb),
        timeout: num(take("timeout"), "timeout")?,
        run_at: num(take("run_at"), "run_at")?.unwrap_or(0.0),
        created_at: num(take("created_at"), "created_at")?.unwrap_or(0.0),
        started_at: num(take("started_at"), "started_at")?,
        finished_at: num(take("finished_at"), "finished_at")?,
        result: json(take("result"))?,
        error: take("error"),
        progress: json(take("progress"))?,
        idempotency_key: take("idem"),
        worker: take("worker"),
        headers: parse_headers(take("headers").as_deref())?,
    }))
}

/// Jobs by id (one pipeline), None where missing.
pub async fn get_many(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    ids: Vec<String>,
) -> Result<Vec<Option<Job>>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let p = prefix(&ns);
    let mut pipe = redis::pipe();
    for id in &ids {
        pipe.hgetall(format!("{p}j:{id}"));
    }
    let maps: Vec<HashMap<String, String>> =
        pipe.query_async(&mut c).await.map_err(|e| r.err(e))?;
    ids.iter()
        .zip(maps)
        .map(|(id, h)| parse_job(id, h))
        .collect()
}

/// One page of a queue (`super::list`): the ids from one script, then the jobs in one
/// pipeline (a job purged in between is left out).
pub async fn list(r: Arc<Redis>, mut c: RedisConn, ns: String, l: Listing) -> Result<JobPage> {
    let set = match l.queue {
        Queue::Ready => format!("r:{}", l.kind.as_deref().unwrap_or_default()),
        Queue::Delayed => "d".into(),
        Queue::Running => "x".into(),
        Queue::Finished => "f".into(),
    };
    let mut cmd = evalsha(&LIST, &ns);
    cmd.arg(set)
        .arg(l.start)
        .arg(l.limit)
        .arg(l.kind.as_deref().unwrap_or_default())
        .arg(l.status.as_deref().unwrap_or_default())
        .arg(MAX_SCAN);
    let reply: Vec<String> = LIST.run(&r, &mut c, &cmd).await?;
    let mut it = reply.into_iter();
    let next = it.next().filter(|n| n != "-1");
    let ids: Vec<String> = it.collect();
    let jobs = get_many(r, c, ns, ids).await?;
    Ok(JobPage {
        jobs: jobs.into_iter().flatten().collect(),
        next,
    })
}

async fn claim_once(
    r: &Redis,
    c: &mut RedisConn,
    ns: &str,
    kinds: &[String],
    count: usize,
    worker: &str,
    visibility: f64,
) -> Result<Claimed> {
    let at = super::model::now();
    let mut cmd = evalsha(&CLAIM, ns);
    cmd.arg(t3(at))
        .arg(count)
        .arg(worker)
        .arg(visibility.to_string())
        .arg(new_token())
        .arg(kinds.len());
    for k in kinds {
        cmd.arg(k);
    }
    let reply: Vec<String> = CLAIM.run(r, c, &cmd).await?;
    let mut it = reply.into_iter();
    let next_due = it
        .next()
        .filter(|s| !s.is_empty())
        .and_then(|s| s.parse().ok());
    let rest: Vec<String> = it.collect();
    let mut jobs = Vec::with_capacity(rest.len() / 9);
    for f in rest.chunks_exact(9) {
        let bad = || Error::Backend(format!("job {:?} has a bad field", f[0]));
        jobs.push(Claim {
            id: f[0].clone(),
            kind: f[1].clone(),
            payload: serde_json::from_str(&f[2])?,
            attempt: f[3].parse().map_err(|_| bad())?,
            max_attempts: f[4].parse().map_err(|_| bad())?,
            priority: f[5].parse().map_err(|_| bad())?,
            timeout: if f[6].is_empty() {
                None
            } else {
                Some(f[6].parse().map_err(|_| bad())?)
            },
            token: f[7].clone(),
            started_at: at,
            headers: parse_headers(Some(&f[8]))?,
        });
    }
    Ok(Claimed { jobs, next_due })
}

/// Claims up to `count` jobs of `kinds`, waiting up to `block` (on wake-ups, never with a
/// blocking Redis command) for one.
#[allow(clippy::too_many_arguments)]
pub async fn claim(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    kinds: Vec<String>,
    count: usize,
    worker: String,
    visibility: f64,
    block: Duration,
) -> Result<Claimed> {
    let until = Instant::now() + block;
    let w = r.wakeups(&ns);
    loop {
        let mut ticket = if block.is_zero() {
            None
        } else {
            Some(w.ticket(TOPIC).await)
        };
        let got = claim_once(&r, &mut c, &ns, &kinds, count, &worker, visibility).await?;
        let left = until.saturating_duration_since(Instant::now());
        let Some(t) = ticket.as_mut() else {
            return Ok(got);
        };
        if !got.jobs.is_empty() || left.is_zero() {
            return Ok(got);
        }
        let wait = match got.next_due {
            Some(d) => left.min(Duration::from_secs_f64(
                (d - super::model::now()).max(0.001),
            )),
            None => left,
        };
        t.wait(wait).await;
    }
}

/// Completes or fails claimed attempts.
pub async fn finish(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    items: Vec<Finish>,
    at: f64,
) -> Result<Vec<Ack>> {
    let mut cmd = evalsha(&FINISH, &ns);
    cmd.arg(t3(at))
        .arg(wake::channel(&ns, TOPIC))
        .arg(items.len());
    for f in &items {
        cmd.arg(&f.id).arg(&f.token);
        match &f.outcome {
            Outcome::Done(v) => cmd.arg("d").arg(v),
            Outcome::Failed { error, retry } => cmd.arg(if *retry { "f" } else { "x" }).arg(error),
        };
    }
    let reply: Vec<String> = FINISH.run(&r, &mut c, &cmd).await?;
    Ok(reply.iter().map(|s| Ack::parse(s)).collect())
}

/// Extends running claims and stores progress.
pub async fn heartbeat(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    items: Vec<(String, String, Option<String>)>,
    visibility: f64,
    at: f64,
) -> Result<Vec<Ack>> {
    let mut cmd = evalsha(&HEARTBEAT, &ns);
    cmd.arg(t3(at)).arg(visibility.to_string()).arg(items.len());
    for (id, token, progress) in &items {
        cmd.arg(id)
            .arg(token)
            .arg(progress.as_deref().unwrap_or(""));
    }
    let reply: Vec<String> = HEARTBEAT.run(&r, &mut c, &cmd).await?;
    Ok(reply.iter().map(|s| Ack::parse(s)).collect())
}

/// Cancels a job that has not finished; false if it already had.
pub async fn cancel(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    id: String,
    at: f64,
) -> Result<bool> {
    let mut cmd = evalsha(&CANCEL, &ns);
    cmd.arg(t3(at)).arg(&id);
    let reply: String = CANCEL.run(&r, &mut c, &cmd).await?;
    match reply.as_str() {
        "ok" => Ok(true),
        "done" => Ok(false),
        _ => Err(Error::NotFound(format!("no job {id:?}"))),
    }
}

/// Deletes finished jobs that finished at or before `before`, at most `limit` (None: all),
/// oldest first, 1,000 per script.
pub async fn purge(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    before: f64,
    limit: Option<u64>,
) -> Result<u64> {
    let mut total = 0u64;
    loop {
        let want = limit.map_or(1000, |l| (l - total).min(1000));
        let mut cmd = evalsha(&PURGE, &ns);
        cmd.arg(t3(before))
            .arg(want)
            .arg(crate::archive::sources::HOLD_UNBOUNDED);
        let n: u64 = PURGE.run(&r, &mut c, &cmd).await?;
        total += n;
        if n < want || limit.is_some_and(|l| total >= l) {
            return Ok(total);
        }
    }
}
