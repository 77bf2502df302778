//! `hub.sessions`: sessions with a time to live. A session has an unguessable id (128 bits
//! from the operating system's random source, as 32 hex digits), a user, JSON object data
//! and an expiry; `touch` slides the expiry, `for_user` lists a user's live sessions and
//! `destroy_user` ends them all. An expired session is never returned: every read compares
//! its expiry with `now` (an explicit time, or the clock); the stored copy goes later (the
//! embedded store's background sweep, a Redis key's time to live).
//!
//! Data is a JSON object of at most [`MAX_DATA`] bytes, counted as the sum over its top-level
//! entries of the key's bytes and the value's JSON text; it comes back with its top-level keys
//! in byte order on every backend. `update` merges top-level keys (a key given as null is
//! removed) or, with `replace`, replaces the data.

pub mod redis;
pub mod sqlite;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use rand::TryRngCore;
use serde_json::{Map, Value as Json};

use crate::engine::{tri, Backend, Capability, Migration, Op};
use crate::error::{Error, Result};

/// This capability's row in the registry (`crate::registry`).
pub const CAPABILITY: Capability = Capability {
    name: "sessions",
    migrations: &[Migration {
        version: 17,
        sql: sqlite::SCHEMA,
    }],
    rows: sqlite::rows,
    clear: sqlite::clear,
    topic: None,
    tag: "sessions",
    partitioned: false,
    changes: false,
    sweep: Some(sqlite::sweep),
    export: crate::limits::no_export,
    import: crate::limits::no_import,
};

/// Largest session data, in bytes (see the module's documentation for how it is counted).
pub const MAX_DATA: usize = 64 * 1024;
/// Longest time to live: one year, in milliseconds.
pub const MAX_TTL_MS: u64 = 366 * 86_400_000;

/// One session.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// Its id: 32 lowercase hex digits.
    pub id: String,
    /// Its user.
    pub user: String,
    /// Its data, top-level keys in byte order.
    pub data: Map<String, Json>,
    /// When it was created (ms since the epoch).
    pub created_ms: u64,
    /// When it expires (ms since the epoch).
    pub expires_ms: u64,
    /// Its time to live (ms): what `touch` extends it by.
    pub ttl_ms: u64,
}

/// A new session id: 128 bits from the operating system's random source.
pub fn new_id() -> Result<String> {
    let mut b = [0u8; 16];
    rand::rngs::OsRng
        .try_fill_bytes(&mut b)
        .map_err(|e| Error::Backend(format!("the OS random source failed: {e}")))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// True for text shaped like a session id (32 lowercase hex digits). Anything else is no
/// session: a forged cookie is not found rather than an error.
pub fn is_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A time to live in seconds as milliseconds (at least 1 ms, at most a year).
pub fn ttl_ms(seconds: f64) -> Result<u64> {
    let ms = (seconds * 1000.0).round();
    if !seconds.is_finite() || seconds <= 0.0 || ms < 1.0 || ms > MAX_TTL_MS as f64 {
        return Err(Error::validation(format!(
            "ttl must be more than 0 and at most a year, in seconds; got {seconds}"
        )));
    }
    Ok(ms as u64)
}

/// The size of data as counted against [`MAX_DATA`].
pub fn size(entries: &[(String, String)]) -> usize {
    entries.iter().map(|(k, v)| k.len() + v.len()).sum()
}

fn too_big(n: usize) -> Error {
    Error::validation(format!(
        "session data is {n} bytes (keys plus JSON values); the limit is {MAX_DATA} (64 KiB)"
    ))
}

/// Data as sorted top-level entries, each value as JSON text (null values dropped when
/// `drop_null`: an update's way of removing a key).
pub fn entries(data: &Map<String, Json>, drop_null: bool) -> Result<Vec<(String, Option<String>)>> {
    let mut out: Vec<(String, Option<String>)> = data
        .iter()
        .map(|(k, v)| {
            Ok((
                k.clone(),
                if drop_null && v.is_null() {
                    None
                } else {
                    Some(serde_json::to_string(v).map_err(|e| Error::validation(e.to_string()))?)
                },
            ))
        })
        .collect::<Result<_>>()?;
    out.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Ok(out)
}

/// Data from sorted entries.
pub fn data(entries: Vec<(String, String)>) -> Result<Map<String, Json>> {
    let mut e = entries;
    e.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    e.into_iter()
        .map(|(k, v)| Ok((k, serde_json::from_str(&v)?)))
        .collect()
}

/// Seconds since the epoch as milliseconds (`now=`), or the clock's time.
fn now_ms(now: Option<f64>) -> Result<u64> {
    crate::limits::now_ms(now)
}

/// The sessions of one namespace.
#[derive(Clone)]
pub struct Sessions {
    backend: Backend,
    ns: Arc<str>,
}

impl Sessions {
    /// The sessions of `ns` on `backend`.
    pub fn new(backend: Backend, ns: Arc<str>) -> Sessions {
        Sessions { backend, ns }
    }

    /// Starts a session of `user` holding `data`, living `ttl_ms` from `now`.
    pub fn create(
        &self,
        user: &str,
        data: &Map<String, Json>,
        ttl_ms: u64,
        now: Option<f64>,
    ) -> Op<Session> {
        tri!(crate::ids::id("user id", user));
        let now = tri!(now_ms(now));
        let e: Vec<(String, String)> = tri!(entries(data, false))
            .into_iter()
            .map(|(k, v)| (k, v.unwrap_or_default()))
            .collect();
        let n = size(&e);
        if n > MAX_DATA {
            return Op::Ready(Err(too_big(n)));
        }
        let s = Session {
            id: tri!(new_id()),
            user: user.to_string(),
            data: tri!(self::data(e.clone())),
            created_ms: now,
            expires_ms: now + ttl_ms,
            ttl_ms,
        };
        self.backend.call(
            (self.ns.to_string(), s, e),
            move |db, (ns, s, e)| sqlite::create(db, &ns, s, &e, now),
            move |r, c, (ns, s, e)| redis::create(r, c, ns, s, e, now),
        )
    }

    /// The live session `id`, if any.
    pub fn get(&self, id: &str, now: Option<f64>) -> Op<Option<Session>> {
        let now = tri!(now_ms(now));
        if !is_id(id) {
            return Op::Ready(Ok(None));
        }
        self.backend.call(
            (self.ns.to_string(), id.to_string()),
            move |db, (ns, id)| sqlite::get(db, &ns, &id, now),
            move |r, c, (ns, id)| redis::get(r, c, ns, id, now),
        )
    }

    /// Extends a live session to `now` plus `ttl_ms` (None: its own time to live, which a
    /// given one replaces); false if there is no live session `id`.
    pub fn touch(&self, id: &str, ttl_ms: Option<u64>, now: Option<f64>) -> Op<bool> {
        let now = tri!(now_ms(now));
        if !is_id(id) {
            return Op::Ready(Ok(false));
        }
        self.backend.call(
            (self.ns.to_string(), id.to_string()),
            move |db, (ns, id)| sqlite::touch(db, &ns, &id, ttl_ms, now),
            move |r, c, (ns, id)| redis::touch(r, c, ns, id, ttl_ms, now),
        )
    }

    /// Merges `data` into a live session's (a null value removes its key), or replaces it
    /// (`replace`); false if there is no live session `id`. ValidationError (nothing written)
    /// when the result would be larger than [`MAX_DATA`].
    pub fn update(
        &self,
        id: &str,
        data: &Map<String, Json>,
        replace: bool,
        now: Option<f64>,
    ) -> Op<bool> {
        let now = tri!(now_ms(now));
        let e = tri!(entries(data, !replace));
        let n: usize = e
            .iter()
            .map(|(k, v)| v.as_ref().map_or(0, |v| k.len() + v.len()))
            .sum();
        if n > MAX_DATA {
            return Op::Ready(Err(too_big(n)));
        }
        if !is_id(id) {
            return Op::Ready(Ok(false));
        }
        self.backend.call(
            (self.ns.to_string(), id.to_string(), e),
            move |db, (ns, id, e)| sqlite::update(db, &ns, &id, &e, replace, now),
            move |r, c, (ns, id, e)| redis::update(r, c, ns, id, e, replace, now),
        )
    }

    /// Ends session `id`; true if it was live.
    pub fn destroy(&self, id: &str, now: Option<f64>) -> Op<bool> {
        let now = tri!(now_ms(now));
        if !is_id(id) {
            return Op::Ready(Ok(false));
        }
        self.backend.call(
            (self.ns.to_string(), id.to_string()),
            move |db, (ns, id)| sqlite::destroy(db, &ns, &id, now),
            move |r, c, (ns, id)| redis::destroy(r, c, ns, id, now),
        )
    }

    /// The live sessions of `user`, oldest first.
    pub fn for_user(&self, user: &str, now: Option<f64>) -> Op<Vec<Session>> {
        tri!(crate::ids::id("user id", user));
        let now = tri!(now_ms(now));
        self.backend
            .call(
                (self.ns.to_string(), user.to_string()),
                move |db, (ns, user)| sqlite::for_user(db, &ns, &user, now),
                move |r, c, (ns, user)| redis::for_user(r, c, ns, user, now),
            )
            .map(|mut v| {
                v.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
                v
            })
    }

    /// Ends every session of `user`; returns how many were live.
    pub fn destroy_user(&self, user: &str, now: Option<f64>) -> Op<u64> {
        tri!(crate::ids::id("user id", user));
        let now = tri!(now_ms(now));
        self.backend.call(
            (self.ns.to_string(), user.to_string()),
            move |db, (ns, user)| sqlite::destroy_user(db, &ns, &user, now),
            move |r, c, (ns, user)| redis::destroy_user(r, c, ns, user, now),
        )
    }
}
