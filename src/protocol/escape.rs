//! The escaping rule for text, shared by plain fields and quoted strings, and the bare-word
//! classification (number / `true` / `false` / `null` / text) shared by decoder and encoder.
//!
//! Escapes (after `\`): `\\ \| \n \r \t \  \[ \] \{ \} \" \' \/ \: \b \f` and `\uXXXX`
//! (UTF-16, surrogate pairs combine). A backslash before anything else stands for itself, so
//! `C:\Users` reads as written; the encoder always writes `\\`, so round trips are exact.

use std::borrow::Cow;

use super::cursor::{Cursor, Mode};
use super::ProtocolError;

/// Reads the escape whose backslash is just before the cursor. `Ok(None)` means "not an
/// escape": the backslash is literal and the cursor has not moved.
pub(crate) fn decode_escape(c: &mut Cursor<'_>) -> Result<Option<char>, ProtocolError> {
    let ch = match c.peek() {
        Some(b'\\') => '\\',
        Some(b'|') => '|',
        Some(b'n') => '\n',
        Some(b'r') => '\r',
        Some(b't') => '\t',
        Some(b' ') => ' ',
        Some(b'[') => '[',
        Some(b']') => ']',
        Some(b'{') => '{',
        Some(b'}') => '}',
        Some(b'"') => '"',
        Some(b'\'') => '\'',
        Some(b'/') => '/',
        Some(b':') => ':',
        Some(b'b') => '\u{8}',
        Some(b'f') => '\u{c}',
        Some(b'u') => return decode_unicode(c),
        _ => return Ok(None),
    };
    c.pos += 1;
    Ok(Some(ch))
}

/// Four hex digits after `u` at the cursor, if present.
fn hex4(c: &Cursor<'_>, at: usize) -> Option<u32> {
    let mut v = 0u32;
    for i in 0..4 {
        let d = (c.peek_at(at + i)? as char).to_digit(16)?;
        v = v * 16 + d;
    }
    Some(v)
}

fn decode_unicode(c: &mut Cursor<'_>) -> Result<Option<char>, ProtocolError> {
    let esc = c.pos.saturating_sub(1);
    let Some(hi) = hex4(c, 1) else {
        return Ok(None);
    };
    if (0xDC00..0xE000).contains(&hi) {
        return Err(c.err(
            esc,
            "a high surrogate before \\uDC00-\\uDFFF",
            "lone low surrogate",
        ));
    }
    if (0xD800..0xDC00).contains(&hi) {
        let lo = if c.peek_at(5) == Some(b'\\') && c.peek_at(6) == Some(b'u') {
            hex4(c, 7)
        } else {
            None
        };
        return match lo {
            Some(lo) if (0xDC00..0xE000).contains(&lo) => {
                let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                c.pos += 11;
                Ok(char::from_u32(cp))
                    .and_then(|o| o.ok_or_else(|| c.err(esc, "a code point", "bad surrogate pair")))
                    .map(Some)
            }
            _ => Err(c.err(
                esc,
                "a \\uDC00-\\uDFFF low surrogate",
                "lone high surrogate",
            )),
        };
    }
    c.pos += 5;
    char::from_u32(hi)
        .map(Some)
        .ok_or_else(|| c.err(esc, "a Unicode scalar value", "invalid \\u escape"))
}

/// Text of one plain field: leading and trailing unescaped spaces/tabs trimmed, escapes
/// decoded. Stops at `|`, a line break, the end, or (bracket mode) an unbalanced `]`.
/// Returns the text and whether any escape was used (an escaped field is always text).
pub(crate) fn scan_text<'a>(c: &mut Cursor<'a>) -> Result<(Cow<'a, str>, bool), ProtocolError> {
    c.skip_ws();
    let start = c.pos;
    let bracket = c.mode == Mode::Bracket;
    let bytes = c.s.as_bytes();
    let mut out: Option<String> = None;
    let mut run = start;
    let mut depth = 0usize;
    while c.pos < c.end {
        match bytes.get(c.pos).copied().unwrap_or(b'\n') {
            b'|' | b'\n' | b'\r' => break,
            b']' if bracket => {
                if depth == 0 {
                    break;
                }
                depth -= 1;
                c.pos += 1;
            }
            b'[' if bracket => {
                depth += 1;
                c.pos += 1;
            }
            b'\\' => {
                let o = out.get_or_insert_with(String::new);
                o.push_str(c.slice(run, c.pos)?);
                c.pos += 1;
                match decode_escape(c)? {
                    Some(ch) => o.push(ch),
                    None => o.push('\\'),
                }
                run = c.pos;
            }
            _ => c.pos += 1,
        }
    }
    let tail = c.slice(run, c.pos)?.trim_end_matches([' ', '\t']);
    Ok(match out {
        None => (Cow::Borrowed(tail), false),
        Some(mut o) => {
            o.push_str(tail);
            (Cow::Owned(o), true)
        }
    })
}

/// How a bare (unquoted, unescaped) word reads.
#[derive(Debug, PartialEq)]
pub(crate) enum Bare {
    /// `null`, or an empty top-level field.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number in JSON syntax.
    Number(serde_json::Number),
    /// Number syntax, but out of range: an integer outside the signed/unsigned 64-bit range
    /// (refused, as everywhere, rather than read as an approximate float) or a float too
    /// large to be finite.
    Overflow,
    /// Anything else: text.
    Text,
}

/// True when `s` is a number in JSON syntax: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
pub(crate) fn is_number_syntax(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if b.first() == Some(&b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let s = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - s
    };
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Classifies a bare word the same way for decoding and encoding.
pub(crate) fn classify(s: &str) -> Bare {
    match s {
        "" | "null" => return Bare::Null,
        "true" => return Bare::Bool(true),
        "false" => return Bare::Bool(false),
        _ => {}
    }
    if !is_number_syntax(s) {
        return Bare::Text;
    }
    let integral = !s.contains(['.', 'e', 'E']);
    if integral {
        if let Ok(u) = s.parse::<u64>() {
            return Bare::Number(u.into());
        }
        if let Ok(i) = s.parse::<i64>() {
            return Bare::Number(i.into());
        }
        return Bare::Overflow;
    }
    match s.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
        Some(n) => Bare::Number(n),
        None => Bare::Overflow,
    }
}

/// True for characters the encoder writes as `\uXXXX`: control characters and the Unicode
/// line/paragraph separators (which some line splitters, Python's `splitlines` among them,
/// treat as line breaks).
fn needs_unicode_escape(ch: char) -> bool {
    ch.is_control() || ch == '\u{2028}' || ch == '\u{2029}'
}

fn push_u_escape(out: &mut String, ch: char) {
    let mut buf = [0u16; 2];
    for unit in ch.encode_utf16(&mut buf) {
        out.push_str(&format!("\\u{unit:04x}"));
    }
}

/// Writes `s` as a plain (unquoted) field. `any_field` marks a field that may also hold a
/// literal: there a leading `{`, `"` or `'` is escaped so the text stays text.
pub(crate) fn push_text(out: &mut String, s: &str, any_field: bool) {
    let b = s.as_bytes();
    let plain = |x: &u8| (0x20..0x7f).contains(x) && !matches!(x, b'\\' | b'|' | b'[' | b']');
    let edges_ok = b.first() != Some(&b' ')
        && b.last() != Some(&b' ')
        && !(any_field && matches!(b.first(), Some(b'{' | b'"' | b'\'')));
    if edges_ok && b.iter().all(plain) {
        out.push_str(s);
        return;
    }
    let last = s.char_indices().next_back().map_or(0, |(i, _)| i);
    for (i, ch) in s.char_indices() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '|' => out.push_str("\\|"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '[' => out.push_str("\\["),
            ']' => out.push_str("\\]"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            '{' | '"' | '\'' if any_field && i == 0 => {
                out.push('\\');
                out.push(ch);
            }
            c if needs_unicode_escape(c) => push_u_escape(out, c),
            c => out.push(c),
        }
    }
}

/// Writes `s` as a single-quoted string (the canonical quoted form).
pub(crate) fn push_quoted(out: &mut String, s: &str) {
    out.push('\'');
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_unicode_escape(c) => push_u_escape(out, c),
            c => out.push(c),
        }
    }
    out.push('\'');
}

/// Reads a quoted string (`'…'` or `"…"`) starting at the cursor's quote.
pub(crate) fn parse_quoted(c: &mut Cursor<'_>) -> Result<String, ProtocolError> {
    let open = c.pos;
    let q = c.peek().unwrap_or(b'\'');
    c.pos += 1;
    let bytes = c.s.as_bytes();
    let mut out = String::new();
    let mut run = c.pos;
    loop {
        match bytes.get(c.pos).copied() {
            Some(b) if c.pos < c.end && b == q => {
                out.push_str(c.slice(run, c.pos)?);
                c.pos += 1;
                return Ok(out);
            }
            Some(b'\\') if c.pos < c.end => {
                out.push_str(c.slice(run, c.pos)?);
                c.pos += 1;
                match decode_escape(c)? {
                    Some(ch) => out.push(ch),
                    None => out.push('\\'),
                }
                run = c.pos;
            }
            Some(b'\n' | b'\r') | None => {
                return Err(c.err(
                    c.pos,
                    format!("closing {}", q as char),
                    format!("string opened at position {} is not closed", open - c.base),
                ))
            }
            Some(_) if c.pos >= c.end => {
                return Err(c.err(
                    c.pos,
                    format!("closing {}", q as char),
                    "string is not closed",
                ))
            }
            Some(_) => c.pos += 1,
        }
    }
}
