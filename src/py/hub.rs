//! `Hub` and `AsyncHub`: the same operations, blocking (GIL released) or as awaitables.

use std::path::PathBuf;
use std::sync::Arc;

use crate::engine::partition;
use pyo3::prelude::*;

use super::convert::{PathArg, Text};
use pyo3::types::{PyTuple, PyType};

use super::archive::{Archive, AsyncArchive};
use super::bus::{AsyncBus, Bus};
use super::cache::{AsyncCache, Cache};
use super::changes::{AsyncChanges, Changes};
use super::docs::{AsyncDocs, Docs};
use super::errors::to_py;
use super::events::{AsyncEvents, Events};
use super::filesync::SyncHandle;
use super::flags::{AsyncFlags, Flags};
use super::jobs::{AsyncJobs, Jobs};
use super::kv::{AsyncKv, Kv};
use super::limits::{AsyncLimits, Limits};
use super::memory_store::{AsyncMemory, Memory};
use super::patterns::{AsyncPatterns, Patterns};
use super::sessions::{AsyncSessions, Sessions};
use super::streams::{Activity, AsyncActivity, AsyncChat, Chat};
use super::tasks::{AsyncTasks, Tasks};
use super::transfer::Transfer;
use super::{
    analytics::{Analytics, AsyncAnalytics},
    trending::{AsyncTrending, Trending},
};
use super::{run_async, run_sync};
use crate::engine::Op;
use crate::hub::{Health as CoreHealth, Hub as CoreHub};
use crate::transfer;

/// Store health as reported by `Hub.health()`.
#[pyclass(frozen, module = "zerolag._core", name = "Health")]
pub struct Health {
    #[pyo3(get)]
    backend: String,
    #[pyo3(get)]
    server_version: String,
    #[pyo3(get)]
    rtt_ms: f64,
    #[pyo3(get)]
    keys: u64,
    by_capability: Vec<(&'static str, u64)>,
    #[pyo3(get)]
    namespace: String,
    #[pyo3(get)]
    archive: Option<String>,
}

impl From<CoreHealth> for Health {
    fn from(h: CoreHealth) -> Self {
        Health {
            backend: h.backend,
            server_version: h.server_version,
            rtt_ms: h.rtt_ms,
            keys: h.keys,
            by_capability: h.by_capability,
            namespace: h.namespace,
            archive: h.archive,
        }
    }
}

#[pymethods]
impl Health {
    /// Keys (Redis) or rows (embedded) per capability, in registry order.
    #[getter]
    fn by_capability<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let d = pyo3::types::PyDict::new(py);
        for (name, n) in &self.by_capability {
            d.set_item(*name, *n)?;
        }
        Ok(d)
    }

    /// The health as an HTML table with the count of each capability (Jupyter).
    fn _repr_html_(&self) -> String {
        let mut pairs = vec![
            ("backend", self.backend.clone()),
            ("server", self.server_version.clone()),
            ("round trip", format!("{:.3} ms", self.rtt_ms)),
            ("namespace", self.namespace.clone()),
            ("keys or rows", self.keys.to_string()),
        ];
        if let Some(a) = &self.archive {
            pairs.push(("archive", a.clone()));
        }
        pairs.extend(self.by_capability.iter().map(|(c, n)| (*c, n.to_string())));
        super::html::fields("Health", &pairs)
    }

    fn __repr__(&self) -> String {
        let archive = match &self.archive {
            Some(a) => format!(", archive={a:?}"),
            None => String::new(),
        };
        format!(
            "Health(backend={:?}, server_version={:?}, rtt_ms={:.3}, keys={}, namespace={:?}{})",
            self.backend, self.server_version, self.rtt_ms, self.keys, self.namespace, archive
        )
    }
}

fn checked(hub: &CoreHub) -> PyResult<()> {
    hub.check().map_err(to_py)
}

/// The methods `Hub` and `AsyncHub` share: `$run` makes the operations blocking or awaitable,
/// and each capability `name: Class` becomes the getter `hub.name` (the sync or async class).
macro_rules! hub_methods {
    ($cls:ident, $ret:ty, $run:ident, [$($cap:ident: $capcls:ident),+ $(,)?], { $($extra:tt)* }) => {
        #[pymethods]
        impl $cls {
            $($extra)*

            /// `"embedded"`, `"redis"` or `"redis-cluster"`.
            #[getter]
            fn backend(&self) -> &'static str {
                self.inner.backend().name()
            }

            /// The namespace's partition count: how its jobs, bus and events spread over hash
            /// tags (1 unless it was opened with ``partitions=N``; docs/scaling.md).
            #[getter]
            fn partitions(&self) -> u16 {
                self.inner.partitions()
            }

            /// The namespace.
            #[getter]
            fn namespace(&self) -> &str {
                self.inner.namespace()
            }

            /// The URL it was opened with (None: the embedded store).
            #[getter]
            fn url(&self) -> Option<String> {
                self.url.clone()
            }

            /// True after `close()`.
            #[getter]
            fn closed(&self) -> bool {
                self.inner.is_closed()
            }

            /// The file sync of this hub (its calls return at once).
            #[getter]
            fn sync(&self) -> PyResult<SyncHandle> {
                checked(&self.inner)?;
                Ok(SyncHandle { hub: self.inner.clone() })
            }

            $(
                #[doc = concat!("`hub.", stringify!($cap), "`: this namespace's ", stringify!($cap), ".")]
                #[getter]
                fn $cap(&self) -> PyResult<$capcls> {
                    checked(&self.inner)?;
                    Ok($capcls { hub: self.inner.clone() })
                }
            )+

            /// Serves this hub over HTTP (status, events, SSE, the dashboard; docs/http.md) on
            /// the runtime's threads; returns the running `Server`.
            #[pyo3(
                signature = (host=super::convert::Text::from("127.0.0.1"), port=8765, *, token=None, cors=None, ping=15.0, buffer=1024, max_clients=1000),
                text_signature = "($self, host='127.0.0.1', port=8765, *, token=None, cors=None, ping=15.0, buffer=1024, max_clients=1000)"
            )]
            #[allow(clippy::too_many_arguments)]
            fn serve(
                &self,
                py: Python<'_>,
                host: super::convert::Text,
                port: u16,
                token: Option<super::convert::Text>,
                cors: Option<Vec<super::convert::Text>>,
                ping: f64,
                buffer: usize,
                max_clients: usize,
            ) -> PyResult<super::http::Server> {
                checked(&self.inner)?;
                super::http::serve(py, &self.inner, host, port, token, cors, ping, buffer, max_clients)
            }

            /// Backend, server version, round-trip time and size of the namespace.
            fn health<'py>(&self, py: Python<'py>) -> PyResult<$ret> {
                checked(&self.inner)?;
                $run(py, self.inner.health(), |h| Ok(Health::from(h)))
            }

            /// Operation counters of this process and the store gauges of this hub, as a dict
            /// (docs/observability.md).
            fn metrics<'py>(&self, py: Python<'py>) -> PyResult<$ret> {
                checked(&self.inner)?;
                $run(py, crate::metrics::snapshot(&self.inner), |s| super::metrics::snapshot(s, false))
            }

            /// The same as Prometheus text (what `GET /metrics` serves).
            fn metrics_text<'py>(&self, py: Python<'py>) -> PyResult<$ret> {
                checked(&self.inner)?;
                $run(py, crate::metrics::snapshot(&self.inner), |s| super::metrics::snapshot(s, true))
            }

            /// Deletes everything this namespace holds; returns the keys or rows removed.
            fn clear<'py>(&self, py: Python<'py>) -> PyResult<$ret> {
                checked(&self.inner)?;
                $run(py, self.inner.clear(), Ok)
            }

            /// Removes `subject` (a user or agent id) from every capability that holds it;
            /// returns what went per capability, zeros included (docs/erasure.md).
            fn erase<'py>(&self, py: Python<'py>, subject: Text) -> PyResult<$ret> {
                checked(&self.inner)?;
                $run(py, super::erase::op(&self.inner, &subject), super::erase::report)
            }

            /// Writes everything this namespace holds to one versioned file at `path`
            /// (docs/export.md); the file appears only once it is complete.
            fn export<'py>(&self, py: Python<'py>, path: PathArg) -> PyResult<$ret> {
                checked(&self.inner)?;
                $run(py, transfer::export(self.inner.clone(), path.0), |s| Ok(Transfer::from(s)))
            }

            /// Writes the export at `path` into this namespace, which must be empty
            /// (ConflictError otherwise); a failed import leaves it empty again.
            fn import_<'py>(&self, py: Python<'py>, path: PathArg) -> PyResult<$ret> {
                checked(&self.inner)?;
                $run(py, transfer::import(self.inner.clone(), path.0), |s| Ok(Transfer::from(s)))
            }

            fn __repr__(&self) -> String {
                format!(
                    "{}(backend={:?}, namespace={:?}{})",
                    stringify!($cls),
                    self.inner.backend().name(),
                    self.inner.namespace(),
                    if self.inner.is_closed() { ", closed" } else { "" }
                )
            }
        }
    };
}

/// A handle on a store and a namespace (blocking calls).
#[pyclass(frozen, module = "zerolag._core", name = "Hub")]
pub struct Hub {
    pub(crate) inner: Arc<CoreHub>,
    url: Option<String>,
}

hub_methods!(Hub, Py<PyAny>, run_sync, [
    archive: Archive,
    bus: Bus,
    cache: Cache,
    changes: Changes,
    docs: Docs,
    events: Events,
    jobs: Jobs,
    kv: Kv,
    memory: Memory,
    patterns: Patterns,
    tasks: Tasks,
    analytics: Analytics,
    trending: Trending,
    limits: Limits,
    sessions: Sessions,
    flags: Flags,
    chat: Chat,
    activity: Activity,
], {
    #[new]
    #[pyo3(signature = (url=None, *, root=PathArg(PathBuf::from(".")), namespace=Text::from("default"), partitions=None))]
    #[pyo3(text_signature = "(url=None, *, root='.', namespace='default', partitions=None)")]
    fn new(
        py: Python<'_>,
        url: Option<Text>,
        root: PathArg,
        namespace: Text,
        partitions: Option<i64>,
    ) -> PyResult<Self> {
        let u = url.clone();
        let partitions = partitions.map(partition::check).transpose()?;
        let hub = py.detach(move || {
            CoreHub::open_with_blocking(
                u.map(Text::into_string),
                root.0,
                namespace.into_string(),
                partitions,
            )
        })?;
        Ok(Hub {
            inner: Arc::new(hub),
            url: url.map(Text::into_string),
        })
    }

    /// Closes the hub; later calls raise ClosedError.
    fn close(&self) {
        self.inner.close();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, PyTuple>) -> bool {
        self.inner.close();
        false
    }
});

/// A handle on a store and a namespace, for asyncio code: the operations of `Hub` as
/// awaitables. Open it with `zerolag.open_async` (or `await AsyncHub.connect(...)`).
#[pyclass(frozen, module = "zerolag._core", name = "AsyncHub")]
pub struct AsyncHub {
    pub(crate) inner: Arc<CoreHub>,
    url: Option<String>,
}

hub_methods!(AsyncHub, Bound<'py, PyAny>, run_async, [
    archive: AsyncArchive,
    bus: AsyncBus,
    cache: AsyncCache,
    changes: AsyncChanges,
    docs: AsyncDocs,
    events: AsyncEvents,
    jobs: AsyncJobs,
    kv: AsyncKv,
    memory: AsyncMemory,
    patterns: AsyncPatterns,
    tasks: AsyncTasks,
    analytics: AsyncAnalytics,
    trending: AsyncTrending,
    limits: AsyncLimits,
    sessions: AsyncSessions,
    flags: AsyncFlags,
    chat: AsyncChat,
    activity: AsyncActivity,
], {
    /// Connects and returns the hub: `await AsyncHub.connect(...)`.
    #[classmethod]
    #[pyo3(signature = (url=None, *, root=PathArg(PathBuf::from(".")), namespace=Text::from("default"), partitions=None))]
    #[pyo3(text_signature = "(url=None, *, root='.', namespace='default', partitions=None)")]
    fn connect<'py>(
        _cls: &Bound<'py, PyType>,
        py: Python<'py>,
        url: Option<Text>,
        root: PathArg,
        namespace: Text,
        partitions: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let u = url.clone();
        let partitions = partitions.map(partition::check).transpose()?;
        let op = Op::Async(Box::pin(CoreHub::open_with(
            u.map(Text::into_string),
            root.0,
            namespace.into_string(),
            partitions,
        )));
        run_async(py, op, move |hub| {
            Ok(AsyncHub {
                inner: Arc::new(hub),
                url: url.map(Text::into_string),
            })
        })
    }

    /// An operation that does no I/O, for measuring the cost of an `await` itself: done on
    /// the calling thread, or with `hop=True` sent through the runtime and back to the loop
    /// (the path of every operation that has to wait).
    #[pyo3(signature = (*, hop=false))]
    fn _noop<'py>(&self, py: Python<'py>, hop: bool) -> PyResult<Bound<'py, PyAny>> {
        let op = if hop {
            Op::Async(Box::pin(async { Ok(()) }))
        } else {
            Op::Ready(Ok(()))
        };
        run_async(py, op, Ok)
    }

    /// Closes the hub; later calls raise ClosedError.
    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.inner.close();
        run_async(py, Op::Ready(Ok(())), Ok)
    }

    fn __aenter__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let me = slf.clone().unbind();
        run_async(slf.py(), Op::Ready(Ok(())), move |()| Ok(me))
    }

    #[pyo3(signature = (*_args))]
    fn __aexit__<'py>(&self, py: Python<'py>, _args: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyAny>> {
        self.inner.close();
        run_async(py, Op::Ready(Ok(false)), Ok)
    }
});
