//! `hub.patterns` on Redis: hashes per pattern and issue, sorted sets per repository and type
//! scored by confidence (and by expiry time), per-day issue buckets, lists for fix outcomes
//! and sessions; every key under the namespace's `{<ns>:patterns}` hash tag so one Lua script
//! does each operation atomically (docs/keys.md lists every key).

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use redis::Value;

use super::model::{
    self, Acceptance, Fix, FixEntry, Insights, Issue, Pattern, Session, SessionEntry,
};
use super::Ctx;
use crate::engine::script::Lua;
use crate::engine::{Redis, RedisConn};
use crate::error::{Error, Result};

pub use super::redis_dump::{cleanup, export, health, import};

pub(super) const COMMON: &str = include_str!("lua/common.lua");

pub(super) fn script(body: &str) -> Lua {
    Lua::new(COMMON, body)
}

static STORE: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/store.lua")));
static UPDATE: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/update.lua")));
static GET: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/get.lua")));
static DELETE: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/delete.lua")));
static TRACK: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/track.lua")));
static TOP: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/top.lua")));
static FIX: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/fix.lua")));
static ACCEPT: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/accept.lua")));
static SESSION: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/session.lua")));
static INSIGHTS: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/insights.lua")));

/// `zl:{<ns>:patterns}:` — every pattern-memory key starts with it.
pub fn prefix(ns: &str) -> String {
    crate::engine::keys::prefix(ns, super::CAPABILITY.tag)
}

pub(super) fn bad(what: &str) -> Error {
    Error::Backend(format!(
        "unexpected reply from a pattern-memory script: {what}"
    ))
}

pub(super) fn text(v: &Value) -> Result<String> {
    redis::from_redis_value_ref(v).map_err(|e| bad(&e.to_string()))
}

pub(super) fn num(v: &Value) -> Result<u64> {
    let s = text(v)?;
    s.parse::<u64>()
        .or_else(|_| s.parse::<f64>().map(|f| f as u64))
        .map_err(|_| bad(&format!("not a count: {s:?}")))
}

fn float(v: &Value) -> Result<f64> {
    let s = text(v)?;
    s.parse().map_err(|_| bad(&format!("not a number: {s:?}")))
}

pub(super) fn items(v: &Value) -> Result<&[Value]> {
    match v {
        Value::Array(a) => Ok(a),
        Value::Nil => Ok(&[]),
        _ => Err(bad("expected a list")),
    }
}

/// Starts a script call with the common arguments (prefix, now, expiry).
pub(super) fn call(l: &Lua, c: &Ctx) -> redis::Cmd {
    let p = prefix(&c.ns);
    let mut cmd = l.call(&format!("{p}repos"));
    cmd.arg(&p).arg(c.now).arg(c.expiry());
    cmd
}

/// First day a bucket can still hold counts (buckets expire with the records).
pub(super) fn first_day(c: &Ctx) -> u64 {
    model::day_of(c.now.saturating_sub(c.s.ttl_ms.max(model::DEFAULT_TTL_MS))) - 1
}

/// Patterns from flat `{id, type, data, confidence, observations, first, last}` groups.
pub(super) fn patterns(v: &[Value], repo: &str) -> Result<Vec<Pattern>> {
    v.chunks(7)
        .map(|p| match p {
            [id, t, d, c, n, f, l] => Ok(Pattern {
                id: text(id)?,
                repo: repo.to_string(),
                r#type: text(t)?,
                data: serde_json::from_str(&text(d)?)?,
                confidence: float(c)?,
                observations: num(n)?,
                first_ms: num(f)?,
                last_ms: num(l)?,
            }),
            _ => Err(bad("pattern record")),
        })
        .collect()
}

/// Issues from flat `{rule, count, file, severity, message, first, last}` groups.
pub(super) fn issues(v: &[Value], repo: &str) -> Result<Vec<Issue>> {
    v.chunks(7)
        .map(|p| match p {
            [rule, n, file, sev, msg, f, l] => Ok(Issue {
                repo: repo.to_string(),
                rule: text(rule)?,
                count: num(n)?,
                file: text(file)?,
                severity: text(sev)?,
                message: text(msg)?,
                first_ms: num(f)?,
                last_ms: num(l)?,
            }),
            _ => Err(bad("issue record")),
        })
        .collect()
}

pub(super) fn days(v: &[Value]) -> Result<Vec<(String, u64, u64)>> {
    v.chunks(3)
        .map(|x| match x {
            [r, d, n] => Ok((text(r)?, num(d)?, num(n)?)),
            _ => Err(bad("day record")),
        })
        .collect()
}

fn trends_of(v: &[Value]) -> Result<Vec<model::Trend>> {
    v.chunks(3)
        .map(|x| match x {
            [r, c, p] => Ok(model::Trend {
                rule: text(r)?,
                current: num(c)?,
                previous: num(p)?,
            }),
            _ => Err(bad("trend record")),
        })
        .collect()
}

fn acceptance_of(v: &[Value]) -> Result<Vec<Acceptance>> {
    let mut m: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for kv in v.chunks(2) {
        let [k, n] = kv else {
            return Err(bad("acceptance counters"));
        };
        let (k, n) = (text(k)?, num(n)?);
        if let Some(rule) = k.strip_prefix("n:") {
            m.entry(rule.to_string()).or_default().1 = n;
        } else if let Some(rule) = k.strip_prefix("a:") {
            m.entry(rule.to_string()).or_default().0 = n;
        }
    }
    let mut out: Vec<Acceptance> = m
        .into_iter()
        .filter(|(_, (_, t))| *t > 0)
        .map(|(rule, (accepted, total))| Acceptance {
            rule,
            accepted,
            total,
        })
        .collect();
    model::sort_acceptance(&mut out);
    Ok(out)
}

/// Stores or observes a pattern.
#[allow(clippy::too_many_arguments)]
pub async fn store(
    r: Arc<Redis>,
    mut c: RedisConn,
    x: Ctx,
    id: String,
    repo: String,
    ty: String,
    (value, data): (serde_json::Value, String),
    conf: f64,
) -> Result<Pattern> {
    let mut cmd = call(&STORE, &x);
    cmd.arg(&id)
        .arg(&repo)
        .arg(&ty)
        .arg(&data)
        .arg(conf.to_string());
    let v: Vec<Value> = STORE.run(&r, &mut c, &cmd).await?;
    let [n, f] = v.as_slice() else {
        return Err(bad("store"));
    };
    Ok(Pattern {
        id,
        repo,
        r#type: ty,
        data: value,
        confidence: conf,
        observations: num(n)?,
        first_ms: num(f)?,
        last_ms: x.now,
    })
}

/// Patterns of a repository.
#[allow(clippy::too_many_arguments)]
pub async fn get(
    r: Arc<Redis>,
    mut c: RedisConn,
    x: Ctx,
    repo: String,
    ty: Option<String>,
    min: f64,
    limit: usize,
) -> Result<Vec<Pattern>> {
    let mut cmd = call(&GET, &x);
    cmd.arg(&repo)
        .arg(ty.as_deref().unwrap_or(""))
        .arg(min.to_string())
        .arg(limit);
    let v: Vec<Value> = GET.run(&r, &mut c, &cmd).await?;
    let mut out = patterns(&v, &repo)?;
    model::sort_patterns(&mut out);
    out.truncate(limit);
    Ok(out)
}

/// Updates or refreshes one pattern.
pub async fn update(
    r: Arc<Redis>,
    mut c: RedisConn,
    x: Ctx,
    id: String,
    conf: Option<f64>,
    data: Option<String>,
    observe: bool,
) -> Result<Option<Pattern>> {
    let mut cmd = call(&UPDATE, &x);
    cmd.arg(&id)
        .arg(conf.map(|c| c.to_string()).unwrap_or_default())
        .arg(data.unwrap_or_default())
        .arg(if observe { "1" } else { "0" });
    let v: Value = UPDATE.run(&r, &mut c, &cmd).await?;
    let v = items(&v)?;
    if v.is_empty() {
        return Ok(None);
    }
    let (rec, repo) = v.split_at(7);
    let repo = repo.first().map(text).transpose()?.unwrap_or_default();
    Ok(patterns(rec, &repo)?.pop())
}

/// Deletes a pattern.
pub async fn delete(r: Arc<Redis>, mut c: RedisConn, x: Ctx, id: String) -> Result<bool> {
    let mut cmd = call(&DELETE, &x);
    cmd.arg(&id);
    let n: u64 = DELETE.run(&r, &mut c, &cmd).await?;
    Ok(n > 0)
}

/// Counts one occurrence.
pub async fn track(r: Arc<Redis>, mut c: RedisConn, x: Ctx, i: Issue) -> Result<Issue> {
    let mut cmd = call(&TRACK, &x);
    cmd.arg(&i.repo)
        .arg(&i.rule)
        .arg(&i.file)
        .arg(&i.severity)
        .arg(&i.message)
        .arg(i.last_ms)
        .arg(model::day_of(i.last_ms));
    let v: Vec<Value> = TRACK.run(&r, &mut c, &cmd).await?;
    let [n, f, l] = v.as_slice() else {
        return Err(bad("track"));
    };
    Ok(Issue {
        count: num(n)?,
        first_ms: num(f)?,
        last_ms: num(l)?,
        ..i
    })
}

/// Most frequent issues.
pub async fn top_issues(
    r: Arc<Redis>,
    mut c: RedisConn,
    x: Ctx,
    repo: String,
    limit: usize,
    from_day: Option<u64>,
) -> Result<Vec<Issue>> {
    let mut cmd = call(&TOP, &x);
    cmd.arg(&repo)
        .arg(limit)
        .arg(
            from_day
                .map(|d| d.max(first_day(&x)).to_string())
                .unwrap_or_default(),
        )
        .arg(model::day_of(x.now));
    let v: Vec<Value> = TOP.run(&r, &mut c, &cmd).await?;
    let mut out = issues(&v, &repo)?;
    model::sort_issues(&mut out);
    out.truncate(limit);
    Ok(out)
}

/// Records a fix outcome.
pub async fn record_fix(r: Arc<Redis>, mut c: RedisConn, x: Ctx, f: &Fix) -> Result<()> {
    let entry = FixEntry {
        rule: f.rule.clone(),
        fix: f.fix.clone(),
        accepted: f.accepted,
        feedback: f.feedback.clone(),
        at: f.at_ms,
        x: x.expiry(),
    };
    let mut cmd = call(&FIX, &x);
    cmd.arg(&f.repo)
        .arg(serde_json::to_string(&entry)?)
        .arg(&f.rule)
        .arg(if f.accepted { "1" } else { "0" })
        .arg(x.s.max_fixes);
    let _: u64 = FIX.run(&r, &mut c, &cmd).await?;
    Ok(())
}

async fn lrange(r: &Redis, c: &mut RedisConn, key: String, stop: isize) -> Result<Vec<String>> {
    redis::cmd("LRANGE")
        .arg(key)
        .arg(0)
        .arg(stop)
        .query_async(c)
        .await
        .map_err(|e| r.err(e))
}

pub(super) fn fix_of(repo: &str, e: FixEntry) -> Fix {
    Fix {
        repo: repo.to_string(),
        rule: e.rule,
        fix: e.fix,
        accepted: e.accepted,
        feedback: e.feedback,
        at_ms: e.at,
    }
}

/// Newest fix outcomes.
pub async fn fixes(
    r: Arc<Redis>,
    mut c: RedisConn,
    x: Ctx,
    repo: String,
    rule: Option<String>,
    limit: usize,
) -> Result<Vec<Fix>> {
    let stop = if rule.is_some() {
        -1
    } else {
        limit as isize - 1
    };
    let raw = lrange(&r, &mut c, format!("{}fx:{repo}", prefix(&x.ns)), stop).await?;
    let mut out = Vec::new();
    for s in raw {
        let e: FixEntry = serde_json::from_str(&s)?;
        if e.x > x.now && rule.as_ref().is_none_or(|ru| *ru == e.rule) {
            out.push(fix_of(&repo, e));
            if out.len() == limit {
                break;
            }
        }
    }
    Ok(out)
}

/// Acceptance per rule.
pub async fn acceptance(
    r: Arc<Redis>,
    mut c: RedisConn,
    x: Ctx,
    repo: String,
) -> Result<Vec<Acceptance>> {
    let mut cmd = call(&ACCEPT, &x);
    cmd.arg(&repo);
    let v: Vec<Value> = ACCEPT.run(&r, &mut c, &cmd).await?;
    acceptance_of(&v)
}

/// Records a session.
pub async fn record_session(
    r: Arc<Redis>,
    mut c: RedisConn,
    x: Ctx,
    s: &Session,
    _text: &str,
) -> Result<()> {
    let entry = SessionEntry {
        summary: s.summary.clone(),
        at: s.at_ms,
        x: x.expiry(),
    };
    let mut cmd = call(&SESSION, &x);
    cmd.arg(&s.repo)
        .arg(serde_json::to_string(&entry)?)
        .arg(x.s.max_sessions);
    let _: u64 = SESSION.run(&r, &mut c, &cmd).await?;
    Ok(())
}

pub(super) fn session_of(repo: &str, e: SessionEntry) -> Session {
    Session {
        repo: repo.to_string(),
        summary: e.summary,
        at_ms: e.at,
    }
}

/// Newest sessions.
pub async fn sessions(
    r: Arc<Redis>,
    mut c: RedisConn,
    x: Ctx,
    repo: String,
    limit: usize,
) -> Result<Vec<Session>> {
    let raw = lrange(
        &r,
        &mut c,
        format!("{}ss:{repo}", prefix(&x.ns)),
        limit as isize - 1,
    )
    .await?;
    let mut out = Vec::new();
    for s in raw {
        let e: SessionEntry = serde_json::from_str(&s)?;
        if e.x > x.now {
            out.push(session_of(&repo, e));
        }
    }
    Ok(out)
}

/// Insights in one script.
pub async fn insights(
    r: Arc<Redis>,
    mut c: RedisConn,
    x: Ctx,
    repo: String,
    limit: usize,
    window: u64,
) -> Result<Insights> {
    let today = model::day_of(x.now);
    let mut cmd = call(&INSIGHTS, &x);
    cmd.arg(&repo)
        .arg(limit)
        .arg(model::trend_start(today, window))
        .arg(today)
        .arg(today + 1 - window.min(today + 1));
    let v: Vec<Value> = INSIGHTS.run(&r, &mut c, &cmd).await?;
    let [ps, is, fa, ds, cs] = v.as_slice() else {
        return Err(bad("insights"));
    };
    let mut patterns = patterns(items(ps)?, &repo)?;
    model::sort_patterns(&mut patterns);
    patterns.truncate(limit);
    let mut issues = issues(items(is)?, &repo)?;
    model::sort_issues(&mut issues);
    issues.truncate(limit);
    let mut acceptance = acceptance_of(items(fa)?)?;
    acceptance.truncate(limit);
    let counts = items(cs)?;
    let mut m = BTreeMap::new();
    for (k, n) in ["patterns", "issues", "fixes", "sessions"]
        .iter()
        .zip(counts)
    {
        m.insert(k.to_string(), num(n)?);
    }
    Ok(Insights {
        repo,
        patterns,
        issues,
        acceptance,
        trends: model::rank_trends(trends_of(items(ds)?)?, limit),
        counts: m,
        window_days: window,
    })
}
