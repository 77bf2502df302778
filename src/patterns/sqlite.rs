//! `hub.patterns` on the embedded store: one transaction per operation; every row carries its
//! expiry time (`expires_ms`); reads skip expired rows, `cleanup` deletes them.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};

use super::model::{self, Acceptance, Fix, Insights, Issue, Pattern, Session};
use super::Ctx;
use crate::engine::Sqlite;
use crate::error::Result;

pub use super::sqlite_dump::{cleanup, export, health, import};

/// Tables of this capability (one migration; see `engine::sqlite::MIGRATIONS`).
pub const SCHEMA: &str = "
CREATE TABLE pm_patterns (ns TEXT NOT NULL, id TEXT NOT NULL, repo TEXT NOT NULL,
  type TEXT NOT NULL, data TEXT NOT NULL, confidence REAL NOT NULL,
  observations INTEGER NOT NULL, first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL, PRIMARY KEY (ns, id)) WITHOUT ROWID;
CREATE INDEX pm_patterns_type ON pm_patterns (ns, repo, type, confidence);
CREATE INDEX pm_patterns_repo ON pm_patterns (ns, repo, confidence);
CREATE INDEX pm_patterns_exp ON pm_patterns (ns, repo, expires_ms);
CREATE TABLE pm_issues (ns TEXT NOT NULL, repo TEXT NOT NULL, rule TEXT NOT NULL,
  count INTEGER NOT NULL, file TEXT NOT NULL, severity TEXT NOT NULL, message TEXT NOT NULL,
  first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL,
  PRIMARY KEY (ns, repo, rule)) WITHOUT ROWID;
CREATE INDEX pm_issues_count ON pm_issues (ns, repo, count);
CREATE INDEX pm_issues_exp ON pm_issues (ns, repo, expires_ms);
CREATE TABLE pm_issue_days (ns TEXT NOT NULL, repo TEXT NOT NULL, day INTEGER NOT NULL,
  rule TEXT NOT NULL, count INTEGER NOT NULL, expires_ms INTEGER NOT NULL,
  PRIMARY KEY (ns, repo, day, rule)) WITHOUT ROWID;
CREATE INDEX pm_issue_days_exp ON pm_issue_days (ns, expires_ms);
CREATE TABLE pm_fixes (seq INTEGER PRIMARY KEY AUTOINCREMENT, ns TEXT NOT NULL,
  repo TEXT NOT NULL, rule TEXT NOT NULL, fix TEXT NOT NULL, accepted INTEGER NOT NULL,
  feedback TEXT, at_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL);
CREATE INDEX pm_fixes_repo ON pm_fixes (ns, repo, seq);
CREATE INDEX pm_fixes_rule ON pm_fixes (ns, repo, rule, accepted, expires_ms);
CREATE INDEX pm_fixes_exp ON pm_fixes (ns, repo, expires_ms);
CREATE TABLE pm_sessions (seq INTEGER PRIMARY KEY AUTOINCREMENT, ns TEXT NOT NULL,
  repo TEXT NOT NULL, summary TEXT NOT NULL, at_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL);
CREATE INDEX pm_sessions_repo ON pm_sessions (ns, repo, seq);
CREATE INDEX pm_sessions_exp ON pm_sessions (ns, repo, expires_ms);
";

/// Tables holding a namespace's rows.
pub(super) const TABLES: [&str; 5] = [
    "pm_patterns",
    "pm_issues",
    "pm_issue_days",
    "pm_fixes",
    "pm_sessions",
];

/// Rows this namespace holds.
pub fn rows(c: &Connection, ns: &str) -> Result<u64> {
    crate::engine::sqlite::count_rows(c, ns, &TABLES)
}

/// Deletes every row of this namespace; returns how many.
pub fn clear(tx: &Transaction<'_>, ns: &str) -> Result<u64> {
    crate::engine::sqlite::delete_rows(tx, ns, &TABLES)
}

pub(super) const PCOLS: &str = "id, repo, type, data, confidence, observations, first_ms, last_ms";

pub(super) fn pattern(r: &Row<'_>) -> rusqlite::Result<(Pattern, String)> {
    let data: String = r.get(3)?;
    Ok((
        Pattern {
            id: r.get(0)?,
            repo: r.get(1)?,
            r#type: r.get(2)?,
            data: serde_json::Value::Null,
            confidence: r.get(4)?,
            observations: r.get::<_, i64>(5)? as u64,
            first_ms: r.get::<_, i64>(6)? as u64,
            last_ms: r.get::<_, i64>(7)? as u64,
        },
        data,
    ))
}

pub(super) fn decode(rows: Vec<(Pattern, String)>) -> Result<Vec<Pattern>> {
    rows.into_iter()
        .map(|(mut p, d)| {
            p.data = serde_json::from_str(&d)?;
            Ok(p)
        })
        .collect()
}

fn one_pattern(c: &Connection, ns: &str, id: &str, now: u64) -> Result<Option<Pattern>> {
    let row = c
        .query_row(
            &format!(
                "SELECT {PCOLS} FROM pm_patterns WHERE ns = ?1 AND id = ?2 AND expires_ms > ?3"
            ),
            params![ns, id, now as i64],
            pattern,
        )
        .optional()?;
    Ok(decode(row.into_iter().collect())?.pop())
}

/// Stores or observes a pattern.
pub fn store(
    db: &Sqlite,
    c: &Ctx,
    id: &str,
    repo: &str,
    ty: &str,
    data: &str,
    conf: f64,
) -> Result<Pattern> {
    db.with_tx(|tx| {
        let (now, x) = (c.now as i64, c.expiry() as i64);
        tx.execute(
            "INSERT INTO pm_patterns (ns, id, repo, type, data, confidence, observations,
               first_ms, last_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?7, ?8)
             ON CONFLICT (ns, id) DO UPDATE SET confidence = excluded.confidence,
               observations = CASE WHEN expires_ms > ?7 THEN observations + 1 ELSE 1 END,
               first_ms = CASE WHEN expires_ms > ?7 THEN first_ms ELSE ?7 END,
               last_ms = ?7, expires_ms = ?8, data = excluded.data",
            params![c.ns, id, repo, ty, data, conf, now, x],
        )?;
        one_pattern(tx, &c.ns, id, c.now)?
            .ok_or_else(|| crate::error::Error::Backend("stored pattern vanished".into()))
    })
}

/// Patterns of a repository, most confident first; refreshes their expiry.
pub fn get(
    db: &Sqlite,
    c: &Ctx,
    repo: &str,
    ty: Option<&str>,
    min: f64,
    limit: usize,
) -> Result<Vec<Pattern>> {
    db.with_tx(|tx| {
        let now = c.now as i64;
        let rows: Vec<(Pattern, String)> = match ty {
            Some(t) => tx
                .prepare_cached(&format!(
                    "SELECT {PCOLS} FROM pm_patterns INDEXED BY pm_patterns_type
                     WHERE ns = ?1 AND repo = ?2 AND type = ?3 AND confidence >= ?4
                       AND expires_ms > ?5
                     ORDER BY confidence DESC, observations DESC, id LIMIT ?6"
                ))?
                .query_map(params![c.ns, repo, t, min, now, limit as i64], pattern)?
                .collect::<rusqlite::Result<_>>()?,
            None => tx
                .prepare_cached(&format!(
                    "SELECT {PCOLS} FROM pm_patterns INDEXED BY pm_patterns_repo
                     WHERE ns = ?1 AND repo = ?2 AND confidence >= ?3 AND expires_ms > ?4
                     ORDER BY confidence DESC, observations DESC, id LIMIT ?5"
                ))?
                .query_map(params![c.ns, repo, min, now, limit as i64], pattern)?
                .collect::<rusqlite::Result<_>>()?,
        };
        let mut up = tx.prepare_cached(
            "UPDATE pm_patterns SET expires_ms = max(expires_ms, ?3) WHERE ns = ?1 AND id = ?2",
        )?;
        for (p, _) in &rows {
            up.execute(params![c.ns, p.id, c.expiry() as i64])?;
        }
        decode(rows)
    })
}

/// Updates (or only refreshes) one pattern; None when absent or expired.
pub fn update(
    db: &Sqlite,
    c: &Ctx,
    id: &str,
    conf: Option<f64>,
    data: Option<&str>,
    observe: bool,
) -> Result<Option<Pattern>> {
    db.with_tx(|tx| {
        let n = tx.execute(
            "UPDATE pm_patterns SET confidence = coalesce(?3, confidence),
               data = coalesce(?4, data),
               observations = observations + ?5,
               last_ms = CASE WHEN ?5 = 1 THEN ?6 ELSE last_ms END,
               expires_ms = max(expires_ms, ?7)
             WHERE ns = ?1 AND id = ?2 AND expires_ms > ?6",
            params![
                c.ns,
                id,
                conf,
                data,
                observe as i64,
                c.now as i64,
                c.expiry() as i64
            ],
        )?;
        if n == 0 {
            return Ok(None);
        }
        one_pattern(tx, &c.ns, id, c.now)
    })
}

/// Deletes a pattern.
pub fn delete(db: &Sqlite, c: &Ctx, id: &str) -> Result<bool> {
    db.with_tx(|tx| {
        Ok(tx.execute(
            "DELETE FROM pm_patterns WHERE ns = ?1 AND id = ?2 AND expires_ms > ?3",
            params![c.ns, id, c.now as i64],
        )? > 0)
    })
}

pub(super) const ICOLS: &str = "repo, rule, count, file, severity, message, first_ms, last_ms";

pub(super) fn issue(r: &Row<'_>) -> rusqlite::Result<Issue> {
    Ok(Issue {
        repo: r.get(0)?,
        rule: r.get(1)?,
        count: r.get::<_, i64>(2)? as u64,
        file: r.get(3)?,
        severity: r.get(4)?,
        message: r.get(5)?,
        first_ms: r.get::<_, i64>(6)? as u64,
        last_ms: r.get::<_, i64>(7)? as u64,
    })
}

/// Counts one occurrence.
pub fn track(db: &Sqlite, c: &Ctx, i: &Issue) -> Result<Issue> {
    db.with_tx(|tx| {
        let (now, x, at) = (c.now as i64, c.expiry() as i64, i.last_ms as i64);
        tx.execute(
            "INSERT INTO pm_issues (ns, repo, rule, count, file, severity, message, first_ms,
               last_ms, expires_ms) VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?7, ?7, ?8)
             ON CONFLICT (ns, repo, rule) DO UPDATE SET
               count = CASE WHEN expires_ms > ?9 THEN count + 1 ELSE 1 END,
               first_ms = CASE WHEN expires_ms > ?9 THEN min(first_ms, ?7) ELSE ?7 END,
               last_ms = CASE WHEN expires_ms > ?9 THEN max(last_ms, ?7) ELSE ?7 END,
               file = excluded.file, severity = excluded.severity, message = excluded.message,
               expires_ms = ?8",
            params![c.ns, i.repo, i.rule, i.file, i.severity, i.message, at, x, now],
        )?;
        tx.execute(
            "INSERT INTO pm_issue_days (ns, repo, day, rule, count, expires_ms)
             VALUES (?1, ?2, ?3, ?4, 1, ?5)
             ON CONFLICT (ns, repo, day, rule) DO UPDATE SET
               count = CASE WHEN expires_ms > ?6 THEN count + 1 ELSE 1 END, expires_ms = ?5",
            params![
                c.ns,
                i.repo,
                model::day_of(i.last_ms) as i64,
                i.rule,
                x,
                now
            ],
        )?;
        Ok(tx.query_row(
            &format!("SELECT {ICOLS} FROM pm_issues WHERE ns = ?1 AND repo = ?2 AND rule = ?3"),
            params![c.ns, i.repo, i.rule],
            issue,
        )?)
    })
}

fn top_overall(c: &Connection, x: &Ctx, repo: &str, limit: usize) -> Result<Vec<Issue>> {
    Ok(c.prepare_cached(&format!(
        "SELECT {ICOLS} FROM pm_issues INDEXED BY pm_issues_count
         WHERE ns = ?1 AND repo = ?2 AND expires_ms > ?3 ORDER BY count DESC, rule LIMIT ?4"
    ))?
    .query_map(params![x.ns, repo, x.now as i64, limit as i64], issue)?
    .collect::<rusqlite::Result<_>>()?)
}

/// Most frequent issues, overall or from a day on.
pub fn top_issues(
    db: &Sqlite,
    c: &Ctx,
    repo: &str,
    limit: usize,
    from_day: Option<u64>,
) -> Result<Vec<Issue>> {
    db.with(|conn| {
        let Some(day) = from_day else {
            return top_overall(conn, c, repo, limit);
        };
        Ok(conn
            .prepare_cached(
                "SELECT i.repo, i.rule, w.n, i.file, i.severity, i.message, i.first_ms, i.last_ms
                 FROM (SELECT rule, sum(count) AS n FROM pm_issue_days
                       WHERE ns = ?1 AND repo = ?2 AND day >= ?3 AND expires_ms > ?4
                       GROUP BY rule) w
                 JOIN pm_issues i ON i.ns = ?1 AND i.repo = ?2 AND i.rule = w.rule
                 WHERE i.expires_ms > ?4 ORDER BY w.n DESC, i.rule LIMIT ?5",
            )?
            .query_map(
                params![c.ns, repo, day as i64, c.now as i64, limit as i64],
                issue,
            )?
            .collect::<rusqlite::Result<_>>()?)
    })
}

/// Records a fix outcome and trims the repository's fixes.
pub fn record_fix(db: &Sqlite, c: &Ctx, f: &Fix) -> Result<()> {
    db.with_tx(|tx| insert_fix(tx, c, f))
}

pub(super) fn insert_fix(tx: &Transaction<'_>, c: &Ctx, f: &Fix) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO pm_fixes (ns, repo, rule, fix, accepted, feedback, at_ms, expires_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        c.ns,
        f.repo,
        f.rule,
        f.fix,
        f.accepted as i64,
        f.feedback,
        f.at_ms as i64,
        c.expiry() as i64
    ])?;
    trim(tx, "pm_fixes", &c.ns, &f.repo, c.s.max_fixes)
}

fn trim(tx: &Transaction<'_>, table: &str, ns: &str, repo: &str, max: u64) -> Result<()> {
    tx.prepare_cached(&format!(
        "DELETE FROM {table} WHERE ns = ?1 AND repo = ?2 AND seq <= (SELECT seq FROM {table}
           WHERE ns = ?1 AND repo = ?2 ORDER BY seq DESC LIMIT 1 OFFSET ?3)"
    ))?
    .execute(params![ns, repo, max as i64])?;
    Ok(())
}

pub(super) fn fix(r: &Row<'_>) -> rusqlite::Result<Fix> {
    Ok(Fix {
        repo: r.get(0)?,
        rule: r.get(1)?,
        fix: r.get(2)?,
        accepted: r.get::<_, i64>(3)? != 0,
        feedback: r.get(4)?,
        at_ms: r.get::<_, i64>(5)? as u64,
    })
}

pub(super) const FCOLS: &str = "repo, rule, fix, accepted, feedback, at_ms";

/// Newest fix outcomes.
pub fn fixes(
    db: &Sqlite,
    c: &Ctx,
    repo: &str,
    rule: Option<&str>,
    limit: usize,
) -> Result<Vec<Fix>> {
    db.with(|conn| {
        Ok(conn
            .prepare_cached(&format!(
                "SELECT {FCOLS} FROM pm_fixes INDEXED BY pm_fixes_repo
                 WHERE ns = ?1 AND repo = ?2 AND (?3 IS NULL OR rule = ?3) AND expires_ms > ?4
                 ORDER BY seq DESC LIMIT ?5"
            ))?
            .query_map(params![c.ns, repo, rule, c.now as i64, limit as i64], fix)?
            .collect::<rusqlite::Result<_>>()?)
    })
}

fn acceptance_of(conn: &Connection, c: &Ctx, repo: &str) -> Result<Vec<Acceptance>> {
    let mut v: Vec<Acceptance> = conn
        .prepare_cached(
            "SELECT rule, sum(accepted), count(*) FROM pm_fixes INDEXED BY pm_fixes_rule
             WHERE ns = ?1 AND repo = ?2 AND expires_ms > ?3 GROUP BY rule",
        )?
        .query_map(params![c.ns, repo, c.now as i64], |r| {
            Ok(Acceptance {
                rule: r.get(0)?,
                accepted: r.get::<_, i64>(1)? as u64,
                total: r.get::<_, i64>(2)? as u64,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    model::sort_acceptance(&mut v);
    Ok(v)
}

/// Acceptance per rule.
pub fn acceptance(db: &Sqlite, c: &Ctx, repo: &str) -> Result<Vec<Acceptance>> {
    db.with(|conn| acceptance_of(conn, c, repo))
}

/// Records a session and trims the repository's sessions.
pub fn record_session(db: &Sqlite, c: &Ctx, s: &Session, text: &str) -> Result<()> {
    db.with_tx(|tx| insert_session(tx, c, s, text))
}

pub(super) fn insert_session(tx: &Transaction<'_>, c: &Ctx, s: &Session, text: &str) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO pm_sessions (ns, repo, summary, at_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![c.ns, s.repo, text, s.at_ms as i64, c.expiry() as i64])?;
    trim(tx, "pm_sessions", &c.ns, &s.repo, c.s.max_sessions)
}

/// Newest sessions.
pub fn sessions(db: &Sqlite, c: &Ctx, repo: &str, limit: usize) -> Result<Vec<Session>> {
    db.with(|conn| sessions_of(conn, c, repo, limit))
}

pub(super) fn sessions_of(
    conn: &Connection,
    c: &Ctx,
    repo: &str,
    limit: usize,
) -> Result<Vec<Session>> {
    let rows: Vec<(String, i64)> = conn
        .prepare_cached(
            "SELECT summary, at_ms FROM pm_sessions INDEXED BY pm_sessions_repo
             WHERE ns = ?1 AND repo = ?2 AND expires_ms > ?3 ORDER BY seq DESC LIMIT ?4",
        )?
        .query_map(params![c.ns, repo, c.now as i64, limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    rows.into_iter()
        .map(|(s, at)| {
            Ok(Session {
                repo: repo.to_string(),
                summary: serde_json::from_str(&s)?,
                at_ms: at as u64,
            })
        })
        .collect()
}

fn count(conn: &Connection, table: &str, c: &Ctx, repo: Option<&str>) -> Result<u64> {
    let n: i64 = match repo {
        // Both forms range-scan the `<table>_exp (ns, repo, expires_ms)` index only.
        Some(repo) => conn
            .prepare_cached(&format!(
                "SELECT count(*) FROM {table} INDEXED BY {table}_exp
                 WHERE ns = ?1 AND repo = ?2 AND expires_ms > ?3"
            ))?
            .query_row(params![c.ns, repo, c.now as i64], |r| r.get(0))?,
        None => conn
            .prepare_cached(&format!(
                "SELECT count(*) FROM {table} INDEXED BY {table}_exp
                 WHERE ns = ?1 AND expires_ms > ?2"
            ))?
            .query_row(params![c.ns, c.now as i64], |r| r.get(0))?,
    };
    Ok(n as u64)
}

pub(super) fn counts(
    conn: &Connection,
    c: &Ctx,
    repo: Option<&str>,
) -> Result<BTreeMap<String, u64>> {
    let mut m = BTreeMap::new();
    for (k, t) in [
        ("patterns", "pm_patterns"),
        ("issues", "pm_issues"),
        ("fixes", "pm_fixes"),
        ("sessions", "pm_sessions"),
    ] {
        m.insert(k.to_string(), count(conn, t, c, repo)?);
    }
    Ok(m)
}

/// Everything `insights` reports, in one read transaction.
pub fn insights(db: &Sqlite, c: &Ctx, repo: &str, limit: usize, window: u64) -> Result<Insights> {
    db.with(|conn| {
        let tx = conn.transaction()?;
        let rows: Vec<(Pattern, String)> = tx
            .prepare_cached(&format!(
                "SELECT {PCOLS} FROM pm_patterns INDEXED BY pm_patterns_repo
                 WHERE ns = ?1 AND repo = ?2 AND expires_ms > ?3
                 ORDER BY confidence DESC, observations DESC, id LIMIT ?4"
            ))?
            .query_map(params![c.ns, repo, c.now as i64, limit as i64], pattern)?
            .collect::<rusqlite::Result<_>>()?;
        let patterns = decode(rows)?;
        let issues = top_overall(&tx, c, repo, limit)?;
        let mut acceptance = acceptance_of(&tx, c, repo)?;
        acceptance.truncate(limit);
        let today = model::day_of(c.now);
        let cur_from = today + 1 - window.min(today + 1);
        let trends: Vec<model::Trend> = tx
            .prepare_cached(
                "SELECT rule, sum(CASE WHEN day >= ?4 THEN count ELSE 0 END),
                   sum(CASE WHEN day < ?4 THEN count ELSE 0 END) FROM pm_issue_days
                 WHERE ns = ?1 AND repo = ?2 AND day >= ?3 AND day <= ?5 AND expires_ms > ?6
                 GROUP BY rule",
            )?
            .query_map(
                params![
                    c.ns,
                    repo,
                    model::trend_start(today, window) as i64,
                    cur_from as i64,
                    today as i64,
                    c.now as i64
                ],
                |r| {
                    Ok(model::Trend {
                        rule: r.get(0)?,
                        current: r.get::<_, i64>(1)? as u64,
                        previous: r.get::<_, i64>(2)? as u64,
                    })
                },
            )?
            .collect::<rusqlite::Result<_>>()?;
        let counts = counts(&tx, c, Some(repo))?;
        tx.commit()?;
        Ok(Insights {
            repo: repo.to_string(),
            patterns,
            issues,
            acceptance,
            trends: model::rank_trends(trends, limit),
            counts,
            window_days: window,
        })
    })
}
