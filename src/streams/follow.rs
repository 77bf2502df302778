//! Following one log (a conversation, a user's feed): where the follower is, what it has read
//! but not handed out, and the policy for an unreachable store (`crate::engine::outage`),
//! shared by the blocking iterator and the asyncio one so both behave the same.

use std::collections::VecDeque;
use std::time::Duration;

use super::{parse_id, Entry, Streams};
use crate::engine::outage::Outage;
use crate::engine::Op;
use crate::error::Result;

pub use crate::engine::outage::PAUSE as RECONNECT_PAUSE;

/// Entries fetched per read.
pub const PAGE: usize = 256;

/// Where a follower is.
#[derive(Debug, Clone)]
pub struct Follow {
    stream: String,
    /// None until started: the first read finds the end of the log.
    cursor: Option<String>,
    buffer: VecDeque<Entry>,
    last_id: Option<String>,
    closed: bool,
    outage: Outage,
}

/// What to do after a read.
#[derive(Debug, PartialEq, Eq)]
pub enum After {
    /// Read again (entries may be buffered now).
    Go,
    /// The store is unreachable: pause [`RECONNECT_PAUSE`], then read again.
    Pause,
}

/// What one read gives: the entries, or (for a follower not started yet) the end of the log.
#[derive(Debug)]
pub enum Read {
    /// Entries after the cursor.
    Entries(Vec<Entry>),
    /// The id of the newest entry: where a follower "from now" starts.
    Start(String),
}

impl Follow {
    /// A follower of `stream` (already checked) after the id `after` (checked here; None:
    /// from the end of the log when it starts).
    pub fn new(stream: &str, after: Option<String>, ping: Duration) -> Result<Follow> {
        if let Some(a) = &after {
            parse_id(a)?;
        }
        Ok(Follow {
            stream: stream.to_string(),
            cursor: after,
            buffer: VecDeque::new(),
            last_id: None,
            closed: false,
            outage: Outage::with_ping_interval(ping),
        })
    }

    /// The log followed.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// Id of the last entry handed out.
    pub fn last_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// True after [`Follow::close`].
    pub fn closed(&self) -> bool {
        self.closed
    }

    /// Stops: later reads hand out nothing.
    pub fn close(&mut self) {
        self.closed = true;
        self.buffer.clear();
    }

    /// True once it knows where it reads from.
    pub fn started(&self) -> bool {
        self.cursor.is_some()
    }

    /// The next buffered entry, if any (it becomes [`Follow::last_id`]).
    pub fn pop(&mut self) -> Option<Entry> {
        let e = self.buffer.pop_front()?;
        self.last_id = Some(e.id.clone());
        Some(e)
    }

    /// True when nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.buffer.is_empty()
    }

    /// The read to make next, waiting up to `block` for the first entry (a follower not
    /// started yet reads the end of the log first, without waiting).
    pub fn read(&self, logs: &Streams, block: Duration) -> Op<Read> {
        match &self.cursor {
            Some(c) => logs
                .range(&self.stream, Some(c), None, PAGE, block)
                .map(Read::Entries),
            None => logs.last_id(&self.stream).map(Read::Start),
        }
    }

    /// Takes a read's outcome: entries are buffered and the cursor moves; an unreachable
    /// store within the budget asks for a pause and a retry from the same cursor; any other
    /// error, or an outage past the budget, is returned.
    pub fn absorb(&mut self, r: Result<Read>) -> Result<After> {
        let Some(read) = self.outage.absorb(r)? else {
            return Ok(After::Pause);
        };
        match read {
            Read::Start(id) => {
                if self.cursor.is_none() {
                    self.cursor = Some(id);
                }
            }
            Read::Entries(es) => {
                if let Some(last) = es.last() {
                    self.cursor = Some(last.id.clone());
                }
                if !self.closed {
                    self.buffer.extend(es);
                }
            }
        }
        Ok(After::Go)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn e(id: &str) -> Entry {
        Entry {
            id: id.into(),
            stream: "c".into(),
            kind: "user".into(),
            body: "hi".into(),
            meta: None,
        }
    }

    #[test]
    fn starts_at_the_end_then_buffers_in_order() {
        let mut f = Follow::new("c", None, Duration::from_secs(60)).unwrap();
        assert!(!f.started());
        assert_eq!(f.absorb(Ok(Read::Start("5-0".into()))).unwrap(), After::Go);
        assert!(f.started());
        let got = Read::Entries(vec![e("6-0"), e("6-1")]);
        assert_eq!(f.absorb(Ok(got)).unwrap(), After::Go);
        assert_eq!(f.pop().unwrap().id, "6-0");
        assert_eq!(f.last_id(), Some("6-0"));
        assert_eq!(f.pop().unwrap().id, "6-1");
        assert!(f.pop().is_none() && f.is_empty());
        assert!(Follow::new("c", Some("x".into()), Duration::from_secs(1)).is_err());
    }

    #[test]
    fn an_outage_pauses_and_other_errors_raise() {
        let mut f = Follow::new("c", Some("0".into()), Duration::from_secs(60)).unwrap();
        let down = || Err(crate::error::Error::Connection("down".into()));
        assert_eq!(f.absorb(down()).unwrap(), After::Pause);
        assert!(f
            .absorb(Err(crate::error::Error::Validation("bad".into())))
            .is_err());
    }
}
