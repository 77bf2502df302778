//! `hub.kv` on Redis: one hash per key with a native expiry, a lexicographic index for prefix
//! listing and a sorted set of expiry times, all under the namespace's kv hash tag; one Lua
//! script per operation (docs/keys.md lists the keys). Key names are encoded by the scripts
//! (`lua/common.lua`), so the Rust side never builds one from a user's key.

use std::sync::{Arc, LazyLock};

use redis::Value as RValue;

use super::sqlite::conflict;
use super::{Item, KeyPage, Put, Value};
use crate::engine::script::Lua;
use crate::engine::{Redis, RedisConn};
use crate::error::{Error, Result};

const COMMON: &str = include_str!("lua/common.lua");

fn script(body: &str) -> Lua {
    Lua::new(COMMON, body)
}

static SET: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/set.lua")));
static GET: LazyLock<Lua> = LazyLock::new(|| Lua::read_only(COMMON, include_str!("lua/get.lua")));
static DELETE: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/delete.lua")));
static INCR: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/incr.lua")));
static EXPIRE: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/expire.lua")));
static KEYS: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/keys.lua")));
static SWEEP: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/sweep.lua")));
static RESTORE: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/restore.lua")));

/// `zl:{<ns>:kv}:` — every kv key starts with it.
pub fn prefix(ns: &str) -> String {
    crate::engine::keys::prefix(ns, super::CAPABILITY.tag)
}

fn bad(what: &str) -> Error {
    Error::Backend(format!("unexpected reply from a kv script: {what}"))
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

/// Items by key.
pub async fn get_many(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    keys: Vec<String>,
) -> Result<Vec<Option<Item>>> {
    let p = prefix(&ns);
    let mut cmd = GET.call(&format!("{p}idx"));
    cmd.arg(&p);
    for k in &keys {
        cmd.arg(k);
    }
    let reply: Vec<RValue> = GET.run(&r, &mut c, &cmd).await?;
    let now = crate::clock::now_ms();
    keys.into_iter()
        .zip(reply)
        .map(|(key, v)| match v {
            RValue::Array(f) if f.len() == 4 => {
                let pttl = int(&f[3])?;
                Ok(Some(Item {
                    key,
                    value: Value::from_stored(&string(&f[0])?, bytes(&f[1])?)?,
                    version: string(&f[2])?.parse().map_err(|_| bad("version"))?,
                    expires_at_ms: (pttl >= 0).then(|| now + pttl as u64),
                }))
            }
            RValue::Nil | RValue::Boolean(false) => Ok(None),
            RValue::Int(0) => Ok(None),
            other => Err(bad(&format!("{other:?}"))),
        })
        .collect()
}

/// Writes all or none.
pub async fn set_many(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    puts: Vec<Put>,
    now: u64,
) -> Result<Vec<u64>> {
    let p = prefix(&ns);
    let mut cmd = SET.call(&format!("{p}idx"));
    cmd.arg(&p).arg(now);
    for x in &puts {
        cmd.arg(&x.key)
            .arg(x.value.code())
            .arg(x.value.data())
            .arg(x.ttl_ms.map(|t| t.to_string()).unwrap_or_default())
            .arg(x.if_version.map(|v| v.to_string()).unwrap_or_default());
    }
    let reply: Vec<RValue> = SET.run(&r, &mut c, &cmd).await?;
    if let Some(RValue::BulkString(tag)) = reply.first() {
        if tag.as_slice() == b"conflict" && reply.len() == 3 {
            let key = string(&reply[1])?;
            let want = puts
                .iter()
                .find(|x| x.key == key)
                .and_then(|x| x.if_version)
                .unwrap_or(0);
            return Err(conflict(&key, want, int(&reply[2])?.max(0) as u64));
        }
    }
    reply
        .iter()
        .map(|v| int(v).map(|n| n.max(0) as u64))
        .collect()
}

/// Deletes keys; returns how many existed.
pub async fn delete_many(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    keys: Vec<String>,
) -> Result<u64> {
    let p = prefix(&ns);
    let mut cmd = DELETE.call(&format!("{p}idx"));
    cmd.arg(&p);
    for k in &keys {
        cmd.arg(k);
    }
    let n: i64 = DELETE.run(&r, &mut c, &cmd).await?;
    Ok(n.max(0) as u64)
}

/// See `Kv::incr`.
pub async fn incr(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    key: String,
    by: i64,
    ttl: Option<u64>,
    now: u64,
) -> Result<i64> {
    let p = prefix(&ns);
    let mut cmd = INCR.call(&format!("{p}idx"));
    cmd.arg(&p)
        .arg(now)
        .arg(&key)
        .arg(by)
        .arg(ttl.map(|t| t.to_string()).unwrap_or_default());
    let reply: Vec<String> = INCR.run(&r, &mut c, &cmd).await?;
    match reply.as_slice() {
        [ok, n] if ok == "ok" => n.parse().map_err(|_| bad("incr result")),
        [e] if e == "notint" => Err(Error::validation(format!(
            "kv key {key:?} does not hold an integer"
        ))),
        [e] if e == "overflow" => Err(Error::validation(format!(
            "kv key {key:?}: adding {by} overflows 64 bits"
        ))),
        _ => Err(bad("incr")),
    }
}

async fn expiry(
    r: &Redis,
    c: &mut RedisConn,
    ns: &str,
    key: &str,
    mode: &str,
    ttl: Option<u64>,
    now: u64,
) -> Result<RValue> {
    let p = prefix(ns);
    let mut cmd = EXPIRE.call(&format!("{p}idx"));
    cmd.arg(&p)
        .arg(now)
        .arg(key)
        .arg(mode)
        .arg(ttl.map(|t| t.to_string()).unwrap_or_default());
    EXPIRE.run(r, c, &cmd).await
}

/// See `Kv::expire`.
pub async fn expire(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    key: String,
    ttl: Option<u64>,
    now: u64,
) -> Result<bool> {
    Ok(int(&expiry(&r, &mut c, &ns, &key, "set", ttl, now).await?)? == 1)
}

/// See `Kv::touch`.
pub async fn touch(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    key: String,
    now: u64,
) -> Result<bool> {
    Ok(int(&expiry(&r, &mut c, &ns, &key, "touch", None, now).await?)? == 1)
}

/// See `Kv::ttl`.
pub async fn ttl(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    key: String,
) -> Result<Option<Option<u64>>> {
    let now = crate::clock::now_ms();
    match expiry(&r, &mut c, &ns, &key, "get", None, now).await? {
        RValue::Array(v) if v.len() == 1 => {
            let pttl = int(&v[0])?;
            Ok(Some((pttl >= 0).then_some(pttl as u64)))
        }
        _ => Ok(None),
    }
}

/// See `Kv::keys`.
pub async fn keys(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    prefix_: String,
    after: Option<String>,
    limit: usize,
    now: u64,
) -> Result<KeyPage> {
    let p = prefix(&ns);
    // The lower bound, decided in byte order here (Lua compares strings by the locale).
    let lo = match after {
        Some(a) if a.as_bytes() >= prefix_.as_bytes() => format!("({a}"),
        _ => format!("[{prefix_}"),
    };
    let mut cmd = KEYS.call(&format!("{p}idx"));
    cmd.arg(&p).arg(now).arg(&prefix_).arg(lo).arg(limit);
    let keys: Vec<String> = KEYS.run(&r, &mut c, &cmd).await?;
    let next = (keys.len() == limit)
        .then(|| keys.last().cloned())
        .flatten();
    Ok(KeyPage { keys, next })
}

/// See `Kv::keys_desc`.
pub async fn keys_desc(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    prefix_: String,
    before: Option<String>,
    limit: usize,
    now: u64,
) -> Result<KeyPage> {
    let p = prefix(&ns);
    // The upper bound, decided in byte order here (Lua compares strings by the locale): below
    // `before` when it lies under the prefix's end, else every key with the prefix.
    let hi = match before {
        Some(b) if b.as_bytes() < prefix_.as_bytes() => {
            return Ok(KeyPage {
                keys: vec![],
                next: None,
            })
        }
        Some(b) if b.starts_with(&prefix_) => format!("({b}"),
        _ => String::new(), // the script's prefix..'\255'
    };
    let mut cmd = KEYS.call(&format!("{p}idx"));
    cmd.arg(&p)
        .arg(now)
        .arg(&prefix_)
        .arg(format!("[{prefix_}"))
        .arg(limit)
        .arg("desc")
        .arg(hi);
    let keys: Vec<String> = KEYS.run(&r, &mut c, &cmd).await?;
    let next = (keys.len() == limit)
        .then(|| keys.last().cloned())
        .flatten();
    Ok(KeyPage { keys, next })
}

/// See `Kv::sweep`.
pub async fn sweep(r: Arc<Redis>, mut c: RedisConn, ns: String, now: u64) -> Result<u64> {
    let p = prefix(&ns);
    let mut cmd = SWEEP.call(&format!("{p}idx"));
    cmd.arg(&p).arg(now);
    let n: i64 = SWEEP.run(&r, &mut c, &cmd).await?;
    Ok(n.max(0) as u64)
}

/// Writes items exactly as given (an import into an empty namespace).
pub async fn restore(r: Arc<Redis>, mut c: RedisConn, ns: String, items: Vec<Item>) -> Result<()> {
    let p = prefix(&ns);
    let mut cmd = RESTORE.call(&format!("{p}idx"));
    cmd.arg(&p);
    for it in &items {
        cmd.arg(&it.key)
            .arg(it.value.code())
            .arg(it.value.data())
            .arg(it.version)
            .arg(it.expires_at_ms.map(|e| e.to_string()).unwrap_or_default());
    }
    let _: i64 = RESTORE.run(&r, &mut c, &cmd).await?;
    Ok(())
}
