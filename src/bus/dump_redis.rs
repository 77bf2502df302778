//! The bus's export pages and import writes on Redis (see `dump.rs`): plain reads of the
//! keys in docs/keys.md, and one pipeline per import batch (all keys under the bus tag, of
//! one partition: a partitioned namespace is read and written partition by partition).

use std::collections::HashMap;
use std::sync::Arc;

use redis::Value as RValue;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::dump::{message, Item, Rec};
use crate::engine::partition;
use crate::engine::{Page, Record, Redis, RedisConn};
use crate::error::{Error, Result};
use crate::transfer::record::{self, PAGE};

const META: u8 = 0;
const INBOX: u8 = 1;
const BCAST: u8 = 2;
const HIST: u8 = 3;
const ACKED: u8 = 4;
const IDEM: u8 = 5;
const DEAD: u8 = 6;

/// Where a page starts: a stage, and within it the agents (and their groups) still to read
/// with the current rank, the stream id to go on after, a rank in the ack log, or the
/// idempotency keys still to read.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    stage: u8,
    agents: Vec<(String, Option<String>)>,
    rank: u8,
    after: String,
    i: usize,
    keys: Option<Vec<String>>,
    /// The partition being read (a namespace with partitions).
    #[serde(default)]
    part: u16,
}

/// The namespace's partition count (1 when none is stored).
async fn count(r: &Redis, c: &mut RedisConn, ns: &str) -> Result<u16> {
    let n: Option<u16> = redis::cmd("GET")
        .arg(partition::count_key(ns))
        .query_async(c)
        .await
        .map_err(|e| r.err(e))?;
    Ok(n.unwrap_or(1).max(1))
}

/// Its stream id when an entry's is not the message's own (a local one, see share.lua).
fn local(e: &Entry, m: &super::model::Message) -> Option<String> {
    (e.0 != m.id).then(|| e.0.clone())
}

fn bad(what: impl std::fmt::Display) -> Error {
    Error::Backend(format!("unreadable bus entry in the export: {what}"))
}

fn rec(r: Rec) -> Result<Record> {
    record::record(&r)
}

/// Two optional numbers of a hash.
type Pair = (Option<u64>, Option<u64>);
/// The bus's settings, id generator and counters, agents and groups.
type Meta = (
    Pair,
    Pair,
    Pair,
    HashMap<String, String>,
    HashMap<String, String>,
);

/// A stream entry: its id and fields.
type Entry = (String, HashMap<String, String>);

async fn range(r: &Redis, c: &mut RedisConn, key: &str, after: &str) -> Result<Vec<Entry>> {
    let from = if after.is_empty() {
        "-".to_string()
    } else {
        format!("({after}")
    };
    let rows: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
        .arg(key)
        .arg(from)
        .arg("+")
        .arg("COUNT")
        .arg(PAGE)
        .query_async(c)
        .await
        .map_err(|e| r.err(e))?;
    Ok(rows
        .into_iter()
        .map(|(id, f)| {
            let m = f
                .chunks(2)
                .filter_map(|kv| match kv {
                    [k, v] => Some((k.clone(), v.clone())),
                    _ => None,
                })
                .collect();
            (id, m)
        })
        .collect())
}

fn field(e: &Entry, k: &str) -> Result<String> {
    e.1.get(k)
        .cloned()
        .ok_or_else(|| bad(format!("entry {} lacks {k}", e.0)))
}

/// One page of the bus (`cur` None: the first).
pub async fn page(r: Arc<Redis>, mut c: RedisConn, ns: String, cur: Option<Value>) -> Result<Page> {
    let cur: Cursor = match cur {
        Some(v) => record::cursor(v)?.unwrap_or_default(),
        None => Cursor::default(),
    };
    let n = count(&r, &mut c, &ns).await?;
    let part = cur.part;
    let p = partition::prefix(&ns, super::CAPABILITY.tag, part, n);
    let mut out = Vec::new();
    let stage = cur.stage;
    if n > 1 && stage == META {
        out.push(rec(Rec::Part { p: part, of: n })?);
    }
    let mut listed = Vec::new();
    // Some(cursor) to stay in the stage, None to go to the next.
    let stay: Option<Cursor> = match stage {
        META => {
            let (cfg, seq, stats, agents, groups): Meta = redis::pipe()
                .cmd("HMGET")
                .arg(format!("{p}cfg"))
                .arg("max_len")
                .arg("max_age_ms")
                .cmd("HMGET")
                .arg(format!("{p}seq"))
                .arg("ms")
                .arg("n")
                .cmd("HMGET")
                .arg(format!("{p}stats"))
                .arg("total")
                .arg("acked")
                .hgetall(format!("{p}agents"))
                .hgetall(format!("{p}groups"))
                .query_async(&mut c)
                .await
                .map_err(|e| r.err(e))?;
            if cfg.0.is_some() || cfg.1.is_some() {
                out.push(rec(Rec::Cfg {
                    max_len: cfg.0,
                    max_age: cfg.1.map(|ms| ms as f64 / 1000.0),
                })?);
            }
            if let (Some(ms), Some(n)) = seq {
                out.push(rec(Rec::Seq { ms, n })?);
            }
            if stats.0.is_some() || stats.1.is_some() {
                out.push(rec(Rec::Stats {
                    total: stats.0.unwrap_or(0),
                    acked: stats.1.unwrap_or(0),
                })?);
            }
            let mut list: Vec<(String, Option<String>)> = agents
                .keys()
                .map(|a| (a.clone(), groups.get(a).cloned()))
                .collect();
            list.sort();
            for (a, g) in &list {
                let kinds = agents.get(a).cloned().unwrap_or_default();
                out.push(rec(Rec::Agent {
                    agent: a.clone(),
                    kinds: kinds
                        .split('\n')
                        .filter(|k| !k.is_empty())
                        .map(String::from)
                        .collect(),
                    group: g.clone(),
                })?);
            }
            listed = list;
            None
        }
        INBOX => inbox(&r, &mut c, &p, cur, &mut out).await?,
        BCAST | HIST | DEAD => {
            let key = match stage {
                BCAST => "bcast",
                HIST => "hist",
                _ => "dead",
            };
            let rows = range(&r, &mut c, &format!("{p}{key}"), &cur.after).await?;
            for e in &rows {
                let message = message(&field(e, "d")?)?;
                let sid = local(e, &message);
                out.push(rec(match stage {
                    BCAST => Rec::Bcast { message, sid },
                    HIST => Rec::Hist {
                        to: field(e, "t")?,
                        message,
                        sid,
                    },
                    _ => Rec::Dead {
                        agent: field(e, "a")?,
                        group: field(e, "g")?,
                        consumer: field(e, "c")?,
                        deliveries: field(e, "n")?.parse().map_err(bad)?,
                        reason: field(e, "why")?,
                        ms: super::dump::id_of(&e.0).map_err(bad)?.0,
                        message,
                    },
                })?);
            }
            rows.last().filter(|_| rows.len() == PAGE).map(|e| Cursor {
                stage,
                after: e.0.clone(),
                part,
                ..Cursor::default()
            })
        }
        ACKED => {
            let rows: Vec<(String, f64)> = redis::cmd("ZRANGE")
                .arg(format!("{p}acked"))
                .arg(cur.i)
                .arg(cur.i + PAGE - 1)
                .arg("WITHSCORES")
                .query_async(&mut c)
                .await
                .map_err(|e| r.err(e))?;
            let full = rows.len() == PAGE;
            for (id, ms) in rows {
                out.push(rec(Rec::Acked { id, ms: ms as u64 })?);
            }
            full.then(|| Cursor {
                stage: ACKED,
                i: cur.i + PAGE,
                part,
                ..Cursor::default()
            })
        }
        _ => {
            let mut keys = match cur.keys {
                Some(k) => k,
                None => {
                    let mut k = r.scan_keys(&format!("{p}idem:*")).await?;
                    k.sort();
                    k
                }
            };
            let rest = keys.split_off(keys.len().min(PAGE));
            if !keys.is_empty() {
                let mut pipe = redis::pipe();
                for k in &keys {
                    pipe.get(k);
                }
                let envs: Vec<Option<String>> =
                    pipe.query_async(&mut c).await.map_err(|e| r.err(e))?;
                for (k, env) in keys.iter().zip(envs) {
                    let (Some(key), Some(env)) = (k.strip_prefix(&format!("{p}idem:")), env) else {
                        continue; // expired since the scan
                    };
                    out.push(rec(Rec::Idem {
                        key: key.to_string(),
                        message: message(&env)?,
                    })?);
                }
            }
            (!rest.is_empty()).then(|| Cursor {
                stage: IDEM,
                keys: Some(rest),
                part,
                ..Cursor::default()
            })
        }
    };
    let next = match stay {
        Some(c) => Some(c),
        None if stage < DEAD => Some(Cursor {
            stage: stage + 1,
            agents: listed,
            part,
            ..Cursor::default()
        }),
        None if part + 1 < n => Some(Cursor {
            part: part + 1,
            ..Cursor::default()
        }),
        None => None,
    };
    Ok(Page {
        records: out,
        next: next.map(|c| record::next(&c)).transpose()?,
    })
}

/// One page of one inbox stream, with who holds each message (its group's pending entries).
async fn inbox(
    r: &Redis,
    c: &mut RedisConn,
    p: &str,
    mut cur: Cursor,
    out: &mut Vec<Record>,
) -> Result<Option<Cursor>> {
    let Some((agent, group)) = cur.agents.first().cloned() else {
        return Ok(None);
    };
    let key = format!("{p}in:{agent}:{}", cur.rank);
    let rows = range(r, c, &key, &cur.after).await?;
    let mut held: HashMap<String, (String, u64, u64)> = HashMap::new();
    if let (Some(g), Some(first), Some(last)) = (&group, rows.first(), rows.last()) {
        let pel: Vec<(String, String, u64, u64)> = redis::cmd("XPENDING")
            .arg(&key)
            .arg(g)
            .arg(&first.0)
            .arg(&last.0)
            .arg(PAGE)
            .query_async(c)
            .await
            .map_err(|e| r.err(e))?;
        let now = crate::clock::now_ms();
        for (id, consumer, idle, n) in pel {
            held.insert(id, (consumer, now.saturating_sub(idle), n));
        }
    }
    for e in &rows {
        let h = held.remove(&e.0);
        let message = message(&field(e, "d")?)?;
        out.push(rec(Rec::Inbox {
            agent: agent.clone(),
            deliveries: h.as_ref().map_or(0, |x| x.2),
            delivered_ms: h.as_ref().map(|x| x.1),
            consumer: h.map(|x| x.0),
            sid: local(e, &message),
            message,
        })?);
    }
    if rows.len() == PAGE {
        cur.after = rows.last().map(|e| e.0.clone()).unwrap_or_default();
    } else if cur.rank < 3 {
        cur.rank += 1;
        cur.after.clear();
    } else {
        cur.agents.remove(0);
        cur.rank = 0;
        cur.after.clear();
        if cur.agents.is_empty() {
            return Ok(None);
        }
    }
    Ok(Some(cur))
}

/// Writes one batch in one pipeline: into partition `part.0` of `part.1` (a partitioned
/// export; the namespace must have that count), else into the namespace without partitions.
/// `age_ms`: the retention age (how long the alias of a local stream id lives).
pub async fn write(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    part: Option<(u16, u16)>,
    age_ms: u64,
    batch: Vec<Item>,
) -> Result<()> {
    let have = count(&r, &mut c, &ns).await?;
    let (q, want) = part.unwrap_or((0, 1));
    if have != want {
        return Err(Error::Validation(format!(
            "this bus export has {want} partition(s) and namespace {ns:?} has {have}: open the \
             namespace with partitions={want} to import it"
        )));
    }
    let p = partition::prefix(&ns, super::CAPABILITY.tag, q, want);
    let inbox = |a: &str, rank: u8| format!("{p}in:{a}:{rank}");
    // A message under a local stream id is found by its alias, for the retention age.
    let alias = |pipe: &mut redis::Pipeline, e: &super::dump::Env| {
        if e.sid != e.id {
            pipe.cmd("SET")
                .arg(format!("{p}alias:{}", e.id))
                .arg(&e.sid)
                .arg("PX")
                .arg(age_ms.max(1))
                .ignore();
        }
    };
    let mut pipe = redis::pipe();
    let mut checks: Vec<(&str, &str)> = Vec::new();
    let now = crate::clock::now_ms();
    for item in &batch {
        match item {
            Item::Cfg(len, age) => {
                if let Some(n) = len {
                    pipe.hset(format!("{p}cfg"), "max_len", *n).ignore();
                }
                if let Some(a) = age {
                    pipe.hset(format!("{p}cfg"), "max_age_ms", (a * 1000.0) as u64)
                        .ignore();
                }
            }
            Item::Seq(ms, n) => {
                pipe.hset(format!("{p}seq"), "ms", *ms).ignore();
                pipe.hset(format!("{p}seq"), "n", *n).ignore();
            }
            Item::Stats(total, acked) => {
                pipe.hset(format!("{p}stats"), "total", *total).ignore();
                pipe.hset(format!("{p}stats"), "acked", *acked).ignore();
            }
            Item::Agent(agent, kinds, group) => {
                pipe.hset(format!("{p}agents"), agent, kinds.join("\n"))
                    .ignore();
                for k in kinds {
                    pipe.sadd(format!("{p}kind:{k}"), agent).ignore();
                }
                if let Some(g) = group {
                    pipe.hset(format!("{p}groups"), agent, g).ignore();
                    for rank in 0..4 {
                        pipe.cmd("XGROUP")
                            .arg("CREATE")
                            .arg(inbox(agent, rank))
                            .arg(g)
                            .arg("0")
                            .arg("MKSTREAM")
                            .ignore();
                    }
                }
            }
            Item::Inbox(agent, group, e, held) => {
                let k = inbox(agent, e.rank);
                pipe.cmd("XADD")
                    .arg(&k)
                    .arg(&e.sid)
                    .arg("d")
                    .arg(&e.env)
                    .ignore();
                alias(&mut pipe, e);
                if let (Some(g), Some((consumer, at, n))) = (group, held) {
                    // The delivery as the group had it: holder, time, count; then the group's
                    // "last delivered" moves past it, so it is not handed out as new.
                    pipe.cmd("XCLAIM")
                        .arg(&k)
                        .arg(g)
                        .arg(consumer)
                        .arg(0)
                        .arg(&e.sid)
                        .arg("TIME")
                        .arg(*at)
                        .arg("RETRYCOUNT")
                        .arg(*n)
                        .arg("FORCE")
                        .arg("JUSTID")
                        .ignore();
                    pipe.cmd("XGROUP")
                        .arg("SETID")
                        .arg(&k)
                        .arg(g)
                        .arg(&e.sid)
                        .ignore();
                }
            }
            Item::Bcast(e) => {
                alias(&mut pipe, e);
                pipe.cmd("XADD")
                    .arg(format!("{p}bcast"))
                    .arg(&e.sid)
                    .arg("d")
                    .arg(&e.env)
                    .arg("s")
                    .arg(&e.source)
                    .arg("r")
                    .arg(e.rank)
                    .ignore();
            }
            Item::Hist(to, e) => {
                pipe.cmd("XADD")
                    .arg(format!("{p}hist"))
                    .arg(&e.sid)
                    .arg("s")
                    .arg(&e.source)
                    .arg("t")
                    .arg(to)
                    .arg("d")
                    .arg(&e.env)
                    .ignore();
            }
            Item::Acked(id, ms) => {
                pipe.zadd(format!("{p}acked"), id, *ms);
                checks.push(("acked id", id));
            }
            Item::Idem(key, e, until) => {
                if *until > now {
                    pipe.cmd("SET")
                        .arg(format!("{p}idem:{key}"))
                        .arg(&e.env)
                        .arg("PX")
                        .arg(until - now)
                        .arg("NX");
                    checks.push(("idempotency key", key));
                }
            }
            Item::Dead(d) => {
                pipe.cmd("XADD")
                    .arg(format!("{p}dead"))
                    .arg(&d.sid)
                    .arg("id")
                    .arg(&d.env.id)
                    .arg("a")
                    .arg(&d.agent)
                    .arg("g")
                    .arg(&d.group)
                    .arg("c")
                    .arg(&d.consumer)
                    .arg("n")
                    .arg(d.deliveries)
                    .arg("r")
                    .arg(d.env.rank)
                    .arg("why")
                    .arg(&d.reason)
                    .arg("d")
                    .arg(&d.env.env)
                    .ignore();
            }
        }
    }
    let got: Vec<RValue> = pipe.query_async(&mut c).await.map_err(|e| r.err(e))?;
    for (v, (what, id)) in got.iter().zip(checks) {
        if matches!(v, RValue::Nil | RValue::Int(0)) {
            return Err(record::duplicate(what, id));
        }
    }
    Ok(())
}
