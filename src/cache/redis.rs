//! `hub.cache` on Redis: one hash per entry, the tag generations, counters and leases, all
//! under the namespace's cache hash tag, so that the read and its generation check are one
//! Lua script (docs/keys.md, docs/cache.md). Key names are encoded by the scripts.

use std::sync::{Arc, LazyLock};

use parking_lot::Mutex;

use redis::Value as RValue;

use super::semantic::{self, SemanticRow};
use super::{Lease, Lookup, Pending, Put, Settings, Stats, Value};
use crate::engine::script::Lua;
use crate::engine::{Redis, RedisConn};
use crate::error::{Error, Result};
use crate::kv::KeyPage;

const COMMON: &str = include_str!("lua/common.lua");

fn script(body: &str) -> Lua {
    Lua::new(COMMON, body)
}

static GET: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/get.lua")));
static SET: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/set.lua")));
static DELETE: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/delete.lua")));
static INVALIDATE: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/invalidate.lua")));
static RELEASE: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/release.lua")));
static KEYS: LazyLock<Lua> = LazyLock::new(|| Lua::read_only(COMMON, include_str!("lua/keys.lua")));
static STATS: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/stats.lua")));
static SWEEP: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/sweep.lua")));
static SEM_PAGE: LazyLock<Lua> =
    LazyLock::new(|| Lua::read_only(COMMON, include_str!("lua/semantic_page.lua")));
static SEM_ROWS: LazyLock<Lua> =
    LazyLock::new(|| Lua::read_only(COMMON, include_str!("lua/semantic_rows.lua")));

/// `zl:{<ns>:cache}:` — every cache key starts with it.
pub fn prefix(ns: &str) -> String {
    crate::engine::keys::prefix(ns, super::CAPABILITY.tag)
}

fn bad(what: &str) -> Error {
    Error::Backend(format!("unexpected reply from a cache script: {what}"))
}

fn bytes(v: &RValue) -> Result<Vec<u8>> {
    redis::from_redis_value_ref(v).map_err(|e| bad(&e.to_string()))
}

fn string(v: &RValue) -> Result<String> {
    redis::from_redis_value_ref(v).map_err(|e| bad(&e.to_string()))
}

fn int(v: &RValue) -> Result<i64> {
    redis::from_redis_value_ref(v).map_err(|e| bad(&e.to_string()))
}

/// A key as the scripts encode it in entry names (`enc` in lua/common.lua): bytes below `!`,
/// DEL and `%` become `%XX`.
fn enc(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for ch in key.chars() {
        if ch <= ' ' || ch == '\x7f' || ch == '%' {
            out.push_str(&format!("%{:02X}", ch as u32));
        } else {
            out.push(ch);
        }
    }
    out
}

/// What the fast read makes of one key.
enum Quick {
    Hit(Value),
    Miss,
    /// Expired, invalidated or unlisted: the script removes it and answers.
    Stale,
}

fn field(v: &RValue) -> Option<&[u8]> {
    match v {
        RValue::BulkString(b) => Some(b),
        _ => None,
    }
}

/// One key's verdict from its entry fields (`t d x g e y`), its score in the index and the
/// generations' `~` (epoch) and `*` (tag clock): the script's `current` check, made here.
fn judge(f: &[RValue], listed: &RValue, gens: &[RValue], now: u64) -> Result<Quick> {
    let [t, d, x, g, e, y] = f else {
        return Err(bad("get: entry fields"));
    };
    let (Some(t), Some(d)) = (field(t), field(d)) else {
        return Ok(Quick::Miss);
    };
    let num = |v: Option<&[u8]>| v.and_then(|b| std::str::from_utf8(b).ok()?.parse::<u64>().ok());
    let live = match field(e) {
        None => true,
        Some(at) => num(Some(at)).is_some_and(|at| at > now),
    };
    let (epoch, clock) = (gens.first().and_then(field), gens.get(1).and_then(field));
    let tagged = field(g).is_some_and(|g| !g.is_empty());
    let current = epoch.is_some()
        && epoch == field(x)
        && (!tagged || (field(y).is_some() && field(y) == Some(clock.unwrap_or(b"0"))));
    if !(live && current && matches!(listed, RValue::BulkString(_) | RValue::Double(_))) {
        return Ok(Quick::Stale);
    }
    let code = std::str::from_utf8(t).map_err(|_| bad("get: type"))?;
    Ok(Quick::Hit(Value::from_stored(code, d.to_vec())?))
}

/// Reads without a script: one pipeline of `HMGET` (each entry's fields), `ZSCORE` (listed in
/// the index) and the generations' epoch and tag clock, with this handle's pending counts
/// when due. An entry with tags is current while the tag clock (which every invalidation
/// moves) is the one it was written at. None when a key needs the script: a stale entry to
/// remove, or a clock that moved since the entry was written.
async fn get_quick(
    r: &Redis,
    c: &mut RedisConn,
    p: &str,
    keys: &[String],
    count: bool,
    pending: &Mutex<Pending>,
    now: u64,
) -> Result<Option<Vec<Lookup>>> {
    let mut pipe = redis::pipe();
    for k in keys {
        pipe.cmd("HMGET")
            .arg(format!("{p}e:{}", enc(k)))
            .arg(&["t", "d", "x", "g", "e", "y"]);
        pipe.cmd("ZSCORE").arg(format!("{p}idx")).arg(k);
    }
    pipe.cmd("HMGET").arg(format!("{p}g")).arg("~").arg("*");
    let due = pending.lock().take(now, false);
    if let Some(d) = &due {
        pipe.cmd("HINCRBY")
            .arg(format!("{p}n"))
            .arg("hits")
            .arg(d.hits)
            .ignore();
        pipe.cmd("HINCRBY")
            .arg(format!("{p}n"))
            .arg("misses")
            .arg(d.misses)
            .ignore();
    }
    let reply: Vec<RValue> = match pipe.query_async(c).await {
        Ok(v) => v,
        Err(e) => {
            if let Some(d) = due {
                pending.lock().add_counts(d.hits, d.misses);
            }
            return Err(r.err(e));
        }
    };
    if reply.len() != 2 * keys.len() + 1 {
        return Err(bad("get: pipeline reply length"));
    }
    let RValue::Array(gens) = &reply[2 * keys.len()] else {
        return Err(bad("get: generations"));
    };
    let mut out = Vec::with_capacity(keys.len());
    for pair in reply[..2 * keys.len()].chunks(2) {
        let RValue::Array(f) = &pair[0] else {
            return Err(bad("get: entry"));
        };
        out.push(match judge(f, &pair[1], gens, now)? {
            Quick::Hit(v) => Lookup::Hit(v),
            Quick::Miss => Lookup::Miss { leased: false },
            Quick::Stale => return Ok(None),
        });
    }
    if count {
        let hits = out.iter().filter(|x| matches!(x, Lookup::Hit(_))).count() as u64;
        pending.lock().add_counts(hits, out.len() as u64 - hits);
    }
    Ok(Some(out))
}

/// See `Cache::get_many`. Without a lease, reads take the fast path ([`get_quick`]); a
/// lease, or a key the fast path cannot answer, takes the script (`lua/get.lua`), which
/// counts its reads itself.
#[allow(clippy::too_many_arguments)]
pub async fn get_many(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    keys: Vec<String>,
    lease: Option<Lease>,
    count: bool,
    pending: Arc<Mutex<Pending>>,
    now: u64,
) -> Result<Vec<Lookup>> {
    let p = prefix(&ns);
    if lease.is_none() {
        if let Some(out) = get_quick(&r, &mut c, &p, &keys, count, &pending, now).await? {
            return Ok(out);
        }
    }
    let mut cmd = GET.call(&format!("{p}idx"));
    cmd.arg(&p).arg(now).arg(if count { "1" } else { "0" });
    match &lease {
        Some(l) => cmd.arg(l.ms).arg(&l.token),
        None => cmd.arg("").arg(""),
    };
    for k in &keys {
        cmd.arg(k);
    }
    let reply: Vec<RValue> = GET.run(&r, &mut c, &cmd).await?;
    if reply.len() != keys.len() {
        return Err(bad("get: reply length"));
    }
    reply
        .into_iter()
        .map(|v| match v {
            RValue::Array(f) if f.len() == 2 => Ok(Lookup::Hit(Value::from_stored(
                &string(&f[0])?,
                bytes(&f[1])?,
            )?)),
            RValue::Int(n) => Ok(Lookup::Miss { leased: n == 1 }),
            other => Err(bad(&format!("{other:?}"))),
        })
        .collect()
}

/// See `Cache::set_many`.
pub async fn set_many(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    puts: Vec<Put>,
    lease_token: Option<String>,
    s: Settings,
    now: u64,
) -> Result<()> {
    let p = prefix(&ns);
    let mut cmd = SET.call(&format!("{p}idx"));
    cmd.arg(&p)
        .arg(now)
        .arg(format!("{:016x}", rand::random::<u64>()))
        .arg(lease_token.unwrap_or_default())
        .arg(s.max_entries.unwrap_or(0))
        .arg(s.max_bytes.unwrap_or(0));
    for x in &puts {
        let tags: String = x.tags.iter().map(|t| format!("{t}\n")).collect();
        cmd.arg(&x.key)
            .arg(x.value.code())
            .arg(x.value.data())
            .arg(x.ttl_ms.map(|t| t.to_string()).unwrap_or_default())
            .arg(tags);
        match &x.semantic {
            Some(sem) => cmd.arg(&sem.scope).arg(semantic::encode(&sem.vector)),
            None => cmd.arg("").arg(""),
        };
    }
    match SET.run::<RValue>(&r, &mut c, &cmd).await? {
        RValue::Int(_evicted) => Ok(()),
        RValue::Array(f) if f.len() == 2 => {
            let scope = string(&f[0])?;
            let have: usize = string(&f[1])?.parse().map_err(|_| bad("set: dimension"))?;
            let dim = puts
                .iter()
                .find_map(|p| p.semantic.as_ref().filter(|s| s.scope == scope))
                .map_or(0, |s| s.vector.len());
            Err(semantic::dim_error(&scope, dim, have))
        }
        other => Err(bad(&format!("set: {other:?}"))),
    }
}

/// See `Cache::delete_many`.
pub async fn delete_many(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    keys: Vec<String>,
    now: u64,
) -> Result<u64> {
    let p = prefix(&ns);
    let mut cmd = DELETE.call(&format!("{p}idx"));
    cmd.arg(&p).arg(now);
    for k in &keys {
        cmd.arg(k);
    }
    let n: i64 = DELETE.run(&r, &mut c, &cmd).await?;
    Ok(n.max(0) as u64)
}

/// See `Cache::release`.
pub async fn release(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    key: String,
    token: String,
) -> Result<bool> {
    let p = prefix(&ns);
    let mut cmd = RELEASE.call(&format!("{p}idx"));
    cmd.arg(&p).arg(&key).arg(&token);
    let n: i64 = RELEASE.run(&r, &mut c, &cmd).await?;
    Ok(n == 1)
}

/// See `Cache::invalidate_tag`.
pub async fn invalidate_tag(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    tag: String,
) -> Result<u64> {
    let p = prefix(&ns);
    let mut cmd = INVALIDATE.call(&format!("{p}g"));
    cmd.arg(&p).arg(&tag);
    let n: i64 = INVALIDATE.run(&r, &mut c, &cmd).await?;
    Ok(n.max(0) as u64)
}

/// See `Cache::keys`.
pub async fn keys(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    prefix_: String,
    after: Option<String>,
    limit: usize,
) -> Result<KeyPage> {
    let p = prefix(&ns);
    let lo = match after {
        Some(a) if a.as_bytes() >= prefix_.as_bytes() => format!("({a}"),
        _ => format!("[{prefix_}"),
    };
    let mut cmd = KEYS.call(&format!("{p}idx"));
    cmd.arg(&p).arg(&prefix_).arg(lo).arg(limit);
    let keys: Vec<String> = KEYS.run(&r, &mut c, &cmd).await?;
    let next = (keys.len() == limit)
        .then(|| keys.last().cloned())
        .flatten();
    Ok(KeyPage { keys, next })
}

/// See `Cache::stats`.
pub async fn stats(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    pending: Arc<Mutex<Pending>>,
    now: u64,
) -> Result<Stats> {
    let p = prefix(&ns);
    let (hits, misses) = match pending.lock().take(now, true) {
        Some(d) => (d.hits, d.misses),
        None => (0, 0),
    };
    let mut cmd = STATS.call(&format!("{p}idx"));
    cmd.arg(&p).arg(now).arg(hits).arg(misses);
    let reply: Vec<RValue> = match STATS.run(&r, &mut c, &cmd).await {
        Ok(v) => v,
        Err(e) => {
            pending.lock().add_counts(hits, misses);
            return Err(e);
        }
    };
    let [h, m, e, b, tags] = reply.as_slice() else {
        return Err(bad("stats"));
    };
    let num = |v: &RValue| -> Result<u64> {
        Ok(string(v)?
            .parse::<i64>()
            .map_err(|_| bad("stats counter"))?
            .max(0) as u64)
    };
    let flat: Vec<String> = redis::from_redis_value_ref(tags).map_err(|e| bad(&e.to_string()))?;
    let mut t: Vec<(String, u64)> = flat
        .chunks(2)
        .filter_map(|x| match x {
            [tag, n] => n
                .parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .map(|n| (tag.clone(), n as u64)),
            _ => None,
        })
        .collect();
    t.sort();
    Ok(Stats {
        hits: num(h)?,
        misses: num(m)?,
        entries: num(e)?,
        bytes: num(b)?,
        tags: t,
    })
}

/// See `Cache::sweep`: expired entries, then every entry page by page for invalidated ones.
pub async fn sweep(r: Arc<Redis>, mut c: RedisConn, ns: String, now: u64) -> Result<u64> {
    let p = prefix(&ns);
    let mut after = String::new();
    let mut total = 0u64;
    loop {
        let mut cmd = SWEEP.call(&format!("{p}idx"));
        cmd.arg(&p).arg(now).arg(&after);
        let reply: Vec<RValue> = SWEEP.run(&r, &mut c, &cmd).await?;
        let [n, next] = reply.as_slice() else {
            return Err(bad("sweep"));
        };
        total += int(n)?.max(0) as u64;
        after = string(next)?;
        if after.is_empty() {
            return Ok(total);
        }
    }
}

/// See `Cache::semantic_page`.
pub async fn semantic_page(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    after: String,
    limit: usize,
    now: u64,
) -> Result<(Vec<SemanticRow>, Option<String>)> {
    let p = prefix(&ns);
    let mut cmd = SEM_PAGE.call(&format!("{p}sem"));
    cmd.arg(&p).arg(now).arg(&after).arg(limit);
    let reply: Vec<RValue> = SEM_PAGE.run(&r, &mut c, &cmd).await?;
    let (next, rest) = reply.split_first().ok_or_else(|| bad("semantic page"))?;
    let next = string(next)?;
    let mut out = Vec::with_capacity(rest.len() / 3);
    for e in rest.chunks(3) {
        let [k, scope, v] = e else {
            return Err(bad("semantic page: short entry"));
        };
        if let Some(v) = semantic::decode(&bytes(v)?) {
            out.push((string(k)?, string(scope)?, v));
        }
    }
    Ok((out, (!next.is_empty()).then_some(next)))
}

/// See `Cache::semantic_rows`.
pub async fn semantic_rows(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    keys: Vec<String>,
    now: u64,
) -> Result<Vec<semantic::ScopedVector>> {
    let p = prefix(&ns);
    let mut cmd = SEM_ROWS.call(&format!("{p}sem"));
    cmd.arg(&p).arg(now);
    for k in &keys {
        cmd.arg(k);
    }
    let reply: Vec<RValue> = SEM_ROWS.run(&r, &mut c, &cmd).await?;
    if reply.len() != keys.len() {
        return Err(bad("semantic rows: reply length"));
    }
    reply
        .into_iter()
        .map(|v| match v {
            RValue::Array(f) if f.len() == 2 => {
                Ok(semantic::decode(&bytes(&f[1])?).map(|x| (string(&f[0]), x)))
                    .and_then(|o| o.map(|(s, x)| s.map(|s| (s, x))).transpose())
            }
            RValue::Int(_) => Ok(None),
            other => Err(bad(&format!("{other:?}"))),
        })
        .collect()
}
