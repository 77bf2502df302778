//! `hub.limits` from Python: `check` and `peek` return a `RateLimit` decision.

use std::sync::Arc;

use pyo3::prelude::*;

use super::convert::Text;
use super::{run_async, run_sync};
use crate::hub::Hub as CoreHub;
use crate::limits::{self as core, Decision};

/// What a rate-limit check decided.
#[pyclass(frozen, module = "zerolag._core", name = "RateLimit")]
pub struct RateLimit {
    d: Decision,
}

#[pymethods]
impl RateLimit {
    /// True when the request is admitted (for `peek`: would be).
    #[getter]
    fn allowed(&self) -> bool {
        self.d.allowed
    }
    /// The limit checked against.
    #[getter]
    fn limit(&self) -> u64 {
        self.d.limit
    }
    /// Admissions left in the window after this decision.
    #[getter]
    fn remaining(&self) -> u64 {
        self.d.remaining
    }
    /// Seconds until the window holds none of this key's admissions (0: it holds none).
    #[getter]
    fn reset_after(&self) -> f64 {
        crate::clock::secs(self.d.reset_after_ms)
    }
    /// Seconds until a request of the same cost would be admitted (0 when allowed).
    #[getter]
    fn retry_after(&self) -> f64 {
        crate::clock::secs(self.d.retry_after_ms)
    }
    fn __bool__(&self) -> bool {
        self.d.allowed
    }
    fn __repr__(&self) -> String {
        format!(
            "RateLimit(allowed={}, limit={}, remaining={}, reset_after={:.3}, retry_after={:.3})",
            if self.d.allowed { "True" } else { "False" },
            self.d.limit,
            self.d.remaining,
            crate::clock::secs(self.d.reset_after_ms),
            crate::clock::secs(self.d.retry_after_ms)
        )
    }
}

macro_rules! limits_methods {
    ($cls:ident, $ret:ty, $run:ident) => {
        #[pymethods]
        impl $cls {
            /// Admits a request of `cost` on `key` when fewer than `limit` admissions fall in
            /// the last `window_s` seconds, and records it; `now`: the time (seconds since
            /// the epoch; default the clock).
            #[pyo3(signature = (key, limit, window_s, cost=1, *, now=None))]
            fn check<'py>(
                &self,
                py: Python<'py>,
                key: Text,
                limit: i64,
                window_s: f64,
                cost: i64,
                now: Option<f64>,
            ) -> PyResult<$ret> {
                let s = core::spec(limit, window_s, cost, now)?;
                $run(py, self.hub.limits.check(&key, s), |d| Ok(RateLimit { d }))
            }

            /// What `check` would decide now, recording nothing.
            #[pyo3(signature = (key, limit, window_s, cost=1, *, now=None))]
            fn peek<'py>(
                &self,
                py: Python<'py>,
                key: Text,
                limit: i64,
                window_s: f64,
                cost: i64,
                now: Option<f64>,
            ) -> PyResult<$ret> {
                let s = core::spec(limit, window_s, cost, now)?;
                $run(py, self.hub.limits.peek(&key, s), |d| Ok(RateLimit { d }))
            }

            /// Forgets `key`'s admissions; True if it had any.
            fn reset<'py>(&self, py: Python<'py>, key: Text) -> PyResult<$ret> {
                $run(py, self.hub.limits.reset(&key), Ok)
            }

            fn __repr__(&self) -> String {
                format!("{}(namespace={:?})", stringify!($cls), self.hub.namespace())
            }
        }
    };
}

/// `hub.limits` of a sync hub.
#[pyclass(frozen, module = "zerolag._core", name = "Limits")]
pub struct Limits {
    pub(crate) hub: Arc<CoreHub>,
}

/// `hub.limits` of an async hub.
#[pyclass(frozen, module = "zerolag._core", name = "AsyncLimits")]
pub struct AsyncLimits {
    pub(crate) hub: Arc<CoreHub>,
}

limits_methods!(Limits, Py<PyAny>, run_sync);
limits_methods!(AsyncLimits, Bound<'py, PyAny>, run_async);

/// Adds this capability's classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Limits>()?;
    m.add_class::<AsyncLimits>()?;
    m.add_class::<RateLimit>()?;
    Ok(())
}
