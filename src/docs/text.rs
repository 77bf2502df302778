//! The text side of documents: paths (the path-to-key bijection's checks), hashes, parsing
//! under limits (to a value, or straight to JSON text) and rendering, and the deep merge.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
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

/// Deep merge of mappings (what YAML tools call a merge of updates): a mapping in `updates` merges
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
            let v = parse_json(text)?;
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

/// Strict JSON: duplicate keys and integers outside the 64-bit range are refused (serde_json
/// alone keeps the last duplicate and turns a long integer into a float), as in YAML.
fn parse_json(text: &str) -> Result<Value> {
    let invalid = |e: serde_json::Error| Error::validation(format!("invalid JSON: {e}"));
    let mut de = serde_json::Deserializer::from_str(text);
    let v = Strict.deserialize(&mut de).map_err(invalid)?;
    de.end().map_err(invalid)?;
    if let Some((line, tok)) = long_integer(text) {
        return Err(Error::validation(format!(
            "invalid JSON: the integer {}{} at line {line} is outside the 64-bit range \
             (-2**63 .. 2**64-1); write it as a string",
            &tok[..tok.len().min(24)],
            if tok.len() > 24 { "..." } else { "" }
        )));
    }
    Ok(v)
}

/// The first integer literal of a (valid) JSON text that fits neither i64 nor u64, with its
/// line.
fn long_integer(text: &str) -> Option<(usize, &str)> {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() {
                    match b[i] {
                        b'\\' => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                i += 1;
                while i < b.len() && matches!(b[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
                {
                    i += 1;
                }
                let tok = &text[start..i];
                let integer = !tok.contains(['.', 'e', 'E']);
                if integer && tok.parse::<i64>().is_err() && tok.parse::<u64>().is_err() {
                    let line = 1 + b[..start].iter().filter(|c| **c == b'\n').count();
                    return Some((line, tok));
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// A JSON value that refuses duplicate keys (serde_json's `Value` keeps the last one).
struct Strict;

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number out of range"))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(Strict)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            if out.contains_key(&k) {
                return Err(de::Error::custom(format!("duplicate key {k:?}")));
            }
            let v = map.next_value_seed(Strict)?;
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here
    use super::*;

    fn yaml(t: &str) -> Result<Value> {
        parse(t, Format::Yaml, &Settings::default())
    }
    fn yaml_json(t: &str) -> Result<String> {
        parse_to_json(t, Format::Yaml, &Settings::default())
    }
    fn json(t: &str) -> Result<Value> {
        parse(t, Format::Json, &Settings::default())
    }

    #[test]
    fn integers_beyond_64_bits_are_refused_in_yaml_and_json() {
        let big = format!("1{}", "0".repeat(199));
        for t in [
            format!("n: {big}\n"),
            "n: 18446744073709551616\n".into(),
            "n: -9223372036854775809\n".into(),
            "n: 0x10000000000000000\n".into(),
            format!("n: !!int {big}\n"),
            format!("n: !!float {big}\n"),
            format!("{big}: x\n"),
        ] {
            let e = yaml(&t).unwrap_err().to_string();
            assert!(e.contains("64-bit"), "{t}: {e}");
            assert!(yaml_json(&t).unwrap_err().to_string().contains("64-bit"));
        }
        for t in [
            format!("{{\"n\": {big}}}"),
            "[18446744073709551616]".into(),
            "{\"a\": -9223372036854775809}".into(),
        ] {
            let e = json(&t).unwrap_err().to_string();
            assert!(e.contains("64-bit"), "{t}: {e}");
        }
    }

    #[test]
    fn integers_inside_64_bits_and_strings_that_look_like_numbers_stay() {
        let big = format!("1{}", "0".repeat(199));
        let v = yaml(&format!(
            "a: 18446744073709551615\nb: -9223372036854775808\nc: '{big}'\nd: 1e300\n"
        ))
        .unwrap();
        assert_eq!(v["a"].as_u64(), Some(u64::MAX));
        assert_eq!(v["b"].as_i64(), Some(i64::MIN));
        assert_eq!(v["c"], Value::String(big.clone()));
        assert_eq!(v["d"].as_f64(), Some(1e300));
        let j = json(&format!(
            "{{\"a\": 18446744073709551615, \"b\": \"{big} 1\\\"2\", \"c\": 1e300, \"d\": -1.5e-7}}"
        ))
        .unwrap();
        assert_eq!(j["a"].as_u64(), Some(u64::MAX));
        assert_eq!(j["c"].as_f64(), Some(1e300));
    }

    #[test]
    fn json_duplicate_keys_are_refused() {
        for t in [r#"{"a": 1, "a": 2}"#, r#"{"x": [{"b": 1, "b": 1}]}"#] {
            let e = json(t).unwrap_err().to_string();
            assert!(e.contains("duplicate key"), "{t}: {e}");
        }
        assert!(json(r#"{"a": {"a": 1}}"#).is_ok());
    }
}
