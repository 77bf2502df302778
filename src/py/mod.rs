//! The Python module `zerolag._core`: the only code that touches PyO3.

mod anonymize;
mod archive;
mod awaitable;
mod bus;
mod cache;
mod changes;
mod convert;
mod docs;
mod dual_loop;
mod erase;
mod errors;
mod events;
mod filesync;
mod flags;
mod html;
mod http;
mod hub;
mod job;
mod job_page;
mod job_workers;
mod jobs;
mod kv;
mod limits;
mod logging;
mod memory;
mod memory_args;
mod memory_record;
mod memory_search;
mod memory_store;
mod metrics;
mod pattern_results;
mod patterns;
mod protocol;
mod sessions;
mod stream_follow;
mod stream_items;
mod streams;
mod tasks;
mod transfer;
// Analytics: event counters, trending boards.
mod analytics;
mod trending;

use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;

use crate::engine::Op;
use crate::metrics::ops;

/// mimalloc for the extension's allocations: the scan, the YAML loader and the store replies
/// allocate many small strings, and the system allocator took a fifth of the scan's CPU. It
/// belongs to the extension module, not the core library: a Rust program linking the core
/// chooses its own allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The metrics capability of the caller's caller (a method declared in `src/py/<name>.rs`).
#[track_caller]
fn site() -> usize {
    ops::capability_of_site(std::panic::Location::caller().file())
}

/// Waits for `op` with the GIL released, then converts its result with `f`. Counted in the
/// operation metrics (`crate::metrics::ops`) under the caller's capability.
#[track_caller]
pub(crate) fn run_sync<T, U, F>(py: Python<'_>, op: Op<T>, f: F) -> PyResult<Py<PyAny>>
where
    T: Send + 'static,
    F: FnOnce(T) -> PyResult<U>,
    U: for<'py> IntoPyObject<'py>,
{
    let cap = site();
    let t = std::time::Instant::now();
    let out = py.detach(move || op.wait());
    ops::record(cap, t, &out);
    object(py, f(out?)?)
}

/// `v` as a Python object, with `()` (an operation that returns nothing) as None rather than
/// PyO3's empty tuple.
pub(crate) fn object<'py, U: IntoPyObject<'py>>(py: Python<'py>, v: U) -> PyResult<Py<PyAny>> {
    let o = v.into_py_any(py)?;
    if o.is(pyo3::types::PyTuple::empty(py)) {
        return Ok(py.None());
    }
    Ok(o)
}

/// Returns an awaitable (a [`awaitable::Pending`]) that runs `op` when awaited and converts
/// its result with `f`; it needs no running event loop until then. Counted in the operation
/// metrics when it finishes.
#[track_caller]
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
    awaitable::pending(py, ops::observe(op, site()), f)
}

/// Longest the sync API stays in Rust during a blocking wait before it checks for Ctrl-C.
const SIGNAL_CHECK: std::time::Duration = std::time::Duration::from_millis(100);

/// A blocking wait from the sync API (e.g. "consume, waiting up to `block` for a message"):
/// runs `make(slice)` in slices of at most 100 ms with the GIL released, handling signals
/// (Ctrl-C raises KeyboardInterrupt) between slices, until `done(&result)` or `block` is spent.
/// `block` None waits forever. Counted once in the operation metrics, for the whole wait.
#[track_caller]
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
    let cap = site();
    let t = std::time::Instant::now();
    let deadline = block.map(|b| t + b);
    loop {
        let slice = match deadline {
            Some(d) => d
                .saturating_duration_since(std::time::Instant::now())
                .min(SIGNAL_CHECK),
            None => SIGNAL_CHECK,
        };
        let op = make(slice);
        let out = py.detach(move || op.wait());
        let out = match out {
            Ok(v) => v,
            Err(e) => {
                ops::record_outcome(cap, t, ops::outcome_of(&e));
                return Err(e.into());
            }
        };
        let expired = deadline.is_some_and(|d| std::time::Instant::now() >= d);
        if done(&out) || expired {
            ops::record_outcome(cap, t, 0);
            return object(py, f(out)?);
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

/// Longest one step of an awaited blocking wait: a cancelled wait stops at the next step, so
/// no background work outlives its waiter by more than this (the embedded store's waits run
/// on blocking threads, which cannot be interrupted mid-step).
const ASYNC_SLICE: std::time::Duration = std::time::Duration::from_millis(250);

/// The awaitable twin of [`run_sync_blocking`]: `make(slice)` in steps of at most 250 ms
/// until `done(&result)` or `block` is spent (None: no limit). Counted once in the operation
/// metrics (through `run_async`).
#[track_caller]
pub(crate) fn run_async_blocking<'py, T, U, M, D, F>(
    py: Python<'py>,
    block: Option<std::time::Duration>,
    mut make: M,
    done: D,
    f: F,
) -> PyResult<Bound<'py, PyAny>>
where
    T: Send + 'static,
    M: FnMut(std::time::Duration) -> Op<T> + Send + 'static,
    D: Fn(&T) -> bool + Send + 'static,
    F: FnOnce(T) -> PyResult<U> + Send + 'static,
    U: for<'a> IntoPyObject<'a> + Send + 'static,
{
    let deadline = block.map(|b| std::time::Instant::now() + b);
    let steps = async move {
        loop {
            let slice = match deadline {
                Some(d) => d
                    .saturating_duration_since(std::time::Instant::now())
                    .min(ASYNC_SLICE),
                None => ASYNC_SLICE,
            };
            let out = make(slice).run().await?;
            let expired = deadline.is_some_and(|d| std::time::Instant::now() >= d);
            if done(&out) || expired {
                return Ok(out);
            }
        }
    };
    run_async(py, Op::Async(Box::pin(steps)), f)
}

/// Run by `os.register_at_fork(after_in_child=...)`: hubs opened before the fork refuse to
/// work in the child, and the child gets a runtime of its own (see `engine::fork`).
#[pyfunction]
fn _after_fork_in_child() {
    crate::engine::fork::after_fork_in_child();
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    logging::init(m.py())?;
    m.add_function(wrap_pyfunction!(_capabilities, m)?)?;
    let after_fork = wrap_pyfunction!(_after_fork_in_child, m)?;
    let kw = pyo3::types::PyDict::new(m.py());
    kw.set_item("after_in_child", &after_fork)?;
    m.py()
        .import("os")?
        .call_method("register_at_fork", (), Some(&kw))?;
    m.add_class::<hub::Hub>()?;
    m.add_class::<hub::AsyncHub>()?;
    m.add_class::<hub::Health>()?;
    m.add_class::<transfer::Transfer>()?;
    m.add_class::<tasks::Task>()?;
    m.add_class::<tasks::SearchPage>()?;
    m.add_class::<tasks::Tasks>()?;
    m.add_class::<tasks::AsyncTasks>()?;
    awaitable::register(m)?;
    protocol::register(m)?;
    anonymize::register(m)?;
    http::register(m)?;
    archive::register(m)?;
    bus::register(m)?;
    changes::register(m)?;
    docs::register(m)?;
    filesync::register(m)?;
    events::register(m)?;
    dual_loop::register(m)?;
    jobs::register(m)?;
    kv::register(m)?;
    analytics::register(m)?;
    trending::register(m)?;
    cache::register(m)?;
    memory::register(m)?;
    memory_store::register(m)?;
    patterns::register(m)?;
    limits::register(m)?;
    sessions::register(m)?;
    flags::register(m)?;
    streams::register(m)?;
    Ok(())
}
