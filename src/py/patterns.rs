//! `hub.patterns` from Python: the sync class waits on core ops with the GIL
//! released, the async class returns awaitables. One method list generates both.

use std::collections::HashMap;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::convert::{json_to_py, py_to_json, str_list, string_map, Text};
use super::errors::{to_py, validation};
use super::pattern_results::{
    acceptance, fix, fixes, health, insights, issue, issues, pattern, patterns, session, sessions,
};
use super::{run_async, run_sync};
use crate::anonymize::Anonymizer;
use crate::hub::Hub as CoreHub;
use crate::patterns::{self as core, export, Settings};

fn dump(d: core::Dump) -> PyResult<Py<PyAny>> {
    let v = export::to_json(&d);
    Python::attach(|py| Ok(json_to_py(py, &v)?.unbind()))
}

fn same<T>(v: T) -> PyResult<T> {
    Ok(v)
}

fn json_arg(o: &Bound<'_, PyAny>, what: &str) -> PyResult<serde_json::Value> {
    py_to_json(o, what)
}

fn check(hub: &CoreHub) -> PyResult<()> {
    hub.check().map_err(to_py)
}

#[allow(clippy::too_many_arguments)]
fn configure<'py>(
    py: Python<'py>,
    hub: &CoreHub,
    ttl: Option<f64>,
    max_fixes: Option<u64>,
    max_sessions: Option<u64>,
    max_payload: Option<usize>,
    anonymize: Option<bool>,
    disable: Option<&Bound<'py, PyAny>>,
    rules: Option<HashMap<String, String>>,
    key: Option<Vec<u8>>,
) -> PyResult<Bound<'py, PyDict>> {
    let p = &hub.patterns;
    let cur = p.settings();
    let ttl_ms = match ttl {
        None => cur.ttl_ms,
        Some(t) if t.is_finite() && t > 0.0 && t < 1e10 => ((t * 1000.0).round() as u64).max(1),
        Some(t) => return Err(validation(format!("ttl must be seconds > 0, got {t}"))),
    };
    let s = Settings {
        ttl_ms,
        max_fixes: max_fixes.unwrap_or(cur.max_fixes),
        max_sessions: max_sessions.unwrap_or(cur.max_sessions),
        max_payload: max_payload.unwrap_or(cur.max_payload),
    };
    s.validate()?;
    let custom = disable.is_some() || rules.is_some() || key.is_some();
    let anon = match anonymize {
        Some(false) if custom => return Err(validation(
            "disable/rules/key configure the anonymiser; they make no sense with anonymize=False",
        )),
        Some(false) => Some(None),
        _ if custom => {
            let disable = disable
                .map(|d| str_list(d, "disable"))
                .transpose()?
                .unwrap_or_default();
            let mut extra: Vec<(String, String)> = rules.unwrap_or_default().into_iter().collect();
            extra.sort();
            Some(Some(Anonymizer::new(&disable, &extra, key.as_deref())?))
        }
        Some(true) if !p.anonymizing() => Some(Some(Anonymizer::new(&[], &[], None)?)),
        _ => None,
    };
    p.configure(s)?;
    if let Some(a) = anon {
        p.set_anonymizer(a);
    }
    settings_dict(py, hub)
}

fn settings_dict<'py>(py: Python<'py>, hub: &CoreHub) -> PyResult<Bound<'py, PyDict>> {
    let s = hub.patterns.settings();
    let d = PyDict::new(py);
    d.set_item("ttl", s.ttl_ms as f64 / 1000.0)?;
    d.set_item("max_fixes", s.max_fixes)?;
    d.set_item("max_sessions", s.max_sessions)?;
    d.set_item("max_payload", s.max_payload)?;
    d.set_item("anonymize", hub.patterns.anonymizing())?;
    Ok(d)
}

fn import_op(
    hub: &CoreHub,
    data: &Bound<'_, PyAny>,
    repo: Option<&str>,
) -> PyResult<crate::engine::Op<u64>> {
    let v = json_arg(data, "data")?;
    let d = export::from_json(&v, repo)?;
    Ok(hub.patterns.import(d))
}

macro_rules! pattern_methods {
    ($cls:ident, $ret:ty, $run:ident, { $($extra:tt)* }) => {
        #[pymethods]
        impl $cls {
            $($extra)*

            /// Retention, limits and anonymisation of this handle; returns the settings.
            #[pyo3(signature = (*, ttl=None, max_fixes=None, max_sessions=None, max_payload=None, anonymize=None, disable=None, rules=None, key=None))]
            #[allow(clippy::too_many_arguments)]
            fn configure<'py>(
                &self,
                py: Python<'py>,
                ttl: Option<f64>,
                max_fixes: Option<u64>,
                max_sessions: Option<u64>,
                max_payload: Option<usize>,
                anonymize: Option<bool>,
                disable: Option<&Bound<'py, PyAny>>,
                rules: Option<HashMap<Text, Text>>,
                key: Option<Vec<u8>>,
            ) -> PyResult<Bound<'py, PyDict>> {
                configure(py, &self.hub, ttl, max_fixes, max_sessions, max_payload, anonymize, disable, string_map(rules), key)
            }

            #[pyo3(signature = (repo, r#type, data, *, confidence=0.5))]
            fn store<'py>(&self, py: Python<'py>, repo: Text, r#type: Text, data: &Bound<'py, PyAny>, confidence: f64) -> PyResult<$ret> {
                check(&self.hub)?;
                let data = json_arg(data, "data")?;
                $run(py, self.hub.patterns.store(&repo, &r#type, &data, confidence), pattern)
            }

            #[pyo3(signature = (repo, r#type=None, *, min_confidence=0.0, limit=50))]
            fn get<'py>(&self, py: Python<'py>, repo: Text, r#type: Option<Text>, min_confidence: f64, limit: usize) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.patterns.get(&repo, r#type.as_deref(), min_confidence, limit), patterns)
            }

            fn pattern<'py>(&self, py: Python<'py>, id: Text) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.patterns.pattern(&id), pattern)
            }

            #[pyo3(signature = (id, *, confidence=None, data=None, observe=true))]
            fn update<'py>(&self, py: Python<'py>, id: Text, confidence: Option<f64>, data: Option<&Bound<'py, PyAny>>, observe: bool) -> PyResult<$ret> {
                check(&self.hub)?;
                let data = data.map(|d| json_arg(d, "data")).transpose()?;
                $run(py, self.hub.patterns.update(&id, confidence, data.as_ref(), observe), pattern)
            }

            fn delete<'py>(&self, py: Python<'py>, id: Text) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.patterns.delete(&id), same)
            }

            #[pyo3(signature = (repo, rule_id, *, file=Text::default(), severity=Text::from("warning"), message=Text::default(), at=None))]
            #[pyo3(text_signature = "($self, repo, rule_id, *, file=\"\", severity=\"warning\", message=\"\", at=None)")]
            #[allow(clippy::too_many_arguments)]
            fn track_issue<'py>(&self, py: Python<'py>, repo: Text, rule_id: Text, file: Text, severity: Text, message: Text, at: Option<f64>) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.patterns.track_issue(&repo, &rule_id, &file, &severity, &message, at), issue)
            }

            #[pyo3(signature = (repo, *, limit=10, since=None))]
            fn top_issues<'py>(&self, py: Python<'py>, repo: Text, limit: usize, since: Option<f64>) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.patterns.top_issues(&repo, limit, since), issues)
            }

            #[pyo3(signature = (repo, rule_id, *, fix, accepted, feedback=None, at=None))]
            #[allow(clippy::too_many_arguments)]
            fn record_fix<'py>(&self, py: Python<'py>, repo: Text, rule_id: Text, fix: Text, accepted: bool, feedback: Option<Text>, at: Option<f64>) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.patterns.record_fix(&repo, &rule_id, &fix, accepted, feedback.as_deref(), at), self::fix)
            }

            #[pyo3(signature = (repo, *, rule_id=None, limit=100))]
            fn fixes<'py>(&self, py: Python<'py>, repo: Text, rule_id: Option<Text>, limit: usize) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.patterns.fixes(&repo, rule_id.as_deref(), limit), self::fixes)
            }

            fn acceptance<'py>(&self, py: Python<'py>, repo: Text) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.patterns.acceptance(&repo), self::acceptance)
            }

            #[pyo3(signature = (repo, summary, *, at=None))]
            fn record_session<'py>(&self, py: Python<'py>, repo: Text, summary: &Bound<'py, PyAny>, at: Option<f64>) -> PyResult<$ret> {
                check(&self.hub)?;
                let summary = json_arg(summary, "summary")?;
                $run(py, self.hub.patterns.record_session(&repo, &summary, at), session)
            }

            #[pyo3(signature = (repo, *, limit=50))]
            fn sessions<'py>(&self, py: Python<'py>, repo: Text, limit: usize) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.patterns.sessions(&repo, limit), self::sessions)
            }

            #[pyo3(signature = (repo, *, limit=10, window_days=7))]
            fn insights<'py>(&self, py: Python<'py>, repo: Text, limit: usize, window_days: u64) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.patterns.insights(&repo, limit, window_days), self::insights)
            }

            fn health<'py>(&self, py: Python<'py>) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.patterns.health(), self::health)
            }

            fn cleanup<'py>(&self, py: Python<'py>) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.patterns.cleanup(), same)
            }

            fn export<'py>(&self, py: Python<'py>, repo: Text) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.patterns.export(&repo), dump)
            }

            #[pyo3(signature = (data, *, repo=None))]
            fn import_<'py>(&self, py: Python<'py>, data: &Bound<'py, PyAny>, repo: Option<Text>) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, import_op(&self.hub, data, repo.as_deref())?, same)
            }

            fn clear<'py>(&self, py: Python<'py>) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.patterns.clear(), same)
            }

            fn __repr__(&self) -> String {
                format!("{}(namespace={:?})", stringify!($cls), self.hub.namespace())
            }
        }
    };
}

/// `hub.patterns` of a sync hub.
#[pyclass(frozen, module = "zerolag._core", name = "Patterns")]
pub struct Patterns {
    pub(crate) hub: Arc<CoreHub>,
}

/// `hub.patterns` of an async hub.
#[pyclass(frozen, module = "zerolag._core", name = "AsyncPatterns")]
pub struct AsyncPatterns {
    pub(crate) hub: Arc<CoreHub>,
}

pattern_methods!(Patterns, Py<PyAny>, run_sync, {
    /// True once the hub is closed.
    #[getter]
    fn closed(&self) -> bool {
        self.hub.is_closed()
    }

    /// Closes the hub this memory belongs to (what `create_pattern_memory` opened).
    fn close(&self) {
        self.hub.close();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.hub.close();
        false
    }
});
pattern_methods!(AsyncPatterns, Bound<'py, PyAny>, run_async, {});

/// Adds this capability's classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Patterns>()?;
    m.add_class::<AsyncPatterns>()?;
    use super::pattern_results::{
        Acceptance, FixOutcome, Insights, IssueStat, LearningSession, Pattern, PatternHealth, Trend,
    };
    m.add_class::<Pattern>()?;
    m.add_class::<IssueStat>()?;
    m.add_class::<FixOutcome>()?;
    m.add_class::<Acceptance>()?;
    m.add_class::<LearningSession>()?;
    m.add_class::<Trend>()?;
    m.add_class::<Insights>()?;
    m.add_class::<PatternHealth>()?;
    Ok(())
}
