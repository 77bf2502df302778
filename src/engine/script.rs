//! Lua scripts on Redis: loaded once per server, called by SHA1 (`EVALSHA`), reloaded when the
//! server answers NOSCRIPT (after a restart or `SCRIPT FLUSH`).

use std::time::{Duration, Instant};

use redis::Script;

use super::keys;

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
        self.call_keys(&[key])
    }

    /// Starts an `EVALSHA` declaring `keys` (all in one hash slot on a cluster) and, after
    /// them, [`keys::absent_key`] of that slot, which no script writes: while the slot is being
    /// moved between cluster nodes, the call is answered TRYAGAIN instead of running on one
    /// half of the slot (retried by [`Lua::run`]). Scripts read their keys as `KEYS[1..n]`;
    /// the last entry of `KEYS` is that guard.
    pub fn call_keys(&self, keys: &[&str]) -> redis::Cmd {
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(&self.sha).arg(keys.len() + 1);
        for k in keys {
            cmd.arg(*k);
        }
        cmd.arg(keys::absent_key(keys.first().copied().unwrap_or_default()));
        cmd
    }

    /// Runs an `EVALSHA` built by [`Lua::call`], loading the script if the server lacks it.
    ///
    /// On a cluster, a call that meets a slot being moved (TRYAGAIN, or an ASK or MOVED the
    /// cluster client gave up following within its own few retries) is sent again after a
    /// short pause, for up to the reply timeout (`?timeout=`, 5 s by default); a script never ran when it got one of
    /// these answers, so sending it again is safe.
    pub async fn run<T: redis::FromRedisValue>(
        &self,
        r: &Redis,
        c: &mut RedisConn,
        cmd: &redis::Cmd,
    ) -> Result<T> {
        self.send(r, c, Request::Cmd(cmd)).await
    }

    /// [`Lua::run`] with `read` sent right behind the script, in the same round trip (a
    /// pipeline, not a transaction: another client's write may land between the two): the
    /// script's reply and the read's. The read must be safe to send again (it is, with the
    /// script, when the server lacked the script). On a cluster, two round trips: the script
    /// as [`Lua::run`] sends it, then the read.
    pub async fn run_then<T: redis::FromRedisValue, U: redis::FromRedisValue>(
        &self,
        r: &Redis,
        c: &mut RedisConn,
        cmd: &redis::Cmd,
        read: &redis::Cmd,
    ) -> Result<(T, U)> {
        if r.is_cluster() {
            // A cluster pipeline that fails after the cluster client's own retries does not
            // say which command failed: resending it after a read that met a moving slot
            // would run the script twice. The script alone, then the read.
            let out = self.run(r, c, cmd).await?;
            let got = read.query_async(c).await.map_err(|e| r.err(e))?;
            return Ok((out, got));
        }
        let mut pipe = redis::pipe();
        pipe.add_command(cmd.clone()).add_command(read.clone());
        self.send(r, c, Request::Pipe(&pipe)).await
    }

    async fn send<T: redis::FromRedisValue>(
        &self,
        r: &Redis,
        c: &mut RedisConn,
        what: Request<'_>,
    ) -> Result<T> {
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            let out = match what.query(c).await {
                Err(e) if e.code() == Some("NOSCRIPT") => {
                    let loaded: redis::RedisResult<String> = redis::cmd("SCRIPT")
                        .arg("LOAD")
                        .arg(&self.source)
                        .query_async(c)
                        .await;
                    match loaded {
                        Ok(_) => what.query(c).await,
                        Err(e) => Err(e),
                    }
                }
                other => other,
            };
            match out {
                Err(e) if moving(&e) && started.elapsed() < r.response_timeout() => {
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
                other => return other.map_err(|e| r.err(e)),
            }
        }
    }
}

/// What [`Lua::send`] sends: the script alone, or in a pipeline.
#[derive(Clone, Copy)]
enum Request<'a> {
    Cmd(&'a redis::Cmd),
    Pipe(&'a redis::Pipeline),
}

impl Request<'_> {
    async fn query<T: redis::FromRedisValue>(self, c: &mut RedisConn) -> redis::RedisResult<T> {
        match self {
            Request::Cmd(cmd) => cmd.query_async(c).await,
            Request::Pipe(pipe) => pipe.query_async(c).await,
        }
    }
}

/// True for the answers of a cluster whose slot is being moved: the script did not run.
fn moving(e: &redis::RedisError) -> bool {
    matches!(e.code(), Some("TRYAGAIN" | "ASK" | "MOVED"))
}

/// The pause before sending a call again: 5 ms, doubling, at most 100 ms.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((5u64 << attempt.min(5)).min(100))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_declares_the_absent_key_of_its_slot() {
        let l = Lua::new("", "return 1");
        let packed = |c: redis::Cmd| -> Vec<String> {
            c.args_iter()
                .map(|a| match a {
                    redis::Arg::Simple(b) => String::from_utf8_lossy(b).into_owned(),
                    _ => String::new(),
                })
                .collect()
        };
        let one = packed(l.call("zl:{n:kv}:idx"));
        assert_eq!(&one[2..], ["2", "zl:{n:kv}:idx", "zl:{n:kv}:~absent"]);
        let two = packed(l.call_keys(&["zl:{n:events}:log", "zl:{n:events}:cfg"]));
        assert_eq!(
            &two[2..],
            [
                "3",
                "zl:{n:events}:log",
                "zl:{n:events}:cfg",
                "zl:{n:events}:~absent"
            ]
        );
    }

    #[test]
    fn backoff_is_short_and_bounded() {
        assert_eq!(backoff(0), Duration::from_millis(5));
        assert_eq!(backoff(1), Duration::from_millis(10));
        assert_eq!(backoff(30), Duration::from_millis(100));
    }
}
