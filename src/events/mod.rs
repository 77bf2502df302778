//! `hub.events`: named channels (`file:changed`, `task:created`, `loop:<session>`, ...) over
//! one bounded, durable log per namespace, pushed live to subscribers.
//!
//! Every event gets an id that orders it in the namespace's log (`<ms>-<seq>`, a Redis stream
//! id on Redis). A subscriber reads the log after the last id it saw and, when it is at the
//! end, waits for a wake-up (pub/sub on Redis, a commit watch on SQLite) instead of polling,
//! so one that reconnects with its last id misses nothing the log still holds. The log keeps
//! the newest `max_len` events (and, if set, only those younger than `max_age`).

pub mod dump;
pub mod follow;
pub mod gap;
pub mod part;
#[cfg(test)]
mod part_tests;
pub mod redis;
pub mod sqlite;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::engine::{tri, Backend, Op};
use crate::engine::{Capability, Migration, Topic};
use crate::error::{Error, Result};
use crate::ids;

/// What this capability's writers wake on the embedded store.
pub const TOPIC: Topic = Topic("events");

/// This capability's row in the registry (`crate::registry`).
pub const CAPABILITY: Capability = Capability {
    name: "events",
    migrations: &[Migration {
        version: 3,
        sql: sqlite::SCHEMA,
    }],
    rows: sqlite::rows,
    clear: sqlite::clear,
    topic: Some(TOPIC),
    tag: "events",
    partitioned: true,
    changes: false,
    sweep: None,
    export: dump::export,
    import: dump::import,
};

/// Largest event payload (serialized JSON).
pub const MAX_DATA: usize = 1 << 20;
/// Events a namespace's log keeps unless `set_retention` says otherwise.
pub const DEFAULT_MAX_LEN: u64 = 10_000;
/// Most events one read returns.
pub const MAX_READ: usize = 10_000;

/// One event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Position in the namespace's log (`<ms>-<seq>`); pass it as `after` to resume.
    pub id: String,
    /// The channel it was published on.
    pub channel: String,
    /// The payload.
    pub data: Value,
    /// When it was published (seconds since the epoch).
    pub time: f64,
}

/// What a read returns: the matching events and how far the log was scanned (the `after` of
/// the next read; it moves past events that did not match, too).
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Matching events, oldest first.
    pub events: Vec<Event>,
    /// Id of the last event looked at (or the `after` given, if none).
    pub cursor: String,
}

/// How much of the log a namespace keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Retention {
    /// Newest events kept.
    pub max_len: u64,
    /// Events older than this are dropped (None: no age limit).
    pub max_age: Option<Duration>,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            max_len: DEFAULT_MAX_LEN,
            max_age: None,
        }
    }
}

/// A channel name: an id (letters, digits and `_ - . : / @ + =`), so never a glob.
pub fn channel(c: &str) -> Result<&str> {
    ids::id("channel", c)
}

/// A subscription pattern: a channel name that may use `*` (any run) and `?` (one character).
pub fn pattern(p: &str) -> Result<String> {
    if p == "*" {
        return Ok(p.to_string());
    }
    let probe = p.replace(['*', '?'], "x");
    ids::id("channel pattern", &probe).map_err(|e| match e {
        Error::Validation(m) => {
            Error::Validation(m.replace(&format!("{probe:?}"), &format!("{p:?}")))
        }
        other => other,
    })?;
    Ok(p.to_string())
}

/// Glob match of `name` against `pat` (`*` any run, `?` one character).
pub fn matches(pat: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pat.chars().collect(), name.chars().collect());
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

/// True when `channel` matches any of `patterns` (an empty list matches every channel).
pub fn matches_any(patterns: &[String], channel: &str) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| matches(p, channel))
}

/// An event id or cursor: `<ms>-<seq>` or `<ms>`; "0" is the start of the log.
pub fn parse_id(id: &str) -> Result<(u64, u64)> {
    let bad = || {
        Error::validation(format!(
            "event id {id:?} is not of the form <ms>-<seq>; pass an id an event carried, or \"0\" \
             for the start of the log"
        ))
    };
    let (ms, seq) = match id.split_once('-') {
        Some((a, b)) => (a, Some(b)),
        None => (id, None),
    };
    let ms: u64 = ms.parse().map_err(|_| bad())?;
    let seq: u64 = match seq {
        Some(s) => s.parse().map_err(|_| bad())?,
        None => 0,
    };
    Ok((ms, seq))
}

/// A checked channel name and the payload as JSON text.
fn checked(channel_name: &str, data: &Value) -> Result<(String, String)> {
    let c = channel(channel_name)?.to_string();
    let text = serde_json::to_string(data)
        .map_err(|e| Error::validation(format!("event data is not JSON: {e}")))?;
    if text.len() > MAX_DATA {
        return Err(Error::validation(format!(
            "event data is {} bytes of JSON; the limit is {MAX_DATA}",
            text.len()
        )));
    }
    Ok((c, text))
}

use crate::clock::now_ms;

/// The events of one namespace.
#[derive(Clone)]
pub struct Events {
    backend: Backend,
    ns: Arc<str>,
    /// Partitions of the namespace (`crate::engine::partition`); the log is split by channel
    /// when above 1 (on Redis, `part`; the embedded store keeps one log).
    n: u16,
}

impl Events {
    /// The events of `ns` on `backend`, with one partition.
    pub fn new(backend: Backend, ns: Arc<str>) -> Events {
        Events::partitioned(backend, ns, 1)
    }

    /// The events of `ns` on `backend` in a namespace of `n` partitions.
    pub fn partitioned(backend: Backend, ns: Arc<str>, n: u16) -> Events {
        Events {
            backend,
            ns,
            n: n.max(1),
        }
    }

    /// The namespace's partition count.
    pub fn partitions(&self) -> u16 {
        self.n
    }

    /// Whether the log is split over partitions on Redis (`part`).
    fn split(&self) -> bool {
        self.n > 1 && matches!(self.backend, Backend::Redis(_))
    }

    /// Checks an `after` of a read or subscription: an event id, or (a namespace with
    /// partitions on Redis) a cursor a read returned (see `part`).
    pub fn check_after(&self, after: &str) -> Result<()> {
        if self.split() {
            part::parse_cursor(after, self.n).map(|_| ())
        } else {
            parse_id(after).map(|_| ())
        }
    }

    /// Where a subscription to `patterns` "from now" starts: the newest id, or (a namespace
    /// with partitions on Redis) a cursor past every event the log holds and before every
    /// later publish.
    pub fn start(&self, patterns: &[String]) -> Op<String> {
        if !self.split() {
            return self.last_id();
        }
        let n = self.n;
        self.backend.call(
            (self.ns(), patterns.to_vec()),
            |_, _| {
                Err(Error::Backend(
                    "partitioned log on the embedded store".into(),
                ))
            },
            move |r, c, (ns, pats)| part::start(r, c, ns, n, pats),
        )
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.ns
    }

    fn ns(&self) -> String {
        self.ns.to_string()
    }

    /// Appends an event to the log and wakes the subscribers; returns it with its id.
    pub fn publish(&self, channel_name: &str, data: Value) -> Op<Event> {
        let (c, text) = tri!(checked(channel_name, &data));
        let at = now_ms();
        let channel = c.clone();
        let n = self.n;
        self.backend
            .call(
                (self.ns(), c, text),
                move |db, (ns, c, text)| sqlite::publish(db, &ns, &c, &text, at),
                move |r, conn, (ns, c, text)| async move {
                    if n > 1 {
                        let mut v =
                            part::publish(r, conn, ns, n, Arc::new(vec![(c, text)])).await?;
                        v.pop()
                            .ok_or_else(|| Error::Backend("no id from the publish script".into()))
                    } else {
                        redis::publish(r, conn, ns, c, text).await
                    }
                },
            )
            .map(move |(id, time)| Event {
                id,
                channel,
                data,
                time,
            })
    }

    /// Appends events to the log in the order given (increasing ids), in one call to the
    /// store, each as [`Events::publish`] appends one, and wakes the subscribers once. All are
    /// checked first: one invalid item publishes none. With partitions on Redis, one call per
    /// partition touched (concurrent, each atomic) and ids grow in the given order within
    /// each partition.
    pub fn publish_many(&self, items: Vec<(String, Value)>) -> Op<Vec<Event>> {
        if items.is_empty() {
            return Op::Ready(Ok(vec![]));
        }
        let texts: Result<Vec<(String, String)>> =
            items.iter().map(|(c, d)| checked(c, d)).collect();
        let texts = Arc::new(tri!(texts));
        let at = now_ms();
        let n = self.n;
        self.backend
            .call(
                (self.ns(), texts),
                move |db, (ns, texts)| sqlite::publish_many(db, &ns, &texts, at),
                move |r, conn, (ns, texts)| async move {
                    if n > 1 {
                        part::publish(r, conn, ns, n, texts).await
                    } else {
                        redis::publish_many(r, conn, ns, texts).await
                    }
                },
            )
            .map(move |ids| {
                ids.into_iter()
                    .zip(items)
                    .map(|((id, time), (channel, data))| Event {
                        id,
                        channel,
                        data,
                        time,
                    })
                    .collect()
            })
    }

    /// Events after `after` (None: only events published from now on, i.e. after the current
    /// end of the log) on channels matching `patterns`, at most `limit`, waiting up to `block`
    /// for the first one.
    pub fn read(
        &self,
        patterns: &[String],
        after: Option<&str>,
        limit: usize,
        block: Duration,
    ) -> Op<Batch> {
        let pats: Result<Vec<String>> = patterns.iter().map(|p| pattern(p)).collect();
        let pats = tri!(pats);
        if limit == 0 || limit > MAX_READ {
            return Op::Ready(Err(Error::validation(format!(
                "limit must be 1 to {MAX_READ}, got {limit}"
            ))));
        }
        if let Some(Err(e)) = after.map(|a| self.check_after(a)) {
            return Op::Ready(Err(e));
        }
        let n = self.n;
        self.backend.call(
            (self.ns(), pats, after.map(str::to_string)),
            move |db, (ns, pats, after)| sqlite::read(db, &ns, &pats, &after, limit, block),
            move |r, c, (ns, pats, after)| async move {
                if n > 1 {
                    part::read(r, c, ns, n, pats, after, limit, block).await
                } else {
                    redis::read(r, c, ns, pats, after, limit, block).await
                }
            },
        )
    }

    /// Id of the newest event in the log ("0-0" when it is empty): where "from now" starts.
    pub fn last_id(&self) -> Op<String> {
        let n = self.n;
        self.backend.call(
            self.ns(),
            |db, ns| sqlite::last_id(db, &ns),
            move |r, c, ns| async move {
                if n > 1 {
                    part::last_id(r, c, ns, n).await
                } else {
                    redis::last_id(r, c, ns).await
                }
            },
        )
    }

    /// Sets how much of the log this namespace keeps (applied from the next publish).
    pub fn set_retention(&self, ret: Retention) -> Op<()> {
        if ret.max_len == 0 || ret.max_len > 100_000_000 {
            return Op::Ready(Err(Error::validation(format!(
                "max_len must be 1 to 100,000,000, got {}",
                ret.max_len
            ))));
        }
        if ret.max_age.is_some_and(|a| a.as_millis() == 0) {
            return Op::Ready(Err(Error::validation(
                "max_age must be at least a millisecond (or None for no age limit)",
            )));
        }
        let n = self.n;
        self.backend.call(
            self.ns(),
            move |db, ns| sqlite::set_retention(db, &ns, ret),
            move |r, c, ns| async move {
                if n > 1 {
                    part::set_retention(r, c, ns, n, ret).await
                } else {
                    redis::set_retention(r, c, ns, ret).await
                }
            },
        )
    }

    /// The retention in force.
    pub fn retention(&self) -> Op<Retention> {
        let n = self.n;
        self.backend.call(
            self.ns(),
            |db, ns| sqlite::retention(db, &ns),
            move |r, c, ns| async move {
                if n > 1 {
                    part::retention(r, c, ns, n).await
                } else {
                    redis::retention(r, c, ns).await
                }
            },
        )
    }

    /// Events the log holds now.
    pub fn len(&self) -> Op<u64> {
        let n = self.n;
        self.backend.call(
            self.ns(),
            |db, ns| db.with(|c| sqlite::rows(c, &ns)),
            move |r, c, ns| async move {
                if n > 1 {
                    part::len(r, c, ns, n).await
                } else {
                    redis::len(r, c, ns).await
                }
            },
        )
    }
}
