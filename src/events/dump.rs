//! Events in a namespace export (`crate::transfer`, docs/export.md): a `log` record with the
//! retention and the id of the newest event, then one record per event the log holds (id,
//! channel, data), oldest first.
//!
//! Ids are carried as they are wherever the target can hold them. Both backends order a log
//! by `<ms>-<seq>`, but the embedded store numbers `seq` across the namespace while a Redis
//! stream numbers it within each millisecond:
//! - into Redis: every id is kept, except that an id not above the one before (the embedded
//!   store stamps the time before it takes the lock, so two processes can commit out of time
//!   order) moves up to the previous event's millisecond, keeping its `seq`;
//! - into the embedded store: every id whose `seq` grows is kept; one whose `seq` does not
//!   (a log written on Redis, where `seq` restarts each millisecond) gets the next `seq`,
//!   keeping its time. A subscriber that resumes from an id read on Redis should then start
//!   again from the log's start (`after="0"`) or its end.
//!
//! Channels, data and times are carried exactly.

use std::sync::Arc;

use redis::Value as RValue;
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{channel, parse_id, part, redis as rd, sqlite, Retention, DEFAULT_MAX_LEN};
use crate::engine::{tri, Backend, Importer, Op, Page, Record, Redis, RedisConn, Sqlite};
use crate::error::{Error, Result};
use crate::transfer::record::{self, BATCH, PAGE};

/// An events record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case", deny_unknown_fields)]
enum Rec {
    /// The log itself: its retention and the id of its newest event ("0-<n>" for an empty
    /// log on the embedded store, which keeps counting after a clear).
    Log {
        max_len: u64,
        max_age_ms: Option<u64>,
        last_id: String,
    },
    /// One event.
    Event {
        id: String,
        channel: String,
        data: Value,
    },
}

/// Where a page starts: after event `after` (None: the `log` record first).
#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    after: String,
}

fn log_rec(ret: Retention, last_id: String) -> Result<Option<Record>> {
    if ret == Retention::default() && matches!(last_id.as_str(), "0-0" | "0") {
        return Ok(None); // nothing to say: a new log looks like this
    }
    record::record(&Rec::Log {
        max_len: ret.max_len,
        max_age_ms: ret.max_age.map(|a| a.as_millis() as u64),
        last_id,
    })
    .map(Some)
}

/// One page of the log (the `log` record, then events oldest first).
pub fn export(b: &Backend, ns: &str, cursor: Value) -> Op<Page> {
    let cur: Option<Cursor> = tri!(record::cursor(cursor));
    b.call(
        (ns.to_string(), cur),
        |db, (ns, cur)| sqlite_page(db, &ns, cur),
        |r, c, (ns, cur)| redis_page(r, c, ns, cur),
    )
}

fn page(mut records: Vec<Record>, events: Vec<Record>, last: Option<String>) -> Result<Page> {
    let full = events.len() == PAGE;
    records.extend(events);
    Ok(Page {
        records,
        next: match last {
            Some(after) if full => Some(record::next(&Cursor { after })?),
            _ => None,
        },
    })
}

fn event_rec(id: String, channel: String, data: &str) -> Result<Record> {
    record::record(&Rec::Event {
        id,
        channel,
        data: serde_json::from_str(data)?,
    })
}

fn sqlite_page(db: &Sqlite, ns: &str, cur: Option<Cursor>) -> Result<Page> {
    let mut head = Vec::new();
    let after = match cur {
        Some(c) => parse_id(&c.after)?.1 as i64,
        None => {
            head.extend(log_rec(
                sqlite::retention(db, ns)?,
                sqlite::last_id(db, ns)?,
            )?);
            0
        }
    };
    let rows: Vec<(i64, i64, String, String)> = db.with(|c| {
        let mut st = c.prepare_cached(
            "SELECT seq, at_ms, channel, data FROM events WHERE ns = ?1 AND seq > ?2
             ORDER BY seq LIMIT ?3",
        )?;
        let v = st
            .query_map(params![ns, after, PAGE as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(v)
    })?;
    let last = rows.last().map(|(seq, at, _, _)| format!("{at}-{seq}"));
    let events = rows
        .into_iter()
        .map(|(seq, at, ch, data)| event_rec(format!("{at}-{seq}"), ch, &data))
        .collect::<Result<_>>()?;
    page(head, events, last)
}

async fn redis_page(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    cur: Option<Cursor>,
) -> Result<Page> {
    let n = stored_partitions(&r, &mut c, &ns).await?;
    if n > 1 {
        return part_page(r, c, ns, n, cur).await;
    }
    let mut head = Vec::new();
    let from = match cur {
        Some(c) => format!("({}", c.after),
        None => {
            let ret = rd::retention(r.clone(), c.clone(), ns.clone()).await?;
            let last = rd::last_id(r.clone(), c.clone(), ns.clone()).await?;
            head.extend(log_rec(ret, last)?);
            "-".to_string()
        }
    };
    let rows: Vec<RValue> = redis::cmd("XRANGE")
        .arg(format!("{}log", rd::prefix(&ns)))
        .arg(from)
        .arg("+")
        .arg("COUNT")
        .arg(PAGE)
        .query_async(&mut c)
        .await
        .map_err(|e| r.err(e))?;
    let mut events = Vec::with_capacity(rows.len());
    let mut last = None;
    for row in rows {
        let (id, fields): (String, Vec<(String, String)>) =
            redis::from_redis_value(row).map_err(|e| Error::Backend(e.to_string()))?;
        let get = |k: &str| fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone());
        let (Some(ch), Some(data)) = (get("c"), get("d")) else {
            return Err(Error::Backend(format!(
                "event {id} lacks its channel or data"
            )));
        };
        events.push(event_rec(id.clone(), ch, &data)?);
        last = Some(id);
    }
    page(head, events, last)
}

/// Writes the log back in batches.
pub fn import(b: &Backend, ns: &str) -> Box<dyn Importer> {
    Box::new(Import {
        b: b.clone(),
        ns: ns.to_string(),
        prev: (0, 0),
        batch: Vec::new(),
    })
}

/// One event as it is written: `(ms, seq)` of its id, channel, data.
type Row = (u64, u64, String, String);

/// What a batch writes: the log's retention and last seq (once), then events.
enum Item {
    Log(u64, Option<u64>, u64),
    Event(Row),
}

struct Import {
    b: Backend,
    ns: String,
    /// The last id written (or read from the file, for the embedded store's renumbering).
    prev: (u64, u64),
    batch: Vec<Item>,
}

impl Import {
    fn flush(&mut self) -> Option<Op<()>> {
        if self.batch.is_empty() {
            return None;
        }
        let batch = std::mem::take(&mut self.batch);
        Some(self.b.call(
            (self.ns.clone(), batch),
            |db, (ns, batch)| sqlite_write(db, &ns, &batch),
            |r, c, (ns, batch)| redis_write(r, c, ns, batch),
        ))
    }
}

impl Importer for Import {
    fn add(&mut self, rec: Record) -> Result<Option<Op<()>>> {
        match record::parse("events", rec)? {
            Rec::Log {
                max_len,
                max_age_ms,
                last_id,
            } => {
                if max_len == 0 || max_age_ms == Some(0) {
                    return Err(Error::validation(
                        "a log keeps at least one event and a millisecond",
                    ));
                }
                let (_, seq) = parse_id(&last_id)?;
                self.batch.push(Item::Log(max_len, max_age_ms, seq));
            }
            Rec::Event {
                id,
                channel: ch,
                data,
            } => {
                channel(&ch)?;
                let (ms, seq) = parse_id(&id)?;
                let text = serde_json::to_string(&data)?;
                if text.len() > super::MAX_DATA {
                    return Err(Error::validation(format!(
                        "event {id} is over the size limit"
                    )));
                }
                // The id this target can hold (see the module docs).
                let (ms, seq) = match &self.b {
                    Backend::Sqlite(_) => (ms, seq.max(self.prev.1 + 1)),
                    Backend::Redis(_) if (ms, seq) > self.prev => (ms, seq),
                    Backend::Redis(_) => (self.prev.0, seq.max(self.prev.1 + 1)),
                };
                self.prev = (ms, seq);
                self.batch.push(Item::Event((ms, seq, ch, text)));
            }
        }
        Ok(if self.batch.len() >= BATCH {
            self.flush()
        } else {
            None
        })
    }

    fn finish(&mut self) -> Result<Option<Op<()>>> {
        Ok(self.flush())
    }
}

fn sqlite_write(db: &Sqlite, ns: &str, batch: &[Item]) -> Result<()> {
    db.with_tx_on(super::TOPIC, |tx| {
        let last: Option<i64> = tx
            .query_row("SELECT last_seq FROM event_logs WHERE ns = ?1", [ns], |r| {
                r.get(0)
            })
            .optional()?;
        if last.is_none() {
            tx.execute(
                "INSERT INTO event_logs (ns, last_seq, max_len) VALUES (?1, 0, ?2)",
                params![ns, DEFAULT_MAX_LEN as i64],
            )?;
        }
        let mut top = last.unwrap_or(0);
        let mut ins = tx.prepare_cached(
            "INSERT INTO events (ns, seq, at_ms, channel, data) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for item in batch {
            match item {
                Item::Log(max_len, age, seq) => {
                    tx.execute(
                        "UPDATE event_logs SET max_len = ?2, max_age_ms = ?3 WHERE ns = ?1",
                        params![ns, *max_len as i64, age.map(|a| a as i64)],
                    )?;
                    top = top.max(*seq as i64);
                }
                Item::Event((ms, seq, ch, data)) => {
                    let id = format!("{ms}-{seq}");
                    record::sqlite_insert(
                        ins.execute(params![ns, *seq as i64, *ms as i64, ch, data]),
                        "event",
                        &id,
                    )?;
                    top = top.max(*seq as i64);
                }
            }
        }
        tx.execute(
            "UPDATE event_logs SET last_seq = max(last_seq, ?2) WHERE ns = ?1",
            params![ns, top],
        )?;
        Ok(())
    })
}

/// The partition count the namespace keeps on Redis (`crate::engine::partition`).
async fn stored_partitions(r: &Redis, c: &mut RedisConn, ns: &str) -> Result<u16> {
    let n: Option<i64> = redis::cmd("GET")
        .arg(crate::engine::partition::count_key(ns))
        .query_async(c)
        .await
        .map_err(|e| r.err(e))?;
    Ok(n.map_or(1, |n| {
        n.clamp(1, i64::from(crate::engine::partition::MAX)) as u16
    }))
}

fn parse_row(row: RValue) -> Result<(String, String, String)> {
    let (id, fields): (String, Vec<(String, String)>) =
        redis::from_redis_value(row).map_err(|e| Error::Backend(e.to_string()))?;
    let get = |k: &str| fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone());
    let (Some(ch), Some(data)) = (get("c"), get("d")) else {
        return Err(Error::Backend(format!(
            "event {id} lacks its channel or data"
        )));
    };
    Ok((id, ch, data))
}

/// One page of a partitioned log: the first [`PAGE`] events after the cursor of every
/// partition, merged in id order (the order of `part`), the smallest [`PAGE`] kept.
async fn part_page(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    n: u16,
    cur: Option<Cursor>,
) -> Result<Page> {
    let mut head = Vec::new();
    let from = match cur {
        Some(c) => format!("({}", c.after),
        None => {
            let ret = part::retention(r.clone(), c.clone(), ns.clone(), n).await?;
            let last = part::last_id(r.clone(), c.clone(), ns.clone(), n).await?;
            head.extend(log_rec(ret, last)?);
            "-".to_string()
        }
    };
    let mut rows = Vec::new();
    for p in 0..n {
        let got: Vec<RValue> = redis::cmd("XRANGE")
            .arg(format!("{}log", part::prefix(&ns, p, n)))
            .arg(&from)
            .arg("+")
            .arg("COUNT")
            .arg(PAGE)
            .query_async(&mut c)
            .await
            .map_err(|e| r.err(e))?;
        for row in got {
            let (id, ch, data) = parse_row(row)?;
            rows.push((parse_id(&id)?, id, ch, data));
        }
    }
    rows.sort_unstable_by_key(|(k, ..)| *k);
    rows.truncate(PAGE);
    let last = rows.last().map(|(_, id, ..)| id.clone());
    let events = rows
        .into_iter()
        .map(|(_, id, ch, data)| event_rec(id, ch, &data))
        .collect::<Result<_>>()?;
    page(head, events, last)
}

async fn redis_write(r: Arc<Redis>, mut c: RedisConn, ns: String, batch: Vec<Item>) -> Result<()> {
    let n = stored_partitions(&r, &mut c, &ns).await?;
    if n > 1 {
        return part_write(r, c, ns, n, batch).await;
    }
    let p = rd::prefix(&ns);
    let mut pipe = redis::pipe();
    for item in &batch {
        match item {
            Item::Log(max_len, age, _) => {
                pipe.hset(format!("{p}cfg"), "max_len", *max_len).ignore();
                if let Some(a) = age {
                    pipe.hset(format!("{p}cfg"), "max_age_ms", *a).ignore();
                }
            }
            Item::Event((ms, seq, ch, data)) => {
                pipe.cmd("XADD")
                    .arg(format!("{p}log"))
                    .arg(format!("{ms}-{seq}"))
                    .arg("c")
                    .arg(ch)
                    .arg("d")
                    .arg(data)
                    .ignore();
            }
        }
    }
    pipe.query_async::<()>(&mut c).await.map_err(|e| r.err(e))
}

/// Writes a batch into a partitioned log: each event into its channel's partition, the
/// retention into every partition; one pipeline per partition.
async fn part_write(
    r: Arc<Redis>,
    c: RedisConn,
    ns: String,
    n: u16,
    batch: Vec<Item>,
) -> Result<()> {
    let mut pipes: Vec<redis::Pipeline> = (0..n).map(|_| redis::pipe()).collect();
    for item in &batch {
        match item {
            Item::Log(max_len, age, _) => {
                for (p, pipe) in pipes.iter_mut().enumerate() {
                    let cfg = format!("{}cfg", part::prefix(&ns, p as u16, n));
                    pipe.hset(&cfg, "max_len", *max_len).ignore();
                    if let Some(a) = age {
                        pipe.hset(&cfg, "max_age_ms", *a).ignore();
                    }
                }
            }
            Item::Event((ms, seq, ch, data)) => {
                let p = crate::engine::partition::of_key(ch, n);
                pipes[usize::from(p)]
                    .cmd("XADD")
                    .arg(format!("{}log", part::prefix(&ns, p, n)))
                    .arg(format!("{ms}-{seq}"))
                    .arg("c")
                    .arg(ch)
                    .arg("d")
                    .arg(data)
                    .ignore();
            }
        }
    }
    let done =
        futures_util::future::join_all(pipes.into_iter().filter(|p| !p.is_empty()).map(|pipe| {
            let (r, mut c) = (r.clone(), c.clone());
            async move { pipe.query_async::<()>(&mut c).await.map_err(|e| r.err(e)) }
        }))
        .await;
    done.into_iter().collect()
}
