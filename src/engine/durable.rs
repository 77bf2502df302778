//! The `wait_replicas` durability option: after each request that writes, `WAIT` on the same
//! connection until that many replicas have the write (or the timeout passes, which fails the
//! request with TimeoutError although the master applied it).
//!
//! Redis replicates asynchronously: without this a master can acknowledge a write and die
//! before any replica copied it, and the promoted replica never saw it. `WAIT` cannot run
//! inside a script, so it follows the script as its own request; it waits for every write
//! sent on that connection before it, which includes the request's own.

use std::time::Duration;

use parking_lot::RwLock;

use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{Arg, Cmd, ErrorKind, RedisError, RedisResult, Value};

/// What a request that was applied but not confirmed in time fails with (matched by
/// `map_err`, which turns it into TimeoutError).
pub const NOT_REPLICATED: &str = "write not confirmed by enough replicas";

/// Replicas each write must reach before it is acknowledged, and how long to wait for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    /// At least this many replicas (`wait_replicas`).
    pub replicas: u32,
    /// For at most this long (`wait_timeout_ms`).
    pub timeout: Duration,
}

/// Default of `wait_timeout_ms`.
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_millis(1000);

impl Wait {
    /// The `WAIT` request.
    pub fn cmd(&self) -> Cmd {
        let mut c = redis::cmd("WAIT");
        c.arg(self.replicas).arg(self.timeout.as_millis() as u64);
        c
    }

    /// Ok when `WAIT`'s reply counts enough replicas.
    pub fn check(&self, reply: Value) -> RedisResult<()> {
        let got: i64 = redis::from_redis_value(reply)?;
        if got >= i64::from(self.replicas) {
            return Ok(());
        }
        Err(RedisError::from((
            ErrorKind::Extension,
            NOT_REPLICATED,
            format!(
                "{got} of the {} replica(s) asked for (wait_replicas) confirmed the write within \
                 {} ms (wait_timeout_ms); the master applied it, and it is lost if the master \
                 fails before a replica copies it",
                self.replicas,
                self.timeout.as_millis()
            ),
        )))
    }
}

/// Commands that change nothing: no `WAIT` after them.
const READS: &[&str] = &[
    "PING",
    "ECHO",
    "GET",
    "MGET",
    "STRLEN",
    "EXISTS",
    "TYPE",
    "TTL",
    "PTTL",
    "HGET",
    "HMGET",
    "HGETALL",
    "HLEN",
    "HEXISTS",
    "HKEYS",
    "HVALS",
    "HSCAN",
    "SCAN",
    "SSCAN",
    "ZSCAN",
    "SMEMBERS",
    "SISMEMBER",
    "SMISMEMBER",
    "SCARD",
    "ZRANGE",
    "ZREVRANGE",
    "ZRANGEBYSCORE",
    "ZREVRANGEBYSCORE",
    "ZRANGEBYLEX",
    "ZCARD",
    "ZSCORE",
    "ZMSCORE",
    "ZCOUNT",
    "ZRANK",
    "ZREVRANK",
    "LRANGE",
    "LLEN",
    "LINDEX",
    "XRANGE",
    "XREVRANGE",
    "XLEN",
    "XINFO",
    "XPENDING",
    "XREAD",
    "KEYS",
    "DBSIZE",
    "TIME",
    "INFO",
    "CLUSTER",
    "CLIENT",
    "HELLO",
    "AUTH",
    "SELECT",
    "READONLY",
    "WAIT",
    "EVALSHA_RO",
    "EVAL_RO",
    "FCALL_RO",
    "SCRIPT",
];

/// The SHA1s of scripts that only read (see [`super::script::Lua::read_only`]): Redis 6.2 has
/// no `EVALSHA_RO` to say so on the wire.
static READ_ONLY_SCRIPTS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Records that the script `sha` never writes.
pub fn mark_read_only(sha: &str) {
    let mut known = READ_ONLY_SCRIPTS.write();
    if !known.iter().any(|s| s == sha) {
        known.push(sha.to_string());
    }
}

fn arg(cmd: &Cmd, i: usize) -> Option<&[u8]> {
    match cmd.args_iter().nth(i)? {
        Arg::Simple(n) => Some(n),
        _ => None,
    }
}

/// True when `cmd` may write.
fn write(cmd: &Cmd) -> bool {
    let Some(name) = arg(cmd, 0) else {
        return true;
    };
    if name.eq_ignore_ascii_case(b"EVALSHA") {
        let sha = arg(cmd, 1).unwrap_or_default();
        return !READ_ONLY_SCRIPTS.read().iter().any(|s| s.as_bytes() == sha);
    }
    !READS
        .iter()
        .any(|r| r.as_bytes().eq_ignore_ascii_case(name))
}

/// True when any of `cmds` may write.
pub fn writes<'a>(mut cmds: impl Iterator<Item = &'a Cmd>) -> bool {
    cmds.any(write)
}

/// The first key `cmd` names, where the command has one.
fn first_key(cmd: &Cmd) -> Option<&[u8]> {
    let args: Vec<&[u8]> = cmd
        .args_iter()
        .map(|a| match a {
            Arg::Simple(s) => s,
            _ => b"",
        })
        .collect();
    let name = args.first()?.to_ascii_uppercase();
    match name.as_slice() {
        b"EVALSHA" | b"EVAL" | b"FCALL" => {
            let n: usize = std::str::from_utf8(args.get(2)?).ok()?.parse().ok()?;
            (n > 0).then(|| args.get(3).copied()).flatten()
        }
        b"XREADGROUP" | b"XREAD" => {
            let at = args
                .iter()
                .position(|a| a.eq_ignore_ascii_case(b"STREAMS"))?;
            args.get(at + 1).copied()
        }
        _ => args.get(1).copied(),
    }
}

/// On a cluster, where the `WAIT` after `cmds` goes: the master of the first key's slot (the
/// node the write went to). None for keyless requests: `WAIT` then asks every master and
/// takes the smallest count.
pub fn route<'a>(mut cmds: impl Iterator<Item = &'a Cmd>) -> Option<RoutingInfo> {
    let key = cmds.find_map(first_key)?;
    Some(RoutingInfo::SingleNode(
        SingleNodeRoutingInfo::SpecificNode(Route::with_key(key, SlotAddr::Master)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_not_waited_for_and_keys_route() {
        let mut get = redis::cmd("get");
        get.arg("k");
        assert!(!writes(std::iter::once(&get)));
        let mut eval = redis::cmd("EVALSHA");
        eval.arg("sha").arg(2).arg("{a}x").arg("{a}y").arg("v");
        assert!(writes([&get, &eval].into_iter()));
        let want = Route::with_key("{a}x", SlotAddr::Master);
        assert!(matches!(
            route(std::iter::once(&eval)),
            Some(RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(r))) if r == want
        ));
        mark_read_only("ro-sha");
        let mut ro = redis::cmd("EVALSHA");
        ro.arg("ro-sha").arg(1).arg("{a}x");
        assert!(!writes(std::iter::once(&ro)));
        let mut keyless = redis::cmd("EVALSHA");
        keyless.arg("sha").arg(0);
        assert!(route(std::iter::once(&keyless)).is_none());
        let mut xrg = redis::cmd("XREADGROUP");
        xrg.arg("GROUP")
            .arg("g")
            .arg("c")
            .arg("STREAMS")
            .arg("{s}q")
            .arg(">");
        assert_eq!(first_key(&xrg), Some(&b"{s}q"[..]));
    }

    #[test]
    fn too_few_replicas_fail_the_request() {
        let w = Wait {
            replicas: 2,
            timeout: Duration::from_millis(50),
        };
        assert!(w.check(Value::Int(2)).is_ok());
        let e = w.check(Value::Int(1)).err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains(NOT_REPLICATED)));
    }
}
