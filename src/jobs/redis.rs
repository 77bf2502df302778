//! Jobs on Redis: one hash per job, a ready sorted set per kind, sorted sets for delayed,
//! running and finished jobs, all under the namespace's jobs hash tag so each operation is
//! one Lua script (docs/keys.md lists every key).
//!
//! With `n > 1` partitions each partition has all of these under its own tag
//! `{<ns>:jobs:<p>}` (`crate::engine::partition`): a script touches one partition, and an
//! operation on jobs of several partitions runs one script per partition, concurrently.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use super::list::{JobPage, Listing, Queue, MAX_SCAN};
use super::model::{
    headers_text, new_token, parse_headers, Ack, Backoff, Claim, Claimed, Finish, Job, Outcome,
};
use super::route::{group, ungroup};
use crate::engine::partition;
use crate::engine::script::Lua;
use crate::engine::{wake, Redis, RedisConn};
use crate::error::{Error, Result};
use futures_util::future::try_join_all;
use std::future::Future;

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

/// `zl:{<ns>:jobs}:` — every job key of a namespace with one partition starts with it.
pub fn prefix(ns: &str) -> String {
    crate::engine::keys::prefix(ns, super::CAPABILITY.tag)
}

/// The key prefix of partition `p` of `n`: `zl:{<ns>:jobs:<p>}:`, or [`prefix`] when `n == 1`.
pub fn prefix_in(ns: &str, p: u16, n: u16) -> String {
    partition::prefix(ns, super::CAPABILITY.tag, p, n)
}

/// Starts an `EVALSHA` of `script` routed by partition `(p, n)`'s jobs tag, with ARGV[1] =
/// its prefix.
fn evalsha(script: &Lua, ns: &str, (p, n): (u16, u16)) -> redis::Cmd {
    let p = prefix_in(ns, p, n);
    let mut cmd = script.call(&format!("{p}s"));
    cmd.arg(p);
    cmd
}

/// Runs one future per partition: concurrently on a cluster (its connection multiplexes, and
/// the partitions sit on different masters), one after another on a single server (whose
/// connection for async callers may be a plain socket that takes one request at a time).
pub async fn fan_out<T, F>(r: &Redis, runs: impl IntoIterator<Item = F>) -> Result<Vec<T>>
where
    F: Future<Output = Result<T>>,
{
    if r.is_cluster() {
        return try_join_all(runs).await;
    }
    let mut out = Vec::new();
    for f in runs {
        out.push(f.await?);
    }
    Ok(out)
}

fn t3(x: f64) -> String {
    format!("{x:.3}")
}

/// Enqueues, one script per partition (run concurrently); for an idempotency key in use,
/// returns the stored job instead.
pub async fn enqueue_many(
    r: Arc<Redis>,
    c: RedisConn,
    ns: String,
    n: u16,
    jobs: Vec<(u16, Job)>,
    at: f64,
) -> Result<Vec<Job>> {
    let len = jobs.len();
    let runs = group(jobs).into_iter().map(|(p, part)| {
        let (r, c, ns) = (r.clone(), c.clone(), ns.clone());
        async move {
            let (idx, jobs): (Vec<usize>, Vec<Job>) = part.into_iter().unzip();
            let out = enqueue_part(r, c, ns, (p, n), jobs, at).await?;
            Ok::<_, Error>(idx.into_iter().zip(out).collect::<Vec<_>>())
        }
    });
    let parts = fan_out(&r, runs).await?;
    Ok(ungroup(len, parts))
}

async fn enqueue_part(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    pn: (u16, u16),
    jobs: Vec<Job>,
    at: f64,
) -> Result<Vec<Job>> {
    let mut cmd = evalsha(&ENQUEUE, &ns, pn);
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
    let existing: Vec<(u16, String)> = reply
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| (pn.0, s.clone()))
        .collect();
    let mut found: HashMap<String, Job> = HashMap::new();
    if !existing.is_empty() {
        for j in get_many(r.clone(), c.clone(), ns.clone(), pn.1, existing)
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

/// Jobs by `(partition, id)` among `n` partitions (one pipeline per partition, run
/// concurrently), None where missing.
pub async fn get_many(
    r: Arc<Redis>,
    c: RedisConn,
    ns: String,
    n: u16,
    ids: Vec<(u16, String)>,
) -> Result<Vec<Option<Job>>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let len = ids.len();
    let runs = group(ids).into_iter().map(|(p, part)| {
        let (r, mut c) = (r.clone(), c.clone());
        let pre = prefix_in(&ns, p, n);
        async move {
            let mut pipe = redis::pipe();
            for (_, id) in &part {
                pipe.hgetall(format!("{pre}j:{id}"));
            }
            let maps: Vec<HashMap<String, String>> =
                pipe.query_async(&mut c).await.map_err(|e| r.err(e))?;
            part.into_iter()
                .zip(maps)
                .map(|((i, id), h)| Ok((i, parse_job(&id, h)?)))
                .collect::<Result<Vec<_>>>()
        }
    });
    let parts = fan_out(&r, runs).await?;
    Ok(ungroup(len, parts))
}

/// One page of a queue (`super::list`): the ids from one script, then the jobs in one
/// pipeline (a job purged in between is left out). With several partitions the listing goes
/// partition by partition: a page that ends one partition goes on into the next.
pub async fn list(r: Arc<Redis>, c: RedisConn, ns: String, n: u16, l: Listing) -> Result<JobPage> {
    let set = match l.queue {
        Queue::Ready => format!("r:{}", l.kind.as_deref().unwrap_or_default()),
        Queue::Delayed => "d".into(),
        Queue::Running => "x".into(),
        Queue::Finished => "f".into(),
    };
    let mut part = l.part;
    let mut start = l.start;
    let mut ids: Vec<(u16, String)> = Vec::new();
    let next = loop {
        let mut cmd = evalsha(&LIST, &ns, (part, n));
        cmd.arg(&set)
            .arg(start)
            .arg(l.limit - ids.len())
            .arg(l.kind.as_deref().unwrap_or_default())
            .arg(l.status.as_deref().unwrap_or_default())
            .arg(MAX_SCAN);
        let reply: Vec<String> = LIST.run(&r, &mut c.clone(), &cmd).await?;
        let mut it = reply.into_iter();
        let pos = it.next().filter(|x| x != "-1");
        ids.extend(it.map(|id| (part, id)));
        match pos {
            // Within this partition: the page is full, or the scan budget is spent.
            Some(pos) => {
                break Some(if n > 1 { format!("{part}:{pos}") } else { pos });
            }
            None if part + 1 < n => {
                part += 1;
                start = 0;
                if ids.len() >= l.limit {
                    break Some(format!("{part}:0"));
                }
            }
            None => break None,
        }
    };
    let jobs = get_many(r, c, ns, n, ids).await?;
    Ok(JobPage {
        jobs: jobs.into_iter().flatten().collect(),
        next,
    })
}

/// What one claim asks for.
#[derive(Debug, Clone)]
pub struct ClaimArgs {
    /// Job kinds (sorted, no repeats).
    pub kinds: Vec<String>,
    /// Most jobs to take.
    pub count: usize,
    /// The claiming worker.
    pub worker: String,
    /// Seconds each claim lasts without a heartbeat.
    pub visibility: f64,
}

async fn claim_once(
    r: &Redis,
    c: &mut RedisConn,
    ns: &str,
    pn: (u16, u16),
    a: &ClaimArgs,
    count: usize,
) -> Result<Claimed> {
    let at = super::model::now();
    let mut cmd = evalsha(&CLAIM, ns, pn);
    cmd.arg(t3(at))
        .arg(count)
        .arg(&a.worker)
        .arg(a.visibility.to_string())
        .arg(new_token())
        .arg(a.kinds.len());
    for k in &a.kinds {
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

/// One pass over the `watched` partitions, in the rotating order of
/// [`super::route::claim_order`]: takes what each has until `count` jobs are claimed (one
/// script per partition visited). `next_due` is the soonest over the partitions visited.
async fn claim_pass(
    r: &Redis,
    c: &mut RedisConn,
    ns: &str,
    n: u16,
    watched: &[u16],
    a: &ClaimArgs,
) -> Result<Claimed> {
    let mut out = Claimed::default();
    for p in super::route::claim_order(watched) {
        let got = claim_once(r, c, ns, (p, n), a, a.count - out.jobs.len()).await?;
        out.jobs.extend(got.jobs);
        out.next_due = match (out.next_due, got.next_due) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        if out.jobs.len() >= a.count {
            break;
        }
    }
    if !out.jobs.is_empty() {
        out.next_due = None;
    }
    Ok(out)
}

/// Claims up to `count` jobs of `kinds` from the `watched` partitions, waiting up to `block`
/// (on wake-ups, never with a blocking Redis command; every partition's writers publish on
/// the namespace's one wake channel) for one.
pub async fn claim(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    n: u16,
    watched: Vec<u16>,
    a: ClaimArgs,
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
        let got = claim_pass(&r, &mut c, &ns, n, &watched, &a).await?;
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

/// Completes or fails claimed attempts, one script per partition (run concurrently).
pub async fn finish(
    r: Arc<Redis>,
    c: RedisConn,
    ns: String,
    n: u16,
    items: Vec<(u16, Finish)>,
    at: f64,
) -> Result<Vec<Ack>> {
    let len = items.len();
    let runs = group(items).into_iter().map(|(p, part)| {
        let (r, mut c, ns) = (r.clone(), c.clone(), ns.clone());
        async move {
            let mut cmd = evalsha(&FINISH, &ns, (p, n));
            cmd.arg(t3(at))
                .arg(wake::channel(&ns, TOPIC))
                .arg(part.len());
            for (_, f) in &part {
                cmd.arg(&f.id).arg(&f.token);
                match &f.outcome {
                    Outcome::Done(v) => cmd.arg("d").arg(v),
                    Outcome::Failed { error, retry } => {
                        cmd.arg(if *retry { "f" } else { "x" }).arg(error)
                    }
                };
            }
            let reply: Vec<String> = FINISH.run(&r, &mut c, &cmd).await?;
            Ok::<_, Error>(
                part.iter()
                    .zip(reply)
                    .map(|((i, _), s)| (*i, Ack::parse(&s)))
                    .collect::<Vec<_>>(),
            )
        }
    });
    Ok(ungroup(len, fan_out(&r, runs).await?))
}

/// One heartbeat: job id, claim token, progress JSON (None: unchanged).
pub type Beat = (String, String, Option<String>);

/// Extends running claims and stores progress, one script per partition (concurrently).
pub async fn heartbeat(
    r: Arc<Redis>,
    c: RedisConn,
    ns: String,
    n: u16,
    items: Vec<(u16, Beat)>,
    visibility: f64,
    at: f64,
) -> Result<Vec<Ack>> {
    let len = items.len();
    let runs = group(items).into_iter().map(|(p, part)| {
        let (r, mut c, ns) = (r.clone(), c.clone(), ns.clone());
        async move {
            let mut cmd = evalsha(&HEARTBEAT, &ns, (p, n));
            cmd.arg(t3(at)).arg(visibility.to_string()).arg(part.len());
            for (_, (id, token, progress)) in &part {
                cmd.arg(id)
                    .arg(token)
                    .arg(progress.as_deref().unwrap_or(""));
            }
            let reply: Vec<String> = HEARTBEAT.run(&r, &mut c, &cmd).await?;
            Ok::<_, Error>(
                part.iter()
                    .zip(reply)
                    .map(|((i, _), s)| (*i, Ack::parse(&s)))
                    .collect::<Vec<_>>(),
            )
        }
    });
    Ok(ungroup(len, fan_out(&r, runs).await?))
}

/// Cancels a job of partition `pn` that has not finished; false if it already had.
pub async fn cancel(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    pn: (u16, u16),
    id: String,
    at: f64,
) -> Result<bool> {
    let mut cmd = evalsha(&CANCEL, &ns, pn);
    cmd.arg(t3(at)).arg(&id);
    let reply: String = CANCEL.run(&r, &mut c, &cmd).await?;
    match reply.as_str() {
        "ok" => Ok(true),
        "done" => Ok(false),
        _ => Err(Error::NotFound(format!("no job {id:?}"))),
    }
}

/// Deletes finished jobs that finished at or before `before`, at most `limit` (None: all),
/// oldest first within each partition, 1,000 per script; partitions one after another (0
/// first) while a limit remains, all at once without a limit.
pub async fn purge(
    r: Arc<Redis>,
    c: RedisConn,
    ns: String,
    n: u16,
    before: f64,
    limit: Option<u64>,
) -> Result<u64> {
    if limit.is_none() {
        let runs = (0..n).map(|p| purge_part(&r, c.clone(), &ns, (p, n), before, None));
        return Ok(fan_out(&r, runs).await?.into_iter().sum());
    }
    let mut total = 0u64;
    for p in 0..n {
        let left = limit.map(|l| l - total);
        if left == Some(0) {
            break;
        }
        total += purge_part(&r, c.clone(), &ns, (p, n), before, left).await?;
    }
    Ok(total)
}

async fn purge_part(
    r: &Redis,
    mut c: RedisConn,
    ns: &str,
    pn: (u16, u16),
    before: f64,
    limit: Option<u64>,
) -> Result<u64> {
    let mut total = 0u64;
    loop {
        let want = limit.map_or(1000, |l| (l - total).min(1000));
        let mut cmd = evalsha(&PURGE, ns, pn);
        cmd.arg(t3(before))
            .arg(want)
            .arg(crate::archive::sources::HOLD_UNBOUNDED);
        let n: u64 = PURGE.run(r, &mut c, &cmd).await?;
        total += n;
        if n < want || limit.is_some_and(|l| total >= l) {
            return Ok(total);
        }
    }
}
