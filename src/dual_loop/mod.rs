//! The frontend path of the dual loop that does not touch the store: per-session state fed
//! by backend events, and the budgeted prompt built from it. `zerolag.DualLoop` keeps one
//! [`Sessions`] per loop instance.

pub mod check;
pub mod plan;
pub mod prompt;
pub mod state;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

pub use check::{check, Checked};
pub use plan::{new_task_id, plan, Pending, Plan};
pub use prompt::{build, build_with_memories, estimate, Budget, Counter, Prompt};
pub use state::{Cmd, Session};

use crate::error::{Error, Result};

/// Sessions a loop keeps in memory by default (the least recently used goes first).
pub const MAX_SESSIONS: usize = 10_000;

/// True for a valid session name: 1-200 letters, digits or `_ - . : / @ + =`.
pub fn valid_session(s: &str) -> bool {
    (1..=200).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.:/@+=".contains(&b))
}

/// The sessions one loop instance knows, least recently used evicted beyond `cap`.
#[derive(Debug)]
pub struct Sessions {
    map: HashMap<String, Session>,
    tick: u64,
    cap: usize,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions::new(MAX_SESSIONS)
    }
}

impl Sessions {
    /// At most `cap` sessions (at least one).
    pub fn new(cap: usize) -> Sessions {
        Sessions {
            map: HashMap::new(),
            tick: 0,
            cap: cap.max(1),
        }
    }

    /// How many sessions are kept.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when none is.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The session `name`, created (after checking the name) if new; marks it used.
    pub fn get(&mut self, name: &str) -> Result<&mut Session> {
        self.tick += 1;
        let tick = self.tick;
        if !self.map.contains_key(name) {
            if !valid_session(name) {
                let shown: String = name.chars().take(80).collect();
                return Err(Error::Validation(format!(
                    "session must be 1-200 letters, digits or _ - . : / @ + =, got {shown:?}"
                )));
            }
            if self.map.len() >= self.cap {
                self.evict();
            }
            self.map.insert(name.to_string(), Session::default());
        }
        let s = self.map.get_mut(name).expect("inserted above");
        s.used = tick;
        Ok(s)
    }

    fn evict(&mut self) {
        let oldest = self
            .map
            .iter()
            .min_by_key(|(_, s)| s.used)
            .map(|(k, _)| k.clone());
        if let Some(k) = oldest {
            self.map.remove(&k);
        }
    }
}

impl Session {
    /// Remembers queued commands (`pending`, with their job ids), skipping a job it knows.
    pub fn record(&mut self, pending: Vec<Pending>, jobs: &[String], at: f64) {
        for (p, job) in pending.into_iter().zip(jobs) {
            if self.by_job(job).is_none() {
                self.add(Cmd::new(
                    p.line,
                    p.kind.into(),
                    p.entity,
                    job.clone(),
                    p.label,
                    at,
                ));
            }
        }
    }
}
