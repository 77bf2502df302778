//! Cursors and overrun counters of the jobs, tasks and patterns sources on both stores.
//! SQLite: rows of `archive_cursors`; Redis: `zl:{<ns>:<tag>}:archived:<source>` (the
//! cursor) and `…:archived:<source>:lost` (the overrun counter), under the capability's own
//! hash tag so that its scripts read them.

use std::cmp::Ordering;
use std::sync::LazyLock;

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::archive::model::Source;
use crate::engine::script::Lua;
use crate::engine::{Backend, Op};
use crate::error::Result;

static COMMIT: LazyLock<Lua> =
    LazyLock::new(|| Lua::new("", include_str!("../lua/cursor_commit.lua")));
static START: LazyLock<Lua> =
    LazyLock::new(|| Lua::new("", include_str!("../lua/state_start.lua")));

/// How cursors of a source order (for "never backwards").
#[derive(Debug, Clone, Copy)]
pub enum Order {
    /// `<number>|<id>`: by number, then id.
    NumId,
    /// The tasks cursor: `S|…` (snapshot) before `L|<a>-<b>` (log, by a then b).
    Tasks,
}

impl Order {
    fn code(self) -> &'static str {
        match self {
            Order::NumId => "n",
            Order::Tasks => "t",
        }
    }

    /// True when `a` is after `b`.
    pub fn newer(self, a: &str, b: &str) -> bool {
        match self {
            Order::NumId => {
                let split = |s: &str| {
                    let (n, id) = s.split_once('|').unwrap_or((s, ""));
                    (
                        n.parse::<f64>().unwrap_or(f64::NEG_INFINITY),
                        id.to_string(),
                    )
                };
                let (an, ai) = split(a);
                let (bn, bi) = split(b);
                match an.partial_cmp(&bn) {
                    Some(Ordering::Equal) | None => ai > bi,
                    Some(o) => o == Ordering::Greater,
                }
            }
            Order::Tasks => {
                let (ak, bk) = (&a[..a.len().min(1)], &b[..b.len().min(1)]);
                if ak != bk {
                    return ak == "L";
                }
                if ak == "S" {
                    return a != b;
                }
                let num = |s: &str| -> (u64, u64) {
                    let t = s.strip_prefix("L|").unwrap_or(s);
                    let (x, y) = t.split_once('-').unwrap_or((t, "0"));
                    (x.parse().unwrap_or(0), y.parse().unwrap_or(0))
                };
                num(a) > num(b)
            }
        }
    }
}

/// `zl:{<ns>:<tag>}:archived:<source>`.
pub fn cursor_key(ns: &str, s: Source) -> String {
    format!(
        "{}archived:{}",
        crate::engine::keys::prefix(ns, s.tag()),
        s.name()
    )
}

/// `zl:{<ns>:<tag>}:archived:<source>:lost`.
pub fn lost_key(ns: &str, s: Source) -> String {
    format!("{}:lost", cursor_key(ns, s))
}

/// The committed cursor on SQLite (inside any transaction or connection).
pub fn sqlite_cursor(c: &Connection, ns: &str, s: Source) -> Result<Option<String>> {
    Ok(
        c.prepare_cached("SELECT cursor FROM archive_cursors WHERE ns = ?1 AND source = ?2")?
            .query_row(params![ns, s.name()], |r| r.get(0))
            .optional()?,
    )
}

/// Adds `n` to the overrun counter on SQLite (when the source has a cursor row).
pub fn sqlite_add_overrun(tx: &Transaction<'_>, ns: &str, s: Source, n: u64) -> Result<()> {
    if n > 0 {
        tx.prepare_cached(
            "UPDATE archive_cursors SET overrun = overrun + ?3 WHERE ns = ?1 AND source = ?2",
        )?
        .execute(params![ns, s.name(), n as i64])?;
    }
    Ok(())
}

/// The committed cursor.
pub fn cursor(b: &Backend, ns: &str, s: Source) -> Op<Option<String>> {
    b.call(
        ns.to_string(),
        move |db, ns| db.with(|c| sqlite_cursor(c, &ns, s)),
        move |r, mut c, ns| async move {
            let v: Option<String> = redis::cmd("GET")
                .arg(cursor_key(&ns, s))
                .query_async(&mut c)
                .await
                .map_err(|e| r.err(e))?;
            Ok(v)
        },
    )
}

/// Commits `cursor`, never backwards.
pub fn commit(b: &Backend, ns: &str, s: Source, cursor: String, order: Order) -> Op<()> {
    b.call(
        (ns.to_string(), cursor),
        move |db, (ns, cursor)| {
            db.with_tx(|tx| {
                if let Some(old) = sqlite_cursor(tx, &ns, s)? {
                    if !order.newer(&cursor, &old) {
                        return Ok(());
                    }
                }
                tx.prepare_cached(
                    "INSERT INTO archive_cursors (ns, source, cursor) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (ns, source) DO UPDATE SET cursor = ?3",
                )?
                .execute(params![ns, s.name(), cursor])?;
                Ok(())
            })
        },
        move |r, mut c, (ns, cursor)| async move {
            let mut cmd = COMMIT.call(&cursor_key(&ns, s));
            cmd.arg(cursor).arg(order.code());
            let _: i64 = COMMIT.run(&r, &mut c, &cmd).await?;
            Ok(())
        },
    )
}

/// The committed cursor, else `initial`, committed. Before that, on Redis, the keys `flags`
/// names after the capability's prefix are set to "1" and on SQLite `sql_on` runs (`?1` =
/// ns), in the same script or transaction.
pub fn start(
    b: &Backend,
    ns: &str,
    s: Source,
    initial: &'static str,
    flags: &'static [&'static str],
    sql_on: &'static [&'static str],
) -> Op<String> {
    b.call(
        ns.to_string(),
        move |db, ns| {
            db.with_tx(|tx| {
                for q in sql_on {
                    tx.execute(q, params![ns])?;
                }
                if let Some(cur) = sqlite_cursor(tx, &ns, s)? {
                    return Ok(cur);
                }
                tx.prepare_cached(
                    "INSERT INTO archive_cursors (ns, source, cursor) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![ns, s.name(), initial])?;
                Ok(initial.to_string())
            })
        },
        move |r, mut c, ns| async move {
            let p = crate::engine::keys::prefix(&ns, s.tag());
            let mut keys = vec![cursor_key(&ns, s)];
            keys.extend(flags.iter().map(|k| format!("{p}{k}")));
            let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
            let mut cmd = START.call_keys(&refs);
            cmd.arg(initial).arg(flags.len());
            START.run(&r, &mut c, &cmd).await
        },
    )
}

/// The overrun counter.
pub fn overrun(b: &Backend, ns: &str, s: Source) -> Op<u64> {
    b.call(
        ns.to_string(),
        move |db, ns| {
            db.with(|c| {
                let n: Option<i64> = c
                    .prepare_cached(
                        "SELECT overrun FROM archive_cursors WHERE ns = ?1 AND source = ?2",
                    )?
                    .query_row(params![ns, s.name()], |r| r.get(0))
                    .optional()?;
                Ok(n.unwrap_or(0).max(0) as u64)
            })
        },
        move |r, mut c, ns| async move {
            let v: Option<u64> = redis::cmd("GET")
                .arg(lost_key(&ns, s))
                .query_async(&mut c)
                .await
                .map_err(|e| r.err(e))?;
            Ok(v.unwrap_or(0))
        },
    )
}

/// Deletes the cursor and counter of `s` (and, on Redis, the keys `extra` names after the
/// capability's prefix; on SQLite `sql_extra` runs in the same transaction with `?1` = ns);
/// 1 when there was a cursor.
pub fn forget(
    b: &Backend,
    ns: &str,
    s: Source,
    extra: &'static [&'static str],
    sql_extra: &'static [&'static str],
) -> Op<u64> {
    b.call(
        ns.to_string(),
        move |db, ns| {
            db.with_tx(|tx| {
                let n = tx.execute(
                    "DELETE FROM archive_cursors WHERE ns = ?1 AND source = ?2",
                    params![ns, s.name()],
                )?;
                for q in sql_extra {
                    tx.execute(q, params![ns])?;
                }
                Ok(n as u64)
            })
        },
        move |r, mut c, ns| async move {
            let p = crate::engine::keys::prefix(&ns, s.tag());
            let n: u64 = redis::cmd("DEL")
                .arg(cursor_key(&ns, s))
                .query_async(&mut c)
                .await
                .map_err(|e| r.err(e))?;
            let mut del = redis::cmd("DEL");
            del.arg(lost_key(&ns, s));
            for k in extra {
                del.arg(format!("{p}{k}"));
            }
            let _: u64 = del.query_async(&mut c).await.map_err(|e| r.err(e))?;
            Ok(n)
        },
    )
}
