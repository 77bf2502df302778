//! `hub.patterns` from Python (issue 6): the sync class waits on core ops with the GIL
//! released, the async class returns awaitables. One method list generates both.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::convert::{json_to_py, py_to_json, str_list};
use super::errors::{to_py, validation};
use super::{run_async, run_sync};
use crate::anonymize::Anonymizer;
use crate::hub::Hub as CoreHub;
use crate::patterns::{self as core, export, model::secs, Settings};

/// A learned pattern.
#[pyclass(frozen, module = "zerolag._core", name = "Pattern")]
pub struct Pattern {
    p: core::Pattern,
}

#[pymethods]
impl Pattern {
    #[getter]
    fn id(&self) -> &str {
        &self.p.id
    }
    #[getter]
    fn repo(&self) -> &str {
        &self.p.repo
    }
    #[getter]
    fn r#type(&self) -> &str {
        &self.p.r#type
    }
    #[getter]
    fn data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.p.data)
    }
    #[getter]
    fn confidence(&self) -> f64 {
        self.p.confidence
    }
    #[getter]
    fn observations(&self) -> u64 {
        self.p.observations
    }
    #[getter]
    fn first_seen(&self) -> f64 {
        secs(self.p.first_ms)
    }
    #[getter]
    fn last_seen(&self) -> f64 {
        secs(self.p.last_ms)
    }
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<Pattern>().is_ok_and(|o| o.get().p == self.p)
    }
    fn __repr__(&self) -> String {
        format!(
            "Pattern(id={:?}, repo={:?}, type={:?}, confidence={}, observations={}, data={})",
            self.p.id,
            self.p.repo,
            self.p.r#type,
            self.p.confidence,
            self.p.observations,
            short(&self.p.data)
        )
    }
}

fn short(v: &serde_json::Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}...", s.chars().take(57).collect::<String>())
    } else {
        s
    }
}

/// How often a rule fired in a repository.
#[pyclass(frozen, module = "zerolag._core", name = "IssueStat")]
pub struct IssueStat {
    #[pyo3(get)]
    repo: String,
    #[pyo3(get)]
    rule_id: String,
    #[pyo3(get)]
    count: u64,
    #[pyo3(get)]
    file: String,
    #[pyo3(get)]
    severity: String,
    #[pyo3(get)]
    message: String,
    #[pyo3(get)]
    first_seen: f64,
    #[pyo3(get)]
    last_seen: f64,
}

impl From<core::Issue> for IssueStat {
    fn from(i: core::Issue) -> Self {
        IssueStat {
            repo: i.repo,
            rule_id: i.rule,
            count: i.count,
            file: i.file,
            severity: i.severity,
            message: i.message,
            first_seen: secs(i.first_ms),
            last_seen: secs(i.last_ms),
        }
    }
}

#[pymethods]
impl IssueStat {
    fn __repr__(&self) -> String {
        format!(
            "IssueStat(repo={:?}, rule_id={:?}, count={}, severity={:?}, file={:?})",
            self.repo, self.rule_id, self.count, self.severity, self.file
        )
    }
}

/// A proposed fix and whether it was accepted.
#[pyclass(frozen, module = "zerolag._core", name = "FixOutcome")]
pub struct FixOutcome {
    #[pyo3(get)]
    repo: String,
    #[pyo3(get)]
    rule_id: String,
    #[pyo3(get)]
    fix: String,
    #[pyo3(get)]
    accepted: bool,
    #[pyo3(get)]
    feedback: Option<String>,
    #[pyo3(get)]
    time: f64,
}

impl From<core::Fix> for FixOutcome {
    fn from(f: core::Fix) -> Self {
        FixOutcome {
            repo: f.repo,
            rule_id: f.rule,
            fix: f.fix,
            accepted: f.accepted,
            feedback: f.feedback,
            time: secs(f.at_ms),
        }
    }
}

#[pymethods]
impl FixOutcome {
    fn __repr__(&self) -> String {
        format!(
            "FixOutcome(repo={:?}, rule_id={:?}, accepted={}, fix={:?})",
            self.repo,
            self.rule_id,
            if self.accepted { "True" } else { "False" },
            self.fix.chars().take(40).collect::<String>()
        )
    }
}

/// Acceptance of one rule's fixes.
#[pyclass(frozen, module = "zerolag._core", name = "Acceptance")]
pub struct Acceptance {
    #[pyo3(get)]
    rule_id: String,
    #[pyo3(get)]
    accepted: u64,
    #[pyo3(get)]
    total: u64,
}

impl From<core::Acceptance> for Acceptance {
    fn from(a: core::Acceptance) -> Self {
        Acceptance {
            rule_id: a.rule,
            accepted: a.accepted,
            total: a.total,
        }
    }
}

#[pymethods]
impl Acceptance {
    /// accepted / total (0.0 without fixes).
    #[getter]
    fn rate(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.accepted as f64 / self.total as f64
        }
    }
    fn __repr__(&self) -> String {
        format!(
            "Acceptance(rule_id={:?}, accepted={}, total={}, rate={:.3})",
            self.rule_id,
            self.accepted,
            self.total,
            self.rate()
        )
    }
}

/// A learning session summary.
#[pyclass(frozen, module = "zerolag._core", name = "LearningSession")]
pub struct LearningSession {
    s: core::Session,
}

#[pymethods]
impl LearningSession {
    #[getter]
    fn repo(&self) -> &str {
        &self.s.repo
    }
    #[getter]
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.s.summary)
    }
    #[getter]
    fn time(&self) -> f64 {
        secs(self.s.at_ms)
    }
    fn __repr__(&self) -> String {
        format!(
            "LearningSession(repo={:?}, time={:.3}, summary={})",
            self.s.repo,
            secs(self.s.at_ms),
            short(&self.s.summary)
        )
    }
}

/// How a rule's count moved between two windows.
#[pyclass(frozen, module = "zerolag._core", name = "Trend")]
pub struct Trend {
    #[pyo3(get)]
    rule_id: String,
    #[pyo3(get)]
    current: u64,
    #[pyo3(get)]
    previous: u64,
}

#[pymethods]
impl Trend {
    /// current - previous.
    #[getter]
    fn change(&self) -> i64 {
        self.current as i64 - self.previous as i64
    }
    fn __repr__(&self) -> String {
        format!(
            "Trend(rule_id={:?}, current={}, previous={}, change={:+})",
            self.rule_id,
            self.current,
            self.previous,
            self.change()
        )
    }
}

/// What `insights(repo)` returns.
#[pyclass(frozen, module = "zerolag._core", name = "Insights")]
pub struct Insights {
    i: core::Insights,
}

#[pymethods]
impl Insights {
    #[getter]
    fn repo(&self) -> &str {
        &self.i.repo
    }
    #[getter]
    fn patterns(&self) -> Vec<Pattern> {
        self.i
            .patterns
            .iter()
            .map(|p| Pattern { p: p.clone() })
            .collect()
    }
    #[getter]
    fn issues(&self) -> Vec<IssueStat> {
        self.i.issues.iter().cloned().map(IssueStat::from).collect()
    }
    #[getter]
    fn acceptance(&self) -> Vec<Acceptance> {
        self.i
            .acceptance
            .iter()
            .cloned()
            .map(Acceptance::from)
            .collect()
    }
    #[getter]
    fn trends(&self) -> Vec<Trend> {
        self.i.trends.iter().cloned().map(trend).collect()
    }
    #[getter]
    fn counts(&self) -> BTreeMap<String, u64> {
        self.i.counts.clone()
    }
    #[getter]
    fn window_days(&self) -> u64 {
        self.i.window_days
    }
    fn __repr__(&self) -> String {
        format!(
            "Insights(repo={:?}, patterns={}, issues={}, acceptance={}, trends={}, counts={:?})",
            self.i.repo,
            self.i.patterns.len(),
            self.i.issues.len(),
            self.i.acceptance.len(),
            self.i.trends.len(),
            self.i.counts
        )
    }
}

fn trend(t: core::Trend) -> Trend {
    Trend {
        rule_id: t.rule,
        current: t.current,
        previous: t.previous,
    }
}

/// What `patterns.health()` returns.
#[pyclass(frozen, module = "zerolag._core", name = "PatternHealth")]
pub struct PatternHealth {
    #[pyo3(get)]
    backend: String,
    #[pyo3(get)]
    connected: bool,
    #[pyo3(get)]
    rtt_ms: f64,
    #[pyo3(get)]
    counts: BTreeMap<String, u64>,
    #[pyo3(get)]
    storage_bytes: u64,
    #[pyo3(get)]
    oldest: Option<f64>,
    #[pyo3(get)]
    newest: Option<f64>,
}

#[pymethods]
impl PatternHealth {
    fn __repr__(&self) -> String {
        format!(
            "PatternHealth(backend={:?}, connected={}, counts={:?}, storage_bytes={}, oldest={}, newest={})",
            self.backend,
            if self.connected { "True" } else { "False" },
            self.counts,
            self.storage_bytes,
            opt_f(self.oldest),
            opt_f(self.newest)
        )
    }
}

fn opt_f(v: Option<f64>) -> String {
    v.map_or_else(|| "None".to_string(), |x| format!("{x:.3}"))
}

fn pattern(p: core::Pattern) -> PyResult<Pattern> {
    Ok(Pattern { p })
}

fn patterns(v: Vec<core::Pattern>) -> PyResult<Vec<Pattern>> {
    Ok(v.into_iter().map(|p| Pattern { p }).collect())
}

fn issue(i: core::Issue) -> PyResult<IssueStat> {
    Ok(i.into())
}

fn issues(v: Vec<core::Issue>) -> PyResult<Vec<IssueStat>> {
    Ok(v.into_iter().map(IssueStat::from).collect())
}

fn fix(f: core::Fix) -> PyResult<FixOutcome> {
    Ok(f.into())
}

fn fixes(v: Vec<core::Fix>) -> PyResult<Vec<FixOutcome>> {
    Ok(v.into_iter().map(FixOutcome::from).collect())
}

fn acceptance(v: Vec<core::Acceptance>) -> PyResult<BTreeMap<String, Acceptance>> {
    Ok(v.into_iter()
        .map(|a| (a.rule.clone(), Acceptance::from(a)))
        .collect())
}

fn session(s: core::Session) -> PyResult<LearningSession> {
    Ok(LearningSession { s })
}

fn sessions(v: Vec<core::Session>) -> PyResult<Vec<LearningSession>> {
    Ok(v.into_iter().map(|s| LearningSession { s }).collect())
}

fn insights(i: core::Insights) -> PyResult<Insights> {
    Ok(Insights { i })
}

fn health(h: core::Health) -> PyResult<PatternHealth> {
    Ok(PatternHealth {
        backend: h.backend,
        connected: h.connected,
        rtt_ms: h.rtt_ms,
        counts: h.counts,
        storage_bytes: h.storage_bytes,
        oldest: h.oldest_ms.map(secs),
        newest: h.newest_ms.map(secs),
    })
}

fn dump(d: core::Dump) -> PyResult<Py<PyAny>> {
    let v = export::to_json(&d);
    Python::attach(|py| Ok(json_to_py(py, &v)?.unbind()))
}

fn same<T>(v: T) -> PyResult<T> {
    Ok(v)
}

fn json_arg(o: &Bound<'_, PyAny>, what: &str) -> PyResult<serde_json::Value> {
    py_to_json(o).map_err(|e| validation(format!("{what} is not a JSON value: {e}")))
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
    s.validate().map_err(to_py)?;
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
            Some(Some(
                Anonymizer::new(&disable, &extra, key.as_deref()).map_err(to_py)?,
            ))
        }
        Some(true) if !p.anonymizing() => {
            Some(Some(Anonymizer::new(&[], &[], None).map_err(to_py)?))
        }
        _ => None,
    };
    p.configure(s).map_err(to_py)?;
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
    let v = json_arg(data, "the export")?;
    let d = export::from_json(&v, repo).map_err(to_py)?;
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
                rules: Option<HashMap<String, String>>,
                key: Option<Vec<u8>>,
            ) -> PyResult<Bound<'py, PyDict>> {
                configure(py, &self.hub, ttl, max_fixes, max_sessions, max_payload, anonymize, disable, rules, key)
            }

            #[pyo3(signature = (repo, r#type, data, *, confidence=0.5))]
            fn store<'py>(&self, py: Python<'py>, repo: &str, r#type: &str, data: &Bound<'py, PyAny>, confidence: f64) -> PyResult<$ret> {
                check(&self.hub)?;
                let data = json_arg(data, "pattern data")?;
                $run(py, self.hub.patterns.store(repo, r#type, &data, confidence), pattern)
            }

            #[pyo3(signature = (repo, r#type=None, *, min_confidence=0.0, limit=50))]
            fn get<'py>(&self, py: Python<'py>, repo: &str, r#type: Option<&str>, min_confidence: f64, limit: usize) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.patterns.get(repo, r#type, min_confidence, limit), patterns)
            }

            fn pattern<'py>(&self, py: Python<'py>, id: &str) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.patterns.pattern(id), pattern)
            }

            #[pyo3(signature = (id, *, confidence=None, data=None, observe=true))]
            fn update<'py>(&self, py: Python<'py>, id: &str, confidence: Option<f64>, data: Option<&Bound<'py, PyAny>>, observe: bool) -> PyResult<$ret> {
                check(&self.hub)?;
                let data = data.map(|d| json_arg(d, "pattern data")).transpose()?;
                $run(py, self.hub.patterns.update(id, confidence, data.as_ref(), observe), pattern)
            }

            fn delete<'py>(&self, py: Python<'py>, id: &str) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.patterns.delete(id), same)
            }

            #[pyo3(signature = (repo, rule_id, *, file="", severity="warning", message="", at=None))]
            #[allow(clippy::too_many_arguments)]
            fn track_issue<'py>(&self, py: Python<'py>, repo: &str, rule_id: &str, file: &str, severity: &str, message: &str, at: Option<f64>) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.patterns.track_issue(repo, rule_id, file, severity, message, at), issue)
            }

            #[pyo3(signature = (repo, *, limit=10, since=None))]
            fn top_issues<'py>(&self, py: Python<'py>, repo: &str, limit: usize, since: Option<f64>) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.patterns.top_issues(repo, limit, since), issues)
            }

            #[pyo3(signature = (repo, rule_id, *, fix, accepted, feedback=None, at=None))]
            #[allow(clippy::too_many_arguments)]
            fn record_fix<'py>(&self, py: Python<'py>, repo: &str, rule_id: &str, fix: &str, accepted: bool, feedback: Option<&str>, at: Option<f64>) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.patterns.record_fix(repo, rule_id, fix, accepted, feedback, at), self::fix)
            }

            #[pyo3(signature = (repo, *, rule_id=None, limit=100))]
            fn fixes<'py>(&self, py: Python<'py>, repo: &str, rule_id: Option<&str>, limit: usize) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.patterns.fixes(repo, rule_id, limit), self::fixes)
            }

            fn acceptance<'py>(&self, py: Python<'py>, repo: &str) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.patterns.acceptance(repo), self::acceptance)
            }

            #[pyo3(signature = (repo, summary, *, at=None))]
            fn record_session<'py>(&self, py: Python<'py>, repo: &str, summary: &Bound<'py, PyAny>, at: Option<f64>) -> PyResult<$ret> {
                check(&self.hub)?;
                let summary = json_arg(summary, "session summary")?;
                $run(py, self.hub.patterns.record_session(repo, &summary, at), session)
            }

            #[pyo3(signature = (repo, *, limit=50))]
            fn sessions<'py>(&self, py: Python<'py>, repo: &str, limit: usize) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.patterns.sessions(repo, limit), self::sessions)
            }

            #[pyo3(signature = (repo, *, limit=10, window_days=7))]
            fn insights<'py>(&self, py: Python<'py>, repo: &str, limit: usize, window_days: u64) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.patterns.insights(repo, limit, window_days), self::insights)
            }

            fn health<'py>(&self, py: Python<'py>) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.patterns.health(), self::health)
            }

            fn cleanup<'py>(&self, py: Python<'py>) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.patterns.cleanup(), same)
            }

            fn export<'py>(&self, py: Python<'py>, repo: &str) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.patterns.export(repo), dump)
            }

            #[pyo3(signature = (data, *, repo=None))]
            fn import_<'py>(&self, py: Python<'py>, data: &Bound<'py, PyAny>, repo: Option<&str>) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, import_op(&self.hub, data, repo)?, same)
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
#[pyclass(frozen, module = "zerolag._core", name = "_AsyncPatterns")]
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
