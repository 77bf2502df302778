//! Pattern memory in a namespace export (`crate::transfer`, docs/export.md): every live
//! record of every repository, repository by repository, one record per pattern, issue (with
//! its per-day counts), fix outcome and learning session, with the fields of the
//! repository export document (`export::to_json`). Read and written with the repository
//! export and import of each backend (`export` / `import`), so a page is one repository and
//! an import writes each repository in one step.
//!
//! Carried exactly: ids, data, confidence, observations, counts (overall and per day), times,
//! the order of fixes and sessions. Not carried: expiry. An imported record lives the default
//! time to live (90 days) from the import, as after any write (the strings are not
//! anonymised again: they were stored anonymised).

use std::sync::Arc;

use rusqlite::params;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::model::{self, Dump, Settings, EXPORT_FORMAT};
use super::{export as doc, redis as rd, redis_dump, repo_id, rule_id, sqlite_dump, Ctx};
use crate::engine::{tri, Backend, Importer, Op, Page, Record, Redis, RedisConn, Sqlite};
use crate::error::{Error, Result};
use crate::ids;
use crate::transfer::record;

/// The record kinds and the list of the repository document each one goes in.
const KINDS: [(&str, &str); 4] = [
    ("pattern", "patterns"),
    ("issue", "issues"),
    ("fix", "fixes"),
    ("session", "sessions"),
];

/// Where a page starts: the repository after `after` (SQLite), or the first of `repos`
/// (Redis: the repository list, read once).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    after: String,
    repos: Option<Vec<String>>,
}

fn ctx(ns: &str) -> Ctx {
    Ctx {
        ns: ns.to_string(),
        now: model::now_ms(),
        s: Settings::default(),
    }
}

/// The records of one repository's dump.
fn records(d: &Dump) -> Result<Vec<Record>> {
    let v = doc::to_json(d);
    let mut out = Vec::new();
    for (kind, list) in KINDS {
        for e in v.get(list).and_then(Value::as_array).into_iter().flatten() {
            let mut m = Map::new();
            m.insert("k".into(), kind.into());
            m.insert("repo".into(), d.repo.clone().into());
            if let Value::Object(fields) = e {
                m.extend(fields.clone());
            }
            out.push(m);
        }
    }
    Ok(out)
}

/// One repository per page.
pub fn export(b: &Backend, ns: &str, cursor: Value) -> Op<Page> {
    let cur: Cursor = tri!(record::cursor(cursor)).unwrap_or_default();
    b.call(
        (ctx(ns), cur),
        |db, (c, cur)| sqlite_page(db, &c, cur),
        |r, cn, (c, cur)| redis_page(r, cn, c, cur),
    )
}

fn sqlite_page(db: &Sqlite, c: &Ctx, cur: Cursor) -> Result<Page> {
    let repo: Option<String> = db.with(|conn| {
        let mut st = conn.prepare_cached(
            "SELECT min(repo) FROM (
               SELECT repo FROM pm_patterns WHERE ns = ?1 AND expires_ms > ?2 AND repo > ?3
               UNION SELECT repo FROM pm_issues WHERE ns = ?1 AND expires_ms > ?2 AND repo > ?3
               UNION SELECT repo FROM pm_fixes WHERE ns = ?1 AND expires_ms > ?2 AND repo > ?3
               UNION SELECT repo FROM pm_sessions WHERE ns = ?1 AND expires_ms > ?2
                 AND repo > ?3)",
        )?;
        Ok(st.query_row(params![c.ns, c.now as i64, cur.after], |r| r.get(0))?)
    })?;
    let Some(repo) = repo else {
        return Ok(Page::default());
    };
    let d = sqlite_dump::export(db, c, &repo)?;
    Ok(Page {
        records: records(&d)?,
        next: Some(record::next(&Cursor {
            after: repo,
            repos: None,
        })?),
    })
}

async fn redis_page(r: Arc<Redis>, mut cn: RedisConn, c: Ctx, cur: Cursor) -> Result<Page> {
    let mut repos = match cur.repos {
        Some(v) => v,
        None => {
            let mut v: Vec<String> = redis::cmd("ZRANGE")
                .arg(format!("{}repos", rd::prefix(&c.ns)))
                .arg(0)
                .arg(-1)
                .query_async(&mut cn)
                .await
                .map_err(|e| r.err(e))?;
            v.sort();
            v
        }
    };
    if repos.is_empty() {
        return Ok(Page::default());
    }
    let repo = repos.remove(0);
    let d = redis_dump::export(r, cn, c, repo).await?;
    Ok(Page {
        records: records(&d)?,
        next: Some(record::next(&Cursor {
            after: String::new(),
            repos: Some(repos),
        })?),
    })
}

/// Writes each repository (its records are together in the file) in one step.
pub fn import(b: &Backend, ns: &str) -> Box<dyn Importer> {
    Box::new(Import {
        b: b.clone(),
        ns: ns.to_string(),
        doc: None,
        done: Vec::new(),
    })
}

struct Import {
    b: Backend,
    ns: String,
    /// The repository being collected, as an export document.
    doc: Option<(String, Map<String, Value>)>,
    /// Repositories written.
    done: Vec<String>,
}

/// The dump if every id, term and number in it is one pattern memory stores.
fn check(d: Dump) -> Result<Dump> {
    repo_id(&d.repo)?;
    for p in &d.patterns {
        model::check_pattern_id(&p.id)?;
        model::check_confidence(p.confidence)?;
        record::same(
            "a pattern type",
            &p.r#type,
            &ids::term("pattern type", &p.r#type)?,
        )?;
    }
    for i in &d.issues {
        rule_id(&i.issue.rule)?;
        record::same(
            "a severity",
            &i.issue.severity,
            &ids::term("severity", &i.issue.severity)?,
        )?;
    }
    for f in &d.fixes {
        rule_id(&f.rule)?;
    }
    Ok(d)
}

impl Import {
    fn flush(&mut self) -> Result<Option<Op<()>>> {
        let Some((repo, m)) = self.doc.take() else {
            return Ok(None);
        };
        let d = check(doc::from_json(&Value::Object(m), None)?)?;
        self.done.push(repo);
        Ok(Some(
            self.b
                .call(
                    (ctx(&self.ns), d),
                    |db, (c, d)| sqlite_dump::import(db, &c, &d),
                    |r, cn, (c, d)| redis_dump::import(r, cn, c, d),
                )
                .map(|_| ()),
        ))
    }
}

impl Importer for Import {
    fn add(&mut self, mut rec: Record) -> Result<Option<Op<()>>> {
        let (kind, repo) = match (rec.remove("k"), rec.remove("repo")) {
            (Some(Value::String(k)), Some(Value::String(r))) => (k, r),
            _ => {
                return Err(Error::validation(
                    "not a valid patterns record: it needs \"k\" and \"repo\"",
                ))
            }
        };
        let list = KINDS
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, l)| *l)
            .ok_or_else(|| Error::validation(format!("unknown patterns record kind {kind:?}")))?;
        let mut out = None;
        if self.doc.as_ref().is_some_and(|(r, _)| *r != repo) {
            out = self.flush()?;
        }
        if self.doc.is_none() {
            if self.done.contains(&repo) {
                return Err(Error::validation(format!(
                    "the records of repository {repo:?} are not all together"
                )));
            }
            let empty = json!({"format": EXPORT_FORMAT, "repo": repo, "patterns": [],
                "issues": [], "fixes": [], "sessions": []});
            let Value::Object(m) = empty else {
                return Err(Error::Backend(
                    "the document template is not an object".into(),
                ));
            };
            self.doc = Some((repo, m));
        }
        if let Some(Value::Array(a)) = self.doc.as_mut().and_then(|(_, m)| m.get_mut(list)) {
            a.push(Value::Object(rec));
        }
        Ok(out)
    }

    fn finish(&mut self) -> Result<Option<Op<()>>> {
        self.flush()
    }
}
