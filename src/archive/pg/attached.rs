//! The hub's archive (`hub.archive`): at most one PostgreSQL archive attached per hub, its
//! archiver running in the background, and what the API asks of it (health, queries,
//! clearing, erasure, the fall-through of `bus.history` and `events.read`).

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::conn::{Pg, UNAVAILABLE};
use super::query::{self, HistoryQuery, Page};
use super::write::PgSink;
use crate::archive::model::Source;
use crate::archive::run::{Archiver, Options, Status};
use crate::archive::sources::Store;
use crate::engine::{Backend, Op};
use crate::error::{Error, Result};

/// An attached archive.
pub struct Attached {
    dsn: String,
    /// The PostgreSQL archive.
    pub pg: Arc<Pg>,
    /// Its archiver.
    pub archiver: Archiver,
}

/// What `health()` reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    /// "ok", "degraded", "standby" (another process archives) or "detached".
    pub status: &'static str,
    /// One line for people ("archive ok", "archive degraded, 1234 behind", ...).
    pub message: String,
    /// Entries the store holds that the archive does not have yet.
    pub behind: u64,
    /// This process's archiver holds the namespace's lease.
    pub leader: bool,
    /// The last error while the archive keeps failing.
    pub last_error: Option<String>,
    /// Rows this process archived, per source.
    pub archived: Vec<(&'static str, u64)>,
    /// Entries trimmed before they were archived, per source.
    pub lost: Vec<(&'static str, u64)>,
    /// When a batch was last committed, ms since the epoch.
    pub last_ok_ms: Option<i64>,
}

impl Health {
    /// The report of an archive (None: detached).
    pub fn of(status: Option<Status>) -> Health {
        let Some(s) = status else {
            return Health {
                status: "detached",
                message: "archive detached".into(),
                behind: 0,
                leader: false,
                last_error: None,
                archived: vec![],
                lost: vec![],
                last_ok_ms: None,
            };
        };
        let (status, message) = if s.degraded.is_some() {
            ("degraded", format!("archive degraded, {} behind", s.behind))
        } else if !s.leader {
            (
                "standby",
                "archive standby: another process archives this namespace".to_string(),
            )
        } else if s.behind > 0 {
            ("ok", format!("archive ok, {} behind", s.behind))
        } else {
            ("ok", "archive ok".to_string())
        };
        let all = |m: &std::collections::BTreeMap<&'static str, u64>| {
            Source::ALL
                .iter()
                .map(|src| (src.name(), m.get(src.name()).copied().unwrap_or(0)))
                .collect()
        };
        Health {
            status,
            message,
            behind: s.behind,
            leader: s.leader,
            last_error: s.degraded.clone(),
            archived: all(&s.archived),
            lost: all(&s.lost),
            last_ok_ms: s.last_ok_ms,
        }
    }
}

/// The hub's archive slot.
#[derive(Default)]
pub struct Attachment {
    slot: parking_lot::Mutex<Option<Arc<Attached>>>,
}

fn not_attached() -> Error {
    Error::Connection(format!(
        "{UNAVAILABLE}: no archive is attached (hub.archive.attach(dsn) or \
         zerolag.open(..., archive=dsn))"
    ))
}

impl Attachment {
    /// An empty slot.
    pub fn new() -> Attachment {
        Attachment::default()
    }

    /// The attached archive, if any.
    pub fn current(&self) -> Option<Arc<Attached>> {
        self.slot.lock().clone()
    }

    /// True while an archive is attached.
    pub fn attached(&self) -> bool {
        self.slot.lock().is_some()
    }

    fn pg(&self) -> Result<Arc<Pg>> {
        self.current()
            .map(|a| a.pg.clone())
            .ok_or_else(not_attached)
    }

    /// Attaches the archive at `dsn` for `ns`: connects and creates or migrates its tables,
    /// then starts the archiver. A PostgreSQL that cannot be reached does not fail it (the
    /// archiver retries; health says degraded); a refused login or a failed migration does.
    /// The same DSN again changes nothing; another while one is attached is refused.
    pub fn attach(
        self: &Arc<Self>,
        backend: Backend,
        ns: Arc<str>,
        dsn: &str,
        opts: Options,
    ) -> Op<()> {
        let dsn = dsn.trim().to_string();
        if let Some(a) = self.current() {
            return Op::Ready(if a.dsn == dsn {
                Ok(())
            } else {
                Err(Error::validation(format!(
                    "an archive is attached already ({}); detach it first",
                    a.pg.shown()
                )))
            });
        }
        if opts.batch == 0 || opts.batch > crate::archive::sources::MAX_READ {
            return Op::Ready(Err(Error::validation(format!(
                "batch must be 1 to {}, got {}",
                crate::archive::sources::MAX_READ,
                opts.batch
            ))));
        }
        let pg = match Pg::new(&dsn) {
            Ok(p) => Arc::new(p),
            Err(e) => return Op::Ready(Err(e)),
        };
        let me = self.clone();
        Op::Async(Box::pin(async move {
            match pg.check().await {
                Ok(()) => {}
                Err(Error::Connection(m)) => {
                    log::warn!(
                        "archive {}: not reachable at attach ({m}); retrying in the background",
                        pg.shown()
                    );
                }
                Err(e) => return Err(e),
            }
            let mut slot = me.slot.lock();
            if let Some(a) = slot.as_ref() {
                return if a.dsn == dsn {
                    Ok(())
                } else {
                    Err(Error::validation("another archive was attached meanwhile"))
                };
            }
            let store = Store::new(backend, ns);
            let sink = Arc::new(PgSink::new(pg.clone()));
            let archiver = Archiver::start(store, sink, opts);
            *slot = Some(Arc::new(Attached { dsn, pg, archiver }));
            Ok(())
        }))
    }

    /// Stops the archiver and releases the lease (the cursors stay: attaching again goes on
    /// where it stopped). Nothing attached: nothing to do.
    pub fn detach(&self) -> Op<()> {
        let Some(a) = self.slot.lock().take() else {
            return Op::Ready(Ok(()));
        };
        Op::Async(Box::pin(async move {
            a.archiver.stop().await;
            a.pg.reset().await;
            Ok(())
        }))
    }

    /// Stops the archiver in the background (the hub closes).
    pub fn close(&self) {
        if let Some(a) = self.slot.lock().take() {
            crate::engine::runtime().spawn(async move {
                a.archiver.stop().await;
                a.pg.reset().await;
            });
        }
    }

    /// The archive's health now.
    pub fn health(&self) -> Health {
        Health::of(self.current().map(|a| a.archiver.status()))
    }

    /// Waits until the archive holds what the store held at the call (or `timeout`).
    pub fn flush(&self, timeout: Duration) -> Op<bool> {
        let Some(a) = self.current() else {
            return Op::Ready(Err(not_attached()));
        };
        Op::Async(Box::pin(async move { Ok(a.archiver.flush(timeout).await) }))
    }

    /// A page of archived history.
    pub fn history(&self, ns: Arc<str>, q: HistoryQuery) -> Op<Page> {
        let pg = match self.pg().and_then(|p| query::check(&q).map(|_| p)) {
            Ok(p) => p,
            Err(e) => return Op::Ready(Err(e)),
        };
        Op::Async(Box::pin(async move { query::history(&pg, &ns, &q).await }))
    }

    /// The cross-agent insights over `[since, until)` (ms).
    pub fn insights(&self, ns: Arc<str>, since: Option<i64>, until: Option<i64>) -> Op<Value> {
        let pg = match self.pg() {
            Ok(p) => p,
            Err(e) => return Op::Ready(Err(e)),
        };
        Op::Async(Box::pin(async move {
            query::insights(&pg, &ns, since, until).await
        }))
    }

    /// Rows per source, oldest and newest, bytes.
    pub fn stats(&self, ns: Arc<str>) -> Op<Value> {
        let pg = match self.pg() {
            Ok(p) => p,
            Err(e) => return Op::Ready(Err(e)),
        };
        Op::Async(Box::pin(async move { query::stats(&pg, &ns).await }))
    }

    /// Deletes the namespace's archived rows and the store's cursors (the retention holds
    /// stop); detaches. `confirm` must be the namespace. Returns the rows deleted.
    pub fn clear(&self, backend: Backend, ns: Arc<str>, confirm: &str) -> Op<u64> {
        if confirm != &*ns {
            return Op::Ready(Err(Error::validation(format!(
                "confirm must be the namespace ({:?}) to clear its archive",
                &*ns
            ))));
        }
        let Some(a) = self.current() else {
            return Op::Ready(Err(not_attached()));
        };
        let detach = self.detach();
        Op::Async(Box::pin(async move {
            detach.run().await?;
            let n = super::erase::clear(&a.pg, &ns).await?;
            Store::new(backend, ns).forget().run().await?;
            a.pg.reset().await;
            Ok(n)
        }))
    }

    /// Removes `subject` from the archive (nothing attached: nothing to remove); rows
    /// deleted per source.
    pub fn erase(&self, ns: Arc<str>, subject: &str) -> Op<Vec<(&'static str, u64)>> {
        let Some(a) = self.current() else {
            return Op::Ready(Ok(vec![]));
        };
        let subject = subject.to_string();
        Op::Async(Box::pin(async move {
            super::erase::erase(&a.pg, &ns, &subject).await
        }))
    }
}
