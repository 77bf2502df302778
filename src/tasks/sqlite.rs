//! Tasks on the embedded store: one transaction per operation; the index (`task_terms`,
//! `task_rel`) changes in the same transaction as the task row.

use rusqlite::{params, params_from_iter, Row, Transaction};

use super::cursor;
use super::model::{Order, Page, Query, Task, TaskPatch};
use crate::changes::{self, Kind, Record};
use crate::engine::Sqlite;
use crate::error::{Error, Result};

/// Tables and indexes (migration step).
pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS tasks (
    ns TEXT NOT NULL,
    id TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    intent TEXT,
    keywords TEXT NOT NULL,
    patterns TEXT NOT NULL,
    confidence REAL NOT NULL,
    complexity TEXT,
    status TEXT NOT NULL,
    progress REAL NOT NULL,
    related TEXT NOT NULL,
    context_cascade TEXT,
    estimated_effort TEXT,
    metadata TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (ns, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tasks_by_confidence ON tasks (ns, confidence DESC, id DESC);
CREATE INDEX IF NOT EXISTS tasks_by_updated ON tasks (ns, updated_at DESC, id DESC);
CREATE TABLE IF NOT EXISTS task_terms (
    ns TEXT NOT NULL,
    kind TEXT NOT NULL,
    term TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (ns, kind, term, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS task_terms_by_id ON task_terms (id, ns);
CREATE TABLE IF NOT EXISTS task_rel (
    ns TEXT NOT NULL,
    src TEXT NOT NULL,
    dst TEXT NOT NULL,
    PRIMARY KEY (ns, src, dst)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS task_rel_by_dst ON task_rel (ns, dst, src);
"#;

const TCOLS: &str = "t.id, t.title, t.description, t.intent, t.keywords, t.patterns, \
    t.confidence, t.complexity, t.status, t.progress, t.related, t.context_cascade, \
    t.estimated_effort, t.metadata, t.created_at, t.updated_at, t.version";

pub(crate) const COLS: &str =
    "id, title, description, intent, keywords, patterns, confidence, complexity, \
    status, progress, related, context_cascade, estimated_effort, metadata, created_at, \
    updated_at, version";

fn json_list(s: String) -> Result<Vec<String>> {
    Ok(serde_json::from_str(&s)?)
}

pub(crate) fn read(r: &Row<'_>) -> Result<Task> {
    let complexity: Option<String> = r.get(7)?;
    Ok(Task {
        id: r.get(0)?,
        title: r.get(1)?,
        description: r.get(2)?,
        intent: r.get(3)?,
        keywords: json_list(r.get(4)?)?,
        patterns: json_list(r.get(5)?)?,
        confidence: r.get(6)?,
        complexity: complexity.map(|c| serde_json::from_str(&c)).transpose()?,
        status: r.get(8)?,
        progress: r.get(9)?,
        related: json_list(r.get(10)?)?,
        context_cascade: r.get(11)?,
        estimated_effort: r.get(12)?,
        metadata: serde_json::from_str(&r.get::<_, String>(13)?)?,
        created_at: r.get(14)?,
        updated_at: r.get(15)?,
        version: r.get::<_, i64>(16)? as u64,
    })
}

fn load(tx: &rusqlite::Connection, ns: &str, id: &str) -> Result<Option<Task>> {
    let mut st = tx.prepare_cached(&format!(
        "SELECT {COLS} FROM tasks WHERE ns = ?1 AND id = ?2"
    ))?;
    let mut rows = st.query(params![ns, id])?;
    match rows.next()? {
        Some(r) => Ok(Some(read(r)?)),
        None => Ok(None),
    }
}

fn write(tx: &Transaction<'_>, ns: &str, t: &Task) -> Result<()> {
    let mut st = tx.prepare_cached(&format!(
        "INSERT OR REPLACE INTO tasks ({COLS}, ns) VALUES \
         (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
    ))?;
    st.execute(params![
        t.id,
        t.title,
        t.description,
        t.intent,
        serde_json::to_string(&t.keywords)?,
        serde_json::to_string(&t.patterns)?,
        t.confidence,
        t.complexity
            .as_ref()
            .map(serde_json::to_string)
            .transpose()?,
        t.status,
        t.progress,
        serde_json::to_string(&t.related)?,
        t.context_cascade,
        t.estimated_effort,
        serde_json::to_string(&t.metadata)?,
        t.created_at,
        t.updated_at,
        t.version as i64,
        ns,
    ])?;
    let mut st = tx.prepare_cached(
        "INSERT OR IGNORE INTO task_terms (ns, kind, term, id) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (kind, term) in t.index_terms() {
        st.execute(params![ns, kind, term, t.id])?;
    }
    let mut st =
        tx.prepare_cached("INSERT OR IGNORE INTO task_rel (ns, src, dst) VALUES (?1, ?2, ?3)")?;
    for r in &t.related {
        st.execute(params![ns, t.id, r])?;
    }
    Ok(())
}

fn unindex(tx: &Transaction<'_>, ns: &str, id: &str) -> Result<()> {
    tx.prepare_cached("DELETE FROM task_terms WHERE ns = ?1 AND id = ?2")?
        .execute(params![ns, id])?;
    tx.prepare_cached("DELETE FROM task_rel WHERE ns = ?1 AND src = ?2")?
        .execute(params![ns, id])?;
    Ok(())
}

/// Appends `t`'s change to the namespace's feed (in the write's transaction).
fn changed(tx: &Transaction<'_>, ns: &str, t: &Task, kind: Kind) -> Result<()> {
    let rec = Record {
        id: &t.id,
        version: t.version,
        kind,
    };
    changes::sqlite::record(tx, ns, super::CAPABILITY.name, &[rec])?;
    crate::archive::sources::tasks::sqlite_append(tx, ns, t, kind == Kind::Deleted)
}

/// Creates all tasks or none (ConflictError naming the first id that exists).
pub fn create_many(db: &Sqlite, ns: &str, tasks: Vec<Task>) -> Result<Vec<Task>> {
    db.with_tx(|tx| {
        {
            let mut st = tx.prepare_cached("SELECT 1 FROM tasks WHERE ns = ?1 AND id = ?2")?;
            for t in &tasks {
                if st.exists(params![ns, t.id])? {
                    return Err(Error::Conflict(format!("task {:?} already exists", t.id)));
                }
            }
        }
        for t in &tasks {
            write(tx, ns, t)?;
        }
        let recs: Vec<Record<'_>> = tasks
            .iter()
            .map(|t| Record {
                id: &t.id,
                version: t.version,
                kind: Kind::Created,
            })
            .collect();
        changes::sqlite::record(tx, ns, super::CAPABILITY.name, &recs)?;
        crate::archive::sources::tasks::sqlite_append_many(tx, ns, &tasks)
    })?;
    Ok(tasks)
}

/// Tasks by id, None where missing.
pub fn get_many(db: &Sqlite, ns: &str, ids: &[String]) -> Result<Vec<Option<Task>>> {
    db.with(|c| ids.iter().map(|id| load(c, ns, id)).collect())
}

/// Applies `patch` to `id` in one transaction. `if_version` guards against lost updates.
pub fn update(
    db: &Sqlite,
    ns: &str,
    id: &str,
    patch: TaskPatch,
    if_version: Option<u64>,
    at: f64,
) -> Result<Task> {
    db.with_tx(|tx| {
        let mut t = load(tx, ns, id)?.ok_or_else(|| Error::NotFound(format!("no task {id:?}")))?;
        if let Some(v) = if_version {
            if v != t.version {
                return Err(Error::Conflict(format!(
                    "task {id:?} is at version {}, not {v}; reload it and retry",
                    t.version
                )));
            }
        }
        patch.apply(&mut t, at)?;
        unindex(tx, ns, id)?;
        write(tx, ns, &t)?;
        changed(tx, ns, &t, Kind::Updated)?;
        Ok(t)
    })
}

/// Creates `create` unless the id exists, in which case `patch` is applied; one transaction.
pub fn upsert(
    db: &Sqlite,
    ns: &str,
    create: Task,
    patch: TaskPatch,
    must: Option<bool>,
    at: f64,
) -> Result<Task> {
    db.with_tx(|tx| match load(tx, ns, &create.id)? {
        Some(_) if must == Some(false) => Err(Error::Conflict(format!(
            "task {:?} already exists",
            create.id
        ))),
        Some(mut t) => {
            patch.apply(&mut t, at)?;
            unindex(tx, ns, &t.id)?;
            write(tx, ns, &t)?;
            changed(tx, ns, &t, Kind::Updated)?;
            Ok(t)
        }
        None if must == Some(true) => Err(Error::NotFound(format!("no task {:?}", create.id))),
        None => {
            write(tx, ns, &create)?;
            changed(tx, ns, &create, Kind::Created)?;
            Ok(create)
        }
    })
}

/// Deletes the task, its index rows, and its id from other tasks' related lists.
pub fn delete(db: &Sqlite, ns: &str, id: &str) -> Result<bool> {
    db.with_tx(|tx| {
        let Some(gone) = load(tx, ns, id)? else {
            return Ok(false);
        };
        changed(tx, ns, &gone, Kind::Deleted)?;
        unindex(tx, ns, id)?;
        tx.prepare_cached("DELETE FROM tasks WHERE ns = ?1 AND id = ?2")?
            .execute(params![ns, id])?;
        let referrers: Vec<String> = tx
            .prepare_cached("SELECT src FROM task_rel WHERE ns = ?1 AND dst = ?2")?
            .query_map(params![ns, id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for src in referrers {
            if let Some(mut t) = load(tx, ns, &src)? {
                t.related.retain(|r| r != id);
                tx.prepare_cached("UPDATE tasks SET related = ?3 WHERE ns = ?1 AND id = ?2")?
                    .execute(params![ns, src, serde_json::to_string(&t.related)?])?;
            }
        }
        tx.prepare_cached("DELETE FROM task_rel WHERE ns = ?1 AND dst = ?2")?
            .execute(params![ns, id])?;
        Ok(true)
    })
}

/// Tasks `id` lists as related plus tasks that list `id`.
pub fn related(db: &Sqlite, ns: &str, id: &str) -> Result<Vec<Task>> {
    db.with(|c| {
        let ids: Vec<String> = c
            .prepare_cached(
                "SELECT dst FROM task_rel WHERE ns = ?1 AND src = ?2 \
                 UNION SELECT src FROM task_rel WHERE ns = ?1 AND dst = ?2 ORDER BY 1",
            )?
            .query_map(params![ns, id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = Vec::with_capacity(ids.len());
        for i in ids {
            if let Some(t) = load(c, ns, &i)? {
                out.push(t);
            }
        }
        Ok(out)
    })
}

/// Runs a search.
pub fn search(db: &Sqlite, ns: &str, q: &Query) -> Result<Page> {
    let col = match q.order {
        Order::Confidence => "confidence",
        Order::Recent => "updated_at",
    };
    // Selective criteria (index terms, related ids) produce a candidate set that drives the
    // query; only without them does SQLite walk the order index.
    let mut args: Vec<rusqlite::types::Value> = vec![ns.to_string().into()];
    let push = |args: &mut Vec<rusqlite::types::Value>, v: rusqlite::types::Value| {
        args.push(v);
        args.len()
    };
    let mut sources: Vec<String> = Vec::new();
    // A status matches a large share of the tasks, so it is a column filter, never the
    // set the query starts from.
    let all: Vec<(&str, String)> = q
        .all_terms()
        .into_iter()
        .filter(|(k, _)| *k != "s")
        .collect();
    if !all.is_empty() {
        let parts: Vec<String> = all
            .iter()
            .map(|(k, t)| {
                let a = push(&mut args, (*k).to_string().into());
                let b = push(&mut args, t.clone().into());
                format!("SELECT id FROM task_terms WHERE ns = ?1 AND kind = ?{a} AND term = ?{b}")
            })
            .collect();
        sources.push(parts.join(" INTERSECT "));
    }
    if !q.keywords_any.is_empty() {
        let marks: Vec<String> = q
            .keywords_any
            .iter()
            .map(|k| format!("?{}", push(&mut args, k.clone().into())))
            .collect();
        sources.push(format!(
            "SELECT id FROM task_terms WHERE ns = ?1 AND kind = 'k' AND term IN ({})",
            marks.join(", ")
        ));
    }
    if let Some(r) = &q.related_to {
        let a = push(&mut args, r.clone().into());
        sources.push(format!(
            "SELECT dst AS id FROM task_rel WHERE ns = ?1 AND src = ?{a} \
             UNION SELECT src FROM task_rel WHERE ns = ?1 AND dst = ?{a}"
        ));
    }
    let mut sql = match sources.split_first() {
        None => format!("SELECT {TCOLS} FROM tasks t WHERE t.ns = ?1"),
        Some((first, rest)) => {
            let mut s = format!(
                "SELECT {TCOLS} FROM (SELECT DISTINCT id AS cid FROM ({first})) AS c \
                 CROSS JOIN tasks t ON t.ns = ?1 AND t.id = c.cid WHERE 1"
            );
            for r in rest {
                s.push_str(&format!(" AND t.id IN ({r})"));
            }
            s
        }
    };
    if let Some(st) = &q.status {
        sql.push_str(&format!(
            " AND t.status = ?{}",
            push(&mut args, st.clone().into())
        ));
    }
    if let Some(v) = q.min_confidence {
        sql.push_str(&format!(
            " AND t.confidence >= ?{}",
            push(&mut args, v.into())
        ));
    }
    if let Some(v) = q.max_confidence {
        sql.push_str(&format!(
            " AND t.confidence <= ?{}",
            push(&mut args, v.into())
        ));
    }
    if let Some((score, id)) = q.cursor.as_deref().map(cursor::decode).transpose()? {
        let a = push(&mut args, score.into());
        let b = push(&mut args, id.into());
        sql.push_str(&format!(
            " AND (t.{col} < ?{a} OR (t.{col} = ?{a} AND t.id < ?{b}))"
        ));
    }
    let lim = push(&mut args, ((q.limit + 1) as i64).into());
    sql.push_str(&format!(" ORDER BY t.{col} DESC, t.id DESC LIMIT ?{lim}"));
    db.with(|c| {
        let mut st = c.prepare_cached(&sql)?;
        let mut rows = st.query(params_from_iter(args.iter()))?;
        let mut tasks = Vec::new();
        while let Some(r) = rows.next()? {
            tasks.push(read(r)?);
        }
        Ok(cursor::page(tasks, q))
    })
}

/// Number of tasks.
pub fn count(db: &Sqlite, ns: &str) -> Result<u64> {
    db.with(|c| {
        let n: i64 = c
            .prepare_cached("SELECT count(*) FROM tasks WHERE ns = ?1")?
            .query_row(params![ns], |r| r.get(0))?;
        Ok(n as u64)
    })
}

/// Schema step 25: the archive's log of task versions (src/archive/sources/tasks.rs), kept
/// only while the archive's tasks source is on (a row of `tasks_archive_on`).
pub const ARCHIVE_SCHEMA: &str = "
CREATE TABLE tasks_archive (seq INTEGER PRIMARY KEY AUTOINCREMENT, ns TEXT NOT NULL,
  id TEXT NOT NULL, version INTEGER NOT NULL, deleted INTEGER NOT NULL, doc TEXT,
  at_ms INTEGER NOT NULL);
CREATE INDEX tasks_archive_ns ON tasks_archive (ns, seq);
CREATE TABLE tasks_archive_on (ns TEXT PRIMARY KEY) WITHOUT ROWID;
";

/// Rows of every task table held by the namespace.
pub fn rows(c: &rusqlite::Connection, ns: &str) -> Result<u64> {
    let mut n = 0i64;
    for table in [
        "tasks",
        "task_terms",
        "task_rel",
        "tasks_archive",
        "tasks_archive_on",
    ] {
        n += c.query_row(
            &format!("SELECT count(*) FROM {table} WHERE ns = ?1"),
            params![ns],
            |r| r.get::<_, i64>(0),
        )?;
    }
    Ok(n as u64)
}

/// Deletes every task row of the namespace; returns how many rows went.
pub fn clear(tx: &Transaction<'_>, ns: &str) -> Result<u64> {
    let mut n = 0usize;
    for table in [
        "tasks",
        "task_terms",
        "task_rel",
        "tasks_archive",
        "tasks_archive_on",
    ] {
        n += tx.execute(&format!("DELETE FROM {table} WHERE ns = ?1"), params![ns])?;
    }
    Ok(n as u64)
}

/// The index as stored, for consistency checks: sorted `(kind, term, id)` rows, with
/// `("r", dst, src)` for "src lists dst as related".
pub fn dump_index(db: &Sqlite, ns: &str) -> Result<Vec<(String, String, String)>> {
    db.with(|c| {
        let mut out: Vec<(String, String, String)> = c
            .prepare("SELECT kind, term, id FROM task_terms WHERE ns = ?1")?
            .query_map(params![ns], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let rel: Vec<(String, String, String)> = c
            .prepare("SELECT src, dst FROM task_rel WHERE ns = ?1")?
            .query_map(params![ns], |r| Ok(("r".to_string(), r.get(1)?, r.get(0)?)))?
            .collect::<rusqlite::Result<_>>()?;
        out.extend(rel);
        out.sort();
        Ok(out)
    })
}
