//! `hub.patterns`: pattern memory for learning agents: patterns per
//! repository and type scored by confidence, issue frequencies overall and per day, fix
//! outcomes with acceptance per rule, learning sessions, insights, health, expiry, export and
//! import. Behaviour, validation and anonymisation live here once; `sqlite` and `redis`
//! implement the storage.
//!
//! Model, the same on every backend:
//! - Every string that reaches the store (pattern data, issue file and message, fix text and
//!   feedback, session summaries, imported records) first goes through the handle's
//!   [`Anonymizer`] (unless switched off with `configure`), so secrets never leave the process.
//! - A pattern's id derives from repository, type and (anonymised) data when first stored;
//!   storing the same pattern again is an observation: observations + 1, last seen and
//!   confidence updated.
//! - Every record carries an expiry time: now + ttl at its last write or use (`get` of a
//!   pattern, a new occurrence of an issue). Reads skip expired records; writes and
//!   `cleanup()` delete them. Fix outcomes and sessions are a log: each expires `ttl` after
//!   it was recorded; the newest `max_fixes` / `max_sessions` per repository are kept.
//! - Issues count occurrences overall and per UTC day; a window (`since`) counts the days
//!   from the day of `since` to today.

pub mod dump;
pub mod export;
pub mod model;
pub mod redis;
mod redis_dump;
pub mod sqlite;
mod sqlite_dump;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use parking_lot::RwLock;
use serde_json::Value;

pub use self::model::{
    Acceptance, Dump, Fix, Health, Insights, Issue, IssueExport, Pattern, Session, Settings, Trend,
};
use crate::anonymize::Anonymizer;
use crate::engine::{tri, Backend, Op};
use crate::engine::{Capability, Migration};
use crate::error::{Error, Result};
use crate::ids;

/// This capability's row in the registry (`crate::registry`).
pub const CAPABILITY: Capability = Capability {
    name: "patterns",
    migrations: &[
        Migration {
            version: 7,
            sql: sqlite::SCHEMA,
        },
        Migration {
            version: 26,
            sql: crate::archive::sources::patterns::SCHEMA,
        },
    ],
    rows: sqlite::rows,
    clear: sqlite::clear,
    topic: None,
    tag: "patterns",
    partitioned: false,
    changes: false,
    sweep: None,
    export: dump::export,
    import: dump::import,
};

/// Most records one read returns.
pub const MAX_LIMIT: usize = 10_000;
/// Longest trend window in days.
pub const MAX_WINDOW_DAYS: u64 = 365;

/// What every backend call gets besides its arguments.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Namespace.
    pub ns: String,
    /// Now (ms).
    pub now: u64,
    /// Settings in force.
    pub s: Settings,
}

impl Ctx {
    /// Expiry time of a record written or used now.
    pub fn expiry(&self) -> u64 {
        self.now + self.s.ttl_ms
    }
}

/// Pattern memory of one namespace.
#[derive(Clone)]
pub struct Patterns {
    backend: Backend,
    ns: Arc<str>,
    settings: Arc<RwLock<Settings>>,
    anon: Arc<RwLock<Option<Arc<Anonymizer>>>>,
}

/// A repository id (the id rules of `ids::id`).
pub fn repo_id(repo: &str) -> Result<String> {
    Ok(ids::id("repository id", repo)?.to_string())
}

/// A rule id.
pub fn rule_id(rule: &str) -> Result<String> {
    Ok(ids::id("rule id", rule)?.to_string())
}

fn check_limit(limit: usize) -> Result<usize> {
    if limit == 0 || limit > MAX_LIMIT {
        return Err(Error::validation(format!(
            "limit must be 1 to {MAX_LIMIT}, got {limit}"
        )));
    }
    Ok(limit)
}

fn at_or_now(at: Option<f64>, now: u64) -> Result<u64> {
    at.map(|a| model::ms_of("at", a))
        .transpose()
        .map(|a| a.unwrap_or(now))
}

impl Patterns {
    /// Pattern memory of `ns` on `backend`, anonymising with the built-in rules.
    pub fn new(backend: Backend, ns: Arc<str>) -> Patterns {
        let anon = Anonymizer::new(&[], &[], None).ok().map(Arc::new);
        Patterns {
            backend,
            ns,
            settings: Arc::new(RwLock::new(Settings::default())),
            anon: Arc::new(RwLock::new(anon)),
        }
    }

    /// Current settings of this handle.
    pub fn settings(&self) -> Settings {
        *self.settings.read()
    }

    /// Changes the settings of this handle.
    pub fn configure(&self, s: Settings) -> Result<()> {
        s.validate()?;
        *self.settings.write() = s;
        Ok(())
    }

    /// Replaces the anonymiser (None: store strings as given).
    pub fn set_anonymizer(&self, a: Option<Anonymizer>) {
        *self.anon.write() = a.map(Arc::new);
    }

    /// True while strings are anonymised before they are stored.
    pub fn anonymizing(&self) -> bool {
        self.anon.read().is_some()
    }

    fn ctx(&self) -> Ctx {
        Ctx {
            ns: self.ns.to_string(),
            now: model::now_ms(),
            s: self.settings(),
        }
    }

    /// `text` anonymised and size-checked.
    pub fn clean_text(&self, what: &str, text: &str) -> Result<String> {
        let out = match &*self.anon.read() {
            Some(a) => a.anonymize(text),
            None => text.to_string(),
        };
        model::check_size(what, &out, self.settings().max_payload)?;
        Ok(out)
    }

    /// `v` with every string anonymised, as compact JSON text, size-checked.
    pub fn clean_json(&self, what: &str, v: &Value) -> Result<(Value, String)> {
        let out = match &*self.anon.read() {
            Some(a) => a.anonymize_json(v),
            None => v.clone(),
        };
        let text = serde_json::to_string(&out)
            .map_err(|e| Error::validation(format!("{what} is not valid JSON: {e}")))?;
        model::check_size(what, &text, self.settings().max_payload)?;
        Ok((out, text))
    }

    /// Stores a pattern (or observes it again: same repository, type and data).
    pub fn store(&self, repo: &str, ty: &str, data: &Value, confidence: f64) -> Op<Pattern> {
        let repo = tri!(repo_id(repo));
        let ty = tri!(ids::term("pattern type", ty));
        let confidence = tri!(model::check_confidence(confidence));
        let (value, text) = tri!(self.clean_json("pattern data", data));
        let id = model::pattern_id(&repo, &ty, &text);
        self.backend.call(
            (self.ctx(), id, repo, ty, text),
            move |db, (c, id, repo, ty, text)| {
                sqlite::store(db, &c, &id, &repo, &ty, &text, confidence)
            },
            move |r, cn, (c, id, repo, ty, text)| {
                redis::store(r, cn, c, id, repo, ty, (value, text), confidence)
            },
        )
    }

    /// Patterns of `repo` (of one type, or all), most confident first, at least
    /// `min_confidence`; each returned pattern's expiry is refreshed.
    pub fn get(
        &self,
        repo: &str,
        ty: Option<&str>,
        min_confidence: f64,
        limit: usize,
    ) -> Op<Vec<Pattern>> {
        let repo = tri!(repo_id(repo));
        let ty = tri!(ty.map(|t| ids::term("pattern type", t)).transpose());
        let min = tri!(model::check_confidence(min_confidence));
        let limit = tri!(check_limit(limit));
        self.backend.call(
            (self.ctx(), repo, ty),
            move |db, (c, repo, ty)| sqlite::get(db, &c, &repo, ty.as_deref(), min, limit),
            move |r, cn, (c, repo, ty)| redis::get(r, cn, c, repo, ty, min, limit),
        )
    }

    /// One pattern by id (refreshes its expiry); NotFound when absent or expired.
    pub fn pattern(&self, id: &str) -> Op<Pattern> {
        self.update(id, None, None, false)
    }

    /// Updates a pattern: `observe` adds one observation and sets last seen; `confidence`
    /// and `data` replace theirs. Refreshes its expiry. NotFound when absent or expired.
    pub fn update(
        &self,
        id: &str,
        confidence: Option<f64>,
        data: Option<&Value>,
        observe: bool,
    ) -> Op<Pattern> {
        let id = tri!(model::check_pattern_id(id)).to_string();
        let confidence = tri!(confidence.map(model::check_confidence).transpose());
        let data = tri!(data
            .map(|d| self.clean_json("pattern data", d).map(|x| x.1))
            .transpose());
        self.backend
            .call(
                (self.ctx(), id, data),
                move |db, (c, id, data)| {
                    sqlite::update(db, &c, &id, confidence, data.as_deref(), observe)
                },
                move |r, cn, (c, id, data)| redis::update(r, cn, c, id, confidence, data, observe),
            )
            .and_then(|p: Option<Pattern>| {
                p.ok_or_else(|| Error::NotFound("no such pattern (deleted or expired)".into()))
            })
    }

    /// Deletes a pattern; false when there was none.
    pub fn delete(&self, id: &str) -> Op<bool> {
        let id = tri!(model::check_pattern_id(id)).to_string();
        self.backend.call(
            (self.ctx(), id),
            |db, (c, id)| sqlite::delete(db, &c, &id),
            |r, cn, (c, id)| redis::delete(r, cn, c, id),
        )
    }

    /// Counts one occurrence of `rule` in `repo` (atomically); returns the issue's totals.
    pub fn track_issue(
        &self,
        repo: &str,
        rule: &str,
        file: &str,
        severity: &str,
        message: &str,
        at: Option<f64>,
    ) -> Op<Issue> {
        let repo = tri!(repo_id(repo));
        let rule = tri!(rule_id(rule));
        let severity = tri!(ids::term("severity", severity));
        let file = tri!(self.clean_text("file", file));
        let message = tri!(self.clean_text("message", message));
        let c = self.ctx();
        let at = tri!(at_or_now(at, c.now));
        let issue = Issue {
            repo,
            rule,
            count: 1,
            file,
            severity,
            message,
            first_ms: at,
            last_ms: at,
        };
        self.backend.call(
            (c, issue),
            |db, (c, issue)| sqlite::track(db, &c, &issue),
            |r, cn, (c, issue)| redis::track(r, cn, c, issue),
        )
    }

    /// The most frequent issues of `repo`: overall, or counted from the day of `since`.
    pub fn top_issues(&self, repo: &str, limit: usize, since: Option<f64>) -> Op<Vec<Issue>> {
        let repo = tri!(repo_id(repo));
        let limit = tri!(check_limit(limit));
        let since = tri!(since.map(|s| model::ms_of("since", s)).transpose());
        let from_day = since.map(model::day_of);
        self.backend.call(
            (self.ctx(), repo),
            move |db, (c, repo)| sqlite::top_issues(db, &c, &repo, limit, from_day),
            move |r, cn, (c, repo)| redis::top_issues(r, cn, c, repo, limit, from_day),
        )
    }

    /// Records a proposed fix and whether it was accepted.
    pub fn record_fix(
        &self,
        repo: &str,
        rule: &str,
        fix: &str,
        accepted: bool,
        feedback: Option<&str>,
        at: Option<f64>,
    ) -> Op<Fix> {
        let repo = tri!(repo_id(repo));
        let rule = tri!(rule_id(rule));
        let fix = tri!(self.clean_text("fix", fix));
        let feedback = tri!(feedback.map(|f| self.clean_text("feedback", f)).transpose());
        let c = self.ctx();
        let at = tri!(at_or_now(at, c.now));
        let f = Fix {
            repo,
            rule,
            fix,
            accepted,
            feedback,
            at_ms: at,
        };
        self.backend.call(
            (c, f),
            |db, (c, f)| sqlite::record_fix(db, &c, &f).map(|_| f),
            |r, cn, (c, f)| async move { redis::record_fix(r, cn, c, &f).await.map(|_| f) },
        )
    }

    /// The newest fix outcomes of `repo` (of one rule, or all), newest first.
    pub fn fixes(&self, repo: &str, rule: Option<&str>, limit: usize) -> Op<Vec<Fix>> {
        let repo = tri!(repo_id(repo));
        let rule = tri!(rule.map(rule_id).transpose());
        let limit = tri!(check_limit(limit));
        self.backend.call(
            (self.ctx(), repo, rule),
            move |db, (c, repo, rule)| sqlite::fixes(db, &c, &repo, rule.as_deref(), limit),
            move |r, cn, (c, repo, rule)| redis::fixes(r, cn, c, repo, rule, limit),
        )
    }

    /// Acceptance per rule over the fix outcomes kept, most fixes first.
    pub fn acceptance(&self, repo: &str) -> Op<Vec<Acceptance>> {
        let repo = tri!(repo_id(repo));
        self.backend.call(
            (self.ctx(), repo),
            |db, (c, repo)| sqlite::acceptance(db, &c, &repo),
            |r, cn, (c, repo)| redis::acceptance(r, cn, c, repo),
        )
    }

    /// Records a learning session summary.
    pub fn record_session(&self, repo: &str, summary: &Value, at: Option<f64>) -> Op<Session> {
        let repo = tri!(repo_id(repo));
        let (summary, text) = tri!(self.clean_json("session summary", summary));
        let c = self.ctx();
        let at = tri!(at_or_now(at, c.now));
        let s = Session {
            repo,
            summary,
            at_ms: at,
        };
        self.backend.call(
            (c, s, text),
            |db, (c, s, text)| sqlite::record_session(db, &c, &s, &text).map(|_| s),
            |r, cn, (c, s, text)| async move {
                redis::record_session(r, cn, c, &s, &text).await.map(|_| s)
            },
        )
    }

    /// The newest sessions of `repo`, newest first.
    pub fn sessions(&self, repo: &str, limit: usize) -> Op<Vec<Session>> {
        let repo = tri!(repo_id(repo));
        let limit = tri!(check_limit(limit));
        self.backend.call(
            (self.ctx(), repo),
            move |db, (c, repo)| sqlite::sessions(db, &c, &repo, limit),
            move |r, cn, (c, repo)| redis::sessions(r, cn, c, repo, limit),
        )
    }

    /// Top patterns, most frequent issues, fix acceptance per rule and trends of `repo`, in
    /// one call (one transaction / one script, aggregated here).
    pub fn insights(&self, repo: &str, limit: usize, window_days: u64) -> Op<Insights> {
        let repo = tri!(repo_id(repo));
        let limit = tri!(check_limit(limit));
        if window_days == 0 || window_days > MAX_WINDOW_DAYS {
            return Op::Ready(Err(Error::validation(format!(
                "window_days must be 1 to {MAX_WINDOW_DAYS}, got {window_days}"
            ))));
        }
        self.backend.call(
            (self.ctx(), repo),
            move |db, (c, repo)| sqlite::insights(db, &c, &repo, limit, window_days),
            move |r, cn, (c, repo)| redis::insights(r, cn, c, repo, limit, window_days),
        )
    }

    /// Connection, counts, storage used, oldest and newest record of the namespace.
    pub fn health(&self) -> Op<Health> {
        self.backend.call(
            (self.ctx(), self.backend.name().to_string()),
            |db, (c, name)| sqlite::health(db, &c, name),
            |r, cn, (c, name)| redis::health(r, cn, c, name),
        )
    }

    /// Deletes every expired record now (reads skip them anyway); returns how many went.
    pub fn cleanup(&self) -> Op<u64> {
        self.backend
            .call(self.ctx(), |db, c| sqlite::cleanup(db, &c), redis::cleanup)
    }

    /// Everything `repo` holds (live records).
    pub fn export(&self, repo: &str) -> Op<Dump> {
        let repo = tri!(repo_id(repo));
        self.backend.call(
            (self.ctx(), repo),
            |db, (c, repo)| sqlite::export(db, &c, &repo),
            |r, cn, (c, repo)| redis::export(r, cn, c, repo),
        )
    }

    /// Replaces what `dump.repo` holds with the dump (strings anonymised again, expiry from
    /// now); returns the records written.
    pub fn import(&self, dump: Dump) -> Op<u64> {
        let dump = tri!(self.clean_dump(dump));
        self.backend.call(
            (self.ctx(), dump),
            |db, (c, dump)| sqlite::import(db, &c, &dump),
            |r, cn, (c, dump)| redis::import(r, cn, c, dump),
        )
    }

    fn clean_dump(&self, mut d: Dump) -> Result<Dump> {
        d.repo = repo_id(&d.repo)?;
        let s = self.settings();
        for p in &mut d.patterns {
            p.repo = d.repo.clone();
            p.r#type = ids::term("pattern type", &p.r#type)?;
            model::check_confidence(p.confidence)?;
            model::check_pattern_id(&p.id)?;
            p.data = self.clean_json("pattern data", &p.data)?.0;
        }
        for i in &mut d.issues {
            i.issue.repo = d.repo.clone();
            i.issue.rule = rule_id(&i.issue.rule)?;
            i.issue.severity = ids::term("severity", &i.issue.severity)?;
            i.issue.file = self.clean_text("file", &i.issue.file)?;
            i.issue.message = self.clean_text("message", &i.issue.message)?;
        }
        let skip = d.fixes.len().saturating_sub(s.max_fixes as usize);
        d.fixes.drain(..skip);
        for f in &mut d.fixes {
            f.repo = d.repo.clone();
            f.rule = rule_id(&f.rule)?;
            f.fix = self.clean_text("fix", &f.fix)?;
            f.feedback = f
                .feedback
                .as_deref()
                .map(|x| self.clean_text("feedback", x))
                .transpose()?;
        }
        let skip = d.sessions.len().saturating_sub(s.max_sessions as usize);
        d.sessions.drain(..skip);
        for x in &mut d.sessions {
            x.repo = d.repo.clone();
            x.summary = self.clean_json("session summary", &x.summary)?.0;
        }
        Ok(d)
    }

    /// Deletes everything pattern memory holds in this namespace.
    pub fn clear(&self) -> Op<u64> {
        self.backend.call(
            self.ns.to_string(),
            |db, ns| db.with_tx(|tx| sqlite::clear(tx, &ns)),
            |r, _c, ns| async move { r.delete_keys(&format!("{}*", redis::prefix(&ns))).await },
        )
    }
}
