//! `hub.jobs.list`: the jobs of one queue in the order workers see them, page by page.
//!
//! Queues: `ready` (per kind: highest priority first, then first enqueued), `delayed` (not
//! yet due or waiting for a retry: soonest first), `running` (earliest deadline first) and
//! `finished` (succeeded, dead or cancelled: newest first). A page may be filtered by kind and
//! status. The cursor is opaque (a position in the queue on Redis, where a page reads at most
//! [`MAX_SCAN`] entries, so a filter that matches little may return a short page with a
//! cursor); a listing is not a snapshot: jobs that move between pages may be missed or seen
//! twice. In a namespace with several partitions on Redis, a listing goes partition by
//! partition (0 first), each in the queue's order; its cursor names the partition
//! (`<partition>:<position>`). The embedded store keeps one table and lists in the queue's
//! order across partitions.

use super::model::{Job, STATUSES};
use crate::error::{Error, Result};
use crate::ids;

/// Most jobs one page holds.
pub const MAX_LIMIT: usize = 1000;
/// Most queue entries one page reads on Redis while filtering.
pub const MAX_SCAN: usize = 10_000;

/// Which queue to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    Ready,
    Delayed,
    Running,
    Finished,
}

impl Queue {
    /// Parses `ready`, `delayed`, `running` or `finished`.
    pub fn parse(s: &str) -> Result<Queue> {
        Ok(match s {
            "ready" => Queue::Ready,
            "delayed" => Queue::Delayed,
            "running" => Queue::Running,
            "finished" => Queue::Finished,
            other => {
                return Err(Error::validation(format!(
                    "queue must be 'ready', 'delayed', 'running' or 'finished', not {other:?}"
                )))
            }
        })
    }

    /// The `q` column of the embedded store.
    pub fn code(self) -> i64 {
        match self {
            Queue::Finished => 0,
            Queue::Ready => 1,
            Queue::Delayed => 2,
            Queue::Running => 3,
        }
    }
}

/// What to list (checked by [`Listing::new`]).
#[derive(Debug, Clone)]
pub struct Listing {
    pub queue: Queue,
    pub kind: Option<String>,
    pub status: Option<String>,
    /// The partition the page starts in (Redis with several partitions, see [`Listing::new`]).
    pub part: u16,
    pub start: u64,
    pub limit: usize,
}

impl Listing {
    /// Checks the arguments; `cursor` is a previous page's `next`.
    pub fn new(
        queue: &str,
        kind: Option<String>,
        status: Option<String>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Listing> {
        let queue = Queue::parse(queue)?;
        if let Some(k) = &kind {
            ids::id("job kind", k)?;
        }
        if queue == Queue::Ready && kind.is_none() {
            return Err(Error::validation(
                "ready jobs are queued per kind: list(\"ready\", kind=...)",
            ));
        }
        if let Some(s) = &status {
            if !STATUSES.contains(&s.as_str()) {
                return Err(Error::validation(format!(
                    "status must be one of {}, not {s:?}",
                    STATUSES.join(", ")
                )));
            }
        }
        if limit == 0 || limit > MAX_LIMIT {
            return Err(Error::validation(format!(
                "limit must be 1 to {MAX_LIMIT}, got {limit}"
            )));
        }
        let bad = || Error::validation(format!("not a job list cursor: {cursor:?}"));
        // `<position>`, or `<partition>:<position>` in a partitioned namespace on Redis.
        let (part, start) = match cursor.map(|c| c.split_once(':').unwrap_or(("", c))) {
            None => (0, 0),
            Some(("", pos)) => (0, pos.parse::<u64>().map_err(|_| bad())?),
            Some((p, pos)) => (
                p.parse::<u16>().map_err(|_| bad())?,
                pos.parse::<u64>().map_err(|_| bad())?,
            ),
        };
        Ok(Listing {
            queue,
            kind,
            status,
            part,
            start,
            limit,
        })
    }
}

/// One page: the jobs, and the cursor of the next page (None at the end).
#[derive(Debug, Clone)]
pub struct JobPage {
    pub jobs: Vec<Job>,
    pub next: Option<String>,
}
