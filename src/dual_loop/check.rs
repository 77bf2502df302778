//! The checks a frontend model's reply must pass before anything in it may execute: the
//! coded commands are extracted, and a malformed command (also a bracketed one with missing
//! fields), more than `max_commands`, an unregistered kind or a command over
//! `max_command_bytes` each yield an `er` event; any event means nothing executes.
//! (The JSON handoffs of a reply are read on the Python side, before this.)

use std::sync::LazyLock;

use regex::Regex;

use crate::protocol::{extract, recovery_hint, Command, Direction, ErrorEvent, Message};

/// `[label: tc:...` without enough fields to be a candidate: still an attempt at a command.
static HALF_COMMAND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\[(?:[A-Za-z0-9 _\-]{1,40}:[ \t]*)?(tc|ts|wf|cl|ms):[^\]\n]*\]?")
        .expect("a valid pattern")
});

/// What a reply holds once checked.
#[derive(Debug, Default)]
pub struct Checked {
    /// The text for the user: the reply without its coded commands, trimmed.
    pub text: String,
    /// The commands, in order.
    pub commands: Vec<Command>,
    /// Why it must not execute (empty: it may).
    pub errors: Vec<ErrorEvent>,
}

fn err(code: &str, message: String, recovery: String) -> ErrorEvent {
    ErrorEvent {
        code: code.into(),
        message,
        recovery,
    }
}

fn head(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Checks `text` (a reply without its handoffs). `kinds`: the registered command kinds,
/// sorted (the allow-list).
pub fn check(text: &str, kinds: &[&str], max_commands: usize, max_command_bytes: usize) -> Checked {
    let ex = extract(text, Direction::Command);
    let mut errors: Vec<ErrorEvent> = ex.errors.iter().map(|e| e.to_event()).collect();
    if ex.text.contains('[') {
        for m in HALF_COMMAND.captures_iter(&ex.text) {
            let (whole, kind) = (&m[0], &m[1]);
            errors.push(err(
                "E_PARSE",
                format!(
                    "{kind} command with missing fields: {}",
                    head(whole.trim_matches(|c| c == '[' || c == ']'), 80)
                ),
                recovery_hint("E_PARSE").unwrap_or_default().into(),
            ));
        }
    }
    let commands: Vec<Command> = ex
        .messages
        .into_iter()
        .filter_map(|m| match m.message {
            Message::Command(c) => Some(c),
            Message::Event(_) => None,
        })
        .collect();
    if commands.len() > max_commands {
        errors.push(err(
            "E_INVALID",
            format!(
                "{} commands in one reply, over the limit of {max_commands}",
                commands.len()
            ),
            "send fewer commands per reply".into(),
        ));
    }
    for c in &commands {
        let kind = c.spec().prefix;
        let line = c.encode();
        if !kinds.contains(&kind) {
            let listed = if kinds.is_empty() {
                "none registered".to_string()
            } else {
                kinds.join(", ")
            };
            errors.push(err(
                "E_UNKNOWN_COMMAND",
                format!(
                    "command kind '{kind}' is not registered with this loop: {}",
                    head(&line, 120)
                ),
                format!("use one of: {listed}"),
            ));
        } else if line.len() > max_command_bytes {
            errors.push(err(
                "E_INVALID",
                format!("{kind} command over {max_command_bytes} bytes"),
                "send a shorter command; put long content in the backend's context".into(),
            ));
        }
    }
    Checked {
        text: ex.text.trim().to_string(),
        commands,
        errors,
    }
}
