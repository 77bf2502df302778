//! The bus's values: messages, deliveries, dead letters, stats, settings; and the checks every
//! backend shares (priorities, ids, payload size).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::ids;

/// How urgent a message is; a consumer receives higher priorities first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// Delivered before everything else.
    Critical,
    /// Before medium and low.
    High,
    /// The default.
    Medium,
    /// After everything else.
    Low,
}

impl Priority {
    /// Every priority, most urgent first (the order consumers read in).
    pub const ALL: [Priority; 4] = [
        Priority::Critical,
        Priority::High,
        Priority::Medium,
        Priority::Low,
    ];

    /// Parses `"critical" | "high" | "medium" | "low"`.
    pub fn parse(s: &str) -> Result<Priority> {
        match s {
            "critical" => Ok(Priority::Critical),
            "high" => Ok(Priority::High),
            "medium" => Ok(Priority::Medium),
            "low" => Ok(Priority::Low),
            other => Err(Error::validation(format!(
                "priority must be \"critical\", \"high\", \"medium\" or \"low\", got {other:?}"
            ))),
        }
    }

    /// The name.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Critical => "critical",
            Priority::High => "high",
            Priority::Medium => "medium",
            Priority::Low => "low",
        }
    }

    /// 0 (critical) to 3 (low): the sort key on SQLite, the stream suffix on Redis.
    pub fn rank(self) -> u8 {
        self as u8
    }

    /// Inverse of [`Priority::rank`].
    pub fn from_rank(r: i64) -> Result<Priority> {
        usize::try_from(r)
            .ok()
            .and_then(|i| Priority::ALL.get(i).copied())
            .ok_or_else(|| Error::Backend(format!("stored priority rank {r} is out of range")))
    }
}

/// One message as shared. `id` is `<ms>-<seq>`: the time the store accepted it and a
/// namespace-wide sequence number, so ids sort in the order messages were accepted (on Redis
/// it is also the stream entry id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Unique in the namespace.
    pub id: String,
    /// The sending agent.
    pub source: String,
    /// The receiving agent; None for a broadcast or a message routed by kind.
    pub target: Option<String>,
    /// Unix seconds (millisecond precision) when the store accepted it.
    pub time: f64,
    /// Priority.
    pub priority: Priority,
    /// What the message is about (routing key for `target=None`).
    pub kind: Option<String>,
    /// Any JSON value.
    pub payload: Value,
    /// True for a broadcast.
    #[serde(default)]
    pub broadcast: bool,
}

/// A message handed to a consumer of a group.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The message.
    pub message: Message,
    /// The agent whose inbox it came from.
    pub agent: String,
    /// The group and consumer that hold it now.
    pub group: String,
    /// The consumer that holds it now.
    pub consumer: String,
    /// How many times it has been handed out (1 on first delivery).
    pub deliveries: u64,
}

/// A message that was handed out too many times without an ack, or dropped for a reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The message.
    pub message: Message,
    /// Whose inbox it was in.
    pub agent: String,
    /// The group that gave up on it.
    pub group: String,
    /// The last consumer that held it.
    pub consumer: String,
    /// How many times it was handed out.
    pub deliveries: u64,
    /// Why it is here.
    pub reason: String,
    /// Unix seconds when it became dead.
    pub time: f64,
}

/// Counters of the bus.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stats {
    /// Messages shared (a broadcast or kind fan-out counts once) since the last clear.
    pub total: u64,
    /// Deliveries waiting for an ack, over every agent.
    pub pending: u64,
    /// Acks recorded since the last clear.
    pub acknowledged: u64,
    /// Dead letters held.
    pub dead: u64,
    /// Pending deliveries per registered agent.
    pub per_agent: BTreeMap<String, u64>,
}

/// Limits and retention of one bus handle (set with `configure`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Most entries a stream keeps (an inbox, the history, the broadcast log, dead letters,
    /// the ack log); older ones are dropped (approximately: in batches).
    pub max_len: u64,
    /// Oldest entry a stream keeps, in seconds.
    pub max_age: f64,
    /// Largest payload, in bytes of its JSON text.
    pub max_payload: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_len: 100_000,
            max_age: 86_400.0,
            max_payload: 1 << 20,
        }
    }
}

impl Settings {
    /// Rejects nonsense values.
    pub fn validate(&self) -> Result<()> {
        if self.max_len < 1 {
            return Err(Error::validation("max_len must be at least 1"));
        }
        if !(self.max_age.is_finite() && self.max_age > 0.0) {
            return Err(Error::validation(
                "max_age must be a positive number of seconds",
            ));
        }
        if self.max_payload < 2 || self.max_payload > 64 << 20 {
            return Err(Error::validation(
                "max_payload must be between 2 bytes and 64 MiB",
            ));
        }
        Ok(())
    }

    /// Age cut-off in milliseconds since the epoch for `now_ms`.
    pub fn min_ms(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub((self.max_age * 1000.0) as u64)
    }
}

/// Claim and dead-letter policy of one `consume` call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClaimPolicy {
    /// A delivery not acked for this long may be taken over by another consumer.
    pub idle_ms: u64,
    /// A message handed out this many times without an ack goes to the dead letters instead
    /// of being handed out again.
    pub max_deliveries: u64,
}

impl Default for ClaimPolicy {
    fn default() -> Self {
        ClaimPolicy {
            idle_ms: 30_000,
            max_deliveries: 5,
        }
    }
}

/// Validates an agent id (same rules as every id that becomes part of a key).
pub fn agent(what: &str, a: &str) -> Result<String> {
    Ok(ids::id(what, a)?.to_string())
}

/// Validates and normalises a kind.
pub fn kind(k: &str) -> Result<String> {
    ids::term("kind", k)
}

/// Validates a message id: `<digits>-<digits>`.
pub fn message_id(id: &str) -> Result<String> {
    let ok = id.len() <= 41
        && id
            .split_once('-')
            .is_some_and(|(a, b)| is_digits(a) && is_digits(b));
    if ok {
        Ok(id.to_string())
    } else {
        Err(Error::validation(format!(
            "message id {id:?} is not an id the bus gave out (<ms>-<seq>)"
        )))
    }
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Splits a message id into (ms, seq) for ordering.
pub fn id_parts(id: &str) -> (u64, u64) {
    let (a, b) = id.split_once('-').unwrap_or((id, "0"));
    (a.parse().unwrap_or(0), b.parse().unwrap_or(0))
}

/// Encodes a payload, refusing one over `max`.
pub fn encode_payload(p: &Value, max: usize) -> Result<String> {
    let s = serde_json::to_string(p)
        .map_err(|e| Error::validation(format!("payload is not JSON: {e}")))?;
    if s.len() > max {
        return Err(Error::validation(format!(
            "payload is {} bytes of JSON, over the limit of {max} (raise it with \
             bus.configure(max_payload=...))",
            s.len()
        )));
    }
    Ok(s)
}

pub use crate::clock::now_ms;

/// What a share sends, validated.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Sender.
    pub source: String,
    /// Addressee (None: by kind, or a broadcast).
    pub target: Option<String>,
    /// Priority.
    pub priority: Priority,
    /// Kind (normalised).
    pub kind: Option<String>,
    /// The payload's JSON text.
    pub payload: String,
    /// Broadcast to every registered agent.
    pub broadcast: bool,
    /// Retried shares with the same key are not delivered twice.
    pub idempotency_key: Option<String>,
}

impl Outgoing {
    /// The message this becomes once the store gave it `id` at `ms`.
    pub fn message(&self, id: String, ms: u64) -> Result<Message> {
        Ok(Message {
            id,
            source: self.source.clone(),
            target: self.target.clone(),
            time: ms as f64 / 1000.0,
            priority: self.priority,
            kind: self.kind.clone(),
            payload: serde_json::from_str(&self.payload)?,
            broadcast: self.broadcast,
        })
    }

    /// The stored envelope after its id and time: `,"source":...,"payload":<payload>}`.
    /// The store prefixes `{"id":"<id>","time":<secs>` (see [`assemble`]), so a Lua script
    /// can stamp the id without re-encoding the payload.
    pub fn envelope_rest(&self) -> Result<String> {
        let head = serde_json::json!({
            "source": self.source,
            "target": self.target,
            "priority": self.priority,
            "kind": self.kind,
            "broadcast": self.broadcast,
        });
        let head = serde_json::to_string(&head)?;
        let mut s = String::with_capacity(head.len() + self.payload.len() + 16);
        s.push(',');
        s.push_str(&head[1..head.len() - 1]);
        s.push_str(",\"payload\":");
        s.push_str(&self.payload);
        s.push('}');
        Ok(s)
    }
}

/// Seconds with millisecond precision as text, the way the Lua scripts write it.
pub fn secs_text(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// The full envelope: id and time, then `rest` from [`Outgoing::envelope_rest`].
pub fn assemble(id: &str, ms: u64, rest: &str) -> String {
    format!("{{\"id\":\"{id}\",\"time\":{}{rest}", secs_text(ms))
}

/// Parses a stored envelope.
pub fn parse_envelope(s: &str) -> Result<Message> {
    Ok(serde_json::from_str(s)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_round_trips() {
        let o = Outgoing {
            source: "a".into(),
            target: Some("b".into()),
            priority: Priority::High,
            kind: Some("k".into()),
            payload: "{\"x\":[1,2]}".into(),
            broadcast: false,
            idempotency_key: None,
        };
        let env = assemble("5-1", 5, &o.envelope_rest().expect("encodes"));
        let m = parse_envelope(&env).expect("parses");
        assert_eq!(m, o.message("5-1".into(), 5).expect("message"));
    }

    #[test]
    fn ids_and_payloads_are_checked() {
        assert!(message_id("12-3").is_ok());
        for bad in ["", "12", "a-1", "1-", "-1", "1-2-3", "*"] {
            assert!(message_id(bad).is_err(), "{bad:?}");
        }
        assert!(encode_payload(&serde_json::json!("x".repeat(100)), 50).is_err());
        assert!(Priority::parse("urgent").is_err());
        assert_eq!(Priority::from_rank(1).ok(), Some(Priority::High));
    }
}
