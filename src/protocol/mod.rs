//! The coded protocol: the compact one-line language a fast frontend model and slower backend
//! workers speak to each other (`docs/protocol.md` is the specification).
//!
//! A line is `prefix:field|field|…`. Commands go frontend → backend (`tc ts wf cl ms`), events
//! go backend → frontend (`tr tc su cl er`); `tc` and `cl` mean different things in the two
//! directions, so every decoder is told the [`Direction`].
//!
//! - [`decode`], [`decode_command`], [`decode_event`] parse one line into typed values.
//! - [`Message::encode`] (and `encode` on every kind) writes the one canonical form;
//!   `decode(encode(x)) == x` for every valid value.
//! - [`extract`] finds the commands a model wrote inside a free-text reply.
//! - [`KINDS`] is the one table that says which fields each kind has and what type they are.
//!
//! Nothing here touches Python; `src/py/protocol.rs` is the binding.

mod codes;
mod cursor;
mod escape;
mod extract;
mod kinds;
mod messages;
mod parse;
mod value;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use codes::{recovery_hint, ERROR_CODES};
pub use extract::{extract, ExtractError, Extracted, Extraction};
pub use kinds::{lookup, Complexity, Depth, FieldSpec, FieldType, Kind, KindSpec, KINDS};
pub use messages::{
    Command, ContextLoad, ContextLoaded, ErrorEvent, Event, MemoryStore, Message, StatusUpdate,
    TaskComplete, TaskCreate, TaskReady, TaskSplit, WorkflowStart,
};
pub use parse::{decode, decode_command, decode_event};
pub use value::{decode_value, encode_value};

/// Version of the grammar described in `docs/protocol.md`. Bumped when a change could make a
/// line written by one version read differently by another.
pub const VERSION: u32 = 1;

/// Longest line (in bytes) the decoder accepts; longer input is a [`ProtocolError`] before any
/// parsing happens, so a hostile reply cannot make the parser allocate without bound.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Deepest nesting of `{…}` / `[…]` literals the decoder accepts. The literal parser is
/// recursive; this bound keeps its stack use small and fixed.
pub const MAX_DEPTH: usize = 32;

/// Which way a line travels. `tc` and `cl` are read differently in the two directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Frontend → backend: `tc ts wf cl ms`.
    Command,
    /// Backend → frontend: `tr tc su cl er`.
    Event,
}

impl Direction {
    /// `"command"` or `"event"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Command => "command",
            Direction::Event => "event",
        }
    }

    /// Parses `"command"` / `"event"` (also the plurals).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "command" | "commands" => Some(Direction::Command),
            "event" | "events" => Some(Direction::Event),
            _ => None,
        }
    }
}

/// A coded line that does not follow the grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError {
    /// Byte offset in the input where the problem was found.
    pub position: usize,
    /// What the parser expected there.
    pub expected: String,
    /// Human-readable message.
    pub message: String,
}

impl ProtocolError {
    /// Builds an error at `position`.
    pub fn new(position: usize, expected: impl Into<String>, message: impl Into<String>) -> Self {
        ProtocolError {
            position,
            expected: expected.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (at position {}, expected {})",
            self.message, self.position, self.expected
        )
    }
}

impl std::error::Error for ProtocolError {}
