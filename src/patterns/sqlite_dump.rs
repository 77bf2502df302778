//! `hub.patterns` on the embedded store: health, cleanup, export and import (the whole-store
//! and whole-repository operations), apart from the per-record ones in `sqlite.rs`.

use rusqlite::params;

use super::model::{Dump, Fix, Health, Issue, IssueExport, Pattern};
use super::sqlite::{
    counts, decode, fix, insert_fix, insert_session, issue, pattern, sessions_of, FCOLS, ICOLS,
    PCOLS, TABLES,
};
use super::Ctx;
use crate::engine::Sqlite;
use crate::error::Result;

/// Health of the namespace's pattern memory.
pub fn health(db: &Sqlite, c: &Ctx, backend: String) -> Result<Health> {
    let t = std::time::Instant::now();
    db.with(|conn| {
        let tx = conn.transaction()?;
        let mut counts = counts(&tx, c, None)?;
        let now = c.now as i64;
        let repos: i64 = tx.query_row(
            "SELECT count(*) FROM (SELECT repo FROM pm_patterns WHERE ns = ?1 AND expires_ms > ?2
             UNION SELECT repo FROM pm_issues WHERE ns = ?1 AND expires_ms > ?2
             UNION SELECT repo FROM pm_fixes WHERE ns = ?1 AND expires_ms > ?2
             UNION SELECT repo FROM pm_sessions WHERE ns = ?1 AND expires_ms > ?2)",
            params![c.ns, now],
            |r| r.get(0),
        )?;
        counts.insert("repos".into(), repos as u64);
        let mut bytes = 0i64;
        let mut oldest: Option<i64> = None;
        let mut newest: Option<i64> = None;
        for (t, size, first, last) in [
            (
                "pm_patterns",
                "length(id) + length(repo) + length(type) + length(data) + 40",
                "first_ms",
                "last_ms",
            ),
            (
                "pm_issues",
                "length(repo) + length(rule) + length(file) + length(severity) + length(message) + 32",
                "first_ms",
                "last_ms",
            ),
            ("pm_issue_days", "length(repo) + length(rule) + 24", "NULL", "NULL"),
            (
                "pm_fixes",
                "length(repo) + length(rule) + length(fix) + coalesce(length(feedback), 0) + 32",
                "at_ms",
                "at_ms",
            ),
            ("pm_sessions", "length(repo) + length(summary) + 24", "at_ms", "at_ms"),
        ] {
            let (b, lo, hi): (Option<i64>, Option<i64>, Option<i64>) = tx.query_row(
                &format!(
                    "SELECT sum({size}), min({first}), max({last}) FROM {t}
                     WHERE ns = ?1 AND expires_ms > ?2"
                ),
                params![c.ns, now],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            bytes += b.unwrap_or(0);
            oldest = match (oldest, lo) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            newest = match (newest, hi) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
        }
        tx.commit()?;
        Ok(Health {
            backend,
            connected: true,
            rtt_ms: t.elapsed().as_secs_f64() * 1e3,
            counts,
            storage_bytes: bytes as u64,
            oldest_ms: oldest.map(|v| v as u64),
            newest_ms: newest.map(|v| v as u64),
        })
    })
}

/// Deletes expired rows.
pub fn cleanup(db: &Sqlite, c: &Ctx) -> Result<u64> {
    db.with_tx(|tx| {
        let mut n = 0u64;
        for t in TABLES {
            n += tx.execute(
                &format!("DELETE FROM {t} WHERE ns = ?1 AND expires_ms <= ?2"),
                params![c.ns, c.now as i64],
            )? as u64;
        }
        Ok(n)
    })
}

/// Everything a repository holds.
pub fn export(db: &Sqlite, c: &Ctx, repo: &str) -> Result<Dump> {
    db.with(|conn| {
        let tx = conn.transaction()?;
        let now = c.now as i64;
        let rows: Vec<(Pattern, String)> = tx
            .prepare_cached(&format!(
                "SELECT {PCOLS} FROM pm_patterns WHERE ns = ?1 AND repo = ?2 AND expires_ms > ?3
                 ORDER BY id"
            ))?
            .query_map(params![c.ns, repo, now], pattern)?
            .collect::<rusqlite::Result<_>>()?;
        let patterns = decode(rows)?;
        let issues: Vec<Issue> = tx
            .prepare_cached(&format!(
                "SELECT {ICOLS} FROM pm_issues WHERE ns = ?1 AND repo = ?2 AND expires_ms > ?3
                 ORDER BY rule"
            ))?
            .query_map(params![c.ns, repo, now], issue)?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = Vec::with_capacity(issues.len());
        let mut q = tx.prepare_cached(
            "SELECT day, count FROM pm_issue_days WHERE ns = ?1 AND repo = ?2 AND rule = ?3
               AND expires_ms > ?4 ORDER BY day",
        )?;
        for i in issues {
            let days = q
                .query_map(params![c.ns, repo, i.rule, now], |r| {
                    Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
                })?
                .collect::<rusqlite::Result<_>>()?;
            out.push(IssueExport { issue: i, days });
        }
        drop(q);
        let fixes: Vec<Fix> = tx
            .prepare_cached(&format!(
                "SELECT {FCOLS} FROM pm_fixes WHERE ns = ?1 AND repo = ?2 AND expires_ms > ?3
                 ORDER BY seq"
            ))?
            .query_map(params![c.ns, repo, now], fix)?
            .collect::<rusqlite::Result<_>>()?;
        let mut sessions = sessions_of(&tx, c, repo, usize::MAX >> 1)?;
        sessions.reverse();
        tx.commit()?;
        Ok(Dump {
            repo: repo.to_string(),
            patterns,
            issues: out,
            fixes,
            sessions,
        })
    })
}

/// Replaces a repository's records with a dump.
pub fn import(db: &Sqlite, c: &Ctx, d: &Dump) -> Result<u64> {
    db.with_tx(|tx| {
        for t in TABLES {
            tx.execute(
                &format!("DELETE FROM {t} WHERE ns = ?1 AND repo = ?2"),
                params![c.ns, d.repo],
            )?;
        }
        let x = c.expiry() as i64;
        let mut n = 0u64;
        for p in &d.patterns {
            tx.execute(
                "INSERT OR REPLACE INTO pm_patterns (ns, id, repo, type, data, confidence,
                   observations, first_ms, last_ms, expires_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    c.ns,
                    p.id,
                    d.repo,
                    p.r#type,
                    serde_json::to_string(&p.data)?,
                    p.confidence,
                    p.observations as i64,
                    p.first_ms as i64,
                    p.last_ms as i64,
                    x
                ],
            )?;
            n += 1;
        }
        for e in &d.issues {
            let i = &e.issue;
            tx.execute(
                "INSERT INTO pm_issues (ns, repo, rule, count, file, severity, message,
                   first_ms, last_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    c.ns,
                    d.repo,
                    i.rule,
                    i.count as i64,
                    i.file,
                    i.severity,
                    i.message,
                    i.first_ms as i64,
                    i.last_ms as i64,
                    x
                ],
            )?;
            for (day, k) in &e.days {
                tx.execute(
                    "INSERT OR REPLACE INTO pm_issue_days (ns, repo, day, rule, count, expires_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![c.ns, d.repo, *day as i64, i.rule, *k as i64, x],
                )?;
            }
            n += 1;
        }
        for f in &d.fixes {
            insert_fix(tx, c, f)?;
            n += 1;
        }
        for s in &d.sessions {
            insert_session(tx, c, s, &serde_json::to_string(&s.summary)?)?;
            n += 1;
        }
        Ok(n)
    })
}
