//! `hub.events` from Python: publish, read, retention, and the subscriptions: `Subscription`,
//! the blocking iterator, and `AsyncSubscription`, the asyncio one; both follow the log with
//! `crate::events::follow` (one cursor logic, one policy for an unreachable store).

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use pyo3::exceptions::PyStopIteration;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

use super::convert::{json_to_py, py_to_json, strings, text, Text};
use super::errors::validation;
use super::{run_async, run_sync};
use crate::events::follow::{self, After, Follow};
use crate::events::{self as core, Batch, Retention};
use crate::hub::Hub as CoreHub;

/// One event as stored.
#[pyclass(frozen, module = "zerolag._core", name = "Event")]
pub struct Event {
    e: core::Event,
}

#[pymethods]
impl Event {
    #[getter]
    fn id(&self) -> &str {
        &self.e.id
    }
    #[getter]
    fn channel(&self) -> &str {
        &self.e.channel
    }
    #[getter]
    fn data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.e.data)
    }
    #[getter]
    fn time(&self) -> f64 {
        self.e.time
    }
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<Event>().is_ok_and(|o| o.get().e == self.e)
    }
    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.e.id.hash(&mut h);
        h.finish()
    }
    fn __repr__(&self) -> String {
        let mut data = self.e.data.to_string();
        if data.len() > 80 {
            let cut = (0..=77)
                .rev()
                .find(|&i| data.is_char_boundary(i))
                .unwrap_or(0);
            data = format!("{}...", &data[..cut]);
        }
        format!(
            "Event(id={:?}, channel={:?}, data={data})",
            self.e.id, self.e.channel
        )
    }
}

fn event(e: core::Event) -> PyResult<Event> {
    Ok(Event { e })
}

fn events(b: Batch) -> PyResult<Vec<Event>> {
    Ok(b.events.into_iter().map(|e| Event { e }).collect())
}

fn batch(b: Batch) -> PyResult<(Vec<Event>, String)> {
    let cursor = b.cursor.clone();
    Ok((events(b)?, cursor))
}

fn patterns(args: &Bound<'_, PyTuple>) -> PyResult<Vec<String>> {
    let mut out = Vec::with_capacity(args.len());
    for a in args.iter() {
        if a.cast::<PyString>().is_err() {
            return Err(validation("channels and patterns must be str"));
        }
        let s = text(&a, "patterns")?;
        out.push(core::pattern(&s)?);
    }
    Ok(out)
}

fn seconds(what: &str, s: Option<f64>) -> PyResult<Option<Duration>> {
    match s {
        None => Ok(None),
        Some(v) if (0.0..=1e9).contains(&v) => Ok(Some(Duration::from_secs_f64(v))),
        Some(v) => Err(validation(format!(
            "{what} must be a number of seconds >= 0, got {v}"
        ))),
    }
}

fn retention_dict(r: Retention) -> PyResult<std::collections::HashMap<&'static str, Option<f64>>> {
    Ok([
        ("max_len", Some(r.max_len as f64)),
        ("max_age", r.max_age.map(|a| a.as_secs_f64())),
    ]
    .into())
}

fn retention_op(
    hub: &CoreHub,
    max_len: u64,
    max_age: Option<f64>,
) -> PyResult<crate::engine::Op<()>> {
    let max_age = seconds("max_age", max_age)?;
    Ok(hub.events.set_retention(Retention { max_len, max_age }))
}

macro_rules! event_methods {
    ($cls:ident, $ret:ty, $run:ident, { $($extra:tt)* }) => {
        #[pymethods]
        impl $cls {
            $($extra)*

            fn publish<'py>(&self, py: Python<'py>, channel: Text, data: &Bound<'py, PyAny>) -> PyResult<$ret> {
                let v = py_to_json(data, "data")?;
                $run(py, self.hub.events.publish(&channel, v), event)
            }

            #[pyo3(signature = (*patterns, after=None, limit=100))]
            fn read<'py>(
                &self,
                py: Python<'py>,
                patterns: &Bound<'py, PyTuple>,
                after: Option<Text>,
                limit: usize,
            ) -> PyResult<$ret> {
                let pats = self::patterns(patterns)?;
                let after = after.as_deref().unwrap_or("0").to_string();
                // From the archive for what the store no longer keeps (docs/archive.md).
                let op = crate::archive::pg::fallthrough::events_read(
                    self.hub.archive.current(), &self.hub.events, self.hub.namespace().into(),
                    pats, after, limit,
                );
                $run(py, op, events)
            }

            fn last_id<'py>(&self, py: Python<'py>) -> PyResult<$ret> {
                $run(py, self.hub.events.last_id(), Ok)
            }

            #[pyo3(signature = (*, max_len=10_000, max_age=None))]
            fn set_retention<'py>(&self, py: Python<'py>, max_len: u64, max_age: Option<f64>) -> PyResult<$ret> {
                $run(py, retention_op(&self.hub, max_len, max_age)?, Ok)
            }

            fn retention<'py>(&self, py: Python<'py>) -> PyResult<$ret> {
                $run(py, self.hub.events.retention(), retention_dict)
            }

            fn count<'py>(&self, py: Python<'py>) -> PyResult<$ret> {
                $run(py, self.hub.events.len(), Ok)
            }

            /// One read for the iterators: `(events, cursor)` after `after` (None: from now),
            /// waiting up to `block` seconds for the first.
            #[pyo3(signature = (patterns, after, limit, block))]
            fn _poll<'py>(
                &self,
                py: Python<'py>,
                patterns: Vec<Text>,
                after: Option<Text>,
                limit: usize,
                block: f64,
            ) -> PyResult<$ret> {
                let block = seconds("block", Some(block))?.unwrap_or_default();
                // A closed hub's followers (the DualLoop tracker) stop on ClosedError.
                self.hub.check()?;
                $run(py, self.hub.events.read(&strings(patterns), after.as_deref(), limit, block), batch)
            }

            fn __repr__(&self) -> String {
                format!("{}(namespace={:?})", stringify!($cls), self.hub.namespace())
            }
        }
    };
}

/// `hub.events` of a sync hub.
#[pyclass(frozen, module = "zerolag._core", name = "Events")]
pub struct Events {
    pub(crate) hub: Arc<CoreHub>,
}

/// `hub.events` of an async hub.
#[pyclass(frozen, module = "zerolag._core", name = "AsyncEvents")]
pub struct AsyncEvents {
    pub(crate) hub: Arc<CoreHub>,
}

event_methods!(Events, Py<PyAny>, run_sync, {
    /// The async twin on the same hub (used by `DualLoop.aevents`).
    fn _async_twin(&self) -> AsyncEvents {
        AsyncEvents {
            hub: self.hub.clone(),
        }
    }

    /// A blocking iterator over the events of `patterns` after `after` (None: from now).
    #[pyo3(signature = (*patterns, after=None))]
    fn subscribe(
        &self,
        py: Python<'_>,
        patterns: &Bound<'_, PyTuple>,
        after: Option<Text>,
    ) -> PyResult<Subscription> {
        let pats = self::patterns(patterns)?;
        let cursor = match after.map(Text::into_string) {
            Some(a) => {
                self.hub.events.check_after(&a)?;
                a
            }
            None => {
                let op = self.hub.events.start(&pats);
                py.detach(move || op.wait())?
            }
        };
        let ping = self.hub.backend().ping_interval();
        Ok(Subscription {
            hub: self.hub.clone(),
            follow: Mutex::new(Follow::new(pats, Some(cursor)).with_ping_interval(ping)),
        })
    }
});
event_methods!(AsyncEvents, Bound<'py, PyAny>, run_async, {
    /// Events on channels matching `patterns` (all channels if none), as an async iterator;
    /// `after` an event id to resume after (`"0"`: from the oldest retained; None: from the
    /// end of the log when first used).
    #[pyo3(signature = (*patterns, after=None))]
    fn subscribe(
        &self,
        patterns: &Bound<'_, PyTuple>,
        after: Option<Text>,
    ) -> PyResult<AsyncSubscription> {
        let pats = self::patterns(patterns)?;
        let after = after.map(Text::into_string);
        if let Some(a) = &after {
            self.hub.events.check_after(a)?;
        }
        let ping = self.hub.backend().ping_interval();
        Ok(AsyncSubscription {
            hub: self.hub.clone(),
            follow: Arc::new(Mutex::new(
                Follow::new(pats, after).with_ping_interval(ping),
            )),
        })
    }
});

/// Events of some channels as they come (`for ev in hub.events.subscribe("task:*")`).
#[pyclass(frozen, module = "zerolag._core", name = "Subscription")]
pub struct Subscription {
    hub: Arc<CoreHub>,
    follow: Mutex<Follow>,
}

/// Longest the sync API stays in Rust before it checks for Ctrl-C.
const SLICE: Duration = Duration::from_millis(100);
/// Longest one read of the asyncio iterator (a cancelled wait stops at the next read).
const ASYNC_SLICE: Duration = Duration::from_secs(1);
const _: () = assert!(
    core::DEFAULT_MAX_LEN == 10_000,
    "keep set_retention's default in step"
);

impl Subscription {
    /// The next event, waiting up to `timeout` (None: forever) in slices, handling signals.
    fn next_event(&self, py: Python<'_>, timeout: Option<Duration>) -> PyResult<Option<Event>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let op = {
                let mut f = self.follow.lock();
                if f.closed() {
                    return Ok(None);
                }
                if let Some(e) = f.pop() {
                    return Ok(Some(Event { e }));
                }
                let slice = match deadline {
                    Some(d) => d.saturating_duration_since(Instant::now()).min(SLICE),
                    None => SLICE,
                };
                self.hub.check()?;
                f.read(&self.hub.events, slice)
            };
            let r = py.detach(move || op.wait());
            let after = self.follow.lock().absorb(r)?;
            if after == After::Pause {
                py.detach(|| std::thread::sleep(follow::RECONNECT_PAUSE));
            }
            if self.follow.lock().is_empty() {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Ok(None);
                }
                py.check_signals()?;
            }
        }
    }
}

#[pymethods]
impl Subscription {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Event> {
        match self.next_event(py, None)? {
            Some(e) => Ok(e),
            None => Err(PyStopIteration::new_err(())),
        }
    }

    /// The next event, or None after `timeout` seconds (None: wait as long as it takes).
    #[pyo3(signature = (timeout=None))]
    fn get(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<Event>> {
        self.next_event(py, seconds("timeout", timeout)?)
    }

    /// Id of the last event handed out (pass it as `after` to resume), or None.
    #[getter]
    fn last_id(&self) -> Option<String> {
        self.follow.lock().last_id().map(str::to_string)
    }

    /// The channels and patterns.
    #[getter]
    fn patterns(&self) -> Vec<String> {
        self.follow.lock().patterns().to_vec()
    }

    /// Stops the iteration (a later `next` raises StopIteration).
    fn close(&self) {
        self.follow.lock().close();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, PyTuple>) -> bool {
        self.close();
        false
    }

    fn __repr__(&self) -> String {
        repr("Subscription", &self.follow.lock())
    }
}

fn repr(name: &str, f: &Follow) -> String {
    format!(
        "{name}(patterns={:?}, last_id={:?}{})",
        f.patterns(),
        f.last_id(),
        if f.closed() { ", closed" } else { "" }
    )
}

/// Events of some channels as they come, for asyncio: `async for ev in
/// hub.events.subscribe("task:*")`. Without `after` it starts at the end of the log when first
/// used (`async with` or the first `get`/`__anext__`): events published before are not
/// delivered.
#[pyclass(frozen, module = "zerolag._core", name = "AsyncSubscription")]
pub struct AsyncSubscription {
    hub: Arc<CoreHub>,
    follow: Arc<Mutex<Follow>>,
}

impl AsyncSubscription {
    /// The next event within `timeout` (None: no limit), as a future: the same reads and
    /// outage policy as the blocking iterator.
    fn next_event(&self, timeout: Option<Duration>) -> crate::engine::Op<Option<core::Event>> {
        let (hub, follow) = (self.hub.clone(), self.follow.clone());
        let deadline = timeout.map(|t| Instant::now() + t);
        crate::engine::Op::Async(Box::pin(async move {
            loop {
                let op = {
                    let mut f = follow.lock();
                    if f.closed() {
                        return Ok(None);
                    }
                    if let Some(e) = f.pop() {
                        return Ok(Some(e));
                    }
                    let slice = match deadline {
                        Some(d) => d.saturating_duration_since(Instant::now()).min(ASYNC_SLICE),
                        None => ASYNC_SLICE,
                    };
                    hub.check()?;
                    f.read(&hub.events, slice)
                };
                let r = op.run().await;
                let after = follow.lock().absorb(r)?;
                if after == After::Pause {
                    tokio::time::sleep(follow::RECONNECT_PAUSE).await;
                }
                if follow.lock().is_empty() && deadline.is_some_and(|d| Instant::now() >= d) {
                    return Ok(None);
                }
            }
        }))
    }

    /// Finds the end of the log for a subscription that starts there (nothing to do after
    /// that, or with `after`).
    fn start(&self) -> crate::engine::Op<()> {
        if self.follow.lock().started() {
            return crate::engine::Op::Ready(Ok(()));
        }
        let follow = self.follow.clone();
        let pats = follow.lock().patterns().to_vec();
        self.hub
            .events
            .start(&pats)
            .map(move |last| follow.lock().start_at(last))
    }
}

fn maybe_event(e: Option<core::Event>) -> PyResult<Option<Event>> {
    Ok(e.map(|e| Event { e }))
}

#[pymethods]
impl AsyncSubscription {
    /// The next event, or None after `timeout` seconds (None: wait as long as it takes).
    #[pyo3(signature = (timeout=None))]
    fn get<'py>(&self, py: Python<'py>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
        run_async(
            py,
            self.next_event(seconds("timeout", timeout)?),
            maybe_event,
        )
    }

    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        run_async(py, self.next_event(None), |e| match e {
            Some(e) => Ok(Event { e }),
            None => Err(pyo3::exceptions::PyStopAsyncIteration::new_err(())),
        })
    }

    /// Id of the last event handed out (pass it as `after` to resume), or None.
    #[getter]
    fn last_id(&self) -> Option<String> {
        self.follow.lock().last_id().map(str::to_string)
    }

    /// The channels and patterns.
    #[getter]
    fn patterns(&self) -> Vec<String> {
        self.follow.lock().patterns().to_vec()
    }

    /// Stops the iteration (a waiting `get` returns None at its next read).
    fn aclose<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.follow.lock().close();
        run_async(py, crate::engine::Op::Ready(Ok(())), Ok)
    }

    fn __aenter__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let me = slf.clone().unbind();
        run_async(py, slf.get().start(), move |()| Ok(me))
    }

    #[pyo3(signature = (*_args))]
    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _args: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.follow.lock().close();
        run_async(py, crate::engine::Op::Ready(Ok(false)), Ok)
    }

    fn __repr__(&self) -> String {
        repr("AsyncSubscription", &self.follow.lock())
    }
}

/// Adds this capability's classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Event>()?;
    m.add_class::<Events>()?;
    m.add_class::<AsyncEvents>()?;
    m.add_class::<Subscription>()?;
    m.add_class::<AsyncSubscription>()?;
    Ok(())
}
