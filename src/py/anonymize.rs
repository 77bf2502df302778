//! `zerolag.anonymize(text)` and `zerolag.Anonymizer`: secret redaction from Python.

use std::collections::HashMap;
use std::sync::LazyLock;

use pyo3::prelude::*;

use super::convert::{json_to_py, py_to_json, string_map, strings, Text};
use super::errors::to_py;
use crate::anonymize::{self as core, CATEGORIES};

static DEFAULT: LazyLock<Result<core::Anonymizer, String>> =
    LazyLock::new(|| core::Anonymizer::new(&[], &[], None).map_err(|e| e.to_string()));

/// What `Anonymizer.scan` reports for one redaction.
#[pyclass(frozen, module = "zerolag._core", name = "Finding")]
pub struct Finding {
    #[pyo3(get)]
    start: usize,
    #[pyo3(get)]
    end: usize,
    #[pyo3(get)]
    category: String,
    #[pyo3(get)]
    rule: String,
    #[pyo3(get)]
    placeholder: String,
}

#[pymethods]
impl Finding {
    fn __repr__(&self) -> String {
        format!(
            "Finding(rule={:?}, category={:?}, start={}, end={}, placeholder={:?})",
            self.rule, self.category, self.start, self.end, self.placeholder
        )
    }
}

/// A configured set of rules and a key.
#[pyclass(frozen, module = "zerolag._core", name = "Anonymizer")]
pub struct Anonymizer {
    inner: core::Anonymizer,
}

fn build(
    disable: Vec<String>,
    rules: Option<HashMap<String, String>>,
    key: Option<Vec<u8>>,
) -> PyResult<core::Anonymizer> {
    let mut extra: Vec<(String, String)> = rules.unwrap_or_default().into_iter().collect();
    extra.sort();
    core::Anonymizer::new(&disable, &extra, key.as_deref()).map_err(to_py)
}

/// Char offset of byte offset `b` in `s` (Python indexes strings by code point).
fn char_offset(s: &str, b: usize) -> usize {
    s[..b].chars().count()
}

#[pymethods]
impl Anonymizer {
    #[new]
    #[pyo3(signature = (*, disable=Vec::new(), rules=None, key=None))]
    fn new(
        disable: Vec<Text>,
        rules: Option<HashMap<Text, Text>>,
        key: Option<Vec<u8>>,
    ) -> PyResult<Self> {
        Ok(Anonymizer {
            inner: build(strings(disable), string_map(rules), key)?,
        })
    }

    /// `text` with every secret replaced by its placeholder.
    fn anonymize(&self, py: Python<'_>, text: Text) -> String {
        py.detach(|| self.inner.anonymize(&text))
    }

    /// A copy of a JSON-like value with every string (and key) anonymised.
    fn anonymize_json<'py>(
        &self,
        py: Python<'py>,
        value: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let v = py_to_json(value, "value")?;
        let out = py.detach(|| self.inner.anonymize_json(&v));
        json_to_py(py, &out)
    }

    /// What would be redacted, in order (offsets index the str).
    fn scan(&self, py: Python<'_>, text: Text) -> Vec<Finding> {
        let found = py.detach(|| self.inner.scan(&text));
        found
            .into_iter()
            .map(|f| Finding {
                start: char_offset(&text, f.start),
                end: char_offset(&text, f.end),
                category: f.category,
                rule: f.rule,
                placeholder: f.placeholder,
            })
            .collect()
    }

    /// Categories of the built-in rules (what `disable` takes).
    #[staticmethod]
    fn categories() -> Vec<&'static str> {
        CATEGORIES.to_vec()
    }
}

/// `text` with secrets replaced, using the built-in rules and the default key.
#[pyfunction]
fn anonymize(py: Python<'_>, text: Text) -> PyResult<String> {
    match &*DEFAULT {
        Ok(a) => Ok(py.detach(|| a.anonymize(&text))),
        Err(e) => Err(super::errors::to_py(crate::error::Error::Backend(
            e.clone(),
        ))),
    }
}

/// Adds the anonymiser to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Finding>()?;
    m.add_class::<Anonymizer>()?;
    m.add_function(wrap_pyfunction!(anonymize, m)?)?;
    Ok(())
}
