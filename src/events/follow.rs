//! Following the event log: the state of a subscription (where it is, what it has read but
//! not handed out) and its policy for an unreachable store, shared by the blocking iterator
//! and the asyncio one so both behave the same.
//!
//! An unreachable store is handled by the one policy of every follower
//! (`crate::engine::outage`).

use std::collections::VecDeque;
use std::time::Duration;

use super::{Batch, Event, Events};
use crate::engine::outage::Outage;
use crate::engine::Op;
use crate::error::Result;

pub use crate::engine::outage::PAUSE as RECONNECT_PAUSE;

/// Events fetched per read.
pub const PAGE: usize = 256;

/// Where a subscription is.
#[derive(Debug, Clone)]
pub struct Follow {
    patterns: Vec<String>,
    /// None until started: the first read starts at the end of the log.
    cursor: Option<String>,
    buffer: VecDeque<Event>,
    last_id: Option<String>,
    closed: bool,
    outage: Outage,
}

/// What to do after a read.
#[derive(Debug, PartialEq, Eq)]
pub enum After {
    /// Read again (events may be buffered now).
    Go,
    /// The store is unreachable: pause [`RECONNECT_PAUSE`], then read again.
    Pause,
}

impl Follow {
    /// A subscription to `patterns` (already checked) after event `cursor` (None: from the end
    /// of the log when it starts).
    pub fn new(patterns: Vec<String>, cursor: Option<String>) -> Follow {
        Follow {
            patterns,
            cursor,
            buffer: VecDeque::new(),
            last_id: None,
            closed: false,
            outage: Outage::default(),
        }
    }

    /// Raises TimeoutError once the store has answered nothing for `interval` (see
    /// `crate::engine::outage`); without this, after the outage budget.
    pub fn with_ping_interval(mut self, interval: Duration) -> Follow {
        self.outage = Outage::with_ping_interval(interval);
        self
    }

    /// The patterns.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Id of the last event handed out.
    pub fn last_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// True once started (its cursor is set).
    pub fn started(&self) -> bool {
        self.cursor.is_some()
    }

    /// Sets the cursor of a subscription that starts at the end of the log.
    pub fn start_at(&mut self, last: String) {
        if self.cursor.is_none() {
            self.cursor = Some(last);
        }
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

    /// The next buffered event, if any (it becomes [`Follow::last_id`]).
    pub fn pop(&mut self) -> Option<Event> {
        let e = self.buffer.pop_front()?;
        self.last_id = Some(e.id.clone());
        Some(e)
    }

    /// True when nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.buffer.is_empty()
    }

    /// The read to make next, waiting up to `block` for the first event; the op that finds
    /// the end of the log for an unstarted subscription.
    pub fn read(&self, events: &Events, block: Duration) -> Op<Batch> {
        match &self.cursor {
            Some(c) => events.read(&self.patterns, Some(c), PAGE, block),
            None => events.start(&self.patterns).map(|cursor| Batch {
                events: Vec::new(),
                cursor,
            }),
        }
    }

    /// Takes a read's outcome: events are buffered and the cursor moves; an unreachable store
    /// within the budget asks for a pause and a retry from the same cursor; any other error,
    /// or an outage past the budget, is returned.
    pub fn absorb(&mut self, r: Result<Batch>) -> Result<After> {
        let Some(b) = self.outage.absorb(r)? else {
            return Ok(After::Pause);
        };
        self.cursor = Some(b.cursor);
        if !self.closed {
            self.buffer.extend(b.events);
        }
        Ok(After::Go)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ev(id: &str) -> Event {
        Event {
            id: id.into(),
            channel: "c".into(),
            data: serde_json::Value::Null,
            time: 0.0,
        }
    }

    #[test]
    fn buffers_moves_the_cursor_and_hands_out_in_order() {
        let mut f = Follow::new(vec!["*".into()], Some("0".into()));
        let b = Batch {
            events: vec![ev("1-0"), ev("2-0")],
            cursor: "2-0".into(),
        };
        assert_eq!(f.absorb(Ok(b)).unwrap(), After::Go);
        assert_eq!(f.pop().unwrap().id, "1-0");
        assert_eq!(f.last_id(), Some("1-0"));
        assert_eq!(f.pop().unwrap().id, "2-0");
        assert!(f.pop().is_none() && f.is_empty());
    }

    #[test]
    fn an_outage_pauses_and_other_errors_raise() {
        let mut f = Follow::new(vec![], Some("0".into()));
        let down = || Err(crate::error::Error::Connection("down".into()));
        assert_eq!(f.absorb(down()).unwrap(), After::Pause);
        assert!(f
            .absorb(Err(crate::error::Error::Validation("bad".into())))
            .is_err());
    }
}
