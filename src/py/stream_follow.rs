//! The followers of `hub.chat` and `hub.activity`: `ChatFollow` and `ActivityFollow`, the
//! blocking iterators, and `AsyncChatFollow` and `AsyncActivityFollow`, the asyncio ones; all
//! follow one log with `crate::streams::follow` (one cursor logic, one policy for an
//! unreachable store).

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use pyo3::exceptions::{PyStopAsyncIteration, PyStopIteration};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::convert::Text;
use super::errors::invalid;
use super::run_async;
use super::stream_items::{ActivityItem, ChatEntry};
use crate::engine::Op;
use crate::hub::Hub as CoreHub;
use crate::streams::follow::{self, After, Follow};
use crate::streams::{Entry, Streams};

/// Longest the blocking followers stay in Rust before they check for Ctrl-C.
const SLICE: Duration = Duration::from_millis(100);
/// Longest one read of the asyncio followers (a cancelled wait stops at the next read).
const ASYNC_SLICE: Duration = Duration::from_millis(250);

fn seconds(timeout: Option<f64>) -> PyResult<Option<Duration>> {
    match timeout {
        None => Ok(None),
        Some(v) if (0.0..=1e9).contains(&v) => Ok(Some(Duration::from_secs_f64(v))),
        Some(v) => Err(invalid(
            "timeout",
            format!("must be a number of seconds >= 0, got {v}"),
        )),
    }
}

/// The follower state of a sync `follow`: "from now" is fixed when `follow` returns.
pub(super) fn sync_follow(
    py: Python<'_>,
    hub: &CoreHub,
    logs: &Streams,
    stream: &str,
    after: Option<Text>,
) -> PyResult<Follow> {
    logs.check_stream(stream)?;
    let after = match after {
        Some(a) => a.into_string(),
        None => {
            let op = logs.last_id(stream);
            py.detach(move || op.wait())?
        }
    };
    Ok(Follow::new(
        stream,
        Some(after),
        hub.backend().ping_interval(),
    )?)
}

/// The follower state of an async `follow`: without `after`, it starts at the end of the
/// log when first used.
pub(super) fn async_follow(
    hub: &CoreHub,
    logs: &Streams,
    stream: &str,
    after: Option<Text>,
) -> PyResult<Follow> {
    logs.check_stream(stream)?;
    Ok(Follow::new(
        stream,
        after.map(Text::into_string),
        hub.backend().ping_interval(),
    )?)
}

/// The blocking and asyncio followers of one kind: `$field` the core handle, `$item` the
/// Python class of an entry, `$arg` the name of the log's getter.
macro_rules! followers {
    ($sync:ident, $sname:literal, $async_:ident, $aname:literal, $field:ident, $item:ident, $arg:ident) => {
        /// A blocking follower of one log, from `follow()`.
        #[pyclass(frozen, module = "zerolag._core", name = $sname)]
        pub struct $sync {
            pub(super) hub: Arc<CoreHub>,
            pub(super) follow: Mutex<Follow>,
        }

        impl $sync {
            /// The next entry within `timeout` (None: no limit), reading in slices and
            /// handling signals between them.
            fn next_entry(
                &self,
                py: Python<'_>,
                timeout: Option<Duration>,
            ) -> PyResult<Option<$item>> {
                let deadline = timeout.map(|t| Instant::now() + t);
                loop {
                    let op = {
                        let mut f = self.follow.lock();
                        if f.closed() {
                            return Ok(None);
                        }
                        if let Some(e) = f.pop() {
                            return Ok(Some($item { e }));
                        }
                        let slice = match deadline {
                            Some(d) => d.saturating_duration_since(Instant::now()).min(SLICE),
                            None => SLICE,
                        };
                        self.hub.check()?;
                        f.read(&self.hub.$field, slice)
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
        impl $sync {
            fn __iter__(slf: Py<Self>) -> Py<Self> {
                slf
            }

            fn __next__(&self, py: Python<'_>) -> PyResult<$item> {
                match self.next_entry(py, None)? {
                    Some(e) => Ok(e),
                    None => Err(PyStopIteration::new_err(())),
                }
            }

            /// The next entry, or None after `timeout` seconds (None: as long as it takes).
            #[pyo3(signature = (timeout=None))]
            fn get(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<$item>> {
                self.next_entry(py, seconds(timeout)?)
            }

            /// Id of the last entry handed out (pass it as `after` to resume), or None.
            #[getter]
            fn last_id(&self) -> Option<String> {
                self.follow.lock().last_id().map(str::to_string)
            }

            /// The log followed.
            #[getter]
            fn $arg(&self) -> String {
                self.follow.lock().stream().to_string()
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
                repr($sname, &self.follow.lock())
            }
        }

        /// An asyncio follower of one log, from `follow()` on an async hub.
        #[pyclass(frozen, module = "zerolag._core", name = $aname)]
        pub struct $async_ {
            pub(super) hub: Arc<CoreHub>,
            pub(super) follow: Arc<Mutex<Follow>>,
        }

        impl $async_ {
            /// The next entry within `timeout` (None: no limit), as a future: the same reads
            /// and outage policy as the blocking follower, in steps of at most 250 ms.
            fn next_entry(&self, timeout: Option<Duration>) -> Op<Option<Entry>> {
                let (hub, follow) = (self.hub.clone(), self.follow.clone());
                let deadline = timeout.map(|t| Instant::now() + t);
                Op::Async(Box::pin(async move {
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
                                Some(d) => {
                                    d.saturating_duration_since(Instant::now()).min(ASYNC_SLICE)
                                }
                                None => ASYNC_SLICE,
                            };
                            hub.check()?;
                            f.read(&hub.$field, slice)
                        };
                        let r = op.run().await;
                        let after = follow.lock().absorb(r)?;
                        if after == After::Pause {
                            tokio::time::sleep(follow::RECONNECT_PAUSE).await;
                        }
                        if follow.lock().is_empty() && deadline.is_some_and(|d| Instant::now() >= d)
                        {
                            return Ok(None);
                        }
                    }
                }))
            }

            /// Finds the end of the log for a follower that starts there.
            fn start(&self) -> Op<()> {
                if self.follow.lock().started() {
                    return Op::Ready(Ok(()));
                }
                let (hub, follow) = (self.hub.clone(), self.follow.clone());
                Op::Async(Box::pin(async move {
                    let op = follow.lock().read(&hub.$field, Duration::ZERO);
                    let r = op.run().await;
                    follow.lock().absorb(r).map(|_| ())
                }))
            }
        }

        #[pymethods]
        impl $async_ {
            /// The next entry, or None after `timeout` seconds (None: as long as it takes).
            #[pyo3(signature = (timeout=None))]
            fn get<'py>(
                &self,
                py: Python<'py>,
                timeout: Option<f64>,
            ) -> PyResult<Bound<'py, PyAny>> {
                run_async(py, self.next_entry(seconds(timeout)?), |e| {
                    Ok(e.map(|e| $item { e }))
                })
            }

            fn __aiter__(slf: Py<Self>) -> Py<Self> {
                slf
            }

            fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                run_async(py, self.next_entry(None), |e| match e {
                    Some(e) => Ok($item { e }),
                    None => Err(PyStopAsyncIteration::new_err(())),
                })
            }

            /// Id of the last entry handed out (pass it as `after` to resume), or None.
            #[getter]
            fn last_id(&self) -> Option<String> {
                self.follow.lock().last_id().map(str::to_string)
            }

            /// The log followed.
            #[getter]
            fn $arg(&self) -> String {
                self.follow.lock().stream().to_string()
            }

            /// Stops the iteration (a waiting `get` returns None at its next read).
            fn aclose<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                self.follow.lock().close();
                run_async(py, Op::Ready(Ok(())), Ok)
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
                run_async(py, Op::Ready(Ok(false)), Ok)
            }

            fn __repr__(&self) -> String {
                repr($aname, &self.follow.lock())
            }
        }
    };
}

fn repr(name: &str, f: &Follow) -> String {
    format!(
        "{name}({:?}, last_id={:?}{})",
        f.stream(),
        f.last_id(),
        if f.closed() { ", closed" } else { "" }
    )
}

followers!(
    ChatFollow,
    "ChatFollow",
    AsyncChatFollow,
    "AsyncChatFollow",
    chat,
    ChatEntry,
    conversation
);
followers!(
    ActivityFollow,
    "ActivityFollow",
    AsyncActivityFollow,
    "AsyncActivityFollow",
    activity,
    ActivityItem,
    user
);
