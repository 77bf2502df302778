//! The native awaitable every async method returns: a coroutine object (it has `send`,
//! `throw`, `close` and `__await__`, so `asyncio.create_task` takes it as it would an
//! `async def` call) that does nothing until first awaited, then:
//!
//! - runs the operation's first step on the calling thread with the GIL released
//!   ([`Op::start`]): validation errors, no-I/O answers and Redis replies that arrive within
//!   the polling limit finish right there, and the `await` returns without touching the event
//!   loop;
//! - otherwise hands the rest to the runtime (or a blocking thread) and yields an asyncio
//!   future of the running loop. The background thread never takes the GIL: it queues the
//!   result for the loop and writes one byte to a socket the loop watches (`add_reader`), only
//!   if no byte is pending already, so a burst of completions costs the loop one wake-up. The
//!   loop converts the results to Python objects and resolves the futures.
//!
//! Cancellation: a task cancelled while it waits throws `CancelledError` into this coroutine,
//! which aborts the background work at its next await point. A write the store has already
//! applied stays applied (each operation is one atomic script or transaction, so it is never
//! half-written); a blocking read stops waiting, and a job or message it had already taken
//! becomes visible again after its visibility timeout.
//!
//! A loop without `add_reader` (Windows' proactor loop) or that refuses attributes gets the
//! result through `call_soon_threadsafe` instead.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::exceptions::{PyRuntimeError, PyStopIteration};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use tokio::task::AbortHandle;

use super::errors::to_py;
use crate::engine::{Op, Rest, Started};
use crate::error::Result;

/// A finished operation's value, made into a Python object on the loop's thread.
pub(crate) type Convert = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;

/// What a background operation hands to the loop.
type Outcome = Result<Convert>;

enum Stage {
    /// Not awaited yet.
    Fresh(Op<Convert>),
    /// Waiting on an asyncio future: the iterator of its `__await__`, and the work to abort.
    Waiting { it: Py<PyAny>, abort: AbortHandle },
    /// Returned, raised or closed.
    Done,
}

/// An awaitable store operation (see the module docs).
#[pyclass(frozen, module = "zerolag._core", name = "Pending")]
pub struct Pending {
    stage: Mutex<Stage>,
}

/// Wraps `op` and its conversion `f` as a [`Pending`] (started when first awaited).
pub(crate) fn pending<'py, T, U, F>(py: Python<'py>, op: Op<T>, f: F) -> PyResult<Bound<'py, PyAny>>
where
    T: Send + 'static,
    F: FnOnce(T) -> PyResult<U> + Send + 'static,
    U: for<'a> IntoPyObject<'a> + Send + 'static,
{
    let op = op.map(move |t| -> Convert { Box::new(move |py| super::object(py, f(t)?)) });
    Ok(Bound::new(
        py,
        Pending {
            stage: Mutex::new(Stage::Fresh(op)),
        },
    )?
    .into_any())
}

fn stop(v: Py<PyAny>) -> PyErr {
    PyStopIteration::new_err((v,))
}

#[pymethods]
impl Pending {
    fn __await__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.step(py, None)
    }

    /// Resumes the coroutine (what asyncio's task does); see the module docs.
    fn send(&self, py: Python<'_>, value: Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.step(py, Some(value))
    }

    /// Raises `typ` (an exception instance or class) inside the coroutine: stops the
    /// background work and raises it (after the loop has resolved the future, its outcome is
    /// dropped).
    #[pyo3(signature = (typ, val=None, _tb=None))]
    fn throw(
        &self,
        typ: Bound<'_, PyAny>,
        val: Option<Bound<'_, PyAny>>,
        _tb: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let stage = std::mem::replace(&mut *self.stage.lock(), Stage::Done);
        if let Stage::Waiting { abort, .. } = &stage {
            abort.abort();
        }
        drop(stage);
        let err = if typ.is_instance_of::<pyo3::exceptions::PyBaseException>() {
            PyErr::from_value(typ)
        } else if let Ok(t) = typ.cast::<PyType>() {
            match val {
                Some(v) if v.is_instance(t)? => PyErr::from_value(v),
                Some(v) => PyErr::from_value(t.call1((v,))?),
                None => PyErr::from_value(t.call0()?),
            }
        } else {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "throw() expects an exception class or instance",
            ));
        };
        Err(err)
    }

    /// Stops the background work (if any) and marks the coroutine finished.
    fn close(&self) {
        let stage = std::mem::replace(&mut *self.stage.lock(), Stage::Done);
        if let Stage::Waiting { abort, .. } = stage {
            abort.abort();
        }
    }

    fn __repr__(&self) -> &'static str {
        match &*self.stage.lock() {
            Stage::Fresh(_) => "<zerolag operation, not awaited>",
            Stage::Waiting { .. } => "<zerolag operation, running>",
            Stage::Done => "<zerolag operation, finished>",
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Stage::Waiting { abort, .. } = &*self.stage.get_mut() {
            abort.abort();
        }
    }
}

impl Pending {
    fn step(&self, py: Python<'_>, value: Option<Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        let mut stage = self.stage.lock();
        match std::mem::replace(&mut *stage, Stage::Done) {
            Stage::Fresh(op) => {
                if value.as_ref().is_some_and(|v| !v.is_none()) {
                    return Err(pyo3::exceptions::PyTypeError::new_err(
                        "can't send non-None value to a just-started coroutine",
                    ));
                }
                drop(stage);
                let started = py.detach(move || op.start());
                match started {
                    Started::Done(r) => Err(stop(r?(py)?)),
                    Started::Later(rest) => self.wait(py, rest),
                }
            }
            Stage::Waiting { it, abort } => {
                let it2 = it.clone_ref(py);
                *stage = Stage::Waiting { it, abort };
                drop(stage);
                let out = match value {
                    Some(v) => it2.call_method1(py, "send", (v,)),
                    None => it2.bind(py).call_method0("__next__").map(Bound::unbind),
                };
                if out.is_err() {
                    // Returned (StopIteration) or raised: finished either way.
                    *self.stage.lock() = Stage::Done;
                }
                out
            }
            Stage::Done => Err(PyRuntimeError::new_err(
                "cannot reuse an already awaited zerolag operation",
            )),
        }
    }

    /// Spawns the rest and yields an asyncio future of the running loop that it resolves.
    fn wait(&self, py: Python<'_>, rest: Rest<Convert>) -> PyResult<Py<PyAny>> {
        let lp = running_loop(py)?;
        let fut = lp.call_method0("create_future")?;
        let abort = match completions(py, &lp)? {
            Some(q) => {
                let target = fut.clone().unbind();
                rest.spawn(move |r| q.push(target, r))
            }
            None => {
                let (target, lp) = (fut.clone().unbind(), lp.clone().unbind());
                rest.spawn(move |r| deliver_threadsafe(lp, target, r))
            }
        };
        let it = fut.call_method0("__await__")?;
        let first = it.call_method0("__next__");
        *self.stage.lock() = Stage::Waiting {
            it: it.unbind(),
            abort,
        };
        first.map(Bound::unbind)
    }
}

/// `asyncio.get_running_loop()` (RuntimeError outside a running loop, as for a coroutine).
fn running_loop(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    static GET: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let get = GET.get_or_try_init(py, || -> PyResult<_> {
        Ok(py.import("asyncio")?.getattr("get_running_loop")?.unbind())
    })?;
    get.bind(py).call0()
}

/// Resolves `fut` with `r` unless it was cancelled meanwhile.
fn resolve(py: Python<'_>, fut: &Bound<'_, PyAny>, r: Outcome) -> PyResult<()> {
    if fut.call_method0("done")?.is_truthy()? {
        return Ok(());
    }
    match r.map_err(to_py).and_then(|c| c(py)) {
        Ok(v) => fut.call_method1("set_result", (v,))?,
        Err(e) => fut.call_method1("set_exception", (e.into_value(py),))?,
    };
    Ok(())
}

/// Results waiting for one loop, and the socket that wakes it.
struct Queue {
    items: Mutex<Vec<(Py<PyAny>, Outcome)>>,
    /// True while a wake-up byte is unread: later completions need not write another.
    signaled: AtomicBool,
    tx: UnixStream,
    rx: UnixStream,
}

impl Queue {
    /// Called on a background thread (no GIL): queue, and wake the loop unless it is woken.
    fn push(&self, fut: Py<PyAny>, r: Outcome) {
        self.items.lock().push((fut, r));
        if !self.signaled.swap(true, Ordering::AcqRel) {
            // Non-blocking; a full socket means bytes are unread, i.e. the loop will wake.
            let _ = (&self.tx).write(&[1]);
        }
    }
}

/// The loop's reader callback: drains the socket and resolves every queued future.
#[pyclass(frozen, module = "zerolag._core", name = "_Completions")]
struct Completions {
    q: Arc<Queue>,
}

#[pymethods]
impl Completions {
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        let mut buf = [0u8; 256];
        while matches!((&self.q.rx).read(&mut buf), Ok(n) if n > 0) {}
        // Clear before draining: a result queued after this writes a new byte.
        self.q.signaled.store(false, Ordering::Release);
        let items = std::mem::take(&mut *self.q.items.lock());
        for (fut, r) in items {
            // A failure to resolve one future (a closed loop) must not strand the others.
            let _ = resolve(py, fut.bind(py), r);
        }
        Ok(())
    }
}

const ATTR: &str = "_zerolag_completions";

/// The completion queue of loop `lp`, made and registered on first use; None when the loop
/// cannot watch a socket (then results come through `call_soon_threadsafe`).
fn completions(py: Python<'_>, lp: &Bound<'_, PyAny>) -> PyResult<Option<Arc<Queue>>> {
    if let Ok(c) = lp.getattr(ATTR) {
        return Ok(c.cast::<Completions>().ok().map(|c| c.get().q.clone()));
    }
    let made = (|| -> std::io::Result<Queue> {
        let (tx, rx) = UnixStream::pair()?;
        tx.set_nonblocking(true)?;
        rx.set_nonblocking(true)?;
        Ok(Queue {
            items: Mutex::new(Vec::new()),
            signaled: AtomicBool::new(false),
            tx,
            rx,
        })
    })();
    let Ok(q) = made else { return Ok(None) };
    let q = Arc::new(q);
    let cb = Bound::new(py, Completions { q: q.clone() })?;
    if lp
        .call_method1("add_reader", (q.rx.as_raw_fd(), cb.clone()))
        .is_err()
    {
        let _ = lp.setattr(ATTR, py.None());
        return Ok(None);
    }
    if lp.setattr(ATTR, cb).is_err() {
        let _ = lp.call_method1("remove_reader", (q.rx.as_raw_fd(),));
        return Ok(None);
    }
    Ok(Some(q))
}

/// The fallback delivery: one `call_soon_threadsafe` per result (takes the GIL here).
fn deliver_threadsafe(lp: Py<PyAny>, fut: Py<PyAny>, r: Outcome) {
    Python::attach(|py| {
        let cb = Deliver {
            item: Mutex::new(Some((fut, r))),
        };
        let _ = Bound::new(py, cb)
            .and_then(|cb| lp.bind(py).call_method1("call_soon_threadsafe", (cb,)));
    });
}

#[pyclass(frozen, module = "zerolag._core", name = "_Deliver")]
struct Deliver {
    item: Mutex<Option<(Py<PyAny>, Outcome)>>,
}

#[pymethods]
impl Deliver {
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        if let Some((fut, r)) = self.item.lock().take() {
            resolve(py, fut.bind(py), r)?;
        }
        Ok(())
    }
}

/// Adds the classes.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Pending>()?;
    Ok(())
}
