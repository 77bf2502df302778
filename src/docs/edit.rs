//! In-place edits of YAML text: given a file's text, the value it parses to and the value it
//! should parse to, rewrite only the spans whose values differ, so that comments, key order,
//! quoting and layout of everything else survive (and a one-field change is a one-line diff).
//!
//! A deleted key (merge's `null`) goes as whole lines: the key's line through the line its
//! value ends on, with the comments on those lines and the comment lines directly above the
//! key at its indentation (see `Editor::delete`); a block mapping left empty is written
//! `key: {}`. Other comments and blank lines stay (see `spans::removals`).
//!
//! The editor works from the parser's event spans. It never has to be right about YAML: the
//! candidate text is parsed again and accepted only if it reads back as exactly the wanted
//! value, key order included; otherwise the caller renders the whole document.

use saphyr_parser::{Event, Parser, ScalarStyle};
use serde_json::{Map, Value};

use super::yaml::{dump_at, inline, load, string, Limits};
use spans::{line_start, quoted_len, removals};

#[path = "edit_spans.rs"]
mod spans;

/// Rewrites `text` (whose parsed value is `old`) so that it parses to `new`, changing only
/// the spans of the values that differ; comments, key order, quoting and formatting of
/// everything else survive; deleted keys go with their lines. None when the change cannot
/// be applied that way (the caller then renders the whole document).
pub fn edit_yaml(text: &str, old: &Value, new: &Value, limits: Limits) -> Option<String> {
    if text.trim().is_empty() || !new.is_object() {
        return None;
    }
    // The spans below are only meaningful for the text `old` really came from; this parse
    // also bounds the depth the recursive walk can reach.
    let parsed = load(text, limits).ok()?;
    if !same(&parsed, old) {
        return None;
    }
    let root = tree(text)?;
    if !matches!(root.kind, Kind::Map { flow: false, .. }) {
        return None;
    }
    let mut ed = Editor {
        text,
        step: 2,
        nl: if text.contains("\r\n") { "\r\n" } else { "\n" },
        edits: Vec::new(),
        gone: Vec::new(),
    };
    ed.step = ed.step_of(&root).unwrap_or(2);
    ed.value(&root, old, new, Slot::Root)?;
    let out = ed.apply()?;
    // The safety net: a wrong edit may only cost formatting, never the value.
    let back = load(&out, limits).ok()?;
    same(&back, new).then_some(out)
}

/// Equal values with mapping keys in the same order (Map equality ignores order).
pub(crate) fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|((ka, va), (kb, vb))| ka == kb && same(va, vb))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        _ => a == b,
    }
}

/// A node of the document with its byte range: for a scalar its text (quotes, tag and
/// anchor included), for a flow collection its brackets, for a block collection from its
/// first key or dash to the end of its last value (trailing blank lines and comments are not
/// part of it).
#[derive(Debug)]
struct Node {
    start: usize,
    end: usize,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Scalar(ScalarStyle),
    Alias,
    /// Entries as (key, value), in document order (the same order as the parsed Map).
    Map {
        flow: bool,
        entries: Vec<(Node, Node)>,
    },
    Seq {
        flow: bool,
        items: Vec<Node>,
    },
}

/// Builds the node tree of a one-document text; None on anything unexpected.
fn tree(text: &str) -> Option<Node> {
    // Markers count characters, the text is indexed by bytes.
    let offsets: Option<Vec<usize>> = (!text.is_ascii()).then(|| {
        text.char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(text.len()))
            .collect()
    });
    let byte = |c: usize| match &offsets {
        None => (c <= text.len()).then_some(c),
        Some(o) => o.get(c).copied(),
    };
    struct Open {
        node: Node,
        key: Option<Node>,
    }
    let mut stack: Vec<Open> = Vec::new();
    let mut root = None;
    for item in Parser::new_from_str(text) {
        let (ev, span) = item.ok()?;
        let (s, e) = (byte(span.start.index())?, byte(span.end.index())?);
        let done = match ev {
            Event::Scalar(_, style, _, _) => {
                // Block scalars' spans run over their trailing line breaks, and quoted ones
                // (saphyr-parser 0.3.3) over trailing blanks and a comment on their line:
                // ending them at their content keeps those out of a replaced region.
                let src = text.get(s..e)?;
                let end = match style {
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                        s + quoted_len(src, style == ScalarStyle::DoubleQuoted)?
                    }
                    _ => s + src.trim_end().len(),
                };
                Some(Node {
                    start: s,
                    end,
                    kind: Kind::Scalar(style),
                })
            }
            Event::Alias(_) => Some(Node {
                start: s,
                end: e,
                kind: Kind::Alias,
            }),
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                // A flow collection's start span ends with its bracket; a block one's is
                // empty or holds only its anchor/tag, and ends where its content starts.
                let last = text.get(s..e)?.trim_end().chars().last();
                let map = matches!(ev, Event::MappingStart(..));
                let flow = last == Some(if map { '{' } else { '[' });
                let kind = if map {
                    Kind::Map {
                        flow,
                        entries: Vec::new(),
                    }
                } else {
                    Kind::Seq {
                        flow,
                        items: Vec::new(),
                    }
                };
                let start = if flow { s } else { e };
                stack.push(Open {
                    node: Node {
                        start,
                        end: e,
                        kind,
                    },
                    key: None,
                });
                None
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let mut open = stack.pop()?;
                let n = &mut open.node;
                n.end = match &n.kind {
                    // The end span, like a quoted scalar's, may run over a comment.
                    Kind::Map { flow: true, .. } | Kind::Seq { flow: true, .. } => {
                        s + text.get(s..e)?.find([']', '}'])? + 1
                    }
                    Kind::Map { entries, .. } => entries.last().map_or(n.start, |x| x.1.end),
                    Kind::Seq { items, .. } => items.last().map_or(n.start, |x| x.end),
                    _ => return None,
                };
                // A block mapping starts at its first key (its start event may sit on an
                // anchor on the line before).
                if let Kind::Map {
                    flow: false,
                    entries,
                } = &n.kind
                {
                    n.start = entries.first().map_or(n.start, |x| x.0.start);
                }
                Some(open.node)
            }
            _ => None,
        };
        let Some(node) = done else { continue };
        match stack.last_mut() {
            None => root = Some(node),
            Some(open) => match &mut open.node.kind {
                Kind::Seq { items, .. } => items.push(node),
                Kind::Map { entries, .. } => match open.key.take() {
                    None => open.key = Some(node),
                    Some(k) => entries.push((k, node)),
                },
                _ => return None,
            },
        }
    }
    root
}

/// Where a value sits, which decides how a replacement for it is written.
#[derive(Clone, Copy)]
enum Slot {
    Root,
    /// The value of a block mapping entry whose key ends at `key_end`, keys at `col`.
    Entry {
        key_end: usize,
        col: usize,
    },
    /// An item of a block sequence.
    Item,
}

struct Editor<'a> {
    text: &'a str,
    step: usize,
    nl: &'static str,
    /// (start, end, replacement), in the order found; equal ranges keep that order.
    edits: Vec<(usize, usize, String)>,
    /// Deleted entries as (start of their first line, end of their value): whole lines.
    gone: Vec<(usize, usize)>,
}

impl Editor<'_> {
    fn value(&mut self, node: &Node, old: &Value, new: &Value, slot: Slot) -> Option<()> {
        if same(old, new) {
            return Some(());
        }
        match (&node.kind, old, new) {
            (
                Kind::Map {
                    flow: false,
                    entries,
                },
                Value::Object(o),
                Value::Object(n),
            ) => self.map(node, entries, o, n, slot),
            (Kind::Seq { flow: false, items }, Value::Array(o), Value::Array(n))
                if n.len() >= o.len() =>
            {
                self.seq(node, items, o, n)
            }
            _ => self.replace(node, new, slot),
        }
    }

    /// Edits a block mapping: kept entries in place, deleted ones as whole lines, new keys
    /// after the last entry.
    fn map(
        &mut self,
        node: &Node,
        entries: &[(Node, Node)],
        o: &Map<String, Value>,
        n: &Map<String, Value>,
        slot: Slot,
    ) -> Option<()> {
        // Entries line up with the parsed keys; the kept keys stay in their order and new
        // keys may only follow them (what merge produces).
        let kept = || o.keys().filter(|k| n.contains_key(*k));
        if entries.len() != o.len() || !kept().eq(n.keys().take(kept().count())) {
            return None;
        }
        let col = self.col(node.start)?;
        if n.is_empty() {
            // Every entry goes: the mapping is written `{}` where it was.
            match slot {
                Slot::Root => return None,
                Slot::Item => return self.replace(node, &Value::Object(Map::new()), slot),
                Slot::Entry { key_end, .. } => {
                    let colon = self.colon(key_end)?;
                    let rest = self.text.get(colon + 1..self.eol(colon))?.trim_start();
                    if !rest.is_empty() && !rest.starts_with('#') {
                        return None; // an anchor or tag before the block
                    }
                    self.put(colon + 1, colon + 1, " {}".into())?;
                }
            }
        }
        let mut after = 0;
        for ((k, v), (key, ov)) in entries.iter().zip(o) {
            match n.get(key) {
                Some(nv) => {
                    let slot = Slot::Entry {
                        key_end: k.end,
                        col,
                    };
                    self.value(v, ov, nv, slot)?;
                }
                None => self.delete(k, v, col, after)?,
            }
            after = k.end.max(v.end);
        }
        let added: Map<String, Value> = n
            .iter()
            .filter(|(k, _)| !o.contains_key(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !added.is_empty() {
            let block = dump_at(&Value::Object(added), col, self.step);
            let at = self.eol(node.end);
            self.edits.push((at, at, format!("\n{}", block.trim_end())));
        }
        Some(())
    }

    /// Deletes a block mapping entry: its key's line through the line its value ends on
    /// (comments on those lines included), and the comment lines directly above the key at
    /// the key's indentation (no blank line between), which are taken to be about it. Other
    /// comments stay, trailing ones inside its block too. `after` is where the previous
    /// entry ends. None when the key does not start its line (a `- key:` item).
    fn delete(&mut self, k: &Node, v: &Node, col: usize, after: usize) -> Option<()> {
        let mut from = line_start(self.text, k.start);
        if k.start - from != col || !self.text.get(from..k.start)?.bytes().all(|b| b == b' ') {
            return None;
        }
        while from > 0 {
            let above = line_start(self.text, from - 1);
            let line = self.text.get(above..from)?.trim_end_matches(['\n', '\r']);
            let body = line.trim_start_matches(' ');
            if above < after || line.len() - body.len() != col || !body.starts_with('#') {
                break;
            }
            from = above;
        }
        self.gone.push((from, k.end.max(v.end)));
        Some(())
    }

    fn seq(&mut self, node: &Node, items: &[Node], o: &[Value], n: &[Value]) -> Option<()> {
        if items.len() != o.len() {
            return None;
        }
        for (it, (ov, nv)) in items.iter().zip(o.iter().zip(n)) {
            self.value(it, ov, nv, Slot::Item)?;
        }
        if n.len() > o.len() {
            let col = self.col(self.dash(items.first()?.start)?)?;
            let block = dump_at(&Value::Array(n[o.len()..].to_vec()), col, self.step);
            let at = self.eol(node.end);
            self.edits.push((at, at, format!("\n{}", block.trim_end())));
        }
        Some(())
    }

    /// Replaces a whole node with `new`.
    fn replace(&mut self, node: &Node, new: &Value, slot: Slot) -> Option<()> {
        let src = self.text.get(node.start..node.end)?;
        let one_line = !src.contains(['\n', '\r']);
        let scalar_new = match new {
            Value::Object(m) => m.is_empty(),
            Value::Array(a) => a.is_empty(),
            _ => true,
        };
        match &node.kind {
            Kind::Map { flow: true, .. } | Kind::Seq { flow: true, .. } if !scalar_new => {
                return self.put(node.start, node.end, flow(new));
            }
            Kind::Scalar(
                ScalarStyle::Plain | ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted,
            )
            | Kind::Alias
            | Kind::Map { flow: true, .. }
            | Kind::Seq { flow: true, .. }
                // An empty plain scalar's span sits before its `:` (saphyr-parser 0.3.3);
                // it is written through the region below instead.
                if scalar_new && one_line && node.start < node.end =>
            {
                return self.put(node.start, node.end, inline(new));
            }
            _ => {}
        }
        // Otherwise the region from the entry's `:` or the item's `-` to the node's end.
        match slot {
            Slot::Root => None,
            Slot::Entry { key_end, col } => {
                let colon = self.colon(key_end)?;
                let mut from = colon + 1;
                let end = node.end.max(from);
                if scalar_new {
                    return self.put(from, end, format!(" {}", inline(new)));
                }
                // A comment on the key's line stays there, above the new block: after
                // `key:` when the old value starts on a later line, or after a one-line
                // old value (which goes, leaving `key: # comment`).
                let eol = self.eol(from);
                let block = format!("\n{}", dump_at(new, col + self.step, self.step).trim_end());
                let later = node.start > eol || node.start == node.end;
                if later && self.text.get(from..eol)?.trim_start().starts_with('#') {
                    from = eol;
                } else if node.start < node.end && node.end <= eol {
                    let tail = self.text.get(node.end..eol)?.trim_start();
                    if tail.starts_with('#') {
                        self.put(from, node.end, String::new())?;
                        return self.put(eol, eol, block);
                    }
                }
                self.put(from, end.max(from), block)
            }
            Slot::Item => {
                let dash = self.dash(node.start)?;
                let col = self.col(dash)?;
                let text = match new {
                    _ if scalar_new => format!(" {}", inline(new)),
                    Value::Object(_) => format!(" {}", dump_at(new, col + 2, self.step).trim()),
                    _ => format!("\n{}", dump_at(new, col + 2, self.step).trim_end()),
                };
                self.put(dash + 1, node.end.max(dash + 1), text)
            }
        }
    }

    /// The file's indentation step: how much deeper than its key the first nested block
    /// mapping sits.
    fn step_of(&self, n: &Node) -> Option<usize> {
        match &n.kind {
            Kind::Map { entries, .. } => entries.iter().find_map(|(k, v)| match &v.kind {
                Kind::Map { flow: false, .. } => {
                    let (kc, vc) = (self.col(k.start)?, self.col(v.start)?);
                    (vc > kc).then(|| vc - kc).or_else(|| self.step_of(v))
                }
                _ => self.step_of(v),
            }),
            Kind::Seq { items, .. } => items.iter().find_map(|i| self.step_of(i)),
            _ => None,
        }
    }

    fn put(&mut self, start: usize, end: usize, text: String) -> Option<()> {
        if start > end {
            return None;
        }
        self.edits.push((start, end, text));
        Some(())
    }

    /// The `:` after a block mapping key ending at `key_end`.
    fn colon(&self, key_end: usize) -> Option<usize> {
        let rest = self.text.get(key_end..)?;
        let colon = key_end + rest.len() - rest.trim_start_matches([' ', '\t']).len();
        (self.text.as_bytes().get(colon) == Some(&b':')).then_some(colon)
    }

    /// The `-` in front of a block sequence item starting at `at` (on the same line).
    fn dash(&self, at: usize) -> Option<usize> {
        let before = self.text.get(..at)?.trim_end_matches([' ', '\t']);
        before.ends_with('-').then(|| before.len() - 1)
    }

    /// The column of `at`, if only indentation and sequence dashes precede it on its line
    /// (its column is then also its count of bytes).
    fn col(&self, at: usize) -> Option<usize> {
        let line = self.text.get(..at)?;
        let start = line.rfind('\n').map_or(0, |i| i + 1);
        let prefix = &line[start..];
        prefix
            .bytes()
            .all(|b| b == b' ' || b == b'-')
            .then_some(prefix.len())
    }

    /// The end of the line holding `at`: its line break (`\r\n` or `\n`) or the text's end.
    fn eol(&self, at: usize) -> usize {
        let t = self.text.as_bytes();
        match t.iter().skip(at).position(|&b| b == b'\n') {
            Some(p) if at + p > 0 && t[at + p - 1] == b'\r' => at + p - 1,
            Some(p) => at + p,
            None => t.len(),
        }
    }

    /// The text with every edit and deletion applied; None if two overlap.
    fn apply(mut self) -> Option<String> {
        for (s, e) in removals(self.text, &self.gone)? {
            self.edits.push((s, e, String::new()));
        }
        // An insertion goes before a deletion starting at the same place (text added at the
        // end of the line before deleted lines); stable: equal ranges keep their order.
        self.edits.sort_by_key(|e| (e.0, e.1));
        let mut out = String::with_capacity(self.text.len() + 64);
        let mut at = 0;
        for (s, e, rep) in &self.edits {
            if *s < at {
                return None;
            }
            out.push_str(self.text.get(at..*s)?);
            out.push_str(&rep.replace('\n', self.nl));
            at = *e;
        }
        out.push_str(self.text.get(at..)?);
        Some(out)
    }
}

/// `v` as one line of flow YAML (for replacing a flow collection in its own style). Strings
/// the block emitter would leave plain stay plain unless they hold flow indicators.
fn flow(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let items: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", flow_str(k), flow(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(flow).collect();
            format!("[{}]", items.join(", "))
        }
        Value::String(s) => flow_str(s),
        _ => inline(v),
    }
}

fn flow_str(s: &str) -> String {
    let plain = string(s);
    if plain.starts_with('"') || s.contains([',', '[', ']', '{', '}']) {
        // JSON's escapes are all YAML double-quoted escapes too.
        serde_json::to_string(s).unwrap_or(plain)
    } else {
        plain
    }
}

#[cfg(test)]
#[path = "edit_tests.rs"]
mod tests;
