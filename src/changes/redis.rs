//! The change feed on Redis: each declaring capability keeps its feed under its own keys, a
//! stream `P changes` (fields `s` sequence number, `i` record id, `v` version, `k` kind) and
//! a counter `P changes:n` (its sequence's last number), so a write and its entries are one
//! script in one cluster slot. Writers append with the prelude's `record_changes` and wake
//! readers on the namespace's `changes` channel.

use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use super::{merge, rescan, Change, Cursor, Feed, Kind, Page, Slice};
use crate::engine::keys;
use crate::engine::script::Lua;
use crate::engine::{Redis, RedisConn};
use crate::error::{Error, Result};

static READ: LazyLock<Lua> = LazyLock::new(|| Lua::read_only("", include_str!("lua/read.lua")));
static LAST: LazyLock<Lua> = LazyLock::new(|| Lua::read_only("", include_str!("lua/last.lua")));

/// Wake-up topic of the feed (the channel `zlw:<ns>:changes` that `record_changes` publishes).
pub const WAKE: &str = "changes";

fn ms_of(id: &str) -> u64 {
    id.split('-')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0)
}

fn num(v: &str) -> Result<u64> {
    v.parse()
        .map_err(|_| Error::Backend(format!("change feed: {v:?} is not a number")))
}

async fn slice(
    r: &Redis,
    c: &mut RedisConn,
    ns: &str,
    cap: &'static str,
    tag: &str,
    after: &str,
    n: usize,
) -> Result<Slice> {
    let p = keys::prefix(ns, tag);
    let mut cmd = READ.call(&format!("{p}changes"));
    cmd.arg(&p).arg(after).arg(n);
    let v: Vec<String> = READ.run(r, c, &cmd).await?;
    let (last, rest) = v
        .split_first()
        .ok_or_else(|| Error::Backend("change feed: empty reply".into()))?;
    let mut entries = Vec::with_capacity(rest.len() / 5);
    for e in rest.chunks(5) {
        let [pos, seq, id, version, kind] = e else {
            return Err(Error::Backend("change feed: short entry".into()));
        };
        entries.push(Change {
            capability: cap.to_string(),
            id: id.clone(),
            version: num(version)?,
            kind: Kind::parse(kind)?,
            at_ms: ms_of(pos),
            seq: num(seq)?,
            pos: pos.clone(),
        });
    }
    Ok(Slice {
        entries,
        last: num(last)?,
    })
}

/// The end of each declaring capability's sequence: `(capability, last, position)`.
pub async fn last(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    feeds: Arc<[Feed]>,
) -> Result<Vec<(String, u64, String)>> {
    let mut out = Vec::new();
    for cap in feeds.iter() {
        let p = keys::prefix(&ns, cap.tag);
        let mut cmd = LAST.call(&format!("{p}changes"));
        cmd.arg(&p);
        let (last, pos): (String, String) = LAST.run(&r, &mut c, &cmd).await?;
        out.push((cap.name.to_string(), num(&last)?, pos));
    }
    Ok(out)
}

/// Changes after `cur` (see `Changes::read`), waiting up to `block` for the first.
pub async fn read(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    feeds: Arc<[Feed]>,
    cur: Cursor,
    limit: usize,
    block: Duration,
) -> Result<Page> {
    let deadline = Instant::now() + block;
    let wakeups = r.wakeups(&ns);
    loop {
        // Ticket before reading, so a write between the read and the wait is not missed.
        let mut ticket = if block.is_zero() {
            None
        } else {
            Some(wakeups.ticket(WAKE).await)
        };
        let mut slices = Vec::new();
        for cap in feeds.iter() {
            let after = cur.get(cap.name).map_or("", |(_, pos)| pos);
            slices.push((
                cap.name,
                slice(&r, &mut c, &ns, cap.name, cap.tag, after, limit).await?,
            ));
        }
        let Some(page) = merge(&cur, slices, limit) else {
            let end = last(r.clone(), c.clone(), ns.clone(), feeds.clone()).await?;
            return Err(rescan(Cursor::at_end(end)));
        };
        let now = Instant::now();
        if !page.changes.is_empty() || now >= deadline {
            return Ok(page);
        }
        if let Some(t) = ticket.as_mut() {
            t.wait(deadline - now).await;
        }
    }
}
