//! The job record, its inputs and the rules every backend shares: validation, priorities,
//! the ready order, backoff.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::ids;

/// Largest payload (and result), as JSON text.
pub const MAX_PAYLOAD: usize = 1024 * 1024;
/// Longest error text kept on a job (longer ones are cut).
pub const MAX_ERROR: usize = 8 * 1024;
/// Most headers one job may carry.
pub const MAX_HEADERS: usize = 32;
/// Longest header value, bytes.
pub const MAX_HEADER_VALUE: usize = 1024;

/// A job's headers: small string metadata that travels with it to its worker (a trace
/// context, a correlation id), kept apart from the payload the handler reads.
pub type Headers = std::collections::BTreeMap<String, String>;

/// Priorities lie in `-MAX_PRIORITY..=MAX_PRIORITY` (higher runs first).
pub const MAX_PRIORITY: i64 = 1_000_000;
/// Most attempts a job may be given.
pub const MAX_ATTEMPTS: u32 = 1_000;
/// Longest backoff delay between two attempts, in seconds.
pub const MAX_BACKOFF: f64 = 3_600.0;
/// Most jobs one `enqueue_many`, `get_many` or `claim` call takes.
pub const MAX_BATCH: usize = 10_000;
/// Room for the FIFO sequence within one priority in a ready score (2^33).
pub const SEQ_SPAN: f64 = 8_589_934_592.0;

/// How long a failed attempt waits before the next one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Backoff {
    /// The same delay every time.
    Fixed(f64),
    /// `base * 2^(attempt-1)`, capped at [`MAX_BACKOFF`].
    Exponential(f64),
}

impl Backoff {
    /// The stored code: `f` or `e`.
    pub fn code(&self) -> &'static str {
        match self {
            Backoff::Fixed(_) => "f",
            Backoff::Exponential(_) => "e",
        }
    }

    /// Base seconds.
    pub fn base(&self) -> f64 {
        match self {
            Backoff::Fixed(b) | Backoff::Exponential(b) => *b,
        }
    }

    /// From the stored code and base.
    pub fn from_code(code: &str, base: f64) -> Backoff {
        match code {
            "f" => Backoff::Fixed(base),
            _ => Backoff::Exponential(base),
        }
    }

    /// "fixed" or "exponential".
    pub fn name(&self) -> &'static str {
        match self {
            Backoff::Fixed(_) => "fixed",
            Backoff::Exponential(_) => "exponential",
        }
    }

    /// Delay before the attempt after `attempt` (1-based) failed.
    pub fn delay(&self, attempt: u32) -> f64 {
        match self {
            Backoff::Fixed(b) => b.min(MAX_BACKOFF),
            Backoff::Exponential(b) => {
                (b * 2f64.powi(attempt.saturating_sub(1).min(60) as i32)).min(MAX_BACKOFF)
            }
        }
    }

    fn validate(&self) -> Result<()> {
        let b = self.base();
        if !b.is_finite() || !(0.0..=MAX_BACKOFF).contains(&b) {
            return Err(Error::validation(format!(
                "backoff base must be 0 to {MAX_BACKOFF} seconds, got {b}"
            )));
        }
        Ok(())
    }
}

/// Where a job stands.
pub const STATUSES: [&str; 6] = [
    "pending",
    "running",
    "succeeded",
    "failed",
    "dead",
    "cancelled",
];

/// A job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Unique id within the namespace.
    pub id: String,
    /// What handler runs it.
    pub kind: String,
    /// Any JSON value.
    pub payload: Value,
    /// Higher runs first.
    pub priority: i64,
    /// One of [`STATUSES`]: `pending` (queued or waiting for `run_at`), `running`, `failed`
    /// (an attempt failed; waiting for the retry), `succeeded`, `dead` (out of attempts),
    /// `cancelled`.
    pub status: String,
    /// Attempts started so far.
    pub attempts: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// Delay between attempts.
    pub backoff: Backoff,
    /// Longest one attempt may run, seconds (None: no limit; heartbeats keep it alive).
    pub timeout: Option<f64>,
    /// Earliest start, Unix seconds (the next attempt's, after a failure).
    pub run_at: f64,
    /// Unix seconds.
    pub created_at: f64,
    /// Start of the latest attempt.
    pub started_at: Option<f64>,
    /// When it reached a terminal status.
    pub finished_at: Option<f64>,
    /// The handler's return value (succeeded).
    pub result: Option<Value>,
    /// The latest failure's text.
    pub error: Option<String>,
    /// The latest progress a handler reported.
    pub progress: Option<Value>,
    /// The idempotency key it was enqueued with.
    pub idempotency_key: Option<String>,
    /// The worker running (or that last ran) it.
    pub worker: Option<String>,
    /// Metadata it was enqueued with (empty: none).
    pub headers: Headers,
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// What handler runs it.
    pub kind: String,
    /// Any JSON value.
    pub payload: Value,
    /// Higher runs first (default 0).
    pub priority: i64,
    /// Earliest start, Unix seconds (None: now).
    pub run_at: Option<f64>,
    /// Attempts allowed (default 3).
    pub max_attempts: u32,
    /// Delay between attempts.
    pub backoff: Backoff,
    /// Longest one attempt may run, seconds.
    pub timeout: Option<f64>,
    /// Same key, same job: a second enqueue returns the first job.
    pub idempotency_key: Option<String>,
    /// Metadata for the worker (see [`Headers`]).
    pub headers: Headers,
    /// Ordering / partition key: jobs with the same key go to the same partition (see
    /// [`super::route`]); not stored.
    pub key: Option<String>,
}

impl NewJob {
    /// A job of `kind` with `payload` and the defaults.
    pub fn new(kind: impl Into<String>, payload: Value) -> NewJob {
        NewJob {
            kind: kind.into(),
            payload,
            priority: 0,
            run_at: None,
            max_attempts: 3,
            backoff: Backoff::Exponential(1.0),
            timeout: None,
            idempotency_key: None,
            headers: Headers::new(),
            key: None,
        }
    }

    /// Validates and turns into the stored record (with a fresh id) at time `at`.
    pub fn into_job(self, at: f64) -> Result<Job> {
        ids::id("job kind", &self.kind)?;
        if let Some(k) = &self.idempotency_key {
            ids::id("idempotency key", k)?;
        }
        if let Some(k) = &self.key {
            ids::id("job key", k)?;
        }
        if !(-MAX_PRIORITY..=MAX_PRIORITY).contains(&self.priority) {
            return Err(Error::validation(format!(
                "priority must be between -{MAX_PRIORITY} and {MAX_PRIORITY}, got {}",
                self.priority
            )));
        }
        if self.max_attempts == 0 || self.max_attempts > MAX_ATTEMPTS {
            return Err(Error::validation(format!(
                "max_attempts must be 1 to {MAX_ATTEMPTS}, got {}",
                self.max_attempts
            )));
        }
        self.backoff.validate()?;
        if let Some(t) = self.timeout {
            if !t.is_finite() || t <= 0.0 {
                return Err(Error::validation(format!(
                    "timeout must be a positive number of seconds, got {t}"
                )));
            }
        }
        let run_at = match self.run_at {
            Some(r) if !r.is_finite() || r < 0.0 => {
                return Err(Error::validation(format!(
                    "run_at must be a Unix time in seconds, got {r}"
                )))
            }
            Some(r) => (r * 1000.0).round() / 1000.0,
            None => at,
        };
        check_json("payload", &self.payload)?;
        check_headers(&self.headers)?;
        Ok(Job {
            id: new_id(),
            kind: self.kind,
            payload: self.payload,
            priority: self.priority,
            status: "pending".into(),
            attempts: 0,
            max_attempts: self.max_attempts,
            backoff: self.backoff,
            timeout: self.timeout,
            run_at,
            created_at: at,
            started_at: None,
            finished_at: None,
            result: None,
            error: None,
            progress: None,
            idempotency_key: self.idempotency_key,
            worker: None,
            headers: self.headers,
        })
    }
}

/// Checks headers: at most [`MAX_HEADERS`], names are ids, values at most
/// [`MAX_HEADER_VALUE`] bytes without control characters.
pub fn check_headers(h: &Headers) -> Result<()> {
    if h.len() > MAX_HEADERS {
        return Err(Error::validation(format!(
            "a job takes at most {MAX_HEADERS} headers, got {}",
            h.len()
        )));
    }
    for (k, v) in h {
        ids::id("header name", k)?;
        if v.len() > MAX_HEADER_VALUE {
            return Err(Error::validation(format!(
                "header {k:?} is {} bytes; the limit is {MAX_HEADER_VALUE}",
                v.len()
            )));
        }
        if v.chars().any(char::is_control) {
            return Err(Error::validation(format!(
                "header {k:?} holds a control character"
            )));
        }
    }
    Ok(())
}

/// Headers as stored: JSON object text, or "" for none.
pub fn headers_text(h: &Headers) -> String {
    if h.is_empty() {
        return String::new();
    }
    serde_json::to_string(h).unwrap_or_default()
}

/// Stored headers back ("" or absent: none).
pub fn parse_headers(s: Option<&str>) -> Result<Headers> {
    match s {
        None | Some("") => Ok(Headers::new()),
        Some(t) => Ok(serde_json::from_str(t)?),
    }
}

/// Rejects a JSON value whose text exceeds [`MAX_PAYLOAD`]; returns the text.
pub fn check_json(what: &str, v: &Value) -> Result<String> {
    let s = serde_json::to_string(v)?;
    if s.len() > MAX_PAYLOAD {
        return Err(Error::validation(format!(
            "{what} is {} bytes as JSON; the limit is {MAX_PAYLOAD}",
            s.len()
        )));
    }
    Ok(s)
}

/// Cuts an error text to [`MAX_ERROR`] bytes (on a char boundary).
pub fn cut_error(mut e: String) -> String {
    if e.len() > MAX_ERROR {
        let mut n = MAX_ERROR;
        while !e.is_char_boundary(n) {
            n -= 1;
        }
        e.truncate(n);
    }
    e
}

/// A job handed to a worker: what the handler needs, plus the claim token that proves the
/// claim when completing, failing or heart-beating.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    /// Job id.
    pub id: String,
    /// Job kind.
    pub kind: String,
    /// Payload.
    pub payload: Value,
    /// This attempt's number (1-based).
    pub attempt: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// Priority.
    pub priority: i64,
    /// Longest this attempt may run, seconds.
    pub timeout: Option<f64>,
    /// Proof of this claim; stale once the job was reclaimed, cancelled or finished.
    pub token: String,
    /// When this attempt started (Unix seconds).
    pub started_at: f64,
    /// The job's headers.
    pub headers: Headers,
}

/// What `claim` found.
#[derive(Debug, Clone, Default)]
pub struct Claimed {
    /// The claimed jobs (empty if none was ready).
    pub jobs: Vec<Claim>,
    /// When something may next become claimable (a delayed job's time, a running job's
    /// deadline), Unix seconds; None if nothing is waiting.
    pub next_due: Option<f64>,
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Succeeded with this result (JSON text).
    Done(String),
    /// Failed with this error; `retry` false makes it dead at once.
    Failed {
        /// Error text.
        error: String,
        /// Whether another attempt may follow.
        retry: bool,
    },
}

/// One finished attempt, reported by its claimer.
#[derive(Debug, Clone)]
pub struct Finish {
    /// Job id.
    pub id: String,
    /// The claim token.
    pub token: String,
    /// Result or error.
    pub outcome: Outcome,
}

/// The answer to a finish or heartbeat for one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    /// Applied.
    Ok,
    /// The claim is no longer this worker's (reclaimed after its visibility timeout,
    /// cancelled, or already finished); nothing changed.
    Stale,
    /// No such job.
    Missing,
}

impl Ack {
    /// From a script's reply word.
    pub fn parse(s: &str) -> Ack {
        match s {
            "ok" => Ack::Ok,
            "missing" => Ack::Missing,
            _ => Ack::Stale,
        }
    }
}

/// The ready-queue score: priority first (higher first), then the order the job became
/// ready (FIFO). Exact in an f64 for |priority| <= 10^6 and sequence numbers below 2^33.
pub fn ready_score(priority: i64, seq: u64) -> f64 {
    (-(priority as f64)) * SEQ_SPAN + (seq % (SEQ_SPAN as u64)) as f64
}

pub use crate::clock::now;

/// A new job id: `j` + millisecond time in hex + 16 random hex digits (sortable by creation).
pub fn new_id() -> String {
    let ms = (now() * 1000.0) as u64;
    format!("j{ms:011x}{:016x}", rand::random::<u64>())
}

/// The id of a job of partition `p` among `n`: `id` itself when `n == 1` (today's ids), else
/// `id` + `-` + `p` (job ids are otherwise hex, so the suffix is unambiguous).
pub fn with_partition(id: String, p: u16, n: u16) -> String {
    if n <= 1 {
        id
    } else {
        format!("{id}-{p}")
    }
}

/// The partition a job id belongs to among `n`, without a lookup: 0 when `n == 1`; else the
/// number after the id's last `-` (ValidationError when it names a partition `>= n`); an id
/// without one (a job from a namespace with one partition, imported) goes by
/// [`crate::engine::partition::of_key`] of the whole id.
pub fn partition_of(id: &str, n: u16) -> Result<u16> {
    if n <= 1 {
        return Ok(0);
    }
    let suffix = id
        .rsplit_once('-')
        .map(|(_, s)| s)
        .filter(|s| !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit()));
    match suffix.map(str::parse::<u32>) {
        Some(Ok(p)) if p < u32::from(n) => Ok(p as u16),
        Some(_) => Err(Error::validation(format!(
            "job id {id:?} names a partition this namespace does not have (it has {n})"
        ))),
        None => Ok(crate::engine::partition::of_key(id, n)),
    }
}

/// A new claim token.
pub fn new_token() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// Checks a worker name (used in tokens and on the job).
pub fn worker_name(w: &str) -> Result<&str> {
    ids::id("worker name", w)
}

/// Checks a job id.
pub fn job_id(id: &str) -> Result<&str> {
    ids::id("job id", id)
}
