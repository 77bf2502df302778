//! Connections: the embedded SQLite database, Redis (standalone or cluster), the URL that
//! picks one, and the one tokio runtime everything async runs on.

pub mod capability;
pub mod config;
pub mod durable;
pub mod fork;
pub mod keys;
pub mod outage;
pub mod partition;
pub mod redis;
mod resp;
pub mod script;
pub mod spin;
pub mod sqlite;
pub mod wake;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};

pub use self::capability::{Capability, Importer, Page, Record};
pub use self::config::{RedisOptions, Target};
pub use self::redis::{Redis, RedisConn};
pub use self::sqlite::{Migration, Schema, Sqlite, Topic};
use crate::error::{Error, Result};

/// The process-wide tokio runtime (shared with the Python async bridge).
///
/// A child after `fork()` (see [`fork`]) has the parent's runtime without its threads: it
/// builds one of its own on first use; the parent's is left alone (dropping it would wait
/// for threads that are not there).
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    static CHILD: parking_lot::Mutex<Option<(u64, &'static tokio::runtime::Runtime)>> =
        parking_lot::Mutex::new(None);
    let generation = fork::generation();
    if generation == 0 {
        return RT.get_or_init(new_runtime);
    }
    let mut child = CHILD.lock();
    match *child {
        Some((g, rt)) if g == generation => rt,
        _ => {
            let rt: &'static tokio::runtime::Runtime = Box::leak(Box::new(new_runtime()));
            *child = Some((generation, rt));
            rt
        }
    }
}

fn new_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("zerolag-io")
        .enable_all()
        .build()
        .expect("the tokio runtime could not start (out of threads or memory)")
}

/// Which store a hub uses.
#[derive(Clone)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite(Arc<Sqlite>),
    /// Redis or Redis Cluster.
    Redis(Arc<Redis>),
}

/// A boxed future of the core.
pub type BoxFut<T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'static>>;

/// The SQLite half of an operation.
pub type SqliteWork<T> = Box<dyn FnOnce(&Sqlite) -> Result<T> + Send + 'static>;

/// The Redis half of an operation.
pub type RedisWork<T> = Box<dyn FnOnce(Arc<Redis>, RedisConn) -> BoxFut<T> + Send + 'static>;

/// One store operation, ready to run either blocking (sync API) or awaited (async API).
///
/// Each capability builds its operations with [`Backend::call`]: the SQLite closure runs on the
/// caller's thread (or a blocking thread when awaited); the Redis future on the runtime.
pub enum Op<T> {
    /// Work on the embedded database.
    Sqlite(Arc<Sqlite>, SqliteWork<T>),
    /// Work on Redis: given the connection to use (blocking for `wait`, async for `run`).
    Redis(Arc<Redis>, RedisWork<T>),
    /// Already decided (e.g. failed validation).
    Ready(Result<T>),
    /// Work that is only a future (e.g. connecting): awaited on the runtime, blocked on by
    /// `wait`.
    Async(BoxFut<T>),
}

/// An operation started by [`Op::start`].
pub enum Started<T> {
    /// Finished on the calling thread.
    Done(Result<T>),
    /// Still to do: [`Rest::spawn`] runs it in the background.
    Later(Rest<T>),
}

/// The part of a started operation that runs in the background.
pub enum Rest<T> {
    /// A future for the runtime.
    Fut(BoxFut<T>),
    /// SQLite work for a blocking thread (sent there directly: no runtime worker in between).
    Blocking(Arc<Sqlite>, SqliteWork<T>),
}

impl<T: Send + 'static> Rest<T> {
    /// Runs the rest on the runtime (or a blocking thread) and hands the result to `done` on
    /// that thread. The handle stops a future at its next await point (blocking work, once
    /// started, runs to its end and its result is dropped).
    pub fn spawn(self, done: impl FnOnce(Result<T>) + Send + 'static) -> tokio::task::AbortHandle {
        match self {
            Rest::Fut(f) => runtime().spawn(async move { done(f.await) }).abort_handle(),
            Rest::Blocking(db, f) => runtime()
                .spawn_blocking(move || done(f(&db)))
                .abort_handle(),
        }
    }

    /// The rest as a future.
    pub fn into_future(self) -> BoxFut<T> {
        match self {
            Rest::Fut(f) => f,
            Rest::Blocking(db, f) => Op::Sqlite(db, f).run_boxed(),
        }
    }
}

impl<T: Send + 'static> Op<T> {
    /// Runs to completion on this thread.
    pub fn wait(self) -> Result<T> {
        match self {
            Op::Sqlite(db, f) => f(&db),
            Op::Redis(r, work) => {
                let conn = r.checkout()?;
                let mut fut = work(r.clone(), r.blocking(conn.clone()));
                // Work on the blocking connection is done by the time the first poll returns,
                // so poll once here (inside the runtime's context, which timers need) and only
                // hand the future to block_on when it waits on something async.
                let first = {
                    let _ctx = runtime().enter();
                    let mut cx = Context::from_waker(Waker::noop());
                    fut.as_mut().poll(&mut cx)
                };
                let out = match first {
                    Poll::Ready(v) => v,
                    Poll::Pending => runtime().block_on(fut),
                };
                r.checkin(conn);
                out
            }
            Op::Ready(r) => r,
            Op::Async(f) => runtime().block_on(f),
        }
    }

    /// Starts as a future for async code, doing on this thread what needs no waiting: Redis
    /// work on one server runs on a [`Redis::deferred`] connection, so a request whose
    /// reply comes within the polling limit (see [`spin`]) completes here without a hop to
    /// the runtime (`Done`); the rest, and everything else, is left to the returned future.
    /// This thread is held for at most the polling limit per request (plus the write).
    pub fn start(self) -> Started<T> {
        match self {
            Op::Redis(r, work) => match r.checkout_deferred() {
                Some(conn) => {
                    let mut fut = work(r.clone(), r.deferred(conn.clone()));
                    let first = {
                        let _ctx = runtime().enter();
                        let mut cx = Context::from_waker(Waker::noop());
                        fut.as_mut().poll(&mut cx)
                    };
                    match first {
                        Poll::Ready(v) => {
                            r.checkin(conn);
                            Started::Done(v)
                        }
                        Poll::Pending => Started::Later(Rest::Fut(Box::pin(async move {
                            let v = fut.await;
                            r.checkin(conn);
                            v
                        }))),
                    }
                }
                None => Started::Later(Rest::Fut(Op::Redis(r, work).run_boxed())),
            },
            Op::Ready(v) => Started::Done(v),
            Op::Sqlite(db, f) => Started::Later(Rest::Blocking(db, f)),
            Op::Async(f) => Started::Later(Rest::Fut(f)),
        }
    }

    fn run_boxed(self) -> BoxFut<T> {
        Box::pin(self.run())
    }

    /// Runs as a future (SQLite work moves to a blocking thread).
    pub async fn run(self) -> Result<T> {
        match self {
            Op::Sqlite(db, f) => tokio::task::spawn_blocking(move || f(&db))
                .await
                .map_err(|e| Error::Backend(format!("store task failed: {e}")))?,
            Op::Redis(r, work) => {
                let c = r.conn();
                work(r, c).await
            }
            Op::Ready(r) => r,
            Op::Async(f) => f.await,
        }
    }

    /// Maps the result.
    pub fn map<U: Send + 'static>(self, g: impl FnOnce(T) -> U + Send + 'static) -> Op<U> {
        self.and_then(move |t| Ok(g(t)))
    }

    /// Maps the result through a fallible step.
    pub fn and_then<U: Send + 'static>(
        self,
        g: impl FnOnce(T) -> Result<U> + Send + 'static,
    ) -> Op<U> {
        match self {
            Op::Sqlite(db, f) => Op::Sqlite(db, Box::new(move |d| f(d).and_then(g))),
            Op::Redis(r, work) => Op::Redis(
                r,
                Box::new(move |r, c| Box::pin(async move { work(r, c).await.and_then(g) })),
            ),
            Op::Ready(r) => Op::Ready(r.and_then(g)),
            Op::Async(f) => Op::Async(Box::pin(async move { f.await.and_then(g) })),
        }
    }
}

/// `?` for a function that returns an [`Op`]: unwraps a `Result`, or returns its error as
/// the operation's outcome (`Op::Ready(Err(..))`), e.g. `let id = tri!(ids::id("task id", id));`.
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return $crate::engine::Op::Ready(Err(e)),
        }
    };
}
pub(crate) use tri;

impl Backend {
    /// Builds an operation from its two halves, `sq` for SQLite and `rd` for Redis, handing
    /// `args` to the one that runs (moved once: neither half needs its own copy).
    pub fn call<A, T, S, R, F>(&self, args: A, sq: S, rd: R) -> Op<T>
    where
        A: Send + 'static,
        T: Send + 'static,
        S: FnOnce(&Sqlite, A) -> Result<T> + Send + 'static,
        R: FnOnce(Arc<Redis>, RedisConn, A) -> F + Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        tri!(self.check_fork());
        match self {
            Backend::Sqlite(db) => Op::Sqlite(db.clone(), Box::new(move |d| sq(d, args))),
            Backend::Redis(r) => {
                Op::Redis(r.clone(), Box::new(move |r, c| Box::pin(rd(r, c, args))))
            }
        }
    }

    /// Fails with `Error::Forked` in a child forked after the backend was opened.
    pub fn check_fork(&self) -> Result<()> {
        match self {
            Backend::Sqlite(db) => db.born().check(),
            Backend::Redis(r) => r.born().check(),
        }
    }

    /// How long a follower (a subscription) waits for a store that answers nothing before
    /// its iterator raises TimeoutError (the `ping_interval` URL option on Redis).
    pub fn ping_interval(&self) -> std::time::Duration {
        match self {
            Backend::Sqlite(db) => db.busy_timeout().max(config::DEFAULT_PING_INTERVAL),
            Backend::Redis(r) => r.ping_interval(),
        }
    }

    /// Connects to `target`; an embedded store is opened with `schema`.
    pub async fn connect(target: Target, schema: Schema) -> Result<Backend> {
        match target {
            Target::Embedded { db, busy_timeout } => {
                let db = tokio::task::spawn_blocking(move || {
                    Sqlite::open_file(&db, &schema, busy_timeout)
                })
                .await
                .map_err(|e| Error::Backend(format!("open failed: {e}")))??;
                Ok(Backend::Sqlite(Arc::new(db)))
            }
            Target::Memory { name, busy_timeout } => {
                let db = tokio::task::spawn_blocking(move || {
                    Sqlite::open_memory(&name, &schema, busy_timeout)
                })
                .await
                .map_err(|e| Error::Backend(format!("open failed: {e}")))??;
                Ok(Backend::Sqlite(Arc::new(db)))
            }
            Target::Redis { url, opts, display } => Ok(Backend::Redis(Arc::new(
                Redis::connect(&url, display, opts).await?,
            ))),
            Target::Cluster {
                seeds,
                opts,
                display,
            } => Ok(Backend::Redis(Arc::new(
                Redis::connect_cluster(&seeds, display, opts).await?,
            ))),
        }
    }

    /// "embedded", "redis" or "redis-cluster".
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "embedded",
            Backend::Redis(r) if r.is_cluster() => "redis-cluster",
            Backend::Redis(_) => "redis",
        }
    }
}
