//! The one error type of the core. `src/py/errors.rs` maps each variant to a Python class of
//! `zerolag.exceptions`; that mapping is the only place the two meet.

use crate::protocol::ProtocolError;

/// Every failure the core reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input from the caller: an id with glob characters, a value out of range, ...
    #[error("{0}")]
    Validation(String),
    /// A coded command or event that does not follow the grammar.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The write clashes with what is stored (an id that exists, a stale version).
    #[error("{0}")]
    Conflict(String),
    /// The server could not be reached or the connection broke.
    #[error("{0}")]
    Connection(String),
    /// The server refused the credentials.
    #[error("{0}")]
    Authentication(String),
    /// The server did not answer in time.
    #[error("{0}")]
    Timeout(String),
    /// The hub was closed.
    #[error("the hub is closed; open a new one with zerolag.open()")]
    Closed,
    /// The hub was opened in this process's parent, before a `fork()` (the number is the
    /// parent's pid): it cannot be used here.
    #[error("this hub was opened in process {0}, before a fork; a hub does not survive fork(): open a new one in this process after the fork (zerolag.open(...) in the child, e.g. in a gunicorn post_fork hook or at the start of the multiprocessing target)")]
    Forked(u32),
    /// Anything else the store reported (a script error, a corrupt row).
    #[error("{0}")]
    Backend(String),
    /// Changes a change-feed reader has not seen are no longer kept (trimmed, or the
    /// namespace was cleared): it must re-read the state it keeps, then go on from this
    /// cursor (the feed's end when the gap was found).
    #[error("changes after the cursor are no longer kept: re-read the data, then resume from the cursor this error carries")]
    Rescan(String),
    /// A local IO problem (the `.zerolag/` directory, a file).
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Result with the core's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Shorthand for a validation error.
    pub fn validation(msg: impl Into<String>) -> Self {
        Error::Validation(msg.into())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Backend(format!("stored JSON could not be read: {e}"))
    }
}

/// `e` with `what` in front of its message (same kind of error).
pub fn context(e: Error, what: impl std::fmt::Display) -> Error {
    match e {
        Error::Validation(m) => Error::Validation(format!("{what}: {m}")),
        Error::NotFound(m) => Error::NotFound(format!("{what}: {m}")),
        Error::Conflict(m) => Error::Conflict(format!("{what}: {m}")),
        Error::Connection(m) => Error::Connection(format!("{what}: {m}")),
        Error::Authentication(m) => Error::Authentication(format!("{what}: {m}")),
        Error::Timeout(m) => Error::Timeout(format!("{what}: {m}")),
        Error::Backend(m) => Error::Backend(format!("{what}: {m}")),
        Error::Io(io) => Error::Io(std::io::Error::new(io.kind(), format!("{what}: {io}"))),
        other => other,
    }
}
