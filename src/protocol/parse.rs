//! Decoding one line: prefix, then the fields the table lists, each read by its type.

use super::cursor::{Cursor, Mode};
use super::escape::scan_text;
use super::kinds::{lookup, prefixes, Field, FieldSpec, FieldType, KindSpec};
use super::messages::{Command, Event, Message};
use super::value::parse_any;
use super::{Direction, ProtocolError, MAX_LINE_BYTES};

/// Longest prefix looked at before giving up on finding `:`.
const MAX_PREFIX: usize = 8;

/// Reads `prefix:` at the cursor and returns its row.
fn parse_prefix(
    c: &mut Cursor<'_>,
    direction: Direction,
) -> Result<&'static KindSpec, ProtocolError> {
    let start = c.pos;
    while c.peek().is_some_and(|b| b.is_ascii_alphabetic()) && c.pos - start < MAX_PREFIX {
        c.pos += 1;
    }
    let prefix = c.slice(start, c.pos)?;
    if prefix.is_empty() || c.peek() != Some(b':') {
        return Err(c.err(
            c.pos,
            format!("a prefix and `:` (one of {})", prefixes(direction)),
            format!(
                "found {} where a {} prefix belongs",
                c.found(),
                direction.as_str()
            ),
        ));
    }
    if let Some(spec) = lookup(direction, prefix.as_bytes()) {
        c.pos += 1;
        return Ok(spec);
    }
    let other = match direction {
        Direction::Command => Direction::Event,
        Direction::Event => Direction::Command,
    };
    let hint = match lookup(other, prefix.as_bytes()) {
        Some(_) => format!(" (`{prefix}` is an {} prefix)", other.as_str())
            .replace("an command", "a command"),
        None => String::new(),
    };
    Err(c.err(
        start,
        format!("one of {}", prefixes(direction)),
        format!("unknown {} prefix `{prefix}`{hint}", direction.as_str()),
    ))
}

/// Reads one field by its type.
fn parse_field(c: &mut Cursor<'_>, fs: &FieldSpec) -> Result<Field, ProtocolError> {
    c.skip_ws();
    let start = c.pos;
    let field = match fs.ty {
        FieldType::Text { .. } => Field::Text(scan_text(c)?.0.into_owned()),
        ty => {
            let v = parse_any(c)?;
            ty.coerce(fs.name, v)
                .map_err(|(exp, msg)| c.err(start, exp, msg))?
        }
    };
    fs.ty
        .check(fs.name, &field.as_ref())
        .map_err(|(exp, msg)| c.err(start, exp, msg))?;
    Ok(field)
}

/// Reads `prefix:fields…` at the cursor, leaving it just after the last field (trailing
/// spaces skipped). The caller checks what ends the line.
pub(crate) fn parse_message(
    c: &mut Cursor<'_>,
    direction: Direction,
) -> Result<Message, ProtocolError> {
    let spec = parse_prefix(c, direction)?;
    let n = spec.fields.len();
    let mut fields = Vec::with_capacity(n);
    for (i, fs) in spec.fields.iter().enumerate() {
        fields.push(parse_field(c, fs)?);
        c.skip_ws();
        let last = i + 1 == n;
        match c.peek() {
            Some(b'|') if !last => c.pos += 1,
            Some(b'|') => {
                return Err(c.err(
                    c.pos,
                    "end of the command",
                    format!(
                        "too many fields: {} takes {n} ({})",
                        spec.prefix,
                        names(spec)
                    ),
                ))
            }
            Some(b'\n' | b'\r') if !last => {
                return Err(c.err(
                    c.pos,
                    "`\\n` instead of a raw line break",
                    "a command is one line; a line break inside a field is written \\n",
                ))
            }
            _ if last && c.at_field_end() => {}
            _ if last => {
                return Err(c.err(
                    c.pos,
                    "end of the command",
                    format!("found {} after the last field `{}`", c.found(), fs.name),
                ))
            }
            _ if c.at_field_end() => {
                return Err(c.err(
                    c.pos,
                    format!("`|` and field `{}`", spec.fields[i + 1].name),
                    format!(
                        "missing field `{}`: {} takes {n} ({})",
                        spec.fields[i + 1].name,
                        spec.prefix,
                        names(spec)
                    ),
                ))
            }
            _ => {
                return Err(c.err(
                    c.pos,
                    format!("`|` after field `{}`", fs.name),
                    format!("found {} after field `{}`", c.found(), fs.name),
                ))
            }
        }
    }
    Message::from_fields(spec.kind, fields).ok_or_else(|| {
        c.err(
            c.pos,
            "fields matching the table",
            "internal: field type mismatch",
        )
    })
}

fn names(spec: &KindSpec) -> String {
    let v: Vec<&str> = spec.fields.iter().map(|f| f.name).collect();
    v.join("|")
}

/// Checks the input size before parsing.
pub(crate) fn check_len(len: usize) -> Result<(), ProtocolError> {
    if len > MAX_LINE_BYTES {
        return Err(ProtocolError::new(
            MAX_LINE_BYTES,
            format!("a line of at most {MAX_LINE_BYTES} bytes"),
            format!("line is {len} bytes long"),
        ));
    }
    Ok(())
}

/// Decodes one line (surrounding whitespace and a final line break are ignored) as a command
/// or an event. Errors carry the byte offset of the problem within `line`.
pub fn decode(line: &str, direction: Direction) -> Result<Message, ProtocolError> {
    check_len(line.len())?;
    let mut c = Cursor::new(line, 0, line.len(), Mode::Line);
    while matches!(c.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        c.pos += 1;
    }
    let msg = parse_message(&mut c, direction)?;
    while matches!(c.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        c.pos += 1;
    }
    if c.peek().is_some() {
        return Err(c.err(
            c.pos,
            "end of the line",
            "one line holds one command; a line break inside a field is written \\n",
        ));
    }
    Ok(msg)
}

/// Decodes a frontend → backend command (`tc ts wf cl ms`).
pub fn decode_command(line: &str) -> Result<Command, ProtocolError> {
    match decode(line, Direction::Command)? {
        Message::Command(c) => Ok(c),
        Message::Event(_) => Err(ProtocolError::new(
            0,
            "a command",
            "internal: decoded an event",
        )),
    }
}

/// Decodes a backend → frontend event (`tr tc su cl er`).
pub fn decode_event(line: &str) -> Result<Event, ProtocolError> {
    match decode(line, Direction::Event)? {
        Message::Event(e) => Ok(e),
        Message::Command(_) => Err(ProtocolError::new(
            0,
            "an event",
            "internal: decoded a command",
        )),
    }
}
