//! The bus in a namespace export (`crate::transfer`, docs/export.md). Records, in order:
//! `cfg` (the retention `configure` stored), `seq` (the message id generator), `stats` (the
//! counters), `agent` (registered agents, their kinds and consumer group), `inbox` (every
//! unacked message in every inbox, with who holds it: consumer, time of the last delivery,
//! deliveries so far), `bcast` (the broadcast log new agents receive), `hist` (the history),
//! `acked` (the ack log), `idem` (idempotency keys and the message each sent), `dead` (dead
//! letters). Messages keep their ids (`<ms>-<seq>` on both backends) and envelopes.
//!
//! What `consume` shows of a consumer group is carried: which consumer holds each delivered
//! message, how often it was handed out, and since when (so it becomes claimable by another
//! consumer at the same moment), and which messages are still new. Redis keeps more inside a
//! stream's group (a consumer's last-seen time, pending entries whose message was trimmed):
//! that is not visible through the bus and is not carried. A delivery time read from Redis
//! is the server's idle time subtracted from now (millisecond precision). Idempotency keys
//! keep working until the same moment they would have expired (send time + retention age),
//! and dead letters keep their time unless two of them share a millisecond out of order,
//! which moves the later one up to its predecessor's millisecond on Redis.
//!
//! A Redis namespace with partitions (docs/scaling.md) exports each partition in turn, after
//! a `part` record (`p` of `of`); an inbox, broadcast or history entry stored under a local
//! stream id (a message another partition gave its id to) carries it as `sid`. Such an export
//! imports into a Redis namespace opened with the same count (each partition's records into
//! that partition); the embedded store, which keeps no partitions apart, refuses it.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::model::{self, assemble, Message, Outgoing, Settings};
use super::{dump_redis, dump_sqlite, MAX_KINDS};
use crate::engine::{tri, Backend, Importer, Op, Page, Record};
use crate::error::{Error, Result};
use crate::ids;
use crate::transfer::record::{self, BATCH};

/// A bus record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case", deny_unknown_fields)]
pub(super) enum Rec {
    /// The records after it, up to the next `part`, are partition `p` of `of`.
    Part { p: u16, of: u16 },
    /// The retention `configure` stored (absent fields: the defaults).
    Cfg {
        max_len: Option<u64>,
        max_age: Option<f64>,
    },
    /// The id generator: the last millisecond used and the last sequence number.
    Seq { ms: u64, n: u64 },
    /// Messages shared and acks recorded.
    Stats { total: u64, acked: u64 },
    /// A registered agent.
    Agent {
        agent: String,
        kinds: Vec<String>,
        group: Option<String>,
    },
    /// An unacked message in an agent's inbox (held by `consumer` since `delivered_ms` after
    /// `deliveries` hand-outs, or not handed out yet).
    Inbox {
        agent: String,
        consumer: Option<String>,
        delivered_ms: Option<u64>,
        deliveries: u64,
        message: Message,
        /// Its stream id when not the message id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sid: Option<String>,
    },
    /// A broadcast still retained for agents that register later.
    Bcast {
        message: Message,
        /// Its stream id when not the message id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sid: Option<String>,
    },
    /// A message in the history, with its recipients (`*` for a broadcast).
    Hist {
        to: String,
        message: Message,
        /// Its stream id when not the message id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sid: Option<String>,
    },
    /// An acknowledged message id and when it was acked.
    Acked { id: String, ms: u64 },
    /// An idempotency key and the message first shared with it.
    Idem { key: String, message: Message },
    /// A dead letter.
    Dead {
        agent: String,
        group: String,
        consumer: String,
        deliveries: u64,
        reason: String,
        ms: u64,
        message: Message,
    },
}

/// One page: the SQLite or Redis half (see `dump_sqlite` / `dump_redis`).
pub fn export(b: &Backend, ns: &str, cursor: Value) -> Op<Page> {
    let cur: Option<Value> = tri!(record::cursor(cursor));
    b.call(
        (ns.to_string(), cur),
        |db, (ns, cur)| dump_sqlite::page(db, &ns, cur),
        |r, c, (ns, cur)| dump_redis::page(r, c, ns, cur),
    )
}

/// A stored message id as `(ms, seq)`.
pub(super) fn id_of(id: &str) -> Result<(u64, u64)> {
    model::message_id(id)?;
    let (a, b) = id.split_once('-').unwrap_or((id, ""));
    match (a.parse(), b.parse()) {
        (Ok(ms), Ok(n)) => Ok((ms, n)),
        _ => Err(Error::validation(format!(
            "message id {id:?} is out of range"
        ))),
    }
}

/// A message exactly as the store holds it: its id's parts and its envelope.
#[derive(Debug, Clone)]
pub(super) struct Env {
    /// The message id, `<ms>-<n>`.
    pub id: String,
    /// Its millisecond.
    pub ms: u64,
    /// Its sequence number.
    pub n: u64,
    /// Its priority's rank (0 critical .. 3 low).
    pub rank: u8,
    /// The sender.
    pub source: String,
    /// The envelope as stored.
    pub env: String,
    /// Its stream id (the message id unless it has a local one in a partition).
    pub sid: String,
    /// The stream id's parts, for the order of a stream.
    pub at: (u64, u64),
}

/// Checks a message as every share would have (ids, kind, payload) and rebuilds its
/// envelope.
fn env(m: &Message) -> Result<Env> {
    env_at(m, None)
}

/// [`env`] stored under stream id `sid` (None: its own id).
fn env_at(m: &Message, sid: Option<&str>) -> Result<Env> {
    let (ms, n) = id_of(&m.id)?;
    let at = sid.map(id_of).transpose()?.unwrap_or((ms, n));
    if (m.time * 1000.0).round() != ms as f64 {
        return Err(Error::validation(format!(
            "message {:?} has time {} but its id says {} ms",
            m.id, m.time, ms
        )));
    }
    let source = model::agent("source agent id", &m.source)?;
    if let Some(t) = &m.target {
        model::agent("target agent id", t)?;
    }
    if let Some(k) = &m.kind {
        record::same("a message kind", k, &model::kind(k)?)?;
    }
    let out = Outgoing {
        source: source.clone(),
        target: m.target.clone(),
        priority: m.priority,
        kind: m.kind.clone(),
        payload: model::encode_payload(&m.payload, 64 << 20)?,
        broadcast: m.broadcast,
        idempotency_key: None,
    };
    Ok(Env {
        id: m.id.clone(),
        ms,
        n,
        rank: m.priority.rank(),
        source,
        env: assemble(&m.id, ms, &out.envelope_rest()?),
        sid: sid.unwrap_or(&m.id).to_string(),
        at,
    })
}

/// What a batch writes (validated, envelopes built).
pub(super) enum Item {
    /// Retention: max_len, max_age (seconds).
    Cfg(Option<u64>, Option<f64>),
    /// The id generator: last ms, last sequence number.
    Seq(u64, u64),
    /// Counters: total, acked.
    Stats(u64, u64),
    /// Agent, kinds, group.
    Agent(String, Vec<String>, Option<String>),
    /// Agent, its group, the message, who holds it: (consumer, delivered ms, deliveries).
    Inbox(String, Option<String>, Env, Option<(String, u64, u64)>),
    /// A retained broadcast.
    Bcast(Env),
    /// Recipients, message.
    Hist(String, Env),
    /// Acked id, when (ms).
    Acked(String, u64),
    /// Key, message, when the key stops deduplicating (ms).
    Idem(String, Env, u64),
    /// A dead letter.
    Dead(Box<Dead>),
}

/// A dead letter as it is written.
pub(super) struct Dead {
    /// Its entry id in the Redis stream (growing with its time).
    pub sid: String,
    /// Whose inbox it was in.
    pub agent: String,
    /// The group that gave up on it.
    pub group: String,
    /// Its last holder.
    pub consumer: String,
    /// How often it was handed out.
    pub deliveries: u64,
    /// Why it is dead.
    pub reason: String,
    /// When it died (ms).
    pub ms: u64,
    /// The message.
    pub env: Env,
}

/// Writes the bus back in batches.
pub fn import(b: &Backend, ns: &str) -> Box<dyn Importer> {
    Box::new(Import {
        b: b.clone(),
        ns: ns.to_string(),
        batch: Vec::new(),
        agents: HashMap::new(),
        streams: HashMap::new(),
        age_ms: (Settings::default().max_age * 1000.0) as u64,
        dead: (0, 0),
        part: None,
    })
}

struct Import {
    b: Backend,
    ns: String,
    batch: Vec<Item>,
    /// Registered agents and their groups.
    agents: HashMap<String, Option<String>>,
    /// Per stream (`in:<agent>:<rank>`, `bcast`, `hist`): the last id and whether a message
    /// not handed out came already (delivered ones must come first, as in a consumer group).
    streams: HashMap<String, ((u64, u64), bool)>,
    /// Retention age in force (for idempotency keys).
    age_ms: u64,
    /// The last dead-letter stream id given out (Redis).
    dead: (u64, u64),
    /// The partition the records being read belong to, and the count (a partitioned export).
    part: Option<(u16, u16)>,
}

impl Import {
    /// Checks that `id` comes after the stream's last one.
    fn order(&mut self, stream: String, id: (u64, u64), held: bool) -> Result<()> {
        let e = self
            .streams
            .entry(stream.clone())
            .or_insert(((0, 0), false));
        if id <= e.0 {
            return Err(Error::validation(format!(
                "message {}-{} of {stream} does not come after {}-{}: the file is out of order",
                id.0, id.1, e.0 .0, e.0 .1
            )));
        }
        if held && e.1 {
            return Err(Error::validation(format!(
                "in {stream}, delivered message {}-{} follows one not yet delivered",
                id.0, id.1
            )));
        }
        *e = (id, e.1 || !held);
        Ok(())
    }

    fn item(&mut self, rec: Rec) -> Result<Item> {
        Ok(match rec {
            Rec::Part { .. } => return Err(Error::validation("a part record out of place")),
            Rec::Cfg { max_len, max_age } => {
                if max_len == Some(0) || max_age.is_some_and(|a| !(a.is_finite() && a > 0.0)) {
                    return Err(Error::validation("bus retention out of range"));
                }
                if let Some(a) = max_age {
                    self.age_ms = (a * 1000.0) as u64;
                }
                Item::Cfg(max_len, max_age)
            }
            Rec::Seq { ms, n } => Item::Seq(ms, n),
            Rec::Stats { total, acked } => Item::Stats(total, acked),
            Rec::Agent {
                agent,
                kinds,
                group,
            } => {
                model::agent("agent id", &agent)?;
                if kinds.len() > MAX_KINDS {
                    return Err(Error::validation(format!(
                        "agent {agent:?} has too many kinds"
                    )));
                }
                for k in &kinds {
                    record::same("a kind", k, &model::kind(k)?)?;
                }
                if let Some(g) = &group {
                    model::agent("group", g)?;
                }
                if self.agents.insert(agent.clone(), group.clone()).is_some() {
                    return Err(record::duplicate("agent", &agent));
                }
                Item::Agent(agent, kinds, group)
            }
            Rec::Inbox {
                agent,
                consumer,
                delivered_ms,
                deliveries,
                message,
                sid,
            } => {
                let group = self.agents.get(&agent).cloned().ok_or_else(|| {
                    Error::validation(format!(
                        "a message for agent {agent:?}, which the file does not register first"
                    ))
                })?;
                let e = env_at(&message, sid.as_deref())?;
                let held = match (consumer, delivered_ms, &group) {
                    (None, None, _) if deliveries == 0 => None,
                    (Some(c), Some(at), Some(_)) if deliveries > 0 => {
                        model::agent("consumer", &c)?;
                        Some((c, at, deliveries))
                    }
                    _ => {
                        return Err(Error::validation(format!(
                            "message {:?} of {agent:?}: consumer, delivery time and count do \
                             not go together (or the agent has no group)",
                            message.id
                        )))
                    }
                };
                self.order(format!("in:{agent}:{}", e.rank), e.at, held.is_some())?;
                Item::Inbox(agent, group, e, held)
            }
            Rec::Bcast { message, sid } => {
                let e = env_at(&message, sid.as_deref())?;
                if !message.broadcast {
                    return Err(Error::validation("a bcast record holds a direct message"));
                }
                self.order("bcast".into(), e.at, false)?;
                Item::Bcast(e)
            }
            Rec::Hist { to, message, sid } => {
                let e = env_at(&message, sid.as_deref())?;
                if message.broadcast != (to == "*") {
                    return Err(Error::validation(format!(
                        "history entry {:?}: recipients {to:?} for a {}",
                        message.id,
                        if message.broadcast {
                            "broadcast"
                        } else {
                            "direct message"
                        }
                    )));
                }
                if to != "*" {
                    for a in to.split(',') {
                        model::agent("recipient", a)?;
                    }
                }
                self.order("hist".into(), e.at, false)?;
                Item::Hist(to, e)
            }
            Rec::Acked { id, ms } => {
                id_of(&id)?;
                Item::Acked(id, ms)
            }
            Rec::Idem { key, message } => {
                ids::id("idempotency key", &key)?;
                let e = env(&message)?;
                let until = e.ms.saturating_add(self.age_ms);
                Item::Idem(key, e, until)
            }
            Rec::Dead {
                agent,
                group,
                consumer,
                deliveries,
                reason,
                ms,
                message,
            } => {
                model::agent("agent id", &agent)?;
                model::agent("group", &group)?;
                model::agent("consumer", &consumer)?;
                let e = env(&message)?;
                // Redis stream ids of dead letters grow with their time.
                self.dead = if ms > self.dead.0 {
                    (ms, 0)
                } else {
                    (self.dead.0, self.dead.1 + 1)
                };
                Item::Dead(Box::new(Dead {
                    sid: format!("{}-{}", self.dead.0, self.dead.1),
                    agent,
                    group,
                    consumer,
                    deliveries,
                    reason,
                    ms,
                    env: e,
                }))
            }
        })
    }

    fn flush(&mut self) -> Option<Op<()>> {
        if self.batch.is_empty() {
            return None;
        }
        let batch = std::mem::take(&mut self.batch);
        let (part, age) = (self.part, self.age_ms);
        Some(self.b.call(
            (self.ns.clone(), batch),
            move |db, (ns, batch)| match part {
                None => dump_sqlite::write(db, &ns, &batch),
                Some((_, of)) => Err(Error::validation(format!(
                    "this bus export comes from a Redis namespace with {of} partitions: it \
                     imports into a Redis namespace opened with partitions={of}"
                ))),
            },
            move |r, c, (ns, batch)| dump_redis::write(r, c, ns, part, age, batch),
        ))
    }
}

impl Importer for Import {
    fn add(&mut self, rec: Record) -> Result<Option<Op<()>>> {
        let rec: Rec = record::parse("bus", rec)?;
        if let Rec::Part { p, of } = rec {
            if of < 2 || p >= of || self.part.is_some_and(|(q, n)| n != of || p <= q) {
                return Err(Error::validation(format!(
                    "bus part {p} of {of} out of place"
                )));
            }
            // Each partition's streams are new; its batch goes to its own slot.
            let op = self.flush();
            self.part = Some((p, of));
            self.streams.clear();
            self.dead = (0, 0);
            return Ok(op);
        }
        let item = self.item(rec)?;
        self.batch.push(item);
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

/// A stored envelope as the message record.
pub(super) fn message(env: &str) -> Result<Message> {
    model::parse_envelope(env)
}
