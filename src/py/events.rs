//! `hub.events` from Python (issue 3): the sync class waits on core ops with the GIL released,
//! the async class returns awaitables.

use std::sync::Arc;

use pyo3::prelude::*;

use crate::hub::Hub as CoreHub;

/// `hub.events` of a sync hub.
#[pyclass(frozen, module = "zerolag._core", name = "Events")]
pub struct Events {
    pub(crate) hub: Arc<CoreHub>,
}

/// `hub.events` of an async hub.
#[pyclass(frozen, module = "zerolag._core", name = "_AsyncEvents")]
pub struct AsyncEvents {
    pub(crate) hub: Arc<CoreHub>,
}

#[pymethods]
impl Events {
    fn __repr__(&self) -> String {
        format!("Events(namespace={:?})", self.hub.namespace())
    }
}

#[pymethods]
impl AsyncEvents {
    fn __repr__(&self) -> String {
        format!("_AsyncEvents(namespace={:?})", self.hub.namespace())
    }
}

/// Adds this capability's classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Events>()?;
    m.add_class::<AsyncEvents>()?;
    Ok(())
}
