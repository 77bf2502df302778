//! `hub.erase(subject)`: removes a subject (a user id, an agent id) from every capability that
//! holds it, and reports per capability what went (docs/erasure.md).
//!
//! Each capability's part is one operation of its own (one transaction on the embedded store,
//! one script per cluster slot on Redis), run one after the other: an erase interrupted half
//! way leaves the parts already done erased, and running it again finishes the rest. A second
//! erase of the same subject finds nothing and reports zeros.
//!
//! - memory ([`memory`]): every scope with an entry whose value is the subject
//!   (`user=<subject>`, `agent=<subject>`, ...), each erased as `forget_scope` does (every
//!   version of its records, their postings and vectors, its graph edges);
//! - chat and activity ([`streams`]): every conversation or feed whose id names the subject
//!   ([`names`]);
//! - sessions: every session of the user (`destroy_user`);
//! - tasks ([`tasks`]): metadata values equal to the subject are removed from the task (the
//!   task stays: it is shared work), as an update the change feed records;
//! - bus ([`bus`]): every message sent by the subject or addressed to it by name (history,
//!   inboxes, broadcast log, dead letters, acks, idempotency entries), the subject's inboxes
//!   and its registration;
//! - flags ([`flags`]): the user's own settings of every flag and its entry in the table of
//!   users;
//! - archive (only when one is attached to this hub, `crate::archive::pg`): the subject's
//!   archived rows, summed over the archive's tables, and a tombstone that keeps the archiver
//!   from writing the subject's rows again. It runs last, after the store no longer holds the
//!   subject; a PostgreSQL that is down fails the erase there (`ArchiveUnavailable`) with the
//!   store's part done: running it again finishes it.

pub mod bus;
pub mod flags;
pub mod memory;
pub mod streams;
pub mod tasks;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use crate::engine::{tri, Op};
use crate::error::Result;
use crate::hub::Hub;
use crate::ids;

/// What one erase removed: (capability, count) in a fixed order, zeros included.
pub type Report = Vec<(&'static str, u64)>;

/// The capabilities an erase checks, in the order it reports them.
pub const CHECKED: [&str; 7] = [
    "memory", "chat", "activity", "sessions", "tasks", "bus", "flags",
];

/// Checks a subject: an id (1 to 128 of `A-Z a-z 0-9 _ - . : / @ + =`).
pub fn check_subject(subject: &str) -> Result<&str> {
    ids::id("subject", subject)
}

/// True when the id `id` names `subject`: equal to it, or containing it as a part between
/// `:` or `/` separators (`user:alice`, `alice/support`, `t:alice:2` all name `alice`).
pub fn names(id: &str, subject: &str) -> bool {
    if id == subject {
        return true;
    }
    let sep = |c: Option<char>| matches!(c, None | Some(':') | Some('/'));
    id.match_indices(subject).any(|(i, _)| {
        sep(id[..i].chars().next_back()) && sep(id[i + subject.len()..].chars().next())
    })
}

/// Erases `subject` from every capability of `hub`'s namespace; returns what went per
/// capability (see the module's documentation).
pub fn erase(hub: Arc<Hub>, subject: &str) -> Op<Report> {
    tri!(hub.check());
    let subject = tri!(check_subject(subject)).to_string();
    Op::Async(Box::pin(async move { erase_all(&hub, &subject).await }))
}

/// [`erase`] as a future on a borrowed hub.
pub async fn erase_all(hub: &Hub, subject: &str) -> Result<Report> {
    hub.check()?;
    check_subject(subject)?;
    let memory = memory::erase(hub, subject).await?;
    let chat = streams::erase(&hub.chat, hub.backend(), subject).await?;
    let activity = streams::erase(&hub.activity, hub.backend(), subject).await?;
    let sessions = hub.sessions.destroy_user(subject, None).run().await?;
    let tasks = tasks::erase(&hub.tasks, subject).await?;
    let bus = bus::erase(hub.backend(), hub.namespace(), subject)
        .run()
        .await?;
    let flags = flags::erase(hub.backend(), hub.namespace(), subject)
        .run()
        .await?;
    let mut report: Report = CHECKED
        .into_iter()
        .zip([memory, chat, activity, sessions, tasks, bus, flags])
        .collect();
    if hub.archive.attached() {
        let archived = hub
            .archive
            .erase(hub.namespace().into(), subject)
            .run()
            .await?;
        report.push(("archive", archived.iter().map(|(_, n)| n).sum()));
    }
    Ok(report)
}
