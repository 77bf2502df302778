//! `hub.bus`: agent-to-agent messages on per-agent inboxes, with priorities,
//! routing by kind, broadcasts (also to agents that register later), consumer groups with
//! idle claims and dead letters, acks, history, stats and retention. Behaviour and validation
//! live here once; `sqlite` and `redis` implement the storage.
//!
//! Model, the same on every backend:
//! - An agent must be registered before messages can be addressed to it; a share to an
//!   unknown agent, or by kind when no agent has registered for that kind, fails with
//!   NotFound and writes nothing. The sender needs no registration (producers are often not
//!   agents), only a valid id.
//! - Each registered agent has one inbox (one stream per priority on Redis). A direct share
//!   adds the message to the target's inbox; a share by kind to the inbox of every agent
//!   registered for the kind; a broadcast to the inbox of every registered agent but the
//!   sender, and to the broadcast log, from which an agent registering later receives the
//!   broadcasts still retained. A message keeps one id in every inbox it reaches.
//! - `pending` peeks at an inbox (most urgent first, oldest first within a priority);
//!   `ack` removes a message from it for good (the inbox entry is deleted, the ack recorded).
//! - `consume` hands messages out through the agent's consumer group (one group per agent:
//!   consumers of it share the inbox). A delivery not acked within the claim idle time is
//!   handed to the next consumer that asks, with its delivery count; one handed out
//!   `max_deliveries` times goes to the dead letters instead. In group mode an ack names the
//!   group and consumer, and must come from the consumer holding the message.

pub mod dump;
mod dump_redis;
mod dump_sqlite;
pub mod model;
pub mod redis;
mod spread;
pub mod sqlite;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use serde_json::Value;

pub use self::model::{
    ClaimPolicy, DeadLetter, Delivery, Message, Outgoing, Priority, Settings, Stats,
};
use crate::engine::{tri, Backend, Op};
use crate::engine::{Capability, Migration, Topic};
use crate::error::{Error, Result};
use crate::ids;

/// What this capability's writers wake on the embedded store.
pub const TOPIC: Topic = Topic("bus");

/// This capability's row in the registry (`crate::registry`).
pub const CAPABILITY: Capability = Capability {
    name: "bus",
    migrations: &[
        Migration {
            version: 2,
            sql: sqlite::SCHEMA,
        },
        Migration {
            version: 5,
            sql: sqlite::SCHEMA_CFG,
        },
    ],
    rows: sqlite::rows,
    clear: sqlite::clear,
    topic: Some(TOPIC),
    tag: "bus",
    partitioned: true,
    changes: false,
    sweep: None,
    export: dump::export,
    import: dump::import,
};

/// Most kinds one agent registers for.
pub const MAX_KINDS: usize = 64;
/// Most messages one call returns or acks.
pub const MAX_COUNT: usize = 10_000;

/// Who acks: the agent itself (simple mode), or one consumer of its group.
#[derive(Debug, Clone, PartialEq)]
pub struct Acker {
    /// The group (None: simple mode).
    pub group: Option<String>,
    /// The consumer (with a group).
    pub consumer: Option<String>,
}

/// The bus of one namespace.
#[derive(Clone)]
pub struct Bus {
    backend: Backend,
    ns: Arc<str>,
    parts: u16,
    settings: Arc<RwLock<Settings>>,
    /// The greatest message id this handle was given (ms, seq), with partitions: the ids of
    /// its next shares exceed it, so one handle's messages keep increasing ids across
    /// partitions.
    floor: Arc<parking_lot::Mutex<(u64, u64)>>,
}

fn check_count(count: usize) -> Result<()> {
    if count == 0 || count > MAX_COUNT {
        return Err(Error::validation(format!(
            "count must be 1 to {MAX_COUNT}, got {count}"
        )));
    }
    Ok(())
}

impl Bus {
    /// The bus of `ns` on `backend`, with `partitions` (`crate::engine::partition`).
    pub fn new(backend: Backend, ns: Arc<str>, partitions: u16) -> Bus {
        Bus {
            backend,
            ns,
            parts: partitions.max(1),
            settings: Arc::new(RwLock::new(Settings::default())),
            floor: Arc::default(),
        }
    }

    /// The namespace's partition count.
    pub fn partitions(&self) -> u16 {
        self.parts
    }

    /// The partition of `agent`'s inbox (and of its groups, acks and dead letters): a stable
    /// hash of its id (`crate::engine::partition::of_key`), 0 without partitions.
    pub fn partition_of(&self, agent: &str) -> Result<u16> {
        let agent = model::agent("agent id", agent)?;
        Ok(crate::engine::partition::of_key(&agent, self.parts))
    }

    fn layout(&self) -> redis::Layout {
        redis::Layout {
            ns: self.ns(),
            n: self.parts,
        }
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.ns
    }

    fn ns(&self) -> String {
        self.ns.to_string()
    }

    /// This handle's payload limit and the default retention (used until `configure` stores
    /// one for the namespace).
    pub fn settings(&self) -> Settings {
        *self.settings.read()
    }

    /// Sets this handle's payload limit and stores the namespace's retention (the fields
    /// given: every process using the namespace follows it); returns what is in force.
    pub fn configure(
        &self,
        max_len: Option<u64>,
        max_age: Option<f64>,
        max_payload: Option<usize>,
    ) -> Op<Settings> {
        let cur = self.settings();
        let check = Settings {
            max_len: max_len.unwrap_or(cur.max_len),
            max_age: max_age.unwrap_or(cur.max_age),
            max_payload: max_payload.unwrap_or(cur.max_payload),
        };
        tri!(check.validate());
        self.settings.write().max_payload = check.max_payload;
        self.backend.call(
            (self.ns(), self.layout(), self.settings()),
            move |db, (ns, _, s)| sqlite::configure(db, &ns, max_len, max_age, &s),
            move |r, c, (_, l, s)| redis::configure(r, c, l, max_len, max_age, s),
        )
    }

    /// Registers `agent` for `kinds` (replacing its earlier kinds). True when the agent is
    /// new; a new agent receives the broadcasts still retained.
    pub fn register(&self, agent: &str, kinds: Vec<String>) -> Op<bool> {
        let agent = tri!(model::agent("agent id", agent));
        if kinds.len() > MAX_KINDS {
            return Op::Ready(Err(Error::validation(format!(
                "an agent registers for at most {MAX_KINDS} kinds"
            ))));
        }
        let mut ks = Vec::with_capacity(kinds.len());
        for k in &kinds {
            let k = tri!(model::kind(k));
            if !ks.contains(&k) {
                ks.push(k);
            }
        }
        self.backend.call(
            (self.layout(), agent, ks, self.settings()),
            |db, (l, agent, ks, s)| sqlite::register(db, &l.ns, &agent, &ks, &s),
            |r, c, (l, agent, ks, s)| redis::register(r, c, l, agent, ks, s),
        )
    }

    /// Registered agents and their kinds, sorted by agent.
    pub fn agents(&self) -> Op<Vec<(String, Vec<String>)>> {
        self.backend.call(
            self.layout(),
            |db, l| sqlite::agents(db, &l.ns),
            redis::agents,
        )
    }

    /// Validates a share.
    #[allow(clippy::too_many_arguments)]
    pub fn outgoing(
        &self,
        source: &str,
        target: Option<&str>,
        payload: &Value,
        priority: &str,
        kind: Option<&str>,
        idempotency_key: Option<&str>,
        broadcast: bool,
    ) -> Result<Outgoing> {
        let source = model::agent("source agent id", source)?;
        let target = target
            .map(|t| model::agent("target agent id", t))
            .transpose()?;
        let kind = kind.map(model::kind).transpose()?;
        if !broadcast && target.is_none() && kind.is_none() {
            return Err(Error::validation(
                "share needs a target agent, or target=None and a kind to route by",
            ));
        }
        let idempotency_key = idempotency_key
            .map(|k| ids::id("idempotency key", k).map(str::to_string))
            .transpose()?;
        Ok(Outgoing {
            source,
            target,
            priority: Priority::parse(priority)?,
            kind,
            payload: model::encode_payload(payload, self.settings().max_payload)?,
            broadcast,
            idempotency_key,
        })
    }

    /// Sends a validated message (see [`Bus::outgoing`]).
    pub fn send(&self, out: Outgoing) -> Op<Message> {
        self.send_many(vec![out]).and_then(|v| {
            v.into_iter()
                .next()
                .ok_or_else(|| Error::Backend("the store returned no message".into()))
        })
    }

    /// Sends validated messages in one store operation, all or nothing: an unknown target
    /// or kind anywhere in the batch fails it before anything is written.
    pub fn send_many(&self, outs: Vec<Outgoing>) -> Op<Vec<Message>> {
        let floor = self.floor.clone();
        self.backend.call(
            (self.layout(), outs, self.settings()),
            |db, (l, outs, s)| sqlite::share_many(db, &l.ns, &outs, &s),
            move |r, c, (l, outs, s)| async move {
                if l.n <= 1 {
                    return redis::share_many(r, c, l, outs, s, (0, 0)).await;
                }
                let seen = *floor.lock();
                let msgs = redis::share_many(r, c, l, outs, s, seen).await?;
                let mut f = floor.lock();
                for m in &msgs {
                    *f = (*f).max(model::id_parts(&m.id));
                }
                Ok(msgs)
            },
        )
    }

    /// Up to `count` unacked messages of `agent`, most urgent first (does not hand them out).
    pub fn pending(&self, agent: &str, count: usize) -> Op<Vec<Message>> {
        let agent = tri!(model::agent("agent id", agent));
        tri!(check_count(count));
        self.backend.call(
            (self.layout(), agent),
            move |db, (l, agent)| sqlite::pending(db, &l.ns, &agent, count),
            move |r, c, (l, agent)| redis::pending(r, c, l, agent, count),
        )
    }

    fn acker(group: Option<&str>, consumer: Option<&str>) -> Result<Acker> {
        match (group, consumer) {
            (None, None) => Ok(Acker {
                group: None,
                consumer: None,
            }),
            (Some(g), Some(c)) => Ok(Acker {
                group: Some(model::agent("group", g)?),
                consumer: Some(model::agent("consumer", c)?),
            }),
            _ => Err(Error::validation(
                "an ack in group mode needs both group and consumer",
            )),
        }
    }

    /// Acknowledges messages of `agent`: they leave its inbox for good. Returns how many were
    /// acknowledged now (a message acknowledged before counts 0). Every id is checked before
    /// anything changes: an id that was never in the agent's inbox is NotFound; in group mode
    /// a message held by another consumer (or not handed out) is Conflict.
    pub fn ack(
        &self,
        agent: &str,
        ids_: Vec<String>,
        group: Option<&str>,
        consumer: Option<&str>,
    ) -> Op<u64> {
        let checked = (|| {
            let a = model::agent("agent id", agent)?;
            if ids_.len() > MAX_COUNT {
                return Err(Error::validation(format!(
                    "at most {MAX_COUNT} ids per ack"
                )));
            }
            let ids_ = ids_
                .iter()
                .map(|i| model::message_id(i))
                .collect::<Result<Vec<_>>>()?;
            Ok((a, ids_, Self::acker(group, consumer)?))
        })();
        let (agent, ids_, who) = tri!(checked);
        if ids_.is_empty() {
            return Op::Ready(Ok(0));
        }
        self.backend.call(
            (self.layout(), agent, ids_, who, self.settings()),
            |db, (l, agent, ids_, who, s)| sqlite::ack(db, &l.ns, &agent, &ids_, &who, &s),
            |r, c, (l, agent, ids_, who, s)| redis::ack(r, c, l, agent, ids_, who, s),
        )
    }

    /// True once the message was acknowledged (by any recipient), while the ack log retains it.
    pub fn is_acked(&self, id: &str) -> Op<bool> {
        let id = tri!(model::message_id(id));
        self.backend.call(
            (self.layout(), id),
            |db, (l, id)| sqlite::is_acked(db, &l.ns, &id),
            |r, c, (l, id)| redis::is_acked(r, c, l, id),
        )
    }

    /// The last `limit` messages between `a` and `b` (either direction; broadcasts by either
    /// count), oldest first, as long as the history retains them.
    pub fn history(&self, a: &str, b: &str, limit: usize) -> Op<Vec<Message>> {
        let checked = (|| {
            check_count(limit)?;
            Ok((model::agent("agent id", a)?, model::agent("agent id", b)?))
        })();
        let (a, b) = tri!(checked);
        self.backend.call(
            (self.layout(), a, b),
            move |db, (l, a, b)| sqlite::history(db, &l.ns, &a, &b, limit),
            move |r, c, (l, a, b)| redis::history(r, c, l, a, b, limit),
        )
    }

    /// Counters and pending deliveries per agent.
    pub fn stats(&self) -> Op<Stats> {
        self.backend.call(
            self.layout(),
            |db, l| sqlite::stats(db, &l.ns),
            redis::stats,
        )
    }

    /// Drops everything older than `older_than` seconds (inbox entries, acked or not, the
    /// history, the broadcast log, the ack log, idempotency keys, dead letters); returns how
    /// many entries went.
    pub fn cleanup(&self, older_than: f64) -> Op<u64> {
        if !(older_than.is_finite() && older_than >= 0.0) {
            return Op::Ready(Err(Error::validation(
                "older_than must be a number of seconds >= 0",
            )));
        }
        let cutoff = model::now_ms().saturating_sub((older_than * 1000.0) as u64);
        self.backend.call(
            self.layout(),
            move |db, l| sqlite::cleanup(db, &l.ns, cutoff),
            move |r, c, l| redis::cleanup(r, c, l, cutoff),
        )
    }

    /// Deletes everything the bus holds in this namespace; returns keys (Redis) or rows.
    pub fn clear(&self) -> Op<u64> {
        self.backend.call(
            self.ns(),
            |db, ns| db.with_tx(|tx| sqlite::clear(tx, &ns)),
            |r, _c, ns| async move {
                let pattern = crate::engine::partition::pattern(&ns, CAPABILITY.tag);
                r.delete_keys(&pattern).await
            },
        )
    }

    fn consume_args(
        agent: &str,
        group: &str,
        consumer: &str,
        count: usize,
        policy: ClaimPolicy,
    ) -> Result<(String, String, String)> {
        check_count(count)?;
        if policy.max_deliveries == 0 {
            return Err(Error::validation("max_deliveries must be at least 1"));
        }
        Ok((
            model::agent("agent id", agent)?,
            model::agent("group", group)?,
            model::agent("consumer", consumer)?,
        ))
    }

    /// Hands out up to `count` messages of `agent` to `consumer` of `group`: first deliveries
    /// idle longer than the policy's idle time (claimed from whichever consumer held them),
    /// then new ones, most urgent first. Waits up to `wait` for something to arrive when
    /// there is nothing (zero: returns at once).
    pub fn consume(
        &self,
        agent: &str,
        group: &str,
        consumer: &str,
        count: usize,
        policy: ClaimPolicy,
        wait: Duration,
    ) -> Op<Vec<Delivery>> {
        let (agent, group, consumer) =
            tri!(Self::consume_args(agent, group, consumer, count, policy));
        self.backend.call(
            (self.layout(), agent, group, consumer, self.settings()),
            move |db, (l, a, g, cn, s)| {
                sqlite::consume(db, &l.ns, &a, &g, &cn, count, policy, &s, wait)
            },
            move |r, c, (l, a, g, cn, s)| redis::consume(r, c, l, a, g, cn, count, policy, s, wait),
        )
    }

    /// Dead letters, oldest first, of `agent` (or every agent), at most `count`.
    pub fn dead_letters(&self, agent: Option<&str>, count: usize) -> Op<Vec<DeadLetter>> {
        let checked = (|| {
            check_count(count)?;
            agent.map(|a| model::agent("agent id", a)).transpose()
        })();
        let agent = tri!(checked);
        self.backend.call(
            (self.layout(), agent),
            move |db, (l, agent)| sqlite::dead_letters(db, &l.ns, agent.as_deref(), count),
            move |r, c, (l, agent)| redis::dead_letters(r, c, l, agent, count),
        )
    }

    /// Puts dead letters back into their agents' inboxes as new messages (new id, same
    /// source, target, kind, priority and payload; delivery count starts again). `ids`
    /// selects by message id (None: all, of `agent` if given). Returns how many went back.
    pub fn requeue(&self, agent: Option<&str>, ids_: Option<Vec<String>>) -> Op<u64> {
        let checked = (|| {
            let a = agent.map(|a| model::agent("agent id", a)).transpose()?;
            let i = ids_
                .map(|v| {
                    v.iter()
                        .map(|i| model::message_id(i))
                        .collect::<Result<Vec<_>>>()
                })
                .transpose()?;
            Ok((a, i))
        })();
        let (agent, ids_) = tri!(checked);
        self.backend.call(
            (self.layout(), agent, ids_, self.settings()),
            |db, (l, a, i, s)| sqlite::requeue(db, &l.ns, a.as_deref(), i.as_deref(), &s),
            |r, c, (l, a, i, s)| redis::requeue(r, c, l, a, i, s),
        )
    }
}
