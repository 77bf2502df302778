//! `hub.events` on Redis for a namespace with `n > 1` partitions (docs/scaling.md "## Events").
//!
//! The log is split by channel: channel `c` lives in partition `of_key(c, n)`, a stream under
//! the tag `{<ns>:events:<p>}` with its own retention hash, so each publish is one script on
//! one slot. Ids stay `<ms>-<seq>` and unique across the namespace (`lua/part_common.lua`:
//! seq = (µs within the ms × 10⁶ + counter) × n + partition), and they order the merged log.
//!
//! A read over several partitions (a pattern, or channels in several partitions) reads each
//! partition concurrently and hands out events in id order only up to a **watermark**: the
//! lowest id any partition may still give a later publish (from each master's `TIME` at the
//! read, and what the read returned). So a merged reader never sees an id below one it has
//! already seen, and the id of the last event handed out is a complete resume point. Cursors
//! carry one position per partition (`<base>[~<p>.<id>]*`, only where a partition's position
//! differs from the base): "from now" and a read that handed nothing out can end there; a
//! plain id means "after this id" in every partition.

use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use redis::Value;

use super::redis::parse_entry;
use super::{matches_any, parse_id, Batch, Event, Retention, DEFAULT_MAX_LEN};
use crate::engine::partition;
use crate::engine::script::Lua;
use crate::engine::{wake, Redis, RedisConn};
use crate::error::{Error, Result};

const COMMON: &str = include_str!("lua/part_common.lua");
static PUBLISH: LazyLock<Lua> =
    LazyLock::new(|| Lua::new(COMMON, include_str!("lua/part_publish.lua")));
static READ: LazyLock<Lua> =
    LazyLock::new(|| Lua::read_only("", include_str!("lua/part_read.lua")));
static GAP: LazyLock<Lua> = LazyLock::new(|| Lua::read_only("", include_str!("lua/part_gap.lua")));

/// Events per µs per partition the ids keep in publish order across partitions (`F` of
/// `lua/part_common.lua`).
const F: u64 = 1_000_000;

/// Wake-up topic of the log (one for every partition).
const TOPIC: &str = "events";

/// An id as `(ms, seq)`.
pub type Id = (u64, u64);

/// `zl:{<ns>:events:<p>}:` — partition `p`'s keys.
pub fn prefix(ns: &str, p: u16, n: u16) -> String {
    partition::prefix(ns, super::CAPABILITY.tag, p, n)
}

fn log_key(ns: &str, p: u16, n: u16) -> String {
    format!("{}log", prefix(ns, p, n))
}

fn fmt(id: Id) -> String {
    format!("{}-{}", id.0, id.1)
}

/// The partitions a read of `patterns` touches: every one for a glob (or no pattern), else
/// those of the channels named.
pub fn partitions_of(patterns: &[String], n: u16) -> Vec<u16> {
    if patterns.is_empty() || patterns.iter().any(|p| p.contains(['*', '?'])) {
        return (0..n).collect();
    }
    let mut v: Vec<u16> = patterns.iter().map(|c| partition::of_key(c, n)).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Positions, one per partition, from a cursor: a plain id (the same in every partition) or
/// `<base>~<p>.<id>~…`.
pub fn parse_cursor(s: &str, n: u16) -> Result<Vec<Id>> {
    let mut parts = s.split('~');
    let base = parse_id(parts.next().unwrap_or_default())?;
    let mut pos = vec![base; usize::from(n)];
    for part in parts {
        let bad = || {
            Error::validation(format!(
                "event cursor {s:?} is not of the form <ms>-<seq>[~<partition>.<ms>-<seq>]... \
                 for a namespace with {n} partitions; pass an id or a cursor a read returned"
            ))
        };
        let (p, id) = part.split_once('.').ok_or_else(bad)?;
        let p: usize = p.parse().map_err(|_| bad())?;
        if p >= usize::from(n) {
            return Err(bad());
        }
        pos[p] = parse_id(id).map_err(|_| bad())?;
    }
    Ok(pos)
}

/// The cursor of `pos`: the lowest position, then the partitions that differ from it.
pub fn cursor_string(pos: &[Id]) -> String {
    let base = pos.iter().copied().min().unwrap_or((0, 0));
    let mut s = fmt(base);
    for (p, id) in pos.iter().enumerate() {
        if *id != base {
            s.push_str(&format!("~{p}.{}", fmt(*id)));
        }
    }
    s
}

/// One partition's share of a read: the highest id it can no longer give a new event
/// (inclusive), and the entries after the position (at most `limit`; `limit` 0 reads none).
struct Share {
    bound: Id,
    rows: Vec<(Id, Event)>,
    full: bool,
}

async fn read_one(
    r: &Redis,
    mut c: RedisConn,
    ns: &str,
    p: u16,
    n: u16,
    after: Id,
    limit: usize,
) -> Result<Share> {
    let pre = prefix(ns, p, n);
    let mut cmd = READ.call_keys(&[&format!("{pre}log"), &format!("{pre}cfg")]);
    cmd.arg(fmt(after)).arg(limit);
    let v: Vec<Value> = READ.run(r, &mut c, &cmd).await?;
    let bad = || Error::Backend("unexpected reply from the events read script".into());
    let [secs, us, newest, rows] = v.as_slice() else {
        return Err(bad());
    };
    let secs: u64 = redis::from_redis_value_ref(secs).map_err(|_| bad())?;
    let us: u64 = redis::from_redis_value_ref(us).map_err(|_| bad())?;
    let newest: String = redis::from_redis_value_ref(newest).map_err(|_| bad())?;
    let Value::Array(rows) = rows else {
        return Err(bad());
    };
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let e = parse_entry(row)?;
        out.push((parse_id(&e.id)?, e));
    }
    // No later publish on this partition takes an id below (ms, µs × F × n) (part_common.lua).
    let ms = secs * 1000 + us / 1000;
    let floor = (us % 1000) * F * u64::from(n);
    let mut bound = if floor > 0 {
        (ms, floor - 1)
    } else {
        (ms.saturating_sub(1), u64::MAX)
    };
    if !newest.is_empty() {
        bound = bound.max(parse_id(&newest)?);
    }
    let full = limit > 0 && out.len() == limit;
    if full {
        // Entries past the page are unseen: the partition is known only up to its last row.
        bound = out.last().map_or(after, |(id, _)| *id);
    }
    Ok(Share {
        bound: bound.max(after),
        rows: out,
        full,
    })
}

/// Reads `parts` after `pos` concurrently; returns the merged events up to the watermark (at
/// most `limit`), the watermark, whether some partition had more, and whether events past
/// the watermark were left for the next read.
async fn merge(
    r: &Redis,
    c: &RedisConn,
    ns: &str,
    n: u16,
    parts: &[u16],
    pos: &[Id],
    limit: usize,
) -> Result<(Vec<Event>, Id, bool, bool)> {
    let shares = join_all(
        parts
            .iter()
            .map(|&p| read_one(r, c.clone(), ns, p, n, pos[usize::from(p)], limit)),
    )
    .await;
    let mut mark = (u64::MAX, u64::MAX);
    let mut rows = Vec::new();
    let mut more = false;
    for s in shares {
        let s = s?;
        mark = mark.min(s.bound);
        more |= s.full;
        rows.extend(s.rows);
    }
    rows.sort_unstable_by_key(|(id, _)| *id);
    let total = rows.len();
    let mut out = Vec::new();
    for (id, e) in rows {
        if id > mark {
            break;
        }
        if out.len() == limit {
            more = true;
            break;
        }
        out.push((id, e));
    }
    if out.len() == limit {
        mark = out.last().map_or(mark, |(id, _)| *id);
    }
    let waiting = total > out.len() && !more;
    Ok((
        out.into_iter().map(|(_, e)| e).collect(),
        mark,
        more,
        waiting,
    ))
}

/// "From now": per partition of `parts`, the highest id it can no longer give a new event
/// (others: the lowest of these).
async fn now_positions(
    r: &Redis,
    c: &RedisConn,
    ns: &str,
    n: u16,
    parts: &[u16],
) -> Result<Vec<Id>> {
    let shares = join_all(
        parts
            .iter()
            .map(|&p| read_one(r, c.clone(), ns, p, n, (0, 0), 0)),
    )
    .await;
    let mut pos = vec![(u64::MAX, u64::MAX); usize::from(n)];
    for (&p, s) in parts.iter().zip(shares) {
        pos[usize::from(p)] = s?.bound;
    }
    let low = pos.iter().copied().min().unwrap_or((0, 0));
    for x in pos.iter_mut() {
        if *x == (u64::MAX, u64::MAX) {
            *x = low;
        }
    }
    Ok(pos)
}

/// The cursor where a subscription "from now" starts: every event the log holds is before
/// it, every later publish after it.
pub async fn start(
    r: Arc<Redis>,
    c: RedisConn,
    ns: String,
    n: u16,
    patterns: Vec<String>,
) -> Result<String> {
    let parts = partitions_of(&patterns, n);
    Ok(cursor_string(&now_positions(&r, &c, &ns, n, &parts).await?))
}

/// Appends events (channel, JSON) in order within each partition: one script per partition,
/// run concurrently; returns the ids and times in the order given.
pub async fn publish(
    r: Arc<Redis>,
    c: RedisConn,
    ns: String,
    n: u16,
    items: Arc<Vec<(String, String)>>,
) -> Result<Vec<(String, f64)>> {
    let mut groups: Vec<(u16, Vec<usize>)> = Vec::new();
    for (i, (ch, _)) in items.iter().enumerate() {
        let p = partition::of_key(ch, n);
        match groups.iter_mut().find(|(q, _)| *q == p) {
            Some((_, v)) => v.push(i),
            None => groups.push((p, vec![i])),
        }
    }
    let wake_channel = wake::channel(&ns, TOPIC);
    let calls = groups.iter().map(|(p, idx)| {
        let (r, mut c) = (r.clone(), c.clone());
        let pre = prefix(&ns, *p, n);
        let mut cmd = PUBLISH.call_keys(&[&format!("{pre}log"), &format!("{pre}cfg")]);
        cmd.arg(&wake_channel).arg(DEFAULT_MAX_LEN).arg(*p).arg(n);
        for &i in idx {
            cmd.arg(&items[i].0).arg(&items[i].1);
        }
        async move { PUBLISH.run::<Vec<String>>(&r, &mut c, &cmd).await }
    });
    let replies = join_all(calls).await;
    let mut ids = vec![String::new(); items.len()];
    let mut failed = None;
    for ((_, idx), reply) in groups.iter().zip(replies) {
        match reply {
            Ok(got) if got.len() == idx.len() => {
                for (&i, id) in idx.iter().zip(got) {
                    ids[i] = id;
                }
            }
            Ok(_) => {
                failed = Some(Error::Backend(
                    "unexpected reply from the publish script: short".into(),
                ))
            }
            Err(e) => failed = Some(e),
        }
    }
    r.wakeups(&ns).fire(TOPIC);
    if let Some(e) = failed {
        return Err(e);
    }
    Ok(ids
        .into_iter()
        .map(|id| {
            let t = parse_id(&id).map_or(0.0, |(ms, _)| ms as f64 / 1e3);
            (id, t)
        })
        .collect())
}

/// Matching events after `after` (None: from now) in id order across the partitions the
/// patterns touch, waiting up to `block` for one.
#[allow(clippy::too_many_arguments)]
pub async fn read(
    r: Arc<Redis>,
    c: RedisConn,
    ns: String,
    n: u16,
    patterns: Vec<String>,
    after: Option<String>,
    limit: usize,
    block: Duration,
) -> Result<Batch> {
    let deadline = Instant::now() + block;
    let wakeups = r.wakeups(&ns);
    let parts = partitions_of(&patterns, n);
    let mut pos = match after {
        Some(a) => parse_cursor(&a, n)?,
        None => now_positions(&r, &c, &ns, n, &parts).await?,
    };
    loop {
        // Ticket before reading, so a publish between the read and the wait is not missed.
        let mut ticket = if block.is_zero() {
            None
        } else {
            Some(wakeups.ticket(TOPIC).await)
        };
        let (got, mark, more, waiting) = merge(&r, &c, &ns, n, &parts, &pos, limit).await?;
        let moved = parts.iter().any(|&p| pos[usize::from(p)] < mark);
        for &p in &parts {
            let x = &mut pos[usize::from(p)];
            *x = (*x).max(mark);
        }
        let events: Vec<Event> = got
            .into_iter()
            .filter(|e| matches_any(&patterns, &e.channel))
            .collect();
        let now = Instant::now();
        if !events.is_empty() || now >= deadline {
            return Ok(Batch {
                events,
                cursor: cursor_string(&pos),
            });
        }
        if more && moved {
            continue;
        }
        if more || waiting {
            // Events past the watermark (published on one partition while another was being
            // read, or a master's clock behind): the watermark passes within the millisecond.
            tokio::time::sleep(Duration::from_micros(200)).await;
            continue;
        }
        if let Some(t) = ticket.as_mut() {
            t.wait(deadline - now).await;
        }
    }
}

/// Id of the newest event over every partition ("0-0" when the log is empty).
pub async fn last_id(r: Arc<Redis>, c: RedisConn, ns: String, n: u16) -> Result<String> {
    let tops = join_all((0..n).map(|p| {
        let (r, mut c, key) = (r.clone(), c.clone(), log_key(&ns, p, n));
        async move {
            let v: Vec<Value> = redis::cmd("XREVRANGE")
                .arg(&key)
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(1)
                .query_async(&mut c)
                .await
                .map_err(|e| r.err(e))?;
            match v.first() {
                Some(e) => Ok(Some(parse_id(&parse_entry(e)?.id)?)),
                None => Ok::<_, Error>(None),
            }
        }
    }))
    .await;
    let mut top = (0, 0);
    for t in tops {
        top = top.max(t?.unwrap_or((0, 0)));
    }
    Ok(fmt(top))
}

/// Events every partition holds.
pub async fn len(r: Arc<Redis>, c: RedisConn, ns: String, n: u16) -> Result<u64> {
    let lens = join_all((0..n).map(|p| {
        let (r, mut c, key) = (r.clone(), c.clone(), log_key(&ns, p, n));
        async move {
            redis::cmd("XLEN")
                .arg(&key)
                .query_async::<u64>(&mut c)
                .await
                .map_err(|e| r.err(e))
        }
    }))
    .await;
    lens.into_iter().sum()
}

/// Stores the retention in every partition (each applies it to itself).
pub async fn set_retention(
    r: Arc<Redis>,
    c: RedisConn,
    ns: String,
    n: u16,
    ret: Retention,
) -> Result<()> {
    let done = join_all((0..n).map(|p| {
        let (r, mut c, key) = (r.clone(), c.clone(), format!("{}cfg", prefix(&ns, p, n)));
        async move {
            let mut pipe = redis::pipe();
            pipe.atomic().hset(&key, "max_len", ret.max_len).ignore();
            match ret.max_age {
                Some(a) => pipe.hset(&key, "max_age_ms", a.as_millis() as u64).ignore(),
                None => pipe.hdel(&key, "max_age_ms").ignore(),
            };
            pipe.query_async::<()>(&mut c).await.map_err(|e| r.err(e))
        }
    }))
    .await;
    done.into_iter().collect()
}

/// The retention (as partition 0 keeps it; `set_retention` writes every partition).
pub async fn retention(r: Arc<Redis>, mut c: RedisConn, ns: String, n: u16) -> Result<Retention> {
    let (len, age): (Option<u64>, Option<u64>) = redis::cmd("HMGET")
        .arg(format!("{}cfg", prefix(&ns, 0, n)))
        .arg("max_len")
        .arg("max_age_ms")
        .query_async(&mut c)
        .await
        .map_err(|e| r.err(e))?;
    Ok(Retention {
        max_len: len.unwrap_or(DEFAULT_MAX_LEN),
        max_age: age.map(Duration::from_millis),
    })
}

/// `Some(oldest retained id)` when a partition may have dropped events after its position in
/// `after` (an id or a cursor): it does not hold the position itself, it has dropped entries
/// and its oldest entry is newer. None when every partition holds all it had after it.
pub async fn gap(
    r: Arc<Redis>,
    c: RedisConn,
    ns: String,
    n: u16,
    after: String,
) -> Result<Option<String>> {
    let pos = parse_cursor(&after, n)?;
    let replies = join_all((0..n).map(|p| {
        let (r, mut c, key) = (r.clone(), c.clone(), log_key(&ns, p, n));
        let at = fmt(pos[usize::from(p)]);
        async move {
            let mut cmd = GAP.call(&key);
            cmd.arg(at);
            GAP.run::<(String, u8, u8)>(&r, &mut c, &cmd).await
        }
    }))
    .await;
    let mut oldest: Option<Id> = None;
    for (p, reply) in replies.into_iter().enumerate() {
        let (first, held, dropped) = reply?;
        if first.is_empty() || held == 1 || dropped == 0 {
            continue;
        }
        let first = parse_id(&first)?;
        if first > pos[p] {
            oldest = Some(oldest.map_or(first, |o| o.min(first)));
        }
    }
    Ok(oldest.map(fmt))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cursors_round_trip_and_plain_ids_mean_every_partition() {
        assert_eq!(parse_cursor("5-1", 3).unwrap(), vec![(5, 1); 3]);
        let pos = vec![(5, 1), (7, 0), (5, 1)];
        let s = cursor_string(&pos);
        assert_eq!(s, "5-1~1.7-0");
        assert_eq!(parse_cursor(&s, 3).unwrap(), pos);
        assert!(parse_cursor("5-1~3.7-0", 3).is_err());
        assert!(parse_cursor("5-1~x", 3).is_err());
        assert!(parse_cursor("latest", 3).is_err());
    }

    #[test]
    fn channels_read_their_partitions_and_globs_read_all() {
        assert_eq!(partitions_of(&[], 4), vec![0, 1, 2, 3]);
        assert_eq!(partitions_of(&["a:*".into()], 4), vec![0, 1, 2, 3]);
        let one = partitions_of(&["task:x".into()], 4);
        assert_eq!(one, vec![partition::of_key("task:x", 4)]);
    }
}
