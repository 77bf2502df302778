//! The `Job` record from Python (what `hub.jobs.get`, `enqueue` and `list` return), and the
//! conversions of core jobs into it.

use pyo3::prelude::*;

use super::convert::json_to_py;
use crate::jobs as core;

/// A job as stored.
#[pyclass(frozen, module = "zerolag._core", name = "Job")]
pub struct Job {
    pub(super) j: core::Job,
}

fn opt_json<'py>(py: Python<'py>, v: &Option<serde_json::Value>) -> PyResult<Bound<'py, PyAny>> {
    match v {
        Some(v) => json_to_py(py, v),
        None => Ok(py.None().into_bound(py)),
    }
}

#[pymethods]
impl Job {
    #[getter]
    fn id(&self) -> &str {
        &self.j.id
    }
    #[getter]
    fn kind(&self) -> &str {
        &self.j.kind
    }
    #[getter]
    fn payload<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.j.payload)
    }
    #[getter]
    fn priority(&self) -> i64 {
        self.j.priority
    }
    #[getter]
    fn status(&self) -> &str {
        &self.j.status
    }
    #[getter]
    fn attempts(&self) -> u32 {
        self.j.attempts
    }
    #[getter]
    fn max_attempts(&self) -> u32 {
        self.j.max_attempts
    }
    #[getter]
    fn backoff(&self) -> (&'static str, f64) {
        (self.j.backoff.name(), self.j.backoff.base())
    }
    #[getter]
    fn timeout(&self) -> Option<f64> {
        self.j.timeout
    }
    #[getter]
    fn run_at(&self) -> f64 {
        self.j.run_at
    }
    #[getter]
    fn created_at(&self) -> f64 {
        self.j.created_at
    }
    #[getter]
    fn started_at(&self) -> Option<f64> {
        self.j.started_at
    }
    #[getter]
    fn finished_at(&self) -> Option<f64> {
        self.j.finished_at
    }
    #[getter]
    fn result<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        opt_json(py, &self.j.result)
    }
    #[getter]
    fn error(&self) -> Option<&str> {
        self.j.error.as_deref()
    }
    #[getter]
    fn progress<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        opt_json(py, &self.j.progress)
    }
    #[getter]
    fn idempotency_key(&self) -> Option<&str> {
        self.j.idempotency_key.as_deref()
    }
    /// Metadata it was enqueued with (a trace context, a correlation id).
    #[getter]
    fn headers(&self) -> std::collections::BTreeMap<String, String> {
        self.j.headers.clone()
    }
    #[getter]
    fn worker(&self) -> Option<&str> {
        self.j.worker.as_deref()
    }
    /// The job as an HTML table (Jupyter).
    fn _repr_html_(&self) -> String {
        let j = &self.j;
        let json =
            |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_default();
        super::html::fields(
            &format!("Job {}", j.id),
            &[
                ("kind", j.kind.clone()),
                ("status", j.status.clone()),
                ("priority", j.priority.to_string()),
                ("attempts", format!("{} of {}", j.attempts, j.max_attempts)),
                ("payload", j.payload.to_string()),
                ("result", json(&j.result)),
                ("error", j.error.clone().unwrap_or_default()),
                ("progress", json(&j.progress)),
                ("worker", j.worker.clone().unwrap_or_default()),
            ],
        )
    }

    fn __repr__(&self) -> String {
        format!(
            "Job(id={:?}, kind={:?}, status={:?}, priority={}, attempts={}/{}, error={})",
            self.j.id,
            self.j.kind,
            self.j.status,
            self.j.priority,
            self.j.attempts,
            self.j.max_attempts,
            match &self.j.error {
                Some(e) => format!("{e:?}"),
                None => "None".to_string(),
            }
        )
    }
}

pub(super) fn job(j: core::Job) -> PyResult<Job> {
    Ok(Job { j })
}

impl Job {
    /// Columns of a job list's table.
    pub(super) const CELLS: &'static [&'static str] = &[
        "id", "kind", "status", "priority", "attempts", "progress", "error", "worker",
    ];

    pub(super) fn from_core(j: core::Job) -> Job {
        Job { j }
    }

    /// One row of a job list's table ([`Job::CELLS`]).
    pub(super) fn cells(&self) -> Vec<String> {
        let j = &self.j;
        let mut error = j.error.clone().unwrap_or_default();
        if error.chars().count() > 120 {
            error = error.chars().take(119).collect::<String>() + "…";
        }
        vec![
            j.id.clone(),
            j.kind.clone(),
            j.status.clone(),
            j.priority.to_string(),
            format!("{} of {}", j.attempts, j.max_attempts),
            j.progress
                .as_ref()
                .map(|v| v.to_string())
                .unwrap_or_default(),
            error,
            j.worker.clone().unwrap_or_default(),
        ]
    }
}

pub(super) fn jobs_vec(v: Vec<core::Job>) -> PyResult<Vec<Job>> {
    Ok(v.into_iter().map(|j| Job { j }).collect())
}

pub(super) fn opt_jobs(v: Vec<Option<core::Job>>) -> PyResult<Vec<Option<Job>>> {
    Ok(v.into_iter().map(|j| j.map(|j| Job { j })).collect())
}
