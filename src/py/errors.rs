//! The one place core errors become Python exceptions (classes of `zerolag.exceptions`, bound
//! once: each class is looked up on first use and kept).
//!
//! `Error` converts into `PyErr` with `From`, so `?` raises the right class anywhere in
//! `src/py/`.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::Error;
use crate::protocol::ProtocolError;

mod classes {
    pyo3::import_exception!(zerolag.exceptions, ValidationError);
    pyo3::import_exception!(zerolag.exceptions, ProtocolError);
    pyo3::import_exception!(zerolag.exceptions, NotFoundError);
    pyo3::import_exception!(zerolag.exceptions, ConflictError);
    pyo3::import_exception!(zerolag.exceptions, ConnectionError);
    pyo3::import_exception!(zerolag.exceptions, AuthenticationError);
    pyo3::import_exception!(zerolag.exceptions, TimeoutError);
    pyo3::import_exception!(zerolag.exceptions, ClosedError);
    pyo3::import_exception!(zerolag.exceptions, BackendError);
    pyo3::import_exception!(zerolag.exceptions, RescanRequired);
}

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        match e {
            Error::Validation(m) => classes::ValidationError::new_err(m),
            Error::Protocol(p) => protocol_err(&p),
            Error::NotFound(m) => classes::NotFoundError::new_err(m),
            Error::Conflict(m) => classes::ConflictError::new_err(m),
            Error::Connection(m) => classes::ConnectionError::new_err(m),
            Error::Authentication(m) => classes::AuthenticationError::new_err(m),
            Error::Timeout(m) => classes::TimeoutError::new_err(m),
            Error::Closed => classes::ClosedError::new_err(Error::Closed.to_string()),
            e @ Error::Forked(_) => classes::ClosedError::new_err(e.to_string()),
            Error::Backend(m) => classes::BackendError::new_err(m),
            Error::Rescan(cursor) => rescan_err(cursor),
            Error::Io(io) => PyErr::from(io),
        }
    }
}

/// A core error as the matching `zerolag.exceptions` class (IO problems as builtin OSError
/// subclasses); the same as `PyErr::from`, for `map_err`.
pub fn to_py(e: Error) -> PyErr {
    PyErr::from(e)
}

/// A protocol error as `zerolag.exceptions.ProtocolError` with `position` and `expected`.
pub fn protocol_err(e: &ProtocolError) -> PyErr {
    Python::attach(|py| {
        let made = (|| {
            let kw = PyDict::new(py);
            kw.set_item("position", e.position)?;
            kw.set_item("expected", &e.expected)?;
            py.get_type::<classes::ProtocolError>()
                .call((e.to_string(),), Some(&kw))
        })();
        match made {
            Ok(inst) => PyErr::from_value(inst),
            Err(err) => err,
        }
    })
}

/// `zerolag.exceptions.RescanRequired` carrying the cursor to resume from.
fn rescan_err(cursor: String) -> PyErr {
    let msg = Error::Rescan(String::new()).to_string();
    Python::attach(|py| {
        let made = (|| {
            let kw = PyDict::new(py);
            kw.set_item("cursor", &cursor)?;
            py.get_type::<classes::RescanRequired>()
                .call((msg,), Some(&kw))
        })();
        match made {
            Ok(inst) => PyErr::from_value(inst),
            Err(err) => err,
        }
    })
}

/// Shorthand: a ValidationError with this message.
pub fn validation(msg: impl Into<String>) -> PyErr {
    classes::ValidationError::new_err(msg.into())
}

/// A ValidationError about the argument `argument`: the message starts with its name and the
/// exception's `argument` attribute holds it.
pub fn invalid(argument: &str, msg: impl std::fmt::Display) -> PyErr {
    Python::attach(|py| {
        let made = (|| {
            let kw = PyDict::new(py);
            kw.set_item("argument", argument)?;
            py.get_type::<classes::ValidationError>()
                .call((format!("{argument}: {msg}"),), Some(&kw))
        })();
        match made {
            Ok(inst) => PyErr::from_value(inst),
            Err(err) => err,
        }
    })
}
