//! Chat and activity logs on Redis: one stream per log (`<prefix>c:<conversation>`,
//! `<prefix>u:<user>`) trimmed by an exact `MAXLEN` on every append, and a sorted set listing
//! the logs (what an export walks). Appending is one Lua script (XADD, trim, index, PUBLISH on
//! the log's own wake channel), or for one entry to an existing log on a standalone server
//! the same XADD and PUBLISH without the script ([`quick_pipe`]); reads are plain `XRANGE` /
//! `XREVRANGE` (a read-only script that packed the entries into one string was tried:
//! converting the reply into Lua tables and back cost the server more than the client
//! saved). Followers wait on the wake channel of their log only, so an append wakes no
//! follower of another conversation.

use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use redis::Value;

use super::{id_text, Entry, Kind, NewEntry, Restored};
use crate::engine::script::Lua;
use crate::engine::{wake, Redis, RedisConn};
use crate::error::{Error, Result};

const COMMON: &str = include_str!("lua/common.lua");
static APPEND: LazyLock<Lua> = LazyLock::new(|| Lua::new(COMMON, include_str!("lua/append.lua")));
static CLEAR: LazyLock<Lua> = LazyLock::new(|| Lua::new(COMMON, include_str!("lua/clear.lua")));
static RESTORE: LazyLock<Lua> = LazyLock::new(|| Lua::new(COMMON, include_str!("lua/restore.lua")));

/// `zl:{<ns>:<tag>}:` — every key of this kind of log starts with it.
pub fn prefix(ns: &str, k: &Kind) -> String {
    crate::engine::keys::prefix(ns, k.name)
}

/// The stream of one log.
pub fn stream_key(ns: &str, k: &Kind, stream: &str) -> String {
    format!("{}{}{stream}", prefix(ns, k), k.key)
}

/// The sorted set of the namespace's logs (score 0, listed by name).
pub fn index_key(ns: &str, k: &Kind) -> String {
    format!("{}idx", prefix(ns, k))
}

/// The wake topic of one log (its channel is `zlw:<ns>:<topic>`).
fn topic(k: &Kind, stream: &str) -> String {
    format!("{}:{stream}", k.name)
}

fn bad(what: &str) -> Error {
    Error::Backend(format!("unexpected {what} in a chat or activity stream"))
}

/// A reply's text, taken out of it (the bytes become the string: no copy).
fn into_text(v: Value) -> Result<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b).map_err(|_| bad("non-UTF-8 text")),
        Value::SimpleString(s) => Ok(s),
        _ => Err(bad("value")),
    }
}

fn name_of(v: &Value) -> &[u8] {
    match v {
        Value::BulkString(b) => b,
        Value::SimpleString(s) => s.as_bytes(),
        _ => b"",
    }
}

/// One stream entry (`[id, [field, value, ...]]`) as an entry of `stream`, its strings taken
/// out of the reply.
fn into_entry(k: &Kind, stream: &str, v: Value) -> Result<Entry> {
    let Value::Array(parts) = v else {
        return Err(bad("entry"));
    };
    let Ok::<[Value; 2], _>([id, fields]) = parts.try_into() else {
        return Err(bad("entry"));
    };
    let Value::Array(fields) = fields else {
        return Err(bad("entry fields"));
    };
    let mut vals: [Option<String>; 3] = [None, None, None];
    let mut it = fields.into_iter();
    while let (Some(f), Some(v)) = (it.next(), it.next()) {
        let name = name_of(&f);
        if let Some(i) = k.fields.iter().position(|n| n.as_bytes() == name) {
            vals[i] = Some(into_text(v)?);
        }
    }
    let [kind, body, meta] = vals;
    let (Some(kind), Some(body)) = (kind, body) else {
        return Err(bad("entry without its fields"));
    };
    Ok(Entry {
        id: into_text(id)?,
        stream: stream.to_string(),
        kind,
        body,
        meta,
    })
}

/// The entries of a range reply (`XRANGE`, `XREVRANGE`), still as values.
fn rows(v: Value) -> Result<Vec<Value>> {
    match v {
        Value::Array(rows) => Ok(rows),
        Value::Nil => Ok(Vec::new()),
        _ => Err(bad("range reply")),
    }
}

fn entries(k: &Kind, stream: &str, rows: Vec<Value>) -> Result<Vec<Entry>> {
    rows.into_iter().map(|v| into_entry(k, stream, v)).collect()
}

/// An `XREVRANGE` reply's entries, oldest first.
fn oldest_first(k: &Kind, stream: &str, rows: Vec<Value>) -> Result<Vec<Entry>> {
    let mut out = entries(k, stream, rows)?;
    out.reverse();
    Ok(out)
}

/// The append script's call for `es` on `stream`, and the log's wake topic.
fn append_cmd(
    k: &'static Kind,
    ns: &str,
    stream: &str,
    es: &[NewEntry],
    max_len: u64,
) -> (redis::Cmd, String) {
    let key = stream_key(ns, k, stream);
    let t = topic(k, stream);
    let mut cmd = APPEND.call_keys(&[&key, &index_key(ns, k)]);
    cmd.arg(stream)
        .arg(max_len)
        .arg(wake::channel(ns, &t))
        .arg(k.fields.len());
    for f in k.fields {
        cmd.arg(*f);
    }
    for e in es {
        cmd.arg(&e.kind).arg(&e.body);
        if k.has_meta {
            cmd.arg(e.meta.as_deref().unwrap_or(""));
        }
    }
    (cmd, t)
}

/// After the append script answered: checks its ids and wakes this process's followers
/// (they need not wait for the pub/sub round trip).
fn appended(r: &Redis, ns: &str, t: &str, ids: Vec<String>, n: usize) -> Result<Vec<String>> {
    if ids.len() != n {
        return Err(bad("reply from the append script"));
    }
    r.wakeups(ns).fire(t);
    Ok(ids)
}

/// One entry on a standalone server, when the log exists: `XADD … NOMKSTREAM` (exact
/// `MAXLEN`) and `PUBLISH` on the log's wake channel, plain commands the server runs in about
/// a third of the append script's time (about 7 against 22 µs in `INFO commandstats`). An
/// existing log needs neither what the script adds: the first-id rule is for a log being
/// started, and the index entry was written when the log was (the script or a restore; only
/// `clear` removes it, with the log). A new or cleared log answers nil and goes to the script.
/// Not on a cluster, where a pipeline cannot carry `PUBLISH`; not for several entries, which
/// the script appends all or none. `None` when this path does not apply.
fn quick_pipe(
    r: &Redis,
    k: &Kind,
    ns: &str,
    stream: &str,
    es: &[NewEntry],
    max_len: u64,
) -> Option<redis::Pipeline> {
    let [e] = es else { return None };
    if r.is_cluster() {
        return None;
    }
    let mut add = redis::cmd("XADD");
    add.arg(stream_key(ns, k, stream))
        .arg("NOMKSTREAM")
        .arg("MAXLEN")
        .arg("=")
        .arg(max_len)
        .arg("*")
        .arg(k.fields[0])
        .arg(&e.kind)
        .arg(k.fields[1])
        .arg(&e.body);
    if let (true, Some(meta)) = (k.has_meta, &e.meta) {
        add.arg(k.fields[2]).arg(meta);
    }
    let mut pipe = redis::pipe();
    pipe.add_command(add);
    pipe.cmd("PUBLISH")
        .arg(wake::channel(ns, &topic(k, stream)))
        .arg("")
        .ignore();
    Some(pipe)
}

/// Appends entries in order (one script call, or [`quick_pipe`]); returns their ids.
pub async fn append(
    r: Arc<Redis>,
    mut c: RedisConn,
    k: &'static Kind,
    ns: String,
    stream: String,
    es: Vec<NewEntry>,
    max_len: u64,
) -> Result<Vec<String>> {
    if let Some(pipe) = quick_pipe(&r, k, &ns, &stream, &es, max_len) {
        let (id,): (Option<String>,) = pipe.query_async(&mut c).await.map_err(|e| r.err(e))?;
        if let Some(id) = id {
            return appended(&r, &ns, &topic(k, &stream), vec![id], 1);
        }
    }
    let (cmd, t) = append_cmd(k, &ns, &stream, &es, max_len);
    let ids: Vec<String> = APPEND.run(&r, &mut c, &cmd).await?;
    appended(&r, &ns, &t, ids, es.len())
}

fn recent_cmd(ns: &str, k: &Kind, stream: &str, n: usize) -> redis::Cmd {
    let mut cmd = redis::cmd("XREVRANGE");
    cmd.arg(stream_key(ns, k, stream))
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(n);
    cmd
}

/// The newest `n` entries, oldest first.
pub async fn recent(
    r: Arc<Redis>,
    mut c: RedisConn,
    k: &'static Kind,
    ns: String,
    stream: String,
    n: usize,
) -> Result<Vec<Entry>> {
    let v = c
        .reply(&recent_cmd(&ns, k, &stream, n))
        .await
        .map_err(|e| r.err(e))?;
    oldest_first(k, &stream, rows(v)?)
}

/// [`append`], then [`recent`] in the same round trip (the read right behind the script).
#[allow(clippy::too_many_arguments)]
pub async fn append_recent(
    r: Arc<Redis>,
    mut c: RedisConn,
    k: &'static Kind,
    ns: String,
    stream: String,
    es: Vec<NewEntry>,
    max_len: u64,
    n: usize,
) -> Result<(Vec<String>, Vec<Entry>)> {
    let read = recent_cmd(&ns, k, &stream, n);
    if let Some(mut pipe) = quick_pipe(&r, k, &ns, &stream, &es, max_len) {
        pipe.add_command(read.clone());
        let got = c.replies(&pipe).await.map_err(|e| r.err(e))?;
        let Ok::<[Value; 3], _>([id, _, range]) = got.try_into() else {
            return Err(bad("reply to an append"));
        };
        if id != Value::Nil {
            let ids = appended(&r, &ns, &topic(k, &stream), vec![into_text(id)?], 1)?;
            return Ok((ids, oldest_first(k, &stream, rows(range)?)?));
        }
    }
    let (cmd, t) = append_cmd(k, &ns, &stream, &es, max_len);
    let (ids, rows): (Vec<String>, Vec<Value>) = APPEND.run_then(&r, &mut c, &cmd, &read).await?;
    let ids = appended(&r, &ns, &t, ids, es.len())?;
    Ok((ids, oldest_first(k, &stream, rows)?))
}

/// Entries between `after` and `before` (exclusive), waiting up to `block` for the first.
#[allow(clippy::too_many_arguments)]
pub async fn range(
    r: Arc<Redis>,
    mut c: RedisConn,
    k: &'static Kind,
    ns: String,
    stream: String,
    after: (u64, u64),
    before: Option<(u64, u64)>,
    limit: usize,
    block: Duration,
) -> Result<Vec<Entry>> {
    if before == Some((0, 0)) {
        return Ok(vec![]); // nothing is before the start
    }
    let deadline = Instant::now() + block;
    let wakeups = r.wakeups(&ns);
    let key = stream_key(&ns, k, &stream);
    let start = match after {
        (0, 0) => "-".to_string(),
        (ms, seq) => format!("({}", id_text(ms, seq)),
    };
    let end = match before {
        Some((ms, seq)) => format!("({}", id_text(ms, seq)),
        None => "+".to_string(),
    };
    let t = topic(k, &stream);
    loop {
        // Ticket before reading, so an append between the read and the wait is not missed.
        let mut ticket = if block.is_zero() {
            None
        } else {
            Some(wakeups.ticket(&t).await)
        };
        let mut cmd = redis::cmd("XRANGE");
        cmd.arg(&key).arg(&start).arg(&end).arg("COUNT").arg(limit);
        let rows = rows(c.reply(&cmd).await.map_err(|e| r.err(e))?)?;
        let now = Instant::now();
        if !rows.is_empty() || now >= deadline {
            return entries(k, &stream, rows);
        }
        if let Some(t) = ticket.as_mut() {
            t.wait(deadline - now).await;
        }
    }
}

/// Id of the newest entry ("0-0" when the log has none).
pub async fn last_id(
    r: Arc<Redis>,
    mut c: RedisConn,
    k: &'static Kind,
    ns: String,
    stream: String,
) -> Result<String> {
    let rows: Vec<Value> = redis::cmd("XREVRANGE")
        .arg(stream_key(&ns, k, &stream))
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query_async(&mut c)
        .await
        .map_err(|e| r.err(e))?;
    match rows.into_iter().next() {
        Some(v) => Ok(into_entry(k, &stream, v)?.id),
        None => Ok("0-0".into()),
    }
}

/// Entries the log holds.
pub async fn count(
    r: Arc<Redis>,
    mut c: RedisConn,
    k: &'static Kind,
    ns: String,
    stream: String,
) -> Result<u64> {
    redis::cmd("XLEN")
        .arg(stream_key(&ns, k, &stream))
        .query_async(&mut c)
        .await
        .map_err(|e| r.err(e))
}

/// Deletes one log; returns how many entries went.
pub async fn clear_stream(
    r: Arc<Redis>,
    mut c: RedisConn,
    k: &'static Kind,
    ns: String,
    stream: String,
) -> Result<u64> {
    let mut cmd = CLEAR.call_keys(&[&stream_key(&ns, k, &stream), &index_key(&ns, k)]);
    cmd.arg(&stream);
    let n: i64 = CLEAR.run(&r, &mut c, &cmd).await?;
    Ok(n.max(0) as u64)
}

/// Writes entries with their ids (an import into an empty namespace).
pub async fn restore(
    r: Arc<Redis>,
    mut c: RedisConn,
    k: &'static Kind,
    ns: String,
    rows: Vec<Restored>,
) -> Result<()> {
    let mut cmd = RESTORE.call(&index_key(&ns, k));
    cmd.arg(format!("{}{}", prefix(&ns, k), k.key))
        .arg(k.fields.len());
    for f in k.fields {
        cmd.arg(*f);
    }
    for (stream, ms, seq, kind, body, meta) in &rows {
        cmd.arg(stream).arg(id_text(*ms, *seq)).arg(kind).arg(body);
        if k.has_meta {
            cmd.arg(meta.as_deref().unwrap_or(""));
        }
    }
    let _: i64 = RESTORE.run(&r, &mut c, &cmd).await?;
    Ok(())
}

/// One page of the namespace's entries in (log, id) order after `(stream, id)`.
pub async fn export_page(
    r: Arc<Redis>,
    mut c: RedisConn,
    k: &'static Kind,
    ns: String,
    after: Option<(String, u64, u64)>,
    limit: usize,
) -> Result<Vec<Entry>> {
    let lo = match &after {
        Some((s, _, _)) => format!("[{s}"),
        None => "-".to_string(),
    };
    // At most `limit` logs: each listed log holds at least one entry.
    let logs: Vec<String> = redis::cmd("ZRANGE")
        .arg(index_key(&ns, k))
        .arg(lo)
        .arg("+")
        .arg("BYLEX")
        .arg("LIMIT")
        .arg(0)
        .arg(limit)
        .query_async(&mut c)
        .await
        .map_err(|e| r.err(e))?;
    let mut out = Vec::new();
    for s in logs {
        let start = match &after {
            Some((a, ms, seq)) if *a == s => format!("({}", id_text(*ms, *seq)),
            _ => "-".to_string(),
        };
        let rows: Vec<Value> = redis::cmd("XRANGE")
            .arg(stream_key(&ns, k, &s))
            .arg(start)
            .arg("+")
            .arg("COUNT")
            .arg(limit - out.len())
            .query_async(&mut c)
            .await
            .map_err(|e| r.err(e))?;
        out.extend(entries(k, &s, rows)?);
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}
