//! `hub.bus` on Redis: one stream per agent and priority, consumer groups, an ack log, a
//! history stream and a broadcast log, all under the namespace's bus hash tag so one Lua
//! script does each operation atomically (docs/keys.md lists every key). Waiting consumers
//! use wake-ups (pub/sub), never a blocking command on the shared connection.
//!
//! With partitions (`crate::engine::partition`), everything keyed by a receiving agent lives
//! in its partition and each call here runs on one partition's prefix (the [`Layout`] says
//! which); what spans partitions is in `spread.rs` (docs/scaling.md, "Bus").

use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use redis::Value;

use super::model::{
    parse_envelope, ClaimPolicy, DeadLetter, Delivery, Message, Outgoing, Settings, Stats,
};
use super::Acker;
use crate::engine::script::Lua;
use crate::engine::{partition, wake, Redis, RedisConn};
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

/// `zl:{<ns>:bus}:` — every bus key of a namespace without partitions starts with it.
pub fn prefix(ns: &str) -> String {
    crate::engine::keys::prefix(ns, super::CAPABILITY.tag)
}

/// A namespace's bus keys: its name and partition count.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The namespace.
    pub ns: String,
    /// Its partition count (1: the prefix of [`prefix`]).
    pub n: u16,
}

impl Layout {
    /// The key prefix of partition `p`.
    pub fn prefix(&self, p: u16) -> String {
        partition::prefix(&self.ns, super::CAPABILITY.tag, p, self.n)
    }

    /// The partition of `agent` (its inbox, groups, acks and dead letters).
    pub fn of(&self, agent: &str) -> u16 {
        partition::of_key(agent, self.n)
    }

    /// The key prefix of `agent`'s partition.
    pub fn home(&self, agent: &str) -> String {
        self.prefix(self.of(agent))
    }

    /// The partition that gave message id `id` (its sequence number modulo the count).
    pub fn of_id(&self, id: &str) -> u16 {
        (super::model::id_parts(id).1 % u64::from(self.n.max(1))) as u16
    }

    /// Every partition's prefix.
    pub fn all(&self) -> Vec<String> {
        (0..self.n.max(1)).map(|p| self.prefix(p)).collect()
    }

    /// `'1'` when ids may have a local alias (more than one partition), for the scripts.
    pub fn aliased(&self) -> &'static str {
        if self.n > 1 {
            "1"
        } else {
            "0"
        }
    }
}

/// The wake topic of an agent's inbox.
pub fn topic(agent: &str) -> String {
    format!("bus:{agent}")
}

pub(super) fn bad(what: &str) -> Error {
    Error::Backend(format!("unexpected reply from the bus script: {what}"))
}

pub(super) fn text(v: &Value) -> Result<String> {
    redis::from_redis_value_ref(v).map_err(|e| bad(&e.to_string()))
}

fn int(v: &Value) -> Result<u64> {
    redis::from_redis_value_ref(v).map_err(|e| bad(&e.to_string()))
}

pub(super) fn no_agent(agent: &str) -> Error {
    Error::NotFound(format!(
        "no agent {agent:?} is registered on this bus; register it first with bus.register()"
    ))
}

pub(super) fn no_kind(k: &str) -> Error {
    Error::NotFound(format!(
        "no agent is registered for kind {k:?}; register one with \
         bus.register(agent, kinds=[{k:?}])"
    ))
}

pub(super) fn age_ms(s: &Settings) -> u64 {
    (s.max_age * 1000.0) as u64
}

/// Runs `f` on every partition's prefix at once and collects the results in partition
/// order: partition 0 on the operation's connection `c` (without partitions, the one call
/// there is as it always was), the others each on a clone of the shared async connection.
pub(super) async fn each<T, F, Fut>(
    r: &Arc<Redis>,
    c: RedisConn,
    l: &Layout,
    f: F,
) -> Result<Vec<T>>
where
    F: Fn(Arc<Redis>, RedisConn, String) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut first = Some(c);
    let calls = l.all().into_iter().map(|p| {
        let c = first.take().unwrap_or_else(|| r.conn());
        f(r.clone(), c, p)
    });
    futures_util::future::join_all(calls)
        .await
        .into_iter()
        .collect()
}

/// [`each`] with the partition's number rather than its prefix.
pub(super) async fn each_part<T, F, Fut>(
    r: &Arc<Redis>,
    c: RedisConn,
    l: &Layout,
    f: F,
) -> Result<Vec<T>>
where
    F: Fn(Arc<Redis>, RedisConn, u16) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut first = Some(c);
    let calls = (0..l.n.max(1)).map(|p| {
        let c = first.take().unwrap_or_else(|| r.conn());
        f(r.clone(), c, p)
    });
    futures_util::future::join_all(calls)
        .await
        .into_iter()
        .collect()
}

/// Stores the namespace's retention (the fields given; in every partition, which each read
/// it in their scripts) and returns what is now in force.
pub async fn configure(
    r: Arc<Redis>,
    mut c: RedisConn,
    l: Layout,
    max_len: Option<u64>,
    max_age: Option<f64>,
    s: Settings,
) -> Result<Settings> {
    if max_len.is_some() || max_age.is_some() {
        each(&r, c.clone(), &l, |r, mut c, p| async move {
            let mut set = redis::cmd("HSET");
            set.arg(format!("{p}cfg"));
            if let Some(n) = max_len {
                set.arg("max_len").arg(n);
            }
            if let Some(a) = max_age {
                set.arg("max_age_ms").arg((a * 1000.0) as u64);
            }
            set.query_async::<()>(&mut c).await.map_err(|e| r.err(e))
        })
        .await?;
    }
    let got: (Option<u64>, Option<u64>) = redis::cmd("HMGET")
        .arg(format!("{}cfg", l.prefix(0)))
        .arg("max_len")
        .arg("max_age_ms")
        .query_async(&mut c)
        .await
        .map_err(|e| r.err(e))?;
    Ok(Settings {
        max_len: got.0.unwrap_or(s.max_len),
        max_age: got.1.map_or(s.max_age, |ms| ms as f64 / 1000.0),
        ..s
    })
}

/// Registers an agent (in its partition).
pub async fn register(
    r: Arc<Redis>,
    mut c: RedisConn,
    l: Layout,
    agent: String,
    kinds: Vec<String>,
    s: Settings,
) -> Result<bool> {
    let p = l.home(&agent);
    let mut cmd = REGISTER.call(&format!("{p}agents"));
    cmd.arg(&p)
        .arg(&agent)
        .arg(kinds.join("\n"))
        .arg(s.max_len)
        .arg(age_ms(&s));
    let n: u64 = REGISTER.run(&r, &mut c, &cmd).await?;
    Ok(n == 1)
}

/// Registered agents and their kinds (every partition's).
pub async fn agents(r: Arc<Redis>, c: RedisConn, l: Layout) -> Result<Vec<(String, Vec<String>)>> {
    let parts = each(&r, c, &l, |r, mut c, p| async move {
        redis::cmd("HGETALL")
            .arg(format!("{p}agents"))
            .query_async::<Vec<(String, String)>>(&mut c)
            .await
            .map_err(|e| r.err(e))
    })
    .await?;
    let mut out: Vec<(String, Vec<String>)> = parts
        .into_iter()
        .flatten()
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

/// One message of a share script call (see `share.lua`).
#[derive(Debug, Clone)]
pub(super) struct Item {
    /// 'to' | 'kind' | 'all' | 'none'.
    pub mode: &'static str,
    /// Target or kind ('' for the others).
    pub who: String,
    /// Priority rank.
    pub rank: u8,
    /// Sender.
    pub source: String,
    /// Idempotency key ('' none).
    pub idem: String,
    /// The envelope after id and time.
    pub rest: String,
    /// The id the home partition gave ('' this call gives it).
    pub xid: String,
}

impl Item {
    /// The item of `out` (mode and id left to the caller when spreading).
    pub(super) fn of(out: &Outgoing) -> Result<Item> {
        let (mode, who) = if out.broadcast {
            ("all", String::new())
        } else {
            match (&out.target, &out.kind) {
                (Some(t), _) => ("to", t.clone()),
                (None, Some(k)) => ("kind", k.clone()),
                (None, None) => return Err(Error::validation("share needs a target or a kind")),
            }
        };
        Ok(Item {
            mode,
            who,
            rank: out.priority.rank(),
            source: out.source.clone(),
            idem: out.idempotency_key.clone().unwrap_or_default(),
            rest: out.envelope_rest()?,
            xid: String::new(),
        })
    }
}

/// A share script's answer for one message.
#[derive(Debug, Clone)]
pub(super) enum Sent {
    /// Written (or only given an id, mode 'none'): its id and time.
    Ok(String, u64),
    /// Its idempotency key was used before: the envelope then sent.
    Dup(String),
}

/// Runs `share.lua` on partition `part`: `role` 's' (the whole share), 'h' (the home of
/// a spread share), 'o' (another partition of it); `floor` an id the new ids exceed.
#[allow(clippy::too_many_arguments)]
pub(super) async fn share_script(
    r: &Redis,
    c: &mut RedisConn,
    l: &Layout,
    part: u16,
    role: &str,
    floor: (u64, u64),
    items: &[Item],
    s: &Settings,
) -> Result<Vec<Sent>> {
    let p = l.prefix(part);
    let mut cmd = SHARE.call(&format!("{p}agents"));
    cmd.arg(&p)
        .arg(wake::channel(&l.ns, "bus:"))
        .arg(s.max_len)
        .arg(age_ms(s))
        .arg(l.n.max(1))
        .arg(part)
        .arg(floor.0)
        .arg(floor.1)
        .arg(role);
    for it in items {
        cmd.arg(it.mode)
            .arg(&it.who)
            .arg(it.rank)
            .arg(&it.source)
            .arg(&it.idem)
            .arg(&it.rest)
            .arg(&it.xid);
    }
    let reply: Vec<Value> = SHARE.run(r, c, &cmd).await?;
    let tag = |i: usize| reply.get(i).map(text).transpose();
    match tag(0)?.as_deref() {
        Some("noagent") => return Err(no_agent(&tag(1)?.unwrap_or_default())),
        Some("nokind") => return Err(no_kind(&tag(1)?.unwrap_or_default())),
        _ => {}
    }
    let mut out = Vec::with_capacity(items.len());
    let mut i = 0;
    for _ in items {
        match tag(i)?.as_deref() {
            Some("ok") => {
                let id = tag(i + 1)?.ok_or_else(|| bad("id"))?;
                let ms: u64 = tag(i + 2)?
                    .ok_or_else(|| bad("ms"))?
                    .parse()
                    .map_err(|_| bad("ms"))?;
                out.push(Sent::Ok(id, ms));
                i += 3;
            }
            Some("dup") => {
                out.push(Sent::Dup(tag(i + 1)?.ok_or_else(|| bad("envelope"))?));
                i += 2;
            }
            other => return Err(bad(other.unwrap_or("short reply"))),
        }
    }
    Ok(out)
}

/// The messages of a share, from the script answers (`Sent`) in batch order.
pub(super) fn messages(
    r: &Redis,
    ns: &str,
    outs: Vec<Outgoing>,
    sent: Vec<Sent>,
) -> Result<Vec<Message>> {
    let w = r.wakeups(ns);
    let mut msgs = Vec::with_capacity(outs.len());
    for (out, got) in outs.into_iter().zip(sent) {
        match got {
            Sent::Ok(id, ms) => {
                if let Some(t) = &out.target {
                    w.fire(&topic(t));
                }
                msgs.push(out.message(id, ms)?);
            }
            Sent::Dup(env) => msgs.push(parse_envelope(&env)?),
        }
    }
    Ok(msgs)
}

/// Shares messages, all or nothing (see `share.lua`): one script call without partitions,
/// or when every message goes to agents of one partition; else spread (`spread.rs`).
pub async fn share_many(
    r: Arc<Redis>,
    mut c: RedisConn,
    l: Layout,
    outs: Vec<Outgoing>,
    s: Settings,
    floor: (u64, u64),
) -> Result<Vec<Message>> {
    if outs.is_empty() {
        return Ok(vec![]);
    }
    let items = outs.iter().map(Item::of).collect::<Result<Vec<_>>>()?;
    let one = if l.n <= 1 {
        Some(0)
    } else {
        let first = items.first().map(|i| l.of(&i.who));
        first.filter(|&p| items.iter().all(|i| i.mode == "to" && l.of(&i.who) == p))
    };
    let Some(p) = one else {
        return super::spread::share_many(r, c, l, outs, items, s, floor).await;
    };
    let sent = share_script(&r, &mut c, &l, p, "s", floor, &items, &s).await?;
    messages(&r, &l.ns, outs, sent)
}

/// Unacked messages of an agent.
pub async fn pending(
    r: Arc<Redis>,
    mut c: RedisConn,
    l: Layout,
    agent: String,
    count: usize,
) -> Result<Vec<Message>> {
    let p = l.home(&agent);
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
    l: Layout,
    agent: String,
    ids: Vec<String>,
    who: Acker,
    s: Settings,
) -> Result<u64> {
    let p = l.home(&agent);
    let mut cmd = ACK.call(&format!("{p}agents"));
    cmd.arg(&p)
        .arg(&agent)
        .arg(who.group.as_deref().unwrap_or(""))
        .arg(who.consumer.as_deref().unwrap_or(""))
        .arg(s.max_len)
        .arg(age_ms(&s))
        .arg(l.aliased());
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

async fn acked_in(r: &Redis, c: &mut RedisConn, p: &str, id: &str) -> Result<bool> {
    let score: Option<f64> = redis::cmd("ZSCORE")
        .arg(format!("{p}acked"))
        .arg(id)
        .query_async(c)
        .await
        .map_err(|e| r.err(e))?;
    Ok(score.is_some())
}

/// True once acknowledged: looked up in the partition that gave the id (where a direct
/// message is acked), then in the others (a message spread by kind or to all is acked in
/// each recipient's partition).
pub async fn is_acked(r: Arc<Redis>, mut c: RedisConn, l: Layout, id: String) -> Result<bool> {
    if acked_in(&r, &mut c, &l.prefix(l.of_id(&id)), &id).await? {
        return Ok(true);
    }
    if l.n <= 1 {
        return Ok(false);
    }
    let id = &id;
    let found = each(&r, c, &l, |r, mut c, p| async move {
        acked_in(&r, &mut c, &p, id).await
    })
    .await?;
    Ok(found.into_iter().any(|x| x))
}

/// Messages between two agents, oldest first: every partition's history, merged by id
/// (a message recorded in several partitions once).
pub async fn history(
    r: Arc<Redis>,
    c: RedisConn,
    l: Layout,
    a: String,
    b: String,
    limit: usize,
) -> Result<Vec<Message>> {
    let (a, b) = (&a, &b);
    let parts = each(&r, c, &l, |r, mut c, p| async move {
        let mut cmd = HISTORY.call(&format!("{p}hist"));
        cmd.arg(&p).arg(a).arg(b).arg(limit);
        HISTORY.run::<Vec<String>>(&r, &mut c, &cmd).await
    })
    .await?;
    let mut msgs: Vec<Message> = Vec::new();
    for envs in parts {
        for e in envs {
            msgs.push(parse_envelope(&e)?);
        }
    }
    msgs.sort_by_key(|m| super::model::id_parts(&m.id));
    msgs.dedup_by(|x, y| x.id == y.id);
    let skip = msgs.len().saturating_sub(limit);
    Ok(msgs.split_off(skip))
}

/// Counters (every partition's, summed).
pub async fn stats(r: Arc<Redis>, c: RedisConn, l: Layout) -> Result<Stats> {
    let parts = each(&r, c, &l, |r, mut c, p| async move {
        let mut cmd = STATS.call(&format!("{p}agents"));
        cmd.arg(&p);
        STATS.run::<Vec<Value>>(&r, &mut c, &cmd).await
    })
    .await?;
    let mut out = Stats::default();
    for reply in parts {
        let [total, acked, dead, rest @ ..] = reply.as_slice() else {
            return Err(bad("stats"));
        };
        out.total += int(total)?;
        out.acknowledged += int(acked)?;
        out.dead += int(dead)?;
        for pair in rest.chunks(2) {
            if let [a, n] = pair {
                let n = int(n)?;
                out.pending += n;
                out.per_agent.insert(text(a)?, n);
            }
        }
    }
    Ok(out)
}

/// Drops entries older than `cutoff_ms` (in every partition).
pub async fn cleanup(r: Arc<Redis>, c: RedisConn, l: Layout, cutoff_ms: u64) -> Result<u64> {
    let parts = each(&r, c, &l, |r, mut c, p| async move {
        let mut cmd = CLEANUP.call(&format!("{p}agents"));
        cmd.arg(&p).arg(cutoff_ms);
        CLEANUP.run::<u64>(&r, &mut c, &cmd).await
    })
    .await?;
    Ok(parts.into_iter().sum())
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
    l: Layout,
    agent: String,
    group: String,
    consumer: String,
    count: usize,
    pol: ClaimPolicy,
    s: Settings,
    wait: Duration,
) -> Result<Vec<Delivery>> {
    let p = l.home(&agent);
    if wait.is_zero() {
        return consume_once(&r, &mut c, &p, &agent, &group, &consumer, count, pol, &s).await;
    }
    let deadline = Instant::now() + wait;
    let w = r.wakeups(&l.ns);
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

/// Dead letters of one partition, oldest first.
async fn dead_in(
    r: &Redis,
    c: &mut RedisConn,
    p: &str,
    agent: Option<&str>,
    count: usize,
) -> Result<Vec<DeadLetter>> {
    let mut cmd = DEAD.call(&format!("{p}dead"));
    cmd.arg(p).arg(agent.unwrap_or("")).arg(count);
    let reply: Vec<Value> = DEAD.run(r, c, &cmd).await?;
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

/// Dead letters, oldest first: of `agent` (its partition), or of every agent (every
/// partition's, merged by the time they died).
pub async fn dead_letters(
    r: Arc<Redis>,
    mut c: RedisConn,
    l: Layout,
    agent: Option<String>,
    count: usize,
) -> Result<Vec<DeadLetter>> {
    if let Some(a) = &agent {
        return dead_in(&r, &mut c, &l.home(a), Some(a), count).await;
    }
    if l.n <= 1 {
        return dead_in(&r, &mut c, &l.prefix(0), None, count).await;
    }
    let parts = each(&r, c, &l, |r, mut c, p| async move {
        dead_in(&r, &mut c, &p, None, count).await
    })
    .await?;
    let mut all: Vec<DeadLetter> = parts.into_iter().flatten().collect();
    all.sort_by(|x, y| x.time.total_cmp(&y.time));
    all.truncate(count);
    Ok(all)
}

async fn requeue_in(
    r: &Redis,
    c: &mut RedisConn,
    l: &Layout,
    part: u16,
    agent: Option<&str>,
    ids: Option<&[String]>,
    s: &Settings,
) -> Result<u64> {
    let p = l.prefix(part);
    let mut cmd = REQUEUE.call(&format!("{p}dead"));
    cmd.arg(&p)
        .arg(wake::channel(&l.ns, "bus:"))
        .arg(agent.unwrap_or(""))
        .arg(s.max_len)
        .arg(l.n.max(1))
        .arg(part);
    if let Some(ids) = ids {
        for i in ids {
            cmd.arg(i);
        }
    }
    REQUEUE.run(r, c, &cmd).await
}

/// Puts dead letters back as new messages (in the partition of their agent).
pub async fn requeue(
    r: Arc<Redis>,
    mut c: RedisConn,
    l: Layout,
    agent: Option<String>,
    ids: Option<Vec<String>>,
    s: Settings,
) -> Result<u64> {
    if ids.as_ref().is_some_and(Vec::is_empty) {
        return Ok(0);
    }
    if let Some(a) = &agent {
        return requeue_in(&r, &mut c, &l, l.of(a), Some(a), ids.as_deref(), &s).await;
    }
    let (l2, ids, s) = (&l, ids.as_deref(), &s);
    let parts = each_part(&r, c, &l, |r, mut c, p| async move {
        requeue_in(&r, &mut c, l2, p, None, ids, s).await
    })
    .await?;
    Ok(parts.into_iter().sum())
}
