//! `hub.archive` from Python: attach a PostgreSQL archive, its health, its queries
//! (`ArchivePage` of `ArchivedMessage`), clearing and flushing. An archive that cannot be
//! reached raises `zerolag.exceptions.ArchiveUnavailable` (a `ConnectionError`).

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyList;
use serde_json::{json, Value};

use super::convert::{json_to_py, Text};
use super::errors::{invalid, validation};
use super::metrics::JsonOut;
use super::{run_async, run_sync};
use crate::archive::pg::attached::Health;
use crate::archive::pg::conn::UNAVAILABLE;
use crate::archive::pg::query::{Archived, HistoryQuery, Page};
use crate::archive::run::Options;
use crate::engine::Op;
use crate::error::{Error, Result};
use crate::hub::Hub as CoreHub;

mod classes {
    pyo3::import_exception!(zerolag.exceptions, ArchiveUnavailable);
}

/// The operation with its failure kept as a value (so `raised` picks the class).
fn caught<T: Send + 'static>(op: Op<T>) -> Op<Result<T>> {
    Op::Async(Box::pin(async move { Ok(op.run().await) }))
}

/// A core error, with an archive that cannot be reached as `ArchiveUnavailable`.
fn raised<T>(r: Result<T>) -> PyResult<T> {
    r.map_err(|e| match e {
        Error::Connection(m) if m.starts_with(UNAVAILABLE) => {
            classes::ArchiveUnavailable::new_err(m)
        }
        e => e.into(),
    })
}

/// A time argument: seconds since the epoch (int or float) or an aware `datetime`, as ms.
fn time_ms(v: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Option<i64>> {
    let Some(v) = v else { return Ok(None) };
    if v.is_none() {
        return Ok(None);
    }
    let secs: f64 = if v.hasattr("timestamp")? {
        v.call_method0("timestamp")?.extract()?
    } else {
        v.extract().map_err(|_| {
            invalid(
                name,
                format!(
                    "must be seconds since the epoch or a datetime, got {}",
                    v.get_type()
                        .name()
                        .map(|n| n.to_string())
                        .unwrap_or_default()
                ),
            )
        })?
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(invalid(
            name,
            format!("must be a time after 1970, got {secs}"),
        ));
    }
    Ok(Some((secs * 1e3).round() as i64))
}

/// One archived bus message.
#[pyclass(frozen, module = "zerolag._core", name = "ArchivedMessage")]
pub struct ArchivedMessage {
    m: Archived,
}

#[pymethods]
impl ArchivedMessage {
    /// The message id.
    #[getter]
    fn id(&self) -> &str {
        &self.m.message.id
    }
    /// When it was shared, seconds since the epoch.
    #[getter]
    fn time(&self) -> f64 {
        self.m.message.at_ms as f64 / 1e3
    }
    /// The sending agent.
    #[getter]
    fn sender(&self) -> &str {
        &self.m.message.sender
    }
    /// The receiving agents (`["*"]` for a broadcast).
    #[getter]
    fn recipients(&self) -> Vec<String> {
        self.m.message.recipients.clone()
    }
    /// Its kind, if any.
    #[getter]
    fn kind(&self) -> Option<&str> {
        self.m.message.kind.as_deref()
    }
    /// "critical", "high", "medium" or "low".
    #[getter]
    fn priority(&self) -> &str {
        &self.m.message.priority
    }
    /// True for a broadcast.
    #[getter]
    fn broadcast(&self) -> bool {
        self.m.message.broadcast
    }
    /// The payload.
    #[getter]
    fn payload<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.m.message.payload)
    }
    /// When it was acknowledged, seconds since the epoch (None: not acknowledged).
    #[getter]
    fn acked_at(&self) -> Option<f64> {
        self.m.acked_ms.map(|ms| ms as f64 / 1e3)
    }
    fn __repr__(&self) -> String {
        let m = &self.m.message;
        format!(
            "ArchivedMessage(id={:?}, sender={:?}, recipients={:?}, kind={:?})",
            m.id, m.sender, m.recipients, m.kind
        )
    }
}

/// A page of archived history, newest first.
#[pyclass(frozen, module = "zerolag._core", name = "ArchivePage")]
pub struct ArchivePage {
    page: Page,
}

impl ArchivePage {
    fn list<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = self
            .page
            .messages
            .iter()
            .map(|m| Py::new(py, ArchivedMessage { m: m.clone() }))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }
}

#[pymethods]
impl ArchivePage {
    /// The messages, newest first.
    #[getter]
    fn messages<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        self.list(py)
    }
    /// Pass it as `cursor` for the next (older) page; None when this was the last.
    #[getter]
    fn next_cursor(&self) -> Option<String> {
        self.page.next.clone()
    }
    fn __len__(&self) -> usize {
        self.page.messages.len()
    }
    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.list(py)?.try_iter().map(Bound::into_any)
    }
    fn __repr__(&self) -> String {
        format!(
            "ArchivePage(<{} messages>, next_cursor={:?})",
            self.page.messages.len(),
            self.page.next
        )
    }
}

/// `health()` as a dict.
pub fn health_json(h: &Health) -> Value {
    let map = |v: &[(&'static str, u64)]| {
        Value::Object(v.iter().map(|(k, n)| (k.to_string(), json!(n))).collect())
    };
    json!({
        "status": h.status,
        "message": h.message,
        "behind": h.behind,
        "leader": h.leader,
        "last_error": h.last_error,
        "archived": map(&h.archived),
        "lost": map(&h.lost),
        "last_ok": h.last_ok_ms.map(|ms| ms as f64 / 1e3),
    })
}

fn pairs(v: Vec<(&'static str, u64)>) -> JsonOut {
    JsonOut(Value::Object(
        v.into_iter()
            .map(|(k, n)| (k.to_string(), json!(n)))
            .collect(),
    ))
}

/// `hub.erase`'s archive part: rows removed per archived source (empty: nothing attached).
pub fn erase_op(hub: &CoreHub, subject: &str) -> Op<Vec<(&'static str, u64)>> {
    hub.archive.erase(hub.namespace().into(), subject)
}

macro_rules! archive_methods {
    ($cls:ident, $ret:ty, $run:ident) => {
        #[pymethods]
        impl $cls {
            /// Connects to the PostgreSQL archive at `dsn`, creates or migrates its tables and
            /// starts archiving this namespace in the background. A server that cannot be
            /// reached does not fail it (health() says degraded until it can); the same DSN
            /// again does nothing; another while one is attached raises ValidationError.
            #[pyo3(signature = (dsn, *, batch=5000, poll=0.1))]
            fn attach<'py>(&self, py: Python<'py>, dsn: Text, batch: usize, poll: f64) -> PyResult<$ret> {
                if !(poll.is_finite() && poll > 0.0 && poll <= 60.0) {
                    return Err(invalid("poll", format!("must be more than 0 and at most 60 seconds, got {poll}")));
                }
                let opts = Options {
                    batch,
                    poll: Duration::from_secs_f64(poll),
                    ..Options::default()
                };
                let h = &self.hub;
                if h.partitions() > 1 {
                    // The archive's sources read one partition's keys: until they follow
                    // every partition, refuse rather than archive part of the namespace.
                    return Err(validation(format!(
                        "the archive does not follow partitioned namespaces yet: namespace {:?} \
                         has {} partitions (docs/scaling.md)",
                        h.namespace(),
                        h.partitions()
                    )));
                }
                let op = h.archive.attach(h.backend().clone(), h.namespace().into(), &dsn, opts);
                $run(py, caught(op), raised)
            }

            /// Stops the archiver and releases the namespace's lease (the cursors stay, so
            /// attaching again goes on where it stopped).
            fn detach<'py>(&self, py: Python<'py>) -> PyResult<$ret> {
                $run(py, caught(self.hub.archive.detach()), raised)
            }

            /// True while an archive is attached.
            #[getter]
            fn attached(&self) -> bool {
                self.hub.archive.attached()
            }

            /// Waits until the archive holds what the store held at the call; False when
            /// `timeout` seconds passed first.
            #[pyo3(signature = (timeout=30.0))]
            fn flush<'py>(&self, py: Python<'py>, timeout: f64) -> PyResult<$ret> {
                if !(timeout.is_finite() && timeout >= 0.0) {
                    return Err(invalid("timeout", format!("must be 0 or more seconds, got {timeout}")));
                }
                let op = self.hub.archive.flush(Duration::from_secs_f64(timeout));
                $run(py, caught(op), raised)
            }

            /// The archive's state: status ("ok", "degraded", "standby", "detached"), a
            /// message, entries behind, leader, last error, rows archived and lost per source,
            /// when a batch last committed.
            fn health<'py>(&self, py: Python<'py>) -> PyResult<$ret> {
                let h = self.hub.archive.health();
                $run(py, Op::Ready(Ok(JsonOut(health_json(&h)))), Ok)
            }

            /// A page of archived bus messages, newest first: those `agent` sent or received
            /// (broadcasts included), of `kinds`, shared in `[since, until)`, matching `text`
            /// (full-text search: words, "phrases", -excluded, or). Pass the page's
            /// `next_cursor` as `cursor` for the next.
            #[pyo3(signature = (agent=None, kinds=None, since=None, until=None, text=None, limit=100, cursor=None))]
            #[allow(clippy::too_many_arguments)]
            fn history<'py>(
                &self,
                py: Python<'py>,
                agent: Option<Text>,
                kinds: Option<Vec<Text>>,
                since: Option<&Bound<'py, PyAny>>,
                until: Option<&Bound<'py, PyAny>>,
                text: Option<Text>,
                limit: usize,
                cursor: Option<Text>,
            ) -> PyResult<$ret> {
                let q = HistoryQuery {
                    agent: agent.map(Text::into_string),
                    kinds: kinds.map(|k| k.into_iter().map(Text::into_string).collect()),
                    since_ms: time_ms(since, "since")?,
                    until_ms: time_ms(until, "until")?,
                    text: text.map(Text::into_string),
                    limit,
                    cursor: cursor.map(Text::into_string),
                };
                let op = self.hub.archive.history(self.hub.namespace().into(), q);
                $run(py, caught(op), |r| raised(r).map(|page| ArchivePage { page }))
            }

            /// Messages by sender, receiver, kind and day (UTC), acknowledgement latency
            /// percentiles (ms) and dead letters by agent and reason, over `[since, until)`.
            #[pyo3(signature = (since=None, until=None))]
            fn cross_agent_insights<'py>(
                &self,
                py: Python<'py>,
                since: Option<&Bound<'py, PyAny>>,
                until: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<$ret> {
                let (s, u) = (time_ms(since, "since")?, time_ms(until, "until")?);
                let op = self.hub.archive.insights(self.hub.namespace().into(), s, u);
                $run(py, caught(op), |r| raised(r).map(JsonOut))
            }

            /// Archived rows per source, the oldest and newest message or event time
            /// (seconds), and the bytes the namespace's rows take.
            fn stats<'py>(&self, py: Python<'py>) -> PyResult<$ret> {
                let op = self.hub.archive.stats(self.hub.namespace().into());
                $run(py, caught(op), |r| raised(r).map(JsonOut))
            }

            /// Deletes this namespace's archived rows and the store's archive cursors (the
            /// retention holds stop) and detaches; `confirm` must be the namespace. Returns
            /// the rows deleted.
            #[pyo3(signature = (*, confirm))]
            fn clear<'py>(&self, py: Python<'py>, confirm: Text) -> PyResult<$ret> {
                let h = &self.hub;
                let op = h.archive.clear(h.backend().clone(), h.namespace().into(), &confirm);
                $run(py, caught(op), raised)
            }

            /// Removes `subject` (an agent or user id) from the archive only; rows removed
            /// per source (`hub.erase` does this and the store's part).
            fn erase<'py>(&self, py: Python<'py>, subject: Text) -> PyResult<$ret> {
                let op = erase_op(&self.hub, &subject);
                $run(py, caught(op), |r| raised(r).map(pairs))
            }

            fn __repr__(&self) -> String {
                format!(
                    "{}(namespace={:?}, attached={})",
                    stringify!($cls),
                    self.hub.namespace(),
                    self.hub.archive.attached()
                )
            }
        }
    };
}

/// `hub.archive`: the namespace's PostgreSQL archive (blocking calls).
#[pyclass(frozen, module = "zerolag._core", name = "Archive")]
pub struct Archive {
    pub(crate) hub: Arc<CoreHub>,
}

/// `hub.archive` of an `AsyncHub`: the same calls as awaitables.
#[pyclass(frozen, module = "zerolag._core", name = "AsyncArchive")]
pub struct AsyncArchive {
    pub(crate) hub: Arc<CoreHub>,
}

archive_methods!(Archive, Py<PyAny>, run_sync);
archive_methods!(AsyncArchive, Bound<'py, PyAny>, run_async);

/// Registers the classes.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Archive>()?;
    m.add_class::<AsyncArchive>()?;
    m.add_class::<ArchivePage>()?;
    m.add_class::<ArchivedMessage>()?;
    Ok(())
}
