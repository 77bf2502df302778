//! The record type of `hub.memory` from Python (`MemoryRecord`), with the conversions the
//! capability's other Python types share (scopes, times). Apart from the capability's methods
//! (`memory_store.rs`) and the search (`memory_search.rs`), which both use it.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use super::convert::json_to_py;
use crate::error::Error;
use crate::memory::store::record::{self as rec, MemoryRecord as Record, Value};

pub fn scope_py<'py>(py: Python<'py>, s: &str) -> PyResult<Bound<'py, PyAny>> {
    if s.is_empty() {
        return Ok(py.None().into_bound(py));
    }
    let d = PyDict::new(py);
    for (k, v) in rec::scope_pairs(s) {
        d.set_item(k, v)?;
    }
    Ok(d.into_any())
}

pub fn secs(ms: i64) -> f64 {
    rec::secs(ms)
}

/// One stored version of a memory record.
#[pyclass(frozen, module = "zerolag._core", name = "MemoryRecord")]
pub struct MemoryRecord {
    pub(crate) r: Record,
}

#[pymethods]
impl MemoryRecord {
    #[getter]
    fn key(&self) -> &str {
        &self.r.key
    }
    #[getter]
    fn version(&self) -> u64 {
        self.r.version
    }
    #[getter]
    fn value<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.r.value {
            None => Ok(py.None().into_bound(py)),
            Some(Value::Text(s)) => Ok(PyString::new(py, s).into_any()),
            Some(Value::Json(s)) => {
                let j: serde_json::Value = serde_json::from_str(s).map_err(Error::from)?;
                json_to_py(py, &j)
            }
        }
    }
    #[getter]
    fn kind(&self) -> &'static str {
        self.r.kind.name()
    }
    #[getter]
    fn category(&self) -> Option<&str> {
        self.r.category.as_deref()
    }
    #[getter]
    fn significance(&self) -> f64 {
        self.r.significance
    }
    #[getter]
    fn scope<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        scope_py(py, &self.r.scope)
    }
    #[getter]
    fn entities(&self) -> Vec<String> {
        self.r.entities.clone()
    }
    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.r.metadata {
            None => Ok(py.None().into_bound(py)),
            Some(s) => json_to_py(py, &serde_json::from_str(s).map_err(Error::from)?),
        }
    }
    #[getter]
    fn source(&self) -> Option<&str> {
        self.r.source.as_deref()
    }
    #[getter]
    fn valid_from(&self) -> f64 {
        secs(self.r.valid_from)
    }
    #[getter]
    fn valid_to(&self) -> Option<f64> {
        self.r.valid_to.map(secs)
    }
    #[getter]
    fn recorded_at(&self) -> f64 {
        secs(self.r.recorded_at)
    }
    #[getter]
    fn superseded_at(&self) -> Option<f64> {
        self.r.superseded_at.map(secs)
    }
    #[getter]
    fn deleted(&self) -> bool {
        self.r.deleted
    }
    #[getter]
    fn row(&self) -> u64 {
        self.r.row
    }
    #[getter]
    fn has_embedding(&self) -> bool {
        self.r.space.is_some()
    }
    #[getter]
    fn space(&self) -> Option<&str> {
        self.r.space.as_deref()
    }
    fn __repr__(&self) -> String {
        let v = match &self.r.value {
            None => "<deleted>".to_string(),
            Some(v) if v.data().len() <= 60 => v.data().to_string(),
            Some(v) => format!("<{} characters>", v.data().chars().count()),
        };
        format!(
            "MemoryRecord(key={:?}, version={}, value={v}, valid_from={}, valid_to={:?}, recorded_at={})",
            self.r.key,
            self.r.version,
            secs(self.r.valid_from),
            self.r.valid_to.map(secs),
            secs(self.r.recorded_at)
        )
    }
}
