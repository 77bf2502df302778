//! The SSE frames of `/realtime`, byte for byte:
//!
//! - an event: `id: <id>\nevent: <channel>\ndata: {"id","channel","data","ts"}\n\n`
//! - the keep-alive comment `: ping\n\n`
//! - the notice that the resume point was trimmed away, first in the stream:
//!   `event: zerolag.trimmed\ndata: {"after": <id>, "oldest": <id>}\n\n`
//! - the preamble `retry: <ms>\n\n` (how long a browser waits before reconnecting).
//!
//! Channel names cannot hold a line break (they are ids) and JSON text holds none, so each
//! field is one line.

use bytes::Bytes;
use serde_json::json;

use super::fanout::Frame;
use crate::events::{parse_id, Event};

/// The keep-alive comment.
pub const PING: &[u8] = b": ping\n\n";

/// Name of the trimmed notice's event.
pub const TRIMMED: &str = "zerolag.trimmed";

/// An event as its JSON object (also the items of `GET /events`).
pub fn event_json(e: &Event) -> serde_json::Value {
    json!({"id": e.id, "channel": e.channel, "data": e.data, "ts": e.time})
}

/// The frame of one event.
pub fn event(e: &Event) -> Frame {
    let data = event_json(e).to_string();
    let mut s = String::with_capacity(data.len() + e.id.len() + e.channel.len() + 24);
    s.push_str("id: ");
    s.push_str(&e.id);
    s.push_str("\nevent: ");
    s.push_str(&e.channel);
    s.push_str("\ndata: ");
    s.push_str(&data);
    s.push_str("\n\n");
    Frame {
        id: parse_id(&e.id).ok(),
        bytes: Bytes::from(s),
    }
}

/// The notice that events after `after` may be gone; `oldest` is the oldest the log holds.
pub fn trimmed(after: &str, oldest: &str) -> Bytes {
    let data = json!({"after": after, "oldest": oldest});
    Bytes::from(format!("event: {TRIMMED}\ndata: {data}\n\n"))
}

/// The first bytes of a stream: the reconnection delay for browsers.
pub fn preamble(retry_ms: u64) -> Bytes {
    Bytes::from(format!("retry: {retry_ms}\n\n"))
}
