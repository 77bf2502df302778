//! zerolag core: coordination and memory for LLM agents.
//!
//! Module registration only; each capability lives in its own module, and `py/` is the only
//! code that touches PyO3 (built with the `python` feature).

pub mod anonymize;
pub mod bus;
pub mod clock;
pub mod docs;
pub mod engine;
pub mod error;
pub mod events;
pub mod frontend;
pub mod hub;
pub mod ids;
pub mod jobs;
pub mod patterns;
pub mod protocol;
pub mod registry;
pub mod sync;
pub mod tasks;
#[cfg(test)]
mod testkit;
pub mod transfer;

#[cfg(feature = "python")]
mod py;

pub use error::{Error, Result};

/// mimalloc for the crate's own allocations: the scan, the YAML loader and the store replies
/// allocate many small strings, and the system allocator took a fifth of the scan's CPU.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
pub use hub::Hub;
