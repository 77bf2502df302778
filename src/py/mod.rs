//! The Python module `zerolag._core`: the only code that touches PyO3.

mod anonymize;
mod bus;
mod convert;
mod docs;
mod errors;
mod events;
mod frontend;
mod hub;
mod jobs;
mod pattern_results;
mod patterns;
mod protocol;
mod sync;
mod tasks;

use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;

use crate::engine::{runtime, Op, Started};

/// Waits for `op` with the GIL released, then converts its result with `f`.
pub(crate) fn run_sync<T, U, F>(py: Python<'_>, op: Op<T>, f: F) -> PyResult<Py<PyAny>>
where
    T: Send + 'static,
    F: FnOnce(T) -> PyResult<U>,
    U: for<'py> IntoPyObject<'py>,
{
    let out = py.detach(move || op.wait()).map_err(errors::to_py)?;
    f(out)?.into_py_any(py)
}

/// Returns an awaitable that runs `op` on the shared runtime and converts with `f`.
pub(crate) fn run_async<'py, T, U, F>(
    py: Python<'py>,
    op: Op<T>,
    f: F,
) -> PyResult<Bound<'py, PyAny>>
where
    T: Send + 'static,
    F: FnOnce(T) -> PyResult<U> + Send + 'static,
    U: for<'a> IntoPyObject<'a> + Send + 'static,
{
    pyo3_async_runtimes::tokio::future_into_py(py, async move {
        f(op.run().await.map_err(errors::to_py)?)
    })
}

/// :func:`run_async` for the latency-critical path: starts `op` on this thread with the GIL
/// released ([`Op::start`]); when it finishes there (a fast Redis reply), returns an
/// already-resolved asyncio future, which the caller's `await` takes without a trip through
/// the event loop; otherwise the awaitable of the rest.
pub(crate) fn run_async_started<'py, T, U, F>(
    py: Python<'py>,
    op: Op<T>,
    f: F,
) -> PyResult<Bound<'py, PyAny>>
where
    T: Send + 'static,
    F: FnOnce(T) -> PyResult<U> + Send + 'static,
    U: for<'a> IntoPyObject<'a> + Send + 'static,
{
    match py.detach(move || op.start()) {
        Started::Done(r) => {
            let fut = py
                .import("asyncio")?
                .call_method0("get_running_loop")?
                .call_method0("create_future")?;
            match r.map_err(errors::to_py).and_then(f) {
                Ok(v) => fut.call_method1("set_result", (v,))?,
                Err(e) => fut.call_method1("set_exception", (e.into_value(py),))?,
            };
            Ok(fut)
        }
        Started::Later(rest) => pyo3_async_runtimes::tokio::future_into_py(py, async move {
            f(rest.await.map_err(errors::to_py)?)
        }),
    }
}

/// Longest the sync API stays in Rust during a blocking wait before it checks for Ctrl-C.
#[allow(dead_code)]
const SIGNAL_CHECK: std::time::Duration = std::time::Duration::from_millis(100);

/// A blocking wait from the sync API (e.g. "consume, waiting up to `block` for a message"):
/// runs `make(slice)` in slices of at most 100 ms with the GIL released, handling signals
/// (Ctrl-C raises KeyboardInterrupt) between slices, until `done(&result)` or `block` is spent.
/// `block` None waits forever.
#[allow(dead_code)] // used by the capabilities of issue 3 as they land
pub(crate) fn run_sync_blocking<T, U, M, D, F>(
    py: Python<'_>,
    block: Option<std::time::Duration>,
    mut make: M,
    done: D,
    f: F,
) -> PyResult<Py<PyAny>>
where
    T: Send + 'static,
    M: FnMut(std::time::Duration) -> Op<T> + Send,
    D: Fn(&T) -> bool,
    F: FnOnce(T) -> PyResult<U>,
    U: for<'py> IntoPyObject<'py>,
{
    let deadline = block.map(|b| std::time::Instant::now() + b);
    loop {
        let slice = match deadline {
            Some(d) => d
                .saturating_duration_since(std::time::Instant::now())
                .min(SIGNAL_CHECK),
            None => SIGNAL_CHECK,
        };
        let op = make(slice);
        let out = py.detach(move || op.wait()).map_err(errors::to_py)?;
        let expired = deadline.is_some_and(|d| std::time::Instant::now() >= d);
        if done(&out) || expired {
            return f(out)?.into_py_any(py);
        }
        py.check_signals()?;
    }
}

/// Names of the capabilities in the registry (what `hub.health()` counts and `hub.clear()`
/// deletes), for tests that walk every capability.
#[pyfunction]
fn _capabilities() -> Vec<&'static str> {
    crate::registry::CAPABILITIES
        .iter()
        .map(|c| c.name)
        .collect()
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // One runtime for the blocking API and the asyncio bridge.
    let _ = pyo3_async_runtimes::tokio::init_with_runtime(runtime());
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(_capabilities, m)?)?;
    m.add_class::<hub::Hub>()?;
    m.add_class::<hub::AsyncHub>()?;
    m.add_class::<hub::Health>()?;
    m.add_class::<tasks::Task>()?;
    m.add_class::<tasks::SearchPage>()?;
    m.add_class::<tasks::Tasks>()?;
    m.add_class::<tasks::AsyncTasks>()?;
    protocol::register(m)?;
    anonymize::register(m)?;
    bus::register(m)?;
    docs::register(m)?;
    sync::register(m)?;
    events::register(m)?;
    frontend::register(m)?;
    jobs::register(m)?;
    patterns::register(m)?;
    Ok(())
}
