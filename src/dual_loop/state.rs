//! What one loop instance knows about a session: the commands it dispatched (or adopted from
//! another instance's events) and the latest backend event about each, rendered as the
//! prompt's "recent commands" and "backend status" lines.

use std::collections::VecDeque;

use serde_json::Value;

use crate::protocol::{decode_command, Command, Event};

/// Commands remembered per session.
pub const MAX_COMMANDS: usize = 64;
/// Finished commands still shown in the status section.
const FINISHED_SHOWN: usize = 8;
/// Open commands shown (the newest), and recent command lines.
const OPEN_SHOWN: usize = 24;

/// One dispatched command and what the backend said about it so far.
#[derive(Clone, Debug)]
pub struct Cmd {
    /// The canonical command line.
    pub line: String,
    /// `tc`, `ts`, …
    pub kind: String,
    /// The task, workflow, context or memory it is about.
    pub entity: String,
    /// Its job id.
    pub job: String,
    /// How the status section names it.
    pub label: String,
    /// When it was queued (seconds since the epoch).
    pub queued_at: f64,
    /// When an event last touched it.
    pub updated: f64,
    /// `queued`, `in_progress`, `done`, `error`, …
    pub status: String,
    /// 0..=1.
    pub progress: f64,
    /// The latest result, summary or error, shortened.
    pub note: String,
    /// A backend event arrived for it.
    pub started: bool,
    /// It will not change any more.
    pub finished: bool,
    cl: Option<String>,
    sl: Option<String>,
    /// While queued: when the rendered wait in `sl` next reads differently.
    qt: f64,
}

impl Cmd {
    /// A command queued at `at`.
    pub fn new(
        line: String,
        kind: String,
        entity: String,
        job: String,
        label: String,
        at: f64,
    ) -> Cmd {
        Cmd {
            line,
            kind,
            entity,
            job,
            label,
            queued_at: at,
            updated: at,
            status: "queued".into(),
            progress: 0.0,
            note: String::new(),
            started: false,
            finished: false,
            cl: None,
            sl: None,
            qt: 0.0,
        }
    }

    /// `<line>  -> <entity>, <status>`.
    pub fn command_line(&mut self) -> &str {
        if self.cl.is_none() {
            self.cl = Some(format!(
                "{}  -> {}, {}",
                self.line, self.entity, self.status
            ));
        }
        self.cl.as_deref().unwrap_or_default()
    }

    /// Its backend status line at `now` (`grace`: seconds after which a command no worker
    /// picked up says so).
    pub fn status_line(&mut self, now: f64, grace: f64) -> &str {
        if !self.started {
            // The wait is the only part that changes, at most once a second.
            if self.sl.is_none() || now >= self.qt {
                let wait = now - self.queued_at;
                let over = wait > grace;
                let extra = if over {
                    " (no backend worker has picked it up yet; it stays queued)"
                } else {
                    ""
                };
                self.sl = Some(format!(
                    "{} [{}]: queued {}{extra}",
                    self.label,
                    self.entity,
                    ago(wait)
                ));
                let step = if wait < 120.0 { 1.0 } else { 60.0 };
                let nxt = ((wait / step).floor() + 1.0) * step;
                self.qt = self.queued_at
                    + if over || nxt <= grace {
                        nxt
                    } else {
                        grace + 1e-6
                    };
            }
        } else if self.sl.is_none() {
            let line = if self.finished {
                let note = if self.note.is_empty() {
                    String::new()
                } else {
                    format!(": {}", self.note)
                };
                format!("{} [{}]: {}{note}", self.label, self.entity, self.status)
            } else {
                let note = if self.note.is_empty() {
                    String::new()
                } else {
                    format!(", {}", self.note)
                };
                let pct = format!("{:.0}%", self.progress * 100.0);
                format!(
                    "{} [{}]: {} {pct}{note}",
                    self.label, self.entity, self.status
                )
            };
            self.sl = Some(line);
        }
        self.sl.as_deref().unwrap_or_default()
    }

    fn touched(&mut self, when: f64) {
        self.updated = when;
        self.started = true;
        self.cl = None;
        self.sl = None;
    }
}

/// Coarse on purpose: the model needs "just now" or "a while", not milliseconds.
fn ago(seconds: f64) -> String {
    if seconds < 1.0 {
        "under 1 s".into()
    } else if seconds < 120.0 {
        format!("{} s", seconds as i64)
    } else {
        format!("{} min", (seconds / 60.0).floor() as i64)
    }
}

/// At most `n` characters on one line, `…` when cut.
fn short(s: &str, n: usize) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= n {
        return one;
    }
    let mut out: String = one.chars().take(n - 1).collect();
    out.push('…');
    out
}

fn short_value(v: &Value) -> String {
    match v {
        Value::String(s) => short(s, 80),
        other => short(&other.to_string(), 80),
    }
}

/// The task, entity or context an event is about.
pub fn event_entity(ev: &Event) -> Option<&str> {
    match ev {
        Event::TaskReady(e) => Some(e.task_id.as_str()),
        Event::TaskComplete(e) => Some(e.task_id.as_str()),
        Event::StatusUpdate(e) => Some(e.entity_id.as_str()),
        Event::ContextLoaded(e) => Some(e.context_id.as_str()),
        Event::Error(_) => None,
    }
    .filter(|s| !s.is_empty())
}

/// What one loop instance knows about a session.
#[derive(Debug, Default)]
pub struct Session {
    commands: VecDeque<Cmd>,
    /// When the last event about it came.
    pub last_event: Option<f64>,
    /// LRU stamp (see `Sessions`).
    pub(crate) used: u64,
}

impl Session {
    /// Remembers a dispatched command (the oldest goes beyond [`MAX_COMMANDS`]).
    pub fn add(&mut self, cmd: Cmd) {
        if self.commands.len() == MAX_COMMANDS {
            self.commands.pop_front();
        }
        self.commands.push_back(cmd);
    }

    /// The command with job id `job`.
    pub fn by_job(&mut self, job: &str) -> Option<&mut Cmd> {
        self.commands.iter_mut().find(|c| c.job == job)
    }

    /// Tracks a command another loop instance (process) dispatched, from its first event.
    pub fn adopt(&mut self, line: &str, job: &str, ev: &Event, when: f64) {
        let entity = event_entity(ev).unwrap_or(job).to_string();
        let label = match decode_command(line) {
            Ok(Command::TaskCreate(t)) => t.title,
            Ok(c) => format!("{} {entity}", c.spec().prefix),
            Err(_) => line.chars().take(40).collect(),
        };
        let kind: String = line.chars().take(2).collect();
        self.add(Cmd::new(line.into(), kind, entity, job.into(), label, when));
    }

    /// Applies a backend event to the command it is about (by job id, else by entity).
    pub fn apply(&mut self, ev: &Event, job: Option<&str>, when: f64) {
        self.last_event = Some(when);
        let by_job = match job {
            Some(j) => self.commands.iter().position(|c| c.job == j),
            None => None,
        };
        let idx = by_job.or_else(|| {
            let e = event_entity(ev)?;
            self.commands.iter().rposition(|c| c.entity == e)
        });
        let Some(cmd) = idx.and_then(|i| self.commands.get_mut(i)) else {
            return;
        };
        cmd.touched(when);
        match ev {
            Event::StatusUpdate(e) => {
                cmd.status = e.status.clone();
                cmd.progress = e.progress;
                if matches!(
                    e.status.as_str(),
                    "done" | "completed" | "success" | "failed" | "cancelled"
                ) {
                    cmd.finished = true;
                }
            }
            Event::TaskReady(e) => {
                cmd.status = "ready".into();
                cmd.note = format!("routed {}", e.routing);
            }
            Event::TaskComplete(e) => {
                (cmd.status, cmd.progress, cmd.finished) = ("done".into(), 1.0, true);
                cmd.note = short_value(&e.result);
            }
            Event::ContextLoaded(e) => {
                (cmd.status, cmd.progress, cmd.finished) = ("done".into(), 1.0, true);
                cmd.note = short(&e.summary, 80);
            }
            Event::Error(e) => {
                cmd.note = format!("{}: {} ({})", e.code, short(&e.message, 60), e.recovery);
                cmd.status = "error".into();
                cmd.finished = e.recovery.contains("gave up") || e.code != "E_HANDLER";
            }
        }
    }

    /// How many commands no backend has touched for longer than `grace` seconds, and when
    /// the oldest of them was queued.
    pub fn waiting(&self, now: f64, grace: f64) -> (usize, f64) {
        let mut n = 0;
        let mut oldest = f64::INFINITY;
        for c in &self.commands {
            if !c.started && now - c.queued_at > grace {
                n += 1;
                oldest = oldest.min(c.queued_at);
            }
        }
        (n, oldest)
    }

    /// The recent command lines, oldest first.
    pub fn command_lines(&mut self) -> Vec<String> {
        let n = self.commands.len();
        self.commands
            .range_mut(n.saturating_sub(OPEN_SHOWN)..)
            .map(|c| c.command_line().to_string())
            .collect()
    }

    /// `(finished, line)`: open commands first (oldest first), then the latest finished.
    pub fn status_lines(&mut self, now: f64, grace: f64) -> Vec<(bool, String)> {
        let open: Vec<usize> = (0..self.commands.len())
            .filter(|&i| !self.commands[i].finished)
            .collect();
        let done: Vec<usize> = (0..self.commands.len())
            .filter(|&i| self.commands[i].finished)
            .collect();
        let mut out = Vec::with_capacity(OPEN_SHOWN + FINISHED_SHOWN + 1);
        let open = if open.len() > OPEN_SHOWN {
            out.push((
                false,
                format!("{} older open commands not listed", open.len() - OPEN_SHOWN),
            ));
            &open[open.len() - OPEN_SHOWN..]
        } else {
            &open[..]
        };
        for &i in open {
            out.push((false, self.commands[i].status_line(now, grace).to_string()));
        }
        for &i in &done[done.len().saturating_sub(FINISHED_SHOWN)..] {
            out.push((true, self.commands[i].status_line(now, grace).to_string()));
        }
        out
    }
}
