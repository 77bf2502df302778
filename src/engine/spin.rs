//! The blocking Redis connection of the sync API, which waits for a fast reply by polling
//! the socket for a short while before it sleeps.
//!
//! Why: a thread that sleeps in `recv` has to be woken when the reply lands, and on a VM
//! (where a sleeping vCPU halts and is woken by an interrupt through the hypervisor) that
//! wake-up costs about as much as a loopback round trip itself: a PING from Python measured
//! 90 us p50 sleeping against 28 us polling on the 2-core CI VM. So the calling thread polls
//! (non-blocking reads) for up to [`spin_limit`] (200 us by default) and only then blocks with
//! the response timeout. It is bounded four ways:
//! - only while this connection's replies usually arrive within the limit (a moving average
//!   of the wait; a far server, or a blocking command, turns it off until replies are fast
//!   again), so a remote server costs no CPU;
//! - only on a connection that had a reply within the last millisecond: back-to-back work
//!   (a burst of sends, a worker's claim, events and finish) polls; the first request after
//!   a pause sleeps as before (see [`HOT`]);
//! - by at most `cores - 1` threads polling at once in the process (one on 2 cores), and
//!   each yields between reads, so it leaves room for a Redis server on the same machine;
//! - by `ZEROLAG_BUSY_POLL_US` (0 turns it off; read once per process).
//!
//! Plain TCP and Unix sockets speak RESP2 here, with the same handshake as the redis crate's
//! own connection (AUTH, SELECT). TLS and RESP3 targets use the redis crate's connection
//! unchanged. The type plugs into the redis crate both as a connection and as the node
//! connection of its sync cluster client.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use redis::{
    cmd, ConnectionAddr, ConnectionInfo, ErrorKind, IntoConnectionInfo, ProtocolVersion,
    RedisError, RedisResult, Value,
};

use super::resp::Reader;

/// How long a thread polls for a reply before it sleeps (`ZEROLAG_BUSY_POLL_US`, default 200).
pub fn spin_limit() -> Duration {
    static LIMIT: OnceLock<Duration> = OnceLock::new();
    *LIMIT.get_or_init(|| {
        let us = std::env::var("ZEROLAG_BUSY_POLL_US")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(200);
        Duration::from_micros(us.min(10_000))
    })
}

/// Threads polling right now, and how many may.
static POLLING: AtomicUsize = AtomicUsize::new(0);

/// In a child after `fork()`: the threads that held polling slots stayed in the parent.
pub(crate) fn after_fork_in_child() {
    POLLING.store(0, Ordering::Release);
}

fn max_polling() -> usize {
    static MAX: OnceLock<usize> = OnceLock::new();
    *MAX.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        cores.saturating_sub(1).max(1)
    })
}

/// A slot among the polling threads, released on drop.
struct PollSlot;

impl PollSlot {
    fn take() -> Option<PollSlot> {
        let max = max_polling();
        POLLING
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| PollSlot)
    }
}

impl Drop for PollSlot {
    fn drop(&mut self) {
        POLLING.fetch_sub(1, Ordering::AcqRel);
    }
}

enum Sock {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Sock {
    fn set_read_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        match self {
            Sock::Tcp(s) => s.set_read_timeout(d),
            Sock::Unix(s) => s.set_read_timeout(d),
        }
    }

    fn set_write_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        match self {
            Sock::Tcp(s) => s.set_write_timeout(d),
            Sock::Unix(s) => s.set_write_timeout(d),
        }
    }

    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        match self {
            Sock::Tcp(s) => s.write_all(b),
            Sock::Unix(s) => s.write_all(b),
        }
    }

    fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        match self {
            Sock::Tcp(s) => s.set_nonblocking(on),
            Sock::Unix(s) => s.set_nonblocking(on),
        }
    }

    fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        match self {
            Sock::Tcp(s) => s.read(b),
            Sock::Unix(s) => s.read(b),
        }
    }

    /// Polls with non-blocking reads for up to `limit`; `None` if nothing arrived by then.
    /// The socket is blocking again afterwards (writes and the fallback read rely on it).
    fn poll_read(&mut self, b: &mut [u8], limit: Duration) -> io::Result<Option<usize>> {
        self.set_nonblocking(true)?;
        let start = Instant::now();
        let r = loop {
            match self.read(b) {
                Ok(n) => break Ok(Some(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
            if start.elapsed() >= limit {
                break Ok(None);
            }
            std::thread::yield_now(); // lets a thread woken on this core run
        };
        self.set_nonblocking(false)?;
        r
    }
}

/// A plain socket and its reply reader.
struct Plain {
    io: Io,
    reader: Reader,
    open: bool,
    /// The connection closed because the server did not answer in time: a later request
    /// on it (the cluster client retries on the same connection) fails as a timeout too,
    /// not as a broken connection, so the caller sees what happened.
    timed_out: bool,
}

fn is_timeout(kind: io::ErrorKind) -> bool {
    matches!(kind, io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock)
}

/// The socket side of a [`Plain`]: what the parser reads from (bytes read ahead, then
/// polling as the module docs say, then a blocking read) and how long its replies take.
struct Io {
    sock: Sock,
    /// Moving average of the wait for a reply's first bytes, in nanoseconds.
    wait_ns: u64,
    /// When the last request went out, until the first bytes of its reply are in.
    sent: Option<Instant>,
    /// When the last reply was in (or the connection opened).
    replied: Instant,
    /// Whether the reply to the request in flight is polled for (decided when it is sent).
    poll: bool,
    /// Bytes read ahead by [`Plain::poll_ready`], not parsed yet.
    ahead: Vec<u8>,
}

/// A connection idle for longer than this does not poll for its next reply: after a pause
/// the server's CPU has gone idle too and takes its time to wake, and on a VM a guest thread
/// spinning meanwhile only competes with it for the host's CPU (in A/B runs a send 50 ms
/// after the last one had the same median and a worse p99 with polling).
const HOT: Duration = Duration::from_millis(1);

impl Io {
    /// Records a request just sent, deciding whether its reply is polled for: while replies
    /// usually come within the limit and the last one came a moment ago.
    fn sent_now(&mut self) {
        let limit = spin_limit();
        self.poll = !limit.is_zero()
            && self.wait_ns < limit.as_nanos() as u64
            && self.replied.elapsed() < HOT;
        self.sent = Some(Instant::now());
    }

    /// Folds the wait since the request went out (if its reply just started) into the
    /// moving average.
    fn arrived(&mut self) {
        if let Some(t) = self.sent.take() {
            // Capped, so one slow reply (a blocking command) pauses polling only briefly.
            let cap = 8 * spin_limit().as_nanos().max(1_000_000);
            let w = t.elapsed().as_nanos().min(cap) as u64;
            self.wait_ns = self.wait_ns - self.wait_ns / 8 + w / 8;
        }
    }

    /// Polls for the reply, when this one is polled for and a polling slot is free: the
    /// bytes read, or None when nothing came within the limit (or no polling).
    fn poll_into(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        let Some(_slot) = self.poll.then(PollSlot::take).flatten() else {
            return Ok(None);
        };
        let got = self.sock.poll_read(buf, spin_limit())?;
        if got.is_some() {
            self.arrived();
        }
        Ok(got)
    }
}

impl Read for Io {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.ahead.is_empty() {
            let n = buf.len().min(self.ahead.len());
            buf[..n].copy_from_slice(&self.ahead[..n]);
            self.ahead.drain(..n);
            return Ok(n);
        }
        if let Some(n) = self.poll_into(buf)? {
            return Ok(n);
        }
        let r = self.sock.read(buf);
        self.arrived();
        r
    }
}

impl Plain {
    fn connect(info: &ConnectionInfo, timeout: Option<Duration>) -> RedisResult<Plain> {
        let sock = match info.addr() {
            ConnectionAddr::Tcp(host, port) => {
                let mut last = None;
                let mut stream = None;
                for addr in (host.as_str(), *port).to_socket_addrs()? {
                    let r = match timeout {
                        Some(t) => TcpStream::connect_timeout(&addr, t),
                        None => TcpStream::connect(addr),
                    };
                    match r {
                        Ok(s) => {
                            stream = Some(s);
                            break;
                        }
                        Err(e) => last = Some(e),
                    }
                }
                let s = match (stream, last) {
                    (Some(s), _) => s,
                    (None, Some(e)) => return Err(e.into()),
                    (None, None) => {
                        return Err(RedisError::from((
                            ErrorKind::InvalidClientConfig,
                            "could not resolve to any addresses",
                        )))
                    }
                };
                s.set_nodelay(true)?;
                Sock::Tcp(s)
            }
            ConnectionAddr::Unix(path) => Sock::Unix(UnixStream::connect(path)?),
            _ => {
                return Err(RedisError::from((
                    ErrorKind::InvalidClientConfig,
                    "not a plain socket address",
                )))
            }
        };
        sock.set_read_timeout(timeout)?;
        sock.set_write_timeout(timeout)?;
        let mut c = Plain {
            io: Io {
                sock,
                wait_ns: 0,
                sent: None,
                replied: Instant::now(),
                poll: false,
                ahead: Vec::new(),
            },
            reader: Reader::new(),
            open: true,
            timed_out: false,
        };
        c.handshake(info)?;
        Ok(c)
    }

    /// AUTH and SELECT, as the redis crate's connection does them (RESP2).
    fn handshake(&mut self, info: &ConnectionInfo) -> RedisResult<()> {
        let s = info.redis_settings();
        if let Some(password) = s.password() {
            let mut auth = cmd("AUTH");
            if let Some(user) = s.username() {
                auth.arg(user);
            }
            auth.arg(password);
            let r = self.request(&auth.get_packed_command())?.extract_error();
            if let Err(e) = r {
                // A server without ACLs (before 6.0) knows only AUTH <password>.
                let old = s.username().is_some()
                    && e.to_string().to_ascii_lowercase().contains("wrong number");
                if !old {
                    return Err(e);
                }
                let auth = cmd("AUTH").arg(password).get_packed_command();
                self.request(&auth)?.extract_error()?;
            }
        }
        if s.db() != 0 {
            let select = cmd("SELECT").arg(s.db()).get_packed_command();
            self.request(&select)?.extract_error()?;
        }
        Ok(())
    }

    fn send(&mut self, bytes: &[u8]) -> RedisResult<()> {
        if !self.open {
            let (kind, what) = if self.timed_out {
                (
                    io::ErrorKind::TimedOut,
                    "the server did not answer in time earlier (timed out); the connection is closed",
                )
            } else {
                (
                    io::ErrorKind::BrokenPipe,
                    "the connection broke earlier and is closed",
                )
            };
            return Err(io::Error::new(kind, what).into());
        }
        self.io.sock.write_all(bytes).map_err(|e| {
            self.open = false;
            self.timed_out = is_timeout(e.kind());
            RedisError::from(e)
        })?;
        self.io.sent_now();
        Ok(())
    }

    /// After [`Plain::send`]: polls up to the limit for the reply to start. True when it
    /// has (reading it then takes no waiting on a fast server), false when the caller should
    /// wait for it on another thread, as it also is when polling is off for this connection.
    fn poll_ready(&mut self) -> RedisResult<bool> {
        if !self.io.ahead.is_empty() {
            return Ok(true);
        }
        let mut buf = [0u8; 4096];
        match self.io.poll_into(&mut buf) {
            Ok(Some(n)) => {
                self.io.ahead.extend_from_slice(&buf[..n]);
                Ok(true) // n == 0 is the end of the stream, which the read then reports
            }
            Ok(None) => Ok(false),
            Err(e) => {
                self.open = false;
                Err(e.into())
            }
        }
    }

    /// Reads one reply. Any I/O or protocol error closes the connection: what is left on
    /// the socket could be mistaken for a later reply.
    fn recv(&mut self) -> RedisResult<Value> {
        match self.reader.read(&mut self.io) {
            Ok(v) => {
                self.io.replied = Instant::now();
                Ok(v)
            }
            Err(e) => {
                self.open = false;
                self.timed_out = e.is_timeout();
                Err(e)
            }
        }
    }

    fn request(&mut self, bytes: &[u8]) -> RedisResult<Value> {
        self.send(bytes)?;
        self.recv()
    }

    fn pipeline(&mut self, bytes: &[u8], offset: usize, count: usize) -> RedisResult<Vec<Value>> {
        self.send(bytes)?;
        self.recv_pipeline(offset, count)
    }

    /// The replies of a pipeline sent: `offset` to skip (a transaction's MULTI and QUEUED),
    /// then `count`.
    fn recv_pipeline(&mut self, offset: usize, count: usize) -> RedisResult<Vec<Value>> {
        let mut out = Vec::with_capacity(count);
        let mut aborted = None;
        for idx in 0..offset + count {
            let v = self.recv()?;
            if idx < offset {
                // MULTI's OK and the QUEUED replies; an error here aborted the transaction.
                if let Value::ServerError(e) = v {
                    aborted.get_or_insert(e);
                }
            } else {
                out.push(v);
            }
        }
        match aborted {
            Some(e) => Err(e.into()),
            None => Ok(out),
        }
    }
}

enum Inner {
    Plain(Box<Plain>),
    /// TLS or RESP3: the redis crate's own connection.
    Crate(Box<redis::Connection>),
}

/// A blocking connection to one Redis server that polls briefly for fast replies.
pub struct SpinConn {
    inner: Inner,
    db: i64,
}

impl SpinConn {
    /// Opens a connection to `info`, waiting at most `timeout` for the connect and handshake.
    pub fn open(info: ConnectionInfo, timeout: Option<Duration>) -> RedisResult<SpinConn> {
        let db = info.redis_settings().db();
        let inner = if SpinConn::can_poll(&info) {
            Inner::Plain(Box::new(Plain::connect(&info, timeout)?))
        } else {
            let client = redis::Client::open(info)?;
            let c = match timeout {
                Some(t) => client.get_connection_with_timeout(t)?,
                None => client.get_connection()?,
            };
            Inner::Crate(Box::new(c))
        };
        Ok(SpinConn { inner, db })
    }

    /// True when a connection to `info` polls: a plain TCP or Unix socket speaking RESP2.
    pub fn can_poll(info: &ConnectionInfo) -> bool {
        matches!(
            info.addr(),
            ConnectionAddr::Tcp(..) | ConnectionAddr::Unix(_)
        ) && info.redis_settings().protocol() == ProtocolVersion::RESP2
    }

    /// True when replies are read by polling this module's socket (not TLS or RESP3); only
    /// then are [`SpinConn::start`] and the `finish` methods available.
    pub fn polls(&self) -> bool {
        matches!(self.inner, Inner::Plain(_))
    }

    /// Sends a packed request (a command or a pipeline) and polls up to the limit for its
    /// reply: true when the reply has started to arrive (a `finish` will then not wait on a
    /// fast server), false when it has not (or polling is off for this connection).
    pub fn start(&mut self, bytes: &[u8]) -> RedisResult<bool> {
        let p = self.plain()?;
        p.send(bytes)?;
        p.poll_ready()
    }

    /// The reply of a command sent with [`SpinConn::start`].
    pub fn finish(&mut self) -> RedisResult<Value> {
        self.plain()?.recv()
    }

    /// The replies of a pipeline sent with [`SpinConn::start`].
    pub fn finish_pipeline(&mut self, offset: usize, count: usize) -> RedisResult<Vec<Value>> {
        self.plain()?.recv_pipeline(offset, count)
    }

    fn plain(&mut self) -> RedisResult<&mut Plain> {
        match &mut self.inner {
            Inner::Plain(p) => Ok(p),
            Inner::Crate(_) => Err(RedisError::from((
                ErrorKind::Client,
                "split requests need a plain socket",
            ))),
        }
    }
}

impl redis::ConnectionLike for SpinConn {
    fn req_packed_command(&mut self, cmd: &[u8]) -> RedisResult<Value> {
        match &mut self.inner {
            Inner::Plain(p) => p.request(cmd),
            Inner::Crate(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        match &mut self.inner {
            Inner::Plain(p) => p.pipeline(cmd, offset, count),
            Inner::Crate(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        self.db
    }

    fn check_connection(&mut self) -> bool {
        cmd("PING").query::<String>(self).is_ok()
    }

    fn is_open(&self) -> bool {
        match &self.inner {
            Inner::Plain(p) => p.open,
            Inner::Crate(c) => c.is_open(),
        }
    }
}

impl redis::cluster::Connect for SpinConn {
    fn connect<T: IntoConnectionInfo>(info: T, timeout: Option<Duration>) -> RedisResult<Self> {
        SpinConn::open(info.into_connection_info()?, timeout)
    }

    fn send_packed_command(&mut self, cmd: &[u8]) -> RedisResult<()> {
        match &mut self.inner {
            Inner::Plain(p) => p.send(cmd),
            Inner::Crate(c) => c.send_packed_command(cmd),
        }
    }

    fn set_write_timeout(&self, dur: Option<Duration>) -> RedisResult<()> {
        match &self.inner {
            Inner::Plain(p) => Ok(p.io.sock.set_write_timeout(dur)?),
            Inner::Crate(c) => c.set_write_timeout(dur),
        }
    }

    fn set_read_timeout(&self, dur: Option<Duration>) -> RedisResult<()> {
        match &self.inner {
            Inner::Plain(p) => Ok(p.io.sock.set_read_timeout(dur)?),
            Inner::Crate(c) => c.set_read_timeout(dur),
        }
    }

    fn recv_response(&mut self) -> RedisResult<Value> {
        match &mut self.inner {
            Inner::Plain(p) => p.recv(),
            Inner::Crate(c) => c.recv_response(),
        }
    }
}

#[cfg(test)]
#[path = "spin_tests.rs"]
mod tests;
