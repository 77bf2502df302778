//! `hub.jobs` from Python: the sync class waits on core ops with the GIL released,
//! the async class returns awaitables. The worker runtime is Python (`zerolag.jobs.Worker`);
//! it calls the claim / finish / heartbeat primitives here.

use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};

use super::convert::{json_to_py, opt_text, py_to_json, str_list, text, Text};
use super::errors::validation;
use super::job::{job, jobs_vec, opt_jobs, Job};
use super::{run_async, run_async_blocking, run_sync, run_sync_blocking};
use crate::error::Error;
use crate::hub::Hub as CoreHub;
use crate::jobs::{self as core, Ack, Backoff, Finish, NewJob, Outcome};

/// A job claimed by a worker: what the handler needs plus the claim token.
#[pyclass(frozen, module = "zerolag._core", name = "JobClaim")]
pub struct JobClaim {
    c: core::Claim,
}

#[pymethods]
impl JobClaim {
    #[getter]
    fn id(&self) -> &str {
        &self.c.id
    }
    #[getter]
    fn kind(&self) -> &str {
        &self.c.kind
    }
    #[getter]
    fn payload<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.c.payload)
    }
    #[getter]
    fn attempt(&self) -> u32 {
        self.c.attempt
    }
    #[getter]
    fn max_attempts(&self) -> u32 {
        self.c.max_attempts
    }
    #[getter]
    fn priority(&self) -> i64 {
        self.c.priority
    }
    #[getter]
    fn timeout(&self) -> Option<f64> {
        self.c.timeout
    }
    #[getter]
    fn token(&self) -> &str {
        &self.c.token
    }
    /// The job's headers (metadata such as a trace context).
    #[getter]
    fn headers(&self) -> std::collections::BTreeMap<String, String> {
        self.c.headers.clone()
    }
    #[getter]
    fn started_at(&self) -> f64 {
        self.c.started_at
    }
    fn __repr__(&self) -> String {
        format!(
            "JobClaim(id={:?}, kind={:?}, attempt={}/{})",
            self.c.id, self.c.kind, self.c.attempt, self.c.max_attempts
        )
    }
}

/// Seconds from a number or a timedelta.
fn seconds(o: &Bound<'_, PyAny>, what: &str) -> PyResult<f64> {
    if let Ok(ts) = o.getattr("total_seconds") {
        return ts.call0()?.extract();
    }
    o.extract::<f64>().map_err(|_| {
        PyTypeError::new_err(format!("{what} must be seconds (a number) or a timedelta"))
    })
}

/// Unix seconds from a number or a datetime (naive datetimes are local time, as
/// `datetime.timestamp()` reads them).
fn epoch(o: &Bound<'_, PyAny>) -> PyResult<f64> {
    if let Ok(ts) = o.getattr("timestamp") {
        return ts.call0()?.extract();
    }
    o.extract::<f64>()
        .map_err(|_| PyTypeError::new_err("run_at must be a datetime or Unix seconds"))
}

fn backoff(o: Option<&Bound<'_, PyAny>>) -> PyResult<Backoff> {
    let Some(o) = o else {
        return Ok(Backoff::Exponential(1.0));
    };
    let named = |name: &str, base: f64| {
        match name {
        "exponential" => Ok(Backoff::Exponential(base)),
        "fixed" => Ok(Backoff::Fixed(base)),
        other => Err(validation(format!(
            "backoff must be \"exponential\", \"fixed\", seconds, or (kind, base seconds); got {other:?}"
        ))),
    }
    };
    if o.cast::<PyString>().is_ok() {
        return named(&text(o, "backoff")?, 1.0);
    }
    if let Ok(t) = o.cast::<PyTuple>() {
        if t.len() == 2 {
            let name = text(&t.get_item(0)?, "backoff")?;
            return named(&name, seconds(&t.get_item(1)?, "backoff base")?);
        }
    }
    Ok(Backoff::Fixed(seconds(o, "backoff")?))
}

/// Options of one enqueue, from keyword arguments or an `enqueue_many` item.
#[allow(clippy::too_many_arguments)]
fn new_job(
    kind: String,
    payload: Option<&Bound<'_, PyAny>>,
    priority: i64,
    run_at: Option<&Bound<'_, PyAny>>,
    delay: Option<&Bound<'_, PyAny>>,
    max_attempts: u32,
    backoff_: Option<&Bound<'_, PyAny>>,
    timeout: Option<&Bound<'_, PyAny>>,
    idempotency_key: Option<String>,
    headers_: Option<&Bound<'_, PyAny>>,
    key: Option<String>,
) -> PyResult<NewJob> {
    let payload = match payload {
        Some(p) => py_to_json(p, "payload")?,
        None => serde_json::Value::Null,
    };
    let mut n = NewJob::new(kind, payload);
    n.priority = priority;
    n.max_attempts = max_attempts;
    n.backoff = backoff(backoff_)?;
    n.timeout = timeout.map(|t| seconds(t, "timeout")).transpose()?;
    n.idempotency_key = idempotency_key;
    n.key = key;
    n.headers = job_headers(headers_)?;
    n.run_at = match (run_at, delay) {
        (Some(_), Some(_)) => return Err(validation("give run_at or delay, not both")),
        (Some(r), None) => Some(epoch(r)?),
        (None, Some(d)) => {
            let d = seconds(d, "delay")?;
            if !d.is_finite() || d < 0.0 {
                return Err(validation(format!("delay must be >= 0 seconds, got {d}")));
            }
            Some(core::model::now() + d)
        }
        (None, None) => None,
    };
    Ok(n)
}

/// A job's headers from a mapping of str to str (None: none).
pub(crate) fn job_headers(o: Option<&Bound<'_, PyAny>>) -> PyResult<core::Headers> {
    let mut h = core::Headers::new();
    let Some(o) = o.filter(|o| !o.is_none()) else {
        return Ok(h);
    };
    let m = o
        .cast::<pyo3::types::PyMapping>()
        .map_err(|_| PyTypeError::new_err("headers must be a mapping of str to str"))?;
    for kv in m.items()?.iter() {
        let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = kv.extract()?;
        if !v.is_instance_of::<pyo3::types::PyString>() {
            return Err(PyTypeError::new_err("header values must be str"));
        }
        h.insert(text(&k, "header name")?, text(&v, "header value")?);
    }
    Ok(h)
}

pub(crate) fn item_job(o: &Bound<'_, PyAny>) -> PyResult<NewJob> {
    let d = o.cast::<PyDict>().map_err(|_| {
        PyTypeError::new_err("each job must be a dict: {\"kind\": ..., \"payload\": ..., options}")
    })?;
    let mut kind = None;
    let (mut payload, mut run_at, mut delay, mut bo, mut timeout) = (None, None, None, None, None);
    let (mut priority, mut max_attempts, mut idem, mut hdrs) = (0i64, 3u32, None, None);
    let mut ordering_key = None;
    for (k, v) in d.iter() {
        let key = text(&k, "job options")?;
        match key.as_str() {
            "kind" => kind = Some(text(&v, "kind")?),
            "payload" => payload = Some(v),
            "priority" => priority = v.extract()?,
            "run_at" if !v.is_none() => run_at = Some(v),
            "delay" if !v.is_none() => delay = Some(v),
            "max_attempts" => max_attempts = v.extract()?,
            "backoff" if !v.is_none() => bo = Some(v),
            "timeout" if !v.is_none() => timeout = Some(v),
            "idempotency_key" => idem = opt_text(&v, "idempotency_key")?,
            "headers" => hdrs = Some(v),
            "key" => ordering_key = opt_text(&v, "key")?,
            "run_at" | "delay" | "backoff" | "timeout" => {}
            other => return Err(validation(format!("unknown job option {other:?}"))),
        }
    }
    let kind = kind.ok_or_else(|| validation("each job needs a kind"))?;
    new_job(
        kind,
        payload.as_ref(),
        priority,
        run_at.as_ref(),
        delay.as_ref(),
        max_attempts,
        bo.as_ref(),
        timeout.as_ref(),
        idem,
        hdrs.as_ref(),
        ordering_key,
    )
}

fn claims(c: core::Claimed) -> PyResult<Vec<JobClaim>> {
    Ok(c.jobs.into_iter().map(|c| JobClaim { c }).collect())
}

fn same<T>(v: T) -> PyResult<T> {
    Ok(v)
}

fn ack_word(a: &Ack) -> &'static str {
    match a {
        Ack::Ok => "ok",
        Ack::Stale => "stale",
        Ack::Missing => "missing",
    }
}

fn acks(v: Vec<Ack>) -> PyResult<Vec<&'static str>> {
    Ok(v.iter().map(ack_word).collect())
}

/// The one ack of a single-claim call: Conflict when stale, NotFound when missing.
fn one_ack(id: String) -> impl FnOnce(Vec<Ack>) -> crate::error::Result<()> + Send + 'static {
    move |v| match v.first() {
        Some(Ack::Ok) => Ok(()),
        Some(Ack::Missing) => Err(Error::NotFound(format!("no job {id:?}"))),
        _ => Err(Error::Conflict(format!(
            "job {id:?} is no longer claimed with this token (its visibility timeout expired \
             and another worker took it, or it was cancelled or finished)"
        ))),
    }
}

/// A finish item from `(id, token, how, value)`; a result that is not JSON fails the attempt
/// for good instead of failing the batch.
fn finish_item(t: &Bound<'_, PyAny>) -> PyResult<Finish> {
    let (id, token, how, value): (String, String, String, Bound<'_, PyAny>) = t.extract()?;
    let outcome = match how.as_str() {
        "done" => match py_to_json(&value, "result")
            .and_then(|v| serde_json::to_string(&v).map_err(|e| validation(e.to_string())))
        {
            Ok(s) if s.len() <= core::model::MAX_PAYLOAD => Outcome::Done(s),
            Ok(s) => Outcome::Failed {
                error: format!(
                    "the handler's result is {} bytes as JSON; the limit is {}",
                    s.len(),
                    core::model::MAX_PAYLOAD
                ),
                retry: false,
            },
            Err(e) => Outcome::Failed {
                error: format!("the handler returned a value that is not JSON: {e}"),
                retry: false,
            },
        },
        "failed" | "dead" => Outcome::Failed {
            error: value.str()?.to_string(),
            retry: how == "failed",
        },
        other => {
            return Err(validation(format!(
                "finish kind must be done, failed or dead, got {other:?}"
            )))
        }
    };
    Ok(Finish { id, token, outcome })
}

fn vis_of(v: Option<&Bound<'_, PyAny>>) -> PyResult<f64> {
    Ok(v.map(|v| seconds(v, "visibility"))
        .transpose()?
        .unwrap_or(30.0))
}

fn block_of(block_ms: Option<u64>) -> Option<Duration> {
    block_ms.map(Duration::from_millis)
}

macro_rules! job_methods {
    ($cls:ident, $ret:ty, $run:ident, $claim:ident, { $($extra:tt)* }) => {
        #[pymethods]
        impl $cls {
            $($extra)*

            /// A worker running `handlers` ({kind: callable}) on this queue; see
            /// `zerolag.jobs.Worker` (`worker.run()`, or `await worker.run_async()`).
            #[pyo3(signature = (handlers, **options))]
            fn worker<'py>(
                slf: &Bound<'py, Self>,
                handlers: &Bound<'py, PyAny>,
                options: Option<&Bound<'py, PyDict>>,
            ) -> PyResult<Bound<'py, PyAny>> {
                let py = slf.py();
                py.import("zerolag.jobs")?
                    .getattr("Worker")?
                    .call((slf, handlers), options)
            }

            #[pyo3(signature = (kind, payload=None, *, priority=0, run_at=None, delay=None,
                max_attempts=3, backoff=None, timeout=None, idempotency_key=None, headers=None,
                key=None))]
            #[allow(clippy::too_many_arguments)]
            fn enqueue<'py>(
                &self,
                py: Python<'py>,
                kind: Text,
                payload: Option<&Bound<'py, PyAny>>,
                priority: i64,
                run_at: Option<&Bound<'py, PyAny>>,
                delay: Option<&Bound<'py, PyAny>>,
                max_attempts: u32,
                backoff: Option<&Bound<'py, PyAny>>,
                timeout: Option<&Bound<'py, PyAny>>,
                idempotency_key: Option<Text>,
                headers: Option<&Bound<'py, PyAny>>,
                key: Option<Text>,
            ) -> PyResult<$ret> {
                let n = new_job(kind.into_string(), payload, priority, run_at, delay, max_attempts, backoff, timeout, idempotency_key.map(Text::into_string), headers, key.map(Text::into_string))?;
                $run(py, self.hub.jobs.enqueue(n), job)
            }

            fn enqueue_many<'py>(&self, py: Python<'py>, items: &Bound<'py, PyAny>) -> PyResult<$ret> {
                let mut v = Vec::new();
                for x in items.try_iter()? {
                    v.push(item_job(&x?)?);
                }
                $run(py, self.hub.jobs.enqueue_many(v), jobs_vec)
            }

            /// The partition job `id` belongs to (no I/O): the number its id carries, 0 in a
            /// namespace with one partition.
            fn partition_of(&self, id: Text) -> PyResult<u16> {
                crate::jobs::model::job_id(&id).map_err(super::errors::to_py)?;
                self.hub.jobs.partition_of(&id).map_err(super::errors::to_py)
            }

            fn get<'py>(&self, py: Python<'py>, id: Text) -> PyResult<$ret> {
                $run(py, self.hub.jobs.get(&id), job)
            }

            #[pyo3(signature = (queue, *, kind=None, status=None, limit=50, cursor=None))]
            fn list<'py>(
                &self,
                py: Python<'py>,
                queue: Text,
                kind: Option<Text>,
                status: Option<Text>,
                limit: usize,
                cursor: Option<Text>,
            ) -> PyResult<$ret> {
                let l = core::list::Listing::new(
                    &queue,
                    kind.map(Text::into_string),
                    status.map(Text::into_string),
                    cursor.as_deref(),
                    limit,
                )
                .map_err(super::errors::to_py)?;
                $run(py, self.hub.jobs.list(l), super::job_page::page)
            }

            fn get_many<'py>(&self, py: Python<'py>, ids: &Bound<'py, PyAny>) -> PyResult<$ret> {
                $run(py, self.hub.jobs.get_many(str_list(ids, "ids")?), opt_jobs)
            }

            fn counts<'py>(&self, py: Python<'py>) -> PyResult<$ret> {
                $run(py, self.hub.jobs.counts(), super::metrics::counts)
            }

            fn cancel<'py>(&self, py: Python<'py>, id: Text) -> PyResult<$ret> {
                $run(py, self.hub.jobs.cancel(&id), same)
            }

            #[pyo3(signature = (older_than=None, *, limit=None))]
            fn purge<'py>(&self, py: Python<'py>, older_than: Option<&Bound<'py, PyAny>>, limit: Option<u64>) -> PyResult<$ret> {
                let s = older_than.map(|o| seconds(o, "older_than")).transpose()?.unwrap_or(0.0);
                $run(py, self.hub.jobs.purge(s, limit), same)
            }

            #[pyo3(signature = (ids=None, *, kind=None, limit=None))]
            fn requeue<'py>(
                &self,
                py: Python<'py>,
                ids: Option<&Bound<'py, PyAny>>,
                kind: Option<Text>,
                limit: Option<u64>,
            ) -> PyResult<$ret> {
                let what = super::job_workers::requeue_args(ids, kind, limit)?;
                $run(py, self.hub.jobs.requeue(what), same)
            }

            fn workers<'py>(&self, py: Python<'py>) -> PyResult<$ret> {
                $run(py, self.hub.jobs.workers(), super::job_workers::worker_dicts)
            }

            #[pyo3(signature = (id, *, kinds, interval, host=None, pid=None))]
            fn register_worker<'py>(
                &self,
                py: Python<'py>,
                id: Text,
                kinds: &Bound<'py, PyAny>,
                interval: &Bound<'py, PyAny>,
                host: Option<Text>,
                pid: Option<u32>,
            ) -> PyResult<$ret> {
                let w = super::job_workers::spec(py, id, kinds, seconds(interval, "interval")?, host, pid)?;
                $run(py, self.hub.jobs.register_worker(w), same)
            }

            fn beat_worker<'py>(&self, py: Python<'py>, id: Text, done: u64, failed: u64) -> PyResult<$ret> {
                $run(py, self.hub.jobs.beat_worker(&id, done, failed), same)
            }

            fn unregister_worker<'py>(&self, py: Python<'py>, id: Text) -> PyResult<$ret> {
                $run(py, self.hub.jobs.unregister_worker(&id), same)
            }

            #[pyo3(signature = (kinds, *, count=1, worker=Text::from("worker"), visibility=None, block_ms=Some(0), partitions=None),
                text_signature = "(self, /, kinds, *, count=1, worker='worker', visibility=None, block_ms=0, partitions=None)")]
            #[allow(clippy::too_many_arguments)]
            fn claim<'py>(
                &self,
                py: Python<'py>,
                kinds: &Bound<'py, PyAny>,
                count: usize,
                worker: Text,
                visibility: Option<&Bound<'py, PyAny>>,
                block_ms: Option<u64>,
                partitions: Option<Vec<i64>>,
            ) -> PyResult<$ret> {
                let kinds = match kinds.cast::<PyString>() {
                    Ok(_) => vec![text(kinds, "kinds")?],
                    Err(_) => str_list(kinds, "kinds")?,
                };
                let vis = vis_of(visibility)?;
                let how = ClaimHow { kinds, count, worker: worker.to_string(), vis, pinned: partitions };
                $claim(py, &self.hub, how, block_of(block_ms))
            }

            #[pyo3(signature = (claim, result=None))]
            fn complete<'py>(&self, py: Python<'py>, claim: &Bound<'py, JobClaim>, result: Option<&Bound<'py, PyAny>>) -> PyResult<$ret> {
                let c = &claim.get().c;
                let v = match result {
                    Some(r) => py_to_json(r, "result")?,
                    None => serde_json::Value::Null,
                };
                let s = serde_json::to_string(&v).map_err(|e| validation(e.to_string()))?;
                let f = Finish { id: c.id.clone(), token: c.token.clone(), outcome: Outcome::Done(s) };
                $run(py, self.hub.jobs.finish(vec![f]).and_then(one_ack(c.id.clone())), same)
            }

            #[pyo3(signature = (claim, error, *, retry=true))]
            fn fail<'py>(&self, py: Python<'py>, claim: &Bound<'py, JobClaim>, error: Text, retry: bool) -> PyResult<$ret> {
                let c = &claim.get().c;
                let f = Finish { id: c.id.clone(), token: c.token.clone(), outcome: Outcome::Failed { error: error.into_string(), retry } };
                $run(py, self.hub.jobs.finish(vec![f]).and_then(one_ack(c.id.clone())), same)
            }

            #[pyo3(signature = (claim, *, visibility=None, progress=None))]
            fn heartbeat<'py>(
                &self,
                py: Python<'py>,
                claim: &Bound<'py, JobClaim>,
                visibility: Option<&Bound<'py, PyAny>>,
                progress: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<$ret> {
                let c = &claim.get().c;
                let p = progress.map(|p| py_to_json(p, "progress")).transpose()?;
                let vis = vis_of(visibility)?;
                let op = self.hub.jobs.heartbeat(vec![(c.id.clone(), c.token.clone(), p)], vis);
                $run(py, op.and_then(one_ack(c.id.clone())), same)
            }

            /// Batch finish for the worker: items `(id, token, how, value)`, how = "done"
            /// (value = result), "failed" (value = error, may retry) or "dead" (no retry).
            /// Returns "ok" / "stale" / "missing" per item.
            fn _finish<'py>(&self, py: Python<'py>, items: &Bound<'py, PyAny>) -> PyResult<$ret> {
                let mut v = Vec::new();
                for x in items.try_iter()? {
                    v.push(finish_item(&x?)?);
                }
                $run(py, self.hub.jobs.finish(v), acks)
            }

            /// Batch heartbeat for the worker: items `(id, token, progress or None)`.
            fn _heartbeat<'py>(&self, py: Python<'py>, items: &Bound<'py, PyAny>, visibility: f64) -> PyResult<$ret> {
                let mut v = Vec::new();
                for x in items.try_iter()? {
                    let (id, token, p): (String, String, Option<Bound<'py, PyAny>>) = x?.extract()?;
                    v.push((id, token, p.as_ref().map(|p| py_to_json(p, "progress")).transpose()?));
                }
                $run(py, self.hub.jobs.heartbeat(v, visibility), acks)
            }

            fn __repr__(&self) -> String {
                format!("{}(namespace={:?})", stringify!($cls), self.hub.namespace())
            }
        }
    };
}

/// What a claim from Python asks for.
struct ClaimHow {
    kinds: Vec<String>,
    count: usize,
    worker: String,
    vis: f64,
    pinned: Option<Vec<i64>>,
}

impl ClaimHow {
    fn op(&self, hub: &CoreHub, block: Duration) -> crate::engine::Op<core::Claimed> {
        hub.jobs.claim_in(
            self.kinds.clone(),
            self.count,
            &self.worker,
            self.vis,
            block,
            self.pinned.clone(),
        )
    }
}

fn claim_sync(
    py: Python<'_>,
    hub: &Arc<CoreHub>,
    how: ClaimHow,
    block: Option<Duration>,
) -> PyResult<Py<PyAny>> {
    let h = hub.clone();
    run_sync_blocking(
        py,
        block,
        move |slice| how.op(&h, slice),
        |c: &core::Claimed| !c.jobs.is_empty(),
        claims,
    )
}

fn claim_async<'py>(
    py: Python<'py>,
    hub: &Arc<CoreHub>,
    how: ClaimHow,
    block: Option<Duration>,
) -> PyResult<Bound<'py, PyAny>> {
    if block.is_some_and(|b| b.is_zero()) {
        return run_async(py, how.op(hub, Duration::ZERO), claims);
    }
    let h = hub.clone();
    run_async_blocking(
        py,
        block,
        move |slice| how.op(&h, slice),
        |c: &core::Claimed| !c.jobs.is_empty(),
        claims,
    )
}

/// `hub.jobs` of a sync hub.
#[pyclass(frozen, module = "zerolag._core", name = "Jobs")]
pub struct Jobs {
    pub(crate) hub: Arc<CoreHub>,
}

/// `hub.jobs` of an async hub.
#[pyclass(frozen, module = "zerolag._core", name = "AsyncJobs")]
pub struct AsyncJobs {
    pub(crate) hub: Arc<CoreHub>,
}

job_methods!(Jobs, Py<PyAny>, run_sync, claim_sync, {
    /// The async twin on the same hub (used by `Worker.run_async`).
    fn _async_twin(&self) -> AsyncJobs {
        AsyncJobs {
            hub: self.hub.clone(),
        }
    }
});
job_methods!(AsyncJobs, Bound<'py, PyAny>, run_async, claim_async, {
    /// The sync twin on the same hub (used by `Worker.run`).
    fn _sync_twin(&self) -> Jobs {
        Jobs {
            hub: self.hub.clone(),
        }
    }
});

/// Adds this capability's classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Jobs>()?;
    m.add_class::<AsyncJobs>()?;
    m.add_class::<Job>()?;
    m.add_class::<super::job_page::JobPage>()?;
    m.add_class::<JobClaim>()?;
    Ok(())
}
