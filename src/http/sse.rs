//! One client of `/realtime`: its stream of frames, the same for the Rust server and the ASGI
//! app. It starts with the preamble, then (resuming after an event id) the trimmed notice if
//! the log lost something after that id, the events the log holds after it (read page by
//! page as the client takes them), then the live frames of its pattern set's follower,
//! skipping those the catch-up already gave.
//!
//! It joins the follower *before* reading the log, so nothing published in between falls in
//! the gap: what the follower hands out that the catch-up also read is skipped by id.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{Notify, OwnedSemaphorePermit};

use super::fanout::{Fanout, Frame, Joined};
use super::frames;
use crate::error::{Error, Result};
use crate::events::{self, follow::PAGE, parse_id};

/// Browsers' reconnection delay sent in the preamble.
pub const RETRY_MS: u64 = 1000;

/// Why a client was not let in (beyond a bad request, which is `Error::Validation`).
#[derive(Debug)]
pub enum Refused {
    /// Bad patterns or id (400).
    Bad(Error),
    /// `max_clients` are connected (503).
    Busy,
    /// The store failed (503) or the service is stopping.
    Store(Error),
}

/// The checked, sorted, deduplicated patterns of a request (none: every channel).
pub fn patterns(raw: &[String]) -> Result<Vec<String>> {
    let mut out = raw
        .iter()
        .map(|p| events::pattern(p))
        .collect::<Result<Vec<_>>>()?;
    out.sort();
    out.dedup();
    if out.iter().any(|p| p == "*") {
        out = vec!["*".to_string()];
    }
    Ok(out)
}

/// A connected client.
pub struct Client {
    fanout: Arc<Fanout>,
    patterns: Vec<String>,
    head: VecDeque<Bytes>,
    /// Cursor of the catch-up read while it lasts.
    catching_up: Option<String>,
    /// Id of the last event handed out by the catch-up.
    last: Option<(u64, u64)>,
    joined: Joined,
    _slot: OwnedSemaphorePermit,
}

impl Client {
    /// Lets a client in for `patterns` (raw), resuming after `after` (None: from now).
    pub async fn connect(
        fanout: &Arc<Fanout>,
        raw: &[String],
        after: Option<String>,
        kill: Option<Arc<Notify>>,
    ) -> std::result::Result<Client, Refused> {
        let pats = patterns(raw).map_err(Refused::Bad)?;
        if let Some(a) = &after {
            parse_id(a).map_err(Refused::Bad)?;
        }
        if fanout.stopped() {
            return Err(Refused::Store(Error::Closed));
        }
        let slot = fanout.slot().ok_or(Refused::Busy)?;
        let hub = fanout.hub().clone();
        hub.check().map_err(Refused::Store)?;
        let mut head = VecDeque::from([frames::preamble(RETRY_MS)]);
        if let Some(a) = &after {
            if let Some(oldest) = hub.events.gap(a).run().await.map_err(Refused::Store)? {
                head.push_back(frames::trimmed(a, &oldest));
            }
        }
        // "0-0" from an empty log is fine: the follower reads from the start.
        let stored: Vec<String> = if pats == ["*"] { vec![] } else { pats.clone() };
        let start = hub
            .events
            .start(&stored)
            .run()
            .await
            .map_err(Refused::Store)?;
        let joined = fanout.join(stored.clone(), start, kill);
        Ok(Client {
            fanout: fanout.clone(),
            patterns: stored,
            head,
            catching_up: after,
            last: None,
            joined,
            _slot: slot,
        })
    }

    /// The next frame; None when the stream is over (dropped as too slow, the service
    /// stopped, or the store failed for good: the client reconnects and resumes).
    pub async fn next(&mut self) -> Option<Bytes> {
        loop {
            if self.joined.dropped.load(Ordering::Acquire) {
                return None;
            }
            if let Some(b) = self.head.pop_front() {
                return Some(b);
            }
            // Cloned, not taken: a cancelled read (the ASGI task went away) leaves it in place.
            if let Some(cursor) = self.catching_up.clone() {
                let r = self
                    .fanout
                    .hub()
                    .events
                    .read(&self.patterns, Some(&cursor), PAGE, Duration::ZERO)
                    .run()
                    .await;
                let Ok(batch) = r else { return None };
                if batch.events.is_empty() && batch.cursor == cursor {
                    self.catching_up = None; // caught up: live from here
                    continue;
                }
                for e in &batch.events {
                    let f = frames::event(e);
                    self.last = f.id.or(self.last);
                    self.head.push_back(f.bytes);
                }
                self.catching_up = Some(batch.cursor);
                continue;
            }
            let f = self.joined.rx.recv().await?;
            if self.fresh(&f) {
                return Some(f.bytes);
            }
        }
    }

    /// The next frame if one is ready now (never waits, never reads the store).
    pub fn try_next(&mut self) -> Option<Bytes> {
        if self.dropped() {
            return None;
        }
        if let Some(b) = self.head.pop_front() {
            return Some(b);
        }
        if self.catching_up.is_some() {
            return None;
        }
        loop {
            let f = self.joined.rx.try_recv().ok()?;
            if self.fresh(&f) {
                return Some(f.bytes);
            }
        }
    }

    /// False for a live frame the catch-up already handed out.
    fn fresh(&self, f: &Frame) -> bool {
        !matches!((f.id, self.last), (Some(id), Some(last)) if id <= last)
    }

    /// The flag set when it is dropped as too slow (readable while `next` waits).
    pub fn dropped_flag(&self) -> Arc<std::sync::atomic::AtomicBool> {
        self.joined.dropped.clone()
    }

    /// True when it was dropped as too slow.
    pub fn dropped(&self) -> bool {
        self.joined.dropped.load(Ordering::Acquire)
    }
}
