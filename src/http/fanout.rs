//! The realtime fan-out: ONE follower of the event log per set of channel patterns, shared by
//! every client that asked for that set, handing each event to each client as a ready-made
//! SSE frame (built once, shared as `Bytes`).
//!
//! Each client has a bounded buffer. The follower never waits for a client: a client whose
//! buffer is full is dropped (its buffer freed, its connection closed), so a client that stops
//! reading cannot make the server's memory grow. The follower reads the log with the events
//! capability's own follow machinery (`crate::events::follow`: cursor, paging, the outage
//! policy); it starts when the first client of its pattern set arrives and stops once the last
//! one has gone.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::{mpsc, Notify, Semaphore};
use tokio::time::Instant;

use super::frames;
use crate::events::follow::{After, Follow, RECONNECT_PAUSE};
use crate::hub::Hub;

/// Longest one read of a follower waits (how soon it notices its last client left).
const SLICE: Duration = Duration::from_secs(1);

/// How the fan-out treats its clients.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Interval of the `: ping` keep-alive comments.
    pub ping: Duration,
    /// Frames a client may have waiting before it is dropped as too slow.
    pub buffer: usize,
    /// Most clients at once (beyond: refused, 503).
    pub max_clients: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            ping: Duration::from_secs(15),
            buffer: 1024,
            max_clients: 1000,
        }
    }
}

/// One frame for a client: the id of the event it carries (None: a ping) and its bytes.
#[derive(Clone)]
pub struct Frame {
    /// The event id as `(ms, seq)`, for skipping what a resuming client already got.
    pub id: Option<(u64, u64)>,
    /// The SSE text.
    pub bytes: Bytes,
}

/// A client as its follower sees it.
struct Member {
    tx: mpsc::Sender<Frame>,
    dropped: Arc<AtomicBool>,
    /// Closes the client's connection (the Rust server's); None for the ASGI app, whose
    /// stream ends when it finds `dropped` set.
    kill: Option<Arc<Notify>>,
}

#[derive(Default)]
struct Members {
    list: Vec<Member>,
    /// Set (under the fan-out's map lock) when the follower has stopped: a new client must
    /// start a new one.
    closed: bool,
}

struct Topic {
    members: Mutex<Members>,
}

/// What a client holds of its registration.
pub struct Joined {
    /// Its frames from the follower.
    pub rx: mpsc::Receiver<Frame>,
    /// Set when it was dropped as too slow.
    pub dropped: Arc<AtomicBool>,
}

/// Counters of a fan-out (`Server.stats()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Clients connected now.
    pub clients: u64,
    /// Followers of the event log running now (one per pattern set in use).
    pub subscriptions: u64,
    /// Clients dropped as too slow since the start.
    pub dropped: u64,
}

/// The fan-out of one service (the Rust server, or one ASGI app).
pub struct Fanout {
    hub: Arc<Hub>,
    limits: Limits,
    topics: Mutex<HashMap<Vec<String>, Arc<Topic>>>,
    slots: Arc<Semaphore>,
    dropped: AtomicU64,
    stopped: AtomicBool,
}

impl Fanout {
    /// A fan-out over the events of `hub`.
    pub fn new(hub: Arc<Hub>, limits: Limits) -> Arc<Fanout> {
        Arc::new(Fanout {
            hub,
            slots: Arc::new(Semaphore::new(limits.max_clients)),
            limits,
            topics: Mutex::new(HashMap::new()),
            dropped: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
        })
    }

    /// The hub.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// The limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// A client slot, or None when `max_clients` are connected (held until the client goes).
    pub fn slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.slots.clone().try_acquire_owned().ok()
    }

    /// Adds a client to the follower of `patterns` (checked, sorted, deduplicated), starting
    /// one at `start` (the log's end when the client arrived) if none runs.
    pub fn join(
        self: &Arc<Self>,
        patterns: Vec<String>,
        start: String,
        kill: Option<Arc<Notify>>,
    ) -> Joined {
        let (tx, rx) = mpsc::channel(self.limits.buffer.max(1));
        let dropped = Arc::new(AtomicBool::new(false));
        let member = Member {
            tx,
            dropped: dropped.clone(),
            kill,
        };
        let mut topics = self.topics.lock();
        let topic = match topics.get(&patterns) {
            Some(t) if !t.members.lock().closed => t.clone(),
            _ => {
                let t = Arc::new(Topic {
                    members: Mutex::new(Members::default()),
                });
                topics.insert(patterns.clone(), t.clone());
                let me = self.clone();
                let (pats, topic) = (patterns.clone(), t.clone());
                crate::engine::runtime().spawn(async move { me.follow(pats, topic, start).await });
                t
            }
        };
        topic.members.lock().list.push(member);
        Joined { rx, dropped }
    }

    /// Hands `frame` to every member of `topic`; drops those whose buffer is full and forgets
    /// those that went away.
    fn send(&self, topic: &Topic, frame: &Frame) {
        topic
            .members
            .lock()
            .list
            .retain(|m| match m.tx.try_send(frame.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Closed(_)) => false,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    m.dropped.store(true, Ordering::Release);
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    if let Some(k) = &m.kill {
                        k.notify_one();
                    }
                    false
                }
            });
    }

    /// Stops the follower of `patterns` if it has no member left (or the fan-out stopped);
    /// true when it stopped.
    fn retire(&self, patterns: &[String], topic: &Arc<Topic>) -> bool {
        let mut topics = self.topics.lock();
        let mut members = topic.members.lock();
        members.list.retain(|m| !m.tx.is_closed());
        if !members.list.is_empty() && !self.stopped.load(Ordering::Acquire) {
            return false;
        }
        members.closed = true;
        members.list.clear();
        if topics.get(patterns).is_some_and(|t| Arc::ptr_eq(t, topic)) {
            topics.remove(patterns);
        }
        true
    }

    async fn follow(self: Arc<Self>, patterns: Vec<String>, topic: Arc<Topic>, start: String) {
        let ping_frame = Frame {
            id: None,
            bytes: Bytes::from_static(frames::PING),
        };
        let mut f = Follow::new(patterns.clone(), Some(start))
            .with_ping_interval(self.hub.backend().ping_interval());
        let mut next_ping = Instant::now() + self.limits.ping;
        loop {
            while let Some(e) = f.pop() {
                self.send(&topic, &frames::event(&e));
            }
            if self.retire(&patterns, &topic) {
                return;
            }
            let now = Instant::now();
            if now >= next_ping {
                self.send(&topic, &ping_frame);
                next_ping = now + self.limits.ping;
            }
            if self.hub.check().is_err() {
                self.stop_topic(&patterns, &topic);
                return;
            }
            let block = SLICE.min(next_ping.saturating_duration_since(now));
            let r = f.read(&self.hub.events, block).run().await;
            match f.absorb(r) {
                Ok(After::Go) => {}
                Ok(After::Pause) => tokio::time::sleep(RECONNECT_PAUSE).await,
                // The store is gone for good (or the hub closed): end every stream; clients
                // reconnect and resume from their last event id.
                Err(_) => {
                    self.stop_topic(&patterns, &topic);
                    return;
                }
            }
        }
    }

    fn stop_topic(&self, patterns: &[String], topic: &Arc<Topic>) {
        let mut topics = self.topics.lock();
        let mut members = topic.members.lock();
        members.closed = true;
        members.list.clear();
        if topics.get(patterns).is_some_and(|t| Arc::ptr_eq(t, topic)) {
            topics.remove(patterns);
        }
    }

    /// Ends every stream and stops the followers (at their next read).
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        let topics: Vec<_> = self.topics.lock().drain().collect();
        for (_, t) in topics {
            let mut m = t.members.lock();
            m.closed = true;
            m.list.clear();
        }
    }

    /// True after [`Fanout::stop`].
    pub fn stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Clients, followers and drops.
    pub fn stats(&self) -> Stats {
        Stats {
            clients: (self.limits.max_clients - self.slots.available_permits()) as u64,
            subscriptions: self.topics.lock().len() as u64,
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::atomic::Ordering;
    use std::sync::Arc;
    use std::time::Duration;

    use serde_json::json;

    use super::{Fanout, Limits};
    use crate::engine::runtime;
    use crate::hub::Hub;
    use crate::testkit::TestHub;

    fn hub() -> (TestHub, Arc<Hub>) {
        let t = TestHub::embedded();
        let h = Arc::new(
            Hub::open_blocking(None, t.root().to_path_buf(), t.namespace().to_string()).unwrap(),
        );
        (t, h)
    }

    #[test]
    fn one_follower_per_pattern_set_and_full_buffers_are_dropped() {
        let (_t, h) = hub();
        let limits = Limits {
            ping: Duration::from_secs(60),
            buffer: 2,
            max_clients: 10,
        };
        let f = Fanout::new(h.clone(), limits);
        let start = h.events.last_id().wait().unwrap();
        let _g = runtime().enter();
        let mut fast = f.join(vec!["a".into()], start.clone(), None);
        let slow = f.join(vec!["a".into()], start, None);
        assert_eq!(f.stats().subscriptions, 1);
        let kept = runtime().block_on(async {
            let mut kept = 0;
            for i in 0..5 {
                h.events.publish("a", json!(i)).wait().unwrap();
                let fr = tokio::time::timeout(Duration::from_secs(30), fast.rx.recv()).await;
                assert!(fr.unwrap().unwrap().id.is_some());
                kept += 1;
            }
            kept
        });
        assert_eq!(kept, 5);
        // The client that read nothing had room for two frames: dropped at the third.
        assert!(slow.dropped.load(Ordering::Acquire));
        assert!(!fast.dropped.load(Ordering::Acquire));
        assert_eq!(f.stats().dropped, 1);
        f.stop();
        assert_eq!(f.stats().subscriptions, 0);
    }
}
