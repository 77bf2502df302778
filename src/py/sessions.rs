//! `hub.sessions` from Python: data is a dict of JSON values; `get` returns a `Session` or
//! None.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::{Map, Value as Json};

use super::convert::{json_to_py, py_to_json, Text};
use super::errors::validation;
use super::{run_async, run_sync};
use crate::hub::Hub as CoreHub;
use crate::sessions::{self as core, Session as CoreSession};

/// One live session.
#[pyclass(frozen, module = "zerolag._core", name = "Session")]
pub struct Session {
    s: CoreSession,
}

#[pymethods]
impl Session {
    /// Its id (32 hex digits, 128 random bits).
    #[getter]
    fn id(&self) -> &str {
        &self.s.id
    }
    /// Its user.
    #[getter]
    fn user(&self) -> &str {
        &self.s.user
    }
    /// Its data (a dict; top-level keys in byte order).
    #[getter]
    fn data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &Json::Object(self.s.data.clone()))
    }
    /// When it was created, seconds since the epoch.
    #[getter]
    fn created_at(&self) -> f64 {
        crate::clock::secs(self.s.created_ms)
    }
    /// When it expires, seconds since the epoch.
    #[getter]
    fn expires_at(&self) -> f64 {
        crate::clock::secs(self.s.expires_ms)
    }
    /// Its time to live in seconds (what `touch` extends it by).
    #[getter]
    fn ttl(&self) -> f64 {
        crate::clock::secs(self.s.ttl_ms)
    }
    fn __repr__(&self) -> String {
        format!(
            "Session(id={:?}, user={:?}, data=<{} keys>, expires_at={:.3})",
            self.s.id,
            self.s.user,
            self.s.data.len(),
            crate::clock::secs(self.s.expires_ms)
        )
    }
}

fn object(data: Option<&Bound<'_, PyAny>>) -> PyResult<Map<String, Json>> {
    match data {
        None => Ok(Map::new()),
        Some(d) if d.is_none() => Ok(Map::new()),
        Some(d) => {
            if d.cast::<PyDict>().is_err() {
                return Err(validation("session data must be a dict"));
            }
            match py_to_json(d, "data")? {
                Json::Object(m) => Ok(m),
                _ => Err(validation("session data must be a dict")),
            }
        }
    }
}

macro_rules! sessions_methods {
    ($cls:ident, $ret:ty, $run:ident) => {
        #[pymethods]
        impl $cls {
            /// Starts a session of `user` holding `data` (a dict of JSON values, at most
            /// 64 KiB), living `ttl` seconds; returns it (its `id` is the secret to hand out).
            #[pyo3(signature = (user, data=None, *, ttl, now=None))]
            fn create<'py>(
                &self,
                py: Python<'py>,
                user: Text,
                data: Option<&Bound<'py, PyAny>>,
                ttl: f64,
                now: Option<f64>,
            ) -> PyResult<$ret> {
                let d = object(data)?;
                let op = self.hub.sessions.create(&user, &d, core::ttl_ms(ttl)?, now);
                $run(py, op, |s| Ok(Session { s }))
            }

            /// The live session `id`, or None (unknown, expired, destroyed, or not a session
            /// id at all).
            #[pyo3(signature = (id, *, now=None))]
            fn get<'py>(&self, py: Python<'py>, id: Text, now: Option<f64>) -> PyResult<$ret> {
                $run(py, self.hub.sessions.get(&id, now), |s| {
                    Ok(s.map(|s| Session { s }))
                })
            }

            /// Extends a live session to `now` plus `ttl` seconds (None: its own time to
            /// live; a given one becomes its own); False if there is no live session `id`.
            #[pyo3(signature = (id, *, ttl=None, now=None))]
            fn touch<'py>(
                &self,
                py: Python<'py>,
                id: Text,
                ttl: Option<f64>,
                now: Option<f64>,
            ) -> PyResult<$ret> {
                let ttl = ttl.map(core::ttl_ms).transpose()?;
                $run(py, self.hub.sessions.touch(&id, ttl, now), Ok)
            }

            /// Merges `data` into a live session's data, key by key at the top level (a key
            /// given as None is removed), or replaces it (`replace=True`); False if there is
            /// no live session `id`. ValidationError, nothing written, when the result would
            /// pass 64 KiB. The expiry is unchanged.
            #[pyo3(signature = (id, data, *, replace=false, now=None))]
            fn update<'py>(
                &self,
                py: Python<'py>,
                id: Text,
                data: &Bound<'py, PyAny>,
                replace: bool,
                now: Option<f64>,
            ) -> PyResult<$ret> {
                let d = object(Some(data))?;
                $run(py, self.hub.sessions.update(&id, &d, replace, now), Ok)
            }

            /// Ends session `id`; True if it was live.
            #[pyo3(signature = (id, *, now=None))]
            fn destroy<'py>(&self, py: Python<'py>, id: Text, now: Option<f64>) -> PyResult<$ret> {
                $run(py, self.hub.sessions.destroy(&id, now), Ok)
            }

            /// The live sessions of `user`, oldest first.
            #[pyo3(signature = (user, *, now=None))]
            fn for_user<'py>(
                &self,
                py: Python<'py>,
                user: Text,
                now: Option<f64>,
            ) -> PyResult<$ret> {
                $run(py, self.hub.sessions.for_user(&user, now), |v| {
                    Ok(v.into_iter().map(|s| Session { s }).collect::<Vec<_>>())
                })
            }

            /// Ends every session of `user`; returns how many were live.
            #[pyo3(signature = (user, *, now=None))]
            fn destroy_user<'py>(
                &self,
                py: Python<'py>,
                user: Text,
                now: Option<f64>,
            ) -> PyResult<$ret> {
                $run(py, self.hub.sessions.destroy_user(&user, now), Ok)
            }

            fn __repr__(&self) -> String {
                format!("{}(namespace={:?})", stringify!($cls), self.hub.namespace())
            }
        }
    };
}

/// `hub.sessions` of a sync hub.
#[pyclass(frozen, module = "zerolag._core", name = "Sessions")]
pub struct Sessions {
    pub(crate) hub: Arc<CoreHub>,
}

/// `hub.sessions` of an async hub.
#[pyclass(frozen, module = "zerolag._core", name = "AsyncSessions")]
pub struct AsyncSessions {
    pub(crate) hub: Arc<CoreHub>,
}

sessions_methods!(Sessions, Py<PyAny>, run_sync);
sessions_methods!(AsyncSessions, Bound<'py, PyAny>, run_async);

/// Adds this capability's classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Sessions>()?;
    m.add_class::<AsyncSessions>()?;
    m.add_class::<Session>()?;
    Ok(())
}
