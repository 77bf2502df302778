//! Result objects of `hub.patterns` (frozen pyclasses with getters and `__repr__`) and the
//! conversions from the core's values.

use std::collections::BTreeMap;

use pyo3::prelude::*;

use super::convert::json_to_py;
use crate::patterns::{self as core, model::secs};

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

pub(crate) fn short(v: &serde_json::Value) -> String {
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

pub(crate) fn trend(t: core::Trend) -> Trend {
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

pub(crate) fn opt_f(v: Option<f64>) -> String {
    v.map_or_else(|| "None".to_string(), |x| format!("{x:.3}"))
}

pub(crate) fn pattern(p: core::Pattern) -> PyResult<Pattern> {
    Ok(Pattern { p })
}

pub(crate) fn patterns(v: Vec<core::Pattern>) -> PyResult<Vec<Pattern>> {
    Ok(v.into_iter().map(|p| Pattern { p }).collect())
}

pub(crate) fn issue(i: core::Issue) -> PyResult<IssueStat> {
    Ok(i.into())
}

pub(crate) fn issues(v: Vec<core::Issue>) -> PyResult<Vec<IssueStat>> {
    Ok(v.into_iter().map(IssueStat::from).collect())
}

pub(crate) fn fix(f: core::Fix) -> PyResult<FixOutcome> {
    Ok(f.into())
}

pub(crate) fn fixes(v: Vec<core::Fix>) -> PyResult<Vec<FixOutcome>> {
    Ok(v.into_iter().map(FixOutcome::from).collect())
}

pub(crate) fn acceptance(v: Vec<core::Acceptance>) -> PyResult<BTreeMap<String, Acceptance>> {
    Ok(v.into_iter()
        .map(|a| (a.rule.clone(), Acceptance::from(a)))
        .collect())
}

pub(crate) fn session(s: core::Session) -> PyResult<LearningSession> {
    Ok(LearningSession { s })
}

pub(crate) fn sessions(v: Vec<core::Session>) -> PyResult<Vec<LearningSession>> {
    Ok(v.into_iter().map(|s| LearningSession { s }).collect())
}

pub(crate) fn insights(i: core::Insights) -> PyResult<Insights> {
    Ok(Insights { i })
}

pub(crate) fn health(h: core::Health) -> PyResult<PatternHealth> {
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
