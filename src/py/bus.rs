//! `hub.bus` from Python (issue 3): the sync class waits on core ops with the GIL released,
//! the async class returns awaitables.

use std::sync::Arc;

use pyo3::prelude::*;

use crate::hub::Hub as CoreHub;

/// `hub.bus` of a sync hub.
#[pyclass(frozen, module = "zerolag._core", name = "Bus")]
pub struct Bus {
    pub(crate) hub: Arc<CoreHub>,
}

/// `hub.bus` of an async hub.
#[pyclass(frozen, module = "zerolag._core", name = "_AsyncBus")]
pub struct AsyncBus {
    pub(crate) hub: Arc<CoreHub>,
}

#[pymethods]
impl Bus {
    fn __repr__(&self) -> String {
        format!("Bus(namespace={:?})", self.hub.namespace())
    }
}

#[pymethods]
impl AsyncBus {
    fn __repr__(&self) -> String {
        format!("_AsyncBus(namespace={:?})", self.hub.namespace())
    }
}

/// Adds this capability's classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Bus>()?;
    m.add_class::<AsyncBus>()?;
    Ok(())
}
