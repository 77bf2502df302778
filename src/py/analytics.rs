//! `hub.analytics` from Python: times are Unix seconds (or datetimes) and come back as whole
//! seconds; users are str or int; property values str, int or bool.

use std::sync::Arc;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyInt, PyString};

use super::convert::{text, Text};
use super::errors::invalid;
use super::memory_args::time_ms;
use super::{run_async, run_sync};
use crate::analytics::{By, Event, DAY_MS};
use crate::hub::Hub as CoreHub;

const HOUR_MS: i64 = 3_600_000;

fn now_ms() -> i64 {
    crate::clock::now_ms() as i64
}

/// A user id (str, or an int as its decimal text).
fn user_of(o: Option<&Bound<'_, PyAny>>) -> PyResult<Option<String>> {
    let Some(o) = o.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    if o.cast::<PyInt>().is_ok() && o.cast::<PyBool>().is_err() {
        return Ok(Some(o.extract::<i128>()?.to_string()));
    }
    if o.cast::<PyString>().is_ok() {
        return Ok(Some(text(o, "user")?));
    }
    Err(PyTypeError::new_err("user must be str, int or None"))
}

/// Properties: a dict of str to str, int or bool.
fn props_of(o: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<(String, String)>> {
    let Some(o) = o.filter(|o| !o.is_none()) else {
        return Ok(vec![]);
    };
    let d = o
        .cast::<PyDict>()
        .map_err(|_| PyTypeError::new_err("props must be a dict of str to str, int or bool"))?;
    let mut out = Vec::with_capacity(d.len());
    for (k, v) in d.iter() {
        let k = text(&k, "props")?;
        let v = if let Ok(b) = v.cast::<PyBool>() {
            if b.is_true() { "true" } else { "false" }.to_string()
        } else if v.cast::<PyInt>().is_ok() {
            v.extract::<i128>()?.to_string()
        } else if v.cast::<PyString>().is_ok() {
            text(&v, "props")?
        } else {
            return Err(PyTypeError::new_err(
                "props values must be str, int or bool",
            ));
        };
        out.push((k, v));
    }
    Ok(out)
}

fn event_of(
    event: String,
    user: Option<&Bound<'_, PyAny>>,
    props: Option<&Bound<'_, PyAny>>,
    at: Option<&Bound<'_, PyAny>>,
) -> PyResult<Event> {
    Ok(Event {
        event,
        user: user_of(user)?,
        props: props_of(props)?,
        at_ms: time_ms(at, "at")?.unwrap_or_else(now_ms),
    })
}

/// One item of `track_many`: an event name, or a dict with `event` and optionally `user`,
/// `props` and `at`.
fn item_of(o: &Bound<'_, PyAny>) -> PyResult<Event> {
    if o.cast::<PyString>().is_ok() {
        return event_of(text(o, "events")?, None, None, None);
    }
    let d = o.cast::<PyDict>().map_err(|_| {
        PyTypeError::new_err(
            "each event must be a str or a dict with 'event' (and 'user', 'props', 'at')",
        )
    })?;
    for k in d.keys() {
        let k = text(&k, "events")?;
        if !matches!(k.as_str(), "event" | "user" | "props" | "at") {
            return Err(invalid(
                "events",
                format!("unknown field {k:?}; use event, user, props, at"),
            ));
        }
    }
    let event = d
        .get_item("event")?
        .ok_or_else(|| invalid("events", "each dict needs 'event'"))?;
    event_of(
        text(&event, "event")?,
        d.get_item("user")?.as_ref(),
        d.get_item("props")?.as_ref(),
        d.get_item("at")?.as_ref(),
    )
}

/// (since, until) in ms: until defaults to `now`, since to `span` before until.
fn range(
    since: Option<&Bound<'_, PyAny>>,
    until: Option<&Bound<'_, PyAny>>,
    now: i64,
    span: i64,
) -> PyResult<(i64, i64)> {
    let until = time_ms(until, "until")?.unwrap_or(now);
    let since = time_ms(since, "since")?.unwrap_or(until - span);
    Ok((since, until))
}

/// An optional range: None when neither end is given.
fn opt_range(
    since: Option<&Bound<'_, PyAny>>,
    until: Option<&Bound<'_, PyAny>>,
    now: i64,
) -> PyResult<Option<(i64, i64)>> {
    let none = |o: Option<&Bound<'_, PyAny>>| o.is_none_or(|o| o.is_none());
    if none(since) && none(until) {
        return Ok(None);
    }
    range(since, until, now, 29 * DAY_MS).map(Some)
}

fn pairs_dict(py: Python<'_>, v: Vec<(String, i64)>) -> PyResult<Py<PyAny>> {
    let d = PyDict::new(py);
    for (k, n) in v {
        d.set_item(k, n)?;
    }
    Ok(d.into_any().unbind())
}

macro_rules! analytics_methods {
    ($cls:ident, $ret:ty, $run:ident) => {
        #[pymethods]
        impl $cls {
            /// Records one event at `at` (Unix seconds or a datetime; default now).
            #[pyo3(signature = (event, user=None, props=None, *, at=None))]
            fn track<'py>(
                &self,
                py: Python<'py>,
                event: Text,
                user: Option<&Bound<'py, PyAny>>,
                props: Option<&Bound<'py, PyAny>>,
                at: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<$ret> {
                let e = event_of(event.into_string(), user, props, at)?;
                $run(py, self.hub.analytics.track_many(vec![e]), |_| Ok(()))
            }

            /// Records many events in one round trip; returns how many.
            fn track_many<'py>(&self, py: Python<'py>, events: &Bound<'py, PyAny>) -> PyResult<$ret> {
                if events.cast::<PyString>().is_ok() {
                    return Err(PyTypeError::new_err("events must be a list, not a str"));
                }
                let evs = events
                    .try_iter()?
                    .map(|o| item_of(&o?))
                    .collect::<PyResult<Vec<_>>>()?;
                $run(py, self.hub.analytics.track_many(evs), Ok)
            }

            /// Counts of `event` per UTC day or hour from `since` to `until`, or by the values
            /// of property `by_prop` over the range.
            #[pyo3(signature = (event, since=None, until=None, *, by=Text::from("day"), by_prop=None, now=None))]
            #[pyo3(text_signature = "($self, event, since=None, until=None, *, by='day', by_prop=None, now=None)")]
            #[allow(clippy::too_many_arguments)]
            fn counts<'py>(
                &self,
                py: Python<'py>,
                event: Text,
                since: Option<&Bound<'py, PyAny>>,
                until: Option<&Bound<'py, PyAny>>,
                by: Text,
                by_prop: Option<Text>,
                now: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<$ret> {
                let now = time_ms(now, "now")?.unwrap_or_else(now_ms);
                if let Some(p) = by_prop {
                    let (a, b) = range(since, until, now, 29 * DAY_MS)?;
                    let op = self.hub.analytics.counts_by_prop(&event, &p, a, b, now);
                    return $run(py, op, |v| Python::attach(|py| pairs_dict(py, v)));
                }
                let (by, span) = match &*by {
                    "day" => (By::Day, 29 * DAY_MS),
                    "hour" => (By::Hour, 23 * HOUR_MS),
                    other => return Err(invalid("by", format!("must be 'day' or 'hour', got {other:?}"))),
                };
                let (a, b) = range(since, until, now, span)?;
                let op = self.hub.analytics.counts(&event, a, b, by, now);
                $run(py, op, |v| Ok(v.into_iter().map(|(t, n)| (t / 1000, n)).collect::<Vec<_>>()))
            }

            /// Unique users of `event` from `since` to `until` (default: the last 30 days).
            #[pyo3(signature = (event, since=None, until=None, *, now=None))]
            fn uniques<'py>(
                &self,
                py: Python<'py>,
                event: Text,
                since: Option<&Bound<'py, PyAny>>,
                until: Option<&Bound<'py, PyAny>>,
                now: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<$ret> {
                let now = time_ms(now, "now")?.unwrap_or_else(now_ms);
                let (a, b) = range(since, until, now, 29 * DAY_MS)?;
                $run(py, self.hub.analytics.uniques(&event, a, b, now), Ok)
            }

            /// Totals per event, largest first: all time, or over the days from `since` to `until`.
            #[pyo3(signature = (since=None, until=None, *, now=None))]
            fn events<'py>(
                &self,
                py: Python<'py>,
                since: Option<&Bound<'py, PyAny>>,
                until: Option<&Bound<'py, PyAny>>,
                now: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<$ret> {
                let now = time_ms(now, "now")?.unwrap_or_else(now_ms);
                let r = opt_range(since, until, now)?;
                $run(py, self.hub.analytics.events(r, now), |v| Python::attach(|py| pairs_dict(py, v)))
            }

            /// The `n` events with the largest totals, as `(event, count)`.
            #[pyo3(signature = (n=10, since=None, until=None, *, now=None))]
            fn top_events<'py>(
                &self,
                py: Python<'py>,
                n: usize,
                since: Option<&Bound<'py, PyAny>>,
                until: Option<&Bound<'py, PyAny>>,
                now: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<$ret> {
                let now = time_ms(now, "now")?.unwrap_or_else(now_ms);
                let r = opt_range(since, until, now)?;
                $run(py, self.hub.analytics.events(r, now), move |mut v| {
                    v.truncate(n);
                    Ok(v)
                })
            }

            /// Keeps day and hour buckets `days` days after their day ends (for the whole
            /// namespace); returns it.
            fn set_retention<'py>(&self, py: Python<'py>, days: u32) -> PyResult<$ret> {
                $run(py, self.hub.analytics.retention(Some(days)), Ok)
            }

            /// Days buckets are kept after their day ends (90 unless set).
            fn retention<'py>(&self, py: Python<'py>) -> PyResult<$ret> {
                $run(py, self.hub.analytics.retention(None), Ok)
            }

            /// Removes buckets expired at `now` (default: the time) on the embedded store;
            /// returns how many rows went (Redis expires them itself: 0).
            #[pyo3(signature = (*, now=None))]
            fn sweep<'py>(&self, py: Python<'py>, now: Option<&Bound<'py, PyAny>>) -> PyResult<$ret> {
                let now = time_ms(now, "now")?.unwrap_or_else(now_ms);
                $run(py, self.hub.analytics.sweep(now), Ok)
            }

            fn __repr__(&self) -> String {
                format!("{}(namespace={:?})", stringify!($cls), self.hub.namespace())
            }
        }
    };
}

/// `hub.analytics` of a sync hub.
#[pyclass(frozen, module = "zerolag._core", name = "Analytics")]
pub struct Analytics {
    pub(crate) hub: Arc<CoreHub>,
}

/// `hub.analytics` of an async hub.
#[pyclass(frozen, module = "zerolag._core", name = "AsyncAnalytics")]
pub struct AsyncAnalytics {
    pub(crate) hub: Arc<CoreHub>,
}

analytics_methods!(Analytics, Py<PyAny>, run_sync);
analytics_methods!(AsyncAnalytics, Bound<'py, PyAny>, run_async);

/// Adds this capability's classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Analytics>()?;
    m.add_class::<AsyncAnalytics>()?;
    Ok(())
}
