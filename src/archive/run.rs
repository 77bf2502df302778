//! The archiver loop. CONTRACT STUB: helper E fills it in; the public interface is fixed.
//!
//! One task on the package's tokio runtime per attached archive: it takes (and keeps
//! renewing) the namespace's lease, then visits the sources in turn: reads a batch after the
//! committed cursor, hands it to the sink, commits the batch's `next` only once the sink
//! returned Ok. A sink error marks the archive degraded and backs off (doubling, capped);
//! everything else in the hub goes on. Entries the store trimmed before the archive had them
//! (`Batch::lost`, `Store::overrun`) are reported: a `zerolag.archive.overrun` event and the
//! `archive_lost` counter, never silently.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::model::Sink;
use super::sources::Store;

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

/// A running archiver.
pub struct Archiver {
    _store: Store,
    _sink: Arc<dyn Sink>,
    _opts: Options,
}

impl Archiver {
    /// Starts the loop in the background.
    pub fn start(store: Store, sink: Arc<dyn Sink>, opts: Options) -> Archiver {
        Archiver {
            _store: store,
            _sink: sink,
            _opts: opts,
        }
    }

    /// Its status now.
    pub fn status(&self) -> Status {
        Status::default()
    }

    /// Waits until every source is archived up to what the store held when it was called,
    /// or `timeout` passed; true when caught up.
    pub async fn flush(&self, _timeout: Duration) -> bool {
        false
    }

    /// Stops the loop (after the batch in flight) and releases the lease.
    pub async fn stop(&self) {}
}
