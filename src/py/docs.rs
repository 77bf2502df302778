//! `hub.docs` from Python: the sync class waits on core ops with the GIL released,
//! the async class returns awaitables.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyString;

use super::convert::{self, json_to_py, py_to_json, str_list, Text};
use super::errors::{to_py, validation};
use super::{run_async, run_sync};
use crate::docs::{self as core, Origin};
use crate::hub::Hub as CoreHub;

/// A stored YAML or JSON document.
#[pyclass(frozen, module = "zerolag._core", name = "Document")]
pub struct Document {
    d: core::Document,
}

#[pymethods]
impl Document {
    #[getter]
    fn path(&self) -> &str {
        &self.d.path
    }
    #[getter]
    fn value<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.d.value)
    }
    #[getter]
    fn text(&self) -> &str {
        &self.d.text
    }
    #[getter]
    fn format(&self) -> &str {
        self.d.format.name()
    }
    #[getter]
    fn version(&self) -> u64 {
        self.d.version
    }
    #[getter]
    fn hash(&self) -> &str {
        &self.d.hash
    }
    #[getter]
    fn origin(&self) -> &str {
        self.d.origin.name()
    }
    #[getter]
    fn created(&self) -> f64 {
        self.d.created
    }
    #[getter]
    fn updated(&self) -> f64 {
        self.d.updated
    }
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<Document>().is_ok_and(|o| o.get().d == self.d)
    }
    fn __hash__(&self) -> u64 {
        u64::from_str_radix(&self.d.hash[..16], 16).unwrap_or(0) ^ self.d.version
    }
    fn __repr__(&self) -> String {
        format!(
            "Document(path={:?}, version={}, origin={:?}, {} bytes)",
            self.d.path,
            self.d.version,
            self.d.origin.name(),
            self.d.text.len()
        )
    }
}

fn doc(d: core::Document) -> PyResult<Document> {
    Ok(Document { d })
}

fn same<T>(t: T) -> PyResult<T> {
    Ok(t)
}

fn check(hub: &CoreHub) -> PyResult<()> {
    hub.check().map_err(to_py)
}

macro_rules! docs_methods {
    ($cls:ident, $ret:ty, $run:ident) => {
        #[pymethods]
        impl $cls {
            /// Roots (top-level directories documents may live in) and the size limit of
            /// this hub's documents; returns (roots, max_bytes) in force.
            #[pyo3(signature = (*, roots=None, max_bytes=None))]
            fn configure(
                &self,
                roots: Option<&Bound<'_, PyAny>>,
                max_bytes: Option<usize>,
            ) -> PyResult<(Vec<String>, usize)> {
                let roots = roots.map(|r| str_list(r, "roots")).transpose()?;
                self.hub.docs.configure(roots, max_bytes)?;
                let s = self.hub.docs.settings();
                Ok((s.roots, s.max_bytes))
            }

            fn get<'py>(&self, py: Python<'py>, path: Text) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.docs.get(&path), doc)
            }

            #[pyo3(signature = (path, value, *, expected_version=None))]
            fn put<'py>(
                &self,
                py: Python<'py>,
                path: Text,
                value: &Bound<'py, PyAny>,
                expected_version: Option<u64>,
            ) -> PyResult<$ret> {
                check(&self.hub)?;
                let v = py_to_json(value, "value")?;
                let w = self.hub.docs.value_write(&path, &v, expected_version)?;
                $run(py, self.hub.docs.write(w), doc)
            }

            #[pyo3(signature = (path, text, *, expected_version=None))]
            fn put_text<'py>(
                &self,
                py: Python<'py>,
                path: Text,
                text: &Bound<'py, PyAny>,
                expected_version: Option<u64>,
            ) -> PyResult<$ret> {
                check(&self.hub)?;
                let text = match text.cast::<PyString>() {
                    Ok(s) => convert::text(s.as_any(), "text")?,
                    Err(_) => {
                        let b: Vec<u8> = text
                            .extract()
                            .map_err(|_| validation("text must be str or bytes"))?;
                        String::from_utf8(b).map_err(|e| {
                            validation(format!(
                                "text is not valid UTF-8 (byte {})",
                                e.utf8_error().valid_up_to()
                            ))
                        })?
                    }
                };
                let w = self
                    .hub
                    .docs
                    .text_write(&path, text, Origin::Store, expected_version)?;
                $run(py, self.hub.docs.write(w), doc)
            }

            fn merge<'py>(
                &self,
                py: Python<'py>,
                path: Text,
                updates: &Bound<'py, PyAny>,
            ) -> PyResult<$ret> {
                check(&self.hub)?;
                let u = py_to_json(updates, "updates")?;
                if !u.is_object() {
                    return Err(validation(
                        "updates must be a dict (merged into the document's mapping)",
                    ));
                }
                $run(py, self.hub.docs.merge(&path, u), doc)
            }

            fn delete<'py>(&self, py: Python<'py>, path: Text) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.docs.delete(&path, Origin::Store), same)
            }

            #[pyo3(signature = (prefix=Text::default()))]
            #[pyo3(text_signature = "($self, prefix=\"\")")]
            fn list<'py>(&self, py: Python<'py>, prefix: Text) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.docs.list(&prefix), same)
            }

            #[pyo3(signature = (limit=1000))]
            fn pending_writeback<'py>(&self, py: Python<'py>, limit: usize) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.docs.pending(limit), same)
            }

            fn __repr__(&self) -> String {
                format!(
                    "{}(namespace={:?})",
                    stringify!($cls).trim_start_matches('_'),
                    self.hub.namespace()
                )
            }
        }
    };
}

/// `hub.docs` of a sync hub.
#[pyclass(frozen, module = "zerolag._core", name = "Docs")]
pub struct Docs {
    pub(crate) hub: Arc<CoreHub>,
}

/// `hub.docs` of an async hub.
#[pyclass(frozen, module = "zerolag._core", name = "AsyncDocs")]
pub struct AsyncDocs {
    pub(crate) hub: Arc<CoreHub>,
}

docs_methods!(Docs, Py<PyAny>, run_sync);
docs_methods!(AsyncDocs, Bound<'py, PyAny>, run_async);

/// Adds this capability's classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Docs>()?;
    m.add_class::<AsyncDocs>()?;
    m.add_class::<Document>()?;
    Ok(())
}
