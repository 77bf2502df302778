//! The loader of [`super::yaml`] writing JSON text straight from the parser's events, for the
//! paths that only store the value (a file imported by the sync): no `Value` tree is built and
//! serialised afterwards. Same limits, same errors, same output as
//! `load(text, limits)?.to_string()` (a property test holds it to that).

use std::collections::HashSet;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use serde_json::Value;

use super::yaml::{bad, check_tag, is_inf, is_nan, long_int, map_key, plain, scalar, Limits};
use crate::error::Result;

/// A completed anchored node: its JSON text, its size in nodes, and its key form (scalars).
struct Anchor {
    json: String,
    nodes: usize,
    key: Option<String>,
}

/// Keys of one open mapping, to refuse duplicates (a scan while small, a set when large).
#[derive(Default)]
struct Keys {
    few: Vec<String>,
    many: Option<HashSet<String>>,
}

impl Keys {
    /// False when `k` is there already.
    fn insert(&mut self, k: &str) -> bool {
        if let Some(set) = &mut self.many {
            return set.insert(k.to_string());
        }
        if self.few.iter().any(|x| x == k) {
            return false;
        }
        self.few.push(k.to_string());
        if self.few.len() > 16 {
            self.many = Some(self.few.drain(..).collect());
        }
        true
    }
}

enum Kind {
    Seq,
    /// `key_next`: the next node is a key.
    Map {
        keys: Keys,
        key_next: bool,
    },
}

struct Open {
    kind: Kind,
    /// Where its text starts in the output, its anchor, the node count before it.
    start: usize,
    anchor: usize,
    nodes_before: usize,
    first: bool,
}

/// A scalar's JSON form: a string as it is, or a resolved value.
enum Scalar<'a> {
    Str(&'a str),
    Val(Value),
}

fn resolve<'a>(
    text: &'a str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    span: &Span,
) -> Result<Scalar<'a>> {
    if tag.is_none() {
        if style != ScalarStyle::Plain {
            return Ok(Scalar::Str(text));
        }
        if plain(text).is_none() && !is_nan(text) && !is_inf(text) && !long_int(text) {
            return Ok(Scalar::Str(text));
        }
    }
    scalar(text, style, tag, span).map(Scalar::Val)
}

fn put(out: &mut Vec<u8>, s: &Scalar<'_>) -> Result<()> {
    match s {
        Scalar::Str(t) => serde_json::to_writer(&mut *out, t)?,
        Scalar::Val(v) => serde_json::to_writer(&mut *out, v)?,
    }
    Ok(())
}

/// Where the next node goes: true when it is a mapping key. Writes the separator before a
/// value (a comma between items).
fn slot(stack: &mut [Open], out: &mut Vec<u8>) -> bool {
    let Some(top) = stack.last_mut() else {
        return false;
    };
    match &top.kind {
        Kind::Map { key_next: true, .. } => true,
        Kind::Map { .. } => false,
        Kind::Seq => {
            if !top.first {
                out.push(b',');
            }
            top.first = false;
            false
        }
    }
}

/// A value is complete: the mapping above (if any) expects a key again.
fn value_done(stack: &mut [Open]) {
    if let Some(Open {
        kind: Kind::Map { key_next, .. },
        ..
    }) = stack.last_mut()
    {
        *key_next = true;
    }
}

fn key(stack: &mut [Open], out: &mut Vec<u8>, k: &str, span: &Span) -> Result<()> {
    let Some(top) = stack.last_mut() else {
        return Ok(());
    };
    if let Kind::Map { keys, key_next } = &mut top.kind {
        if !keys.insert(k) {
            return Err(bad(span, format!("duplicate key {k:?}")));
        }
        *key_next = false;
        if !top.first {
            out.push(b',');
        }
        top.first = false;
        serde_json::to_writer(&mut *out, k)?;
        out.push(b':');
    }
    Ok(())
}

fn remember(anchors: &mut Vec<Option<Anchor>>, id: usize, a: Anchor) {
    if id == 0 {
        return;
    }
    if anchors.len() <= id {
        anchors.resize_with(id + 1, || None);
    }
    anchors[id] = Some(a);
}

/// Parses one YAML document (an empty text is null) into its JSON text.
pub fn load_json(text: &str, limits: Limits) -> Result<String> {
    let mut out: Vec<u8> = Vec::with_capacity(text.len() + 16);
    let mut anchors: Vec<Option<Anchor>> = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut nodes = 0usize;
    let mut docs = 0;
    for item in Parser::new_from_str(text) {
        let (ev, span) = item.map_err(|e| {
            crate::error::Error::validation(format!(
                "invalid YAML at line {}, column {}: {}",
                e.marker().line(),
                e.marker().col() + 1,
                e.info()
            ))
        })?;
        match ev {
            Event::StreamStart | Event::StreamEnd | Event::Nothing | Event::DocumentEnd => {}
            Event::DocumentStart(_) => {
                docs += 1;
                if docs > 1 {
                    return Err(bad(&span, "more than one document in the file"));
                }
            }
            Event::Alias(id) => {
                let a = anchors
                    .get(id)
                    .and_then(Option::as_ref)
                    .ok_or_else(|| bad(&span, "alias to an anchor that is not complete"))?;
                nodes += a.nodes;
                check(nodes, stack.len(), limits, &span)?;
                if slot(&mut stack, &mut out) {
                    let k = a.key.clone().ok_or_else(|| {
                        bad(&span, "a mapping or sequence as a key is not supported")
                    })?;
                    key(&mut stack, &mut out, &k, &span)?;
                } else {
                    out.extend_from_slice(a.json.as_bytes());
                    value_done(&mut stack);
                }
            }
            Event::Scalar(t, style, anchor, tag) => {
                nodes += 1;
                check(nodes, stack.len(), limits, &span)?;
                let s = resolve(&t, style, tag.as_deref(), &span)?;
                let as_key = slot(&mut stack, &mut out);
                let key_form = |s: &Scalar<'_>| match s {
                    Scalar::Str(t) => Ok(t.to_string()),
                    Scalar::Val(v) => map_key(v.clone(), &span),
                };
                let key_text = if as_key { Some(key_form(&s)?) } else { None };
                // The scalar's JSON goes straight into the output; a copy only for an anchor.
                let json = if let Some(k) = &key_text {
                    key(&mut stack, &mut out, k, &span)?;
                    if anchor > 0 {
                        let mut j = Vec::new();
                        put(&mut j, &s)?;
                        Some(String::from_utf8_lossy(&j).into_owned())
                    } else {
                        None
                    }
                } else {
                    let start = out.len();
                    put(&mut out, &s)?;
                    value_done(&mut stack);
                    (anchor > 0).then(|| String::from_utf8_lossy(&out[start..]).into_owned())
                };
                if let Some(json) = json {
                    let key = key_text.or_else(|| key_form(&s).ok());
                    remember(
                        &mut anchors,
                        anchor,
                        Anchor {
                            json,
                            nodes: 1,
                            key,
                        },
                    );
                }
            }
            Event::SequenceStart(anchor, tag) => {
                check_tag(tag.as_deref(), "seq", &span)?;
                open(&mut stack, &mut out, Kind::Seq, anchor, &mut nodes, &span)?;
                check(nodes, stack.len(), limits, &span)?;
            }
            Event::MappingStart(anchor, tag) => {
                check_tag(tag.as_deref(), "map", &span)?;
                let kind = Kind::Map {
                    keys: Keys::default(),
                    key_next: true,
                };
                open(&mut stack, &mut out, kind, anchor, &mut nodes, &span)?;
                check(nodes, stack.len(), limits, &span)?;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(o) = stack.pop() else {
                    return Err(bad(&span, "unbalanced collection"));
                };
                out.push(if matches!(o.kind, Kind::Seq) {
                    b']'
                } else {
                    b'}'
                });
                value_done(&mut stack);
                if o.anchor > 0 {
                    let json = String::from_utf8_lossy(&out[o.start..]).into_owned();
                    let n = nodes - o.nodes_before;
                    remember(
                        &mut anchors,
                        o.anchor,
                        Anchor {
                            json,
                            nodes: n,
                            key: None,
                        },
                    );
                }
            }
        }
    }
    if out.is_empty() {
        return Ok("null".into());
    }
    String::from_utf8(out).map_err(|_| crate::error::Error::Backend("non-UTF-8 JSON".into()))
}

fn open(
    stack: &mut Vec<Open>,
    out: &mut Vec<u8>,
    kind: Kind,
    anchor: usize,
    nodes: &mut usize,
    span: &Span,
) -> Result<()> {
    if slot(stack, out) {
        return Err(bad(span, "a mapping or sequence as a key is not supported"));
    }
    out.push(if matches!(kind, Kind::Seq) {
        b'['
    } else {
        b'{'
    });
    stack.push(Open {
        kind,
        start: out.len() - 1,
        anchor,
        nodes_before: *nodes,
        first: true,
    });
    *nodes += 1;
    Ok(())
}

fn check(nodes: usize, depth: usize, limits: Limits, span: &Span) -> Result<()> {
    if nodes > limits.max_nodes {
        return Err(bad(
            span,
            format!(
                "more than {} nodes (aliases count what they repeat): refusing a possible \
                 alias bomb",
                limits.max_nodes
            ),
        ));
    }
    if depth > limits.max_depth {
        return Err(bad(
            span,
            format!("nested deeper than {} levels", limits.max_depth),
        ));
    }
    Ok(())
}
