//! The Python module `zerolag._core`: the only code that touches PyO3.

mod convert;
mod errors;
mod hub;
mod protocol;
mod tasks;

use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;

use crate::engine::{runtime, Op};

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

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // One runtime for the blocking API and the asyncio bridge.
    let _ = pyo3_async_runtimes::tokio::init_with_runtime(runtime());
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<hub::Hub>()?;
    m.add_class::<hub::AsyncHub>()?;
    m.add_class::<hub::Health>()?;
    m.add_class::<tasks::Task>()?;
    m.add_class::<tasks::SearchPage>()?;
    m.add_class::<tasks::Tasks>()?;
    m.add_class::<tasks::AsyncTasks>()?;
    protocol::register(m)?;
    Ok(())
}
