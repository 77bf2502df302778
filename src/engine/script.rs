//! Lua scripts on Redis: loaded once per server, called by SHA1 (`EVALSHA`), reloaded when the
//! server answers NOSCRIPT (after a restart or `SCRIPT FLUSH`).

use redis::Script;

use super::redis::{Redis, RedisConn};
use crate::error::Result;

/// A Lua script: its source (for SCRIPT LOAD) and its SHA1 (for EVALSHA).
pub struct Lua {
    source: String,
    sha: String,
}

/// Helpers every script may use (`now_ms`, `fmt`, `t3`), in front of each.
const PRELUDE: &str = include_str!("lua/prelude.lua");

impl Lua {
    /// The script `body` with the prelude of every script and then `common` (the helpers of
    /// one capability) in front of it.
    pub fn new(common: &str, body: &str) -> Lua {
        let source = format!("{PRELUDE}\n{common}\n{body}");
        let sha = Script::new(&source).get_hash().to_string();
        Lua { source, sha }
    }

    /// A script that never writes: the `wait_replicas` option sends no `WAIT` after it (see
    /// [`super::durable`]), so reads go on while replicas lag.
    pub fn read_only(common: &str, body: &str) -> Lua {
        let lua = Lua::new(common, body);
        super::durable::mark_read_only(&lua.sha);
        lua
    }

    /// Starts an `EVALSHA` with one routing key; add the arguments, then [`Lua::run`].
    /// (Built by hand rather than with `ScriptInvocation`, which copies every argument again:
    /// a batch of 1,000 tasks is ~45,000 arguments.)
    pub fn call(&self, key: &str) -> redis::Cmd {
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(&self.sha).arg(1).arg(key);
        cmd
    }

    /// Starts an `EVALSHA` declaring several keys (all in one hash slot on a cluster).
    pub fn call_keys(&self, keys: &[&str]) -> redis::Cmd {
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(&self.sha).arg(keys.len());
        for k in keys {
            cmd.arg(*k);
        }
        cmd
    }

    /// Runs an `EVALSHA` built by [`Lua::call`], loading the script if the server lacks it.
    pub async fn run<T: redis::FromRedisValue>(
        &self,
        r: &Redis,
        c: &mut RedisConn,
        cmd: &redis::Cmd,
    ) -> Result<T> {
        match cmd.query_async(c).await {
            Err(e) if e.code() == Some("NOSCRIPT") => {
                let _: String = redis::cmd("SCRIPT")
                    .arg("LOAD")
                    .arg(&self.source)
                    .query_async(c)
                    .await
                    .map_err(|e| r.err(e))?;
                cmd.query_async(c).await.map_err(|e| r.err(e))
            }
            other => other.map_err(|e| r.err(e)),
        }
    }
}
