//! `hub.chat` and `hub.activity`: capped, followable logs, one per conversation (chat) or per
//! user (activity feed). Each entry has an id that orders it in its log (`<ms>-<seq>`, a Redis
//! stream id on Redis and the same scheme on the embedded store), a kind (a chat message's
//! role, an activity item's type), a body (the message text, the item's JSON data) and, for
//! chat, optional JSON metadata. A log keeps its newest `max_len` entries (1,000 by default);
//! a follower reads after the last id it saw and, at the end, waits for a wake-up (pub/sub on
//! Redis, a commit watch on SQLite) rather than polling.
//!
//! One engine, two capabilities: chat and activity are the same behaviour with other words,
//! so one module implements both and each is its own registry row ([`CHAT`], [`ACTIVITY`])
//! with its own tables, Redis tag (so the two spread over cluster slots), wake topic (a chat
//! follower is not woken by activity writes), counts in `health()` and records in exports.

pub mod dump;
pub mod follow;
pub mod redis;
pub mod sqlite;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;

use crate::engine::{tri, Backend, Capability, Migration, Op, Topic};
use crate::error::{Error, Result};
use crate::ids;

/// What tells the two logs apart: names, words in messages, fields, tables.
#[derive(Debug)]
pub struct Kind {
    /// The capability's name (`hub.<name>`), Redis tag and export label.
    pub name: &'static str,
    /// What one log is for ("conversation", "user"): the argument's name in errors.
    pub stream_word: &'static str,
    /// What an entry's kind is called ("role", "kind").
    pub kind_word: &'static str,
    /// What an entry's body is called ("content", "data").
    pub body_word: &'static str,
    /// True when the body is JSON text (activity data); false for plain text (chat content).
    pub body_json: bool,
    /// True when entries carry metadata (chat).
    pub has_meta: bool,
    /// Redis stream field names: kind, body, and (chat) meta.
    pub fields: &'static [&'static str],
    /// Redis key of one log: `<prefix><key><stream id>`.
    pub key: &'static str,
    /// The embedded store's tables: entries, and one row per log.
    pub table: &'static str,
    /// See [`Kind::table`].
    pub logs_table: &'static str,
    /// The embedded store's wake topic.
    pub topic: Topic,
    /// Checks an entry's kind.
    pub check_kind: fn(&str) -> Result<()>,
}

/// Index of chat in [`KINDS`].
pub const CHAT_KIND: usize = 0;
/// Index of activity in [`KINDS`].
pub const ACTIVITY_KIND: usize = 1;

/// The roles a chat message may have (those of the common chat-completion APIs).
pub const ROLES: &[&str] = &[
    "system",
    "developer",
    "user",
    "assistant",
    "tool",
    "function",
];

fn check_role(role: &str) -> Result<()> {
    if ROLES.contains(&role) {
        Ok(())
    } else {
        Err(Error::validation(format!(
            "role {role:?} is not one of {}",
            ROLES.join(", ")
        )))
    }
}

fn check_activity_kind(kind: &str) -> Result<()> {
    ids::id("activity kind", kind).map(|_| ())
}

/// The embedded store's wake topic of chat.
pub const CHAT_TOPIC: Topic = Topic("chat");
/// The embedded store's wake topic of activity.
pub const ACTIVITY_TOPIC: Topic = Topic("activity");

/// Chat and activity, by index.
pub static KINDS: [Kind; 2] = [
    Kind {
        name: "chat",
        stream_word: "conversation",
        kind_word: "role",
        body_word: "content",
        body_json: false,
        has_meta: true,
        fields: &["role", "content", "meta"],
        key: "c:",
        table: "chat",
        logs_table: "chat_logs",
        topic: CHAT_TOPIC,
        check_kind: check_role,
    },
    Kind {
        name: "activity",
        stream_word: "user",
        kind_word: "kind",
        body_word: "data",
        body_json: true,
        has_meta: false,
        fields: &["kind", "data"],
        key: "u:",
        table: "activity",
        logs_table: "activity_logs",
        topic: ACTIVITY_TOPIC,
        check_kind: check_activity_kind,
    },
];

/// `hub.chat`'s row in the registry (`crate::registry`).
pub const CHAT: Capability = Capability {
    name: "chat",
    migrations: &[Migration {
        version: 19,
        sql: sqlite::CHAT_SCHEMA,
    }],
    rows: sqlite::rows::<CHAT_KIND>,
    clear: sqlite::clear::<CHAT_KIND>,
    topic: Some(CHAT_TOPIC),
    tag: "chat",
    partitioned: false,
    changes: false,
    sweep: None,
    export: dump::export::<CHAT_KIND>,
    import: dump::import::<CHAT_KIND>,
};

/// `hub.activity`'s row in the registry (`crate::registry`).
pub const ACTIVITY: Capability = Capability {
    name: "activity",
    migrations: &[Migration {
        version: 20,
        sql: sqlite::ACTIVITY_SCHEMA,
    }],
    rows: sqlite::rows::<ACTIVITY_KIND>,
    clear: sqlite::clear::<ACTIVITY_KIND>,
    topic: Some(ACTIVITY_TOPIC),
    tag: "activity",
    partitioned: false,
    changes: false,
    sweep: None,
    export: dump::export::<ACTIVITY_KIND>,
    import: dump::import::<ACTIVITY_KIND>,
};

/// Entries a log keeps unless configured otherwise.
pub const DEFAULT_MAX_LEN: u64 = 1000;
/// Most entries a log may be configured to keep.
pub const MAX_MAX_LEN: u64 = 1_000_000;
/// Largest entry (body plus metadata, in bytes) unless configured otherwise: 1 MiB.
pub const DEFAULT_MAX_SIZE: usize = 1 << 20;
/// Largest entry a handle may be configured for: 16 MiB.
pub const MAX_SIZE_LIMIT: usize = 16 << 20;
/// Most entries one append or one read takes or returns.
pub const MAX_BATCH: usize = 10_000;

/// One stored entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Position in its log (`<ms>-<seq>`); pass it as `after` to read on from it.
    pub id: String,
    /// The log (conversation or user).
    pub stream: String,
    /// Role (chat) or kind (activity).
    pub kind: String,
    /// The message text (chat) or the data as JSON text (activity).
    pub body: String,
    /// Metadata as JSON text (chat), if any.
    pub meta: Option<String>,
}

impl Entry {
    /// When it was appended, in seconds since the epoch (the milliseconds of its id).
    pub fn time(&self) -> f64 {
        parse_id(&self.id).map_or(0.0, |(ms, _)| ms as f64 / 1e3)
    }
}

/// One entry to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    /// Role (chat) or kind (activity).
    pub kind: String,
    /// The message text (chat) or the data as JSON text (activity).
    pub body: String,
    /// Metadata as JSON text (chat), if any.
    pub meta: Option<String>,
}

/// An entry as an import writes it: its log, the two parts of its id, kind, body, meta.
pub type Restored = (String, u64, u64, String, String, Option<String>);

/// A handle's limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Entries a log keeps: each append trims the log to its newest `max_len`.
    pub max_len: u64,
    /// Largest entry: body plus metadata, in bytes.
    pub max_size: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_len: DEFAULT_MAX_LEN,
            max_size: DEFAULT_MAX_SIZE,
        }
    }
}

/// An entry id: `<ms>-<seq>`, or `<ms>` (read as `<ms>-0`); "0" is the start of a log.
pub fn parse_id(id: &str) -> Result<(u64, u64)> {
    let bad = || {
        Error::validation(format!(
            "id {id:?} is not of the form <ms>-<seq>; pass an id an entry carried, or \"0\" for \
             the start of the log"
        ))
    };
    let (ms, seq) = match id.split_once('-') {
        Some((a, b)) => (a, Some(b)),
        None => (id, None),
    };
    let ms: u64 = ms.parse().map_err(|_| bad())?;
    let seq: u64 = match seq {
        Some(s) => s.parse().map_err(|_| bad())?,
        None => 0,
    };
    if ms > i64::MAX as u64 || seq > i64::MAX as u64 {
        return Err(bad());
    }
    Ok((ms, seq))
}

/// The id text of `(ms, seq)`.
pub fn id_text(ms: u64, seq: u64) -> String {
    format!("{ms}-{seq}")
}

/// The first id of a log created now (`now_us`: microseconds since the epoch): one
/// millisecond ahead, with the sequence taken from the microsecond, so it is above any id a
/// follower may still hold from before a `clear` of the log, even one made in the same
/// millisecond (Redis: `lua/common.lua` does the same with the server's clock).
pub fn first_id(now_us: u64) -> (u64, u64) {
    (now_us / 1000 + 1, (now_us % 1000) * 1000 + 1)
}

fn check_n(what: &str, n: usize) -> Result<()> {
    if n == 0 || n > MAX_BATCH {
        return Err(Error::validation(format!(
            "{what} must be 1 to {MAX_BATCH}, got {n}"
        )));
    }
    Ok(())
}

/// The logs of one kind (chat or activity) in one namespace.
#[derive(Clone)]
pub struct Streams {
    backend: Backend,
    ns: Arc<str>,
    kind: &'static Kind,
    settings: Arc<RwLock<Settings>>,
}

impl Streams {
    /// The chat logs of `ns` on `backend`.
    pub fn chat(backend: Backend, ns: Arc<str>) -> Streams {
        Streams::new(backend, ns, &KINDS[CHAT_KIND])
    }

    /// The activity feeds of `ns` on `backend`.
    pub fn activity(backend: Backend, ns: Arc<str>) -> Streams {
        Streams::new(backend, ns, &KINDS[ACTIVITY_KIND])
    }

    fn new(backend: Backend, ns: Arc<str>, kind: &'static Kind) -> Streams {
        Streams {
            backend,
            ns,
            kind,
            settings: Arc::new(RwLock::new(Settings::default())),
        }
    }

    /// Which kind of log this is.
    pub fn kind(&self) -> &'static Kind {
        self.kind
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.ns
    }

    fn ns(&self) -> String {
        self.ns.to_string()
    }

    /// This handle's limits.
    pub fn settings(&self) -> Settings {
        *self.settings.read()
    }

    /// Sets this handle's limits (None: unchanged); returns those in force. Takes effect at
    /// once, for this process's handle only (each append trims with its caller's `max_len`).
    pub fn configure(&self, max_len: Option<u64>, max_size: Option<usize>) -> Result<Settings> {
        if let Some(n) = max_len {
            if n == 0 || n > MAX_MAX_LEN {
                return Err(Error::validation(format!(
                    "max_len must be 1 to {MAX_MAX_LEN}, got {n}"
                )));
            }
        }
        if let Some(s) = max_size {
            if s == 0 || s > MAX_SIZE_LIMIT {
                return Err(Error::validation(format!(
                    "max_size must be 1 to {MAX_SIZE_LIMIT} bytes, got {s}"
                )));
            }
        }
        let mut st = self.settings.write();
        if let Some(n) = max_len {
            st.max_len = n;
        }
        if let Some(s) = max_size {
            st.max_size = s;
        }
        Ok(*st)
    }

    /// Checks a log's name (a conversation or user id).
    pub fn check_stream(&self, stream: &str) -> Result<()> {
        ids::id(self.kind.stream_word, stream).map(|_| ())
    }

    /// Checks an entry against the kind's rules and the handle's size limit.
    pub fn check_entry(&self, e: &NewEntry) -> Result<()> {
        (self.kind.check_kind)(&e.kind)?;
        self.check_size(e)
    }

    /// Checks an entry's size (body plus metadata) against the handle's limit.
    pub fn check_size(&self, e: &NewEntry) -> Result<()> {
        let size = e.body.len() + e.meta.as_ref().map_or(0, String::len);
        let max = self.settings().max_size;
        if size > max {
            return Err(Error::validation(format!(
                "the {} is {size} bytes{}; the limit is {max} ({}.configure(max_size=...))",
                self.kind.body_word,
                if self.kind.has_meta {
                    " with its meta"
                } else {
                    ""
                },
                self.kind.name
            )));
        }
        Ok(())
    }

    /// The checks of an append: the log's id, the batch's size, then every entry (so one
    /// invalid entry appends none).
    fn check_append(&self, stream: &str, entries: &[NewEntry]) -> Result<()> {
        self.check_stream(stream)?;
        check_n("entries per append", entries.len())?;
        entries.iter().try_for_each(|e| self.check_entry(e))
    }

    /// Appends entries to the log `stream` in the order given (increasing ids), trims it to
    /// the newest `max_len` and wakes its followers, in one transaction or script; returns
    /// the ids. All are checked first: one invalid entry appends none.
    pub fn append(&self, stream: &str, entries: Vec<NewEntry>) -> Op<Vec<String>> {
        if entries.is_empty() {
            tri!(self.check_stream(stream));
            return Op::Ready(Ok(vec![]));
        }
        tri!(self.check_append(stream, &entries));
        let kind = self.kind;
        let max_len = self.settings().max_len;
        let now_us = crate::clock::now_us();
        self.backend.call(
            (self.ns(), stream.to_string(), entries),
            move |db, (ns, s, es)| sqlite::append(db, kind, &ns, &s, &es, max_len, now_us),
            move |r, c, (ns, s, es)| redis::append(r, c, kind, ns, s, es, max_len),
        )
    }

    /// [`Streams::append`], then the newest `n` entries of `stream` (the new ones among
    /// them), in one round trip on Redis and one transaction on the embedded store: what a
    /// chat turn needs to build its prompt. On Redis the read follows the append in a
    /// pipeline, so an append by another client in between is among the entries.
    pub fn append_recent(
        &self,
        stream: &str,
        entries: Vec<NewEntry>,
        n: usize,
    ) -> Op<(Vec<String>, Vec<Entry>)> {
        tri!(self.check_stream(stream));
        tri!(check_n("n", n));
        if entries.is_empty() {
            return Op::Ready(Err(Error::validation(
                "append_recent needs an entry to append",
            )));
        }
        tri!(self.check_append(stream, &entries));
        let kind = self.kind;
        let max_len = self.settings().max_len;
        let now_us = crate::clock::now_us();
        self.backend.call(
            (self.ns(), stream.to_string(), entries),
            move |db, (ns, s, es)| {
                sqlite::append_recent(db, kind, &ns, &s, &es, max_len, now_us, n)
            },
            move |r, c, (ns, s, es)| redis::append_recent(r, c, kind, ns, s, es, max_len, n),
        )
    }

    /// The newest `n` entries of `stream`, oldest first.
    pub fn recent(&self, stream: &str, n: usize) -> Op<Vec<Entry>> {
        tri!(self.check_stream(stream));
        tri!(check_n("n", n));
        let kind = self.kind;
        self.backend.call(
            (self.ns(), stream.to_string()),
            move |db, (ns, s)| sqlite::recent(db, kind, &ns, &s, n),
            move |r, c, (ns, s)| redis::recent(r, c, kind, ns, s, n),
        )
    }

    /// Entries of `stream` after id `after` (None: from the oldest) and before id `before`
    /// (None: to the newest), both exclusive, oldest first, at most `limit`; with
    /// `block` > 0, waits up to `block` for the first one when there is none yet.
    pub fn range(
        &self,
        stream: &str,
        after: Option<&str>,
        before: Option<&str>,
        limit: usize,
        block: Duration,
    ) -> Op<Vec<Entry>> {
        tri!(self.check_stream(stream));
        tri!(check_n("limit", limit));
        let after = tri!(after.map(parse_id).transpose()).unwrap_or((0, 0));
        let before = tri!(before.map(parse_id).transpose());
        let kind = self.kind;
        self.backend.call(
            (self.ns(), stream.to_string()),
            move |db, (ns, s)| sqlite::range(db, kind, &ns, &s, after, before, limit, block),
            move |r, c, (ns, s)| redis::range(r, c, kind, ns, s, after, before, limit, block),
        )
    }

    /// Id of the newest entry of `stream` ("0-0" when it has none): where "from now" starts.
    pub fn last_id(&self, stream: &str) -> Op<String> {
        tri!(self.check_stream(stream));
        let kind = self.kind;
        self.backend.call(
            (self.ns(), stream.to_string()),
            move |db, (ns, s)| sqlite::last_id(db, kind, &ns, &s),
            move |r, c, (ns, s)| redis::last_id(r, c, kind, ns, s),
        )
    }

    /// Entries `stream` holds now.
    pub fn count(&self, stream: &str) -> Op<u64> {
        tri!(self.check_stream(stream));
        let kind = self.kind;
        self.backend.call(
            (self.ns(), stream.to_string()),
            move |db, (ns, s)| sqlite::count(db, kind, &ns, &s),
            move |r, c, (ns, s)| redis::count(r, c, kind, ns, s),
        )
    }

    /// Deletes the log `stream`; returns how many entries went. Ids keep growing: entries
    /// appended later have ids above any id the log had.
    pub fn clear(&self, stream: &str) -> Op<u64> {
        tri!(self.check_stream(stream));
        let kind = self.kind;
        self.backend.call(
            (self.ns(), stream.to_string()),
            move |db, (ns, s)| sqlite::clear_stream(db, kind, &ns, &s),
            move |r, c, (ns, s)| redis::clear_stream(r, c, kind, ns, s),
        )
    }
}
