//! `hub.changes` from Python: pages of the change feed, and subscriptions that follow it
//! (`ChangeSubscription` blocking, `AsyncChangeSubscription` for asyncio), both with the
//! store-outage policy of `crate::engine::outage`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use pyo3::exceptions::{PyStopAsyncIteration, PyStopIteration};
use pyo3::prelude::*;

use super::convert::Text;
use pyo3::types::PyTuple;

use super::errors::validation;
use super::{run_async, run_async_blocking, run_sync, run_sync_blocking};
use crate::changes::{self as core, Cursor, Page};
use crate::engine::outage::{Outage, PAUSE};
use crate::engine::Op;
use crate::error::{Error, Result};
use crate::hub::Hub as CoreHub;

/// One change of the feed.
#[pyclass(frozen, module = "zerolag._core", name = "Change")]
pub struct Change {
    c: core::Change,
}

#[pymethods]
impl Change {
    /// The capability that wrote it: `"tasks"`, `"docs"`, ...
    #[getter]
    fn capability(&self) -> &str {
        &self.c.capability
    }
    /// The record's id (a task id, a document path, ...).
    #[getter]
    fn id(&self) -> &str {
        &self.c.id
    }
    /// The record's version after the change.
    #[getter]
    fn version(&self) -> u64 {
        self.c.version
    }
    /// `"created"`, `"updated"` or `"deleted"`.
    #[getter]
    fn kind(&self) -> &'static str {
        self.c.kind.name()
    }
    /// When, in seconds since the epoch.
    #[getter]
    fn time(&self) -> f64 {
        crate::clock::secs(self.c.at_ms)
    }
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<Change>().is_ok_and(|o| o.get().c == self.c)
    }
    fn __repr__(&self) -> String {
        format!(
            "Change(capability={:?}, id={:?}, version={}, kind={:?})",
            self.c.capability,
            self.c.id,
            self.c.version,
            self.c.kind.name()
        )
    }
}

/// A page of the feed: changes oldest first, and the cursor after them.
#[pyclass(frozen, module = "zerolag._core", name = "ChangePage")]
pub struct ChangePage {
    changes: Vec<Py<Change>>,
    cursor: String,
}

#[pymethods]
impl ChangePage {
    /// The changes, oldest first.
    #[getter]
    fn changes(&self, py: Python<'_>) -> Vec<Py<Change>> {
        self.changes.iter().map(|c| c.clone_ref(py)).collect()
    }
    /// Pass it as `after` to read on.
    #[getter]
    fn cursor(&self) -> &str {
        &self.cursor
    }
    fn __len__(&self) -> usize {
        self.changes.len()
    }
    fn __repr__(&self) -> String {
        format!(
            "ChangePage(changes=<{} changes>, cursor={:?})",
            self.changes.len(),
            self.cursor
        )
    }
}

fn page(py: Python<'_>, p: Page) -> PyResult<ChangePage> {
    let changes = p
        .changes
        .into_iter()
        .map(|c| Py::new(py, Change { c }))
        .collect::<PyResult<_>>()?;
    Ok(ChangePage {
        changes,
        cursor: p.cursor.encode(),
    })
}

fn block_of(block: Option<f64>) -> PyResult<Option<Duration>> {
    match block {
        None => Ok(None),
        Some(b) if (0.0..=1e9).contains(&b) => Ok(Some(Duration::from_secs_f64(b))),
        Some(b) => Err(validation(format!(
            "block must be a number of seconds >= 0, got {b}"
        ))),
    }
}

fn check_after(after: Option<&str>) -> PyResult<Option<String>> {
    if let Some(a) = after {
        Cursor::parse(a)?;
    }
    Ok(after.map(str::to_string))
}

macro_rules! changes_methods {
    ($cls:ident, $ret:ty, $run:ident, $blocking:ident, { $($extra:tt)* }) => {
        #[pymethods]
        impl $cls {
            $($extra)*

            /// Changes after `after` (None: from the oldest retained), at most `limit`,
            /// waiting up to `block` seconds for the first (None or 0: returns at once).
            /// RescanRequired when changes after `after` are no longer kept.
            #[pyo3(signature = (after=None, *, limit=100, block=None))]
            fn read<'py>(
                &self,
                py: Python<'py>,
                after: Option<Text>,
                limit: usize,
                block: Option<f64>,
            ) -> PyResult<$ret> {
                let after = check_after(after.as_deref())?;
                let block = block_of(block)?.filter(|b| !b.is_zero());
                let Some(block) = block else {
                    let op = self.hub.changes.read(after.as_deref(), limit, Duration::ZERO);
                    return $run(py, op, |p| Python::attach(|py| page(py, p)));
                };
                let h = self.hub.clone();
                $blocking(
                    py,
                    Some(block),
                    move |slice| h.changes.read(after.as_deref(), limit, slice),
                    |p: &Page| !p.changes.is_empty(),
                    |p| Python::attach(|py| page(py, p)),
                )
            }

            /// The cursor at the end of the feed now (reading after it returns only later
            /// changes).
            fn cursor<'py>(&self, py: Python<'py>) -> PyResult<$ret> {
                $run(py, self.hub.changes.end(), |c| Ok(c.encode()))
            }

            fn __repr__(&self) -> String {
                format!("{}(namespace={:?})", stringify!($cls), self.hub.namespace())
            }
        }
    };
}

/// `hub.changes` of a sync hub.
#[pyclass(frozen, module = "zerolag._core", name = "Changes")]
pub struct Changes {
    pub(crate) hub: Arc<CoreHub>,
}

/// `hub.changes` of an async hub.
#[pyclass(frozen, module = "zerolag._core", name = "AsyncChanges")]
pub struct AsyncChanges {
    pub(crate) hub: Arc<CoreHub>,
}

changes_methods!(Changes, Py<PyAny>, run_sync, run_sync_blocking, {
    /// A blocking iterator over the changes after `after` (None: from now).
    #[pyo3(signature = (after=None))]
    fn subscribe(&self, py: Python<'_>, after: Option<Text>) -> PyResult<ChangeSubscription> {
        let cursor = match check_after(after.as_deref())? {
            Some(a) => a,
            None => {
                let op = self.hub.changes.end();
                py.detach(move || op.wait())?.encode()
            }
        };
        Ok(ChangeSubscription {
            hub: self.hub.clone(),
            state: Mutex::new(State::new(Some(cursor), self.hub.backend().ping_interval())),
        })
    }
});

changes_methods!(
    AsyncChanges,
    Bound<'py, PyAny>,
    run_async,
    run_async_blocking,
    {
        /// An async iterator over the changes after `after` (None: from the end of the feed
        /// when first used).
        #[pyo3(signature = (after=None))]
        fn subscribe(&self, after: Option<Text>) -> PyResult<AsyncChangeSubscription> {
            Ok(AsyncChangeSubscription {
                hub: self.hub.clone(),
                state: Arc::new(Mutex::new(State::new(
                    check_after(after.as_deref())?,
                    self.hub.backend().ping_interval(),
                ))),
            })
        }
    }
);

/// Changes read per page by the subscriptions.
const PAGE: usize = 256;
/// Longest the sync iterator stays in Rust before it checks for Ctrl-C.
const SLICE: Duration = Duration::from_millis(100);
/// Longest one read of the asyncio iterator.
const ASYNC_SLICE: Duration = Duration::from_secs(1);

/// Where a subscription is.
struct State {
    /// None until started (then the feed's end).
    cursor: Option<String>,
    buffer: VecDeque<core::Change>,
    closed: bool,
    outage: Outage,
}

impl State {
    /// `ping`: the store's ping interval (a silent store raises TimeoutError after it).
    fn new(cursor: Option<String>, ping: Duration) -> State {
        State {
            cursor,
            buffer: VecDeque::new(),
            closed: false,
            outage: Outage::with_ping_interval(ping),
        }
    }

    /// Takes a read: buffers its changes and moves on; on a gap, moves to the feed's end and
    /// returns the error (the caller rescans; iterating on continues from there). `Ok(false)`:
    /// pause, the store is unreachable.
    fn absorb(&mut self, r: Result<Page>) -> Result<bool> {
        match self.outage.absorb(r) {
            Ok(Some(p)) => {
                self.cursor = Some(p.cursor.encode());
                if !self.closed {
                    self.buffer.extend(p.changes);
                }
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(Error::Rescan(end)) => {
                self.cursor = Some(end.clone());
                Err(Error::Rescan(end))
            }
            Err(e) => Err(e),
        }
    }
}

/// The changes of the feed as they come, from `Changes.subscribe`: iterate it (blocks;
/// Ctrl-C interrupts) or call `get` with a timeout.
#[pyclass(frozen, module = "zerolag._core", name = "ChangeSubscription")]
pub struct ChangeSubscription {
    hub: Arc<CoreHub>,
    state: Mutex<State>,
}

impl ChangeSubscription {
    fn next_change(&self, py: Python<'_>, timeout: Option<Duration>) -> PyResult<Option<Change>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let op = {
                let mut st = self.state.lock();
                if st.closed {
                    return Ok(None);
                }
                if let Some(c) = st.buffer.pop_front() {
                    return Ok(Some(Change { c }));
                }
                let slice = match deadline {
                    Some(d) => d.saturating_duration_since(Instant::now()).min(SLICE),
                    None => SLICE,
                };
                self.hub.check()?;
                self.hub.changes.read(st.cursor.as_deref(), PAGE, slice)
            };
            let r = py.detach(move || op.wait());
            if !self.state.lock().absorb(r)? {
                py.detach(|| std::thread::sleep(PAUSE));
            }
            if self.state.lock().buffer.is_empty() {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Ok(None);
                }
                py.check_signals()?;
            }
        }
    }
}

#[pymethods]
impl ChangeSubscription {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Change> {
        match self.next_change(py, None)? {
            Some(c) => Ok(c),
            None => Err(PyStopIteration::new_err(())),
        }
    }

    /// The next change, or None after `timeout` seconds (None: wait as long as it takes).
    #[pyo3(signature = (timeout=None))]
    fn get(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<Change>> {
        self.next_change(py, block_of(timeout)?)
    }

    /// The cursor after the last change handed out (pass it as `after` to resume).
    #[getter]
    fn cursor(&self) -> Option<String> {
        let st = self.state.lock();
        // Changes read but not handed out are read again after a resume.
        st.buffer.is_empty().then(|| st.cursor.clone()).flatten()
    }

    /// Stops the iteration.
    fn close(&self) {
        let mut st = self.state.lock();
        st.closed = true;
        st.buffer.clear();
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
        format!("ChangeSubscription(cursor={:?})", self.state.lock().cursor)
    }
}

/// The changes of the feed as they come, for asyncio: `async for ch in
/// hub.changes.subscribe()`.
#[pyclass(frozen, module = "zerolag._core", name = "AsyncChangeSubscription")]
pub struct AsyncChangeSubscription {
    hub: Arc<CoreHub>,
    state: Arc<Mutex<State>>,
}

impl AsyncChangeSubscription {
    fn next_change(&self, timeout: Option<Duration>) -> Op<Option<core::Change>> {
        let (hub, state) = (self.hub.clone(), self.state.clone());
        let deadline = timeout.map(|t| Instant::now() + t);
        Op::Async(Box::pin(async move {
            if state.lock().cursor.is_none() {
                let end = hub.changes.end().run().await?.encode();
                let mut st = state.lock();
                if st.cursor.is_none() {
                    st.cursor = Some(end);
                }
            }
            loop {
                let op = {
                    let mut st = state.lock();
                    if st.closed {
                        return Ok(None);
                    }
                    if let Some(c) = st.buffer.pop_front() {
                        return Ok(Some(c));
                    }
                    let slice = match deadline {
                        Some(d) => d.saturating_duration_since(Instant::now()).min(ASYNC_SLICE),
                        None => ASYNC_SLICE,
                    };
                    hub.check()?;
                    hub.changes.read(st.cursor.as_deref(), PAGE, slice)
                };
                let r = op.run().await;
                if !state.lock().absorb(r)? {
                    tokio::time::sleep(PAUSE).await;
                }
                if state.lock().buffer.is_empty() && deadline.is_some_and(|d| Instant::now() >= d) {
                    return Ok(None);
                }
            }
        }))
    }
}

#[pymethods]
impl AsyncChangeSubscription {
    /// The next change, or None after `timeout` seconds (None: wait as long as it takes).
    #[pyo3(signature = (timeout=None))]
    fn get<'py>(&self, py: Python<'py>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
        run_async(py, self.next_change(block_of(timeout)?), |c| {
            Ok(c.map(|c| Change { c }))
        })
    }

    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        run_async(py, self.next_change(None), |c| match c {
            Some(c) => Ok(Change { c }),
            None => Err(PyStopAsyncIteration::new_err(())),
        })
    }

    /// The cursor after the last change handed out (None before the first read).
    #[getter]
    fn cursor(&self) -> Option<String> {
        let st = self.state.lock();
        st.buffer.is_empty().then(|| st.cursor.clone()).flatten()
    }

    /// Stops the iteration.
    fn aclose<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let mut st = self.state.lock();
        st.closed = true;
        st.buffer.clear();
        run_async(py, Op::Ready(Ok(())), Ok)
    }

    fn __aenter__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let me = slf.clone().unbind();
        run_async(slf.py(), Op::Ready(Ok(())), move |()| Ok(me))
    }

    #[pyo3(signature = (*_args))]
    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _args: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut st = self.state.lock();
        st.closed = true;
        st.buffer.clear();
        run_async(py, Op::Ready(Ok(false)), Ok)
    }

    fn __repr__(&self) -> String {
        format!(
            "AsyncChangeSubscription(cursor={:?})",
            self.state.lock().cursor
        )
    }
}

/// Adds this capability's classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Change>()?;
    m.add_class::<ChangePage>()?;
    m.add_class::<Changes>()?;
    m.add_class::<AsyncChanges>()?;
    m.add_class::<ChangeSubscription>()?;
    m.add_class::<AsyncChangeSubscription>()?;
    Ok(())
}
