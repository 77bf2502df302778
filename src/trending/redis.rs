//! `hub.trending` on Redis: one sorted set per board (and per bucket of a windowed board)
//! under the namespace's trending hash tag; one Lua script per operation (docs/keys.md).

use std::sync::{Arc, LazyLock};

use redis::Value as RValue;

use super::{Board, DEFAULT_MAX_ITEMS};
use crate::engine::script::Lua;
use crate::engine::{Redis, RedisConn};
use crate::error::{Error, Result};

const COMMON: &str = include_str!("lua/common.lua");

static BUMP: LazyLock<Lua> = LazyLock::new(|| Lua::new(COMMON, include_str!("lua/bump.lua")));
static READ: LazyLock<Lua> = LazyLock::new(|| Lua::new(COMMON, include_str!("lua/read.lua")));
static DEFINE: LazyLock<Lua> = LazyLock::new(|| Lua::new(COMMON, include_str!("lua/define.lua")));
static DELETE: LazyLock<Lua> = LazyLock::new(|| Lua::new(COMMON, include_str!("lua/delete.lua")));

/// `zl:{<ns>:trending}:` — every trending key starts with it.
pub fn prefix(ns: &str) -> String {
    crate::engine::keys::prefix(ns, super::CAPABILITY.tag)
}

fn bad(what: &str) -> Error {
    Error::Backend(format!("unexpected reply from a trending script: {what}"))
}

fn float(v: &RValue) -> Result<f64> {
    let s: String = redis::from_redis_value_ref(v).map_err(|e| bad(&e.to_string()))?;
    s.parse().map_err(|_| bad("a score"))
}

/// See `Trending::define`.
pub async fn define(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    board: String,
    b: Board,
) -> Result<()> {
    let p = prefix(&ns);
    let mut cmd = DEFINE.call(&format!("{p}b:{board}"));
    cmd.arg(&p)
        .arg(&board)
        .arg(b.half_life_ms)
        .arg(b.window_ms)
        .arg(b.max_items);
    let reply: Vec<String> = DEFINE.run(&r, &mut c, &cmd).await?;
    match reply.first().map(String::as_str) {
        Some("ok") => Ok(()),
        Some("conflict") => Err(super::sqlite::conflict(&board)),
        _ => Err(bad("define")),
    }
}

/// See `Trending::bump`.
pub async fn bump(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    board: String,
    item: String,
    by: f64,
    at: i64,
) -> Result<Option<f64>> {
    let p = prefix(&ns);
    let mut cmd = BUMP.call(&format!("{p}b:{board}"));
    cmd.arg(&p)
        .arg(&board)
        .arg(&item)
        .arg(format!("{by:?}"))
        .arg(at)
        .arg(DEFAULT_MAX_ITEMS)
        .arg(crate::clock::now_ms());
    let v: RValue = BUMP.run(&r, &mut c, &cmd).await?;
    match v {
        RValue::Nil | RValue::Boolean(false) => Ok(None),
        v => Ok(Some(float(&v)?)),
    }
}

/// See `Trending::top`.
pub async fn top(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    board: String,
    n: usize,
    now: i64,
) -> Result<Vec<(String, f64)>> {
    let p = prefix(&ns);
    let mut cmd = READ.call(&format!("{p}b:{board}"));
    cmd.arg(&p).arg(&board).arg("top").arg(n).arg(now);
    let flat: Vec<RValue> = READ.run(&r, &mut c, &cmd).await?;
    flat.chunks_exact(2)
        .map(|p| {
            Ok((
                redis::from_redis_value_ref(&p[0]).map_err(|e| bad(&e.to_string()))?,
                float(&p[1])?,
            ))
        })
        .collect()
}

/// See `Trending::rank`.
pub async fn rank(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    board: String,
    item: String,
    now: i64,
) -> Result<Option<(u64, f64)>> {
    let p = prefix(&ns);
    let mut cmd = READ.call(&format!("{p}b:{board}"));
    cmd.arg(&p).arg(&board).arg("rank").arg(&item).arg(now);
    let v: RValue = READ.run(&r, &mut c, &cmd).await?;
    match v {
        RValue::Array(a) if a.len() == 2 => {
            let rank: i64 = redis::from_redis_value_ref(&a[0]).map_err(|e| bad(&e.to_string()))?;
            Ok(Some((rank.max(1) as u64, float(&a[1])?)))
        }
        RValue::Nil | RValue::Boolean(false) => Ok(None),
        other => Err(bad(&format!("{other:?}"))),
    }
}

/// See `Trending::delete`.
pub async fn delete(r: Arc<Redis>, mut c: RedisConn, ns: String, board: String) -> Result<bool> {
    let p = prefix(&ns);
    let mut cmd = DELETE.call(&format!("{p}b:{board}"));
    cmd.arg(&p).arg(&board);
    let n: i64 = DELETE.run(&r, &mut c, &cmd).await?;
    Ok(n == 1)
}
