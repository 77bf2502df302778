//! `hub.jobs.list(...)` from Python: a page of jobs (`JobPage`), iterable, with the next
//! page's cursor and a table for Jupyter.

use pyo3::prelude::*;
use pyo3::types::PyList;

use super::job::Job;
use crate::jobs::list as core;

/// One page of `Jobs.list`: iterate it or read `.jobs`; pass `.next_cursor` back to
/// `list(cursor=...)` for the next page (None at the end).
#[pyclass(frozen, module = "zerolag._core", name = "JobPage")]
pub struct JobPage {
    jobs: Vec<Py<Job>>,
    #[pyo3(get)]
    next_cursor: Option<String>,
}

#[pymethods]
impl JobPage {
    #[getter]
    fn jobs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.jobs.iter().map(|j| j.clone_ref(py)))
    }
    fn __len__(&self) -> usize {
        self.jobs.len()
    }
    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(self.jobs(py)?.into_any().try_iter()?.into_any())
    }
    fn __getitem__(&self, py: Python<'_>, i: isize) -> PyResult<Py<Job>> {
        let n = self.jobs.len() as isize;
        let at = if i < 0 { i + n } else { i };
        if !(0..n).contains(&at) {
            return Err(pyo3::exceptions::PyIndexError::new_err(
                "job page index out of range",
            ));
        }
        Ok(self.jobs[at as usize].clone_ref(py))
    }
    /// The page as an HTML table, one row per job (Jupyter).
    fn _repr_html_(&self, py: Python<'_>) -> String {
        let rows: Vec<Vec<String>> = self.jobs.iter().map(|j| j.bind(py).get().cells()).collect();
        let more = match &self.next_cursor {
            Some(_) => ", more after this page",
            None => "",
        };
        super::html::table(
            &format!("{} jobs{more}", self.jobs.len()),
            Job::CELLS,
            &rows,
        )
    }
    fn __repr__(&self) -> String {
        format!(
            "JobPage({} jobs, next_cursor={:?})",
            self.jobs.len(),
            self.next_cursor
        )
    }
}

/// The Python page of a core page.
pub fn page(p: core::JobPage) -> PyResult<JobPage> {
    Python::attach(|py| {
        let jobs = p
            .jobs
            .into_iter()
            .map(|j| Py::new(py, Job::from_core(j)))
            .collect::<PyResult<_>>()?;
        Ok(JobPage {
            jobs,
            next_cursor: p.next,
        })
    })
}
