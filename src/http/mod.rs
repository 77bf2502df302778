//! The HTTP service (`zerolag serve`, `hub.serve()`, and the pieces `zerolag.http.app(hub)`
//! reuses): the JSON endpoints (`routes`), the realtime SSE stream (`sse`, over the shared
//! follower of `fanout`, in the frames of `frames`), the axum router with its auth, CORS and
//! limits (`router`) and the accept loop (`server`). See docs/http.md.

pub mod fanout;
pub mod frames;
pub mod router;
pub mod routes;
pub mod server;
pub mod sse;

/// Closes the connection a request came on (a request extension set by the server).
#[derive(Clone)]
pub struct Kill(pub std::sync::Arc<tokio::sync::Notify>);

pub use server::{Config, Server};
