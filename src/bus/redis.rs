//! `hub.bus` on Redis: one stream per agent and priority, consumer groups, an ack log, a
//! history stream and a broadcast log, all under the namespace's bus hash tag so one Lua
//! script does each operation atomically (docs/keys.md lists every key). Waiting consumers
//! use wake-ups (pub/sub), never a blocking command on the shared connection.

use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use redis::Value;

use super::model::{
    parse_envelope, ClaimPolicy, DeadLetter, Delivery, Message, Outgoing, Settings, Stats,
};
use super::Acker;
use crate::engine::script::Lua;
use crate::engine::{wake, Redis, RedisConn};
use crate::error::{Error, Result};

const COMMON: &str = include_str!("lua/common.lua");

/// The bus helpers and, after them, the archive's hold (`src/archive/lua/hold.lua`) for the
/// scripts that trim the history, the ack log or the dead letters.
static HELD: LazyLock<String> =
    LazyLock::new(|| format!("{COMMON}\n{}", crate::archive::sources::held::LUA));

fn script(body: &str) -> Lua {
    Lua::new(COMMON, body)
}

fn held_script(body: &str) -> Lua {
    Lua::new(&HELD, body)
}

static SHARE: LazyLock<Lua> = LazyLock::new(|| held_script(include_str!("lua/share.lua")));
static REGISTER: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/register.lua")));
static PENDING: LazyLock<Lua> =
    LazyLock::new(|| Lua::read_only(COMMON, include_str!("lua/pending.lua")));
static ACK: LazyLock<Lua> = LazyLock::new(|| held_script(include_str!("lua/ack.lua")));
static CONSUME: LazyLock<Lua> = LazyLock::new(|| held_script(include_str!("lua/consume.lua")));
static HISTORY: LazyLock<Lua> =
    LazyLock::new(|| Lua::read_only(COMMON, include_str!("lua/history.lua")));
static STATS: LazyLock<Lua> =
    LazyLock::new(|| Lua::read_only(COMMON, include_str!("lua/stats.lua")));
static CLEANUP: LazyLock<Lua> = LazyLock::new(|| held_script(include_str!("lua/cleanup.lua")));
static DEAD: LazyLock<Lua> = LazyLock::new(|| Lua::read_only(COMMON, include_str!("lua/dead.lua")));
static REQUEUE: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/requeue.lua")));

/// `zl:{<ns>:bus}:` — every bus key starts with it.
pub fn prefix(ns: &str) -> String {
    crate::engine::keys::prefix(ns, super::CAPABILITY.tag)
}

/// The wake topic of an agent's inbox.
pub fn topic(agent: &str) -> String {
    format!("bus:{agent}")
}

fn bad(what: &str) -> Error {
    Error::Backend(format!("unexpected reply from the bus script: {what}"))
}

fn text(v: &Value) -> Result<String> {
    redis::from_redis_value_ref(v).map_err(|e| bad(&e.to_string()))
}

fn int(v: &Value) -> Result<u64> {
    redis::from_redis_value_ref(v).map_err(|e| bad(&e.to_string()))
}

fn no_agent(agent: &str) -> Error {
    Error::NotFound(format!(
        "no agent {agent:?} is registered on this bus; register it first with bus.register()"
    ))
}

fn age_ms(s: &Settings) -> u64 {
    (s.max_age * 1000.0) as u64
}

/// Stores the namespace's retention (the fields given) and returns what is now in force.
pub async fn configure(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    max_len: Option<u64>,
    max_age: Option<f64>,
    s: Settings,
) -> Result<Settings> {
    let key = format!("{}cfg", prefix(&ns));
    let mut pipe = redis::pipe();
    if max_len.is_some() || max_age.is_some() {
        let mut set = redis::cmd("HSET");
        set.arg(&key);
        if let Some(n) = max_len {
            set.arg("max_len").arg(n);
        }
        if let Some(a) = max_age {
            set.arg("max_age_ms").arg((a * 1000.0) as u64);
        }
        pipe.add_command(set).ignore();
    }
    pipe.cmd("HMGET").arg(&key).arg("max_len").arg("max_age_ms");
    let (got,): ((Option<u64>, Option<u64>),) =
        pipe.query_async(&mut c).await.map_err(|e| r.err(e))?;
    Ok(Settings {
        max_len: got.0.unwrap_or(s.max_len),
        max_age: got.1.map_or(s.max_age, |ms| ms as f64 / 1000.0),
        ..s
    })
}

/// Registers an agent.
pub async fn register(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    agent: String,
    kinds: Vec<String>,
    s: Settings,
) -> Result<bool> {
    let p = prefix(&ns);
    let mut cmd = REGISTER.call(&format!("{p}agents"));
    cmd.arg(&p)
        .arg(&agent)
        .arg(kinds.join("\n"))
        .arg(s.max_len)
        .arg(age_ms(&s));
    let n: u64 = REGISTER.run(&r, &mut c, &cmd).await?;
    Ok(n == 1)
}

/// Registered agents and their kinds.
pub async fn agents(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
) -> Result<Vec<(String, Vec<String>)>> {
    let p = prefix(&ns);
    let all: Vec<(String, String)> = redis::cmd("HGETALL")
        .arg(format!("{p}agents"))
        .query_async(&mut c)
        .await
        .map_err(|e| r.err(e))?;
    let mut out: Vec<(String, Vec<String>)> = all
        .into_iter()
        .map(|(a, k)| {
            let kinds = k
                .split('\n')
                .filter(|x| !x.is_empty())
                .map(String::from)
                .collect();
            (a, kinds)
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Shares messages in one script call, all or nothing (see `share.lua`).
pub async fn share_many(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    outs: Vec<Outgoing>,
    s: Settings,
) -> Result<Vec<Message>> {
    if outs.is_empty() {
        return Ok(vec![]);
    }
    let p = prefix(&ns);
    let mut cmd = SHARE.call(&format!("{p}agents"));
    cmd.arg(&p)
        .arg(wake::channel(&ns, "bus:"))
        .arg(s.max_len)
        .arg(age_ms(&s));
    for out in &outs {
        let (mode, who) = if out.broadcast {
            ("all", "")
        } else {
            match (&out.target, &out.kind) {
                (Some(t), _) => ("to", t.as_str()),
                (None, Some(k)) => ("kind", k.as_str()),
                (None, None) => return Err(Error::validation("share needs a target or a kind")),
            }
        };
        cmd.arg(mode)
            .arg(who)
            .arg(out.priority.rank())
            .arg(&out.source)
            .arg(out.idempotency_key.as_deref().unwrap_or(""))
            .arg(out.envelope_rest()?);
    }
    let reply: Vec<Value> = SHARE.run(&r, &mut c, &cmd).await?;
    let tag = |i: usize| reply.get(i).map(text).transpose();
    match tag(0)?.as_deref() {
        Some("noagent") => return Err(no_agent(&tag(1)?.unwrap_or_default())),
        Some("nokind") => {
            let k = tag(1)?.unwrap_or_default();
            return Err(Error::NotFound(format!(
                "no agent is registered for kind {k:?}; register one with \
                 bus.register(agent, kinds=[{k:?}])"
            )));
        }
        _ => {}
    }
    let w = r.wakeups(&ns);
    let mut msgs = Vec::with_capacity(outs.len());
    let mut i = 0;
    for out in outs {
        match tag(i)?.as_deref() {
            Some("ok") => {
                let id = tag(i + 1)?.ok_or_else(|| bad("id"))?;
                let ms: u64 = tag(i + 2)?
                    .ok_or_else(|| bad("ms"))?
                    .parse()
                    .map_err(|_| bad("ms"))?;
                if let Some(t) = &out.target {
                    w.fire(&topic(t));
                }
                msgs.push(out.message(id, ms)?);
                i += 3;
            }
            Some("dup") => {
                msgs.push(parse_envelope(
                    &tag(i + 1)?.ok_or_else(|| bad("envelope"))?,
                )?);
                i += 2;
            }
            other => return Err(bad(other.unwrap_or("short reply"))),
        }
    }
    Ok(msgs)
}

/// Unacked messages of an agent.
pub async fn pending(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    agent: String,
    count: usize,
) -> Result<Vec<Message>> {
    let p = prefix(&ns);
    let mut cmd = PENDING.call(&format!("{p}agents"));
    cmd.arg(&p).arg(&agent).arg(count);
    let reply: Vec<Value> = PENDING.run(&r, &mut c, &cmd).await?;
    match reply.first().map(text).transpose()?.as_deref() {
        Some("ok") => reply[1..]
            .iter()
            .map(|v| parse_envelope(&text(v)?))
            .collect(),
        Some("noagent") => Err(no_agent(&agent)),
        _ => Err(bad("pending")),
    }
}

/// Acknowledges messages.
pub async fn ack(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    agent: String,
    ids: Vec<String>,
    who: Acker,
    s: Settings,
) -> Result<u64> {
    let p = prefix(&ns);
    let mut cmd = ACK.call(&format!("{p}agents"));
    cmd.arg(&p)
        .arg(&agent)
        .arg(who.group.as_deref().unwrap_or(""))
        .arg(who.consumer.as_deref().unwrap_or(""))
        .arg(s.max_len)
        .arg(age_ms(&s));
    let mut seen = std::collections::HashSet::new();
    for id in &ids {
        if seen.insert(id.as_str()) {
            cmd.arg(id);
        }
    }
    let reply: Vec<Value> = ACK.run(&r, &mut c, &cmd).await?;
    let tag = reply.first().map(text).transpose()?.unwrap_or_default();
    match (tag.as_str(), reply.as_slice()) {
        ("ok", [_, n]) => int(n),
        ("noagent", _) => Err(no_agent(&agent)),
        ("othergroup", [_, g]) => Err(Error::Conflict(format!(
            "agent {agent:?} is consumed by group {:?}, not {:?}; ack with that group",
            text(g)?,
            who.group.unwrap_or_default()
        ))),
        ("missing", [_, id]) => Err(Error::NotFound(format!(
            "agent {agent:?} has no message {:?} (never sent to it, or dropped by retention)",
            text(id)?
        ))),
        ("notheld", [_, id, h]) => {
            let (id, h) = (text(id)?, text(h)?);
            let me = who.consumer.unwrap_or_default();
            Err(Error::Conflict(if h.is_empty() {
                format!(
                    "message {id:?} of agent {agent:?} was not handed to consumer {me:?} \
                     (consume it first)"
                )
            } else {
                format!(
                    "message {id:?} of agent {agent:?} is held by consumer {h:?}, not {me:?}; \
                     it was claimed after the idle timeout"
                )
            }))
        }
        _ => Err(bad(&tag)),
    }
}

/// True once acknowledged.
pub async fn is_acked(r: Arc<Redis>, mut c: RedisConn, ns: String, id: String) -> Result<bool> {
    let score: Option<f64> = redis::cmd("ZSCORE")
        .arg(format!("{}acked", prefix(&ns)))
        .arg(&id)
        .query_async(&mut c)
        .await
        .map_err(|e| r.err(e))?;
    Ok(score.is_some())
}

/// Messages between two agents, oldest first.
pub async fn history(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    a: String,
    b: String,
    limit: usize,
) -> Result<Vec<Message>> {
    let p = prefix(&ns);
    let mut cmd = HISTORY.call(&format!("{p}hist"));
    cmd.arg(&p).arg(&a).arg(&b).arg(limit);
    let envs: Vec<String> = HISTORY.run(&r, &mut c, &cmd).await?;
    envs.iter().rev().map(|e| parse_envelope(e)).collect()
}

/// Counters.
pub async fn stats(r: Arc<Redis>, mut c: RedisConn, ns: String) -> Result<Stats> {
    let p = prefix(&ns);
    let mut cmd = STATS.call(&format!("{p}agents"));
    cmd.arg(&p);
    let reply: Vec<Value> = STATS.run(&r, &mut c, &cmd).await?;
    let [total, acked, dead, rest @ ..] = reply.as_slice() else {
        return Err(bad("stats"));
    };
    let mut out = Stats {
        total: int(total)?,
        acknowledged: int(acked)?,
        dead: int(dead)?,
        ..Stats::default()
    };
    for pair in rest.chunks(2) {
        if let [a, n] = pair {
            let n = int(n)?;
            out.pending += n;
            out.per_agent.insert(text(a)?, n);
        }
    }
    Ok(out)
}

/// Drops entries older than `cutoff_ms`.
pub async fn cleanup(r: Arc<Redis>, mut c: RedisConn, ns: String, cutoff_ms: u64) -> Result<u64> {
    let p = prefix(&ns);
    let mut cmd = CLEANUP.call(&format!("{p}agents"));
    cmd.arg(&p).arg(cutoff_ms);
    CLEANUP.run(&r, &mut c, &cmd).await
}

#[allow(clippy::too_many_arguments)]
async fn consume_once(
    r: &Redis,
    c: &mut RedisConn,
    p: &str,
    agent: &str,
    group: &str,
    consumer: &str,
    count: usize,
    pol: ClaimPolicy,
    s: &Settings,
) -> Result<Vec<Delivery>> {
    let mut cmd = CONSUME.call(&format!("{p}agents"));
    cmd.arg(p)
        .arg(agent)
        .arg(group)
        .arg(consumer)
        .arg(count)
        .arg(pol.idle_ms)
        .arg(pol.max_deliveries)
        .arg(s.max_len)
        .arg(age_ms(s));
    let reply: Vec<Value> = CONSUME.run(r, c, &cmd).await?;
    let tag = reply.first().map(text).transpose()?.unwrap_or_default();
    match (tag.as_str(), reply.as_slice()) {
        ("ok", [_, rest @ ..]) => {
            let mut out = Vec::with_capacity(rest.len() / 2);
            for pair in rest.chunks(2) {
                if let [env, n] = pair {
                    out.push(Delivery {
                        message: parse_envelope(&text(env)?)?,
                        agent: agent.to_string(),
                        group: group.to_string(),
                        consumer: consumer.to_string(),
                        deliveries: int(n)?,
                    });
                }
            }
            Ok(out)
        }
        ("noagent", _) => Err(no_agent(agent)),
        ("othergroup", [_, g]) => Err(Error::Conflict(format!(
            "agent {agent:?} is already consumed by group {:?}; an agent has one group (its \
             consumers share the inbox)",
            text(g)?
        ))),
        _ => Err(bad(&tag)),
    }
}

/// Hands out messages, waiting up to `wait` on wake-ups when there are none.
#[allow(clippy::too_many_arguments)]
pub async fn consume(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    agent: String,
    group: String,
    consumer: String,
    count: usize,
    pol: ClaimPolicy,
    s: Settings,
    wait: Duration,
) -> Result<Vec<Delivery>> {
    let p = prefix(&ns);
    if wait.is_zero() {
        return consume_once(&r, &mut c, &p, &agent, &group, &consumer, count, pol, &s).await;
    }
    let deadline = Instant::now() + wait;
    let w = r.wakeups(&ns);
    let t = topic(&agent);
    loop {
        let mut ticket = w.ticket(&t).await;
        let got = consume_once(&r, &mut c, &p, &agent, &group, &consumer, count, pol, &s).await?;
        let now = Instant::now();
        if !got.is_empty() || now >= deadline {
            return Ok(got);
        }
        // Held deliveries become claimable without any write: look again by then too.
        let nap = (deadline - now).min(Duration::from_millis(pol.idle_ms.clamp(1, 250)));
        ticket.wait(nap).await;
    }
}

/// Dead letters, oldest first.
pub async fn dead_letters(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    agent: Option<String>,
    count: usize,
) -> Result<Vec<DeadLetter>> {
    let p = prefix(&ns);
    let mut cmd = DEAD.call(&format!("{p}dead"));
    cmd.arg(&p).arg(agent.as_deref().unwrap_or("")).arg(count);
    let reply: Vec<Value> = DEAD.run(&r, &mut c, &cmd).await?;
    let mut out = Vec::with_capacity(reply.len() / 7);
    for e in reply.chunks(7) {
        let [eid, a, g, cons, n, why, env] = e else {
            return Err(bad("dead letter"));
        };
        let eid = text(eid)?;
        let ms: u64 = super::model::id_parts(&eid).0;
        out.push(DeadLetter {
            message: parse_envelope(&text(env)?)?,
            agent: text(a)?,
            group: text(g)?,
            consumer: text(cons)?,
            deliveries: text(n)?.parse().map_err(|_| bad("deliveries"))?,
            reason: text(why)?,
            time: ms as f64 / 1000.0,
        });
    }
    Ok(out)
}

/// Puts dead letters back as new messages.
pub async fn requeue(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    agent: Option<String>,
    ids: Option<Vec<String>>,
    s: Settings,
) -> Result<u64> {
    let p = prefix(&ns);
    let mut cmd = REQUEUE.call(&format!("{p}dead"));
    cmd.arg(&p)
        .arg(wake::channel(&ns, "bus:"))
        .arg(agent.as_deref().unwrap_or(""))
        .arg(s.max_len);
    if let Some(ids) = &ids {
        if ids.is_empty() {
            return Ok(0);
        }
        for i in ids {
            cmd.arg(i);
        }
    }
    REQUEUE.run(&r, &mut c, &cmd).await
}
