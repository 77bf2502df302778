//! Wake-ups on Redis: a writer PUBLISHes on a wake channel after it commits (from its Lua
//! script or pipeline); a reader that found nothing waits on a [`Ticket`] instead of polling.
//!
//! One pub/sub connection per hub, started on the first ticket, PSUBSCRIBEs to every wake
//! channel of the hub's namespace and fans messages out to in-process waiters through
//! `tokio::sync::watch` (one per topic). A ticket records the topic's sequence number when it
//! is taken, so a wake that lands between "take ticket", "read found nothing" and "wait" is
//! not lost. Pub/sub is best effort (a message sent while the listener reconnects is gone),
//! so waits are also bounded by a safety interval, after which the reader simply reads again.
//!
//! Channels are not keys: they need no hash tag, and a classic PUBLISH reaches every node of
//! a cluster, so listening on one node is enough.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::watch;

/// Longest a waiter sleeps without a wake while the listener is connected.
const SAFETY_POLL: Duration = Duration::from_millis(500);
/// Longest a waiter sleeps while the listener is reconnecting.
const DEGRADED_POLL: Duration = Duration::from_millis(50);

/// The wake channel of `topic` in namespace `ns` (what a writer PUBLISHes to).
pub fn channel(ns: &str, topic: &str) -> String {
    format!("zlw:{ns}:{topic}")
}

fn pattern(ns: &str) -> String {
    format!("zlw:{ns}:*")
}

/// The listener of one hub and the topics its waiters watch.
pub struct Wakeups {
    ns: String,
    clients: Vec<redis::Client>,
    topics: Mutex<HashMap<String, watch::Sender<u64>>>,
    /// Set once the listener task runs (it never stops before the process does).
    started: tokio::sync::OnceCell<()>,
    /// True while the pub/sub connection is subscribed.
    live: Arc<AtomicBool>,
}

/// A place in a topic's sequence of wakes; [`Ticket::wait`] returns at the next one.
pub struct Ticket {
    rx: watch::Receiver<u64>,
    live: Arc<AtomicBool>,
}

impl Ticket {
    /// Waits for a wake after the ticket was taken, at most `timeout` (and at most the safety
    /// interval). Returns true when woken, false on timeout; either way the caller reads again.
    pub async fn wait(&mut self, timeout: Duration) -> bool {
        self.wait_whole(timeout.min(SAFETY_POLL)).await
    }

    /// [`Ticket::wait`] for a caller whose `timeout` is its own safety net: the whole of it
    /// while the listener is subscribed (still the short interval while it reconnects).
    pub async fn wait_whole(&mut self, timeout: Duration) -> bool {
        let t = if self.live.load(Ordering::Acquire) {
            timeout
        } else {
            timeout.min(DEGRADED_POLL)
        };
        matches!(tokio::time::timeout(t, self.rx.changed()).await, Ok(Ok(())))
    }
}

impl Wakeups {
    /// Wake-ups for namespace `ns`, listening through the first of `clients` that answers.
    pub fn new(ns: &str, clients: Vec<redis::Client>) -> Wakeups {
        Wakeups {
            ns: ns.to_string(),
            clients,
            topics: Mutex::new(HashMap::new()),
            started: tokio::sync::OnceCell::new(),
            live: Arc::new(AtomicBool::new(false)),
        }
    }

    /// A ticket on `topic`. The first call starts the listener and waits (up to a second) for
    /// its subscription, so wakes published after this returns are seen.
    pub async fn ticket(self: &Arc<Self>, topic: &str) -> Ticket {
        self.start().await;
        let rx = {
            let mut topics = self.topics.lock();
            topics
                .entry(topic.to_string())
                .or_insert_with(|| watch::channel(0).0)
                .subscribe()
        };
        Ticket {
            rx,
            live: self.live.clone(),
        }
    }

    /// Wakes the in-process waiters of `topic` (what the listener does for a message; also
    /// used directly by writers in this process, which saves them the pub/sub hop).
    pub fn fire(&self, topic: &str) {
        if let Some(tx) = self.topics.lock().get(topic) {
            tx.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    fn fire_all(&self) {
        for tx in self.topics.lock().values() {
            tx.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    async fn start(self: &Arc<Self>) {
        self.started
            .get_or_init(|| async {
                let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
                let me = Arc::downgrade(self);
                tokio::spawn(listen(me, Some(ready_tx)));
                // Readers still work without the listener (they poll), so do not wait forever.
                let _ = tokio::time::timeout(Duration::from_secs(1), ready_rx).await;
            })
            .await;
    }
}

/// Keeps one subscription alive until the hub goes away, reconnecting with backoff.
async fn listen(me: std::sync::Weak<Wakeups>, mut ready: Option<tokio::sync::oneshot::Sender<()>>) {
    use futures_util::StreamExt;
    let mut delay = Duration::from_millis(20);
    let mut next = 0usize;
    loop {
        let Some(w) = me.upgrade() else { return };
        if w.clients.is_empty() {
            return;
        }
        let client = w.clients[next % w.clients.len()].clone();
        let pat = pattern(&w.ns);
        let prefix = format!("zlw:{}:", w.ns);
        let live = w.live.clone();
        drop(w);
        next += 1;
        let sub = async {
            let mut ps = client.get_async_pubsub().await?;
            ps.psubscribe(&pat).await?;
            Ok::<_, redis::RedisError>(ps)
        };
        let mut ps = match tokio::time::timeout(Duration::from_secs(2), sub).await {
            Ok(Ok(ps)) => ps,
            _ => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        delay = Duration::from_millis(20);
        live.store(true, Ordering::Release);
        if let Some(tx) = ready.take() {
            let _ = tx.send(());
        }
        // Whatever was published while we were away is lost: let every waiter read again.
        if let Some(w) = me.upgrade() {
            w.fire_all();
        }
        let mut stream = ps.on_message();
        loop {
            // Wake up now and then to notice that the hub was dropped.
            match tokio::time::timeout(Duration::from_secs(5), stream.next()).await {
                Ok(Some(msg)) => {
                    let Some(w) = me.upgrade() else { return };
                    if let Some(topic) = msg.get_channel_name().strip_prefix(&prefix) {
                        w.fire(topic);
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    if me.strong_count() == 0 {
                        return;
                    }
                }
            }
        }
        live.store(false, Ordering::Release);
    }
}
