//! `Hub` and `AsyncHub`: the same operations, blocking (GIL released) or as awaitables.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyType;

use super::bus::{AsyncBus, Bus};
use super::docs::{AsyncDocs, Docs};
use super::errors::to_py;
use super::events::{AsyncEvents, Events};
use super::jobs::{AsyncJobs, Jobs};
use super::patterns::{AsyncPatterns, Patterns};
use super::sync::SyncHandle;
use super::tasks::{AsyncTasks, Tasks};
use super::{run_async, run_sync};
use crate::hub::{Health as CoreHealth, Hub as CoreHub};

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
    #[pyo3(get)]
    namespace: String,
}

impl From<CoreHealth> for Health {
    fn from(h: CoreHealth) -> Self {
        Health {
            backend: h.backend,
            server_version: h.server_version,
            rtt_ms: h.rtt_ms,
            keys: h.keys,
            namespace: h.namespace,
        }
    }
}

#[pymethods]
impl Health {
    fn __repr__(&self) -> String {
        format!(
            "Health(backend={:?}, server_version={:?}, rtt_ms={:.3}, keys={}, namespace={:?})",
            self.backend, self.server_version, self.rtt_ms, self.keys, self.namespace
        )
    }
}

fn checked(hub: &CoreHub) -> PyResult<()> {
    hub.check().map_err(to_py)
}

/// A handle on a store and a namespace (blocking calls).
#[pyclass(frozen, module = "zerolag._core", name = "Hub")]
pub struct Hub {
    pub(crate) inner: Arc<CoreHub>,
    url: Option<String>,
}

#[pymethods]
impl Hub {
    #[new]
    #[pyo3(signature = (url=None, *, root=PathBuf::from("."), namespace="default".to_string()))]
    #[pyo3(text_signature = "(url=None, *, root='.', namespace='default')")]
    fn new(
        py: Python<'_>,
        url: Option<String>,
        root: PathBuf,
        namespace: String,
    ) -> PyResult<Self> {
        let u = url.clone();
        let hub = py
            .detach(move || CoreHub::open_blocking(u, root, namespace))
            .map_err(to_py)?;
        Ok(Hub {
            inner: Arc::new(hub),
            url,
        })
    }

    /// `"embedded"`, `"redis"` or `"redis-cluster"`.
    #[getter]
    fn backend(&self) -> &'static str {
        self.inner.backend().name()
    }

    #[getter]
    fn namespace(&self) -> &str {
        self.inner.namespace()
    }

    #[getter]
    fn url(&self) -> Option<String> {
        self.url.clone()
    }

    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    #[getter]
    fn bus(&self) -> PyResult<Bus> {
        checked(&self.inner)?;
        Ok(Bus {
            hub: self.inner.clone(),
        })
    }

    #[getter]
    fn events(&self) -> PyResult<Events> {
        checked(&self.inner)?;
        Ok(Events {
            hub: self.inner.clone(),
        })
    }

    #[getter]
    fn sync(&self) -> PyResult<SyncHandle> {
        checked(&self.inner)?;
        Ok(SyncHandle {
            hub: self.inner.clone(),
        })
    }

    #[getter]
    fn docs(&self) -> PyResult<Docs> {
        checked(&self.inner)?;
        Ok(Docs {
            hub: self.inner.clone(),
        })
    }

    #[getter]
    fn jobs(&self) -> PyResult<Jobs> {
        checked(&self.inner)?;
        Ok(Jobs {
            hub: self.inner.clone(),
        })
    }

    #[getter]
    fn patterns(&self) -> PyResult<Patterns> {
        checked(&self.inner)?;
        Ok(Patterns {
            hub: self.inner.clone(),
        })
    }

    #[getter]
    fn tasks(&self) -> PyResult<Tasks> {
        checked(&self.inner)?;
        Ok(Tasks {
            hub: self.inner.clone(),
        })
    }

    fn health(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        checked(&self.inner)?;
        run_sync(py, self.inner.health(), |h| Ok(Health::from(h)))
    }

    fn clear(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        checked(&self.inner)?;
        run_sync(py, self.inner.clear(), Ok)
    }

    fn close(&self) {
        self.inner.close();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.inner.close();
        false
    }

    fn __repr__(&self) -> String {
        format!(
            "Hub(backend={:?}, namespace={:?}{})",
            self.inner.backend().name(),
            self.inner.namespace(),
            if self.inner.is_closed() {
                ", closed"
            } else {
                ""
            }
        )
    }
}

/// A handle on a store and a namespace (coroutines).
#[pyclass(frozen, module = "zerolag._core", name = "_AsyncHub")]
pub struct AsyncHub {
    pub(crate) inner: Arc<CoreHub>,
    url: Option<String>,
}

#[pymethods]
impl AsyncHub {
    /// Connects; use `await AsyncHub.connect(...)` (or `zerolag.open_async`).
    #[classmethod]
    #[pyo3(signature = (url=None, *, root=PathBuf::from("."), namespace="default".to_string()))]
    #[pyo3(text_signature = "(url=None, *, root='.', namespace='default')")]
    fn connect<'py>(
        _cls: &Bound<'py, PyType>,
        py: Python<'py>,
        url: Option<String>,
        root: PathBuf,
        namespace: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let hub = CoreHub::open(url.clone(), root, namespace)
                .await
                .map_err(to_py)?;
            Ok(AsyncHub {
                inner: Arc::new(hub),
                url,
            })
        })
    }

    #[getter]
    fn backend(&self) -> &'static str {
        self.inner.backend().name()
    }

    #[getter]
    fn namespace(&self) -> &str {
        self.inner.namespace()
    }

    #[getter]
    fn url(&self) -> Option<String> {
        self.url.clone()
    }

    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    #[getter]
    fn bus(&self) -> PyResult<AsyncBus> {
        checked(&self.inner)?;
        Ok(AsyncBus {
            hub: self.inner.clone(),
        })
    }

    #[getter]
    fn events(&self) -> PyResult<AsyncEvents> {
        checked(&self.inner)?;
        Ok(AsyncEvents {
            hub: self.inner.clone(),
        })
    }

    #[getter]
    fn sync(&self) -> PyResult<SyncHandle> {
        checked(&self.inner)?;
        Ok(SyncHandle {
            hub: self.inner.clone(),
        })
    }

    #[getter]
    fn docs(&self) -> PyResult<AsyncDocs> {
        checked(&self.inner)?;
        Ok(AsyncDocs {
            hub: self.inner.clone(),
        })
    }

    #[getter]
    fn jobs(&self) -> PyResult<AsyncJobs> {
        checked(&self.inner)?;
        Ok(AsyncJobs {
            hub: self.inner.clone(),
        })
    }

    #[getter]
    fn patterns(&self) -> PyResult<AsyncPatterns> {
        checked(&self.inner)?;
        Ok(AsyncPatterns {
            hub: self.inner.clone(),
        })
    }

    #[getter]
    fn tasks(&self) -> PyResult<AsyncTasks> {
        checked(&self.inner)?;
        Ok(AsyncTasks {
            hub: self.inner.clone(),
        })
    }

    fn health<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        checked(&self.inner)?;
        run_async(py, self.inner.health(), |h| Ok(Health::from(h)))
    }

    fn clear<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        checked(&self.inner)?;
        run_async(py, self.inner.clear(), Ok)
    }

    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.inner.close();
        run_async(py, crate::engine::Op::Ready(Ok(())), Ok)
    }

    fn __repr__(&self) -> String {
        format!(
            "_AsyncHub(backend={:?}, namespace={:?}{})",
            self.inner.backend().name(),
            self.inner.namespace(),
            if self.inner.is_closed() {
                ", closed"
            } else {
                ""
            }
        )
    }
}
