//! `hub.analytics` on Redis: hashes of counters per day, hour and property value, and one
//! HyperLogLog per event and day (`PFADD`, `PFCOUNT` of many keys merging server-side), all
//! under the namespace's analytics hash tag; one Lua script per operation (docs/keys.md).

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use redis::Value as RValue;

use super::{date, Batch, DEFAULT_RETENTION_DAYS};
use crate::engine::script::Lua;
use crate::engine::{Redis, RedisConn};
use crate::error::{Error, Result};

const COMMON: &str = include_str!("lua/common.lua");

static TRACK: LazyLock<Lua> = LazyLock::new(|| Lua::new(COMMON, include_str!("lua/track.lua")));
static READ: LazyLock<Lua> = LazyLock::new(|| Lua::read_only(COMMON, include_str!("lua/read.lua")));
static RETENTION: LazyLock<Lua> =
    LazyLock::new(|| Lua::new(COMMON, include_str!("lua/retention.lua")));

/// `zl:{<ns>:analytics}:` — every analytics key starts with it.
pub fn prefix(ns: &str) -> String {
    crate::engine::keys::prefix(ns, super::CAPABILITY.tag)
}

fn bad(what: &str) -> Error {
    Error::Backend(format!("unexpected reply from an analytics script: {what}"))
}

fn int(v: &RValue) -> Result<i64> {
    match v {
        RValue::Int(n) => Ok(*n),
        RValue::BulkString(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("a count")),
        RValue::Nil => Ok(0),
        other => Err(bad(&format!("{other:?}"))),
    }
}

fn string(v: &RValue) -> Result<String> {
    redis::from_redis_value_ref(v).map_err(|e| bad(&e.to_string()))
}

/// Applies an added-up batch.
pub async fn track(r: Arc<Redis>, mut c: RedisConn, ns: String, b: Batch, now: i64) -> Result<()> {
    let p = prefix(&ns);
    let mut cmd = TRACK.call(&format!("{p}t"));
    cmd.arg(&p).arg(now).arg(DEFAULT_RETENTION_DAYS);
    cmd.arg(b.totals.len());
    for (e, n) in &b.totals {
        cmd.arg(e).arg(n);
    }
    cmd.arg(b.days.len());
    for ((d, e), n) in &b.days {
        cmd.arg(d).arg(date(*d)).arg(e).arg(n);
    }
    cmd.arg(b.hours.len());
    for ((d, e, h), n) in &b.hours {
        cmd.arg(d)
            .arg(date(*d))
            .arg(e)
            .arg(format!("{h:02}"))
            .arg(n);
    }
    cmd.arg(b.props.len());
    for ((d, e, f), n) in &b.props {
        cmd.arg(d).arg(date(*d)).arg(e).arg(f).arg(n);
    }
    cmd.arg(b.users.len());
    for ((d, e), users) in &b.users {
        cmd.arg(d).arg(date(*d)).arg(e).arg(users.len());
        for u in users {
            cmd.arg(u);
        }
    }
    let _: i64 = TRACK.run(&r, &mut c, &cmd).await?;
    Ok(())
}

// One call of `read.lua`: its arguments as the script takes them.
#[allow(clippy::too_many_arguments)]
async fn read(
    r: &Redis,
    c: &mut RedisConn,
    ns: &str,
    what: &str,
    event: &str,
    extra: &str,
    days: &[i64],
    now: i64,
) -> Result<RValue> {
    let p = prefix(ns);
    let mut cmd = READ.call(&format!("{p}t"));
    cmd.arg(&p)
        .arg(now)
        .arg(DEFAULT_RETENTION_DAYS)
        .arg(what)
        .arg(event)
        .arg(extra);
    for d in days {
        cmd.arg(d).arg(date(*d));
    }
    READ.run(r, c, &cmd).await
}

fn array(v: RValue) -> Result<Vec<RValue>> {
    match v {
        RValue::Array(a) => Ok(a),
        RValue::Nil => Ok(vec![]),
        other => Err(bad(&format!("{other:?}"))),
    }
}

/// The event's count per day.
pub async fn counts_day(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    event: String,
    days: Vec<i64>,
    now: i64,
) -> Result<Vec<i64>> {
    let v = read(&r, &mut c, &ns, "day", &event, "", &days, now).await?;
    array(v)?.iter().map(int).collect()
}

/// The event's count per hour (hour number since the epoch -> count).
pub async fn counts_hour(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    event: String,
    days: Vec<i64>,
    now: i64,
) -> Result<BTreeMap<i64, i64>> {
    let v = read(&r, &mut c, &ns, "hour", &event, "", &days, now).await?;
    let mut out = BTreeMap::new();
    for (d, flat) in days.iter().zip(array(v)?) {
        let flat = array(flat)?;
        for pair in flat.chunks_exact(2) {
            let h: i64 = string(&pair[0])?.parse().map_err(|_| bad("an hour"))?;
            out.insert(d * 24 + h, int(&pair[1])?);
        }
    }
    Ok(out)
}

/// Sums by name: `what` is "prop" (the values of a property, `extra` its `<prop>=`),
/// "events" (per event over the days) or "total" (all-time totals).
#[allow(clippy::too_many_arguments)]
pub async fn sums(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    what: &'static str,
    event: String,
    extra: String,
    days: Vec<i64>,
    now: i64,
) -> Result<Vec<(String, i64)>> {
    let v = read(&r, &mut c, &ns, what, &event, &extra, &days, now).await?;
    array(v)?
        .chunks_exact(2)
        .map(|p| Ok((string(&p[0])?, int(&p[1])?)))
        .collect()
}

/// PFCOUNT of the days' HyperLogLogs.
pub async fn uniques(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    event: String,
    days: Vec<i64>,
    now: i64,
) -> Result<u64> {
    let v = read(&r, &mut c, &ns, "uniques", &event, "", &days, now).await?;
    Ok(int(&v)?.max(0) as u64)
}

/// Sets or reads the retention.
pub async fn retention(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    days: Option<u32>,
) -> Result<u32> {
    let p = prefix(&ns);
    let mut cmd = RETENTION.call(&format!("{p}t"));
    cmd.arg(&p)
        .arg(days.map(|d| d.to_string()).unwrap_or_default())
        .arg(DEFAULT_RETENTION_DAYS);
    let n: i64 = RETENTION.run(&r, &mut c, &cmd).await?;
    Ok(n.clamp(1, i64::from(u32::MAX)) as u32)
}
