//! `hub.trending` from Python: times in Unix seconds (or datetimes), half-lives and windows
//! in seconds.

use std::sync::Arc;

use pyo3::prelude::*;

use super::convert::Text;
use super::errors::invalid;
use super::memory_args::time_ms;
use super::{run_async, run_sync};
use crate::hub::Hub as CoreHub;
use crate::trending::{Board, DEFAULT_MAX_ITEMS};

fn now_ms() -> i64 {
    crate::clock::now_ms() as i64
}

fn span_ms(what: &str, s: Option<f64>) -> PyResult<i64> {
    match s {
        None => Ok(0),
        Some(s) if s.is_finite() && s > 0.0 && s * 1000.0 < i64::MAX as f64 => {
            Ok(((s * 1000.0).round() as i64).max(1))
        }
        Some(s) => Err(invalid(
            what,
            format!("must be a positive number of seconds, got {s}"),
        )),
    }
}

macro_rules! trending_methods {
    ($cls:ident, $ret:ty, $run:ident) => {
        #[pymethods]
        impl $cls {
            /// Declares a board before its first bump: `half_life` (seconds: a bump's weight
            /// halves every half-life) or `window` (seconds, at least 60: only the bumps of
            /// the last window count), and `max_items` kept (the lowest go). ConflictError if
            /// the board exists with other options.
            #[pyo3(signature = (board, *, half_life=None, window=None, max_items=DEFAULT_MAX_ITEMS))]
            #[pyo3(text_signature = "($self, board, *, half_life=None, window=None, max_items=1000)")]
            fn define<'py>(
                &self,
                py: Python<'py>,
                board: Text,
                half_life: Option<f64>,
                window: Option<f64>,
                max_items: u32,
            ) -> PyResult<$ret> {
                let b = Board {
                    half_life_ms: span_ms("half_life", half_life)?,
                    window_ms: span_ms("window", window)?,
                    max_items,
                };
                $run(py, self.hub.trending.define(&board, b), Ok)
            }

            /// Adds `by` to `item` on `board` at `at` (Unix seconds or a datetime; default
            /// now); returns its score then (None: before a windowed board's window).
            #[pyo3(signature = (board, item, by=1.0, *, at=None))]
            fn bump<'py>(
                &self,
                py: Python<'py>,
                board: Text,
                item: Text,
                by: f64,
                at: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<$ret> {
                let at = time_ms(at, "at")?.unwrap_or_else(now_ms);
                $run(py, self.hub.trending.bump(&board, &item, by, at), Ok)
            }

            /// The best `n` items at `now`, best first: `(item, score)` pairs, or the items
            /// alone with `with_scores=False`.
            #[pyo3(signature = (board, n=10, *, with_scores=true, now=None))]
            fn top<'py>(
                &self,
                py: Python<'py>,
                board: Text,
                n: usize,
                with_scores: bool,
                now: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<$ret> {
                let now = time_ms(now, "now")?.unwrap_or_else(now_ms);
                let op = self.hub.trending.top(&board, n, now);
                $run(py, op, move |v| Python::attach(|py| {
                    if with_scores {
                        v.into_pyobject(py).map(|o| o.into_any().unbind())
                    } else {
                        v.into_iter().map(|(i, _)| i).collect::<Vec<_>>().into_pyobject(py).map(|o| o.into_any().unbind())
                    }
                }))
            }

            /// The place of `item` on `board` (1 = first) at `now`; None when not on it.
            #[pyo3(signature = (board, item, *, now=None))]
            fn rank<'py>(
                &self,
                py: Python<'py>,
                board: Text,
                item: Text,
                now: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<$ret> {
                let now = time_ms(now, "now")?.unwrap_or_else(now_ms);
                $run(py, self.hub.trending.rank(&board, &item, now), |r| Ok(r.map(|(r, _)| r)))
            }

            /// The score of `item` on `board` at `now`; None when not on it.
            #[pyo3(signature = (board, item, *, now=None))]
            fn score<'py>(
                &self,
                py: Python<'py>,
                board: Text,
                item: Text,
                now: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<$ret> {
                let now = time_ms(now, "now")?.unwrap_or_else(now_ms);
                $run(py, self.hub.trending.rank(&board, &item, now), |r| Ok(r.map(|(_, s)| s)))
            }

            /// Deletes a board with its items and options; True if it existed.
            fn delete<'py>(&self, py: Python<'py>, board: Text) -> PyResult<$ret> {
                $run(py, self.hub.trending.delete(&board), Ok)
            }

            fn __repr__(&self) -> String {
                format!("{}(namespace={:?})", stringify!($cls), self.hub.namespace())
            }
        }
    };
}

/// `hub.trending` of a sync hub.
#[pyclass(frozen, module = "zerolag._core", name = "Trending")]
pub struct Trending {
    pub(crate) hub: Arc<CoreHub>,
}

/// `hub.trending` of an async hub.
#[pyclass(frozen, module = "zerolag._core", name = "AsyncTrending")]
pub struct AsyncTrending {
    pub(crate) hub: Arc<CoreHub>,
}

trending_methods!(Trending, Py<PyAny>, run_sync);
trending_methods!(AsyncTrending, Bound<'py, PyAny>, run_async);

/// Adds this capability's classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Trending>()?;
    m.add_class::<AsyncTrending>()?;
    Ok(())
}
