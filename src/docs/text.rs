//! The text side of documents: paths (the path-to-key bijection's checks), hashes, parsing
//! under limits (to a value, or straight to JSON text) and rendering, and the deep merge.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{yaml, yaml_json, Format, Settings, MAX_PATH};
use crate::error::{Error, Result};

/// The SHA-256 of `text`, hex.
pub fn hash(text: &str) -> String {
    hash_bytes(text.as_bytes())
}

/// The SHA-256 of `bytes`, hex.
pub fn hash_bytes(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let d = Sha256::digest(bytes);
    let mut s = String::with_capacity(2 * d.len());
    for b in d {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
    }
    s
}

pub use crate::clock::now;

/// Longest directory name in a path, in bytes: what Linux and macOS file systems take.
pub const MAX_SEGMENT: usize = 255;
/// Longest file name, in bytes: the write-back's temp file (`.<name>.zl-tmp-<pid>-<hex>`)
/// and a conflict copy (`<name>.conflict-<ms>.<ext>`) must still fit in [`MAX_SEGMENT`].
pub const MAX_NAME: usize = 200;

/// Checks a document path: relative, `/`-separated, normalised (no `.`, `..` or empty
/// segments), printable, under one of `roots`, ending in `.yaml`, `.yml` or `.json`, with
/// names the file system can hold (directories up to [`MAX_SEGMENT`] bytes, the file name up
/// to [`MAX_NAME`]).
/// The path is also the store key's suffix, unchanged: the mapping is a bijection.
pub fn check_path(path: &str, roots: &[String]) -> Result<Format> {
    let bad = |why: &str| Err(Error::validation(format!("document path {path:?} {why}")));
    if path.is_empty() || path.len() > MAX_PATH {
        return bad(&format!("must be 1 to {MAX_PATH} bytes"));
    }
    if path.starts_with('/') || path.contains('\\') || path.as_bytes().get(1) == Some(&b':') {
        return bad("must be relative, with / between directories");
    }
    if let Some(c) = path.chars().find(|c| c.is_control()) {
        return bad(&format!("contains the control character {:?}", c));
    }
    let segs: Vec<&str> = path.split('/').collect();
    if segs
        .iter()
        .any(|s| s.is_empty() || *s == "." || *s == ".." || s.trim() != *s)
    {
        return bad("has an empty, '.' or '..' segment, or one with surrounding spaces");
    }
    if segs.len() < 2 || !roots.iter().any(|r| r == segs[0]) {
        return bad(&format!(
            "is not under a synced root ({})",
            roots
                .iter()
                .map(|r| format!("{r}/"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let name = segs[segs.len() - 1];
    if let Some(long) = segs[..segs.len() - 1]
        .iter()
        .find(|s| s.len() > MAX_SEGMENT)
    {
        return bad(&format!(
            "has a directory name of {} bytes; file systems take at most {MAX_SEGMENT}",
            long.len()
        ));
    }
    if name.len() > MAX_NAME {
        return bad(&format!(
            "has a file name of {} bytes; at most {MAX_NAME} (the file system's limit, less \
             room for the sync's temp and conflict files)",
            name.len()
        ));
    }
    if name.ends_with(".yaml") || name.ends_with(".yml") {
        Ok(Format::Yaml)
    } else if name.ends_with(".json") {
        Ok(Format::Json)
    } else {
        bad("must end in .yaml, .yml or .json")
    }
}

/// Deep merge of mappings (reference/000's mergeYamlUpdates): a mapping in `updates` merges
/// into a mapping at the same place, anything else replaces; `null` deletes the key.
pub fn merge(base: &mut Value, updates: &Value) {
    match (base, updates) {
        (Value::Object(b), Value::Object(u)) => {
            for (k, v) in u {
                if v.is_null() {
                    // shift, not swap: the other keys keep their order
                    b.shift_remove(k);
                } else if let Some(slot) = b.get_mut(k) {
                    merge(slot, v);
                } else {
                    let mut fresh = Value::Object(Map::new());
                    merge(&mut fresh, v);
                    b.insert(k.clone(), if v.is_object() { fresh } else { v.clone() });
                }
            }
        }
        (b, u) => *b = u.clone(),
    }
}

/// Renders `value` in `format`: block YAML, or JSON indented by two spaces; a final newline.
pub fn render(value: &Value, format: Format) -> String {
    match format {
        Format::Yaml => yaml::dump(value),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into());
            s.push('\n');
            s
        }
    }
}

fn within_size(text: &str, s: &Settings) -> Result<()> {
    if text.len() > s.max_bytes {
        return Err(Error::validation(format!(
            "document is {} bytes, over the limit of {}",
            text.len(),
            s.max_bytes
        )));
    }
    Ok(())
}

/// Parses `text` as `format` under `s`'s limits into its JSON text: what [`parse`] gives,
/// serialised (YAML goes from parser events to JSON text without building the value).
pub fn parse_to_json(text: &str, format: Format, s: &Settings) -> Result<String> {
    match format {
        Format::Yaml => {
            within_size(text, s)?;
            yaml_json::load_json(text, s.limits)
        }
        Format::Json => parse(text, format, s).map(|v| v.to_string()),
    }
}

/// Parses `text` as `format` under `s`'s limits.
pub fn parse(text: &str, format: Format, s: &Settings) -> Result<Value> {
    within_size(text, s)?;
    match format {
        Format::Yaml => yaml::load(text, s.limits),
        Format::Json => {
            // serde_json stops at 128 levels; the YAML limit applies to JSON too.
            let v: Value = serde_json::from_str(text)
                .map_err(|e| Error::validation(format!("invalid JSON: {e}")))?;
            if depth(&v) > s.limits.max_depth {
                return Err(Error::validation(format!(
                    "invalid JSON: nested deeper than {} levels",
                    s.limits.max_depth
                )));
            }
            Ok(v)
        }
    }
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}
