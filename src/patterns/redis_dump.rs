//! `hub.patterns` on Redis: health, cleanup, export and import (the whole-namespace and
//! whole-repository scripts), apart from the per-record ones in `redis.rs`.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use redis::Value;

use super::model::{self, Dump, FixEntry, Health, IssueExport, SessionEntry};
use super::redis::{
    bad, call, days, first_day, fix_of, issues, items, num, patterns, script, session_of, text,
};
use super::Ctx;
use crate::engine::script::Lua;
use crate::engine::{Redis, RedisConn};
use crate::error::{Error, Result};

static HEALTH: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/health.lua")));
static CLEANUP: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/cleanup.lua")));
static EXPORT: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/export.lua")));
static IMPORT: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/import.lua")));

/// Health of the namespace's pattern memory.
pub async fn health(r: Arc<Redis>, mut c: RedisConn, x: Ctx, backend: String) -> Result<Health> {
    let t = std::time::Instant::now();
    if let Err(e) = r.ping().await {
        if matches!(e, Error::Connection(_) | Error::Timeout(_)) {
            return Ok(Health {
                backend,
                connected: false,
                rtt_ms: t.elapsed().as_secs_f64() * 1e3,
                counts: BTreeMap::new(),
                storage_bytes: 0,
                oldest_ms: None,
                newest_ms: None,
            });
        }
        return Err(e);
    }
    let rtt_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut cmd = call(&HEALTH, &x);
    cmd.arg(first_day(&x)).arg(model::day_of(x.now));
    let v: Vec<Value> = HEALTH.run(&r, &mut c, &cmd).await?;
    let [p, i, f, s, repos, bytes, lo, hi] = v.as_slice() else {
        return Err(bad("health"));
    };
    let mut counts = BTreeMap::new();
    for (k, n) in [
        ("patterns", p),
        ("issues", i),
        ("fixes", f),
        ("sessions", s),
        ("repos", repos),
    ] {
        counts.insert(k.to_string(), num(n)?);
    }
    let opt = |v: &Value| -> Result<Option<u64>> {
        let s = text(v)?;
        Ok(if s.is_empty() { None } else { Some(num(v)?) })
    };
    Ok(Health {
        backend,
        connected: true,
        rtt_ms,
        counts,
        storage_bytes: num(bytes)?,
        oldest_ms: opt(lo)?,
        newest_ms: opt(hi)?,
    })
}

/// Deletes expired records.
pub async fn cleanup(r: Arc<Redis>, mut c: RedisConn, x: Ctx) -> Result<u64> {
    let mut cmd = call(&CLEANUP, &x);
    cmd.arg(first_day(&x));
    CLEANUP.run(&r, &mut c, &cmd).await
}

/// Everything a repository holds.
pub async fn export(r: Arc<Redis>, mut c: RedisConn, x: Ctx, repo: String) -> Result<Dump> {
    let mut cmd = call(&EXPORT, &x);
    cmd.arg(&repo).arg(first_day(&x)).arg(model::day_of(x.now));
    let v: Vec<Value> = EXPORT.run(&r, &mut c, &cmd).await?;
    let [ps, is, ds, fx, ss] = v.as_slice() else {
        return Err(bad("export"));
    };
    let mut patterns = patterns(items(ps)?, &repo)?;
    patterns.sort_by(|a, b| a.id.cmp(&b.id));
    let mut issues = issues(items(is)?, &repo)?;
    issues.sort_by(|a, b| a.rule.cmp(&b.rule));
    let mut by_rule: BTreeMap<String, Vec<(u64, u64)>> = BTreeMap::new();
    for (rule, d, n) in days(items(ds)?)? {
        by_rule.entry(rule).or_default().push((d, n));
    }
    let issues = issues
        .into_iter()
        .map(|i| {
            let mut days = by_rule.remove(&i.rule).unwrap_or_default();
            days.sort();
            IssueExport { issue: i, days }
        })
        .collect();
    let mut fixes = Vec::new();
    for v in items(fx)?.iter().rev() {
        let e: FixEntry = serde_json::from_str(&text(v)?)?;
        if e.x > x.now {
            fixes.push(fix_of(&repo, e));
        }
    }
    let mut sessions = Vec::new();
    for v in items(ss)?.iter().rev() {
        let e: SessionEntry = serde_json::from_str(&text(v)?)?;
        if e.x > x.now {
            sessions.push(session_of(&repo, e));
        }
    }
    Ok(Dump {
        repo,
        patterns,
        issues,
        fixes,
        sessions,
    })
}

/// Replaces a repository's records with a dump.
pub async fn import(r: Arc<Redis>, mut c: RedisConn, x: Ctx, d: Dump) -> Result<u64> {
    let mut cmd = call(&IMPORT, &x);
    cmd.arg(&d.repo)
        .arg(first_day(&x))
        .arg(model::day_of(x.now));
    for p in &d.patterns {
        cmd.arg("P")
            .arg(&p.id)
            .arg(&p.r#type)
            .arg(serde_json::to_string(&p.data)?)
            .arg(p.confidence.to_string())
            .arg(p.observations)
            .arg(p.first_ms)
            .arg(p.last_ms);
    }
    for e in &d.issues {
        let i = &e.issue;
        cmd.arg("I")
            .arg(&i.rule)
            .arg(i.count)
            .arg(&i.file)
            .arg(&i.severity)
            .arg(&i.message)
            .arg(i.first_ms)
            .arg(i.last_ms)
            .arg(e.days.len());
        for (day, n) in &e.days {
            cmd.arg(day).arg(n);
        }
    }
    for f in &d.fixes {
        let entry = FixEntry {
            rule: f.rule.clone(),
            fix: f.fix.clone(),
            accepted: f.accepted,
            feedback: f.feedback.clone(),
            at: f.at_ms,
            x: x.expiry(),
        };
        cmd.arg("F")
            .arg(serde_json::to_string(&entry)?)
            .arg(&f.rule)
            .arg(if f.accepted { "1" } else { "0" });
    }
    for s in &d.sessions {
        let entry = SessionEntry {
            summary: s.summary.clone(),
            at: s.at_ms,
            x: x.expiry(),
        };
        cmd.arg("S").arg(serde_json::to_string(&entry)?);
    }
    IMPORT.run(&r, &mut c, &cmd).await
}
