//! `hub.docs` on Redis: one hash per document, a sorted set of paths (lexicographic, for
//! `list`) and the write-back queue (a sorted set scored by change time), all under the
//! namespace's docs hash tag; each write is one Lua script (docs/keys.md lists every key).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use redis::Value as RValue;

use super::sqlite::stale;
use super::{document, now, Document, Origin, Write, MAX_LIST};
use crate::engine::script::Lua;
use crate::engine::{Redis, RedisConn};
use crate::error::{Error, Result};

static PUT: LazyLock<Lua> = LazyLock::new(|| Lua::new("", include_str!("lua/put.lua")));
static DELETE: LazyLock<Lua> = LazyLock::new(|| Lua::new("", include_str!("lua/delete.lua")));
static DONE: LazyLock<Lua> = LazyLock::new(|| Lua::new("", include_str!("lua/done.lua")));
static REBASE: LazyLock<Lua> = LazyLock::new(|| Lua::new("", include_str!("lua/rebase.lua")));

/// `zl:{<ns>:docs}:` — every docs key starts with it.
pub fn prefix(ns: &str) -> String {
    format!("zl:{{{ns}:docs}}:")
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
        .arg(if w.whole { "1" } else { "0" });
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
        "ok" => (
            w.origin.name().to_string(),
            field(4)?,
            w.whole && w.origin == Origin::Store,
        ),
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
        .arg(format!("{:.3}", now()));
    let n: i64 = DELETE.run(&r, &mut c, &cmd).await?;
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
