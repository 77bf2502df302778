//! `hub.flags` from Python.

use std::sync::Arc;

use pyo3::prelude::*;

use super::convert::{str_list, Text};
use super::{run_async, run_sync};
use crate::flags::{self as core, FlagState, Setting};
use crate::hub::Hub as CoreHub;

/// A flag's settings.
#[pyclass(frozen, module = "zerolag._core", name = "FlagState")]
pub struct PyFlagState {
    s: FlagState,
}

#[pymethods]
impl PyFlagState {
    /// The global switch: True (on for everyone), False (off for everyone) or None (per user
    /// and rollout).
    #[getter]
    fn global_(&self) -> Option<bool> {
        self.s.global
    }
    /// The rollout, in percent of users.
    #[getter]
    fn percent(&self) -> f64 {
        self.s.rollout as f64 / 100.0
    }
    /// Users enabled one by one (`count`).
    #[getter]
    fn enabled(&self) -> u64 {
        self.s.enabled
    }
    /// Users disabled one by one.
    #[getter]
    fn disabled(&self) -> u64 {
        self.s.disabled
    }
    fn __repr__(&self) -> String {
        let g = match self.s.global {
            Some(true) => "True",
            Some(false) => "False",
            None => "None",
        };
        format!(
            "FlagState(global_={g}, percent={}, enabled={}, disabled={})",
            self.s.rollout as f64 / 100.0,
            self.s.enabled,
            self.s.disabled
        )
    }
}

macro_rules! flags_methods {
    ($cls:ident, $ret:ty, $run:ident) => {
        #[pymethods]
        impl $cls {
            /// Turns `flag` on for `user` (their own setting: it wins over the rollout, not
            /// over the global switch); True if that changed anything.
            fn enable<'py>(&self, py: Python<'py>, flag: Text, user: Text) -> PyResult<$ret> {
                $run(py, self.hub.flags.set(&flag, &user, Setting::On), Ok)
            }

            /// Turns `flag` off for `user` (their own setting); True if that changed anything.
            fn disable<'py>(&self, py: Python<'py>, flag: Text, user: Text) -> PyResult<$ret> {
                $run(py, self.hub.flags.set(&flag, &user, Setting::Off), Ok)
            }

            /// Removes `user`'s own setting of `flag` (back to the global switch and the
            /// rollout); True if they had one.
            fn unset<'py>(&self, py: Python<'py>, flag: Text, user: Text) -> PyResult<$ret> {
                $run(py, self.hub.flags.set(&flag, &user, Setting::Unset), Ok)
            }

            /// Whether `flag` is on for `user`: the global switch, else their own setting,
            /// else the rollout.
            fn enabled<'py>(&self, py: Python<'py>, flag: Text, user: Text) -> PyResult<$ret> {
                let op = self.hub.flags.enabled_many(&flag, vec![user.into_string()]);
                $run(py, op, |v| Ok(v.first().copied().unwrap_or(false)))
            }

            /// Whether `flag` is on for each of `users` (at most 10,000), in one round trip.
            fn enabled_many<'py>(
                &self,
                py: Python<'py>,
                flag: Text,
                users: &Bound<'py, PyAny>,
            ) -> PyResult<$ret> {
                let users = str_list(users, "users")?;
                $run(py, self.hub.flags.enabled_many(&flag, users), Ok)
            }

            /// Users who have `flag` enabled one by one (not those the rollout or the global
            /// switch turn it on for).
            fn count<'py>(&self, py: Python<'py>, flag: Text) -> PyResult<$ret> {
                $run(py, self.hub.flags.state(&flag), |s| Ok(s.enabled))
            }

            /// Sets the global switch of `flag`: True on for everyone, False off for everyone,
            /// None back to per user and rollout.
            fn set_global<'py>(
                &self,
                py: Python<'py>,
                flag: Text,
                on: Option<bool>,
            ) -> PyResult<$ret> {
                $run(py, self.hub.flags.set_global(&flag, on), Ok)
            }

            /// Turns `flag` on for `percent` % of users (0 to 100, two decimals), picked by a
            /// stable hash of the flag and the user id.
            fn rollout<'py>(&self, py: Python<'py>, flag: Text, percent: f64) -> PyResult<$ret> {
                let b = core::percent_buckets(percent)?;
                $run(py, self.hub.flags.rollout(&flag, b), Ok)
            }

            /// The settings of `flag`.
            fn state<'py>(&self, py: Python<'py>, flag: Text) -> PyResult<$ret> {
                $run(py, self.hub.flags.state(&flag), |s| Ok(PyFlagState { s }))
            }

            /// Forgets `flag`: its switch, rollout and every user's setting; True if it had
            /// any.
            fn delete<'py>(&self, py: Python<'py>, flag: Text) -> PyResult<$ret> {
                $run(py, self.hub.flags.delete(&flag), Ok)
            }

            fn __repr__(&self) -> String {
                format!("{}(namespace={:?})", stringify!($cls), self.hub.namespace())
            }
        }
    };
}

/// `hub.flags` of a sync hub.
#[pyclass(frozen, module = "zerolag._core", name = "Flags")]
pub struct Flags {
    pub(crate) hub: Arc<CoreHub>,
}

/// `hub.flags` of an async hub.
#[pyclass(frozen, module = "zerolag._core", name = "AsyncFlags")]
pub struct AsyncFlags {
    pub(crate) hub: Arc<CoreHub>,
}

flags_methods!(Flags, Py<PyAny>, run_sync);
flags_methods!(AsyncFlags, Bound<'py, PyAny>, run_async);

/// Adds this capability's classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Flags>()?;
    m.add_class::<AsyncFlags>()?;
    m.add_class::<PyFlagState>()?;
    Ok(())
}
