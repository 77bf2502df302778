//! The Rust server: hyper's HTTP/1 connections on the package's tokio runtime, each served by
//! the axum router. Its own accept loop (rather than `axum::serve`) so that a connection can
//! be closed from inside: the fan-out closes the connection of an SSE client it dropped as too
//! slow, whose socket would otherwise stay open with nobody reading it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{watch, Notify};
use tower::ServiceExt;

use super::fanout::{Fanout, Limits, Stats};
use super::router::{digest, router, App};
use super::Kill;
use crate::error::{Error, Result};
use crate::hub::Hub;

/// Shortest token accepted.
pub const MIN_TOKEN: usize = 16;
/// Largest request head (request line and headers), in bytes.
pub const MAX_HEAD: usize = 16 * 1024;
/// Longest wait for a request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// How to serve.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind: an IP address or `localhost`.
    pub host: String,
    /// Port (0: any free one).
    pub port: u16,
    /// The bearer token every request must carry (required beyond loopback).
    pub token: Option<String>,
    /// Origins allowed by CORS (`*`: any); empty: no CORS headers.
    pub cors: Vec<String>,
    /// The realtime clients' limits.
    pub limits: Limits,
    /// Largest request body, in bytes.
    pub max_body: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: "127.0.0.1".into(),
            port: 8765,
            token: None,
            cors: vec![],
            limits: Limits::default(),
            max_body: 4096,
        }
    }
}

/// The address `host` names; loopback-only unless a token is set.
pub fn check(cfg: &Config) -> Result<IpAddr> {
    let host = cfg.host.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = if host.eq_ignore_ascii_case("localhost") {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        host.parse().map_err(|_| {
            Error::validation(format!(
                "host must be an IP address or \"localhost\", got {:?}",
                cfg.host
            ))
        })?
    };
    if let Some(t) = &cfg.token {
        if t.len() < MIN_TOKEN || t.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::validation(format!(
                "the token must be at least {MIN_TOKEN} characters, without spaces"
            )));
        }
    } else if !ip.is_loopback() {
        return Err(Error::validation(format!(
            "refusing to serve on {ip} without a token: anyone who can reach it could read the \
             hub. Pass token=... (zerolag serve --token, or $ZEROLAG_HTTP_TOKEN), or bind to \
             127.0.0.1"
        )));
    }
    for o in &cfg.cors {
        if o.is_empty() || o.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::validation(format!("bad CORS origin {o:?}")));
        }
    }
    if cfg.limits.buffer == 0 || cfg.limits.max_clients == 0 || cfg.limits.ping.is_zero() {
        return Err(Error::validation(
            "buffer, max_clients and ping must be above zero",
        ));
    }
    Ok(ip)
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    fanout: Arc<Fanout>,
    done: parking_lot::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Server {
    /// Binds and starts serving `hub` on the runtime.
    pub async fn start(hub: Arc<Hub>, cfg: Config) -> Result<Server> {
        let ip = check(&cfg)?;
        hub.check()?;
        let listener = tokio::net::TcpListener::bind((ip, cfg.port)).await?;
        let addr = listener.local_addr()?;
        let fanout = Fanout::new(hub, cfg.limits);
        let app = Arc::new(App {
            fanout: fanout.clone(),
            token: cfg.token.as_deref().map(digest),
            cors: cfg.cors.clone(),
            max_body: cfg.max_body,
        });
        let router = router(app);
        let (stop, stopped) = watch::channel(false);
        let done = crate::engine::runtime().spawn(accept(listener, router, stopped));
        Ok(Server {
            addr,
            stop,
            fanout,
            done: parking_lot::Mutex::new(Some(done)),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Realtime clients, followers and drops.
    pub fn stats(&self) -> Stats {
        self.fanout.stats()
    }

    /// True until [`Server::close`].
    pub fn running(&self) -> bool {
        !*self.stop.borrow()
    }

    /// Stops accepting, closes every connection and ends the streams; the returned future
    /// resolves once the port is released.
    pub fn close(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let _ = self.stop.send(true);
        self.fanout.stop();
        let done = self.done.lock().take();
        async move {
            if let Some(d) = done {
                let _ = d.await;
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.fanout.stop();
    }
}

async fn accept(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let conn = tokio::select! {
            _ = stopped.changed() => return,
            c = listener.accept() => c,
        };
        let Ok((stream, _)) = conn else {
            // Out of file descriptors or the like: wait a little rather than spin.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (router, mut stopped) = (router.clone(), stopped.clone());
        tokio::spawn(async move {
            let kill = Arc::new(Notify::new());
            let k = kill.clone();
            let svc = hyper::service::service_fn(move |mut req: hyper::Request<_>| {
                req.extensions_mut().insert(Kill(k.clone()));
                router.clone().oneshot(req)
            });
            let conn = http1::Builder::new()
                .max_buf_size(MAX_HEAD)
                .timer(TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .serve_connection(TokioIo::new(stream), svc);
            tokio::pin!(conn);
            // Dropping the connection closes the socket.
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = kill.notified() => {}
                _ = stopped.changed() => {}
            }
        });
    }
}
