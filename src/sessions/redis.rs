//! `hub.sessions` on Redis: a hash per session and a sorted set per user, under the
//! namespace's sessions tag; one script per operation (`lua/`, keys in docs/keys.md).

use std::sync::{Arc, LazyLock};

use redis::Value as RValue;

use super::{Session, MAX_DATA};
use crate::engine::script::Lua;
use crate::engine::{Redis, RedisConn};
use crate::error::{Error, Result};

const COMMON: &str = include_str!("lua/common.lua");

fn script(body: &str) -> Lua {
    Lua::new(COMMON, body)
}

static CREATE: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/create.lua")));
static GET: LazyLock<Lua> = LazyLock::new(|| Lua::read_only(COMMON, include_str!("lua/get.lua")));
static TOUCH: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/touch.lua")));
static UPDATE: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/update.lua")));
static DESTROY: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/destroy.lua")));
static FOR_USER: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/for_user.lua")));
static DESTROY_USER: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/destroy_user.lua")));

/// `zl:{<ns>:sessions}:` — every sessions key starts with it.
pub fn prefix(ns: &str) -> String {
    crate::engine::keys::prefix(ns, super::CAPABILITY.tag)
}

fn bad(what: &str) -> Error {
    Error::Backend(format!("unexpected reply from a sessions script: {what}"))
}

fn string(v: &RValue) -> Result<String> {
    redis::from_redis_value_ref(v).map_err(|e| bad(&e.to_string()))
}

/// A session from its hash's fields (HGETALL).
fn session(id: String, fields: &[RValue]) -> Result<Session> {
    let mut s = Session {
        id,
        user: String::new(),
        data: Default::default(),
        created_ms: 0,
        expires_ms: 0,
        ttl_ms: 0,
    };
    let mut entries = Vec::new();
    let num = |v: &str| v.parse::<u64>().map_err(|_| bad("a time"));
    for pair in fields.chunks_exact(2) {
        let (f, v) = (string(&pair[0])?, string(&pair[1])?);
        match f.as_str() {
            "u" => s.user = v,
            "c" => s.created_ms = num(&v)?,
            "e" => s.expires_ms = num(&v)?,
            "l" => s.ttl_ms = num(&v)?,
            _ => {
                if let Some(k) = f.strip_prefix("d:") {
                    entries.push((k.to_string(), v));
                }
            }
        }
    }
    s.data = super::data(entries)?;
    Ok(s)
}

/// See `Sessions::create`.
pub async fn create(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    s: Session,
    e: Vec<(String, String)>,
    now: u64,
) -> Result<Session> {
    let p = prefix(&ns);
    let mut cmd = CREATE.call(&format!("{p}s:{}", s.id));
    cmd.arg(&p)
        .arg(now)
        .arg(&s.id)
        .arg(&s.user)
        .arg(s.created_ms)
        .arg(s.expires_ms)
        .arg(s.ttl_ms)
        .arg(super::size(&e));
    for (k, v) in &e {
        cmd.arg(k).arg(v);
    }
    let n: i64 = CREATE.run(&r, &mut c, &cmd).await?;
    if n == 0 {
        return Err(Error::Conflict("session id taken (retry)".into()));
    }
    Ok(s)
}

/// See `Sessions::get`.
pub async fn get(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    id: String,
    now: u64,
) -> Result<Option<Session>> {
    let mut cmd = GET.call(&format!("{}s:{id}", prefix(&ns)));
    cmd.arg(now);
    let f: Vec<RValue> = GET.run(&r, &mut c, &cmd).await?;
    if f.is_empty() {
        return Ok(None);
    }
    session(id, &f).map(Some)
}

/// See `Sessions::touch`.
pub async fn touch(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    id: String,
    ttl: Option<u64>,
    now: u64,
) -> Result<bool> {
    let p = prefix(&ns);
    let mut cmd = TOUCH.call(&format!("{p}s:{id}"));
    cmd.arg(&p)
        .arg(now)
        .arg(&id)
        .arg(ttl.map(|t| t.to_string()).unwrap_or_default());
    let n: i64 = TOUCH.run(&r, &mut c, &cmd).await?;
    Ok(n == 1)
}

/// See `Sessions::update`.
pub async fn update(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    id: String,
    e: Vec<(String, Option<String>)>,
    replace: bool,
    now: u64,
) -> Result<bool> {
    let mut cmd = UPDATE.call(&format!("{}s:{id}", prefix(&ns)));
    cmd.arg(now)
        .arg(if replace { "1" } else { "0" })
        .arg(MAX_DATA);
    for (k, v) in &e {
        cmd.arg(k).arg(v.as_deref().unwrap_or(""));
    }
    let reply: Vec<RValue> = UPDATE.run(&r, &mut c, &cmd).await?;
    match reply.as_slice() {
        [RValue::Int(n)] => Ok(*n == 1),
        [_, RValue::Int(z)] => Err(super::too_big(*z as usize)),
        _ => Err(bad("update")),
    }
}

/// See `Sessions::destroy`.
pub async fn destroy(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    id: String,
    now: u64,
) -> Result<bool> {
    let p = prefix(&ns);
    let mut cmd = DESTROY.call(&format!("{p}s:{id}"));
    cmd.arg(&p).arg(now).arg(&id);
    let n: i64 = DESTROY.run(&r, &mut c, &cmd).await?;
    Ok(n == 1)
}

/// See `Sessions::for_user`.
pub async fn for_user(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    user: String,
    now: u64,
) -> Result<Vec<Session>> {
    let p = prefix(&ns);
    let mut cmd = FOR_USER.call(&format!("{p}u:{user}"));
    cmd.arg(&p).arg(now);
    let reply: Vec<RValue> = FOR_USER.run(&r, &mut c, &cmd).await?;
    reply
        .chunks_exact(2)
        .map(|pair| match &pair[1] {
            RValue::Array(f) => session(string(&pair[0])?, f),
            other => Err(bad(&format!("{other:?}"))),
        })
        .collect()
}

/// See `Sessions::destroy_user`.
pub async fn destroy_user(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    user: String,
    now: u64,
) -> Result<u64> {
    let p = prefix(&ns);
    let mut cmd = DESTROY_USER.call(&format!("{p}u:{user}"));
    cmd.arg(&p).arg(now);
    let n: i64 = DESTROY_USER.run(&r, &mut c, &cmd).await?;
    Ok(n.max(0) as u64)
}
