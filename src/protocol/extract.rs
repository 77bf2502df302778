//! Finding coded lines inside a model's free-text reply.
//!
//! A command is recognised in three places (rules in `docs/protocol.md`):
//! - bracketed anywhere in a line: `[tc:…]`, or with a label `[Generating: tc:…]`;
//! - alone on its line (after optional `- `/`* ` bullet, optionally in single backticks);
//! - inside a fenced ``` block, one per line (the own-line rule, applied inside the fence).
//!
//! A candidate is a known prefix + `:` followed on the same line by at least as many `|` as
//! the kind has separators (and, for the bracketed form, a `]`). Candidates that parse become
//! messages; candidates that do not are reported in [`Extraction::errors`] (never raised) and
//! are removed from the text like good ones, since they were meant for the machine. Anything
//! else, such as prose mentioning "tc:" mid-sentence, is left alone.

use std::ops::Range;

use super::codes::recovery_hint;
use super::cursor::{Cursor, Mode};
use super::kinds::{lookup, KindSpec};
use super::messages::{ErrorEvent, Message};
use super::parse::{decode, parse_message};
use super::{Direction, ProtocolError, MAX_LINE_BYTES};

/// One command (or event) found in a reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    /// What it says.
    pub message: Message,
    /// Byte range in the input that was removed for it (brackets and label included).
    pub span: Range<usize>,
    /// 1-based line number.
    pub line: usize,
}

/// A candidate that looked like a command but did not parse.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractError {
    /// What is wrong; `position` is a byte offset into [`ExtractError::source`].
    pub error: ProtocolError,
    /// The command text as written, from its prefix on (without brackets or label).
    pub source: String,
    /// Byte range in the input that was removed for it.
    pub span: Range<usize>,
    /// 1-based line number.
    pub line: usize,
}

impl ExtractError {
    /// The `er:` event a frontend can send back: code `E_PARSE`.
    pub fn to_event(&self) -> ErrorEvent {
        ErrorEvent {
            code: "E_PARSE".to_string(),
            message: format!(
                "line {}: {} (position {}, expected {})",
                self.line, self.error.message, self.error.position, self.error.expected
            ),
            recovery: recovery_hint("E_PARSE").unwrap_or_default().to_string(),
        }
    }
}

/// What [`extract`] found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Extraction {
    /// Messages in the order they appear.
    pub messages: Vec<Extracted>,
    /// The reply without them, whitespace tidied where something was removed.
    pub text: String,
    /// Candidates that did not parse, in order.
    pub errors: Vec<ExtractError>,
}

/// `prefix:` at `i` if it is a known prefix in `direction`; returns the row and where the
/// prefix starts.
fn prefix_at(b: &[u8], i: usize, direction: Direction) -> Option<&'static KindSpec> {
    let mut j = i;
    while j < b.len() && j - i < 8 && b[j].is_ascii_lowercase() {
        j += 1;
    }
    if j == i || b.get(j) != Some(&b':') {
        return None;
    }
    lookup(direction, &b[i..j])
}

/// Number of `|` that are not escaped (`\|`); a backslash escapes the byte after it.
fn count_pipes(b: &[u8]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'|' => n += 1,
            _ => {}
        }
        i += 1;
    }
    n
}

/// What happened to one line.
enum LineState {
    Keep,
    Removed,
    Changed(String),
}

/// After `[` at `open`: the start of the command (after an optional `Label:` and spaces).
fn bracket_command_start(
    b: &[u8],
    open: usize,
    direction: Direction,
) -> Option<(usize, &'static KindSpec)> {
    let mut i = open + 1;
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    if let Some(spec) = prefix_at(b, i, direction) {
        return Some((i, spec));
    }
    let label = i;
    while i < b.len()
        && i - label < 40
        && (b[i].is_ascii_alphanumeric() || matches!(b[i], b' ' | b'_' | b'-'))
    {
        i += 1;
    }
    if i == label || b.get(i) != Some(&b':') {
        return None;
    }
    i += 1;
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    prefix_at(b, i, direction).map(|spec| (i, spec))
}

/// The `]` matching the `[` at `open` (escape-aware, quote-unaware), or the last `]`.
fn matching_close(b: &[u8], open: usize, last_close: usize) -> usize {
    let mut depth = 0usize;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'[' => depth += 1,
            b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
        i += 1;
    }
    last_close
}

/// Joins what is left of a line after removing `spans`, tidying spaces at each cut.
fn cut(line: &str, spans: &[Range<usize>]) -> String {
    let mut out = String::with_capacity(line.len());
    let mut at = 0;
    for s in spans {
        out.push_str(line.get(at..s.start).unwrap_or(""));
        at = s.end;
        let rest = line.get(at..).unwrap_or("");
        let out_open = out.is_empty() || out.ends_with([' ', '\t']);
        if rest.trim().is_empty() {
            let keep = out.trim_end().len();
            out.truncate(keep);
        } else if out_open && rest.starts_with([' ', '\t']) {
            at = line.len() - rest.trim_start_matches([' ', '\t']).len();
        } else if out_open && rest.starts_with(['.', ',', ';', ':', '!', '?', ')']) {
            let keep = out.trim_end().len();
            out.truncate(keep);
        }
    }
    out.push_str(line.get(at..).unwrap_or(""));
    let keep = out.trim_end().len();
    out.truncate(keep);
    out
}

/// Own-line candidate: the line's text without bullet and backticks. The end is not trimmed
/// here (a final `\ ` is an escaped space); the decoder skips trailing blanks itself.
fn own_line(content: &str) -> &str {
    const WS: [char; 2] = [' ', '\t'];
    let mut t = content.trim_start_matches(WS);
    for bullet in ["- ", "* "] {
        if let Some(r) = t.strip_prefix(bullet) {
            t = r.trim_start_matches(WS);
            break;
        }
    }
    let e = t.trim_end_matches(WS);
    if e.len() >= 2 && e.starts_with('`') && e.ends_with('`') && !e.starts_with("``") {
        return e.get(1..e.len() - 1).unwrap_or(e);
    }
    t
}

/// Finds every coded line of `direction` in `text`. See the module docs for the rules.
pub fn extract(text: &str, direction: Direction) -> Extraction {
    let mut result = Extraction::default();
    let mut states: Vec<LineState> = Vec::new();
    let mut fences: Vec<(usize, Option<usize>)> = Vec::new();
    let mut in_fence = false;
    let mut line_start = 0;
    for (li, raw) in text.split('\n').enumerate() {
        let ls = line_start;
        line_start += raw.len() + 1;
        let content = raw.strip_suffix('\r').unwrap_or(raw);
        if content.trim_start().starts_with("```") {
            if in_fence {
                if let Some(f) = fences.last_mut() {
                    f.1 = Some(li);
                }
            } else {
                fences.push((li, None));
            }
            in_fence = !in_fence;
            states.push(LineState::Keep);
            continue;
        }
        // Own line.
        let cand = own_line(content);
        let cb = cand.as_bytes();
        if let Some(spec) = prefix_at(cb, 0, direction) {
            if count_pipes(cb) + 1 >= spec.fields.len() {
                let span = ls..ls + content.len();
                match decode(cand, direction) {
                    Ok(message) => result.messages.push(Extracted {
                        message,
                        span,
                        line: li + 1,
                    }),
                    Err(error) => result.errors.push(ExtractError {
                        error,
                        source: cand.to_string(),
                        span,
                        line: li + 1,
                    }),
                }
                states.push(LineState::Removed);
                continue;
            }
        }
        // Bracketed, anywhere in the line.
        let spans = scan_brackets(text, ls, content, li + 1, direction, &mut result);
        if spans.is_empty() {
            states.push(LineState::Keep);
            continue;
        }
        let mut s = cut(content, &spans);
        if s.trim().is_empty() {
            states.push(LineState::Removed);
        } else {
            if raw.ends_with('\r') {
                s.push('\r');
            }
            states.push(LineState::Changed(s));
        }
    }
    if result.messages.is_empty() && result.errors.is_empty() {
        result.text = text.to_string();
        return result;
    }
    drop_emptied_fences(text, &mut states, &fences);
    result.text = assemble(text, &states);
    result
}

/// Scans one line for bracketed candidates; returns the spans (line-relative) to remove.
fn scan_brackets(
    text: &str,
    ls: usize,
    content: &str,
    line_no: usize,
    direction: Direction,
    result: &mut Extraction,
) -> Vec<Range<usize>> {
    let b = content.as_bytes();
    let mut spans = Vec::new();
    let Some(last_close) = content.rfind(']') else {
        return spans;
    };
    let total_pipes = count_pipes(b);
    let mut pipes_before = 0usize;
    let mut counted_to = 0usize;
    let mut i = 0;
    while let Some(rel) = content.get(i..).and_then(|r| r.find('[')) {
        let open = i + rel;
        i = open + 1;
        let Some((start, spec)) = bracket_command_start(b, open, direction) else {
            continue;
        };
        if start >= last_close {
            break;
        }
        pipes_before += count_pipes(b.get(counted_to..start).unwrap_or(&[]));
        counted_to = start;
        if total_pipes.saturating_sub(pipes_before) + 1 < spec.fields.len() {
            continue;
        }
        let end = (start + MAX_LINE_BYTES).min(content.len());
        let mut c = Cursor::new(text, ls + start, ls + end, Mode::Bracket);
        let parsed = parse_message(&mut c, direction).and_then(|m| {
            c.skip_ws();
            if c.peek() == Some(b']') {
                Ok(m)
            } else {
                Err(c.err(
                    c.pos,
                    "`]` closing the command",
                    format!("found {}", c.found()),
                ))
            }
        });
        let (span_end, outcome) = match parsed {
            Ok(m) => (c.pos + 1 - ls, Ok(m)),
            Err(e) => (matching_close(b, open, last_close) + 1, Err(e)),
        };
        let span = open..span_end.max(start);
        match outcome {
            Ok(message) => result.messages.push(Extracted {
                message,
                span: ls + span.start..ls + span.end,
                line: line_no,
            }),
            Err(error) => result.errors.push(ExtractError {
                error,
                source: content
                    .get(start..span.end.saturating_sub(1).max(start))
                    .unwrap_or("")
                    .to_string(),
                span: ls + span.start..ls + span.end,
                line: line_no,
            }),
        }
        i = span.end;
        spans.push(span);
    }
    spans
}

/// Removes a fence whose every line was extracted or blank.
fn drop_emptied_fences(text: &str, states: &mut [LineState], fences: &[(usize, Option<usize>)]) {
    let lines: Vec<&str> = text.split('\n').collect();
    for &(open, close) in fences {
        let Some(close) = close else { continue };
        let inner = open + 1..close;
        let mut removed_any = false;
        let all_gone = inner.clone().all(|i| match states.get(i) {
            Some(LineState::Removed) => {
                removed_any = true;
                true
            }
            Some(LineState::Keep) => lines.get(i).is_some_and(|l| l.trim().is_empty()),
            _ => false,
        });
        if all_gone && removed_any {
            for i in open..=close {
                if let Some(s) = states.get_mut(i) {
                    *s = LineState::Removed;
                }
            }
        }
    }
}

/// Puts the kept lines back together without doubled blank lines at the cuts.
fn assemble(text: &str, states: &[LineState]) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut gap = false;
    let mut last_blank = true;
    for (raw, state) in text.split('\n').zip(states) {
        let line: &str = match state {
            LineState::Removed => {
                gap = true;
                continue;
            }
            LineState::Keep => raw,
            LineState::Changed(s) => s,
        };
        let blank = line.trim().is_empty();
        if blank && gap && last_blank {
            continue;
        }
        out.push(line);
        last_blank = blank;
        gap = false;
    }
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    let mut s = out.join("\n");
    if text.ends_with('\n') && !s.is_empty() {
        s.push('\n');
    }
    s
}
