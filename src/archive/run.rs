//! The archiver loop.
//!
//! One task on the package's tokio runtime per attached archive: it takes (and keeps
//! renewing) the namespace's lease, then visits the sources in turn: reads a batch after the
//! committed cursor, hands it to the sink, commits the batch's `next` only once the sink
//! returned Ok. A sink error marks the archive degraded and backs off (doubling, capped);
//! everything else in the hub goes on. Entries the store trimmed before the archive had them
//! (`Batch::lost`, `Store::overrun`) are reported: a `zerolag.archive.overrun` event and the
//! `archive_lost` counter, never silently.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::json;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::lease;
use super::model::{Batch, Sink, Source};
use super::sources::{Store, MAX_READ};
use crate::error::Result;

/// How an archiver runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Most rows per batch (per source and round).
    pub batch: usize,
    /// How long an idle archiver waits before looking again.
    pub poll: Duration,
    /// The lease's time to live (renewed every third of it).
    pub lease_ttl: Duration,
    /// The longest wait between retries while the sink fails.
    pub backoff_max: Duration,
    /// This archiver's name in the lease (host, pid and a random part by default).
    pub holder: String,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            batch: 5_000,
            poll: Duration::from_millis(100),
            lease_ttl: Duration::from_secs(10),
            backoff_max: Duration::from_secs(5),
            holder: format!("pid{}-{:08x}", std::process::id(), rand::random::<u32>()),
        }
    }
}

/// What an archiver reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Status {
    /// Still running (not stopped).
    pub running: bool,
    /// Holds the lease (the one archiver of the namespace that works).
    pub leader: bool,
    /// The sink's last error while it keeps failing (None: healthy).
    pub degraded: Option<String>,
    /// Entries the store holds that the archive does not have yet, all sources.
    pub behind: u64,
    /// Rows this archiver wrote, per source name.
    pub archived: BTreeMap<&'static str, u64>,
    /// Entries trimmed before they were archived, per source name (reported, never silent).
    pub lost: BTreeMap<&'static str, u64>,
    /// When a batch was last committed, ms since the epoch.
    pub last_ok_ms: Option<i64>,
}

/// The event channel lost entries are reported on.
pub const OVERRUN_CHANNEL: &str = "zerolag.archive.overrun";

/// The shortest pause between retries while the sink or the store fails.
const BACKOFF_MIN: Duration = Duration::from_millis(50);

/// How often the loop looks at the store's overrun counters (and, while failing, refreshes
/// how far behind each source is).
const OVERRUN_EVERY: Duration = Duration::from_secs(1);

/// What the loop and the callers share.
struct Shared {
    status: Mutex<Status>,
    stop: AtomicBool,
    /// Wakes the loop (stop, flush) and the lease keeper (stop).
    wake: Notify,
    /// Counts reads: each read takes the next number when it starts.
    tick: AtomicU64,
    /// Per source: the number of the last read that reached the end of what the store held
    /// and whose rows were committed (what `flush` waits for).
    caught: Mutex<HashMap<Source, u64>>,
    /// Wakes `flush` when `caught` moves.
    progress: Notify,
    /// Holds the lease (set by the keeper).
    leader: AtomicBool,
    /// Wakes the loop when the keeper took the lease.
    leader_won: Notify,
    /// The sources it copies.
    sources: Vec<Source>,
}

/// A running archiver.
pub struct Archiver {
    shared: Arc<Shared>,
    store: Store,
    holder: String,
    tasks: Mutex<Option<(JoinHandle<()>, JoinHandle<()>)>>,
}

impl Archiver {
    /// Starts the loop in the background.
    pub fn start(store: Store, sink: Arc<dyn Sink>, opts: Options) -> Archiver {
        Archiver::start_sources(store, sink, opts, Source::ALL.to_vec())
    }

    /// Starts a loop that copies only `sources` (tests; an archive of some sources only).
    pub fn start_sources(
        store: Store,
        sink: Arc<dyn Sink>,
        opts: Options,
        sources: Vec<Source>,
    ) -> Archiver {
        let shared = Arc::new(Shared {
            status: Mutex::new(Status {
                running: true,
                ..Status::default()
            }),
            stop: AtomicBool::new(false),
            wake: Notify::new(),
            tick: AtomicU64::new(0),
            caught: Mutex::new(HashMap::new()),
            progress: Notify::new(),
            leader: AtomicBool::new(false),
            leader_won: Notify::new(),
            sources,
        });
        let rt = crate::engine::runtime();
        let keeper = rt.spawn(keep_lease(shared.clone(), store.clone(), opts.clone()));
        let holder = opts.holder.clone();
        let work = rt.spawn(
            Loop {
                shared: shared.clone(),
                store: store.clone(),
                sink,
                opts,
                cursors: HashMap::new(),
                behind: HashMap::new(),
                overrun_seen: HashMap::new(),
                batch_lost: HashMap::new(),
                last_overrun_check: None,
                ahead: HashMap::new(),
            }
            .run(),
        );
        Archiver {
            shared,
            store,
            holder,
            tasks: Mutex::new(Some((work, keeper))),
        }
    }

    /// Its status now.
    pub fn status(&self) -> Status {
        let mut s = self.shared.status.lock().clone();
        s.leader = s.running && self.shared.leader.load(Ordering::Acquire);
        s
    }

    /// Waits until every source is archived up to what the store held when it was called,
    /// or `timeout` passed; true when caught up.
    ///
    /// Caught up means: for each source, a read that started after the call reached the end
    /// of what the store held (fewer rows than asked for, or none left behind it) and its
    /// rows were committed. Only the leader archives: an archiver on standby returns false
    /// once `timeout` passed (unless it becomes the leader and catches up in time).
    pub async fn flush(&self, timeout: Duration) -> bool {
        let mark = self.shared.tick.load(Ordering::Acquire);
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let progressed = self.shared.progress.notified();
            tokio::pin!(progressed);
            progressed.as_mut().enable();
            let done = {
                let caught = self.shared.caught.lock();
                self.shared
                    .sources
                    .iter()
                    .all(|s| caught.get(s).is_some_and(|&t| t > mark))
            };
            if done {
                return true;
            }
            if self.shared.stop.load(Ordering::Acquire) {
                return false;
            }
            self.shared.wake.notify_waiters();
            if tokio::time::timeout_at(deadline, progressed).await.is_err() {
                return false;
            }
        }
    }

    /// Stops the loop (after the batch in flight) and releases the lease.
    pub async fn stop(&self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.wake.notify_waiters();
        self.shared.progress.notify_waiters();
        let tasks = self.tasks.lock().take();
        if let Some((work, keeper)) = tasks {
            let _ = work.await;
            let _ = keeper.await;
            let _ = lease::release(self.store.backend(), self.store.namespace(), &self.holder)
                .run()
                .await;
        }
        self.shared.leader.store(false, Ordering::Release);
        let mut s = self.shared.status.lock();
        s.running = false;
        s.leader = false;
    }
}

impl Drop for Archiver {
    /// Dropped without `stop`: the loop ends after its batch in flight and the lease expires
    /// after its ttl (nothing waits here).
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.wake.notify_waiters();
        self.shared.progress.notify_waiters();
    }
}

/// Sleeps for `d` or until woken or stopped; false when stopping.
async fn pause(shared: &Shared, d: Duration) -> bool {
    let woken = shared.wake.notified();
    tokio::pin!(woken);
    woken.as_mut().enable();
    if shared.stop.load(Ordering::Acquire) {
        return false;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = woken => {}
    }
    !shared.stop.load(Ordering::Acquire)
}

/// The lease keeper: takes the lease when free, renews it every third of its ttl; a renewal
/// refused (another holder) or failing for a whole ttl makes this archiver a standby.
async fn keep_lease(shared: Arc<Shared>, store: Store, opts: Options) {
    let every = (opts.lease_ttl / 3).max(Duration::from_millis(10));
    let mut last_ok: Option<Instant> = None;
    loop {
        if shared.stop.load(Ordering::Acquire) {
            return;
        }
        let got = lease::acquire(
            store.backend(),
            store.namespace(),
            &opts.holder,
            opts.lease_ttl,
        )
        .run()
        .await;
        let was = shared.leader.load(Ordering::Acquire);
        let now_leader = match got {
            Ok(true) => {
                last_ok = Some(Instant::now());
                true
            }
            Ok(false) => false,
            Err(e) => {
                log::debug!("archive lease: the store failed: {e}");
                was && last_ok.is_some_and(|t| t.elapsed() < opts.lease_ttl)
            }
        };
        shared.leader.store(now_leader, Ordering::Release);
        if now_leader && !was {
            shared.leader_won.notify_waiters();
        }
        if !now_leader && was {
            // Wake the loop so that it notices at once.
            shared.wake.notify_waiters();
        }
        let woken = shared.wake.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        if shared.stop.load(Ordering::Acquire) {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = woken => {}
        }
    }
}

/// The loop's own state.
struct Loop {
    shared: Arc<Shared>,
    store: Store,
    sink: Arc<dyn Sink>,
    opts: Options,
    /// The committed cursors as this leader knows them (reloaded on becoming leader).
    cursors: HashMap<Source, Option<String>>,
    behind: HashMap<Source, u64>,
    /// The store's overrun counters as last seen.
    overrun_seen: HashMap<Source, u64>,
    /// Entries reads found trimmed before they were archived, this archiver.
    batch_lost: HashMap<Source, u64>,
    last_overrun_check: Option<Instant>,
    /// A source's next batch, read while the previous one was being written: (the cursor it
    /// was read after, the batch). Used only if that cursor is the committed one by then.
    ahead: HashMap<Source, (String, Batch)>,
}

impl Loop {
    async fn run(mut self) {
        let mut backoff = Duration::ZERO;
        let mut was_leader = false;
        while !self.shared.stop.load(Ordering::Acquire) {
            let leader = self.shared.leader.load(Ordering::Acquire);
            if !leader {
                if was_leader {
                    self.cursors.clear();
                    self.ahead.clear();
                }
                was_leader = false;
                let won = self.shared.leader_won.notified();
                tokio::pin!(won);
                won.as_mut().enable();
                if self.shared.leader.load(Ordering::Acquire) {
                    continue;
                }
                tokio::select! {
                    _ = won => {}
                    _ = tokio::time::sleep(self.opts.lease_ttl / 3) => {}
                    _ = self.shared.wake.notified() => {}
                }
                continue;
            }
            if !was_leader {
                // Another archiver may have moved the cursors while this one waited.
                self.cursors.clear();
                self.ahead.clear();
                was_leader = true;
            }
            match self.round().await {
                Ok(moved) => {
                    backoff = Duration::ZERO;
                    self.shared.status.lock().degraded = None;
                    let _ = self.check_overrun(false).await;
                    if !moved && !pause(&self.shared, self.opts.poll).await {
                        break;
                    }
                }
                Err(e) => {
                    log::warn!("archive: a batch failed, retrying: {e}");
                    self.shared.status.lock().degraded = Some(e.to_string());
                    let _ = self.check_overrun(true).await;
                    backoff = (backoff * 2)
                        .max(BACKOFF_MIN)
                        .min(self.opts.backoff_max.max(BACKOFF_MIN));
                    if !pause(&self.shared, backoff).await {
                        break;
                    }
                }
            }
        }
        self.shared.status.lock().running = false;
    }

    /// One visit of every source; true when some source moved. A source that fails does
    /// not keep the others back; the round then fails with the first error.
    async fn round(&mut self) -> Result<bool> {
        let mut moved = false;
        let mut failed = None;
        for i in 0..self.shared.sources.len() {
            let src = self.shared.sources[i];
            if self.shared.stop.load(Ordering::Acquire)
                || !self.shared.leader.load(Ordering::Acquire)
            {
                break;
            }
            match self.step(src).await {
                Ok(m) => moved |= m,
                Err(e) => {
                    self.cursors.remove(&src);
                    self.ahead.remove(&src);
                    failed.get_or_insert(e);
                }
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(moved),
        }
    }

    /// Reads one batch of `src`, writes it, commits its cursor; true when it moved.
    async fn step(&mut self, src: Source) -> Result<bool> {
        let cur = match self.cursors.get(&src) {
            Some(c) => c.clone(),
            None => {
                // The start cursor holds the store's records from before the first batch.
                let c = Some(self.store.start(src).run().await?);
                self.cursors.insert(src, c.clone());
                c
            }
        };
        let limit = self.opts.batch.clamp(1, MAX_READ);
        let t = self.shared.tick.fetch_add(1, Ordering::AcqRel) + 1;
        let batch = match self.ahead.remove(&src) {
            Some((after, b)) if cur.as_deref() == Some(after.as_str()) => b,
            _ => self.store.read(src, cur.clone(), limit).run().await?,
        };
        let n = batch.rows.len();
        self.behind.insert(src, batch.behind + n as u64);
        self.set_behind();
        if n > 0 {
            // A full batch: read the next one while PostgreSQL takes this one (reading does
            // not move the cursor, so nothing is committed before the sink committed).
            let more = n == limit && batch.behind > 0;
            let write = self.sink.write(self.store.namespace(), &batch.rows);
            let read_on = async {
                match more {
                    true => Some(
                        self.store
                            .read(src, Some(batch.next.clone()), limit)
                            .run()
                            .await,
                    ),
                    false => None,
                }
            };
            let (written, next) = tokio::join!(write, read_on);
            written?;
            if let Some(Ok(b)) = next {
                self.ahead.insert(src, (batch.next.clone(), b));
            }
        }
        let moved = cur.as_deref() != Some(batch.next.as_str());
        if moved {
            self.store.commit(src, batch.next.clone()).run().await?;
            self.cursors.insert(src, Some(batch.next.clone()));
        }
        self.behind.insert(src, batch.behind);
        // Reported once the batch is committed (a failed batch is read again).
        if batch.lost > 0 {
            let total = {
                let e = self.batch_lost.entry(src).or_insert(0);
                *e += batch.lost;
                *e
            };
            self.report_lost(src, batch.lost, total).await;
        }
        {
            let mut s = self.shared.status.lock();
            if n > 0 {
                *s.archived.entry(src.name()).or_insert(0) += n as u64;
                s.last_ok_ms = Some(crate::clock::now_ms() as i64);
            }
            s.behind = self.behind.values().sum();
        }
        if n < limit || batch.behind == 0 {
            self.shared.caught.lock().insert(src, t);
            self.shared.progress.notify_waiters();
        }
        Ok(moved && n > 0)
    }

    fn set_behind(&self) {
        self.shared.status.lock().behind = self.behind.values().sum();
    }

    /// Looks at the store's overrun counters and cursors (at most every [`OVERRUN_EVERY`]):
    /// reports growth, drops a cached cursor the store no longer has; while `failing`, also
    /// refreshes how far behind each source is (one-row reads).
    async fn check_overrun(&mut self, failing: bool) -> Result<()> {
        if self
            .last_overrun_check
            .is_some_and(|t| t.elapsed() < OVERRUN_EVERY)
        {
            return Ok(());
        }
        self.last_overrun_check = Some(Instant::now());
        for i in 0..self.shared.sources.len() {
            let src = self.shared.sources[i];
            let total = self.store.overrun(src).run().await?;
            // The first look reports what was trimmed before this archiver started (while no
            // archiver ran, or by one that stopped before reporting): never silent, at the
            // cost of reporting it again after a restart.
            let seen = self.overrun_seen.insert(src, total).unwrap_or(0);
            if total > seen {
                self.report_lost(src, total - seen, total).await;
            }
            // A cursor forgotten (the archive or the namespace cleared) or moved by another
            // archiver: read from the store's again.
            let stored = self.store.cursor(src).run().await?;
            if self.cursors.get(&src).is_some_and(|c| *c != stored) {
                self.cursors.remove(&src);
                self.ahead.remove(&src);
            }
            if failing {
                let cur = stored;
                let b = self.store.read(src, cur, 1).run().await?;
                self.behind.insert(src, b.behind + b.rows.len() as u64);
            }
        }
        if failing {
            self.set_behind();
        }
        Ok(())
    }

    fn set_lost(&self, src: Source, overrun_total: u64) {
        let extra = self.batch_lost.get(&src).copied().unwrap_or(0);
        let total = overrun_total.max(self.overrun_seen.get(&src).copied().unwrap_or(0)) + extra;
        self.shared.status.lock().lost.insert(src.name(), total);
    }

    /// Reports `lost` entries of `src` (`total` so far): the event and the counter.
    async fn report_lost(&mut self, src: Source, lost: u64, total: u64) {
        crate::metrics::archive::add_lost(src.name(), lost);
        let overrun = self.overrun_seen.get(&src).copied().unwrap_or(0);
        self.set_lost(src, overrun);
        log::warn!(
            "archive: {lost} {} entries trimmed before they were archived ({total} so far)",
            src.name()
        );
        let events = crate::events::Events::new(
            self.store.backend().clone(),
            Arc::from(self.store.namespace()),
        );
        let data = json!({"source": src.name(), "lost": lost, "total": total});
        if let Err(e) = events.publish(OVERRUN_CHANNEL, data).run().await {
            log::warn!("archive: the overrun event could not be published: {e}");
        }
    }
}
