//! zerolag core: coordination and memory for LLM agents.
//!
//! Module registration only; each capability lives in its own module, and `py/` is the only
//! code that touches PyO3 (built with the `python` feature).

pub mod anonymize;
pub mod archive;
pub mod bus;
pub mod cache;
pub mod changes;
pub mod clock;
pub mod docs;
pub mod dual_loop;
pub mod engine;
pub mod erase;
pub mod error;
pub mod events;
pub mod filesync;
pub mod flags;
pub mod http;
pub mod hub;
pub mod ids;
pub mod jobs;
pub mod kv;
pub mod limits;
pub mod memory;
pub mod metrics;
pub mod patterns;
pub mod protocol;
pub mod registry;
pub mod sessions;
pub mod streams;
pub mod tasks;
#[cfg(test)]
mod testkit;
pub mod transfer;
// Analytics: event counters and unique users, trending boards.
pub mod analytics;
pub mod trending;

#[cfg(feature = "python")]
mod py;

pub use error::{Error, Result};

pub use hub::Hub;
