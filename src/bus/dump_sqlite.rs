//! The bus's export pages and import writes on the embedded store (see `dump.rs`).

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::dump::{message, Item, Rec};
use super::model::Settings;
use crate::engine::{Page, Record, Sqlite};
use crate::error::Result;
use crate::transfer::record::{self, sqlite_insert, PAGE};

/// Stages of an export, in order.
const META: u8 = 0;
const INBOX: u8 = 1;
const BCAST: u8 = 2;
const HIST: u8 = 3;
const ACKED: u8 = 4;
const IDEM: u8 = 5;
const DEAD: u8 = 6;

/// Where a page starts: a stage and the key after which it goes on.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    stage: u8,
    agent: String,
    rank: i64,
    n: i64,
    key: String,
}

fn rec(r: Rec) -> Result<Record> {
    record::record(&r)
}

/// One page of the bus (`cur` None: the first).
pub fn page(db: &Sqlite, ns: &str, cur: Option<Value>) -> Result<Page> {
    let cur: Cursor = match cur {
        Some(v) => record::cursor(v)?.unwrap_or_default(),
        None => Cursor::default(),
    };
    let stage = cur.stage;
    let (records, more) = db.with(|c| match stage {
        META => meta(c, ns).map(|r| (r, None)),
        INBOX => inbox(c, ns, &cur),
        BCAST | HIST | DEAD => log(c, ns, stage, cur.n),
        _ => keyed(c, ns, stage, &cur.key),
    })?;
    let full = records.len() >= PAGE;
    let next = match more {
        Some(c) if full => Some(c),
        _ if stage < DEAD => Some(Cursor {
            stage: stage + 1,
            ..Cursor::default()
        }),
        _ => None,
    };
    Ok(Page {
        records,
        next: next.map(|c| record::next(&c)).transpose()?,
    })
}

fn meta(c: &Connection, ns: &str) -> Result<Vec<Record>> {
    let mut out = Vec::new();
    let cfg: Option<(i64, f64)> = c
        .query_row(
            "SELECT max_len, max_age FROM bus_cfg WHERE ns = ?1",
            [ns],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((len, age)) = cfg {
        out.push(rec(Rec::Cfg {
            max_len: Some(len as u64),
            max_age: Some(age),
        })?);
    }
    let seq: Option<(i64, i64)> = c
        .query_row("SELECT ms, n FROM bus_seq WHERE ns = ?1", [ns], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    if let Some((ms, n)) = seq {
        out.push(rec(Rec::Seq {
            ms: ms as u64,
            n: n as u64,
        })?);
    }
    let stats: Option<(i64, i64)> = c
        .query_row(
            "SELECT total, acked FROM bus_stats WHERE ns = ?1",
            [ns],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((total, acked)) = stats {
        out.push(rec(Rec::Stats {
            total: total as u64,
            acked: acked as u64,
        })?);
    }
    let mut st =
        c.prepare_cached("SELECT agent, kinds, grp FROM bus_agents WHERE ns = ?1 ORDER BY agent")?;
    let agents: Vec<(String, String, Option<String>)> = st
        .query_map([ns], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (agent, kinds, group) in agents {
        out.push(rec(Rec::Agent {
            agent,
            kinds: kinds
                .split('\n')
                .filter(|k| !k.is_empty())
                .map(String::from)
                .collect(),
            group,
        })?);
    }
    Ok(out)
}

type Paged = (Vec<Record>, Option<Cursor>);

fn inbox(c: &Connection, ns: &str, cur: &Cursor) -> Result<Paged> {
    let mut st = c.prepare_cached(
        "SELECT agent, rank, n, env, consumer, delivered_ms, deliveries FROM bus_inbox
         WHERE ns = ?1 AND (agent, rank, n) > (?2, ?3, ?4) ORDER BY agent, rank, n LIMIT ?5",
    )?;
    type Row = (String, i64, i64, String, Option<String>, Option<i64>, i64);
    let rows: Vec<Row> = st
        .query_map(params![ns, cur.agent, cur.rank, cur.n, PAGE as i64], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let next = rows.last().map(|(a, rank, n, ..)| Cursor {
        stage: INBOX,
        agent: a.clone(),
        rank: *rank,
        n: *n,
        key: String::new(),
    });
    let mut out = Vec::with_capacity(rows.len());
    for (agent, _, _, env, consumer, delivered, deliveries) in rows {
        out.push(rec(Rec::Inbox {
            agent,
            delivered_ms: delivered.filter(|_| consumer.is_some()).map(|d| d as u64),
            deliveries: if consumer.is_some() {
                deliveries as u64
            } else {
                0
            },
            consumer,
            message: message(&env)?,
            sid: None,
        })?);
    }
    Ok((out, next))
}

/// The broadcast log, the history or the dead letters, after `n` (their sequence).
fn log(c: &Connection, ns: &str, stage: u8, after: i64) -> Result<Paged> {
    let sql = match stage {
        BCAST => {
            "SELECT n, env, '', '', '', 0, '', 0 FROM bus_bcast WHERE ns = ?1 AND n > ?2
                  ORDER BY n LIMIT ?3"
        }
        HIST => {
            "SELECT n, env, recipients, '', '', 0, '', 0 FROM bus_hist WHERE ns = ?1
                 AND n > ?2 ORDER BY n LIMIT ?3"
        }
        _ => {
            "SELECT seq, env, agent, grp, consumer, deliveries, reason, ms FROM bus_dead
              WHERE ns = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"
        }
    };
    let mut st = c.prepare_cached(sql)?;
    type Row = (i64, String, String, String, String, i64, String, i64);
    let rows: Vec<Row> = st
        .query_map(params![ns, after, PAGE as i64], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let next = rows.last().map(|r| Cursor {
        stage,
        n: r.0,
        ..Cursor::default()
    });
    let mut out = Vec::with_capacity(rows.len());
    for (_, env, a, g, cons, d, why, ms) in rows {
        let message = message(&env)?;
        out.push(rec(match stage {
            BCAST => Rec::Bcast { message, sid: None },
            HIST => Rec::Hist {
                to: a,
                message,
                sid: None,
            },
            _ => Rec::Dead {
                agent: a,
                group: g,
                consumer: cons,
                deliveries: d as u64,
                reason: why,
                ms: ms as u64,
                message,
            },
        })?);
    }
    Ok((out, next))
}

/// The ack log or the idempotency keys, after `key`.
fn keyed(c: &Connection, ns: &str, stage: u8, after: &str) -> Result<Paged> {
    let sql = if stage == ACKED {
        "SELECT id, '', ms FROM bus_acked WHERE ns = ?1 AND id > ?2 ORDER BY id LIMIT ?3"
    } else {
        "SELECT key, env, ms FROM bus_idem WHERE ns = ?1 AND key > ?2 ORDER BY key LIMIT ?3"
    };
    let mut st = c.prepare_cached(sql)?;
    let rows: Vec<(String, String, i64)> = st
        .query_map(params![ns, after, PAGE as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let next = rows.last().map(|r| Cursor {
        stage,
        key: r.0.clone(),
        ..Cursor::default()
    });
    let mut out = Vec::with_capacity(rows.len());
    for (key, env, ms) in rows {
        out.push(rec(if stage == ACKED {
            Rec::Acked {
                id: key,
                ms: ms as u64,
            }
        } else {
            Rec::Idem {
                key,
                message: message(&env)?,
            }
        })?);
    }
    debug_assert!(stage == ACKED || stage == IDEM);
    Ok((out, next))
}

/// Writes one batch in one transaction.
pub fn write(db: &Sqlite, ns: &str, batch: &[Item]) -> Result<()> {
    let d = Settings::default();
    db.with_tx_on(super::TOPIC, |tx| {
        for item in batch {
            match item {
                Item::Cfg(len, age) => {
                    tx.execute(
                        "INSERT INTO bus_cfg (ns, max_len, max_age) VALUES (?1, ?2, ?3)",
                        params![ns, len.unwrap_or(d.max_len) as i64, age.unwrap_or(d.max_age)],
                    )?;
                }
                Item::Seq(ms, n) => {
                    tx.execute(
                        "INSERT INTO bus_seq (ns, ms, n) VALUES (?1, ?2, ?3)",
                        params![ns, *ms as i64, *n as i64],
                    )?;
                }
                Item::Stats(total, acked) => {
                    tx.execute(
                        "INSERT INTO bus_stats (ns, total, acked) VALUES (?1, ?2, ?3)",
                        params![ns, *total as i64, *acked as i64],
                    )?;
                }
                Item::Agent(agent, kinds, group) => {
                    tx.execute(
                        "INSERT INTO bus_agents (ns, agent, kinds, grp, since)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![ns, agent, kinds.join("\n"), group, crate::clock::now_ms() as i64],
                    )?;
                    for k in kinds {
                        tx.execute(
                            "INSERT INTO bus_kinds (ns, kind, agent) VALUES (?1, ?2, ?3)",
                            params![ns, k, agent],
                        )?;
                    }
                }
                Item::Inbox(agent, _, e, held) => {
                    let (consumer, at, n) = match held {
                        Some((c, at, n)) => (Some(c.as_str()), Some(*at as i64), *n as i64),
                        None => (None, None, 0),
                    };
                    sqlite_insert(
                        tx.prepare_cached(
                            "INSERT INTO bus_inbox (ns, agent, n, rank, ms, env, consumer,
                               delivered_ms, deliveries) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                        )?
                        .execute(params![
                            ns, agent, e.n as i64, e.rank, e.ms as i64, e.env, consumer, at, n
                        ]),
                        "inbox message",
                        &format!("{agent}/{}", e.id),
                    )?;
                }
                Item::Bcast(e) => sqlite_insert(
                    tx.execute(
                        "INSERT INTO bus_bcast (ns, n, ms, rank, source, env)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![ns, e.n as i64, e.ms as i64, e.rank, e.source, e.env],
                    ),
                    "broadcast",
                    &e.id,
                )?,
                Item::Hist(to, e) => sqlite_insert(
                    tx.prepare_cached(
                        "INSERT INTO bus_hist (ns, n, ms, source, recipients, env)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )?
                    .execute(params![ns, e.n as i64, e.ms as i64, e.source, to, e.env]),
                    "history entry",
                    &e.id,
                )?,
                Item::Acked(id, ms) => sqlite_insert(
                    tx.prepare_cached("INSERT INTO bus_acked (ns, id, ms) VALUES (?1, ?2, ?3)")?
                        .execute(params![ns, id, *ms as i64]),
                    "acked id",
                    id,
                )?,
                Item::Idem(key, e, _) => sqlite_insert(
                    tx.execute(
                        "INSERT INTO bus_idem (ns, key, env, ms) VALUES (?1, ?2, ?3, ?4)",
                        params![ns, key, e.env, e.ms as i64],
                    ),
                    "idempotency key",
                    key,
                )?,
                Item::Dead(d) => {
                    tx.execute(
                        "INSERT INTO bus_dead (ns, agent, id, grp, consumer, deliveries, reason,
                           ms, env) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                        params![
                            ns,
                            d.agent,
                            d.env.id,
                            d.group,
                            d.consumer,
                            d.deliveries as i64,
                            d.reason,
                            d.ms as i64,
                            d.env.env
                        ],
                    )?;
                }
            }
        }
        Ok(())
    })
}
