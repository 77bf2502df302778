//! Keyset cursors shared by every backend: a page ends at `(score, id)` and the next page
//! starts strictly after it in (score desc, id desc) order, so concurrent writes never make a
//! page repeat or skip a task that did not move.

use super::model::{Order, Page, Query, Task};

/// Encodes the position after `t`.
pub fn encode(t: &Task, order: Order) -> String {
    let score = match order {
        Order::Confidence => t.confidence,
        Order::Recent => t.updated_at,
    };
    format!("{score:?}~{}", t.id)
}

pub use super::model::decode_cursor as decode;

/// Cuts `limit + 1` fetched tasks down to a page and its next cursor.
pub fn page(mut tasks: Vec<Task>, q: &Query) -> Page {
    let next_cursor = if tasks.len() > q.limit {
        tasks.truncate(q.limit);
        tasks.last().map(|t| encode(t, q.order))
    } else {
        None
    };
    Page { tasks, next_cursor }
}
