//! `hub.flags` on Redis: bitmaps per flag over a dense table of user offsets, and a hash of
//! switches and rollouts, under the namespace's flags tag; one script per operation.

use std::sync::{Arc, LazyLock};

use super::{FlagState, Setting, MAX_USERS};
use crate::engine::script::Lua;
use crate::engine::{Redis, RedisConn};
use crate::error::{Error, Result};

const COMMON: &str = include_str!("lua/common.lua");

static SET: LazyLock<Lua> = LazyLock::new(|| Lua::new(COMMON, include_str!("lua/set.lua")));
static ENABLED: LazyLock<Lua> =
    LazyLock::new(|| Lua::read_only(COMMON, include_str!("lua/enabled.lua")));
static CFG: LazyLock<Lua> = LazyLock::new(|| Lua::new(COMMON, include_str!("lua/cfg.lua")));
static STATE: LazyLock<Lua> =
    LazyLock::new(|| Lua::read_only(COMMON, include_str!("lua/state.lua")));
static DELETE: LazyLock<Lua> = LazyLock::new(|| Lua::new(COMMON, include_str!("lua/delete.lua")));

/// `zl:{<ns>:flags}:` — every flags key starts with it.
pub fn prefix(ns: &str) -> String {
    crate::engine::keys::prefix(ns, super::CAPABILITY.tag)
}

fn start(lua: &Lua, ns: &str, flag: &str) -> redis::Cmd {
    let p = prefix(ns);
    let mut cmd = lua.call(&format!("{p}ids"));
    cmd.arg(&p).arg(flag);
    cmd
}

/// See `Flags::set`.
pub async fn set(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    flag: String,
    user: String,
    s: Setting,
) -> Result<bool> {
    let mut cmd = start(&SET, &ns, &flag);
    let mode = match s {
        Setting::On => "on",
        Setting::Off => "off",
        Setting::Unset => "unset",
    };
    cmd.arg(&user).arg(mode).arg(MAX_USERS);
    let n: i64 = SET.run(&r, &mut c, &cmd).await?;
    if n < 0 {
        return Err(Error::validation(format!(
            "namespace {ns:?} has named {MAX_USERS} users in its flags already: no more fit"
        )));
    }
    Ok(n == 1)
}

/// See `Flags::enabled_many`.
pub async fn enabled(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    flag: String,
    users: Vec<String>,
    buckets: Vec<u64>,
) -> Result<Vec<bool>> {
    let mut cmd = start(&ENABLED, &ns, &flag);
    for (u, b) in users.iter().zip(&buckets) {
        cmd.arg(u).arg(*b);
    }
    let v: Vec<i64> = ENABLED.run(&r, &mut c, &cmd).await?;
    Ok(v.into_iter().map(|x| x == 1).collect())
}

async fn cfg(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: &str,
    flag: &str,
    f: &str,
    v: String,
) -> Result<()> {
    let mut cmd = start(&CFG, ns, flag);
    cmd.arg(f).arg(v);
    let _: i64 = CFG.run(&r, &mut c, &cmd).await?;
    Ok(())
}

/// See `Flags::set_global`.
pub async fn set_global(
    r: Arc<Redis>,
    c: RedisConn,
    ns: String,
    flag: String,
    on: Option<bool>,
) -> Result<()> {
    let v = on.map(|b| if b { "1" } else { "0" }).unwrap_or("");
    cfg(r, c, &ns, &flag, "g", v.to_string()).await
}

/// See `Flags::rollout`.
pub async fn rollout(
    r: Arc<Redis>,
    c: RedisConn,
    ns: String,
    flag: String,
    buckets: u64,
) -> Result<()> {
    let v = if buckets == 0 {
        String::new()
    } else {
        buckets.to_string()
    };
    cfg(r, c, &ns, &flag, "r", v).await
}

/// See `Flags::state`.
pub async fn state(r: Arc<Redis>, mut c: RedisConn, ns: String, flag: String) -> Result<FlagState> {
    let cmd = start(&STATE, &ns, &flag);
    let (g, rollout, on, off): (String, i64, i64, i64) = STATE.run(&r, &mut c, &cmd).await?;
    Ok(FlagState {
        global: match g.as_str() {
            "1" => Some(true),
            "0" => Some(false),
            _ => None,
        },
        rollout: rollout.max(0) as u64,
        enabled: on.max(0) as u64,
        disabled: off.max(0) as u64,
    })
}

/// See `Flags::delete`.
pub async fn delete(r: Arc<Redis>, mut c: RedisConn, ns: String, flag: String) -> Result<bool> {
    let cmd = start(&DELETE, &ns, &flag);
    let n: i64 = DELETE.run(&r, &mut c, &cmd).await?;
    Ok(n > 0)
}
