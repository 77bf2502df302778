//! `hub.trending`: boards of items ranked by score (top N, rank). A board is plain
//! (scores add up), time-decayed (a half-life: a bump's weight halves every half-life) or
//! windowed (only the bumps of the last `window` count). Boards keep at most `max_items`
//! items: past that, the lowest go.
//!
//! Decayed boards store `by * 2^((t - t0) / half_life)` for a bump at time `t` (t0 is the
//! board's epoch), so a bump never rewrites older items: every stored score shares the
//! factor `2^(-(now - t0) / half_life)`, which reads apply. When the exponent passes 64 the
//! board is rescaled once (every score times `2^-((t - t0) / half_life)`, t0 moves to t).
//! Windowed boards keep 60 buckets of `window / 60` each and the board holds their sum; as
//! time moves on, buckets that leave the window are subtracted. The window is exact to one
//! bucket: a read at `now` counts the bumps from the start of the bucket 59 buckets before
//! `now`'s bucket.
//!
//! Behaviour is defined here once; `sqlite` and `redis` (one Lua script per operation)
//! implement it.

pub mod dump;
pub mod redis;
pub mod sqlite;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use crate::engine::{tri, Backend, Capability, Migration, Op};
use crate::error::{Error, Result};

/// This capability's row in the registry (`crate::registry`).
pub const CAPABILITY: Capability = Capability {
    name: "trending",
    migrations: &[Migration {
        version: 15,
        sql: sqlite::SCHEMA,
    }],
    rows: sqlite::rows,
    clear: sqlite::clear,
    topic: None,
    tag: "trending",
    partitioned: false,
    changes: false,
    sweep: None,
    export: dump::export,
    import: dump::import,
};

/// Buckets of a windowed board.
pub const BUCKETS: i64 = 60;
/// Items a board keeps unless defined otherwise.
pub const DEFAULT_MAX_ITEMS: u32 = 1000;
/// Most items a board may be defined to keep.
pub const MAX_ITEMS_LIMIT: u32 = 1_000_000;
/// Longest board name, in bytes.
pub const MAX_BOARD: usize = 128;
/// Longest item, in bytes.
pub const MAX_ITEM: usize = 256;
/// Most items one `top` returns.
pub const MAX_TOP: usize = 10_000;
/// Longest half-life or window: ten years, in ms.
pub const MAX_SPAN_MS: i64 = 10 * 365 * 86_400_000;
/// Exponent past which a decayed board is rescaled.
pub const RESCALE_AT: f64 = 64.0;

/// A board's options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Board {
    /// Half-life in ms (0: no decay).
    pub half_life_ms: i64,
    /// Window in ms (0: no window).
    pub window_ms: i64,
    /// Most items kept.
    pub max_items: u32,
}

impl Default for Board {
    fn default() -> Self {
        Board {
            half_life_ms: 0,
            window_ms: 0,
            max_items: DEFAULT_MAX_ITEMS,
        }
    }
}

/// Checks a board name: 1 to [`MAX_BOARD`] bytes, no whitespace, control characters or
/// `* ? [ ] { } \`.
pub fn check_board(b: &str) -> Result<()> {
    if b.is_empty() || b.len() > MAX_BOARD {
        return Err(Error::validation(format!(
            "board must be 1 to {MAX_BOARD} bytes, got {}",
            b.len()
        )));
    }
    if let Some(c) = b.chars().find(|c| {
        c.is_whitespace() || c.is_control() || matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | '\\')
    }) {
        return Err(Error::validation(format!(
            "board {b:?} contains {c:?}; no whitespace, control characters or * ? [ ] {{ }} \\"
        )));
    }
    Ok(())
}

/// Checks an item: 1 to [`MAX_ITEM`] bytes without control characters.
pub fn check_item(i: &str) -> Result<()> {
    if i.is_empty() || i.len() > MAX_ITEM || i.chars().any(char::is_control) {
        return Err(Error::validation(format!(
            "item must be 1 to {MAX_ITEM} bytes without control characters, got {i:?}"
        )));
    }
    Ok(())
}

/// The width of a windowed board's buckets, in ms.
pub fn width(window_ms: i64) -> i64 {
    (window_ms / BUCKETS).max(1)
}

/// Trending boards of one namespace.
#[derive(Clone)]
pub struct Trending {
    backend: Backend,
    ns: Arc<str>,
}

impl Trending {
    /// The boards of `ns` on `backend`.
    pub fn new(backend: Backend, ns: Arc<str>) -> Trending {
        Trending { backend, ns }
    }

    fn ns(&self) -> String {
        self.ns.to_string()
    }

    /// Declares a board's options (before its first bump). Conflict if it exists with
    /// other options (delete it first).
    pub fn define(&self, board: &str, b: Board) -> Op<()> {
        tri!(check_board(board));
        if b.half_life_ms > 0 && b.window_ms > 0 {
            return Op::Ready(Err(Error::validation(
                "a board has a half_life or a window, not both",
            )));
        }
        if b.half_life_ms < 0 || b.half_life_ms > MAX_SPAN_MS {
            return Op::Ready(Err(Error::validation(
                "half_life must be more than 0 and at most ten years",
            )));
        }
        if b.window_ms != 0 && (b.window_ms < BUCKETS * 1000 || b.window_ms > MAX_SPAN_MS) {
            return Op::Ready(Err(Error::validation(
                "window must be 60 seconds to ten years",
            )));
        }
        if b.max_items == 0 || b.max_items > MAX_ITEMS_LIMIT {
            return Op::Ready(Err(Error::validation(format!(
                "max_items must be 1 to {MAX_ITEMS_LIMIT}, got {}",
                b.max_items
            ))));
        }
        self.backend.call(
            (self.ns(), board.to_string()),
            move |db, (ns, name)| sqlite::define(db, &ns, &name, b),
            move |r, c, (ns, name)| redis::define(r, c, ns, name, b),
        )
    }

    /// Adds `by` to `item` at time `at` (ms); returns its score at `at`, or None when the
    /// bump fell before a windowed board's window.
    pub fn bump(&self, board: &str, item: &str, by: f64, at: i64) -> Op<Option<f64>> {
        tri!(check_board(board));
        tri!(check_item(item));
        if !by.is_finite() || by == 0.0 {
            return Op::Ready(Err(Error::validation(format!(
                "by must be a finite number other than 0, got {by}"
            ))));
        }
        if at < 0 {
            return Op::Ready(Err(Error::validation("at must not be before 1970")));
        }
        self.backend.call(
            (self.ns(), board.to_string(), item.to_string()),
            move |db, (ns, b, i)| sqlite::bump(db, &ns, &b, &i, by, at),
            move |r, c, (ns, b, i)| redis::bump(r, c, ns, b, i, by, at),
        )
    }

    /// The best `n` items with their scores at `now`, best first (ties: the greater item
    /// first, as Redis orders them).
    pub fn top(&self, board: &str, n: usize, now: i64) -> Op<Vec<(String, f64)>> {
        tri!(check_board(board));
        if n == 0 || n > MAX_TOP {
            return Op::Ready(Err(Error::validation(format!(
                "n must be 1 to {MAX_TOP}, got {n}"
            ))));
        }
        self.backend.call(
            (self.ns(), board.to_string()),
            move |db, (ns, b)| sqlite::top(db, &ns, &b, n, now),
            move |r, c, (ns, b)| redis::top(r, c, ns, b, n, now),
        )
    }

    /// The place of `item` (1 = first) and its score at `now`; None when not on the board.
    pub fn rank(&self, board: &str, item: &str, now: i64) -> Op<Option<(u64, f64)>> {
        tri!(check_board(board));
        tri!(check_item(item));
        self.backend.call(
            (self.ns(), board.to_string(), item.to_string()),
            move |db, (ns, b, i)| sqlite::rank(db, &ns, &b, &i, now),
            move |r, c, (ns, b, i)| redis::rank(r, c, ns, b, i, now),
        )
    }

    /// Deletes a board (items and options); true if it existed.
    pub fn delete(&self, board: &str) -> Op<bool> {
        tri!(check_board(board));
        self.backend.call(
            (self.ns(), board.to_string()),
            move |db, (ns, b)| sqlite::delete(db, &ns, &b),
            move |r, c, (ns, b)| redis::delete(r, c, ns, b),
        )
    }
}
