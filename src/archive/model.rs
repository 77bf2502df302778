//! What the archive moves: the sources it copies from the store, one row type per source,
//! and a batch of rows with the cursor after them. The store side (`super::sources`) fills
//! batches; the PostgreSQL side (`super::pg`) writes them; the loop (`super::run`) moves
//! them and commits the cursor only after the sink committed.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use crate::error::Result;

/// One kind of record the archive copies, each read from its own ordered structure in the
/// store with its own cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// Every bus message shared (the bus history log).
    Messages,
    /// Acknowledgements of bus messages.
    Acks,
    /// Bus dead letters.
    DeadLetters,
    /// The event log.
    Events,
    /// Finished jobs: succeeded, dead, cancelled.
    Jobs,
    /// Task versions (from the tasks' part of the change feed).
    Tasks,
    /// Pattern-memory records (a pattern as it stands after each write).
    Patterns,
}

impl Source {
    /// Every source, in the order the archiver visits them.
    pub const ALL: [Source; 7] = [
        Source::Messages,
        Source::Acks,
        Source::DeadLetters,
        Source::Events,
        Source::Jobs,
        Source::Tasks,
        Source::Patterns,
    ];

    /// Its name in cursors, health reports, metrics and docs.
    pub fn name(self) -> &'static str {
        match self {
            Source::Messages => "messages",
            Source::Acks => "acks",
            Source::DeadLetters => "dead_letters",
            Source::Events => "events",
            Source::Jobs => "jobs",
            Source::Tasks => "tasks",
            Source::Patterns => "patterns",
        }
    }

    /// From its name.
    pub fn parse(s: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|x| x.name() == s)
    }

    /// The Redis key tag of the capability it reads (its cursor lives under the same tag, so
    /// that the capability's trimming scripts can see how far the archive got).
    pub fn tag(self) -> &'static str {
        match self {
            Source::Messages | Source::Acks | Source::DeadLetters => "bus",
            Source::Events => "events",
            Source::Jobs => "jobs",
            Source::Tasks => "tasks",
            Source::Patterns => "patterns",
        }
    }
}

/// A bus message as shared (natural id: `id`).
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The message id (`<ms>-<seq>`).
    pub id: String,
    /// When it was shared, ms since the epoch.
    pub at_ms: i64,
    /// The sending agent.
    pub sender: String,
    /// The receiving agents; `["*"]` for a broadcast.
    pub recipients: Vec<String>,
    /// Its kind, if any.
    pub kind: Option<String>,
    /// "critical", "high", "medium" or "low".
    pub priority: String,
    /// True for a broadcast.
    pub broadcast: bool,
    /// The payload.
    pub payload: Value,
}

/// An acknowledgement (natural id: `message_id`).
#[derive(Debug, Clone, PartialEq)]
pub struct Ack {
    /// The acknowledged message.
    pub message_id: String,
    /// When, ms since the epoch.
    pub at_ms: i64,
}

/// A bus dead letter (natural id: `entry`).
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// Its own position in the dead-letter log (a Redis stream id, the SQLite sequence as
    /// text): unique per namespace.
    pub entry: String,
    /// The message id.
    pub message_id: String,
    /// The agent it was for.
    pub agent: String,
    /// The consumer group.
    pub group: String,
    /// The last consumer.
    pub consumer: String,
    /// Deliveries made.
    pub deliveries: i64,
    /// Why it died.
    pub reason: String,
    /// When, ms since the epoch.
    pub at_ms: i64,
    /// The message's whole envelope (id, time, source, target, priority, kind, broadcast,
    /// payload) as the bus keeps it.
    pub envelope: Value,
}

/// An event (natural id: `id`).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The event id.
    pub id: String,
    /// Its channel.
    pub channel: String,
    /// Its data.
    pub data: Value,
    /// When, ms since the epoch.
    pub at_ms: i64,
}

/// A finished job (natural id: `(id, finished_ms)`: a dead job requeued can finish again).
#[derive(Debug, Clone, PartialEq)]
pub struct JobOutcome {
    /// The job id.
    pub id: String,
    /// Its kind.
    pub kind: String,
    /// "succeeded", "dead" or "cancelled".
    pub status: String,
    /// Attempts made.
    pub attempts: i64,
    /// Its payload.
    pub payload: Value,
    /// Its result (Null if none).
    pub result: Value,
    /// The last error, if any.
    pub error: Option<String>,
    /// The worker that ran it last, if any.
    pub worker: Option<String>,
    /// Its headers (a JSON object of strings; empty object if none).
    pub headers: Value,
    /// Enqueued, ms since the epoch.
    pub created_ms: i64,
    /// Last started, ms since the epoch.
    pub started_ms: Option<i64>,
    /// Finished, ms since the epoch.
    pub finished_ms: i64,
}

/// A task version (natural id: `(id, version)`).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskVersion {
    /// The task id.
    pub id: String,
    /// Its version.
    pub version: i64,
    /// The whole task as `tasks.get` returns it as JSON (Null for a deletion).
    pub doc: Value,
    /// True when this version records the task's deletion.
    pub deleted: bool,
    /// When the version was written, ms since the epoch.
    pub at_ms: i64,
}

/// A pattern-memory record after a write (natural id: `(id, observations, last_ms)`).
#[derive(Debug, Clone, PartialEq)]
pub struct PatternRecord {
    /// The pattern id.
    pub id: String,
    /// Its repository.
    pub repo: String,
    /// Its type.
    pub kind: String,
    /// Its (anonymised) data.
    pub data: Value,
    /// Its confidence.
    pub confidence: f64,
    /// Observations so far.
    pub observations: i64,
    /// First seen, ms since the epoch.
    pub first_ms: i64,
    /// Last seen, ms since the epoch.
    pub last_ms: i64,
}

/// The rows of one batch, all of one source.
#[derive(Debug, Clone, PartialEq)]
pub enum Rows {
    /// Bus messages.
    Messages(Vec<Message>),
    /// Acknowledgements.
    Acks(Vec<Ack>),
    /// Dead letters.
    DeadLetters(Vec<DeadLetter>),
    /// Events.
    Events(Vec<Event>),
    /// Finished jobs.
    Jobs(Vec<JobOutcome>),
    /// Task versions.
    Tasks(Vec<TaskVersion>),
    /// Pattern records.
    Patterns(Vec<PatternRecord>),
}

impl Rows {
    /// How many rows.
    pub fn len(&self) -> usize {
        match self {
            Rows::Messages(v) => v.len(),
            Rows::Acks(v) => v.len(),
            Rows::DeadLetters(v) => v.len(),
            Rows::Events(v) => v.len(),
            Rows::Jobs(v) => v.len(),
            Rows::Tasks(v) => v.len(),
            Rows::Patterns(v) => v.len(),
        }
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The source they come from.
    pub fn source(&self) -> Source {
        match self {
            Rows::Messages(_) => Source::Messages,
            Rows::Acks(_) => Source::Acks,
            Rows::DeadLetters(_) => Source::DeadLetters,
            Rows::Events(_) => Source::Events,
            Rows::Jobs(_) => Source::Jobs,
            Rows::Tasks(_) => Source::Tasks,
            Rows::Patterns(_) => Source::Patterns,
        }
    }
}

/// What one read of a source returned.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The rows after the cursor, oldest first (at most the limit asked for).
    pub rows: Rows,
    /// The cursor after these rows: commit it once they are archived. Equal to the cursor
    /// read after when there were no rows.
    pub next: String,
    /// Entries the store still holds after `next` (an estimate where counting is costly).
    pub behind: u64,
    /// Entries the store no longer held between the cursor read after and the first row:
    /// trimmed before the archive got them (0 normally). The loop reports them.
    pub lost: u64,
}

/// A boxed future borrowing its inputs.
pub type SinkFut<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

/// Where archived rows go (PostgreSQL in the product; the loop knows only this).
pub trait Sink: Send + Sync + 'static {
    /// Writes the rows of namespace `ns` and commits them durably, idempotently on each
    /// source's natural id (a batch written twice leaves one copy). Fails when the rows are
    /// not committed (the loop keeps the cursor and retries).
    fn write<'a>(&'a self, ns: &'a str, rows: &'a Rows) -> SinkFut<'a>;
}
