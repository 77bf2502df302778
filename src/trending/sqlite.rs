//! `hub.trending` on the embedded store: the same boards as on Redis (`lua/`), in tables:
//! `trending_boards` (options, decay epoch, newest bucket), `trending_items` (item -> score,
//! indexed by score) and `trending_buckets` (a windowed board's buckets). One transaction per
//! operation.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{width, Board, BUCKETS, RESCALE_AT};
use crate::engine::Sqlite;
use crate::error::{Error, Result};

/// Tables (migration step 15).
pub const SCHEMA: &str = "
CREATE TABLE trending_boards (
  ns TEXT NOT NULL, board TEXT NOT NULL, half_life INTEGER NOT NULL, win INTEGER NOT NULL,
  max_items INTEGER NOT NULL, t0 INTEGER, rolled INTEGER, defined INTEGER NOT NULL,
  PRIMARY KEY (ns, board)
) WITHOUT ROWID;
CREATE TABLE trending_items (
  ns TEXT NOT NULL, board TEXT NOT NULL, item TEXT NOT NULL, score REAL NOT NULL,
  PRIMARY KEY (ns, board, item)
) WITHOUT ROWID;
CREATE INDEX trending_items_score ON trending_items (ns, board, score, item);
CREATE TABLE trending_buckets (
  ns TEXT NOT NULL, board TEXT NOT NULL, bucket INTEGER NOT NULL, item TEXT NOT NULL,
  score REAL NOT NULL,
  PRIMARY KEY (ns, board, bucket, item)
) WITHOUT ROWID;
";

const TABLES: &[&str] = &["trending_boards", "trending_items", "trending_buckets"];

/// A board's state as stored.
struct State {
    b: Board,
    t0: Option<i64>,
    rolled: Option<i64>,
    defined: bool,
}

fn load(c: &Connection, ns: &str, board: &str) -> Result<State> {
    let row = c
        .prepare_cached(
            "SELECT half_life, win, max_items, t0, rolled, defined FROM trending_boards \
             WHERE ns = ?1 AND board = ?2",
        )?
        .query_row(params![ns, board], |r| {
            Ok(State {
                b: Board {
                    half_life_ms: r.get(0)?,
                    window_ms: r.get(1)?,
                    max_items: r.get::<_, i64>(2)?.clamp(1, i64::from(u32::MAX)) as u32,
                },
                t0: r.get(3)?,
                rolled: r.get(4)?,
                defined: r.get::<_, i64>(5)? != 0,
            })
        })
        .optional()?;
    Ok(row.unwrap_or(State {
        b: Board::default(),
        t0: None,
        rolled: None,
        defined: false,
    }))
}

fn save(tx: &Transaction<'_>, ns: &str, board: &str, s: &State) -> Result<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO trending_boards \
         (ns, board, half_life, win, max_items, t0, rolled, defined) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        ns,
        board,
        s.b.half_life_ms,
        s.b.window_ms,
        s.b.max_items,
        s.t0,
        s.rolled,
        i64::from(s.defined)
    ])?;
    Ok(())
}

/// The error of a board defined twice with different options.
pub fn conflict(board: &str) -> Error {
    Error::Conflict(format!(
        "trending board {board:?} exists with other options; delete it first"
    ))
}

/// See `Trending::define`.
pub fn define(db: &Sqlite, ns: &str, board: &str, b: Board) -> Result<()> {
    db.with_tx(|tx| {
        let s = load(tx, ns, board)?;
        if s.defined {
            return if s.b == b {
                Ok(())
            } else {
                Err(conflict(board))
            };
        }
        let items: i64 = tx
            .prepare_cached("SELECT COUNT(*) FROM trending_items WHERE ns = ?1 AND board = ?2")?
            .query_row(params![ns, board], |r| r.get(0))?;
        if items > 0 {
            return Err(conflict(board));
        }
        save(
            tx,
            ns,
            board,
            &State {
                b,
                t0: None,
                rolled: None,
                defined: true,
            },
        )
    })
}

fn incr(tx: &Transaction<'_>, ns: &str, board: &str, item: &str, by: f64) -> Result<f64> {
    Ok(tx
        .prepare_cached(
            "INSERT INTO trending_items (ns, board, item, score) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (ns, board, item) DO UPDATE SET score = score + excluded.score \
             RETURNING score",
        )?
        .query_row(params![ns, board, item, by], |r| r.get(0))?)
}

/// Keeps the best `max` items of a board (drops the lowest, ties: the smaller item first).
fn bound(tx: &Transaction<'_>, ns: &str, board: &str, max: u32) -> Result<()> {
    let n: i64 = tx
        .prepare_cached("SELECT COUNT(*) FROM trending_items WHERE ns = ?1 AND board = ?2")?
        .query_row(params![ns, board], |r| r.get(0))?;
    if n > i64::from(max) {
        tx.prepare_cached(
            "DELETE FROM trending_items WHERE ns = ?1 AND board = ?2 AND item IN \
             (SELECT item FROM trending_items WHERE ns = ?1 AND board = ?2 \
              ORDER BY score, item LIMIT ?3)",
        )?
        .execute(params![ns, board, n - i64::from(max)])?;
    }
    Ok(())
}

/// Moves a windowed board's window to bucket `cur` (see `lua/common.lua`'s `roll`).
fn roll(tx: &Transaction<'_>, ns: &str, board: &str, s: &mut State, cur: i64) -> Result<()> {
    let Some(r) = s.rolled else {
        s.rolled = Some(cur);
        return Ok(());
    };
    if cur <= r {
        return Ok(());
    }
    if cur - r >= BUCKETS {
        tx.prepare_cached("DELETE FROM trending_items WHERE ns = ?1 AND board = ?2")?
            .execute(params![ns, board])?;
    } else {
        // Subtract the buckets that fall out, then drop what is left at (about) zero.
        tx.prepare_cached(
            "UPDATE trending_items SET score = score - (SELECT SUM(b.score) FROM \
             trending_buckets b WHERE b.ns = ?1 AND b.board = ?2 AND b.bucket <= ?3 \
             AND b.item = trending_items.item) WHERE ns = ?1 AND board = ?2 AND item IN \
             (SELECT item FROM trending_buckets WHERE ns = ?1 AND board = ?2 AND bucket <= ?3)",
        )?
        .execute(params![ns, board, cur - BUCKETS])?;
        tx.prepare_cached(
            "DELETE FROM trending_items WHERE ns = ?1 AND board = ?2 AND score <= 1e-9",
        )?
        .execute(params![ns, board])?;
    }
    tx.prepare_cached(
        "DELETE FROM trending_buckets WHERE ns = ?1 AND board = ?2 AND bucket <= ?3",
    )?
    .execute(params![ns, board, cur - BUCKETS])?;
    s.rolled = Some(cur);
    Ok(())
}

/// See `Trending::bump`.
pub fn bump(
    db: &Sqlite,
    ns: &str,
    board: &str,
    item: &str,
    by: f64,
    at: i64,
) -> Result<Option<f64>> {
    db.with_tx(|tx| {
        let mut s = load(tx, ns, board)?;
        let score = if s.b.window_ms > 0 {
            let ab = at.div_euclid(width(s.b.window_ms));
            if s.rolled.is_none_or(|r| ab > r) {
                roll(tx, ns, board, &mut s, ab)?;
            }
            if ab <= s.rolled.unwrap_or(ab) - BUCKETS {
                save(tx, ns, board, &s)?;
                return Ok(None);
            }
            tx.prepare_cached(
                "INSERT INTO trending_buckets (ns, board, bucket, item, score) \
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (ns, board, bucket, item) \
                 DO UPDATE SET score = score + excluded.score",
            )?
            .execute(params![ns, board, ab, item, by])?;
            let n: i64 = tx
                .prepare_cached(
                    "SELECT COUNT(*) FROM trending_buckets WHERE ns = ?1 AND board = ?2 \
                     AND bucket = ?3",
                )?
                .query_row(params![ns, board, ab], |r| r.get(0))?;
            if n > i64::from(s.b.max_items) {
                tx.prepare_cached(
                    "DELETE FROM trending_buckets WHERE ns = ?1 AND board = ?2 AND bucket = ?3 \
                     AND item IN (SELECT item FROM trending_buckets WHERE ns = ?1 AND \
                     board = ?2 AND bucket = ?3 ORDER BY score, item LIMIT ?4)",
                )?
                .execute(params![ns, board, ab, n - i64::from(s.b.max_items)])?;
            }
            incr(tx, ns, board, item, by)?
        } else if s.b.half_life_ms > 0 {
            let hl = s.b.half_life_ms as f64;
            let t0 = match s.t0 {
                None => at,
                Some(t0) if (at - t0) as f64 / hl > RESCALE_AT => {
                    let f = 2f64.powf(-((at - t0) as f64) / hl);
                    tx.prepare_cached(
                        "UPDATE trending_items SET score = score * ?3 WHERE ns = ?1 AND board = ?2",
                    )?
                    .execute(params![ns, board, f])?;
                    at
                }
                Some(t0) => t0,
            };
            s.t0 = Some(t0);
            let f = 2f64.powf((at - t0) as f64 / hl);
            incr(tx, ns, board, item, by * f)? / f
        } else {
            incr(tx, ns, board, item, by)?
        };
        bound(tx, ns, board, s.b.max_items)?;
        if s.defined || s.t0.is_some() || s.rolled.is_some() {
            save(tx, ns, board, &s)?;
        }
        Ok(Some(score))
    })
}

/// Loads a board for a read at `now`, moving a windowed board's window first.
fn at_now(tx: &Transaction<'_>, ns: &str, board: &str, now: i64) -> Result<f64> {
    let mut s = load(tx, ns, board)?;
    if s.b.window_ms > 0 && s.defined {
        let cur = now.div_euclid(width(s.b.window_ms));
        roll(tx, ns, board, &mut s, cur)?;
        save(tx, ns, board, &s)?;
    }
    Ok(match (s.b.half_life_ms, s.t0) {
        (hl, Some(t0)) if hl > 0 => 2f64.powf(-((now - t0) as f64) / hl as f64),
        _ => 1.0,
    })
}

/// See `Trending::top`.
pub fn top(db: &Sqlite, ns: &str, board: &str, n: usize, now: i64) -> Result<Vec<(String, f64)>> {
    db.with_tx(|tx| {
        let f = at_now(tx, ns, board, now)?;
        let mut st = tx.prepare_cached(
            "SELECT item, score FROM trending_items WHERE ns = ?1 AND board = ?2 \
             ORDER BY score DESC, item DESC LIMIT ?3",
        )?;
        let rows = st.query_map(params![ns, board, n as i64], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)? * f))
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    })
}

/// See `Trending::rank`.
pub fn rank(
    db: &Sqlite,
    ns: &str,
    board: &str,
    item: &str,
    now: i64,
) -> Result<Option<(u64, f64)>> {
    db.with_tx(|tx| {
        let f = at_now(tx, ns, board, now)?;
        let score: Option<f64> = tx
            .prepare_cached(
                "SELECT score FROM trending_items WHERE ns = ?1 AND board = ?2 AND item = ?3",
            )?
            .query_row(params![ns, board, item], |r| r.get(0))
            .optional()?;
        let Some(score) = score else {
            return Ok(None);
        };
        let above: i64 = tx
            .prepare_cached(
                "SELECT COUNT(*) FROM trending_items WHERE ns = ?1 AND board = ?2 AND \
                 (score > ?3 OR (score = ?3 AND item > ?4))",
            )?
            .query_row(params![ns, board, score, item], |r| r.get(0))?;
        Ok(Some((above as u64 + 1, score * f)))
    })
}

/// See `Trending::delete`.
pub fn delete(db: &Sqlite, ns: &str, board: &str) -> Result<bool> {
    db.with_tx(|tx| {
        let mut n = 0;
        for t in TABLES {
            n += tx
                .prepare_cached(&format!("DELETE FROM {t} WHERE ns = ?1 AND board = ?2"))?
                .execute(params![ns, board])?;
        }
        Ok(n > 0)
    })
}

/// Rows of the namespace.
pub fn rows(c: &Connection, ns: &str) -> Result<u64> {
    crate::engine::sqlite::count_rows(c, ns, TABLES)
}

/// Deletes the namespace's rows.
pub fn clear(tx: &Transaction<'_>, ns: &str) -> Result<u64> {
    crate::engine::sqlite::delete_rows(tx, ns, TABLES)
}
