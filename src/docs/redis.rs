//! `hub.docs` on Redis: one hash per document, a sorted set of paths (lexicographic, for
//! `list`) and the write-back queue (a sorted set scored by change time), all under the
//! namespace's docs hash tag; each write is one Lua script (docs/keys.md lists every key).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use redis::Value as RValue;

use super::sqlite::stale;
use super::{document, now, Document, Imported, Origin, State, Write, MAX_LIST};
use crate::engine::script::Lua;
use crate::engine::{wake, Redis, RedisConn};
use crate::error::{Error, Result};

static PUT: LazyLock<Lua> = LazyLock::new(|| Lua::new("", include_str!("lua/put.lua")));
static DELETE: LazyLock<Lua> = LazyLock::new(|| Lua::new("", include_str!("lua/delete.lua")));
static DONE: LazyLock<Lua> = LazyLock::new(|| Lua::new("", include_str!("lua/done.lua")));
static PUT_MANY: LazyLock<Lua> = LazyLock::new(|| Lua::new("", include_str!("lua/put_many.lua")));
static REBASE: LazyLock<Lua> = LazyLock::new(|| Lua::new("", include_str!("lua/rebase.lua")));

/// The wake-up topic of store-side writes (what the sync's write-back waits on).
pub const WAKE_TOPIC: &str = "docs";

/// `zl:{<ns>:docs}:` — every docs key starts with it.
pub fn prefix(ns: &str) -> String {
    crate::engine::keys::prefix(ns, super::CAPABILITY.tag)
}

fn doc_key(ns: &str, path: &str) -> String {
    format!("{}doc:{path}", prefix(ns))
}

fn bad(what: &str) -> Error {
    Error::Backend(format!("unexpected reply from the docs script: {what}"))
}

fn text(v: &RValue) -> Result<String> {
    redis::from_redis_value_ref(v).map_err(|e| bad(&e.to_string()))
}

/// The document at `path`, if any.
pub async fn get(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    path: String,
) -> Result<Option<Document>> {
    let h: HashMap<String, String> = redis::cmd("HGETALL")
        .arg(doc_key(&ns, &path))
        .query_async(&mut c)
        .await
        .map_err(|e| r.err(e))?;
    if h.is_empty() {
        return Ok(None);
    }
    let f = |k: &str| {
        h.get(k)
            .cloned()
            .ok_or_else(|| bad(&format!("document without {k}")))
    };
    let num = |k: &str| -> Result<f64> { f(k)?.parse().map_err(|_| bad(k)) };
    Ok(Some(document(
        path,
        f("text")?,
        &f("value")?,
        &f("fmt")?,
        num("version")? as u64,
        f("hash")?,
        &f("origin")?,
        num("created")?,
        num("updated")?,
        h.get("synced").cloned().unwrap_or_default(),
        h.get("whole").is_some_and(|w| w == "1"),
    )?))
}

/// Stores a write (see `Docs::write`).
pub async fn put(r: Arc<Redis>, mut c: RedisConn, ns: String, w: Write) -> Result<Document> {
    let p = prefix(&ns);
    let at = now();
    let mut cmd = PUT.call(&doc_key(&ns, &w.path));
    cmd.arg(&p)
        .arg(&w.path)
        .arg(&w.text)
        .arg(&w.value)
        .arg(w.format.name())
        .arg(&w.hash)
        .arg(w.origin.name())
        .arg(w.expected.map(|e| e.to_string()).unwrap_or_default())
        .arg(format!("{at:.3}"))
        .arg(if w.whole { "1" } else { "0" })
        .arg(wake::channel(&ns, WAKE_TOPIC));
    let reply: Vec<RValue> = PUT.run(&r, &mut c, &cmd).await?;
    let field = |i: usize| {
        reply
            .get(i)
            .map(text)
            .transpose()?
            .ok_or_else(|| bad("short reply"))
    };
    let num = |i: usize| -> Result<f64> { field(i)?.parse().map_err(|_| bad("number")) };
    // 'ok' stored this write; 'same' found the text stored already (and names its origin).
    let (origin, synced, whole) = match field(0)?.as_str() {
        "conflict" => return Err(stale(&w.path, w.expected.unwrap_or(0), num(1)? as u64)),
        "ok" => {
            if w.origin == Origin::Store {
                // The script PUBLISHed; this process's write-back needs no pub/sub hop.
                r.wakeups(&ns).fire(WAKE_TOPIC);
            }
            (
                w.origin.name().to_string(),
                field(4)?,
                w.whole && w.origin == Origin::Store,
            )
        }
        "same" => (field(4)?, field(5)?, field(6)? == "1"),
        other => return Err(bad(other)),
    };
    document(
        w.path,
        w.text,
        &w.value,
        w.format.name(),
        num(1)? as u64,
        w.hash,
        &origin,
        num(2)?,
        num(3)?,
        synced,
        whole,
    )
}

/// See `Docs::rebase`.
pub async fn rebase(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    path: String,
    hash: String,
    text: String,
) -> Result<bool> {
    let mut cmd = REBASE.call(&doc_key(&ns, &path));
    cmd.arg(&hash).arg(&text);
    let n: i64 = REBASE.run(&r, &mut c, &cmd).await?;
    Ok(n == 1)
}

/// See `Docs::base`.
pub async fn base(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    path: String,
) -> Result<Option<String>> {
    redis::cmd("HGET")
        .arg(doc_key(&ns, &path))
        .arg("base")
        .query_async(&mut c)
        .await
        .map_err(|e| r.err(e))
}

/// Deletes a document (see `Docs::delete`).
pub async fn delete(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    path: String,
    origin: Origin,
) -> Result<bool> {
    let mut cmd = DELETE.call(&doc_key(&ns, &path));
    cmd.arg(prefix(&ns))
        .arg(&path)
        .arg(origin.name())
        .arg(format!("{:.3}", now()))
        .arg(wake::channel(&ns, WAKE_TOPIC));
    let n: i64 = DELETE.run(&r, &mut c, &cmd).await?;
    if n == 1 && origin == Origin::Store {
        r.wakeups(&ns).fire(WAKE_TOPIC);
    }
    Ok(n == 1)
}

/// See `Docs::done_writeback`.
pub async fn done_writeback(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    path: String,
    hash: Option<String>,
) -> Result<bool> {
    let mut cmd = DONE.call(&doc_key(&ns, &path));
    cmd.arg(prefix(&ns))
        .arg(&path)
        .arg(hash.unwrap_or_default());
    let n: i64 = DONE.run(&r, &mut c, &cmd).await?;
    Ok(n == 1)
}

/// Paths starting with `prefix`, sorted (ZRANGEBYLEX on the path set).
pub async fn list(r: Arc<Redis>, mut c: RedisConn, ns: String, pfx: String) -> Result<Vec<String>> {
    let (lo, hi) = if pfx.is_empty() {
        ("-".to_string(), "+".to_string())
    } else {
        (format!("[{pfx}"), format!("({pfx}\u{10ffff}"))
    };
    redis::cmd("ZRANGEBYLEX")
        .arg(format!("{}paths", prefix(&ns)))
        .arg(lo)
        .arg(hi)
        .arg("LIMIT")
        .arg(0)
        .arg(MAX_LIST)
        .query_async(&mut c)
        .await
        .map_err(|e| r.err(e))
}

/// Paths waiting for write-back, oldest first.
pub async fn pending(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    limit: usize,
) -> Result<Vec<String>> {
    if limit == 0 {
        return Ok(vec![]);
    }
    redis::cmd("ZRANGE")
        .arg(format!("{}writeback", prefix(&ns)))
        .arg(0)
        .arg(limit - 1)
        .query_async(&mut c)
        .await
        .map_err(|e| r.err(e))
}

/// See `Docs::states`: one pipeline of HMGET (every docs key is under the namespace's tag, so
/// on a cluster the pipeline goes to one node).
pub async fn states(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    paths: Arc<Vec<String>>,
) -> Result<Vec<Option<State>>> {
    let mut pipe = redis::pipe();
    for p in paths.iter() {
        pipe.cmd("HMGET")
            .arg(doc_key(&ns, p))
            .arg("version")
            .arg("hash")
            .arg("synced");
    }
    type Row = (Option<u64>, Option<String>, Option<String>);
    let rows: Vec<Row> = pipe.query_async(&mut c).await.map_err(|e| r.err(e))?;
    if rows.len() != paths.len() {
        return Err(bad("short reply to the states pipeline"));
    }
    Ok(rows
        .into_iter()
        .map(|(version, hash, synced)| match (version, hash) {
            (Some(version), Some(hash)) => Some(State {
                hash,
                synced: synced.unwrap_or_default(),
                version,
            }),
            _ => None,
        })
        .collect())
}

/// See `Docs::import_many`: one call of `put_many.lua`.
pub async fn import_many(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    writes: Arc<Vec<Write>>,
) -> Result<Vec<Imported>> {
    let keys: Vec<String> = writes.iter().map(|w| doc_key(&ns, &w.path)).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let mut cmd = PUT_MANY.call_keys(&refs);
    cmd.arg(prefix(&ns)).arg(format!("{:.3}", now()));
    for w in writes.iter() {
        cmd.arg(&w.path)
            .arg(&w.text)
            .arg(&w.value)
            .arg(w.format.name())
            .arg(&w.hash)
            .arg(w.expected.map(|e| e.to_string()).unwrap_or_default());
    }
    let reply: Vec<(String, u64)> = PUT_MANY.run(&r, &mut c, &cmd).await?;
    if reply.len() != writes.len() {
        return Err(bad("short reply to put_many"));
    }
    reply
        .into_iter()
        .map(|(what, version)| match what.as_str() {
            "ok" => Ok(Imported::Stored(version)),
            "same" => Ok(Imported::Same(version)),
            "conflict" => Ok(Imported::Stale(version)),
            other => Err(bad(other)),
        })
        .collect()
}
