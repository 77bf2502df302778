//! `hub.analytics`: event counters and unique users. Each tracked event adds to an all-time
//! total per event, a count per event per UTC day and per hour, counts per day by each of its
//! properties (`props`), and its user to a HyperLogLog of the event's users that day
//! ([`hll`]: Redis's own algorithm, so both backends give the same estimate). Day buckets
//! expire after the namespace's retention (days, [`DEFAULT_RETENTION_DAYS`] unless set).
//!
//! A batch (`track_many`) is added up here first, so one script (Redis) or one transaction
//! (SQLite) applies each distinct counter once. Times are milliseconds since the epoch; every
//! method takes the time it works at (`at`, `now`), which tests use as a clock.

pub mod dump;
pub mod hll;
pub mod redis;
pub mod sqlite;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::engine::{tri, Backend, Capability, Migration, Op};
use crate::error::{Error, Result};

/// This capability's row in the registry (`crate::registry`).
pub const CAPABILITY: Capability = Capability {
    name: "analytics",
    migrations: &[Migration {
        version: 14,
        sql: sqlite::SCHEMA,
    }],
    rows: sqlite::rows,
    clear: sqlite::clear,
    topic: None,
    tag: "analytics",
    partitioned: false,
    changes: false,
    sweep: Some(sqlite::sweep),
    export: dump::export,
    import: dump::import,
};

/// Days a bucket is kept after its day ends, unless `set_retention` said otherwise.
pub const DEFAULT_RETENTION_DAYS: u32 = 90;
/// Longest retention: ten years.
pub const MAX_RETENTION_DAYS: u32 = 3650;
/// Longest event name, in bytes.
pub const MAX_EVENT: usize = 128;
/// Longest user id, in bytes.
pub const MAX_USER: usize = 512;
/// Properties one event may carry.
pub const MAX_PROPS: usize = 8;
/// Longest property name, in bytes.
pub const MAX_PROP_NAME: usize = 64;
/// Longest property value, in bytes.
pub const MAX_PROP_VALUE: usize = 256;
/// Most events one `track_many` takes.
pub const MAX_BATCH: usize = 10_000;
/// Most days one range covers.
pub const MAX_DAYS: i64 = 400;
/// Most hours one range covers.
pub const MAX_HOURS: i64 = 24 * 31;
/// Milliseconds in a day and an hour.
pub const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// One tracked event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Its name.
    pub event: String,
    /// Who did it (counted in the day's unique users), if known.
    pub user: Option<String>,
    /// Properties, `(name, value)`, each counted per day.
    pub props: Vec<(String, String)>,
    /// When, in milliseconds since the epoch.
    pub at_ms: i64,
}

/// A batch added up: each counter once, with its increment.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Batch {
    /// event -> n.
    pub totals: BTreeMap<String, i64>,
    /// (day, event) -> n.
    pub days: BTreeMap<(i64, String), i64>,
    /// (day, event, hour) -> n.
    pub hours: BTreeMap<(i64, String, u8), i64>,
    /// (day, event, "<prop>=<value>") -> n.
    pub props: BTreeMap<(i64, String, String), i64>,
    /// (day, event) -> users.
    pub users: BTreeMap<(i64, String), Vec<String>>,
}

impl Batch {
    /// Adds up `events`.
    pub fn of(events: &[Event]) -> Batch {
        let mut b = Batch::default();
        for e in events {
            let day = e.at_ms.div_euclid(DAY_MS);
            let hour = (e.at_ms.rem_euclid(DAY_MS) / HOUR_MS) as u8;
            *b.totals.entry(e.event.clone()).or_default() += 1;
            *b.days.entry((day, e.event.clone())).or_default() += 1;
            *b.hours.entry((day, e.event.clone(), hour)).or_default() += 1;
            for (k, v) in &e.props {
                *b.props
                    .entry((day, e.event.clone(), format!("{k}={v}")))
                    .or_default() += 1;
            }
            if let Some(u) = &e.user {
                b.users
                    .entry((day, e.event.clone()))
                    .or_default()
                    .push(u.clone());
            }
        }
        b
    }
}

/// Bucket size of `counts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// UTC days.
    Day,
    /// UTC hours.
    Hour,
}

/// The date of day number `day` (days since 1970-01-01) as `YYYYMMDD` (proleptic Gregorian).
pub fn date(day: i64) -> String {
    // Howard Hinnant's civil_from_days.
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}{m:02}{d:02}")
}

/// When the buckets of `day` expire, with `retention` days.
pub fn expiry(day: i64, retention: u32) -> i64 {
    (day + 1 + i64::from(retention)) * DAY_MS
}

/// Checks an event name: 1 to [`MAX_EVENT`] bytes, no whitespace, control characters or
/// `* ? [ ] { } \`.
pub fn check_event(e: &str) -> Result<()> {
    if e.is_empty() || e.len() > MAX_EVENT {
        return Err(Error::validation(format!(
            "event must be 1 to {MAX_EVENT} bytes, got {}",
            e.len()
        )));
    }
    if let Some(c) = e.chars().find(|c| {
        c.is_whitespace() || c.is_control() || matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | '\\')
    }) {
        return Err(Error::validation(format!(
            "event {e:?} contains {c:?}; no whitespace, control characters or * ? [ ] {{ }} \\"
        )));
    }
    Ok(())
}

/// Checks a property name: 1 to [`MAX_PROP_NAME`] of `A-Z a-z 0-9 _ - .`.
pub fn check_prop_name(p: &str) -> Result<()> {
    if p.is_empty()
        || p.len() > MAX_PROP_NAME
        || !p
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(Error::validation(format!(
            "property name {p:?} must be 1 to {MAX_PROP_NAME} of A-Z a-z 0-9 _ - ."
        )));
    }
    Ok(())
}

fn check(e: &Event) -> Result<()> {
    check_event(&e.event)?;
    if let Some(u) = &e.user {
        if u.is_empty() || u.len() > MAX_USER {
            return Err(Error::validation(format!(
                "user must be 1 to {MAX_USER} bytes, got {}",
                u.len()
            )));
        }
    }
    if e.props.len() > MAX_PROPS {
        return Err(Error::validation(format!(
            "props: at most {MAX_PROPS} properties per event, got {}",
            e.props.len()
        )));
    }
    for (k, v) in &e.props {
        check_prop_name(k)?;
        if v.len() > MAX_PROP_VALUE || v.chars().any(char::is_control) {
            return Err(Error::validation(format!(
                "props: the value of {k:?} must be at most {MAX_PROP_VALUE} bytes without \
                 control characters"
            )));
        }
    }
    if e.at_ms < 0 {
        return Err(Error::validation("at must not be before 1970"));
    }
    Ok(())
}

/// The day numbers from `since` to `until` (both ms, inclusive), checked.
pub fn day_range(since: i64, until: i64) -> Result<Vec<i64>> {
    let (a, b) = (since.div_euclid(DAY_MS), until.div_euclid(DAY_MS));
    if since < 0 || b < a || b - a >= MAX_DAYS {
        return Err(Error::validation(format!(
            "since must be at most until, both after 1970, and at most {MAX_DAYS} days apart"
        )));
    }
    Ok((a..=b).collect())
}

fn hour_range(since: i64, until: i64) -> Result<Vec<i64>> {
    let (a, b) = (since.div_euclid(HOUR_MS), until.div_euclid(HOUR_MS));
    if since < 0 || b < a || b - a >= MAX_HOURS {
        return Err(Error::validation(format!(
            "since must be at most until, both after 1970, and at most {MAX_HOURS} hours apart"
        )));
    }
    Ok((a..=b).collect())
}

/// A range to read: the days (ascending) and, for hourly counts, the hours.
#[derive(Debug, Clone)]
pub struct Range {
    /// Day numbers, ascending.
    pub days: Vec<i64>,
    /// The time the caller reads at (ms): buckets expired by then are skipped.
    pub now: i64,
}

/// Event counters and unique users of one namespace.
#[derive(Clone)]
pub struct Analytics {
    backend: Backend,
    ns: Arc<str>,
}

impl Analytics {
    /// The analytics of `ns` on `backend`.
    pub fn new(backend: Backend, ns: Arc<str>) -> Analytics {
        Analytics { backend, ns }
    }

    fn ns(&self) -> String {
        self.ns.to_string()
    }

    /// Records `events` (one script or transaction); returns how many. A day whose buckets
    /// have already expired (by the clock: the store's keys expire in real time) counts only
    /// in the totals.
    pub fn track_many(&self, events: Vec<Event>) -> Op<u64> {
        let now = crate::clock::now_ms() as i64;
        if events.len() > MAX_BATCH {
            return Op::Ready(Err(Error::validation(format!(
                "at most {MAX_BATCH} events per call, got {}",
                events.len()
            ))));
        }
        for e in &events {
            tri!(check(e));
        }
        let n = events.len() as u64;
        if n == 0 {
            return Op::Ready(Ok(0));
        }
        let batch = Batch::of(&events);
        self.backend
            .call(
                (self.ns(), batch),
                move |db, (ns, b)| sqlite::track(db, &ns, &b, now),
                move |r, c, (ns, b)| redis::track(r, c, ns, b, now),
            )
            .map(move |_| n)
    }

    /// Counts of `event` per bucket from `since` to `until` (ms, inclusive): `(bucket start
    /// in ms, count)` for every bucket, zeros included.
    pub fn counts(
        &self,
        event: &str,
        since: i64,
        until: i64,
        by: By,
        now: i64,
    ) -> Op<Vec<(i64, i64)>> {
        tri!(check_event(event));
        match by {
            By::Day => {
                let days = tri!(day_range(since, until));
                self.backend
                    .call(
                        (self.ns(), event.to_string(), days.clone()),
                        move |db, (ns, e, d)| sqlite::counts_day(db, &ns, &e, &d, now),
                        move |r, c, (ns, e, d)| redis::counts_day(r, c, ns, e, d, now),
                    )
                    .map(move |v| days.iter().map(|d| d * DAY_MS).zip(v).collect())
            }
            By::Hour => {
                let hours = tri!(hour_range(since, until));
                let days: Vec<i64> = {
                    let mut d: Vec<i64> = hours.iter().map(|h| h.div_euclid(24)).collect();
                    d.dedup();
                    d
                };
                self.backend
                    .call(
                        (self.ns(), event.to_string(), days),
                        move |db, (ns, e, d)| sqlite::counts_hour(db, &ns, &e, &d, now),
                        move |r, c, (ns, e, d)| redis::counts_hour(r, c, ns, e, d, now),
                    )
                    .map(move |m: BTreeMap<i64, i64>| {
                        hours
                            .iter()
                            .map(|h| (h * HOUR_MS, m.get(h).copied().unwrap_or(0)))
                            .collect()
                    })
            }
        }
    }

    /// Counts of `event` from `since` to `until` by the values of property `prop`.
    pub fn counts_by_prop(
        &self,
        event: &str,
        prop: &str,
        since: i64,
        until: i64,
        now: i64,
    ) -> Op<Vec<(String, i64)>> {
        tri!(check_event(event));
        tri!(check_prop_name(prop));
        let days = tri!(day_range(since, until));
        self.backend
            .call(
                (self.ns(), event.to_string(), format!("{prop}="), days),
                move |db, (ns, e, p, d)| sqlite::by_prop(db, &ns, &e, &p, &d, now),
                move |r, c, (ns, e, p, d)| redis::sums(r, c, ns, "prop", e, p, d, now),
            )
            .map(sorted)
    }

    /// Unique users of `event` from `since` to `until`: the days' HyperLogLogs merged.
    pub fn uniques(&self, event: &str, since: i64, until: i64, now: i64) -> Op<u64> {
        tri!(check_event(event));
        let days = tri!(day_range(since, until));
        self.backend.call(
            (self.ns(), event.to_string(), days),
            move |db, (ns, e, d)| sqlite::uniques(db, &ns, &e, &d, now),
            move |r, c, (ns, e, d)| redis::uniques(r, c, ns, e, d, now),
        )
    }

    /// Totals per event: all time (`range` None) or over the days from `since` to `until`;
    /// largest first (ties by name).
    pub fn events(&self, range: Option<(i64, i64)>, now: i64) -> Op<Vec<(String, i64)>> {
        let days = match range {
            Some((a, b)) => Some(tri!(day_range(a, b))),
            None => None,
        };
        self.backend
            .call(
                (self.ns(), days),
                move |db, (ns, d)| sqlite::events(db, &ns, d.as_deref(), now),
                move |r, c, (ns, d)| async move {
                    match d {
                        Some(d) => {
                            redis::sums(r, c, ns, "events", String::new(), String::new(), d, now)
                                .await
                        }
                        None => {
                            redis::sums(
                                r,
                                c,
                                ns,
                                "total",
                                String::new(),
                                String::new(),
                                vec![],
                                now,
                            )
                            .await
                        }
                    }
                },
            )
            .map(sorted)
    }

    /// Sets the retention (days after a bucket's day ends); returns the retention in force.
    pub fn retention(&self, days: Option<u32>) -> Op<u32> {
        if let Some(d) = days {
            if d == 0 || d > MAX_RETENTION_DAYS {
                return Op::Ready(Err(Error::validation(format!(
                    "days must be 1 to {MAX_RETENTION_DAYS}, got {d}"
                ))));
            }
        }
        self.backend.call(
            self.ns(),
            move |db, ns| sqlite::retention(db, &ns, days),
            move |r, c, ns| redis::retention(r, c, ns, days),
        )
    }

    /// Removes expired buckets at `now` (the embedded store also does so in the background;
    /// Redis expires them itself); returns how many rows went (0 on Redis).
    pub fn sweep(&self, now: i64) -> Op<u64> {
        self.backend.call(
            self.ns(),
            move |db, ns| db.with_tx(|tx| sqlite::sweep_ns(tx, &ns, now)),
            |_, _, _| async { Ok(0) },
        )
    }
}

/// Largest first, ties by name.
fn sorted(mut v: Vec<(String, i64)>) -> Vec<(String, i64)> {
    v.retain(|(_, n)| *n != 0);
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}
