//! `hub.bus` on the embedded store: one transaction per operation; consumers that find
//! nothing wait on the database's commit watch (another process's share wakes them within
//! about a millisecond).

use std::time::{Duration, Instant};

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::model::{
    self, assemble, parse_envelope, ClaimPolicy, DeadLetter, Delivery, Message, Outgoing, Settings,
    Stats,
};
use super::Acker;
use crate::archive::sources::{held, HOLD};
use crate::archive::Source;
use crate::engine::Sqlite;
use crate::error::{Error, Result};

/// Tables of this capability (one migration; see `engine::sqlite::MIGRATIONS`).
/// Retention stored by `bus.configure()` (a later migration than [`SCHEMA`]).
pub const SCHEMA_CFG: &str = "
CREATE TABLE bus_cfg (ns TEXT PRIMARY KEY, max_len INTEGER NOT NULL, max_age REAL NOT NULL) WITHOUT ROWID;
";

pub const SCHEMA: &str = "
CREATE TABLE bus_seq (ns TEXT PRIMARY KEY, ms INTEGER NOT NULL, n INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE bus_agents (ns TEXT NOT NULL, agent TEXT NOT NULL, kinds TEXT NOT NULL,
  grp TEXT, since INTEGER NOT NULL, PRIMARY KEY (ns, agent)) WITHOUT ROWID;
CREATE TABLE bus_kinds (ns TEXT NOT NULL, kind TEXT NOT NULL, agent TEXT NOT NULL,
  PRIMARY KEY (ns, kind, agent)) WITHOUT ROWID;
CREATE TABLE bus_inbox (ns TEXT NOT NULL, agent TEXT NOT NULL, n INTEGER NOT NULL,
  rank INTEGER NOT NULL, ms INTEGER NOT NULL, env TEXT NOT NULL, consumer TEXT,
  delivered_ms INTEGER, deliveries INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (ns, agent, n)) WITHOUT ROWID;
CREATE INDEX bus_inbox_order ON bus_inbox (ns, agent, rank, n);
CREATE INDEX bus_inbox_free ON bus_inbox (ns, agent, rank, n) WHERE consumer IS NULL;
CREATE INDEX bus_inbox_held ON bus_inbox (ns, agent, delivered_ms) WHERE consumer IS NOT NULL;
CREATE TABLE bus_bcast (ns TEXT NOT NULL, n INTEGER NOT NULL, ms INTEGER NOT NULL,
  rank INTEGER NOT NULL, source TEXT NOT NULL, env TEXT NOT NULL,
  PRIMARY KEY (ns, n)) WITHOUT ROWID;
CREATE TABLE bus_hist (ns TEXT NOT NULL, n INTEGER NOT NULL, ms INTEGER NOT NULL,
  source TEXT NOT NULL, recipients TEXT NOT NULL, env TEXT NOT NULL,
  PRIMARY KEY (ns, n)) WITHOUT ROWID;
CREATE TABLE bus_acked (ns TEXT NOT NULL, id TEXT NOT NULL, ms INTEGER NOT NULL,
  PRIMARY KEY (ns, id)) WITHOUT ROWID;
CREATE INDEX bus_acked_ms ON bus_acked (ns, ms);
CREATE TABLE bus_idem (ns TEXT NOT NULL, key TEXT NOT NULL, env TEXT NOT NULL,
  ms INTEGER NOT NULL, PRIMARY KEY (ns, key)) WITHOUT ROWID;
CREATE TABLE bus_dead (seq INTEGER PRIMARY KEY AUTOINCREMENT, ns TEXT NOT NULL,
  agent TEXT NOT NULL, id TEXT NOT NULL, grp TEXT NOT NULL, consumer TEXT NOT NULL,
  deliveries INTEGER NOT NULL, reason TEXT NOT NULL, ms INTEGER NOT NULL, env TEXT NOT NULL);
CREATE INDEX bus_dead_ns ON bus_dead (ns, seq);
CREATE TABLE bus_stats (ns TEXT PRIMARY KEY, total INTEGER NOT NULL DEFAULT 0,
  acked INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
";

/// Tables holding a namespace's rows (all have `ns`).
const TABLES: [&str; 11] = [
    "bus_cfg",
    "bus_seq",
    "bus_agents",
    "bus_kinds",
    "bus_inbox",
    "bus_bcast",
    "bus_hist",
    "bus_acked",
    "bus_idem",
    "bus_dead",
    "bus_stats",
];

/// Trimming by length and age runs on every this-many-th message (like `MAXLEN ~`).
const TRIM_EVERY: u64 = 32;

/// Rows this namespace holds.
pub fn rows(c: &Connection, ns: &str) -> Result<u64> {
    crate::engine::sqlite::count_rows(c, ns, &TABLES)
}

/// Deletes every row of this namespace; returns how many.
pub fn clear(tx: &Transaction<'_>, ns: &str) -> Result<u64> {
    let n = crate::engine::sqlite::delete_rows(tx, ns, &TABLES)?;
    // The archive's cursors on the bus go with the data, as they do on Redis (under the bus
    // prefix); they are the archive's rows, not counted here.
    tx.execute(
        "DELETE FROM archive_cursors WHERE ns = ?1
           AND source IN ('messages', 'acks', 'dead_letters')",
        [ns],
    )?;
    Ok(n)
}

fn id_of(ms: i64, n: i64) -> String {
    format!("{ms}-{n}")
}

fn seq_of(id: &str) -> i64 {
    model::id_parts(id).1 as i64
}

/// Next (ms, n) of the namespace: time never goes back, n always grows.
fn next_id(tx: &Transaction<'_>, ns: &str) -> Result<(u64, i64)> {
    let now = model::now_ms() as i64;
    let last: Option<(i64, i64)> = tx
        .query_row("SELECT ms, n FROM bus_seq WHERE ns = ?1", [ns], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let (ms, n) = match last {
        Some((ms, n)) => (now.max(ms), n + 1),
        None => (now, 1),
    };
    tx.execute(
        "INSERT INTO bus_seq (ns, ms, n) VALUES (?1, ?2, ?3)
         ON CONFLICT (ns) DO UPDATE SET ms = excluded.ms, n = excluded.n",
        params![ns, ms, n],
    )?;
    Ok((ms as u64, n))
}

fn known(tx: &Connection, ns: &str, agent: &str) -> Result<bool> {
    Ok(tx
        .query_row(
            "SELECT 1 FROM bus_agents WHERE ns = ?1 AND agent = ?2",
            [ns, agent],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

fn no_agent(agent: &str) -> Error {
    Error::NotFound(format!(
        "no agent {agent:?} is registered on this bus; register it first with bus.register()"
    ))
}

fn bump(tx: &Transaction<'_>, ns: &str, col: &str, by: u64) -> Result<()> {
    tx.execute(
        &format!(
            "INSERT INTO bus_stats (ns, {col}) VALUES (?1, ?2)
             ON CONFLICT (ns) DO UPDATE SET {col} = {col} + excluded.{col}"
        ),
        params![ns, by as i64],
    )?;
    Ok(())
}

/// Retention in force: what `configure` stored for the namespace, else `s`.
fn retention(c: &Connection, ns: &str, s: &Settings) -> Result<Settings> {
    let row: Option<(i64, f64)> = c
        .prepare_cached("SELECT max_len, max_age FROM bus_cfg WHERE ns = ?1")?
        .query_row([ns], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(match row {
        Some((max_len, max_age)) => Settings {
            max_len: max_len as u64,
            max_age,
            ..*s
        },
        None => *s,
    })
}

/// Stores the namespace's retention (the fields given) and returns what is now in force.
pub fn configure(
    db: &Sqlite,
    ns: &str,
    max_len: Option<u64>,
    max_age: Option<f64>,
    s: &Settings,
) -> Result<Settings> {
    if max_len.is_none() && max_age.is_none() {
        return db.with(|c| retention(c, ns, s));
    }
    db.with_tx_on(super::TOPIC, |tx| {
        let cur = retention(tx, ns, s)?;
        let new = Settings {
            max_len: max_len.unwrap_or(cur.max_len),
            max_age: max_age.unwrap_or(cur.max_age),
            ..cur
        };
        tx.execute(
            "INSERT INTO bus_cfg (ns, max_len, max_age) VALUES (?1, ?2, ?3)
             ON CONFLICT (ns) DO UPDATE SET max_len = excluded.max_len, max_age = excluded.max_age",
            params![ns, new.max_len as i64, new.max_age],
        )?;
        Ok(new)
    })
}

/// Registers an agent; a new one receives the retained broadcasts.
pub fn register(
    db: &Sqlite,
    ns: &str,
    agent: &str,
    kinds: &[String],
    s: &Settings,
) -> Result<bool> {
    db.with_tx_on(super::TOPIC, |tx| {
        let s = &retention(tx, ns, s)?;
        let new = !known(tx, ns, agent)?;
        tx.execute(
            "DELETE FROM bus_kinds WHERE ns = ?1 AND agent = ?2",
            [ns, agent],
        )?;
        for k in kinds {
            tx.execute(
                "INSERT INTO bus_kinds (ns, kind, agent) VALUES (?1, ?2, ?3)",
                [ns, k, agent],
            )?;
        }
        tx.execute(
            "INSERT INTO bus_agents (ns, agent, kinds, grp, since) VALUES (?1, ?2, ?3, NULL, ?4)
             ON CONFLICT (ns, agent) DO UPDATE SET kinds = excluded.kinds",
            params![ns, agent, kinds.join("\n"), model::now_ms() as i64],
        )?;
        if new {
            let min = s.min_ms(model::now_ms()) as i64;
            tx.execute(
                "INSERT INTO bus_inbox (ns, agent, n, rank, ms, env)
                 SELECT ns, ?2, n, rank, ms, env FROM bus_bcast
                 WHERE ns = ?1 AND source != ?2 AND ms >= ?3",
                params![ns, agent, min],
            )?;
        }
        Ok(new)
    })
}

/// Registered agents and their kinds.
pub fn agents(db: &Sqlite, ns: &str) -> Result<Vec<(String, Vec<String>)>> {
    db.with(|c| {
        let mut st =
            c.prepare_cached("SELECT agent, kinds FROM bus_agents WHERE ns = ?1 ORDER BY agent")?;
        let rows = st.query_map([ns], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (a, k) = row?;
            let kinds = k
                .split('\n')
                .filter(|x| !x.is_empty())
                .map(String::from)
                .collect();
            out.push((a, kinds));
        }
        Ok(out)
    })
}

fn recipients(tx: &Transaction<'_>, ns: &str, out: &Outgoing) -> Result<Vec<String>> {
    let list = |sql: &str, arg: &str| -> Result<Vec<String>> {
        let mut st = tx.prepare_cached(sql)?;
        let v = st
            .query_map([ns, arg], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(v)
    };
    if out.broadcast {
        return list(
            "SELECT agent FROM bus_agents WHERE ns = ?1 AND agent != ?2 ORDER BY agent",
            &out.source,
        );
    }
    match (&out.target, &out.kind) {
        (Some(t), _) => {
            if !known(tx, ns, t)? {
                return Err(no_agent(t));
            }
            Ok(vec![t.clone()])
        }
        (None, Some(k)) => {
            let v = list(
                "SELECT agent FROM bus_kinds WHERE ns = ?1 AND kind = ?2 ORDER BY agent",
                k,
            )?;
            if v.is_empty() {
                return Err(Error::NotFound(format!(
                    "no agent is registered for kind {k:?}; register one with \
                     bus.register(agent, kinds=[{k:?}])"
                )));
            }
            Ok(v)
        }
        (None, None) => Err(Error::validation("share needs a target or a kind")),
    }
}

/// Shares messages in one transaction, all or nothing (see `Bus::send_many`).
pub fn share_many(db: &Sqlite, ns: &str, outs: &[Outgoing], s: &Settings) -> Result<Vec<Message>> {
    if outs.is_empty() {
        return Ok(vec![]);
    }
    db.with_tx_on(super::TOPIC, |tx| {
        let s = &retention(tx, ns, s)?;
        outs.iter().map(|o| share(tx, ns, o, s)).collect()
    })
}

/// Shares one message inside the caller's transaction.
fn share(tx: &Transaction<'_>, ns: &str, out: &Outgoing, s: &Settings) -> Result<Message> {
    let rest = out.envelope_rest()?;
    {
        if let Some(k) = &out.idempotency_key {
            let env: Option<String> = tx
                .query_row(
                    "SELECT env FROM bus_idem WHERE ns = ?1 AND key = ?2 AND ms >= ?3",
                    params![ns, k, s.min_ms(model::now_ms()) as i64],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(env) = env {
                return parse_envelope(&env);
            }
        }
        let to = recipients(tx, ns, out)?;
        let (ms, n) = next_id(tx, ns)?;
        let id = id_of(ms as i64, n);
        let env = assemble(&id, ms, &rest);
        let rank = out.priority.rank() as i64;
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO bus_inbox (ns, agent, n, rank, ms, env) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for a in &to {
                ins.execute(params![ns, a, n, rank, ms as i64, env])?;
            }
        }
        if out.broadcast {
            tx.execute(
                "INSERT INTO bus_bcast (ns, n, ms, rank, source, env) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![ns, n, ms as i64, rank, out.source, env],
            )?;
        }
        let rcpt = if out.broadcast {
            "*".to_string()
        } else {
            to.join(",")
        };
        tx.prepare_cached(
            "INSERT INTO bus_hist (ns, n, ms, source, recipients, env) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![ns, n, ms as i64, out.source, rcpt, env])?;
        if let Some(k) = &out.idempotency_key {
            tx.execute(
                "INSERT INTO bus_idem (ns, key, env, ms) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (ns, key) DO UPDATE SET env = excluded.env, ms = excluded.ms",
                params![ns, k, env, ms as i64],
            )?;
        }
        bump(tx, ns, "total", 1)?;
        if (n as u64).is_multiple_of(TRIM_EVERY) {
            trim(tx, ns, s, &to)?;
        }
        out.message(id, ms)
    }
}

/// Keeps every stream of the namespace within `max_len` entries and `max_age` seconds.
fn trim(tx: &Transaction<'_>, ns: &str, s: &Settings, agents: &[String]) -> Result<()> {
    let min = s.min_ms(model::now_ms()) as i64;
    let keep = s.max_len as i64;
    for a in agents {
        for r in 0..4i64 {
            tx.prepare_cached(
                "DELETE FROM bus_inbox WHERE ns = ?1 AND agent = ?2 AND rank = ?3 AND n <= (
                   SELECT n FROM bus_inbox WHERE ns = ?1 AND agent = ?2 AND rank = ?3
                   ORDER BY n DESC LIMIT 1 OFFSET ?4)",
            )?
            .execute(params![ns, a, r, keep])?;
        }
        tx.prepare_cached("DELETE FROM bus_inbox WHERE ns = ?1 AND agent = ?2 AND ms < ?3")?
            .execute(params![ns, a, min])?;
    }
    tx.prepare_cached(
        "DELETE FROM bus_bcast WHERE ns = ?1 AND (ms < ?2 OR n <= (
           SELECT n FROM bus_bcast WHERE ns = ?1 ORDER BY n DESC LIMIT 1 OFFSET ?3))",
    )?
    .execute(params![ns, min, keep])?;
    tx.prepare_cached("DELETE FROM bus_idem WHERE ns = ?1 AND ms < ?2")?
        .execute(params![ns, min])?;
    trim_held(tx, ns, s)
}

/// The trimming of the sources the archive reads (history, ack log, dead letters): by
/// retention, except that while the archive holds a source (a committed cursor) entries
/// after its cursor stay until the bound (`HOLD` times the limits, docs/archive.md); what
/// goes past the bound is added to the source's overrun counter.
fn trim_held(tx: &Transaction<'_>, ns: &str, s: &Settings) -> Result<()> {
    let now = model::now_ms() as i64;
    let min = s.min_ms(now as u64) as i64;
    let keep = s.max_len as i64;
    let hold = HOLD as i64;
    let bound_min = now.saturating_sub((now - min).saturating_mul(hold)).max(0);
    let bound_keep = keep.saturating_mul(hold);
    const HIST: &str = "(ms < ?2 OR n <= (
           SELECT n FROM bus_hist WHERE ns = ?1 ORDER BY n DESC LIMIT 1 OFFSET ?3))";
    const ACKED: &str = "(ms < ?2 OR ms < (
           SELECT ms FROM bus_acked WHERE ns = ?1 ORDER BY ms DESC LIMIT 1 OFFSET ?3))";
    const DEAD: &str = "(ms < ?2 OR seq <= (
           SELECT seq FROM bus_dead WHERE ns = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?3))";
    let tables = [
        (Source::Messages, "bus_hist", HIST, "n <= ?4", "n > ?4"),
        (
            Source::Acks,
            "bus_acked",
            ACKED,
            "(ms, id) <= (?4, ?5)",
            "(ms, id) > (?4, ?5)",
        ),
        (
            Source::DeadLetters,
            "bus_dead",
            DEAD,
            "seq <= ?4",
            "seq > ?4",
        ),
    ];
    for (source, t, drop, upto, past) in tables {
        let Some(key) = held::sqlite_hold(tx, ns, source)? else {
            tx.prepare_cached(&format!("DELETE FROM {t} WHERE ns = ?1 AND {drop}"))?
                .execute(params![ns, min, keep])?;
            continue;
        };
        let (k, id) = match source {
            Source::Acks => {
                let (ms, id) = held::ack_key(&key)?;
                (ms, id.to_string())
            }
            _ => (held::seq_of(&key)?, String::new()),
        };
        let run = |cond: &str, m: i64, n: i64| -> Result<usize> {
            let mut st = tx.prepare_cached(&format!(
                "DELETE FROM {t} WHERE ns = ?1 AND {cond} AND {drop}"
            ))?;
            Ok(if source == Source::Acks {
                st.execute(params![ns, m, n, k, id])?
            } else {
                st.execute(params![ns, m, n, k])?
            })
        };
        run(upto, min, keep)?;
        let over = run(past, bound_min, bound_keep)?;
        held::sqlite_add_overrun(tx, ns, source, over as u64)?;
    }
    Ok(())
}

/// Unacked messages of an agent, most urgent first.
pub fn pending(db: &Sqlite, ns: &str, agent: &str, count: usize) -> Result<Vec<Message>> {
    db.with(|c| {
        if !known(c, ns, agent)? {
            return Err(no_agent(agent));
        }
        let mut st = c.prepare_cached(
            "SELECT env FROM bus_inbox WHERE ns = ?1 AND agent = ?2 ORDER BY rank, n LIMIT ?3",
        )?;
        let envs = st
            .query_map(params![ns, agent, count as i64], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        envs.iter().map(|e| parse_envelope(e)).collect()
    })
}

/// Acknowledges messages (see `Bus::ack`).
pub fn ack(
    db: &Sqlite,
    ns: &str,
    agent: &str,
    ids: &[String],
    who: &Acker,
    s: &Settings,
) -> Result<u64> {
    db.with_tx_on(super::TOPIC, |tx| {
        let s = &retention(tx, ns, s)?;
        let grp: Option<Option<String>> = tx
            .query_row(
                "SELECT grp FROM bus_agents WHERE ns = ?1 AND agent = ?2",
                [ns, agent],
                |r| r.get(0),
            )
            .optional()?;
        let Some(grp) = grp else {
            return Err(no_agent(agent));
        };
        if let Some(g) = &who.group {
            if grp.as_deref() != Some(g.as_str()) {
                return Err(Error::Conflict(format!(
                    "agent {agent:?} is consumed by group {grp:?}, not {g:?}; ack with that group"
                )));
            }
        }
        let mut live = Vec::new();
        for id in ids {
            let row: Option<(i64, Option<String>)> = tx
                .prepare_cached(
                    "SELECT ms, consumer FROM bus_inbox WHERE ns = ?1 AND agent = ?2 AND n = ?3",
                )?
                .query_row(params![ns, agent, seq_of(id)], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            let Some((_, holder)) = row.filter(|(ms, _)| id_of(*ms, seq_of(id)) == *id) else {
                let done = tx
                    .prepare_cached("SELECT 1 FROM bus_acked WHERE ns = ?1 AND id = ?2")?
                    .query_row([ns, id], |_| Ok(()))
                    .optional()?
                    .is_some();
                if done {
                    continue;
                }
                return Err(Error::NotFound(format!(
                    "agent {agent:?} has no message {id:?} (never sent to it, or dropped by \
                     retention)"
                )));
            };
            if let Some(me) = &who.consumer {
                match holder {
                    Some(h) if &h == me => {}
                    Some(h) => {
                        return Err(Error::Conflict(format!(
                            "message {id:?} of agent {agent:?} is held by consumer {h:?}, \
                             not {me:?}; it was claimed after the idle timeout"
                        )))
                    }
                    None => {
                        return Err(Error::Conflict(format!(
                            "message {id:?} of agent {agent:?} was not handed to consumer \
                             {me:?} (consume it first)"
                        )))
                    }
                }
            }
            live.push(id);
        }
        let now = model::now_ms() as i64;
        for id in &live {
            tx.prepare_cached("DELETE FROM bus_inbox WHERE ns = ?1 AND agent = ?2 AND n = ?3")?
                .execute(params![ns, agent, seq_of(id)])?;
            tx.prepare_cached(
                "INSERT INTO bus_acked (ns, id, ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (ns, id) DO UPDATE SET ms = excluded.ms",
            )?
            .execute(params![ns, id, now])?;
        }
        if !live.is_empty() {
            bump(tx, ns, "acked", live.len() as u64)?;
            let n: i64 = tx.query_row("SELECT n FROM bus_seq WHERE ns = ?1", [ns], |r| r.get(0))?;
            if (n as u64) % TRIM_EVERY < live.len() as u64 {
                trim(tx, ns, s, &[])?;
            }
        }
        Ok(live.len() as u64)
    })
}

/// True once acknowledged.
pub fn is_acked(db: &Sqlite, ns: &str, id: &str) -> Result<bool> {
    db.with(|c| {
        Ok(
            c.prepare_cached("SELECT 1 FROM bus_acked WHERE ns = ?1 AND id = ?2")?
                .query_row([ns, id], |_| Ok(()))
                .optional()?
                .is_some(),
        )
    })
}

/// Messages between two agents, oldest first.
pub fn history(db: &Sqlite, ns: &str, a: &str, b: &str, limit: usize) -> Result<Vec<Message>> {
    db.with(|c| {
        let mut st = c.prepare_cached(
            "SELECT env FROM bus_hist WHERE ns = ?1 AND (
               (source = ?2 AND (recipients = '*' OR instr(',' || recipients || ',', ',' || ?3 || ',') > 0))
            OR (source = ?3 AND (recipients = '*' OR instr(',' || recipients || ',', ',' || ?2 || ',') > 0)))
             ORDER BY n DESC LIMIT ?4",
        )?;
        let mut envs = st
            .query_map(params![ns, a, b, limit as i64], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        envs.reverse();
        envs.iter().map(|e| parse_envelope(e)).collect()
    })
}

/// Counters.
pub fn stats(db: &Sqlite, ns: &str) -> Result<Stats> {
    db.with(|c| {
        let (total, acked): (i64, i64) = c
            .query_row(
                "SELECT total, acked FROM bus_stats WHERE ns = ?1",
                [ns],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .unwrap_or((0, 0));
        let dead: i64 = c.query_row("SELECT count(*) FROM bus_dead WHERE ns = ?1", [ns], |r| {
            r.get(0)
        })?;
        let mut st = c.prepare_cached(
            "SELECT a.agent, (SELECT count(*) FROM bus_inbox i WHERE i.ns = a.ns AND i.agent = a.agent)
             FROM bus_agents a WHERE a.ns = ?1",
        )?;
        let mut out = Stats {
            total: total as u64,
            acknowledged: acked as u64,
            dead: dead as u64,
            ..Stats::default()
        };
        for row in st.query_map([ns], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (a, n) = row?;
            out.pending += n as u64;
            out.per_agent.insert(a, n as u64);
        }
        Ok(out)
    })
}

/// Drops entries older than `cutoff_ms`.
pub fn cleanup(db: &Sqlite, ns: &str, cutoff_ms: u64) -> Result<u64> {
    let cut = cutoff_ms as i64;
    db.with_tx_on(super::TOPIC, |tx| {
        let mut n = 0u64;
        for t in ["bus_inbox", "bus_bcast", "bus_idem"] {
            n += tx.execute(
                &format!("DELETE FROM {t} WHERE ns = ?1 AND ms < ?2"),
                params![ns, cut],
            )? as u64;
        }
        // What the archive holds stays: only entries up to its cursor go (docs/archive.md).
        let held = [
            (Source::Messages, "bus_hist", "n <= ?3"),
            (Source::Acks, "bus_acked", "(ms, id) <= (?3, ?4)"),
            (Source::DeadLetters, "bus_dead", "seq <= ?3"),
        ];
        for (source, t, upto) in held {
            n += match held::sqlite_hold(tx, ns, source)? {
                None => tx.execute(
                    &format!("DELETE FROM {t} WHERE ns = ?1 AND ms < ?2"),
                    params![ns, cut],
                )?,
                Some(key) => {
                    let (k, id) = match source {
                        Source::Acks => {
                            let (ms, id) = held::ack_key(&key)?;
                            (ms, id.to_string())
                        }
                        _ => (held::seq_of(&key)?, String::new()),
                    };
                    let sql = format!("DELETE FROM {t} WHERE ns = ?1 AND ms < ?2 AND {upto}");
                    if source == Source::Acks {
                        tx.execute(&sql, params![ns, cut, k, id])?
                    } else {
                        tx.execute(&sql, params![ns, cut, k])?
                    }
                }
            } as u64;
        }
        Ok(n)
    })
}

fn dead_letter(
    tx: &Transaction<'_>,
    ns: &str,
    agent: &str,
    group: &str,
    row: &Held,
    reason: &str,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO bus_dead (ns, agent, id, grp, consumer, deliveries, reason, ms, env)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        ns,
        agent,
        id_of(row.ms, row.n),
        group,
        row.consumer,
        row.deliveries,
        reason,
        model::now_ms() as i64,
        row.env
    ])?;
    tx.prepare_cached("DELETE FROM bus_inbox WHERE ns = ?1 AND agent = ?2 AND n = ?3")?
        .execute(params![ns, agent, row.n])?;
    Ok(())
}

struct Held {
    n: i64,
    ms: i64,
    env: String,
    consumer: String,
    deliveries: i64,
}

/// One consume attempt (no waiting).
#[allow(clippy::too_many_arguments)]
fn consume_once(
    tx: &Transaction<'_>,
    ns: &str,
    agent: &str,
    group: &str,
    consumer: &str,
    count: usize,
    p: ClaimPolicy,
) -> Result<Vec<Delivery>> {
    let grp: Option<Option<String>> = tx
        .query_row(
            "SELECT grp FROM bus_agents WHERE ns = ?1 AND agent = ?2",
            [ns, agent],
            |r| r.get(0),
        )
        .optional()?;
    match grp {
        None => return Err(no_agent(agent)),
        Some(None) => {
            tx.execute(
                "UPDATE bus_agents SET grp = ?3 WHERE ns = ?1 AND agent = ?2",
                [ns, agent, group],
            )?;
        }
        Some(Some(g)) if g != group => {
            return Err(Error::Conflict(format!(
                "agent {agent:?} is already consumed by group {g:?}; an agent has one group \
                 (its consumers share the inbox)"
            )))
        }
        Some(Some(_)) => {}
    }
    let now = model::now_ms() as i64;
    let mut picked: Vec<(i64, i64, String, i64)> = Vec::new(); // rank, n, env, deliveries
    let idle_before = now - p.idle_ms as i64;
    let held: Vec<(i64, Held)> = tx
        .prepare_cached(
            "SELECT rank, n, ms, env, consumer, deliveries FROM bus_inbox
             WHERE ns = ?1 AND agent = ?2 AND consumer IS NOT NULL AND delivered_ms <= ?3
             ORDER BY rank, n LIMIT ?4",
        )?
        .query_map(params![ns, agent, idle_before, count as i64], |r| {
            Ok((
                r.get(0)?,
                Held {
                    n: r.get(1)?,
                    ms: r.get(2)?,
                    env: r.get(3)?,
                    consumer: r.get(4)?,
                    deliveries: r.get(5)?,
                },
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for (rank, h) in held {
        if h.deliveries as u64 >= p.max_deliveries {
            let why = format!(
                "handed out {} times without an ack (max_deliveries={}); last consumer {:?}",
                h.deliveries, p.max_deliveries, h.consumer
            );
            dead_letter(tx, ns, agent, group, &h, &why)?;
        } else {
            picked.push((rank, h.n, h.env, h.deliveries + 1));
        }
    }
    if picked.len() < count {
        let fresh: Vec<(i64, i64, String)> = tx
            .prepare_cached(
                "SELECT rank, n, env FROM bus_inbox WHERE ns = ?1 AND agent = ?2 AND consumer IS NULL
                 ORDER BY rank, n LIMIT ?3",
            )?
            .query_map(params![ns, agent, (count - picked.len()) as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        picked.extend(fresh.into_iter().map(|(r, n, e)| (r, n, e, 1)));
    }
    picked.sort_by_key(|(r, n, _, _)| (*r, *n));
    let mut out = Vec::with_capacity(picked.len());
    let mut upd = tx.prepare_cached(
        "UPDATE bus_inbox SET consumer = ?4, delivered_ms = ?5, deliveries = ?6
         WHERE ns = ?1 AND agent = ?2 AND n = ?3",
    )?;
    for (_, n, env, d) in picked {
        upd.execute(params![ns, agent, n, consumer, now, d])?;
        out.push(Delivery {
            message: parse_envelope(&env)?,
            agent: agent.to_string(),
            group: group.to_string(),
            consumer: consumer.to_string(),
            deliveries: d as u64,
        });
    }
    Ok(out)
}

/// Hands out messages to a consumer of the agent's group, waiting up to `wait`.
#[allow(clippy::too_many_arguments)]
pub fn consume(
    db: &Sqlite,
    ns: &str,
    agent: &str,
    group: &str,
    consumer: &str,
    count: usize,
    p: ClaimPolicy,
    _s: &Settings,
    wait: Duration,
) -> Result<Vec<Delivery>> {
    let deadline = Instant::now() + wait;
    loop {
        let mut w = db.watch(super::TOPIC)?;
        let got = db.with_tx_on(super::TOPIC, |tx| {
            consume_once(tx, ns, agent, group, consumer, count, p)
        })?;
        let now = Instant::now();
        if !got.is_empty() || now >= deadline {
            return Ok(got);
        }
        // Held deliveries become claimable without any commit: wake for that too.
        w.wait((deadline - now).min(Duration::from_millis(p.idle_ms.clamp(1, 250))))?;
    }
}

/// Dead letters, oldest first.
pub fn dead_letters(
    db: &Sqlite,
    ns: &str,
    agent: Option<&str>,
    count: usize,
) -> Result<Vec<DeadLetter>> {
    db.with(|c| {
        let mut st = c.prepare_cached(
            "SELECT agent, grp, consumer, deliveries, reason, ms, env FROM bus_dead
             WHERE ns = ?1 AND (?2 IS NULL OR agent = ?2) ORDER BY seq LIMIT ?3",
        )?;
        let rows = st
            .query_map(params![ns, agent, count as i64], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, String>(6)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(agent, group, consumer, d, reason, ms, env)| {
                Ok(DeadLetter {
                    message: parse_envelope(&env)?,
                    agent,
                    group,
                    consumer,
                    deliveries: d as u64,
                    reason,
                    time: ms as f64 / 1000.0,
                })
            })
            .collect()
    })
}

/// Splits a stored envelope into its rest (after id and time).
pub fn envelope_rest(env: &str) -> Result<&str> {
    // `{"id":"<id>","time":<secs>,...`: the rest starts at the first ',' after "time":.
    let t = env
        .find("\"time\":")
        .ok_or_else(|| Error::Backend("stored message lacks its time".into()))?;
    let rel = env[t..]
        .find(',')
        .ok_or_else(|| Error::Backend("stored message is truncated".into()))?;
    Ok(&env[t + rel..])
}

/// Puts dead letters back as new messages.
pub fn requeue(
    db: &Sqlite,
    ns: &str,
    agent: Option<&str>,
    ids: Option<&[String]>,
    _s: &Settings,
) -> Result<u64> {
    db.with_tx_on(super::TOPIC, |tx| {
        let rows: Vec<(i64, String, String, String)> = tx
            .prepare_cached(
                "SELECT seq, agent, id, env FROM bus_dead WHERE ns = ?1 AND (?2 IS NULL OR agent = ?2)
                 ORDER BY seq",
            )?
            .query_map(params![ns, agent], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut moved = 0u64;
        for (seq, a, id, env) in rows {
            if ids.is_some_and(|want| !want.contains(&id)) {
                continue;
            }
            let old = parse_envelope(&env)?;
            let (ms, n) = next_id(tx, ns)?;
            let new_env = assemble(&id_of(ms as i64, n), ms, envelope_rest(&env)?);
            tx.execute(
                "INSERT INTO bus_inbox (ns, agent, n, rank, ms, env) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![ns, a, n, old.priority.rank() as i64, ms as i64, new_env],
            )?;
            tx.execute("DELETE FROM bus_dead WHERE seq = ?1", [seq])?;
            moved += 1;
        }
        Ok(moved)
    })
}
