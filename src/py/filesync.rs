//! `hub.sync` from Python: start, stop and watch the file sync of a hub.

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;

use super::convert::Text;
use pyo3::types::PyDict;

use super::errors::{to_py, validation};
use crate::error::Error;
use crate::filesync::{Conflicts, Engine, Options, Status};
use crate::hub::Hub as CoreHub;

fn seconds(v: f64, what: &str) -> PyResult<Duration> {
    if !v.is_finite() || v <= 0.0 || v > 86_400.0 {
        return Err(validation(format!(
            "{what} must be between 0 and 86400 seconds, got {v}"
        )));
    }
    Ok(Duration::from_secs_f64(v))
}

fn status_dict<'py>(
    py: Python<'py>,
    s: Option<Status>,
    root: String,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    match s {
        None => {
            d.set_item("running", false)?;
            d.set_item("root", root)?;
        }
        Some(s) => {
            d.set_item("running", s.running)?;
            d.set_item("root", s.root.display().to_string())?;
            d.set_item("imported", s.imported)?;
            d.set_item("written", s.written)?;
            d.set_item("deleted", s.deleted)?;
            d.set_item("conflicts", s.conflicts)?;
            d.set_item("merged", s.merged)?;
            d.set_item("errors", s.errors)?;
            d.set_item("scans", s.scans)?;
            d.set_item("last_error", s.last_error)?;
            d.set_item("parked", s.parked)?;
        }
    }
    Ok(d)
}

/// `hub.sync`: the two-way mirror between `hub.docs` and the files under the hub's root.
#[pyclass(frozen, module = "zerolag._core", name = "Sync")]
pub struct SyncHandle {
    pub(crate) hub: Arc<CoreHub>,
}

#[pymethods]
impl SyncHandle {
    /// Starts the engine (reconciling files and store first); returns its status.
    #[pyo3(signature = (*, debounce=0.05, rescan=30.0, conflicts=Text::from("keep-both"), writeback_poll=0.5))]
    #[pyo3(
        text_signature = "($self, *, debounce=0.05, rescan=30.0, conflicts=\"keep-both\", writeback_poll=0.5)"
    )]
    fn start<'py>(
        &self,
        py: Python<'py>,
        debounce: f64,
        rescan: f64,
        conflicts: Text,
        writeback_poll: f64,
    ) -> PyResult<Bound<'py, PyDict>> {
        self.hub.check()?;
        let opts = Options {
            debounce: seconds(debounce, "debounce")?,
            rescan: seconds(rescan, "rescan")?,
            poll: seconds(writeback_poll, "writeback_poll")?,
            conflicts: Conflicts::parse(&conflicts)?,
        };
        if self.hub.sync.lock().is_some() {
            return Err(to_py(Error::Conflict(
                "this hub's sync engine is already running".into(),
            )));
        }
        let (docs, events) = (self.hub.docs.clone(), self.hub.events.clone());
        let root = self.hub.root().to_path_buf();
        let engine = py.detach(move || Engine::start(docs, events, &root, opts))?;
        let st = engine.status();
        *self.hub.sync.lock() = Some(engine);
        status_dict(py, Some(st), String::new())
    }

    /// Stops the engine (finishing the file in hand); True if one was running.
    fn stop(&self, py: Python<'_>) -> bool {
        let engine = self.hub.sync.lock().take();
        match engine {
            Some(e) => {
                py.detach(move || e.stop());
                true
            }
            None => false,
        }
    }

    /// Counters and state: running, root, imported, written, deleted, conflicts, errors,
    /// scans, last_error, parked (paths whose write-back failed and waits for a retry).
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let st = self.hub.sync.lock().as_ref().map(Engine::status);
        status_dict(py, st, self.hub.root().display().to_string())
    }

    #[getter]
    fn running(&self) -> bool {
        self.hub.sync.lock().is_some()
    }

    fn __repr__(&self) -> String {
        format!(
            "Sync(root={:?}, running={})",
            self.hub.root().display().to_string(),
            self.running()
        )
    }
}

/// Adds this capability's classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<SyncHandle>()?;
    Ok(())
}
