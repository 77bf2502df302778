//! `hub.events` on Redis: one stream per namespace is the log (XADD with exact MAXLEN, XTRIM
//! MINID for the age limit), a hash holds the retention, and every publish PUBLISHes on the
//! namespace's `events` wake channel so waiting readers come back at once.

use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use redis::Value;

use super::{matches_any, Batch, Event, Retention, DEFAULT_MAX_LEN};
use crate::engine::script::Lua;
use crate::engine::{wake, Redis, RedisConn};
use crate::error::{Error, Result};

const COMMON: &str = include_str!("lua/common.lua");
/// The events helpers and the archive's hold (`src/archive/lua/hold.lua`).
static HELD: LazyLock<String> =
    LazyLock::new(|| format!("{COMMON}\n{}", crate::archive::sources::held::LUA));
static PUBLISH: LazyLock<Lua> = LazyLock::new(|| Lua::new(&HELD, include_str!("lua/publish.lua")));
static PUBLISH_MANY: LazyLock<Lua> =
    LazyLock::new(|| Lua::new(&HELD, include_str!("lua/publish_many.lua")));

/// The keys of a publish: the log, its retention, the archive's cursor and overrun counter.
fn publish_keys(ns: &str) -> [String; 4] {
    let p = prefix(ns);
    let archived = crate::archive::sources::held::cursor_key(ns, crate::archive::Source::Events);
    let lost = format!("{archived}:lost");
    [format!("{p}log"), format!("{p}cfg"), archived, lost]
}

/// Wake-up topic of the log.
const TOPIC: &str = "events";

/// `zl:{<ns>:events}:` — every events key starts with it.
pub fn prefix(ns: &str) -> String {
    crate::engine::keys::prefix(ns, super::CAPABILITY.tag)
}

fn ms_of(id: &str) -> f64 {
    id.split('-')
        .next()
        .and_then(|m| m.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1e3
}

/// Appends one event; returns its id and time.
pub async fn publish(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    channel: String,
    data: String,
) -> Result<(String, f64)> {
    let k = publish_keys(&ns);
    let mut cmd = PUBLISH.call_keys(&[&k[0], &k[1], &k[2], &k[3]]);
    cmd.arg(&channel)
        .arg(&data)
        .arg(wake::channel(&ns, TOPIC))
        .arg(DEFAULT_MAX_LEN);
    let id: String = PUBLISH.run(&r, &mut c, &cmd).await?;
    // Readers in this process need not wait for the pub/sub round trip.
    r.wakeups(&ns).fire(TOPIC);
    let t = ms_of(&id);
    Ok((id, t))
}

/// Appends events in order (one script call); returns their ids and times.
pub async fn publish_many(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    items: Arc<Vec<(String, String)>>,
) -> Result<Vec<(String, f64)>> {
    let k = publish_keys(&ns);
    let mut cmd = PUBLISH_MANY.call_keys(&[&k[0], &k[1], &k[2], &k[3]]);
    cmd.arg(wake::channel(&ns, TOPIC)).arg(DEFAULT_MAX_LEN);
    for (channel, data) in items.iter() {
        cmd.arg(channel).arg(data);
    }
    let ids: Vec<String> = PUBLISH_MANY.run(&r, &mut c, &cmd).await?;
    if ids.len() != items.len() {
        return Err(Error::Backend(
            "unexpected reply from the publish script: short".into(),
        ));
    }
    r.wakeups(&ns).fire(TOPIC);
    Ok(ids
        .into_iter()
        .map(|id| {
            let t = ms_of(&id);
            (id, t)
        })
        .collect())
}

/// One stream entry (`[id, [field, value, ...]]`) as an event.
pub(super) fn parse_entry(v: &Value) -> Result<Event> {
    let bad = || Error::Backend("unexpected event entry in the log stream".into());
    let Value::Array(parts) = v else {
        return Err(bad());
    };
    let [id, fields] = parts.as_slice() else {
        return Err(bad());
    };
    let id: String = redis::from_redis_value_ref(id).map_err(|_| bad())?;
    let fields: Vec<String> = redis::from_redis_value_ref(fields).map_err(|_| bad())?;
    let (mut channel, mut data) = (None, None);
    for kv in fields.chunks(2) {
        if let [k, v] = kv {
            match k.as_str() {
                "c" => channel = Some(v.clone()),
                "d" => data = Some(v.clone()),
                _ => {}
            }
        }
    }
    let (Some(channel), Some(data)) = (channel, data) else {
        return Err(bad());
    };
    Ok(Event {
        time: ms_of(&id),
        id,
        channel,
        data: serde_json::from_str(&data)?,
    })
}

/// Id of the newest event ("0-0" when the log is empty).
pub async fn last_id(r: Arc<Redis>, mut c: RedisConn, ns: String) -> Result<String> {
    let v: Vec<Value> = redis::cmd("XREVRANGE")
        .arg(format!("{}log", prefix(&ns)))
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query_async(&mut c)
        .await
        .map_err(|e| r.err(e))?;
    match v.first() {
        Some(e) => Ok(parse_entry(e)?.id),
        None => Ok("0-0".into()),
    }
}

/// Matching events after `after` (None: from the current end), waiting up to `block` for one.
pub async fn read(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    patterns: Vec<String>,
    after: Option<String>,
    limit: usize,
    block: Duration,
) -> Result<Batch> {
    let deadline = Instant::now() + block;
    let wakeups = r.wakeups(&ns);
    let mut cursor = match after {
        Some(a) => a,
        None => last_id(r.clone(), c.clone(), ns.clone()).await?,
    };
    let key = format!("{}log", prefix(&ns));
    loop {
        // Ticket before reading, so a publish between the read and the wait is not missed.
        let mut ticket = if block.is_zero() {
            None
        } else {
            Some(wakeups.ticket(TOPIC).await)
        };
        let rows: Vec<Value> = redis::cmd("XRANGE")
            .arg(&key)
            .arg(format!("({cursor}"))
            .arg("+")
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut c)
            .await
            .map_err(|e| r.err(e))?;
        let full = rows.len() == limit;
        let mut events = Vec::new();
        for row in &rows {
            let ev = parse_entry(row)?;
            cursor = ev.id.clone();
            if matches_any(&patterns, &ev.channel) {
                events.push(ev);
            }
        }
        let now = Instant::now();
        if !events.is_empty() || now >= deadline {
            return Ok(Batch { events, cursor });
        }
        if full {
            continue;
        }
        if let Some(t) = ticket.as_mut() {
            t.wait(deadline - now).await;
        }
    }
}

/// Stores the retention of `ns`.
pub async fn set_retention(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    ret: Retention,
) -> Result<()> {
    let key = format!("{}cfg", prefix(&ns));
    let mut pipe = redis::pipe();
    pipe.atomic().hset(&key, "max_len", ret.max_len).ignore();
    match ret.max_age {
        Some(a) => pipe.hset(&key, "max_age_ms", a.as_millis() as u64).ignore(),
        None => pipe.hdel(&key, "max_age_ms").ignore(),
    };
    pipe.query_async::<()>(&mut c).await.map_err(|e| r.err(e))
}

/// The retention of `ns`.
pub async fn retention(r: Arc<Redis>, mut c: RedisConn, ns: String) -> Result<Retention> {
    let (len, age): (Option<u64>, Option<u64>) = redis::cmd("HMGET")
        .arg(format!("{}cfg", prefix(&ns)))
        .arg("max_len")
        .arg("max_age_ms")
        .query_async(&mut c)
        .await
        .map_err(|e| r.err(e))?;
    Ok(Retention {
        max_len: len.unwrap_or(DEFAULT_MAX_LEN),
        max_age: age.map(Duration::from_millis),
    })
}

/// Events the log holds.
pub async fn len(r: Arc<Redis>, mut c: RedisConn, ns: String) -> Result<u64> {
    redis::cmd("XLEN")
        .arg(format!("{}log", prefix(&ns)))
        .query_async(&mut c)
        .await
        .map_err(|e| r.err(e))
}
