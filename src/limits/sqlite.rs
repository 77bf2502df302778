//! `hub.limits` on the embedded store: one row per key holding its log of admission times as
//! a blob of little-endian u64 milliseconds, ascending, at most `limit` of them; `expires`
//! (when the newest entry leaves the window, on the machine's clock) lets the background
//! sweep drop idle keys.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{decide, Decision, Spec};
use crate::engine::Sqlite;
use crate::error::Result;

/// Table (schema step 16).
pub const SCHEMA: &str = "
CREATE TABLE limits (
  ns TEXT NOT NULL, key TEXT NOT NULL, log BLOB NOT NULL, expires INTEGER NOT NULL,
  PRIMARY KEY (ns, key)
) WITHOUT ROWID;
CREATE INDEX limits_expires ON limits (expires);
";

/// Rows one background sweep removes at most.
const SWEEP_BATCH: i64 = 10_000;

fn decode(b: &[u8]) -> Vec<u64> {
    b.chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
        .collect()
}

fn encode(v: &[u64]) -> Vec<u8> {
    v.iter().flat_map(|t| t.to_le_bytes()).collect()
}

/// See `Limits::check` (`admit`) and `Limits::peek`.
pub fn check(db: &Sqlite, ns: &str, key: &str, s: &Spec, admit: bool) -> Result<Decision> {
    let run =
        |tx: &Transaction<'_>| -> Result<Decision> {
            let blob: Option<Vec<u8>> = tx
                .prepare_cached("SELECT log FROM limits WHERE ns = ?1 AND key = ?2")?
                .query_row(params![ns, key], |r| r.get(0))
                .optional()?;
            let all = blob.as_deref().map(decode).unwrap_or_default();
            let cutoff = s.now_ms.saturating_sub(s.window_ms);
            // Entries at or before the cutoff have left the window.
            let live_from = all.partition_point(|&t| t <= cutoff && s.now_ms >= s.window_ms);
            let mut live = all[live_from..].to_vec();
            let d = decide(&live, s);
            if !admit {
                return Ok(d);
            }
            if d.allowed {
                let at = live.partition_point(|&t| t <= s.now_ms);
                live.splice(at..at, std::iter::repeat_n(s.now_ms, s.cost as usize));
            } else if live_from == 0 {
                return Ok(d);
            }
            match live.last() {
                None => {
                    tx.prepare_cached("DELETE FROM limits WHERE ns = ?1 AND key = ?2")?
                        .execute(params![ns, key])?;
                }
                Some(&newest) => {
                    tx.prepare_cached(
                    "INSERT OR REPLACE INTO limits (ns, key, log, expires) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![ns, key, encode(&live), expires(newest, s) as i64])?;
                }
            }
            Ok(d)
        };
    if admit {
        db.with_tx(run)
    } else {
        db.with(|c| run(&c.transaction()?))
    }
}

/// When the sweep may drop a log whose newest entry is `newest`: the time that entry has left
/// in its window, counted on the machine's clock (a check's `now` may be another clock; the
/// sweep runs on this one, as a Redis key's time to live runs on the server's).
fn expires(newest: u64, s: &Spec) -> u64 {
    crate::clock::now_ms() + (newest + s.window_ms).saturating_sub(s.now_ms)
}

/// See `Limits::reset`.
pub fn reset(db: &Sqlite, ns: &str, key: &str) -> Result<bool> {
    db.with_tx(|tx| {
        Ok(tx
            .prepare_cached("DELETE FROM limits WHERE ns = ?1 AND key = ?2")?
            .execute(params![ns, key])?
            > 0)
    })
}

/// Deletes keys whose newest admission has left its window, at most a batch (the engine's
/// background sweep).
pub fn sweep(tx: &Transaction<'_>, now: u64) -> Result<u64> {
    Ok(tx
        .prepare_cached(
            "DELETE FROM limits WHERE (ns, key) IN \
             (SELECT ns, key FROM limits WHERE expires <= ?1 LIMIT ?2)",
        )?
        .execute(params![now as i64, SWEEP_BATCH])? as u64)
}

/// Rows of the namespace.
pub fn rows(c: &Connection, ns: &str) -> Result<u64> {
    crate::engine::sqlite::count_rows(c, ns, &["limits"])
}

/// Deletes the namespace's rows.
pub fn clear(tx: &Transaction<'_>, ns: &str) -> Result<u64> {
    crate::engine::sqlite::delete_rows(tx, ns, &["limits"])
}
