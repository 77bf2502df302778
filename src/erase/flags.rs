//! Feature flags' part of an erase: the user's own settings of every flag, and its id in the
//! namespace's table of users (one transaction, or one script in the flags' slot).

use std::sync::{Arc, LazyLock};

use rusqlite::params;

use crate::engine::script::Lua;
use crate::engine::{Backend, Op, Redis, RedisConn};
use crate::error::Result;

static ERASE: LazyLock<Lua> = LazyLock::new(|| Lua::new("", include_str!("lua/flags.lua")));

/// Erases `user`'s own settings from the flags of `ns`; returns how many flags had one.
pub fn erase(b: &Backend, ns: &str, user: &str) -> Op<u64> {
    b.call(
        (ns.to_string(), user.to_string()),
        |db, (ns, u)| {
            db.with_tx(|tx| {
                Ok(tx
                    .prepare_cached("DELETE FROM flags_user WHERE ns = ?1 AND user = ?2")?
                    .execute(params![ns, u])? as u64)
            })
        },
        |r, c, (ns, u)| redis(r, c, ns, u),
    )
}

async fn redis(r: Arc<Redis>, mut c: RedisConn, ns: String, user: String) -> Result<u64> {
    let p = crate::flags::redis::prefix(&ns);
    let mut bitmaps = r.scan_keys(&format!("{p}on:*")).await?;
    bitmaps.extend(r.scan_keys(&format!("{p}off:*")).await?);
    let mut cmd = ERASE.call(&format!("{p}ids"));
    cmd.arg(&p).arg(&user);
    for k in &bitmaps {
        cmd.arg(k);
    }
    let n: i64 = ERASE.run(&r, &mut c, &cmd).await?;
    Ok(n.max(0) as u64)
}
