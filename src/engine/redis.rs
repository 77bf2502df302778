//! Redis engine: one standalone server (auto-reconnecting connection manager) or a Redis
//! Cluster (slot-aware async connection). Both are driven by the shared tokio runtime.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster::{ClusterConnection as ClusterSync, Connect as _};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, Value};

use super::config::RedisOptions;
use super::durable::{self, Wait};
use super::runtime;
use super::spin::SpinConn;
use super::wake::Wakeups;
use crate::error::{Error, Result};

/// A cheap-to-clone connection to a standalone server or a cluster, and the durability it
/// asks of writes (see [`super::durable`]).
#[derive(Clone)]
pub struct RedisConn {
    link: Link,
    wait: Option<Wait>,
}

/// How a [`RedisConn`] reaches the store.
#[derive(Clone)]
enum Link {
    /// One server, reconnecting by itself.
    Single(ConnectionManager),
    /// A cluster; follows MOVED/ASK and refreshes its slot map.
    Cluster(ClusterConnection),
    /// A plain blocking connection used by the sync API: the calling thread writes and reads
    /// the socket itself, with no hop to the runtime's threads. Its futures are always ready.
    Blocking(Arc<Mutex<BlockingConn>>),
    /// A blocking connection to one server used from async code (see [`super::Op::start`]):
    /// the calling thread sends and polls briefly for the reply; a reply that takes longer is
    /// waited for on a blocking thread, so the caller's event loop is never held for long.
    Deferred(Arc<Mutex<BlockingConn>>),
}

/// The connection inside a [`BlockingConn`].
enum Node {
    Single(SpinConn),
    Cluster(Box<ClusterSync<SpinConn>>),
}

/// A blocking connection (standalone or cluster) and whether it broke.
pub struct BlockingConn {
    conn: Node,
    broken: bool,
}

impl BlockingConn {
    fn like(&mut self) -> &mut dyn redis::ConnectionLike {
        match &mut self.conn {
            Node::Single(c) => c,
            Node::Cluster(c) => c.as_mut(),
        }
    }

    /// The standalone connection, when its requests can be split (see [`Redis::deferred`]).
    fn single(&mut self) -> redis::RedisResult<&mut SpinConn> {
        match &mut self.conn {
            Node::Single(c) if c.polls() => Ok(c),
            _ => Err(RedisError::from((
                ErrorKind::Client,
                "not a deferrable connection",
            ))),
        }
    }

    /// Sends `WAIT` where the write went: this server, or on a cluster the node of `route`.
    fn wait_on(&mut self, wait: &Cmd, route: Option<RoutingInfo>) -> redis::RedisResult<Value> {
        match (&mut self.conn, route) {
            (Node::Cluster(c), Some(r)) => c.route_command(wait, r),
            _ => self.like().req_command(wait),
        }
    }

    fn track<T>(&mut self, r: redis::RedisResult<T>) -> redis::RedisResult<T> {
        if let Err(e) = &r {
            if e.is_io_error()
                || e.is_connection_dropped()
                || e.is_timeout()
                || e.is_unrecoverable_error()
            {
                self.broken = true;
            }
        }
        r
    }
}

impl RedisConn {
    /// The replies of `pipe` as read, the first server error as the error. Unlike the redis
    /// crate's `query_async`, which rebuilds every array of a reply while looking for errors
    /// nested in it and then converts it again into the type asked for, this hands the values
    /// over as they are: for replies with no errors below their top (stream ranges, hashes),
    /// where that walk cost as much as reading them.
    pub async fn replies(&mut self, pipe: &Pipeline) -> redis::RedisResult<Vec<Value>> {
        let n = pipe.cmd_iter().count();
        let out = self.req_packed_commands(pipe, 0, n).await?;
        if let Some(Value::ServerError(e)) = out.iter().find(|v| matches!(v, Value::ServerError(_)))
        {
            return Err(e.clone().into());
        }
        Ok(out)
    }

    /// [`RedisConn::replies`] for one command.
    pub async fn reply(&mut self, cmd: &Cmd) -> redis::RedisResult<Value> {
        match self.req_packed_command(cmd).await? {
            Value::ServerError(e) => Err(e.into()),
            v => Ok(v),
        }
    }
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self.wait {
            Some(w) if durable::writes(std::iter::once(cmd)) => Box::pin(async move {
                let v = self.link.req_packed_command(cmd).await?;
                self.link
                    .confirm(w, durable::route(std::iter::once(cmd)))
                    .await?;
                Ok(v)
            }),
            _ => self.link.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self.wait {
            Some(w) if durable::writes(pipeline.cmd_iter()) => Box::pin(async move {
                let v = self
                    .link
                    .req_packed_commands(pipeline, offset, count)
                    .await?;
                self.link
                    .confirm(w, durable::route(pipeline.cmd_iter()))
                    .await?;
                Ok(v)
            }),
            _ => self.link.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        self.link.get_db()
    }
}

impl Link {
    /// `WAIT`s until the replicas `w` asks for have every write sent on this connection so far.
    fn confirm(&mut self, w: Wait, route: Option<RoutingInfo>) -> RedisFuture<'_, ()> {
        let cmd = w.cmd();
        Box::pin(async move {
            let reply = match (self, route) {
                (Link::Cluster(c), Some(r)) => c.route_command(cmd, r).await?,
                (Link::Blocking(b), route) => {
                    let mut b = b.lock();
                    let r = b.wait_on(&cmd, route);
                    b.track(r)?
                }
                (link, _) => link.req_packed_command(&cmd).await?,
            };
            w.check(reply)
        })
    }
}

impl ConnectionLike for Link {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Link::Single(c) => c.req_packed_command(cmd),
            Link::Cluster(c) => c.req_packed_command(cmd),
            Link::Blocking(b) => {
                let mut b = b.lock();
                let r = b.like().req_command(cmd);
                Box::pin(std::future::ready(b.track(r)))
            }
            Link::Deferred(b) => deferred(b, cmd.get_packed_command(), |c| c.finish()),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Link::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Link::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
            Link::Blocking(b) => {
                let mut b = b.lock();
                let r =
                    b.like()
                        .req_packed_commands(&pipeline.get_packed_pipeline(), offset, count);
                Box::pin(std::future::ready(b.track(r)))
            }
            Link::Deferred(b) => deferred(b, pipeline.get_packed_pipeline(), move |c| {
                c.finish_pipeline(offset, count)
            }),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Link::Single(c) => c.get_db(),
            Link::Cluster(c) => c.get_db(),
            Link::Blocking(b) | Link::Deferred(b) => b.lock().like().get_db(),
        }
    }
}

/// A request on a deferred connection (see [`Redis::deferred`]): sent here; its reply read here if it
/// starts within the polling limit, else on a blocking thread of the runtime.
fn deferred<T: Send + 'static>(
    b: &Arc<Mutex<BlockingConn>>,
    bytes: Vec<u8>,
    finish: impl FnOnce(&mut SpinConn) -> redis::RedisResult<T> + Send + 'static,
) -> RedisFuture<'static, T> {
    let mut g = b.lock();
    let r = match g
        .single()
        .and_then(|c| c.start(&bytes).map(|ready| (c, ready)))
    {
        Ok((c, true)) => finish(c),
        Ok((_, false)) => {
            drop(g);
            let b = b.clone();
            return Box::pin(async move {
                let waited = tokio::task::spawn_blocking(move || {
                    let mut g = b.lock();
                    let r = g.single().and_then(finish);
                    g.track(r)
                })
                .await;
                waited.unwrap_or_else(|e| {
                    Err(RedisError::from(std::io::Error::other(format!(
                        "the thread waiting for the reply failed: {e}"
                    ))))
                })
            });
        }
        Err(e) => Err(e),
    };
    Box::pin(std::future::ready(g.track(r)))
}

/// How to open more blocking connections.
enum BlockingSource {
    Single(Box<redis::Client>),
    Cluster(Box<redis::cluster::ClusterClient>),
}

/// The Redis side of a hub.
pub struct Redis {
    conn: RedisConn,
    display: String,
    opts: RedisOptions,
    source: BlockingSource,
    idle: Mutex<Vec<Arc<Mutex<BlockingConn>>>>,
    /// A blocking connection broke since the last one was opened (logged once each way).
    lost: std::sync::atomic::AtomicBool,
    /// True when the blocking connections can split requests (see [`Redis::deferred`]).
    defers: bool,
    /// Clients the wake-up listener connects through (one per seed on a cluster).
    pubsub: Vec<redis::Client>,
    wake: Mutex<std::collections::HashMap<String, Arc<Wakeups>>>,
    /// The process it was opened in (see [`super::fork`]).
    born: super::fork::Born,
}

/// Turns a redis crate error into the core's typed error, with a message that says what to fix.
pub fn map_err(e: RedisError, display: &str, opts: &RedisOptions) -> Error {
    let text = e.to_string();
    if e.kind() == ErrorKind::AuthenticationFailed
        || text.contains("WRONGPASS")
        || text.contains("NOAUTH")
        || text.contains("invalid password")
    {
        return Error::Authentication(format!(
            "Redis at {display} refused the credentials ({text}); check the user and password \
             in the URL (redis://user:password@host:port)"
        ));
    }
    let lower = text.to_ascii_lowercase();
    if lower.contains("noperm") || lower.contains("no permissions") {
        return Error::Authentication(format!(
            "the Redis user lacks a permission zerolag needs ({text}); grant it with ACL SETUSER"
        ));
    }
    if text.contains(durable::NOT_REPLICATED) {
        let why = e.detail().unwrap_or_default();
        return Error::Timeout(format!(
            "Redis at {display}: {}: {why}",
            durable::NOT_REPLICATED
        ));
    }
    if e.is_timeout() || text.to_ascii_lowercase().contains("timed out") {
        return Error::Timeout(format!(
            "Redis at {display} did not answer within {:.1} s; the server may be paused or \
             overloaded (raise ?timeout= in the URL if it is just slow)",
            opts.response_timeout.as_secs_f64()
        ));
    }
    if e.code() == Some("LOADING") || text.contains("BusyLoading") {
        return Error::Connection(format!(
            "Redis at {display} is loading its dataset (it just restarted); retry in a moment"
        ));
    }
    if e.is_connection_refusal() {
        return Error::Connection(format!(
            "could not connect to Redis at {display}: connection refused; is redis-server \
             running there? Start it or fix the URL"
        ));
    }
    if e.is_io_error()
        || e.is_connection_dropped()
        || e.kind() == ErrorKind::ClusterConnectionNotFound
    {
        if lower.contains("no such file") {
            return Error::Connection(format!(
                "could not connect to Redis at {display}: the socket file does not exist; is \
                 redis-server running with that unixsocket?"
            ));
        }
        return Error::Connection(format!("connection to Redis at {display} failed: {text}"));
    }
    if lower.contains("db index is out of range") || lower.contains("invalid db index") {
        return Error::Validation(format!(
            "Redis at {display} has no such database ({text}); use a db number below the \
             server's `databases` setting (16 by default)"
        ));
    }
    if lower.contains("certificate") || lower.contains("unknownissuer") {
        return Error::Connection(format!(
            "TLS to Redis at {display} failed: {text}; the server certificate is not trusted \
             (add #insecure to the rediss:// URL to accept a self-signed certificate)"
        ));
    }
    if e.kind() == ErrorKind::InvalidClientConfig {
        return Error::Validation(format!("invalid Redis URL or option: {text}"));
    }
    Error::Backend(format!("Redis at {display}: {text}"))
}

/// rustls needs a process-wide crypto provider before the first TLS connection.
fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Fails only when another library installed one first, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl Redis {
    /// Connects to one server.
    pub async fn connect(url: &str, display: String, opts: RedisOptions) -> Result<Redis> {
        install_crypto_provider();
        let client = redis::Client::open(url).map_err(|e| map_err(e, &display, &opts))?;
        let cfg = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(opts.connect_timeout))
            .set_response_timeout(Some(opts.response_timeout))
            .set_number_of_retries(opts.retries)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_secs(2));
        let fut = ConnectionManager::new_with_config(client, cfg);
        // The manager retries internally; bound the whole attempt so a dead host fails fast.
        let budget = opts.connect_timeout * (opts.retries as u32 + 1) + Duration::from_secs(1);
        let conn = match tokio::time::timeout(budget, fut).await {
            Ok(r) => r.map_err(|e| map_err(e, &display, &opts))?,
            Err(_) => {
                return Err(Error::Connection(format!(
                    "could not connect to Redis at {display} within {:.1} s; is the host \
                     reachable and the port right?",
                    budget.as_secs_f64()
                )))
            }
        };
        let client = redis::Client::open(url).map_err(|e| map_err(e, &display, &opts))?;
        let defers = SpinConn::can_poll(client.get_connection_info());
        let source = BlockingSource::Single(Box::new(client));
        let r = Redis {
            conn: RedisConn {
                link: Link::Single(conn),
                wait: opts.wait,
            },
            display,
            opts,
            source,
            idle: Mutex::new(Vec::new()),
            lost: Default::default(),
            defers,
            pubsub: redis::Client::open(url).into_iter().collect(),
            wake: Mutex::default(),
            born: super::fork::Born::now(),
        };
        r.ping().await?;
        Ok(r)
    }

    /// Connects to a cluster through its seed nodes.
    pub async fn connect_cluster(
        seeds: &[String],
        display: String,
        opts: RedisOptions,
    ) -> Result<Redis> {
        install_crypto_provider();
        let client = ClusterClientBuilder::new(seeds.to_vec())
            .connection_timeout(opts.connect_timeout)
            .response_timeout(opts.response_timeout)
            .retries(opts.retries as u32)
            // The crate waits 1.28 s at least before each retry (a TRYAGAIN while a slot
            // moves, a node that went away); a slot's move or a failover is noticed sooner
            // with short waits, and `Lua::run` keeps retrying a moving slot after these.
            .min_retry_wait(10)
            .max_retry_wait(500)
            .build()
            .map_err(|e| map_err(e, &display, &opts))?;
        let client2 = client.clone();
        let budget = opts.connect_timeout * (opts.retries as u32 + 1) + Duration::from_secs(1);
        let conn = match tokio::time::timeout(budget, client2.get_async_connection()).await {
            Ok(r) => r.map_err(|e| map_err(e, &display, &opts))?,
            Err(_) => {
                return Err(Error::Connection(format!(
                    "could not reach the Redis Cluster through {display} within {:.1} s",
                    budget.as_secs_f64()
                )))
            }
        };
        let source = BlockingSource::Cluster(Box::new(client));
        let r = Redis {
            conn: RedisConn {
                link: Link::Cluster(conn),
                wait: opts.wait,
            },
            display,
            opts,
            source,
            idle: Mutex::new(Vec::new()),
            lost: Default::default(),
            defers: false,
            pubsub: seeds
                .iter()
                .filter_map(|s| redis::Client::open(s.as_str()).ok())
                .collect(),
            wake: Mutex::default(),
            born: super::fork::Born::now(),
        };
        r.ping().await?;
        Ok(r)
    }

    /// A clone of the async connection for one operation.
    pub fn conn(&self) -> RedisConn {
        self.conn.clone()
    }

    /// `conn` (from [`Redis::checkout`]) as a connection for the sync API.
    pub fn blocking(&self, conn: Arc<Mutex<BlockingConn>>) -> RedisConn {
        RedisConn {
            link: Link::Blocking(conn),
            wait: self.opts.wait,
        }
    }

    /// `conn` (from [`Redis::checkout_deferred`]) as a connection for async code: the calling
    /// thread sends each request and polls briefly for its reply; a reply that takes longer is
    /// waited for on a blocking thread, so the caller's event loop is never held for long.
    pub fn deferred(&self, conn: Arc<Mutex<BlockingConn>>) -> RedisConn {
        RedisConn {
            link: Link::Deferred(conn),
            wait: self.opts.wait,
        }
    }

    /// A blocking connection from the idle pool, or a new one.
    pub fn checkout(&self) -> Result<Arc<Mutex<BlockingConn>>> {
        if let Some(c) = self.idle.lock().pop() {
            return Ok(c);
        }
        let o = &self.opts;
        let conn = match &self.source {
            BlockingSource::Single(client) => {
                let info = client.get_connection_info().clone();
                let c = SpinConn::open(info, Some(o.connect_timeout)).map_err(|e| self.err(e))?;
                c.set_read_timeout(Some(o.response_timeout))
                    .map_err(|e| self.err(e))?;
                c.set_write_timeout(Some(o.response_timeout))
                    .map_err(|e| self.err(e))?;
                Node::Single(c)
            }
            BlockingSource::Cluster(client) => Node::Cluster(Box::new(
                client
                    .get_generic_connection::<SpinConn>()
                    .map_err(|e| self.err(e))?,
            )),
        };
        if self.lost.swap(false, std::sync::atomic::Ordering::Relaxed) {
            log::info!("reconnected to Redis at {}", self.display);
        }
        Ok(Arc::new(Mutex::new(BlockingConn {
            conn,
            broken: false,
        })))
    }

    /// An idle blocking connection whose requests can be split between this thread and a
    /// blocking one (standalone, plain socket); None when there is none ready (a new one is
    /// then opened on a blocking thread for next time, never on the caller's).
    pub fn checkout_deferred(self: &Arc<Self>) -> Option<Arc<Mutex<BlockingConn>>> {
        if !self.defers {
            return None; // a cluster, TLS or RESP3
        }
        let idle = self.idle.lock().pop();
        match idle {
            Some(c) => Some(c),
            None => {
                let r = self.clone();
                runtime().spawn_blocking(move || {
                    if let Ok(c) = r.checkout() {
                        r.checkin(c);
                    }
                });
                None
            }
        }
    }

    /// The wake-ups of namespace `ns` (see [`super::wake`]).
    pub fn wakeups(&self, ns: &str) -> Arc<Wakeups> {
        self.wake
            .lock()
            .entry(ns.to_string())
            .or_insert_with(|| Arc::new(Wakeups::new(ns, self.pubsub.clone())))
            .clone()
    }

    /// Closes the idle blocking connections.
    pub fn release_idle(&self) {
        self.idle.lock().clear();
    }

    /// Returns a blocking connection to the pool unless it broke (the next checkout then
    /// connects afresh, which is how the sync API reconnects after a server restart).
    pub fn checkin(&self, c: Arc<Mutex<BlockingConn>>) {
        if c.lock().broken {
            if !self.lost.swap(true, std::sync::atomic::Ordering::Relaxed) {
                log::warn!(
                    "lost a connection to Redis at {}; the next call reconnects",
                    self.display
                );
            }
            return;
        }
        let mut idle = self.idle.lock();
        if idle.len() < 16 {
            idle.push(c);
        }
    }

    /// The process it was opened in.
    pub fn born(&self) -> super::fork::Born {
        self.born
    }

    /// How long one reply may take (the `timeout` URL option).
    pub fn response_timeout(&self) -> Duration {
        self.opts.response_timeout
    }

    /// The `ping_interval` URL option (see [`RedisOptions::ping_interval`]).
    pub fn ping_interval(&self) -> Duration {
        self.opts.ping_interval
    }

    /// True for a cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self.conn.link, Link::Cluster(_))
    }

    /// Where the hub points, for messages.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// Maps an error of this connection.
    pub fn err(&self, e: RedisError) -> Error {
        map_err(e, &self.display, &self.opts)
    }

    /// Round trip to the server.
    pub async fn ping(&self) -> Result<()> {
        let mut c = self.conn();
        let _: String = redis::cmd("PING")
            .query_async(&mut c)
            .await
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// `redis_version` (or `valkey_version`) from INFO server.
    pub async fn server_version(&self) -> Result<String> {
        let mut c = self.conn();
        let info: String = match &mut c.link {
            Link::Cluster(cc) => {
                let v = cc
                    .route_command(
                        redis::cmd("INFO").arg("server").clone(),
                        RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random),
                    )
                    .await
                    .map_err(|e| self.err(e))?;
                redis::from_redis_value(v).map_err(|e| Error::Backend(e.to_string()))?
            }
            _ => redis::cmd("INFO")
                .arg("server")
                .query_async(&mut c)
                .await
                .map_err(|e| self.err(e))?,
        };
        let find = |k: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(k).map(|v| v.trim().to_string()))
        };
        Ok(find("valkey_version:")
            .or_else(|| find("redis_version:"))
            .unwrap_or_default())
    }

    /// Addresses of the masters (one entry, None, for a standalone server).
    async fn masters(&self) -> Result<Vec<Option<(String, u16)>>> {
        let mut c = self.conn();
        let Link::Cluster(cc) = &mut c.link else {
            return Ok(vec![None]);
        };
        let v = cc
            .route_command(
                redis::cmd("CLUSTER").arg("NODES").clone(),
                RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random),
            )
            .await
            .map_err(|e| self.err(e))?;
        let text: String = redis::from_redis_value(v).map_err(|e| Error::Backend(e.to_string()))?;
        let mut out = Vec::new();
        for line in text.lines() {
            let f: Vec<&str> = line.split(' ').collect();
            if f.len() < 3 || !f[2].split(',').any(|x| x == "master") || f[2].contains("fail") {
                continue;
            }
            let addr = f[1].split('@').next().unwrap_or("");
            if let Some((h, p)) = addr.rsplit_once(':') {
                if let Ok(p) = p.parse() {
                    out.push(Some((h.to_string(), p)));
                }
            }
        }
        Ok(out)
    }

    /// Every key matching `pattern` on every master, by SCAN. `pattern` must be built from
    /// validated parts only (see `ids`), never from raw user input.
    pub async fn scan_keys(&self, pattern: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for node in self.masters().await? {
            let mut cursor: u64 = 0;
            loop {
                let mut cmd = redis::cmd("SCAN");
                cmd.arg(cursor)
                    .arg("MATCH")
                    .arg(pattern)
                    .arg("COUNT")
                    .arg(1000);
                let v = match (&node, self.conn()) {
                    (
                        Some((host, port)),
                        RedisConn {
                            link: Link::Cluster(mut cc),
                            ..
                        },
                    ) => cc
                        .route_command(
                            cmd,
                            RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                                host: host.clone(),
                                port: *port,
                            }),
                        )
                        .await
                        .map_err(|e| self.err(e))?,
                    (_, mut c) => cmd.query_async(&mut c).await.map_err(|e| self.err(e))?,
                };
                let (next, keys): (u64, Vec<String>) =
                    redis::from_redis_value(v).map_err(|e| Error::Backend(e.to_string()))?;
                out.extend(keys);
                cursor = next;
                if cursor == 0 {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Deletes every key matching `pattern` (validated parts only) on every master.
    pub async fn delete_keys(&self, pattern: &str) -> Result<u64> {
        let mut deleted = 0u64;
        for k in self.scan_keys(pattern).await? {
            // One key per DEL: keys of different slots cannot share a command on a cluster.
            let n: u64 = redis::cmd("DEL")
                .arg(&k)
                .query_async(&mut self.conn())
                .await
                .map_err(|e| self.err(e))?;
            deleted += n;
        }
        Ok(deleted)
    }
}
