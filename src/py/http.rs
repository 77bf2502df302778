//! The HTTP service from Python: `hub.serve(...)` returns a `Server` (the Rust server on the
//! runtime's threads; the GIL stays free), and `HttpApp` gives `zerolag.http.app(hub)` (the
//! ASGI app) the same JSON endpoints and the same realtime streams, whose frames come
//! ready-made from the shared fan-out so Python only writes them.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::PyStopAsyncIteration;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::convert::Text;
use super::errors::validation;
use super::hub::{AsyncHub, Hub};
use super::run_async;
use crate::engine::Op;
use crate::http::fanout::{Fanout, Limits, Stats};
use crate::http::sse::{Client, Refused};
use crate::http::{routes, Config, Server as CoreServer};
use crate::hub::Hub as CoreHub;

fn limits(ping: f64, buffer: usize, max_clients: usize) -> PyResult<Limits> {
    if !(0.01..=86_400.0).contains(&ping) {
        return Err(validation(format!(
            "ping must be 0.01 to 86400 seconds, got {ping}"
        )));
    }
    if buffer == 0 || max_clients == 0 {
        return Err(validation("buffer and max_clients must be at least 1"));
    }
    Ok(Limits {
        ping: Duration::from_secs_f64(ping),
        buffer,
        max_clients,
    })
}

fn stats_dict<'py>(py: Python<'py>, s: Stats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("clients", s.clients)?;
    d.set_item("subscriptions", s.subscriptions)?;
    d.set_item("dropped", s.dropped)?;
    Ok(d)
}

/// The core hub of a `Hub` or `AsyncHub`.
fn core_hub(hub: &Bound<'_, PyAny>) -> PyResult<Arc<CoreHub>> {
    if let Ok(h) = hub.cast::<Hub>() {
        return Ok(h.get().inner.clone());
    }
    if let Ok(h) = hub.cast::<AsyncHub>() {
        return Ok(h.get().inner.clone());
    }
    Err(validation("expected a zerolag Hub or AsyncHub"))
}

/// `hub.serve(...)`: binds and starts the server (see `Hub.serve` in _core.pyi).
#[allow(clippy::too_many_arguments)]
pub(crate) fn serve(
    py: Python<'_>,
    hub: &Arc<CoreHub>,
    host: String,
    port: u16,
    token: Option<String>,
    cors: Option<Vec<String>>,
    ping: f64,
    buffer: usize,
    max_clients: usize,
) -> PyResult<Server> {
    let cfg = Config {
        host: host.clone(),
        port,
        token: token.filter(|t| !t.is_empty()),
        cors: cors.unwrap_or_default(),
        limits: limits(ping, buffer, max_clients)?,
        ..Config::default()
    };
    let hub = hub.clone();
    let op = Op::Async(Box::pin(CoreServer::start(hub, cfg)));
    let server = py.detach(move || op.wait())?;
    Ok(Server {
        inner: server,
        host,
    })
}

/// A running HTTP service (from `hub.serve()`).
#[pyclass(frozen, module = "zerolag._core", name = "Server")]
pub struct Server {
    inner: CoreServer,
    host: String,
}

#[pymethods]
impl Server {
    /// `http://<host>:<port>`.
    #[getter]
    fn url(&self) -> String {
        let a = self.inner.local_addr();
        match a.ip() {
            std::net::IpAddr::V6(ip) => format!("http://[{ip}]:{}", a.port()),
            std::net::IpAddr::V4(ip) => format!("http://{ip}:{}", a.port()),
        }
    }

    /// The port it listens on (the one picked when 0 was asked).
    #[getter]
    fn port(&self) -> u16 {
        self.inner.local_addr().port()
    }

    /// The host it was asked to bind.
    #[getter]
    fn host(&self) -> &str {
        &self.host
    }

    /// True until `close()`.
    #[getter]
    fn running(&self) -> bool {
        self.inner.running()
    }

    /// Realtime clients now, event log followers now (one per pattern set in use), and
    /// clients dropped as too slow so far.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        stats_dict(py, self.inner.stats())
    }

    /// Stops: closes every connection and releases the port (waits for that).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let fut = self.inner.close();
        let op: Op<()> = Op::Async(Box::pin(async move {
            fut.await;
            Ok(())
        }));
        py.detach(move || op.wait())?;
        Ok(())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!(
            "Server(url={:?}{})",
            self.url(),
            if self.inner.running() { "" } else { ", closed" }
        )
    }
}

/// What `zerolag.http.app(hub)` runs on: the JSON endpoints and the realtime streams of one
/// hub, with one fan-out shared by the app's clients.
#[pyclass(frozen, module = "zerolag._core", name = "HttpApp")]
pub struct HttpApp {
    fanout: Arc<Fanout>,
}

#[pymethods]
impl HttpApp {
    #[new]
    #[pyo3(signature = (hub, *, ping=15.0, buffer=1024, max_clients=1000))]
    fn new(hub: &Bound<'_, PyAny>, ping: f64, buffer: usize, max_clients: usize) -> PyResult<Self> {
        let hub = core_hub(hub)?;
        Ok(HttpApp {
            fanout: Fanout::new(hub, limits(ping, buffer, max_clients)?),
        })
    }

    /// The dashboard page.
    #[getter]
    fn page(&self) -> &'static str {
        crate::http::router::PAGE
    }

    /// `(status, JSON body)` of `GET path?query` for the JSON endpoints, or None for a path
    /// that is not one (awaitable).
    fn get<'py>(&self, py: Python<'py>, path: Text, query: Text) -> PyResult<Bound<'py, PyAny>> {
        let hub = self.fanout.hub().clone();
        let (path, q) = (path.into_string(), routes::query(Some(&query)));
        let op = Op::Async(Box::pin(async move {
            Ok(routes::get(&hub, &path, &q)
                .await
                .map(|(s, v)| (s, Cow::<'static, [u8]>::Owned(v.to_string().into_bytes()))))
        }));
        run_async(py, op, Ok)
    }

    /// Opens a realtime stream for `channels` (patterns) after `after`: `(200, b"", stream)`,
    /// or `(status, JSON body, None)` when refused (awaitable).
    #[pyo3(signature = (channels, after=None))]
    fn realtime<'py>(
        &self,
        py: Python<'py>,
        channels: Vec<Text>,
        after: Option<Text>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let fanout = self.fanout.clone();
        let chans: Vec<String> = channels.into_iter().map(Text::into_string).collect();
        let after = after.map(Text::into_string).filter(|a| !a.is_empty());
        let op = Op::Async(Box::pin(async move {
            Ok(match Client::connect(&fanout, &chans, after, None).await {
                Ok(c) => (200u16, Vec::new(), Some(c)),
                Err(Refused::Bad(e)) | Err(Refused::Store(e)) => {
                    let (s, v) = routes::error(&e);
                    (s, v.to_string().into_bytes(), None)
                }
                Err(Refused::Busy) => (
                    503,
                    br#"{"error": "busy", "message": "too many realtime clients; retry later"}"#
                        .to_vec(),
                    None,
                ),
            })
        }));
        run_async(py, op, |(s, body, c)| {
            Ok((
                s,
                Cow::<'static, [u8]>::Owned(body),
                c.map(|c| SseStream {
                    dropped: c.dropped_flag(),
                    client: Arc::new(tokio::sync::Mutex::new(c)),
                }),
            ))
        })
    }

    /// Realtime clients, followers and drops (as `Server.stats()`).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        stats_dict(py, self.fanout.stats())
    }

    /// Ends every stream.
    fn close(&self) {
        self.fanout.stop();
    }
}

/// The frames of one realtime client, as bytes ready to send (`async for chunk in stream`);
/// each step hands out every frame ready at that moment, joined.
#[pyclass(frozen, module = "zerolag._core", name = "SseStream")]
pub struct SseStream {
    client: Arc<tokio::sync::Mutex<Client>>,
    dropped: Arc<std::sync::atomic::AtomicBool>,
}

/// Most bytes one step joins.
const STEP: usize = 256 * 1024;

#[pymethods]
impl SseStream {
    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client.clone();
        let op = Op::Async(Box::pin(async move {
            let mut c = client.lock().await;
            let Some(first) = c.next().await else {
                return Ok(None);
            };
            let mut out = first.to_vec();
            while out.len() < STEP {
                match c.try_next() {
                    Some(b) => out.extend_from_slice(&b),
                    None => break,
                }
            }
            Ok(Some(out))
        }));
        run_async(py, op, |b| match b {
            Some(b) => Ok(Cow::<'static, [u8]>::Owned(b)),
            None => Err(PyStopAsyncIteration::new_err(())),
        })
    }

    /// True when the stream ended because the client was too slow (its buffer filled).
    #[getter]
    fn dropped(&self) -> bool {
        self.dropped.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// Adds this module's classes.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Server>()?;
    m.add_class::<HttpApp>()?;
    m.add_class::<SseStream>()?;
    Ok(())
}
