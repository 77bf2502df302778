//! What `hub.memory` stores for a record: its input ([`Write`]), the stored version
//! ([`MemoryRecord`]), the checks and limits, the scope's canonical form and the text BM25
//! indexes.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::error::{Error, Result};
use crate::ids;
use crate::memory::bm25::tokenize;

/// Longest record key, in bytes of UTF-8.
pub const MAX_KEY: usize = 512;
/// Largest value, serialized.
pub const MAX_VALUE: usize = 1 << 20;
/// Largest metadata, serialized.
pub const MAX_METADATA: usize = 64 << 10;
/// Most entities one record or edge links to.
pub const MAX_ENTITIES: usize = 64;
/// Most records one `remember_many` writes.
pub const MAX_BATCH: usize = 1000;
/// Most entries of a scope.
pub const MAX_SCOPE: usize = 8;
/// Longest scope name.
pub const MAX_SCOPE_NAME: usize = 64;
/// Longest category, source or space name, in bytes.
pub const MAX_LABEL: usize = 256;

/// What kind of memory a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A fact ("the user prefers dark mode").
    Semantic,
    /// An event ("on Monday the deploy failed").
    Episodic,
    /// How to do something.
    Procedural,
}

impl Kind {
    /// Parses `semantic`, `episodic` or `procedural`.
    pub fn parse(s: &str) -> Result<Kind> {
        match s {
            "semantic" => Ok(Kind::Semantic),
            "episodic" => Ok(Kind::Episodic),
            "procedural" => Ok(Kind::Procedural),
            _ => Err(Error::validation(format!(
                "kind must be 'semantic', 'episodic' or 'procedural', not {s:?}"
            ))),
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Semantic => "semantic",
            Kind::Episodic => "episodic",
            Kind::Procedural => "procedural",
        }
    }
}

/// A record's value: text, or a JSON value (serialized).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text, indexed as it is.
    Text(String),
    /// A JSON value; its string leaves are indexed.
    Json(String),
}

impl Value {
    /// Its type code in the store: `s` or `j`.
    pub fn code(&self) -> &'static str {
        match self {
            Value::Text(_) => "s",
            Value::Json(_) => "j",
        }
    }

    /// Its stored text.
    pub fn data(&self) -> &str {
        match self {
            Value::Text(s) | Value::Json(s) => s,
        }
    }

    /// From the store's code and data.
    pub fn from_stored(code: &str, data: String) -> Result<Option<Value>> {
        match code {
            "s" => Ok(Some(Value::Text(data))),
            "j" => Ok(Some(Value::Json(data))),
            "" => Ok(None),
            _ => Err(Error::Backend(format!(
                "unknown memory value type {code:?}"
            ))),
        }
    }

    /// The text BM25 indexes: the string itself, or the string leaves of the JSON value
    /// joined by spaces (in document order).
    pub fn text(&self) -> String {
        match self {
            Value::Text(s) => s.clone(),
            Value::Json(s) => match serde_json::from_str::<Json>(s) {
                Ok(j) => {
                    let mut out = Vec::new();
                    leaves(&j, &mut out);
                    out.join(" ")
                }
                Err(_) => String::new(),
            },
        }
    }
}

fn leaves<'a>(j: &'a Json, out: &mut Vec<&'a str>) {
    match j {
        Json::String(s) => out.push(s),
        Json::Array(a) => a.iter().for_each(|x| leaves(x, out)),
        Json::Object(m) => m.values().for_each(|x| leaves(x, out)),
        _ => {}
    }
}

/// A record's postings: its distinct terms with their frequencies, and its length in tokens.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Terms {
    /// (term, tf), terms in byte order.
    pub tf: Vec<(String, u32)>,
    /// Tokens in the text.
    pub len: u32,
}

impl Terms {
    /// The postings of `text` (`crate::memory::bm25::tokenize`).
    pub fn of(text: &str) -> Terms {
        let tokens = tokenize(text);
        let mut tf: BTreeMap<String, u32> = BTreeMap::new();
        for t in &tokens {
            *tf.entry(t.clone()).or_insert(0) += 1;
        }
        Terms {
            tf: tf.into_iter().collect(),
            len: u32::try_from(tokens.len()).unwrap_or(u32::MAX),
        }
    }
}

/// One version to write: a record (`remember`) or a tombstone (`forget`).
#[derive(Debug, Clone)]
pub struct Write {
    pub key: String,
    /// The canonical scope ("" for the global scope).
    pub scope: String,
    /// None for a tombstone.
    pub value: Option<Value>,
    pub kind: Kind,
    pub category: Option<String>,
    pub significance: f64,
    /// The embedding and the space it belongs to.
    pub embedding: Option<(String, Vec<f32>)>,
    pub entities: Vec<String>,
    /// JSON text.
    pub metadata: Option<String>,
    pub source: Option<String>,
    /// Milliseconds since the epoch (None: now).
    pub valid_from: Option<i64>,
    pub valid_to: Option<i64>,
}

/// One stored version of a record.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryRecord {
    /// The namespace-wide row id (the doc id of the keyword and vector indexes).
    pub row: u64,
    pub key: String,
    /// The canonical scope ("" for the global scope).
    pub scope: String,
    /// 1, 2, ... per (scope, key).
    pub version: u64,
    /// None for a tombstone.
    pub value: Option<Value>,
    pub kind: Kind,
    pub category: Option<String>,
    pub significance: f64,
    pub entities: Vec<String>,
    /// JSON text.
    pub metadata: Option<String>,
    pub source: Option<String>,
    /// Valid time (ms): from, and to as given (None: open-ended).
    pub valid_from: i64,
    pub valid_to: Option<i64>,
    /// Transaction time (ms): when the store recorded it, and when a later version first
    /// cut its valid-time interval.
    pub recorded_at: i64,
    pub superseded_at: Option<i64>,
    /// A tombstone (`forget`).
    pub deleted: bool,
    /// The vector space of its embedding, if it has one.
    pub space: Option<String>,
    /// Its text's length in tokens (0 for a tombstone).
    pub len: u32,
}

/// A row as the search reads it, without value and metadata (see `Memory::rows_page`).
#[derive(Debug, Clone, PartialEq)]
pub struct RowInfo {
    pub row: u64,
    pub key: String,
    pub scope: String,
    pub version: u64,
    pub kind: Kind,
    pub category: Option<String>,
    pub significance: f64,
    pub valid_from: i64,
    pub valid_to: Option<i64>,
    pub recorded_at: i64,
    pub superseded_at: Option<i64>,
    pub deleted: bool,
    pub space: Option<String>,
    pub len: u32,
}

impl From<&MemoryRecord> for RowInfo {
    fn from(r: &MemoryRecord) -> RowInfo {
        RowInfo {
            row: r.row,
            key: r.key.clone(),
            scope: r.scope.clone(),
            version: r.version,
            kind: r.kind,
            category: r.category.clone(),
            significance: r.significance,
            valid_from: r.valid_from,
            valid_to: r.valid_to,
            recorded_at: r.recorded_at,
            superseded_at: r.superseded_at,
            deleted: r.deleted,
            space: r.space.clone(),
            len: r.len,
        }
    }
}

/// Checks a record key: 1 to [`MAX_KEY`] bytes of any text.
pub fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > MAX_KEY {
        return Err(Error::validation(format!(
            "a memory key is 1 to {MAX_KEY} bytes of text, got {} bytes",
            key.len()
        )));
    }
    Ok(())
}

/// Checks a label (category, source): 1 to [`MAX_LABEL`] bytes without control characters.
pub fn check_label(what: &str, s: &str) -> Result<()> {
    if s.is_empty() || s.len() > MAX_LABEL || s.chars().any(char::is_control) {
        return Err(Error::validation(format!(
            "{what} must be 1 to {MAX_LABEL} bytes without control characters, got {s:?}"
        )));
    }
    Ok(())
}

/// Checks a space name: 1 to 64 of `A-Z a-z 0-9 _ - .`.
pub fn check_space(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(Error::validation(format!(
            "a vector space name is 1 to 64 of letters, digits, '_', '-' and '.', got {name:?}"
        )));
    }
    Ok(())
}

/// The canonical scope of `pairs`: `name=value` entries sorted by name and joined by `,`
/// ("" for none: the global scope). Names are 1 to 64 of `A-Z a-z 0-9 _ - .`; values are
/// ids (`crate::ids::id`); at most [`MAX_SCOPE`] entries.
pub fn scope(pairs: Vec<(String, String)>) -> Result<String> {
    if pairs.len() > MAX_SCOPE {
        return Err(Error::validation(format!(
            "a scope has at most {MAX_SCOPE} entries, got {}",
            pairs.len()
        )));
    }
    let mut m = BTreeMap::new();
    for (k, v) in pairs {
        if k.is_empty()
            || k.len() > MAX_SCOPE_NAME
            || !k
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err(Error::validation(format!(
                "a scope name is 1 to {MAX_SCOPE_NAME} of letters, digits, '_', '-' and '.', got {k:?}"
            )));
        }
        ids::id(&format!("scope value of {k:?}"), &v)?;
        m.insert(k, v);
    }
    Ok(m.into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(","))
}

/// A canonical scope back as pairs (sorted by name).
pub fn scope_pairs(s: &str) -> Vec<(String, String)> {
    if s.is_empty() {
        return Vec::new();
    }
    s.split(',')
        .filter_map(|e| e.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Checks a canonical scope read from outside (an import).
pub fn check_canonical_scope(s: &str) -> Result<()> {
    let again = scope(scope_pairs(s))?;
    if again != s {
        return Err(Error::validation(format!("{s:?} is not a canonical scope")));
    }
    Ok(())
}

/// Checks entity ids (like task ids), at most [`MAX_ENTITIES`], and drops repeats.
pub fn entities(list: Vec<String>) -> Result<Vec<String>> {
    if list.len() > MAX_ENTITIES {
        return Err(Error::validation(format!(
            "at most {MAX_ENTITIES} entities, got {}",
            list.len()
        )));
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for e in list {
        ids::id("entity id", &e)?;
        if !out.contains(&e) {
            out.push(e);
        }
    }
    Ok(out)
}

/// Seconds since the epoch as milliseconds; ValidationError for NaN, infinity or a time
/// outside years 0..=9999 or so.
pub fn ms(what: &str, secs: f64) -> Result<i64> {
    const LIMIT: f64 = 253_402_300_800.0; // 10000-01-01
    if !secs.is_finite() || secs.abs() >= LIMIT {
        return Err(Error::validation(format!(
            "{what} must be a finite time in seconds since the epoch, got {secs}"
        )));
    }
    Ok((secs * 1000.0).round() as i64)
}

/// Milliseconds as seconds since the epoch.
pub fn secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

impl Write {
    /// Checks everything about one write except its embedding's fit to its space (that needs
    /// the space, which the store holds).
    pub fn check(&self) -> Result<()> {
        check_key(&self.key)?;
        if let Some(v) = &self.value {
            if v.data().len() > MAX_VALUE {
                return Err(Error::validation(format!(
                    "the value of {:?} is {} bytes serialized; the limit is {MAX_VALUE}",
                    self.key,
                    v.data().len()
                )));
            }
        }
        if let Some(m) = &self.metadata {
            if m.len() > MAX_METADATA {
                return Err(Error::validation(format!(
                    "the metadata of {:?} is {} bytes serialized; the limit is {MAX_METADATA}",
                    self.key,
                    m.len()
                )));
            }
        }
        if !(0.0..=1.0).contains(&self.significance) {
            return Err(Error::validation(format!(
                "significance must be between 0 and 1, got {}",
                self.significance
            )));
        }
        if let Some(c) = &self.category {
            check_label("category", c)?;
        }
        if let Some(s) = &self.source {
            check_label("source", s)?;
        }
        if let Some((space, _)) = &self.embedding {
            check_space(space)?;
        }
        if self.entities.len() > MAX_ENTITIES {
            return Err(Error::validation(format!(
                "at most {MAX_ENTITIES} entities, got {}",
                self.entities.len()
            )));
        }
        for e in &self.entities {
            ids::id("entity id", e)?;
        }
        check_interval(self.valid_from, self.valid_to)
    }
}

/// `valid_to` must come after `valid_from` when both are given.
pub fn check_interval(from: Option<i64>, to: Option<i64>) -> Result<()> {
    if let (Some(f), Some(t)) = (from, to) {
        if t <= f {
            return Err(Error::validation(format!(
                "valid_to ({}) must be after valid_from ({})",
                secs(t),
                secs(f)
            )));
        }
    }
    Ok(())
}
