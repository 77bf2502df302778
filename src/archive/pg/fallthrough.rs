//! One history: `bus.history` and `events.read` go on into the archive for what the store
//! no longer keeps, while an archive is attached. The store is read first; the archive only
//! fills what lies before the oldest entry the store returned, so nothing comes twice. An
//! archive that cannot be reached leaves the store's answer as it is (logged): real-time use
//! never waits on PostgreSQL.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use super::attached::Attached;
use super::query;
use crate::bus::{Bus, Message, Priority};
use crate::engine::Op;
use crate::error::Error;
use crate::events::{self, Batch, Event, Events};

/// Archive pages read at most to fill one `events.read` (each of `limit` rows).
const MAX_PAGES: usize = 16;

fn bus_message(m: crate::archive::model::Message) -> Message {
    let target = match (m.broadcast, m.recipients.as_slice()) {
        (false, [one]) => Some(one.clone()),
        _ => None,
    };
    Message {
        id: m.id,
        source: m.sender,
        target,
        time: m.at_ms as f64 / 1e3,
        priority: Priority::parse(&m.priority).unwrap_or(Priority::Medium),
        kind: m.kind,
        payload: m.payload,
        broadcast: m.broadcast,
    }
}

fn event(e: crate::archive::model::Event) -> Event {
    Event {
        id: e.id,
        channel: e.channel,
        data: e.data,
        time: e.at_ms as f64 / 1e3,
    }
}

fn unreachable_archive(what: &str, e: &Error) {
    log::warn!("{what}: the archive is not reachable, answering from the store only: {e}");
}

/// `bus.history(a, b, limit)`, completed from the archive when the store has fewer than
/// `limit`.
pub fn bus_history(
    att: Option<Arc<Attached>>,
    bus: &Bus,
    ns: Arc<str>,
    a: &str,
    b: &str,
    limit: usize,
) -> Op<Vec<Message>> {
    let store = bus.history(a, b, limit);
    let Some(att) = att else { return store };
    let (a, b) = (a.to_string(), b.to_string());
    Op::Async(Box::pin(async move {
        let mut s = store.run().await?;
        if s.len() >= limit {
            return Ok(s);
        }
        let until = s.first().map(|m| (m.time * 1e3).round() as i64);
        let held: HashSet<&str> = s.iter().map(|m| m.id.as_str()).collect();
        let older = match query::bus_history(&att.pg, &ns, &a, &b, until, limit).await {
            Ok(v) => v,
            Err(e @ Error::Connection(_)) => {
                unreachable_archive("bus.history", &e);
                return Ok(s);
            }
            Err(e) => return Err(e),
        };
        let mut older: Vec<Message> = older
            .into_iter()
            .filter(|m| !held.contains(m.id.as_str()))
            .map(bus_message)
            .collect();
        let room = limit - s.len();
        if older.len() > room {
            older.drain(..older.len() - room);
        }
        older.append(&mut s);
        Ok(older)
    }))
}

/// `events.read(patterns, after, limit)` (no waiting), starting in the archive when `after`
/// is older than the oldest event the store holds.
pub fn events_read(
    att: Option<Arc<Attached>>,
    events: &Events,
    ns: Arc<str>,
    patterns: Vec<String>,
    after: String,
    limit: usize,
) -> Op<Batch> {
    let store = events.read(&patterns, Some(&after), limit, Duration::ZERO);
    let Some(att) = att else { return store };
    let Ok(x) = events::parse_id(&after) else {
        return store;
    };
    let oldest = events.read(&["*".to_string()], Some("0"), 1, Duration::ZERO);
    Op::Async(Box::pin(async move {
        let first = oldest.run().await?.events.into_iter().next();
        let first = first.and_then(|e| events::parse_id(&e.id).ok());
        if first.is_some_and(|f| x >= f) {
            // The store holds everything after `after`.
            return store.run().await;
        }
        let s = store.run().await?;
        let bound = match s.events.first() {
            Some(e) => Some(events::parse_id(&e.id)?),
            None => None,
        };
        let bound = bound.map(|(a, b)| (a as i64, b as i64));
        let mut from = (x.0 as i64, x.1 as i64);
        let mut got: Vec<Event> = Vec::new();
        let mut looked: Option<String> = None;
        let mut exhausted = false;
        for _ in 0..MAX_PAGES {
            let page = match query::events_between(&att.pg, &ns, from, bound, limit).await {
                Ok(p) => p,
                Err(e @ Error::Connection(_)) => {
                    unreachable_archive("events.read", &e);
                    exhausted = true;
                    break;
                }
                Err(e) => return Err(e),
            };
            let full = page.len() == limit;
            for e in page {
                from = super::write::id_parts(&e.id, e.at_ms);
                looked = Some(e.id.clone());
                if events::matches_any(&patterns, &e.channel) && got.len() < limit {
                    got.push(event(e));
                }
            }
            if !full {
                exhausted = true;
                break;
            }
            if got.len() >= limit {
                break;
            }
        }
        if got.len() < limit && !exhausted {
            // Many archived events that do not match: go on from here next time.
            let cursor = looked.unwrap_or(after);
            return Ok(Batch {
                events: got,
                cursor,
            });
        }
        got.extend(s.events);
        if got.len() > limit || (got.len() == limit && !exhausted) {
            got.truncate(limit);
            let cursor = got.last().map(|e| e.id.clone()).unwrap_or(after);
            return Ok(Batch {
                events: got,
                cursor,
            });
        }
        let cursor = match looked {
            Some(l) if events::parse_id(&l).ok() > events::parse_id(&s.cursor).ok() => l,
            _ => s.cursor,
        };
        Ok(Batch {
            events: got,
            cursor,
        })
    }))
}
