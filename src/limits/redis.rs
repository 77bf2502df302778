//! `hub.limits` on Redis: one sorted set per key, `zl:{<ns>:limits}:w:<key>`, its admissions
//! scored by time; one script per check (`lua/check.lua`), with a time to live that drops the
//! log once its newest entry has left the window.

use std::sync::{Arc, LazyLock};

use super::{decide_from, Decision, Spec};
use crate::engine::script::Lua;
use crate::engine::{Redis, RedisConn};
use crate::error::Result;

static CHECK: LazyLock<Lua> = LazyLock::new(|| Lua::new("", include_str!("lua/check.lua")));
static PEEK: LazyLock<Lua> =
    LazyLock::new(|| Lua::read_only("-- peek\n", include_str!("lua/check.lua")));
static RESET: LazyLock<Lua> = LazyLock::new(|| Lua::new("", include_str!("lua/reset.lua")));

/// The log of `key`.
pub fn log_key(ns: &str, key: &str) -> String {
    format!(
        "{}w:{key}",
        crate::engine::keys::prefix(ns, super::CAPABILITY.tag)
    )
}

/// See `Limits::check` (`admit`) and `Limits::peek`.
pub async fn check(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    key: String,
    s: Spec,
    admit: bool,
) -> Result<Decision> {
    let lua = if admit { &*CHECK } else { &*PEEK };
    let mut cmd = lua.call(&log_key(&ns, &key));
    cmd.arg(s.now_ms)
        .arg(s.window_ms)
        .arg(s.limit)
        .arg(s.cost)
        .arg(if admit { "1" } else { "0" })
        .arg(format!("{:016x}", rand::random::<u64>()));
    let (n, newest, gate): (i64, i64, i64) = lua.run(&r, &mut c, &cmd).await?;
    let t = |v: i64| (v >= 0).then_some(v as u64);
    Ok(decide_from(n.max(0) as u64, t(newest), t(gate), &s))
}

/// See `Limits::reset`.
pub async fn reset(r: Arc<Redis>, mut c: RedisConn, ns: String, key: String) -> Result<bool> {
    let cmd = RESET.call(&log_key(&ns, &key));
    let n: i64 = RESET.run(&r, &mut c, &cmd).await?;
    Ok(n > 0)
}
