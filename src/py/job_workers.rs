//! `hub.jobs.workers()` / `register_worker` and `hub.jobs.requeue` arguments from Python.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use super::convert::{str_list, text, Text};
use super::errors::to_py;
use crate::jobs::requeue::Requeue;
use crate::jobs::workers::{WorkerInfo, WorkerSpec};

/// The registry's records as a list of dicts (the keys of `/status`'s `workers`).
pub(crate) fn worker_dicts(v: Vec<WorkerInfo>) -> PyResult<Py<PyAny>> {
    Python::attach(|py| {
        let out = PyList::empty(py);
        for w in v {
            let d = PyDict::new(py);
            d.set_item("id", w.id)?;
            d.set_item("host", w.host)?;
            d.set_item("pid", w.pid)?;
            d.set_item("kinds", w.kinds)?;
            d.set_item("interval", w.interval)?;
            d.set_item("started", w.started)?;
            d.set_item("last_beat", w.last_beat)?;
            d.set_item("done", w.done)?;
            d.set_item("failed", w.failed)?;
            d.set_item("lost", w.lost)?;
            out.append(d)?;
        }
        Ok(out.into_any().unbind())
    })
}

/// A registration: `host` defaults to this machine's name, `pid` to this process.
pub(crate) fn spec(
    py: Python<'_>,
    id: Text,
    kinds: &Bound<'_, PyAny>,
    interval: f64,
    host: Option<Text>,
    pid: Option<u32>,
) -> PyResult<WorkerSpec> {
    let kinds = match kinds.cast::<PyString>() {
        Ok(_) => vec![text(kinds, "kinds")?],
        Err(_) => str_list(kinds, "kinds")?,
    };
    let host = match host {
        Some(h) => h.into_string(),
        None => py
            .import("socket")?
            .call_method0("gethostname")?
            .extract::<String>()?,
    };
    Ok(WorkerSpec {
        id: id.into_string(),
        host,
        pid: pid.unwrap_or_else(std::process::id),
        kinds,
        interval,
    })
}

/// `requeue(ids=None, *, kind=None, limit=None)`: a single id may be given as a string.
pub(crate) fn requeue_args(
    ids: Option<&Bound<'_, PyAny>>,
    kind: Option<Text>,
    limit: Option<u64>,
) -> PyResult<Requeue> {
    let ids = match ids {
        None => None,
        Some(o) if o.is_none() => None,
        Some(o) => Some(match o.cast::<PyString>() {
            Ok(_) => vec![text(o, "ids")?],
            Err(_) => str_list(o, "ids")?,
        }),
    };
    Requeue::new(ids, kind.map(Text::into_string), limit).map_err(to_py)
}
