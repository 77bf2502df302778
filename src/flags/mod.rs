//! `hub.flags`: feature flags per user, percentage rollouts and a global switch.
//!
//! Whether `flag` is on for `user` is decided in this order:
//! 1. the flag's global switch, when set (`set_global(flag, True)`: on for everyone; `False`:
//!    off for everyone, a kill switch);
//! 2. the user's own setting, when there is one (`enable` / `disable`; `unset` removes it);
//! 3. the flag's rollout: on for `percent` % of users, those whose [`bucket`] (a stable hash
//!    of the flag and the user id, 0 to 9,999) is below `percent * 100`. The same user gets
//!    the same answer in every process, on every backend, and in any language that has
//!    SHA-256 (docs/analytics.md has a Python version).
//!
//! On Redis the per-user settings are bitmaps (SETBIT/GETBIT/BITCOUNT); user ids map to bit
//! offsets through a dense table per namespace (`ids`: the first user any flag names gets 0,
//! the next 1, ...), so a bitmap is as long as the namespace has users, whatever the ids look
//! like, and at most [`MAX_USERS`] bits. On the embedded store they are rows.

pub mod redis;
pub mod sqlite;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::engine::{tri, Backend, Capability, Migration, Op};
use crate::error::{Error, Result};

/// This capability's row in the registry (`crate::registry`).
pub const CAPABILITY: Capability = Capability {
    name: "flags",
    migrations: &[Migration {
        version: 18,
        sql: sqlite::SCHEMA,
    }],
    rows: sqlite::rows,
    clear: sqlite::clear,
    topic: None,
    tag: "flags",
    partitioned: false,
    changes: false,
    sweep: None,
    export: crate::limits::no_export,
    import: crate::limits::no_import,
};

/// Most users a namespace's flags can name (bit offsets 0 to 2^32 - 2: a Redis string holds
/// at most 2^32 bits).
pub const MAX_USERS: u64 = (1 << 32) - 1;
/// Most users one `enabled_many` call asks about.
pub const MAX_BATCH: usize = 10_000;
/// Buckets of a rollout: a percentage has two decimals.
pub const BUCKETS: u64 = 10_000;

/// A user's bucket for a flag's rollout: the first 8 bytes of SHA-256 of the UTF-8 of
/// `flag + "\0" + user`, read as a big-endian unsigned integer, modulo 10,000.
pub fn bucket(flag: &str, user: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(flag.as_bytes());
    h.update([0u8]);
    h.update(user.as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    u64::from_be_bytes(b) % BUCKETS
}

/// A percentage (0 to 100, two decimals kept) in buckets.
pub fn percent_buckets(percent: f64) -> Result<u64> {
    if !percent.is_finite() || !(0.0..=100.0).contains(&percent) {
        return Err(Error::validation(format!(
            "percent must be 0 to 100, got {percent}"
        )));
    }
    Ok((percent * 100.0).round() as u64)
}

fn check_flag(flag: &str) -> Result<()> {
    crate::ids::id("flag", flag).map(|_| ())
}

fn check_user(user: &str) -> Result<()> {
    crate::ids::id("user id", user).map(|_| ())
}

/// A flag's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlagState {
    /// The global switch (None: per user and rollout).
    pub global: Option<bool>,
    /// The rollout in buckets (0 to 10,000: hundredths of a percent).
    pub rollout: u64,
    /// Users enabled one by one.
    pub enabled: u64,
    /// Users disabled one by one.
    pub disabled: u64,
}

/// A user's own setting: enabled, disabled, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// `enable`.
    On,
    /// `disable`.
    Off,
    /// `unset`: back to the global switch and the rollout.
    Unset,
}

/// The feature flags of one namespace.
#[derive(Clone)]
pub struct Flags {
    backend: Backend,
    ns: Arc<str>,
}

impl Flags {
    /// The flags of `ns` on `backend`.
    pub fn new(backend: Backend, ns: Arc<str>) -> Flags {
        Flags { backend, ns }
    }

    /// Sets `user`'s own setting of `flag`; true if it changed.
    pub fn set(&self, flag: &str, user: &str, s: Setting) -> Op<bool> {
        tri!(check_flag(flag));
        tri!(check_user(user));
        self.backend.call(
            (self.ns.to_string(), flag.to_string(), user.to_string()),
            move |db, (ns, f, u)| sqlite::set(db, &ns, &f, &u, s),
            move |r, c, (ns, f, u)| redis::set(r, c, ns, f, u, s),
        )
    }

    /// Whether `flag` is on for each of `users`.
    pub fn enabled_many(&self, flag: &str, users: Vec<String>) -> Op<Vec<bool>> {
        tri!(check_flag(flag));
        if users.len() > MAX_BATCH {
            return Op::Ready(Err(Error::validation(format!(
                "at most {MAX_BATCH} users per call, got {}",
                users.len()
            ))));
        }
        for u in &users {
            tri!(check_user(u));
        }
        if users.is_empty() {
            return Op::Ready(Ok(vec![]));
        }
        let buckets: Vec<u64> = users.iter().map(|u| bucket(flag, u)).collect();
        self.backend.call(
            (self.ns.to_string(), flag.to_string(), users, buckets),
            |db, (ns, f, u, b)| sqlite::enabled(db, &ns, &f, &u, &b),
            |r, c, (ns, f, u, b)| redis::enabled(r, c, ns, f, u, b),
        )
    }

    /// Sets the global switch of `flag` (None: per user and rollout).
    pub fn set_global(&self, flag: &str, on: Option<bool>) -> Op<()> {
        tri!(check_flag(flag));
        self.backend.call(
            (self.ns.to_string(), flag.to_string()),
            move |db, (ns, f)| sqlite::set_global(db, &ns, &f, on),
            move |r, c, (ns, f)| redis::set_global(r, c, ns, f, on),
        )
    }

    /// Sets the rollout of `flag` in buckets (see [`percent_buckets`]).
    pub fn rollout(&self, flag: &str, buckets: u64) -> Op<()> {
        tri!(check_flag(flag));
        self.backend.call(
            (self.ns.to_string(), flag.to_string()),
            move |db, (ns, f)| sqlite::rollout(db, &ns, &f, buckets),
            move |r, c, (ns, f)| redis::rollout(r, c, ns, f, buckets),
        )
    }

    /// The settings of `flag` and how many users have their own.
    pub fn state(&self, flag: &str) -> Op<FlagState> {
        tri!(check_flag(flag));
        self.backend.call(
            (self.ns.to_string(), flag.to_string()),
            |db, (ns, f)| sqlite::state(db, &ns, &f),
            |r, c, (ns, f)| redis::state(r, c, ns, f),
        )
    }

    /// Forgets `flag` (its switch, rollout and every user's setting); true if it had any.
    pub fn delete(&self, flag: &str) -> Op<bool> {
        tri!(check_flag(flag));
        self.backend.call(
            (self.ns.to_string(), flag.to_string()),
            |db, (ns, f)| sqlite::delete(db, &ns, &f),
            |r, c, (ns, f)| redis::delete(r, c, ns, f),
        )
    }
}
