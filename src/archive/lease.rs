//! One archiver per namespace: a lease in the store, taken while free or expired, renewed by
//! its holder, released by its holder only. SQLite: a row of `archive_lease`; Redis:
//! `zl:{<ns>:archive}:lease` (the holder's name, expiring after the ttl).

use std::sync::LazyLock;
use std::time::Duration;

use rusqlite::{params, OptionalExtension};

use crate::engine::script::Lua;
use crate::engine::{Backend, Op};

static ACQUIRE: LazyLock<Lua> =
    LazyLock::new(|| Lua::new("", include_str!("lua/lease_acquire.lua")));
static RELEASE: LazyLock<Lua> =
    LazyLock::new(|| Lua::new("", include_str!("lua/lease_release.lua")));

/// `zl:{<ns>:archive}:lease`.
pub fn key(ns: &str) -> String {
    format!(
        "{}lease",
        crate::engine::keys::prefix(ns, super::CAPABILITY.tag)
    )
}

/// Takes the lease of `ns` for `holder` for `ttl` when it is free or expired, or renews it
/// when `holder` has it; true when `holder` has it afterwards.
pub fn acquire(b: &Backend, ns: &str, holder: &str, ttl: Duration) -> Op<bool> {
    let ttl_ms = ttl.as_millis().clamp(1, i64::MAX as u128) as i64;
    b.call(
        (ns.to_string(), holder.to_string()),
        move |db, (ns, holder)| {
            db.with_tx(|tx| {
                let now = crate::clock::now_ms() as i64;
                let cur: Option<(String, i64)> = tx
                    .query_row(
                        "SELECT holder, until_ms FROM archive_lease WHERE ns = ?1",
                        params![ns],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                let free = match &cur {
                    None => true,
                    Some((h, until)) => *h == holder || *until <= now,
                };
                if free {
                    tx.execute(
                        "INSERT INTO archive_lease (ns, holder, until_ms) VALUES (?1, ?2, ?3) \
                         ON CONFLICT (ns) DO UPDATE SET holder = ?2, until_ms = ?3",
                        params![ns, holder, now + ttl_ms],
                    )?;
                }
                Ok(free)
            })
        },
        move |r, mut c, (ns, holder)| async move {
            let mut cmd = ACQUIRE.call(&key(&ns));
            cmd.arg(holder).arg(ttl_ms);
            let got: i64 = ACQUIRE.run(&r, &mut c, &cmd).await?;
            Ok(got == 1)
        },
    )
}

/// Releases the lease of `ns` if `holder` has it; true when it did.
pub fn release(b: &Backend, ns: &str, holder: &str) -> Op<bool> {
    b.call(
        (ns.to_string(), holder.to_string()),
        |db, (ns, holder)| {
            db.with_tx(|tx| {
                let n = tx.execute(
                    "DELETE FROM archive_lease WHERE ns = ?1 AND holder = ?2",
                    params![ns, holder],
                )?;
                Ok(n > 0)
            })
        },
        |r, mut c, (ns, holder)| async move {
            let mut cmd = RELEASE.call(&key(&ns));
            cmd.arg(holder);
            let got: i64 = RELEASE.run(&r, &mut c, &cmd).await?;
            Ok(got == 1)
        },
    )
}

/// Who holds the lease of `ns` now, if anyone (an expired lease counts as free).
pub fn holder(b: &Backend, ns: &str) -> Op<Option<String>> {
    b.call(
        ns.to_string(),
        |db, ns| {
            db.with(|c| {
                let now = crate::clock::now_ms() as i64;
                Ok(c.query_row(
                    "SELECT holder FROM archive_lease WHERE ns = ?1 AND until_ms > ?2",
                    params![ns, now],
                    |r| r.get(0),
                )
                .optional()?)
            })
        },
        |r, mut c, ns| async move {
            let v: Option<String> = redis::cmd("GET")
                .arg(key(&ns))
                .query_async(&mut c)
                .await
                .map_err(|e| r.err(e))?;
            Ok(v)
        },
    )
}
