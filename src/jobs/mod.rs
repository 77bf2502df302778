//! `hub.jobs`: a durable priority job queue with retries, backoff, visibility
//! timeouts, dead jobs and progress. Behaviour and validation are defined here once; `sqlite`
//! (one transaction per operation) and `redis` (one Lua script per operation) implement it.
//! The primitives are enqueue, claim, finish (complete / fail), heartbeat and cancel; the
//! Python worker runtime only runs handlers between them.

pub mod counts;
pub mod dump;
pub mod list;
pub mod model;
pub mod redis;
pub mod requeue;
pub mod route;
pub mod sqlite;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_partitions;
#[cfg(test)]
mod tests_workers;
pub mod workers;

use std::sync::Arc;
use std::time::Duration;

use self::model::{check_json, cut_error, job_id, partition_of, worker_name, MAX_BATCH};
pub use self::model::{Ack, Backoff, Claim, Claimed, Finish, Headers, Job, NewJob, Outcome};
use crate::engine::{tri, Backend, Op};
use crate::engine::{Capability, Migration, Topic};
use crate::error::{Error, Result};
use crate::ids;

/// What this capability's writers wake on the embedded store.
pub const TOPIC: Topic = Topic("jobs");

/// This capability's row in the registry (`crate::registry`).
pub const CAPABILITY: Capability = Capability {
    name: "jobs",
    migrations: &[
        Migration {
            version: 4,
            sql: sqlite::SCHEMA,
        },
        Migration {
            version: 21,
            sql: counts::SCHEMA,
        },
        Migration {
            version: 22,
            sql: workers::SCHEMA,
        },
        Migration {
            version: 23,
            sql: sqlite::HEADERS_SCHEMA,
        },
        Migration {
            version: 28,
            sql: sqlite::PART_SCHEMA,
        },
    ],
    rows: sqlite::rows,
    clear: sqlite::clear,
    topic: Some(TOPIC),
    tag: "jobs",
    partitioned: true,
    changes: false,
    sweep: None,
    export: dump::export,
    import: dump::import,
};

/// Shortest visibility timeout a worker may ask for, seconds.
pub const MIN_VISIBILITY: f64 = 0.05;
/// Longest visibility timeout, seconds (one day).
pub const MAX_VISIBILITY: f64 = 86_400.0;

/// The jobs of one namespace.
#[derive(Clone)]
pub struct Jobs {
    backend: Backend,
    ns: Arc<str>,
    /// The namespace's partition count (`crate::engine::partition`; 1: today's layout).
    n: u16,
}

fn too_many(n: usize, what: &str) -> Option<Error> {
    (n > MAX_BATCH)
        .then(|| Error::validation(format!("at most {MAX_BATCH} {what} per call, got {n}")))
}

fn check_visibility(v: f64) -> Result<()> {
    if !v.is_finite() || !(MIN_VISIBILITY..=MAX_VISIBILITY).contains(&v) {
        return Err(Error::validation(format!(
            "visibility must be {MIN_VISIBILITY} to {MAX_VISIBILITY} seconds, got {v}"
        )));
    }
    Ok(())
}

impl Jobs {
    /// The jobs of `ns` on `backend`, spread over `partitions` (see [`route`]).
    pub fn new(backend: Backend, ns: Arc<str>, partitions: u16) -> Jobs {
        Jobs {
            backend,
            ns,
            n: partitions.max(1),
        }
    }

    /// The namespace's partition count.
    pub fn partitions(&self) -> u16 {
        self.n
    }

    /// The partition job `id` belongs to (ValidationError for one naming a partition the
    /// namespace does not have).
    pub fn partition_of(&self, id: &str) -> Result<u16> {
        partition_of(id, self.n)
    }

    /// Each id's partition, checking the ids.
    fn parts_of<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Result<Vec<u16>> {
        ids.into_iter()
            .map(|i| job_id(i).and_then(|i| partition_of(i, self.n)))
            .collect()
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.ns
    }

    fn ns(&self) -> String {
        self.ns.to_string()
    }

    /// Enqueues one job.
    pub fn enqueue(&self, j: NewJob) -> Op<Job> {
        self.enqueue_many(vec![j]).and_then(|mut v| {
            v.pop()
                .ok_or_else(|| Error::Backend("enqueue returned nothing".into()))
        })
    }

    /// Enqueues jobs atomically (all or none; with several partitions on Redis, all or none
    /// per partition). A job whose idempotency key is already in use (by a stored job or an
    /// earlier one in the batch) comes back as that job instead. Each job goes to the
    /// partition [`route::of_job`] picks, and its id names it.
    pub fn enqueue_many(&self, items: Vec<NewJob>) -> Op<Vec<Job>> {
        if items.is_empty() {
            return Op::Ready(Ok(vec![]));
        }
        if let Some(e) = too_many(items.len(), "jobs") {
            return Op::Ready(Err(e));
        }
        let at = model::now();
        let n = self.n;
        let mut jobs = Vec::with_capacity(items.len());
        for item in items {
            let p = route::of_job(&item, n);
            let mut j = tri!(item.into_job(at));
            j.id = model::with_partition(j.id, p, n);
            jobs.push((p, j));
        }
        self.backend.call(
            (self.ns(), jobs),
            move |db, (ns, jobs)| sqlite::enqueue_many(db, &ns, jobs, at),
            move |r, c, (ns, jobs)| redis::enqueue_many(r, c, ns, n, jobs, at),
        )
    }

    /// One job (NotFound if missing).
    pub fn get(&self, id: &str) -> Op<Job> {
        let missing = format!("no job {id:?}");
        self.get_many(vec![id.to_string()])
            .and_then(move |mut v| v.pop().flatten().ok_or(Error::NotFound(missing)))
    }

    /// Jobs by id; None where missing.
    pub fn get_many(&self, ids_: Vec<String>) -> Op<Vec<Option<Job>>> {
        if let Some(e) = too_many(ids_.len(), "ids") {
            return Op::Ready(Err(e));
        }
        let parts = tri!(self.parts_of(ids_.iter().map(String::as_str)));
        let n = self.n;
        self.backend.call(
            (self.ns(), ids_),
            |db, (ns, ids_)| sqlite::get_many(db, &ns, &ids_),
            move |r, c, (ns, ids_)| {
                redis::get_many(r, c, ns, n, parts.into_iter().zip(ids_).collect())
            },
        )
    }

    /// One page of a queue's jobs (see [`list`]).
    pub fn list(&self, l: list::Listing) -> Op<list::JobPage> {
        let n = self.n;
        if l.part >= n {
            return Op::Ready(Err(Error::validation(format!(
                "not a job list cursor of this namespace (partition {} of {n})",
                l.part
            ))));
        }
        self.backend.call(
            (self.ns(), l),
            |db, (ns, l)| sqlite::list(db, &ns, &l),
            move |r, c, (ns, l)| redis::list(r, c, ns, n, l),
        )
    }

    /// How many jobs each kind has in each state ([`counts::STATES`]), zero counts left out,
    /// ordered by kind then state: one read whatever the number of jobs.
    pub fn counts(&self) -> Op<Vec<counts::Count>> {
        let n = self.n;
        self.backend.call(
            self.ns(),
            |db, ns| db.with(|c| counts::sqlite(c, &ns)),
            move |r, c, ns| counts::redis(r, c, ns, n),
        )
    }

    /// Cancels a job that has not finished (true), or reports that it had (false). A running
    /// job's worker learns at its next heartbeat or finish, whose result is then dropped.
    pub fn cancel(&self, id: &str) -> Op<bool> {
        let p = tri!(self.parts_of([id]))[0];
        let at = model::now();
        let n = self.n;
        self.backend.call(
            (self.ns(), id.to_string()),
            move |db, (ns, id)| sqlite::cancel(db, &ns, &id, at),
            move |r, c, (ns, id)| redis::cancel(r, c, ns, (p, n), id, at),
        )
    }

    /// Claims up to `count` ready jobs of `kinds` for `worker`, best first (higher priority,
    /// then FIFO), waiting up to `block` for one. Each claim stays the worker's for
    /// `visibility` seconds unless extended by [`Jobs::heartbeat`]; then another worker may
    /// take the job (a failed attempt). Also moves due delayed jobs to ready and expired
    /// claims to retry or dead.
    pub fn claim(
        &self,
        kinds: Vec<String>,
        count: usize,
        worker: &str,
        visibility: f64,
        block: Duration,
    ) -> Op<Claimed> {
        self.claim_in(kinds, count, worker, visibility, block, None)
    }

    /// [`Jobs::claim`] from the partitions `pinned` only (None: all of the namespace's).
    /// Partitions are visited in an order that rotates with every claim (see
    /// [`route::claim_order`]) until `count` jobs are taken; priorities and FIFO order hold
    /// within a partition. A blocking claim wakes on work in any partition.
    pub fn claim_in(
        &self,
        kinds: Vec<String>,
        count: usize,
        worker: &str,
        visibility: f64,
        block: Duration,
        pinned: Option<Vec<i64>>,
    ) -> Op<Claimed> {
        let n = self.n;
        let watched = tri!(route::pinned(pinned, n));
        // The embedded store filters by partition only when the worker is pinned to some.
        let only = (watched.len() < usize::from(n)).then(|| watched.clone());
        let check = || -> Result<()> {
            if kinds.is_empty() {
                return Err(Error::validation("claim needs at least one job kind"));
            }
            if count == 0 || count > 1000 {
                return Err(Error::validation(format!(
                    "count must be 1 to 1000, got {count}"
                )));
            }
            for k in &kinds {
                ids::id("job kind", k)?;
            }
            worker_name(worker)?;
            check_visibility(visibility)
        };
        tri!(check());
        let mut kinds = kinds;
        kinds.sort();
        kinds.dedup();
        self.backend.call(
            (self.ns(), kinds, worker.to_string()),
            move |db, (ns, k, w)| {
                sqlite::claim(db, &ns, &k, count, &w, visibility, block, only.as_deref())
            },
            move |r, c, (ns, k, w)| {
                let how = redis::ClaimArgs {
                    kinds: k,
                    count,
                    worker: w,
                    visibility,
                };
                redis::claim(r, c, ns, n, watched, how, block)
            },
        )
    }

    /// Reports finished attempts: a result (succeeded) or an error (retried after its backoff
    /// while attempts remain, else dead). A claim that is no longer the caller's comes back
    /// [`Ack::Stale`] and changes nothing.
    pub fn finish(&self, items: Vec<Finish>) -> Op<Vec<Ack>> {
        if let Some(e) = too_many(items.len(), "results") {
            return Op::Ready(Err(e));
        }
        let mut items = items;
        let parts = tri!(self.parts_of(items.iter().map(|f| f.id.as_str())));
        for f in &mut items {
            if let Outcome::Failed { error, .. } = &mut f.outcome {
                *error = cut_error(std::mem::take(error));
            }
            if let Outcome::Done(v) = &f.outcome {
                if v.len() > model::MAX_PAYLOAD {
                    return Op::Ready(Err(Error::validation(format!(
                        "result of job {:?} is {} bytes as JSON; the limit is {}",
                        f.id,
                        v.len(),
                        model::MAX_PAYLOAD
                    ))));
                }
            }
        }
        let at = model::now();
        let n = self.n;
        self.backend.call(
            (self.ns(), items),
            move |db, (ns, items)| sqlite::finish(db, &ns, items, at),
            move |r, c, (ns, items)| {
                redis::finish(r, c, ns, n, parts.into_iter().zip(items).collect(), at)
            },
        )
    }

    /// Extends claims `(id, token, progress)` by `visibility` seconds from now (never past
    /// the job's timeout) and stores the progress given.
    pub fn heartbeat(
        &self,
        items: Vec<(String, String, Option<serde_json::Value>)>,
        visibility: f64,
    ) -> Op<Vec<Ack>> {
        if let Some(e) = too_many(items.len(), "claims") {
            return Op::Ready(Err(e));
        }
        tri!(check_visibility(visibility));
        let parts = tri!(self.parts_of(items.iter().map(|i| i.0.as_str())));
        let mut enc = Vec::with_capacity(items.len());
        for (id, token, p) in items {
            let p = tri!(p.map(|v| check_json("progress", &v)).transpose());
            enc.push((id, token, p));
        }
        let at = model::now();
        let n = self.n;
        self.backend.call(
            (self.ns(), enc),
            move |db, (ns, enc)| sqlite::heartbeat(db, &ns, enc, visibility, at),
            move |r, c, (ns, enc)| {
                redis::heartbeat(
                    r,
                    c,
                    ns,
                    n,
                    parts.into_iter().zip(enc).collect(),
                    visibility,
                    at,
                )
            },
        )
    }

    /// Deletes finished jobs (succeeded, dead, cancelled) older than `older_than` seconds,
    /// with their idempotency keys, at most `limit` of them (None: all), oldest first;
    /// returns how many.
    pub fn purge(&self, older_than: f64, limit: Option<u64>) -> Op<u64> {
        if !older_than.is_finite() || older_than < 0.0 {
            return Op::Ready(Err(Error::validation(format!(
                "older_than must be a number of seconds >= 0, got {older_than}"
            ))));
        }
        if limit == Some(0) {
            return Op::Ready(Err(Error::validation(
                "limit must be at least 1 (None: all)",
            )));
        }
        let before = model::now() - older_than;
        let n = self.n;
        self.backend.call(
            self.ns(),
            move |db, ns| sqlite::purge(db, &ns, before, limit),
            move |r, c, ns| redis::purge(r, c, ns, n, before, limit),
        )
    }
}
