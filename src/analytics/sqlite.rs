//! `hub.analytics` on the embedded store: counters per event, day and hour (hour -1 is the
//! day's count), per day and property value, and one HyperLogLog blob per event and day, in
//! Redis's dense encoding ([`super::hll`]). Each row carries its expiry (the end of its day
//! plus the retention at the time of the write); reads skip rows past it and days past the
//! current retention at the caller's `now`, and the engine's background sweep deletes them.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::hll::Hll;
use super::{expiry, Batch, DEFAULT_RETENTION_DAYS};
use crate::engine::Sqlite;
use crate::error::Result;

/// Tables (migration step 14).
pub const SCHEMA: &str = "
CREATE TABLE analytics_totals (
  ns TEXT NOT NULL, event TEXT NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (ns, event)
) WITHOUT ROWID;
CREATE TABLE analytics_counts (
  ns TEXT NOT NULL, day INTEGER NOT NULL, event TEXT NOT NULL, hour INTEGER NOT NULL,
  n INTEGER NOT NULL, expires INTEGER NOT NULL,
  PRIMARY KEY (ns, day, event, hour)
) WITHOUT ROWID;
CREATE INDEX analytics_counts_expires ON analytics_counts (expires);
CREATE TABLE analytics_props (
  ns TEXT NOT NULL, event TEXT NOT NULL, day INTEGER NOT NULL, field TEXT NOT NULL,
  n INTEGER NOT NULL, expires INTEGER NOT NULL,
  PRIMARY KEY (ns, event, day, field)
) WITHOUT ROWID;
CREATE INDEX analytics_props_expires ON analytics_props (expires);
CREATE TABLE analytics_users (
  ns TEXT NOT NULL, event TEXT NOT NULL, day INTEGER NOT NULL, hll BLOB NOT NULL,
  expires INTEGER NOT NULL,
  PRIMARY KEY (ns, event, day)
) WITHOUT ROWID;
CREATE INDEX analytics_users_expires ON analytics_users (expires);
CREATE TABLE analytics_cfg (
  ns TEXT NOT NULL PRIMARY KEY, days INTEGER NOT NULL
) WITHOUT ROWID;
";

const TABLES: &[&str] = &[
    "analytics_totals",
    "analytics_counts",
    "analytics_props",
    "analytics_users",
    "analytics_cfg",
];
const EXPIRING: &[&str] = &["analytics_counts", "analytics_props", "analytics_users"];

/// Rows one background sweep removes at most per table.
const SWEEP_BATCH: i64 = 10_000;

fn days_of(c: &Connection, ns: &str) -> Result<u32> {
    let d: Option<i64> = c
        .prepare_cached("SELECT days FROM analytics_cfg WHERE ns = ?1")?
        .query_row(params![ns], |r| r.get(0))
        .optional()?;
    Ok(d.map_or(DEFAULT_RETENTION_DAYS, |d| {
        d.clamp(1, i64::from(u32::MAX)) as u32
    }))
}

/// Applies an added-up batch in one transaction.
pub fn track(db: &Sqlite, ns: &str, b: &Batch, now: i64) -> Result<()> {
    db.with_tx(|tx| {
        let ret = days_of(tx, ns)?;
        let live = |day: i64| expiry(day, ret) > now;
        let mut st = tx.prepare_cached(
            "INSERT INTO analytics_totals (ns, event, n) VALUES (?1, ?2, ?3) \
             ON CONFLICT (ns, event) DO UPDATE SET n = n + excluded.n",
        )?;
        for (e, n) in &b.totals {
            st.execute(params![ns, e, n])?;
        }
        let mut st = tx.prepare_cached(
            "INSERT INTO analytics_counts (ns, day, event, hour, n, expires) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (ns, day, event, hour) \
             DO UPDATE SET n = n + excluded.n, expires = excluded.expires",
        )?;
        for ((d, e), n) in b.days.iter().filter(|((d, _), _)| live(*d)) {
            st.execute(params![ns, d, e, -1, n, expiry(*d, ret)])?;
        }
        for ((d, e, h), n) in b.hours.iter().filter(|((d, _, _), _)| live(*d)) {
            st.execute(params![ns, d, e, h, n, expiry(*d, ret)])?;
        }
        let mut st = tx.prepare_cached(
            "INSERT INTO analytics_props (ns, event, day, field, n, expires) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (ns, event, day, field) \
             DO UPDATE SET n = n + excluded.n, expires = excluded.expires",
        )?;
        for ((d, e, f), n) in b.props.iter().filter(|((d, _, _), _)| live(*d)) {
            st.execute(params![ns, e, d, f, n, expiry(*d, ret)])?;
        }
        let real_now = crate::clock::now_ms() as i64;
        for ((d, e), users) in b.users.iter().filter(|((d, _), _)| live(*d)) {
            let old: Option<(Vec<u8>, i64)> = tx
                .prepare_cached(
                    "SELECT hll, expires FROM analytics_users WHERE ns = ?1 AND event = ?2 \
                     AND day = ?3",
                )?
                .query_row(params![ns, e, d], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let mut h = match old {
                // A row past its expiry is gone, as a Redis key would be.
                Some((blob, exp)) if exp > real_now => Hll::from_bytes(&blob)?,
                _ => Hll::new(),
            };

            for u in users {
                h.add(u.as_bytes());
            }
            tx.prepare_cached(
                "INSERT OR REPLACE INTO analytics_users (ns, event, day, hll, expires) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![ns, e, d, h.to_bytes(), expiry(*d, ret)])?;
        }
        Ok(())
    })
}

/// The days of `days` still kept at `now` (false where expired), with the retention.
fn live_days(c: &Connection, ns: &str, days: &[i64], now: i64) -> Result<Vec<Option<i64>>> {
    let ret = days_of(c, ns)?;
    Ok(days
        .iter()
        .map(|&d| (expiry(d, ret) > now).then_some(d))
        .collect())
}

/// The event's count per day.
pub fn counts_day(db: &Sqlite, ns: &str, event: &str, days: &[i64], now: i64) -> Result<Vec<i64>> {
    let real_now = crate::clock::now_ms() as i64;
    db.with(|c| {
        let tx = c.transaction()?;
        let live = live_days(&tx, ns, days, now)?;
        let mut st = tx.prepare_cached(
            "SELECT n FROM analytics_counts WHERE ns = ?1 AND day = ?2 AND event = ?3 \
             AND hour = -1 AND expires > ?4",
        )?;
        let mut out = Vec::with_capacity(days.len());
        for d in live {
            out.push(match d {
                Some(d) => st
                    .query_row(params![ns, d, event, real_now], |r| r.get(0))
                    .optional()?
                    .unwrap_or(0),
                None => 0,
            });
        }
        Ok(out)
    })
}

/// The event's count per hour (hour number since the epoch -> count).
pub fn counts_hour(
    db: &Sqlite,
    ns: &str,
    event: &str,
    days: &[i64],
    now: i64,
) -> Result<BTreeMap<i64, i64>> {
    let real_now = crate::clock::now_ms() as i64;
    db.with(|c| {
        let tx = c.transaction()?;
        let live = live_days(&tx, ns, days, now)?;
        let mut st = tx.prepare_cached(
            "SELECT hour, n FROM analytics_counts WHERE ns = ?1 AND day = ?2 AND event = ?3 \
             AND hour >= 0 AND expires > ?4",
        )?;
        let mut out = BTreeMap::new();
        for d in live.into_iter().flatten() {
            let rows = st.query_map(params![ns, d, event, real_now], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })?;
            for row in rows {
                let (h, n) = row?;
                out.insert(d * 24 + h, n);
            }
        }
        Ok(out)
    })
}

/// The event's counts by the values of a property (`prefix` is `<prop>=`).
pub fn by_prop(
    db: &Sqlite,
    ns: &str,
    event: &str,
    prefix: &str,
    days: &[i64],
    now: i64,
) -> Result<Vec<(String, i64)>> {
    let real_now = crate::clock::now_ms() as i64;
    let end = crate::engine::keys::prefix_end(prefix);
    db.with(|c| {
        let tx = c.transaction()?;
        let live = live_days(&tx, ns, days, now)?;
        let mut st = tx.prepare_cached(
            "SELECT field, n FROM analytics_props WHERE ns = ?1 AND event = ?2 AND day = ?3 \
             AND field >= ?4 AND field < ?5 AND expires > ?6",
        )?;
        let mut sums: BTreeMap<String, i64> = BTreeMap::new();
        for d in live.into_iter().flatten() {
            let rows = st.query_map(params![ns, event, d, prefix, end, real_now], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?;
            for row in rows {
                let (f, n) = row?;
                *sums.entry(f[prefix.len()..].to_string()).or_default() += n;
            }
        }
        Ok(sums.into_iter().collect())
    })
}

/// The days' HyperLogLogs merged, counted.
pub fn uniques(db: &Sqlite, ns: &str, event: &str, days: &[i64], now: i64) -> Result<u64> {
    let real_now = crate::clock::now_ms() as i64;
    db.with(|c| {
        let tx = c.transaction()?;
        let live: Vec<i64> = live_days(&tx, ns, days, now)?
            .into_iter()
            .flatten()
            .collect();
        let (Some(first), Some(last)) = (live.first(), live.last()) else {
            return Ok(0);
        };
        let mut st = tx.prepare_cached(
            "SELECT hll FROM analytics_users WHERE ns = ?1 AND event = ?2 AND day >= ?3 \
             AND day <= ?4 AND expires > ?5",
        )?;
        let mut h = Hll::new();
        let mut rows = st.query(params![ns, event, first, last, real_now])?;
        while let Some(r) = rows.next()? {
            match r.get_ref(0)? {
                rusqlite::types::ValueRef::Blob(b) => h.merge_stored(b)?,
                _ => {
                    return Err(crate::error::Error::Backend(
                        "a stored HyperLogLog is not a blob".into(),
                    ))
                }
            }
        }
        Ok(h.count())
    })
}

/// Totals per event: all time (`days` None) or summed over the days.
pub fn events(db: &Sqlite, ns: &str, days: Option<&[i64]>, now: i64) -> Result<Vec<(String, i64)>> {
    let real_now = crate::clock::now_ms() as i64;
    db.with(|c| {
        let tx = c.transaction()?;
        let Some(days) = days else {
            let mut st =
                tx.prepare_cached("SELECT event, n FROM analytics_totals WHERE ns = ?1")?;
            let rows = st.query_map(params![ns], |r| Ok((r.get(0)?, r.get(1)?)))?;
            return Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?);
        };
        let live: Vec<i64> = live_days(&tx, ns, days, now)?
            .into_iter()
            .flatten()
            .collect();
        let (Some(first), Some(last)) = (live.first(), live.last()) else {
            return Ok(vec![]);
        };
        let mut st = tx.prepare_cached(
            "SELECT event, SUM(n) FROM analytics_counts WHERE ns = ?1 AND day >= ?2 \
             AND day <= ?3 AND hour = -1 AND expires > ?4 GROUP BY event",
        )?;
        let rows = st.query_map(params![ns, first, last, real_now], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    })
}

/// Sets (Some) or reads the retention.
pub fn retention(db: &Sqlite, ns: &str, days: Option<u32>) -> Result<u32> {
    db.with_tx(|tx| {
        if let Some(d) = days {
            tx.prepare_cached("INSERT OR REPLACE INTO analytics_cfg (ns, days) VALUES (?1, ?2)")?
                .execute(params![ns, d])?;
        }
        days_of(tx, ns)
    })
}

/// Deletes expired rows of every namespace (the engine's background sweep), at most a batch
/// per table.
pub fn sweep(tx: &Transaction<'_>, now: u64) -> Result<u64> {
    let mut n = 0;
    for t in EXPIRING {
        let key = if *t == "analytics_counts" {
            "ns, day, event, hour"
        } else if *t == "analytics_props" {
            "ns, event, day, field"
        } else {
            "ns, event, day"
        };
        n += tx
            .prepare_cached(&format!(
                "DELETE FROM {t} WHERE ({key}) IN \
                 (SELECT {key} FROM {t} WHERE expires <= ?1 LIMIT ?2)"
            ))?
            .execute(params![now as i64, SWEEP_BATCH])? as u64;
    }
    Ok(n)
}

/// Deletes the rows of one namespace that have expired at `now` or whose day is past the
/// current retention at `now`.
pub fn sweep_ns(tx: &Transaction<'_>, ns: &str, now: i64) -> Result<u64> {
    let ret = i64::from(days_of(tx, ns)?);
    let mut n = 0;
    for t in EXPIRING {
        n += tx
            .prepare_cached(&format!(
                "DELETE FROM {t} WHERE ns = ?1 AND (expires <= ?2 OR (day + 1 + ?3) * ?4 <= ?2)"
            ))?
            .execute(params![ns, now, ret, super::DAY_MS])? as u64;
    }
    Ok(n)
}

/// Rows of the namespace.
pub fn rows(c: &Connection, ns: &str) -> Result<u64> {
    crate::engine::sqlite::count_rows(c, ns, TABLES)
}

/// Deletes the namespace's rows.
pub fn clear(tx: &Transaction<'_>, ns: &str) -> Result<u64> {
    crate::engine::sqlite::delete_rows(tx, ns, TABLES)
}
