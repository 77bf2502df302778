//! Field values: the relaxed object/array literals models write (`{name:'MyApp',n:[1,2]}`)
//! and the canonical compact form the encoder writes.
//!
//! Decoding an "any" field: a leading `{` or `[` starts a literal, a leading `'` or `"` a
//! quoted string; otherwise the field is plain text, which reads as `null` (also when empty),
//! `true`, `false` or a number when it is exactly that word and used no escape, and as text
//! otherwise (`success`, `1.2.3`, `v2`).

use serde_json::{Map, Number, Value};

use super::cursor::{Cursor, Mode};
use super::escape::{classify, parse_quoted, push_quoted, push_text, scan_text, Bare};
use super::{ProtocolError, MAX_DEPTH, MAX_LINE_BYTES};

/// Reads one "any" field at the cursor (leading spaces skipped; trailing ones left).
pub(crate) fn parse_any(c: &mut Cursor<'_>) -> Result<Value, ProtocolError> {
    c.skip_ws();
    let start = c.pos;
    match c.peek() {
        Some(b'{' | b'[') => parse_value(c, 0),
        Some(b'"' | b'\'') => parse_quoted(c).map(Value::String),
        _ => {
            let (text, escaped) = scan_text(c)?;
            if escaped {
                return Ok(Value::String(text.into_owned()));
            }
            bare_to_value(c, start, &text)
        }
    }
}

fn bare_to_value(c: &Cursor<'_>, start: usize, word: &str) -> Result<Value, ProtocolError> {
    Ok(match classify(word) {
        Bare::Null => Value::Null,
        Bare::Bool(b) => Value::Bool(b),
        Bare::Number(n) => Value::Number(n),
        Bare::Text => Value::String(word.to_string()),
        Bare::Overflow => {
            return Err(c.err(
                start,
                "an integer within 64 bits (-2**63 .. 2**64-1) or a finite float",
                format!("number `{word}` is too large"),
            ))
        }
    })
}

/// True for bytes that end a bare word inside a literal.
fn ends_word(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t'
            | b'\n'
            | b'\r'
            | b','
            | b':'
            | b'{'
            | b'}'
            | b'['
            | b']'
            | b'"'
            | b'\''
            | b'|'
            | b'\\'
    )
}

fn bare_word<'a>(c: &mut Cursor<'a>) -> Result<&'a str, ProtocolError> {
    let start = c.pos;
    while c.peek().is_some_and(|b| !ends_word(b)) {
        c.pos += 1;
    }
    c.slice(start, c.pos)
}

/// One value inside a literal. `depth` is the number of enclosing `{`/`[`.
fn parse_value(c: &mut Cursor<'_>, depth: usize) -> Result<Value, ProtocolError> {
    c.skip_ws();
    let start = c.pos;
    match c.peek() {
        Some(b'{') => parse_object(c, depth + 1),
        Some(b'[') => parse_array(c, depth + 1),
        Some(b'"' | b'\'') => parse_quoted(c).map(Value::String),
        _ => {
            let word = bare_word(c)?;
            if word.is_empty() {
                return Err(c.err(
                    start,
                    "a value",
                    format!("found {} where a value belongs", c.found()),
                ));
            }
            bare_to_value(c, start, word)
        }
    }
}

fn check_depth(c: &Cursor<'_>, depth: usize) -> Result<(), ProtocolError> {
    if depth > MAX_DEPTH {
        return Err(c.err(
            c.pos,
            format!("at most {MAX_DEPTH} levels of nesting"),
            "literal is nested too deeply",
        ));
    }
    Ok(())
}

fn parse_object(c: &mut Cursor<'_>, depth: usize) -> Result<Value, ProtocolError> {
    check_depth(c, depth)?;
    c.pos += 1; // `{`
    let mut map = Map::new();
    loop {
        c.skip_ws();
        let key_at = c.pos;
        let key = match c.peek() {
            Some(b'}') => {
                c.pos += 1;
                return Ok(Value::Object(map));
            }
            Some(b'"' | b'\'') => parse_quoted(c)?,
            _ => bare_word(c)?.to_string(),
        };
        if key.is_empty() && c.pos == key_at {
            return Err(c.err(
                c.pos,
                "a key or `}`",
                format!("found {} in an object", c.found()),
            ));
        }
        c.skip_ws();
        if c.peek() != Some(b':') {
            return Err(c.err(c.pos, "`:` after the key", format!("found {}", c.found())));
        }
        c.pos += 1;
        let v = parse_value(c, depth)?;
        map.insert(key, v);
        c.skip_ws();
        match c.peek() {
            Some(b',') => c.pos += 1,
            Some(b'}') => {
                c.pos += 1;
                return Ok(Value::Object(map));
            }
            _ => {
                return Err(c.err(
                    c.pos,
                    "`,` or `}`",
                    format!("found {} in an object", c.found()),
                ))
            }
        }
    }
}

fn parse_array(c: &mut Cursor<'_>, depth: usize) -> Result<Value, ProtocolError> {
    check_depth(c, depth)?;
    c.pos += 1; // `[`
    let mut items = Vec::new();
    loop {
        c.skip_ws();
        if c.peek() == Some(b']') {
            c.pos += 1;
            return Ok(Value::Array(items));
        }
        items.push(parse_value(c, depth)?);
        c.skip_ws();
        match c.peek() {
            Some(b',') => c.pos += 1,
            Some(b']') => {
                c.pos += 1;
                return Ok(Value::Array(items));
            }
            _ => {
                return Err(c.err(
                    c.pos,
                    "`,` or `]`",
                    format!("found {} in an array", c.found()),
                ))
            }
        }
    }
}

/// Writes a number in the shortest form that reads back to the same value (`-0.0` is
/// written `0.0`, so equal values always encode alike).
pub(crate) fn push_number(out: &mut String, n: &Number) {
    if n.as_f64() == Some(0.0) && n.is_f64() {
        out.push_str("0.0");
    } else {
        out.push_str(&n.to_string());
    }
}

/// Writes an `f64` field (confidence, progress, complexity score).
pub(crate) fn push_f64(out: &mut String, x: f64) {
    match Number::from_f64(x) {
        Some(n) => push_number(out, &n),
        None => out.push_str("null"),
    }
}

/// True for keys written without quotes.
fn bare_key_ok(k: &str) -> bool {
    !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Writes a value inside a literal: strings always quoted.
fn push_inner(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => push_number(out, n),
        Value::String(s) => push_quoted(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_inner(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if bare_key_ok(k) {
                    out.push_str(k);
                } else {
                    push_quoted(out, k);
                }
                out.push(':');
                push_inner(out, item);
            }
            out.push('}');
        }
    }
}

/// Writes a value as a whole "any" field: text stays plain (escaped) unless it would read as
/// something else (empty, `null`, `true`, `false`, a number), in which case it is quoted.
pub(crate) fn push_any(out: &mut String, v: &Value) {
    match v {
        Value::String(s) if !matches!(classify(s), Bare::Text) => push_quoted(out, s),
        Value::String(s) => push_text(out, s, true),
        other => push_inner(out, other),
    }
}

/// Decodes one field value on its own, as it would read in an "any" field (`params`,
/// `value`, `result`, `next_steps`): `{a:1}`, `[1,'x']`, `'quoted'`, `42`, `plain text`.
pub fn decode_value(text: &str) -> Result<Value, ProtocolError> {
    if text.len() > MAX_LINE_BYTES {
        return Err(ProtocolError::new(
            MAX_LINE_BYTES,
            format!("at most {MAX_LINE_BYTES} bytes"),
            "value is too long",
        ));
    }
    let mut c = Cursor::new(text, 0, text.len(), Mode::Line);
    let v = parse_any(&mut c)?;
    c.skip_ws();
    if c.peek().is_some() {
        return Err(c.err(
            c.pos,
            "end of the value",
            format!("found {} after the value", c.found()),
        ));
    }
    Ok(v)
}

/// Encodes a value in the canonical form of an "any" field; [`decode_value`] reads it back
/// to an equal value.
pub fn encode_value(v: &Value) -> String {
    let mut out = String::new();
    push_any(&mut out, v);
    out
}
