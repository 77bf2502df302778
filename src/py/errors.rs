//! The one place core errors become Python exceptions (classes of `zerolag.exceptions`).

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::Error;
use crate::protocol::ProtocolError;

fn class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("zerolag.exceptions")?.getattr(name)
}

fn raise(name: &str, msg: String) -> PyErr {
    Python::attach(
        |py| match class(py, name).and_then(|c| c.call1((msg.clone(),))) {
            Ok(inst) => PyErr::from_value(inst),
            Err(e) => e,
        },
    )
}

/// A core error as the matching `zerolag.exceptions` class (IO problems as builtin OSError
/// subclasses).
pub fn to_py(e: Error) -> PyErr {
    match e {
        Error::Validation(m) => raise("ValidationError", m),
        Error::Protocol(p) => protocol_err(&p),
        Error::NotFound(m) => raise("NotFoundError", m),
        Error::Conflict(m) => raise("ConflictError", m),
        Error::Connection(m) => raise("ConnectionError", m),
        Error::Authentication(m) => raise("AuthenticationError", m),
        Error::Timeout(m) => raise("TimeoutError", m),
        Error::Closed => raise("ClosedError", Error::Closed.to_string()),
        Error::Backend(m) => raise("BackendError", m),
        Error::Io(io) => PyErr::from(io),
    }
}

/// A protocol error as `zerolag.exceptions.ProtocolError` with `position` and `expected`.
pub fn protocol_err(e: &ProtocolError) -> PyErr {
    Python::attach(|py| {
        let made = (|| {
            let kw = PyDict::new(py);
            kw.set_item("position", e.position)?;
            kw.set_item("expected", &e.expected)?;
            class(py, "ProtocolError")?.call((e.to_string(),), Some(&kw))
        })();
        match made {
            Ok(inst) => PyErr::from_value(inst),
            Err(err) => err,
        }
    })
}

/// Shorthand: a ValidationError with this message.
pub fn validation(msg: impl Into<String>) -> PyErr {
    to_py(Error::Validation(msg.into()))
}
