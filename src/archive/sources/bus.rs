//! The archive's bus sources on both stores: messages (the history log, `B hist` /
//! `bus_hist`, one entry per share), acknowledgements (`B acked` / `bus_acked`) and dead
//! letters (`B dead` / `bus_dead`). Cursor formats: see [`super::held`].

use std::sync::{Arc, LazyLock};

use redis::Value;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value as Json;

use super::held::{self, bad, Entry};
use crate::archive::model::{Ack, Batch, DeadLetter, Message, Rows, Source};
use crate::engine::script::Lua;
use crate::engine::{Backend, Op, Redis, RedisConn, Sqlite};
use crate::error::{Error, Result};

const SOURCES: [Source; 3] = [Source::Messages, Source::Acks, Source::DeadLetters];

static ACKS_READ: LazyLock<Lua> =
    LazyLock::new(|| Lua::read_only(held::LUA, include_str!("../lua/bus_acks_read.lua")));

fn prefix(ns: &str) -> String {
    crate::engine::keys::prefix(ns, "bus")
}

fn not_bus(source: Source) -> Error {
    Error::validation(format!("{} is not a bus source", source.name()))
}

/// The ms of an id `<ms>-<seq>`.
fn ms_of(id: &str) -> i64 {
    id.split('-')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0)
}

/// A message from the history log's fields: its id, sender, recipients (`*` for a
/// broadcast, else comma-separated) and envelope.
fn message(id: String, at_ms: i64, sender: String, rcpt: &str, env: &str) -> Result<Message> {
    let e: Json = serde_json::from_str(env)?;
    let text = |k: &str| e.get(k).and_then(Json::as_str).map(str::to_string);
    let broadcast = e
        .get("broadcast")
        .and_then(Json::as_bool)
        .unwrap_or(rcpt == "*");
    let recipients = if rcpt == "*" {
        vec!["*".to_string()]
    } else {
        rcpt.split(',')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    };
    Ok(Message {
        id,
        at_ms,
        sender,
        recipients,
        kind: text("kind"),
        priority: text("priority").unwrap_or_else(|| "medium".into()),
        broadcast,
        payload: e.get("payload").cloned().unwrap_or(Json::Null),
    })
}

/// Rows after `after`, oldest first.
pub fn read(
    b: &Backend,
    ns: &str,
    source: Source,
    after: Option<String>,
    limit: usize,
) -> Op<Batch> {
    if !SOURCES.contains(&source) {
        return Op::Ready(Err(not_bus(source)));
    }
    let limit = limit.clamp(1, super::MAX_READ);
    b.call(
        (ns.to_string(), after),
        move |db, (ns, after)| sqlite_read(db, &ns, source, after, limit),
        move |r, c, (ns, after)| redis_read(r, c, ns, source, after, limit),
    )
}

/// The committed cursor.
pub fn cursor(b: &Backend, ns: &str, source: Source) -> Op<Option<String>> {
    if !SOURCES.contains(&source) {
        return Op::Ready(Err(not_bus(source)));
    }
    b.call(
        ns.to_string(),
        move |db, ns| db.with(|c| held::sqlite_cursor(c, &ns, source)),
        move |r, c, ns| held::redis_get(r, c, held::cursor_key(&ns, source)),
    )
}

/// Commits a cursor (never backwards).
pub fn commit(b: &Backend, ns: &str, source: Source, cursor: String) -> Op<()> {
    if !SOURCES.contains(&source) {
        return Op::Ready(Err(not_bus(source)));
    }
    b.call(
        (ns.to_string(), cursor),
        move |db, (ns, cur)| held::sqlite_commit(db, &ns, source, &cur),
        move |r, c, (ns, cur)| held::redis_commit(r, c, source, held::cursor_key(&ns, source), cur),
    )
}

/// The committed cursor, else a start cursor before every entry held now, committed.
pub fn start(b: &Backend, ns: &str, source: Source) -> Op<String> {
    let data = match source {
        Source::Messages => "hist",
        Source::DeadLetters => "dead",
        Source::Acks => "acked",
        _ => return Op::Ready(Err(not_bus(source))),
    };
    b.call(
        ns.to_string(),
        move |db, ns| held::sqlite_start(db, &ns, source),
        move |r, c, ns| {
            let (key, lost) = (held::cursor_key(&ns, source), held::lost_key(&ns, source));
            held::redis_start(r, c, source, key, format!("{}{data}", prefix(&ns)), lost)
        },
    )
}

/// Entries trimmed before the archive had them.
pub fn overrun(b: &Backend, ns: &str, source: Source) -> Op<u64> {
    if !SOURCES.contains(&source) {
        return Op::Ready(Err(not_bus(source)));
    }
    b.call(
        ns.to_string(),
        move |db, ns| db.with(|c| held::sqlite_overrun(c, &ns, source)),
        move |r, c, ns| held::redis_count(r, c, held::lost_key(&ns, source)),
    )
}

/// Deletes the cursors of this capability's sources; how many there were.
pub fn forget(b: &Backend, ns: &str) -> Op<u64> {
    b.call(
        ns.to_string(),
        |db, ns| held::sqlite_forget(db, &ns, &SOURCES),
        |r, c, ns| {
            let keys = SOURCES.iter().map(|s| held::cursor_key(&ns, *s)).collect();
            held::redis_forget(r, c, keys)
        },
    )
}

// ---- Redis ----

fn field(e: &Entry, f: &str) -> Result<String> {
    e.get(f)
        .map(str::to_string)
        .ok_or_else(|| bad(&format!("bus entry without field {f}")))
}

async fn redis_read(
    r: Arc<Redis>,
    c: RedisConn,
    ns: String,
    source: Source,
    after: Option<String>,
    limit: usize,
) -> Result<Batch> {
    let p = prefix(&ns);
    match source {
        Source::Messages => {
            let (next, behind, lost, es) =
                held::redis_stream_read(r, c, format!("{p}hist"), after, limit).await?;
            let rows = es
                .iter()
                .map(|e| {
                    let t = field(e, "t")?;
                    message(
                        e.id.clone(),
                        ms_of(&e.id),
                        field(e, "s")?,
                        &t,
                        &field(e, "d")?,
                    )
                })
                .collect::<Result<_>>()?;
            Ok(Batch {
                rows: Rows::Messages(rows),
                next,
                behind,
                lost,
            })
        }
        Source::DeadLetters => {
            let (next, behind, lost, es) =
                held::redis_stream_read(r, c, format!("{p}dead"), after, limit).await?;
            let rows = es
                .iter()
                .map(|e| {
                    Ok(DeadLetter {
                        entry: e.id.clone(),
                        message_id: field(e, "id")?,
                        agent: field(e, "a")?,
                        group: field(e, "g")?,
                        consumer: field(e, "c")?,
                        deliveries: field(e, "n")?.parse().map_err(|_| bad("deliveries"))?,
                        reason: field(e, "why")?,
                        at_ms: ms_of(&e.id),
                        envelope: serde_json::from_str(&field(e, "d")?)?,
                    })
                })
                .collect::<Result<_>>()?;
            Ok(Batch {
                rows: Rows::DeadLetters(rows),
                next,
                behind,
                lost,
            })
        }
        _ => redis_acks(r, c, ns, after, limit).await,
    }
}

async fn redis_acks(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    after: Option<String>,
    limit: usize,
) -> Result<Batch> {
    let p = prefix(&ns);
    let mut cmd = ACKS_READ.call_keys(&[&format!("{p}acked"), &held::lost_key(&ns, Source::Acks)]);
    cmd.arg(after.as_deref().unwrap_or("")).arg(limit);
    let reply: Vec<Value> = ACKS_READ.run(&r, &mut c, &cmd).await?;
    let [next, behind, lost, rest @ ..] = reply.as_slice() else {
        return Err(bad("acks read reply"));
    };
    let text = |v: &Value| -> Result<String> {
        redis::from_redis_value_ref(v).map_err(|e| bad(&e.to_string()))
    };
    let num = |v: &Value| -> Result<u64> {
        redis::from_redis_value_ref(v).map_err(|e| bad(&e.to_string()))
    };
    let mut rows = Vec::with_capacity(rest.len() / 2);
    for pair in rest.chunks(2) {
        let [id, ms] = pair else {
            return Err(bad("acks read reply"));
        };
        rows.push(Ack {
            message_id: text(id)?,
            at_ms: text(ms)?.parse().map_err(|_| bad("ack time"))?,
        });
    }
    Ok(Batch {
        rows: Rows::Acks(rows),
        next: text(next)?,
        behind: num(behind)?,
        lost: num(lost)?,
    })
}

// ---- SQLite ----

/// What a SQLite read reports besides its rows: the cursor after them and the counts.
fn finish(
    c: &Connection,
    ns: &str,
    source: Source,
    after: &Option<String>,
    last_key: Option<String>,
    behind: impl FnOnce(&Connection, Option<&str>) -> Result<u64>,
) -> Result<(String, u64, u64)> {
    let o = held::sqlite_overrun(c, ns, source)?;
    let (seen_key, seen_o) = match after {
        Some(a) => {
            let (k, o) = held::split(a)?;
            (Some(k.to_string()), Some(o))
        }
        None => (None, None),
    };
    let lost = seen_o.map_or(0, |s| o.saturating_sub(s));
    let next = match (&last_key, &seen_key) {
        (Some(k), _) => format!("{k}#{o}"),
        (None, Some(k)) if lost > 0 => format!("{k}#{o}"),
        (None, Some(_)) => after.clone().unwrap_or_default(),
        (None, None) => {
            let zero = if source == Source::Acks { "0|" } else { "0-0" };
            format!("{zero}#{o}")
        }
    };
    let key = last_key.or(seen_key);
    Ok((next, behind(c, key.as_deref())?, lost))
}

fn sqlite_read(
    db: &Sqlite,
    ns: &str,
    source: Source,
    after: Option<String>,
    limit: usize,
) -> Result<Batch> {
    let key = match &after {
        Some(a) => Some(held::split(a)?.0.to_string()),
        None => None,
    };
    db.with(|c| match source {
        Source::Messages => {
            let mut from = match &key {
                Some(k) => held::seq_of(k)?,
                None => 0,
            };
            // Message numbers start over after a clear of the bus: a cursor past the last
            // number given out reads from the oldest held.
            let top: i64 = c
                .prepare_cached("SELECT n FROM bus_seq WHERE ns = ?1")?
                .query_row([ns], |r| r.get(0))
                .optional()?
                .unwrap_or(0);
            if from > top {
                from = 0;
            }
            let mut st = c.prepare_cached(
                "SELECT n, ms, source, recipients, env FROM bus_hist
                 WHERE ns = ?1 AND n > ?2 ORDER BY n LIMIT ?3",
            )?;
            let raw = st
                .query_map(params![ns, from, limit as i64], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let last = raw.last().map(|(n, ms, ..)| format!("{ms}-{n}"));
            let rows = raw
                .into_iter()
                .map(|(n, ms, s, t, env)| message(format!("{ms}-{n}"), ms, s, &t, &env))
                .collect::<Result<Vec<_>>>()?;
            let (next, behind, lost) = finish(c, ns, source, &after, last, |c, k| {
                let from = k.map(held::seq_of).transpose()?.unwrap_or(0);
                count(
                    c,
                    "SELECT count(*) FROM bus_hist WHERE ns = ?1 AND n > ?2",
                    ns,
                    from,
                )
            })?;
            Ok(Batch {
                rows: Rows::Messages(rows),
                next,
                behind,
                lost,
            })
        }
        Source::Acks => {
            let (ms, id) = match &key {
                Some(k) => {
                    let (ms, id) = held::ack_key(k)?;
                    (ms, id.to_string())
                }
                None => (-1, String::new()),
            };
            let mut st = c.prepare_cached(
                "SELECT id, ms FROM bus_acked WHERE ns = ?1 AND (ms, id) > (?2, ?3)
                 ORDER BY ms, id LIMIT ?4",
            )?;
            let rows = st
                .query_map(params![ns, ms, id, limit as i64], |r| {
                    Ok(Ack {
                        message_id: r.get(0)?,
                        at_ms: r.get(1)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let last = rows.last().map(|a| format!("{}|{}", a.at_ms, a.message_id));
            let (next, behind, lost) = finish(c, ns, source, &after, last, |c, k| {
                let (ms, id) = match k {
                    Some(k) => held::ack_key(k)?,
                    None => (-1, ""),
                };
                Ok(c.prepare_cached(
                    "SELECT count(*) FROM bus_acked WHERE ns = ?1 AND (ms, id) > (?2, ?3)",
                )?
                .query_row(params![ns, ms, id], |r| r.get::<_, i64>(0))? as u64)
            })?;
            Ok(Batch {
                rows: Rows::Acks(rows),
                next,
                behind,
                lost,
            })
        }
        Source::DeadLetters => {
            let from = match &key {
                Some(k) => held::seq_of(k)?,
                None => 0,
            };
            let mut st = c.prepare_cached(
                "SELECT seq, id, agent, grp, consumer, deliveries, reason, ms, env FROM bus_dead
                 WHERE ns = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )?;
            let raw = st
                .query_map(params![ns, from, limit as i64], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, i64>(5)?,
                        r.get::<_, String>(6)?,
                        r.get::<_, i64>(7)?,
                        r.get::<_, String>(8)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let last = raw.last().map(|r| r.0.to_string());
            let rows = raw
                .into_iter()
                .map(|(seq, id, agent, group, consumer, d, reason, ms, env)| {
                    Ok(DeadLetter {
                        entry: seq.to_string(),
                        message_id: id,
                        agent,
                        group,
                        consumer,
                        deliveries: d,
                        reason,
                        at_ms: ms,
                        envelope: serde_json::from_str(&env)?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let (next, behind, lost) = finish(c, ns, source, &after, last, |c, k| {
                let from = k.map(held::seq_of).transpose()?.unwrap_or(0);
                count(
                    c,
                    "SELECT count(*) FROM bus_dead WHERE ns = ?1 AND seq > ?2",
                    ns,
                    from,
                )
            })?;
            Ok(Batch {
                rows: Rows::DeadLetters(rows),
                next,
                behind,
                lost,
            })
        }
        other => Err(not_bus(other)),
    })
}

fn count(c: &Connection, sql: &str, ns: &str, from: i64) -> Result<u64> {
    Ok(c.prepare_cached(sql)?
        .query_row(params![ns, from], |r| r.get::<_, i64>(0))? as u64)
}
