//! `hub.metrics()` and `hub.jobs.counts()` from Python: results built as JSON in the core,
//! handed over as plain dicts and lists.

use pyo3::prelude::*;
use serde_json::{json, Value};

use super::convert::json_to_py;
use crate::jobs::counts::Count;

/// A JSON value returned to Python as dicts, lists and scalars.
pub struct JsonOut(pub Value);

impl<'py> IntoPyObject<'py> for JsonOut {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.0)
    }
}

/// `hub.jobs.counts()` rows as `[{"kind", "state", "count"}]`.
pub fn counts(rows: Vec<Count>) -> PyResult<JsonOut> {
    Ok(JsonOut(Value::Array(
        rows.into_iter()
            .map(|c| json!({"kind": c.kind, "state": c.state, "count": c.count}))
            .collect(),
    )))
}
