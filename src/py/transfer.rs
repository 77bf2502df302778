//! What `Hub.export()` and `Hub.import_()` return.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::transfer::Summary;

/// What an export or an import of a namespace did.
#[pyclass(frozen, module = "zerolag._core", name = "Transfer")]
pub struct Transfer {
    s: Summary,
}

impl From<Summary> for Transfer {
    fn from(s: Summary) -> Self {
        Transfer { s }
    }
}

#[pymethods]
impl Transfer {
    /// The file.
    #[getter]
    fn path(&self) -> String {
        self.s.path.display().to_string()
    }
    /// The namespace exported, or imported into.
    #[getter]
    fn namespace(&self) -> &str {
        &self.s.namespace
    }
    /// Its backend.
    #[getter]
    fn backend(&self) -> &str {
        &self.s.backend
    }
    /// The namespace the file was exported from.
    #[getter]
    fn source_namespace(&self) -> &str {
        &self.s.source_namespace
    }
    /// The backend the file was exported from.
    #[getter]
    fn source_backend(&self) -> &str {
        &self.s.source_backend
    }
    /// When the file was written (Unix seconds).
    #[getter]
    fn created(&self) -> f64 {
        self.s.created
    }
    /// Records per capability, in file order.
    #[getter]
    fn records<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, n) in &self.s.records {
            d.set_item(k, n)?;
        }
        Ok(d)
    }
    /// All records.
    #[getter]
    fn total(&self) -> u64 {
        self.s.total()
    }
    /// Size of the file in bytes.
    #[getter]
    fn bytes(&self) -> u64 {
        self.s.bytes
    }
    /// Seconds it took.
    #[getter]
    fn seconds(&self) -> f64 {
        self.s.seconds
    }

    /// The fields as a dict (what `zerolag export --json` prints).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("path", self.path())?;
        d.set_item("namespace", &self.s.namespace)?;
        d.set_item("backend", &self.s.backend)?;
        d.set_item("source_namespace", &self.s.source_namespace)?;
        d.set_item("source_backend", &self.s.source_backend)?;
        d.set_item("created", self.s.created)?;
        d.set_item("records", self.records(py)?)?;
        d.set_item("total", self.s.total())?;
        d.set_item("bytes", self.s.bytes)?;
        d.set_item("seconds", self.s.seconds)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let recs: Vec<String> = self
            .s
            .records
            .iter()
            .map(|(k, n)| format!("{k}={n}"))
            .collect();
        format!(
            "Transfer(path={:?}, namespace={:?}, backend={:?}, records={{{}}}, seconds={:.3})",
            self.path(),
            self.s.namespace,
            self.s.backend,
            recs.join(", "),
            self.s.seconds
        )
    }
}
