//! `hub.jobs` from Python (issue 3): the sync class waits on core ops with the GIL released,
//! the async class returns awaitables.

use std::sync::Arc;

use pyo3::prelude::*;

use crate::hub::Hub as CoreHub;

/// `hub.jobs` of a sync hub.
#[pyclass(frozen, module = "zerolag._core", name = "Jobs")]
pub struct Jobs {
    pub(crate) hub: Arc<CoreHub>,
}

/// `hub.jobs` of an async hub.
#[pyclass(frozen, module = "zerolag._core", name = "_AsyncJobs")]
pub struct AsyncJobs {
    pub(crate) hub: Arc<CoreHub>,
}

#[pymethods]
impl Jobs {
    fn __repr__(&self) -> String {
        format!("Jobs(namespace={:?})", self.hub.namespace())
    }
}

#[pymethods]
impl AsyncJobs {
    fn __repr__(&self) -> String {
        format!("_AsyncJobs(namespace={:?})", self.hub.namespace())
    }
}

/// Adds this capability's classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Jobs>()?;
    m.add_class::<AsyncJobs>()?;
    Ok(())
}
