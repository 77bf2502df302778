//! `hub.flags` on the embedded store: one row per user's own setting and one per flag's
//! switch and rollout.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{FlagState, Setting};
use crate::engine::Sqlite;
use crate::error::Result;

/// Tables (schema step 18).
pub const SCHEMA: &str = "
CREATE TABLE flags_user (
  ns TEXT NOT NULL, flag TEXT NOT NULL, user TEXT NOT NULL, on_ INTEGER NOT NULL,
  PRIMARY KEY (ns, flag, user)
) WITHOUT ROWID;
CREATE TABLE flags_cfg (
  ns TEXT NOT NULL, flag TEXT NOT NULL, global INTEGER, rollout INTEGER NOT NULL,
  PRIMARY KEY (ns, flag)
) WITHOUT ROWID;
";

fn own(c: &Connection, ns: &str, flag: &str, user: &str) -> Result<Option<bool>> {
    Ok(
        c.prepare_cached("SELECT on_ FROM flags_user WHERE ns = ?1 AND flag = ?2 AND user = ?3")?
            .query_row(params![ns, flag, user], |r| r.get(0))
            .optional()?,
    )
}

fn cfg(c: &Connection, ns: &str, flag: &str) -> Result<(Option<bool>, u64)> {
    Ok(
        c.prepare_cached("SELECT global, rollout FROM flags_cfg WHERE ns = ?1 AND flag = ?2")?
            .query_row(params![ns, flag], |r| {
                Ok((
                    r.get::<_, Option<bool>>(0)?,
                    r.get::<_, i64>(1)?.max(0) as u64,
                ))
            })
            .optional()?
            .unwrap_or((None, 0)),
    )
}

/// See `Flags::set`.
pub fn set(db: &Sqlite, ns: &str, flag: &str, user: &str, s: Setting) -> Result<bool> {
    db.with_tx(|tx| {
        let was = own(tx, ns, flag, user)?;
        let want = match s {
            Setting::On => Some(true),
            Setting::Off => Some(false),
            Setting::Unset => None,
        };
        if was == want {
            return Ok(false);
        }
        match want {
            Some(on) => tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO flags_user (ns, flag, user, on_) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![ns, flag, user, on])?,
            None => tx
                .prepare_cached("DELETE FROM flags_user WHERE ns = ?1 AND flag = ?2 AND user = ?3")?
                .execute(params![ns, flag, user])?,
        };
        Ok(true)
    })
}

/// See `Flags::enabled_many`.
pub fn enabled(
    db: &Sqlite,
    ns: &str,
    flag: &str,
    users: &[String],
    buckets: &[u64],
) -> Result<Vec<bool>> {
    db.with(|c| {
        let tx = c.transaction()?;
        let (global, rollout) = cfg(&tx, ns, flag)?;
        if let Some(g) = global {
            return Ok(vec![g; users.len()]);
        }
        users
            .iter()
            .zip(buckets)
            .map(|(u, b)| Ok(own(&tx, ns, flag, u)?.unwrap_or(*b < rollout)))
            .collect()
    })
}

fn put_cfg(tx: &Transaction<'_>, ns: &str, flag: &str, g: Option<bool>, r: u64) -> Result<()> {
    if g.is_none() && r == 0 {
        tx.prepare_cached("DELETE FROM flags_cfg WHERE ns = ?1 AND flag = ?2")?
            .execute(params![ns, flag])?;
    } else {
        tx.prepare_cached(
            "INSERT OR REPLACE INTO flags_cfg (ns, flag, global, rollout) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![ns, flag, g, r as i64])?;
    }
    Ok(())
}

/// See `Flags::set_global`.
pub fn set_global(db: &Sqlite, ns: &str, flag: &str, on: Option<bool>) -> Result<()> {
    db.with_tx(|tx| {
        let (_, r) = cfg(tx, ns, flag)?;
        put_cfg(tx, ns, flag, on, r)
    })
}

/// See `Flags::rollout`.
pub fn rollout(db: &Sqlite, ns: &str, flag: &str, buckets: u64) -> Result<()> {
    db.with_tx(|tx| {
        let (g, _) = cfg(tx, ns, flag)?;
        put_cfg(tx, ns, flag, g, buckets)
    })
}

/// See `Flags::state`.
pub fn state(db: &Sqlite, ns: &str, flag: &str) -> Result<FlagState> {
    db.with(|c| {
        let tx = c.transaction()?;
        let (global, rollout) = cfg(&tx, ns, flag)?;
        let (on, off): (i64, i64) = tx
            .prepare_cached(
                "SELECT COALESCE(SUM(on_), 0), COALESCE(SUM(1 - on_), 0) FROM flags_user \
                 WHERE ns = ?1 AND flag = ?2",
            )?
            .query_row(params![ns, flag], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(FlagState {
            global,
            rollout,
            enabled: on.max(0) as u64,
            disabled: off.max(0) as u64,
        })
    })
}

/// See `Flags::delete`.
pub fn delete(db: &Sqlite, ns: &str, flag: &str) -> Result<bool> {
    db.with_tx(|tx| {
        let a = tx
            .prepare_cached("DELETE FROM flags_user WHERE ns = ?1 AND flag = ?2")?
            .execute(params![ns, flag])?;
        let b = tx
            .prepare_cached("DELETE FROM flags_cfg WHERE ns = ?1 AND flag = ?2")?
            .execute(params![ns, flag])?;
        Ok(a + b > 0)
    })
}

/// Rows of the namespace.
pub fn rows(c: &Connection, ns: &str) -> Result<u64> {
    crate::engine::sqlite::count_rows(c, ns, &["flags_user", "flags_cfg"])
}

/// Deletes the namespace's rows.
pub fn clear(tx: &Transaction<'_>, ns: &str) -> Result<u64> {
    crate::engine::sqlite::delete_rows(tx, ns, &["flags_user", "flags_cfg"])
}
