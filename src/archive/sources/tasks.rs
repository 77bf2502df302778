//! The archive's tasks source: EVERY task version, exactly. While the source is on, the
//! tasks' writes append each version's whole task to an archive log in the same script or
//! transaction (Redis: the stream `zl:{<ns>:tasks}:arch`, on while `…:arch:on` exists;
//! SQLite: `tasks_archive`, on while `tasks_archive_on` has the namespace), so versions
//! written between two reads do not collapse (the change feed holds only ids and versions).
//!
//! The start cursor (`S||`, committed when the archiver starts) turns the log on; the reads
//! then take the tasks as they stand (the
//! snapshot, cursor `S|<updated_at>|<id>` on Redis, `S|0|<id>` on SQLite), then the log
//! (cursor `L|<entry>`: a stream id, or `<seq>-0` on SQLite). A version written while the
//! snapshot is read can come from both: the sink keeps one (natural id `(id, version)`). A
//! deletion is the version after the last one, without a doc.

use std::sync::LazyLock;

use rusqlite::{params, OptionalExtension, Transaction};
use serde_json::Value;

use super::state::{self, Order};
use crate::archive::model::{Batch, Rows, Source, TaskVersion};
use crate::engine::script::Lua;
use crate::engine::{tri, Backend, Op};
use crate::error::{Error, Result};
use crate::tasks::model::Task;

static READ: LazyLock<Lua> = LazyLock::new(|| Lua::new("", include_str!("../lua/tasks_read.lua")));

const S: Source = Source::Tasks;

/// Unarchived log entries kept at most (the hold's bound for a source without a length
/// limit); the same number is `ARCH_BOUND` in src/tasks/lua/common.lua.
const BOUND: i64 = super::HOLD_UNBOUNDED as i64;

enum At {
    None,
    Snap(String, String),
    Log(String),
}

fn parse(c: &Option<String>) -> Result<At> {
    let bad = || Error::validation(format!("bad tasks archive cursor {c:?}"));
    match c.as_deref() {
        None => Ok(At::None),
        Some(c) => {
            if let Some(rest) = c.strip_prefix("S|") {
                let (a, b) = rest.split_once('|').ok_or_else(bad)?;
                Ok(At::Snap(a.to_string(), b.to_string()))
            } else if let Some(rest) = c.strip_prefix("L|") {
                Ok(At::Log(rest.to_string()))
            } else {
                Err(bad())
            }
        }
    }
}

fn doc(t: &Task) -> Result<Value> {
    Ok(serde_json::to_value(t)?)
}

fn version_row(t: &Task, at_ms: i64) -> Result<TaskVersion> {
    Ok(TaskVersion {
        id: t.id.clone(),
        version: t.version as i64,
        doc: doc(t)?,
        deleted: false,
        at_ms,
    })
}

/// [`sqlite_append`] for tasks just created.
pub fn sqlite_append_many(tx: &Transaction<'_>, ns: &str, tasks: &[Task]) -> Result<()> {
    if tasks.is_empty() || !sqlite_on(tx, ns)? {
        return Ok(());
    }
    tasks
        .iter()
        .try_for_each(|t| sqlite_append(tx, ns, t, false))
}

fn sqlite_on(tx: &Transaction<'_>, ns: &str) -> Result<bool> {
    Ok(tx
        .prepare_cached("SELECT 1 FROM tasks_archive_on WHERE ns = ?1")?
        .query_row(params![ns], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Appends `t`'s version to the archive log when the source is on (called by the tasks'
/// SQLite writes in their transaction; `deleted`: `t` is the task as it was before its
/// deletion). Trims what the archive committed, and past the bound the oldest (counted).
pub fn sqlite_append(tx: &Transaction<'_>, ns: &str, t: &Task, deleted: bool) -> Result<()> {
    if !sqlite_on(tx, ns)? {
        return Ok(());
    }
    let (version, text) = if deleted {
        (t.version as i64 + 1, None)
    } else {
        (t.version as i64, Some(serde_json::to_string(t)?))
    };
    tx.prepare_cached(
        "INSERT INTO tasks_archive (ns, id, version, deleted, doc, at_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        ns,
        t.id,
        version,
        deleted,
        text,
        crate::clock::now_ms() as i64
    ])?;
    let seq = tx.last_insert_rowid();
    if let Ok(At::Log(l)) = parse(&state::sqlite_cursor(tx, ns, S)?) {
        let done: i64 = l
            .split('-')
            .next()
            .and_then(|x| x.parse().ok())
            .unwrap_or(0);
        tx.prepare_cached("DELETE FROM tasks_archive WHERE ns = ?1 AND seq <= ?2")?
            .execute(params![ns, done])?;
    }
    if seq % 256 == 0 {
        let n: i64 = tx
            .prepare_cached("SELECT count(*) FROM tasks_archive WHERE ns = ?1")?
            .query_row(params![ns], |r| r.get(0))?;
        if n > BOUND {
            let over = tx
                .prepare_cached(
                    "DELETE FROM tasks_archive WHERE ns = ?1 AND seq IN (SELECT seq FROM \
                     tasks_archive WHERE ns = ?1 ORDER BY seq LIMIT ?2)",
                )?
                .execute(params![ns, n - BOUND])?;
            state::sqlite_add_overrun(tx, ns, S, over as u64)?;
        }
    }
    Ok(())
}

/// Rows after `after`, oldest first.
pub fn read(b: &Backend, ns: &str, after: Option<String>, limit: usize) -> Op<Batch> {
    let at = tri!(parse(&after));
    let limit = limit.clamp(1, super::MAX_READ);
    b.call(
        (ns.to_string(), at),
        move |db, (ns, at)| db.with_tx(|tx| sqlite_read(tx, &ns, at, limit)),
        move |r, mut c, (ns, at)| async move {
            let p = crate::tasks::redis::prefix(&ns);
            let (mode, a, b) = match at {
                At::None => ("N", String::new(), String::new()),
                At::Snap(a, b) => ("S", a, b),
                At::Log(a) => ("L", a, String::new()),
            };
            let mut cmd = READ.call(&format!("{p}z:upd"));
            cmd.arg(&p).arg(mode).arg(a).arg(b).arg(limit);
            let reply: Vec<redis::Value> = READ.run(&r, &mut c, &cmd).await?;
            let bad = || Error::Backend("tasks archive read: a bad reply".into());
            let text = |v: &redis::Value| -> Result<String> {
                redis::from_redis_value_ref(v).map_err(|_| bad())
            };
            let next = text(reply.first().ok_or_else(bad)?)?;
            let behind: u64 =
                redis::from_redis_value_ref(reply.get(1).ok_or_else(bad)?).map_err(|_| bad())?;
            let n: usize =
                redis::from_redis_value_ref(reply.get(2).ok_or_else(bad)?).map_err(|_| bad())?;
            let mut rows = Vec::with_capacity(n);
            for i in 0..n {
                let f = reply.get(3 + i * 6..3 + i * 6 + 6).ok_or_else(bad)?;
                let (id, version, kind) = (text(&f[0])?, text(&f[1])?, text(&f[2])?);
                let version: i64 = version.parse().map_err(|_| bad())?;
                let at_ms: i64 = text(&f[5])?.parse().map_err(|_| bad())?;
                if kind == "d" {
                    rows.push(TaskVersion {
                        id,
                        version,
                        doc: Value::Null,
                        deleted: true,
                        at_ms,
                    });
                    continue;
                }
                let fields = redis::Value::Array(vec![
                    f[3].clone(),
                    f[4].clone(),
                    redis::Value::BulkString(version.to_string().into_bytes()),
                ]);
                let t = crate::tasks::redis::parse_fields(fields)?.ok_or_else(bad)?;
                rows.push(version_row(&t, at_ms)?);
            }
            Ok(Batch {
                rows: Rows::Tasks(rows),
                next,
                behind,
                lost: 0,
            })
        },
    )
}

fn sqlite_read(tx: &Transaction<'_>, ns: &str, at: At, limit: usize) -> Result<Batch> {
    let log_count = |tx: &Transaction<'_>, after: i64| -> Result<u64> {
        let n: i64 = tx
            .prepare_cached("SELECT count(*) FROM tasks_archive WHERE ns = ?1 AND seq > ?2")?
            .query_row(params![ns, after], |r| r.get(0))?;
        Ok(n as u64)
    };
    let after_id = match &at {
        At::None => {
            tx.prepare_cached("INSERT OR IGNORE INTO tasks_archive_on (ns) VALUES (?1)")?
                .execute(params![ns])?;
            Some(String::new())
        }
        At::Snap(_, id) => Some(id.clone()),
        At::Log(_) => None,
    };
    if let Some(after_id) = after_id {
        let sql = format!(
            "SELECT {} FROM tasks WHERE ns = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
            crate::tasks::sqlite::COLS
        );
        let mut st = tx.prepare_cached(&sql)?;
        let mut q = st.query(params![ns, after_id, limit as i64])?;
        let mut rows = vec![];
        let mut last = None;
        while let Some(r) = q.next()? {
            let t = crate::tasks::sqlite::read(r)?;
            rows.push(version_row(&t, (t.updated_at * 1000.0) as i64)?);
            last = Some(t.id);
        }
        let (next, behind) = match last {
            Some(id) if rows.len() >= limit => {
                let left: i64 = tx
                    .prepare_cached("SELECT count(*) FROM tasks WHERE ns = ?1 AND id > ?2")?
                    .query_row(params![ns, id], |r| r.get(0))?;
                (format!("S|0|{id}"), left as u64 + log_count(tx, 0)?)
            }
            _ => ("L|0-0".to_string(), log_count(tx, 0)?),
        };
        return Ok(Batch {
            rows: Rows::Tasks(rows),
            next,
            behind,
            lost: 0,
        });
    }
    let At::Log(l) = at else { unreachable!() };
    let after: i64 = l
        .split('-')
        .next()
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    let mut st = tx.prepare_cached(
        "SELECT seq, id, version, deleted, doc, at_ms FROM tasks_archive \
         WHERE ns = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    )?;
    let mut q = st.query(params![ns, after, limit as i64])?;
    let mut rows = vec![];
    let mut last = after;
    while let Some(r) = q.next()? {
        last = r.get(0)?;
        let text: Option<String> = r.get(4)?;
        rows.push(TaskVersion {
            id: r.get(1)?,
            version: r.get(2)?,
            deleted: r.get(3)?,
            doc: match text {
                Some(t) => serde_json::from_str(&t)?,
                None => Value::Null,
            },
            at_ms: r.get(5)?,
        });
    }
    drop(q);
    let behind = if rows.len() >= limit {
        log_count(tx, last)?
    } else {
        0
    };
    Ok(Batch {
        rows: Rows::Tasks(rows),
        next: format!("L|{last}-0"),
        behind,
        lost: 0,
    })
}

/// The committed cursor, else the start of the snapshot (`S||`), committed, with the archive
/// log turned on first: every version written from now on is kept until archived.
pub fn start(b: &Backend, ns: &str) -> Op<String> {
    state::start(
        b,
        ns,
        S,
        "S||",
        &["arch:on"],
        &["INSERT OR IGNORE INTO tasks_archive_on (ns) VALUES (?1)"],
    )
}

/// The committed cursor.
pub fn cursor(b: &Backend, ns: &str) -> Op<Option<String>> {
    state::cursor(b, ns, S)
}

/// Commits a cursor (never backwards).
pub fn commit(b: &Backend, ns: &str, cursor: String) -> Op<()> {
    tri!(parse(&Some(cursor.clone())));
    state::commit(b, ns, S, cursor, Order::Tasks)
}

/// Entries trimmed before the archive had them.
pub fn overrun(b: &Backend, ns: &str) -> Op<u64> {
    state::overrun(b, ns, S)
}

/// Deletes the cursors of this capability's sources (and turns the log off, dropping it);
/// how many there were.
pub fn forget(b: &Backend, ns: &str) -> Op<u64> {
    state::forget(
        b,
        ns,
        S,
        &["arch", "arch:on"],
        &[
            "DELETE FROM tasks_archive WHERE ns = ?1",
            "DELETE FROM tasks_archive_on WHERE ns = ?1",
        ],
    )
}
