//! YAML in and out, safely: a loader over the parser's event stream that builds a JSON value
//! under hard limits (nesting depth, nodes including what aliases expand to, one document,
//! unique string keys), so an alias bomb or a deep nest fails fast with a clear error; and an
//! emitter that writes a JSON value as block-style YAML that the loader reads back unchanged.

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use serde_json::{Map, Number, Value};

use crate::error::{Error, Result};

/// How far the loader goes before it refuses a document.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest nesting of mappings and sequences.
    pub max_depth: usize,
    /// Most nodes, counting every node an alias repeats.
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 64,
            max_nodes: 200_000,
        }
    }
}

pub(super) fn bad(span: &Span, what: impl std::fmt::Display) -> Error {
    Error::validation(format!(
        "invalid YAML at line {}, column {}: {what}",
        span.start.line(),
        span.start.col() + 1
    ))
}

/// Nodes in a value (what an alias to it adds).
fn size(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(size).sum::<usize>(),
        Value::Object(o) => 1 + o.values().map(size).sum::<usize>(),
        _ => 1,
    }
}

enum Open {
    Seq(Vec<Value>, usize),
    Map(Map<String, Value>, Option<String>, usize),
}

/// Parses one YAML document (an empty text is null) into a JSON value.
pub fn load(text: &str, limits: Limits) -> Result<Value> {
    let mut anchors: Vec<Option<Value>> = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut nodes = 0usize;
    let mut root: Option<Value> = None;
    let mut docs = 0;
    for item in Parser::new_from_str(text) {
        let (ev, span) = item.map_err(|e| {
            Error::validation(format!(
                "invalid YAML at line {}, column {}: {}",
                e.marker().line(),
                e.marker().col() + 1,
                e.info()
            ))
        })?;
        let done: Option<(Value, usize)> = match ev {
            Event::StreamStart | Event::StreamEnd | Event::Nothing | Event::DocumentEnd => None,
            Event::DocumentStart(_) => {
                docs += 1;
                if docs > 1 {
                    return Err(bad(&span, "more than one document in the file"));
                }
                None
            }
            Event::Alias(id) => {
                let v = anchors
                    .get(id)
                    .cloned()
                    .flatten()
                    .ok_or_else(|| bad(&span, "alias to an anchor that is not complete"))?;
                nodes += size(&v);
                Some((v, 0))
            }
            Event::Scalar(text, style, anchor, tag) => {
                nodes += 1;
                Some((scalar(&text, style, tag.as_deref(), &span)?, anchor))
            }
            Event::SequenceStart(anchor, tag) => {
                check_tag(tag.as_deref(), "seq", &span)?;
                stack.push(Open::Seq(Vec::new(), anchor));
                nodes += 1;
                None
            }
            Event::MappingStart(anchor, tag) => {
                check_tag(tag.as_deref(), "map", &span)?;
                stack.push(Open::Map(Map::new(), None, anchor));
                nodes += 1;
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Open::Seq(v, a)) => Some((Value::Array(v), a)),
                Some(Open::Map(m, _, a)) => Some((Value::Object(m), a)),
                None => return Err(bad(&span, "unbalanced collection")),
            },
        };
        if nodes > limits.max_nodes {
            return Err(bad(
                &span,
                format!(
                    "more than {} nodes (aliases count what they repeat): refusing a \
                     possible alias bomb",
                    limits.max_nodes
                ),
            ));
        }
        if stack.len() > limits.max_depth {
            return Err(bad(
                &span,
                format!("nested deeper than {} levels", limits.max_depth),
            ));
        }
        let Some((v, anchor)) = done else { continue };
        if anchor > 0 {
            if anchors.len() <= anchor {
                anchors.resize(anchor + 1, None);
            }
            anchors[anchor] = Some(v.clone());
        }
        match stack.last_mut() {
            None => root = Some(v),
            Some(Open::Seq(items, _)) => items.push(v),
            Some(Open::Map(m, key, _)) => match key.take() {
                None => *key = Some(map_key(v, &span)?),
                Some(k) => {
                    if m.contains_key(&k) {
                        return Err(bad(&span, format!("duplicate key {k:?}")));
                    }
                    m.insert(k, v);
                }
            },
        }
    }
    Ok(root.unwrap_or(Value::Null))
}

pub(super) fn check_tag(tag: Option<&Tag>, want: &str, span: &Span) -> Result<()> {
    match tag {
        None => Ok(()),
        Some(t) if t.handle == "tag:yaml.org,2002:" && t.suffix == want => Ok(()),
        Some(t) if t.handle == "!!" && t.suffix == want => Ok(()),
        Some(t) => Err(bad(
            span,
            format!("tag {}{} is not supported", t.handle, t.suffix),
        )),
    }
}

pub(super) fn map_key(v: Value, span: &Span) -> Result<String> {
    match v {
        Value::String(s) => Ok(s),
        Value::Null => Ok("null".into()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(bad(span, "a mapping or sequence as a key is not supported")),
    }
}

/// A scalar resolved by the YAML 1.2 core schema (plain scalars) or its explicit tag.
pub(super) fn scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    span: &Span,
) -> Result<Value> {
    if let Some(t) = tag {
        let core = t.handle == "!!" || t.handle == "tag:yaml.org,2002:";
        return match (core, t.suffix.as_str()) {
            (true, "str") => Ok(Value::String(text.to_string())),
            (true, "null") => Ok(Value::Null),
            (true, "int") | (true, "float") if long_int(text) => Err(out_of_range(span, text)),
            (true, "bool") | (true, "int") | (true, "float") => match plain(text) {
                Some(v) if kind_of(&v) == t.suffix => Ok(v),
                Some(Value::Number(n)) if t.suffix == "float" => Ok(Value::Number(n)),
                _ => Err(bad(span, format!("{text:?} is not a valid !!{}", t.suffix))),
            },
            _ => Err(bad(
                span,
                format!("tag {}{} is not supported", t.handle, t.suffix),
            )),
        };
    }
    if style != ScalarStyle::Plain {
        return Ok(Value::String(text.to_string()));
    }
    if long_int(text) {
        return Err(out_of_range(span, text));
    }
    match plain(text) {
        Some(Value::Number(n)) if n.as_f64().is_some_and(|f| !f.is_finite()) => {
            Err(bad(span, "infinite numbers have no JSON form"))
        }
        Some(v) => Ok(v),
        None if is_nan(text) => Err(bad(span, ".nan has no JSON form")),
        None if is_inf(text) => Err(bad(span, ".inf has no JSON form")),
        None => Ok(Value::String(text.to_string())),
    }
}

fn out_of_range(span: &Span, text: &str) -> Error {
    let shown: String = text.chars().take(24).collect();
    let more = if shown.len() < text.len() { "..." } else { "" };
    bad(
        span,
        format!(
            "the integer {shown}{more} is outside the 64-bit range (-2**63 .. 2**64-1); quote \
             it to keep it as a string"
        ),
    )
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        _ => "",
    }
}

pub(super) fn is_nan(t: &str) -> bool {
    matches!(t, ".nan" | ".NaN" | ".NAN")
}

pub(super) fn is_inf(t: &str) -> bool {
    let t = t.strip_prefix(['-', '+']).unwrap_or(t);
    matches!(t, ".inf" | ".Inf" | ".INF")
}

/// True for an integer of the core schema (decimal, `0x` hex, `0o` octal) that fits neither
/// i64 nor u64: refused, as everywhere (docs/errors.md), rather than read as a float.
pub(super) fn long_int(t: &str) -> bool {
    let rest = t.strip_prefix(['-', '+']).unwrap_or(t);
    let all = |s: &str, ok: fn(&u8) -> bool| !s.is_empty() && s.as_bytes().iter().all(ok);
    let integer = all(rest, u8::is_ascii_digit)
        || (rest.len() == t.len()
            && (t
                .strip_prefix("0x")
                .is_some_and(|h| all(h, u8::is_ascii_hexdigit))
                || t.strip_prefix("0o")
                    .is_some_and(|o| all(o, |c| (b'0'..=b'7').contains(c)))));
    integer && plain(t).is_none()
}

/// The core-schema reading of a plain scalar; None for a string.
pub(super) fn plain(t: &str) -> Option<Value> {
    match t {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        _ => {}
    }
    let b = t.as_bytes();
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    let (sign, rest) = match b[0] {
        b'-' | b'+' => (&t[..1], &t[1..]),
        _ => ("", t),
    };
    // integers outside the 64-bit range are refused by `scalar` (see `long_int`), never read
    // as a float or a string
    if digits(rest.as_bytes()) {
        let t = format!("{sign}{rest}");
        return t
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| t.parse::<u64>().map(Value::from))
            .ok();
    }
    if sign.is_empty() {
        if let Some(h) = t.strip_prefix("0x") {
            if !h.is_empty() && h.bytes().all(|c| c.is_ascii_hexdigit()) {
                return u64::from_str_radix(h, 16).ok().map(Value::from);
            }
        }
        if let Some(o) = t.strip_prefix("0o") {
            if !o.is_empty() && o.bytes().all(|c| (b'0'..=b'7').contains(&c)) {
                return u64::from_str_radix(o, 8).ok().map(Value::from);
            }
        }
    }
    // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    let r = rest.as_bytes();
    let mut i = 0;
    let int_len = r.iter().take_while(|c| c.is_ascii_digit()).count();
    i += int_len;
    let mut frac_len = 0;
    if r.get(i) == Some(&b'.') {
        i += 1;
        frac_len = r[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += frac_len;
    }
    if int_len == 0 && frac_len == 0 {
        return None;
    }
    if matches!(r.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(r.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let e = r[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if e == 0 {
            return None;
        }
        i += e;
    }
    if i != r.len() {
        return None;
    }
    t.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map(Value::Number)
}

/// Writes `v` as block-style YAML (a trailing newline included).
pub fn dump(v: &Value) -> String {
    dump_at(v, 0, 2)
}

/// Like [`dump`], with every line indented by `ind` spaces and nested mappings indented
/// `step` more than their parent (the in-place editor matches a file's own indentation).
pub(crate) fn dump_at(v: &Value, ind: usize, step: usize) -> String {
    let mut out = String::new();
    match v {
        Value::Object(m) if !m.is_empty() => mapping(&mut out, m, ind, step),
        Value::Array(a) if !a.is_empty() => sequence(&mut out, a, ind, step),
        _ => {
            pad(&mut out, ind);
            out.push_str(&inline(v));
            out.push('\n');
        }
    }
    out
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn mapping(out: &mut String, m: &Map<String, Value>, ind: usize, step: usize) {
    for (k, v) in m {
        pad(out, ind);
        out.push_str(&string(k));
        out.push(':');
        child(out, v, ind, step);
    }
}

fn sequence(out: &mut String, a: &[Value], ind: usize, step: usize) {
    for v in a {
        pad(out, ind);
        out.push('-');
        match v {
            Value::Object(m) if !m.is_empty() => {
                // `- key: value` with the rest of the mapping under the first key
                let mut sub = String::new();
                mapping(&mut sub, m, ind + 2, step);
                out.push(' ');
                out.push_str(&sub[ind + 2..]);
            }
            _ => child(out, v, ind, step),
        }
    }
}

fn child(out: &mut String, v: &Value, ind: usize, step: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            mapping(out, m, ind + step, step);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            sequence(out, a, ind + step, step);
        }
        _ => {
            out.push(' ');
            out.push_str(&inline(v));
            out.push('\n');
        }
    }
}

/// A scalar (or an empty collection) as one line of YAML that reads back as `v`.
pub(crate) fn inline(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// A string as a plain scalar when that reads back as the same string, else double-quoted.
pub(crate) fn string(s: &str) -> String {
    let plain_ok = !s.is_empty()
        && plain(s).is_none()
        && !is_nan(s)
        && !is_inf(s)
        && !s.starts_with(|c: char| c.is_whitespace() || "-?:,[]{}#&*!|>'\"%@`".contains(c))
        && !s.ends_with(char::is_whitespace)
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.ends_with(':')
        && !matches!(s, "---" | "...")
        && s.chars().all(|c| {
            !c.is_control()
                && c != '\u{feff}'
                && c != '\u{85}'
                && c != '\u{2028}'
                && c != '\u{2029}'
        });
    if plain_ok {
        return s.to_string();
    }
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\t' => q.push_str("\\t"),
            '\r' => q.push_str("\\r"),
            c if c.is_control() || matches!(c, '\u{feff}' | '\u{85}' | '\u{2028}' | '\u{2029}') => {
                q.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => q.push(c),
        }
    }
    q.push('"');
    q
}
