//! The task record, its inputs, and the rules every backend shares: validation, the index
//! terms a task contributes, and the free-text tokenizer.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::ids;

/// Most keywords, patterns or related ids one task may carry.
pub const MAX_LIST: usize = 64;
/// Longest title.
pub const MAX_TITLE: usize = 1_000;
/// Longest description.
pub const MAX_DESCRIPTION: usize = 100_000;
/// Largest metadata, as JSON.
pub const MAX_METADATA: usize = 256 * 1024;
/// Largest page a search returns.
pub const MAX_LIMIT: usize = 1_000;

/// A task with the metadata the model supplied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Unique id within the namespace.
    pub id: String,
    /// Short title.
    pub title: String,
    /// Longer text.
    pub description: String,
    /// Intent type (normalised term), e.g. `auth_implementation`.
    pub intent: Option<String>,
    /// Keywords (normalised terms).
    pub keywords: Vec<String>,
    /// Patterns (normalised terms), e.g. `feature_dev`.
    pub patterns: Vec<String>,
    /// The model's confidence, 0..1.
    pub confidence: f64,
    /// `low|medium|high|critical` or a number 0..1.
    pub complexity: Option<Value>,
    /// Status (normalised term), `pending` at first.
    pub status: String,
    /// Progress 0..1.
    pub progress: f64,
    /// Ids of related tasks, as the model listed them.
    pub related: Vec<String>,
    /// Path of the context file this task cascades from.
    pub context_cascade: Option<String>,
    /// Effort estimate as given, e.g. `2-3_days`.
    pub estimated_effort: Option<String>,
    /// Any JSON object.
    pub metadata: Value,
    /// Unix seconds.
    pub created_at: f64,
    /// Unix seconds.
    pub updated_at: f64,
    /// Starts at 1, grows by one with every update.
    pub version: u64,
}

/// Fields of a task to create; only the title is required.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NewTask {
    /// Id; generated when absent.
    pub id: Option<String>,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Intent.
    pub intent: Option<String>,
    /// Keywords.
    pub keywords: Vec<String>,
    /// Patterns.
    pub patterns: Vec<String>,
    /// Confidence (default 0.5).
    pub confidence: Option<f64>,
    /// Complexity.
    pub complexity: Option<Value>,
    /// Status (default `pending`).
    pub status: Option<String>,
    /// Progress (default 0).
    pub progress: Option<f64>,
    /// Related ids.
    pub related: Vec<String>,
    /// Context cascade path.
    pub context_cascade: Option<String>,
    /// Effort.
    pub estimated_effort: Option<String>,
    /// Metadata object.
    pub metadata: Option<Value>,
}

/// A partial update: `None` leaves a field as it is. `Some(None)` on the optional fields
/// clears them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TaskPatch {
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New intent (or cleared).
    pub intent: Option<Option<String>>,
    /// New keywords (replace).
    pub keywords: Option<Vec<String>>,
    /// New patterns (replace).
    pub patterns: Option<Vec<String>>,
    /// New confidence.
    pub confidence: Option<f64>,
    /// New complexity (or cleared).
    pub complexity: Option<Option<Value>>,
    /// New status.
    pub status: Option<String>,
    /// New progress.
    pub progress: Option<f64>,
    /// New related ids (replace).
    pub related: Option<Vec<String>>,
    /// New cascade path (or cleared).
    pub context_cascade: Option<Option<String>>,
    /// New effort (or cleared).
    pub estimated_effort: Option<Option<String>>,
    /// Metadata: merged key by key into the stored object (a null value removes the key).
    pub metadata: Option<Value>,
}

/// Order of search results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Highest confidence first.
    #[default]
    Confidence,
    /// Most recently updated first.
    Recent,
}

/// A search; every given criterion must hold.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Intent equals.
    pub intent: Option<String>,
    /// Has every one of these keywords.
    pub keywords_all: Vec<String>,
    /// Has at least one of these keywords.
    pub keywords_any: Vec<String>,
    /// Has every one of these patterns.
    pub patterns: Vec<String>,
    /// Status equals.
    pub status: Option<String>,
    /// Confidence at least.
    pub min_confidence: Option<f64>,
    /// Confidence at most.
    pub max_confidence: Option<f64>,
    /// Related to this id (either direction).
    pub related_to: Option<String>,
    /// Every word of this text appears in title or description.
    pub text: Option<String>,
    /// Result order.
    pub order: Order,
    /// Page size.
    pub limit: usize,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

/// One page of search results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The tasks, in order.
    pub tasks: Vec<Task>,
    /// Pass to the next search to continue; None at the end.
    pub next_cursor: Option<String>,
}

fn unit(what: &str, v: f64) -> Result<f64> {
    if v.is_finite() && (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(Error::validation(format!(
            "{what} must be between 0 and 1, got {v}"
        )))
    }
}

fn terms(what: &str, raw: &[String]) -> Result<Vec<String>> {
    if raw.len() > MAX_LIST {
        return Err(Error::validation(format!(
            "at most {MAX_LIST} {what}s per task, got {}",
            raw.len()
        )));
    }
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for r in raw {
        let t = ids::term(what, r)?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

fn related_ids(raw: &[String], own: &str) -> Result<Vec<String>> {
    if raw.len() > MAX_LIST {
        return Err(Error::validation(format!(
            "at most {MAX_LIST} related ids per task"
        )));
    }
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for r in raw {
        ids::id("related id", r)?;
        if r != own && !out.contains(r) {
            out.push(r.clone());
        }
    }
    Ok(out)
}

fn complexity(v: Option<Value>) -> Result<Option<Value>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let l = s.trim().to_ascii_lowercase();
            match l.as_str() {
                "low" | "medium" | "high" | "critical" => Ok(Some(Value::String(l))),
                _ => Err(Error::validation(format!(
                    "complexity must be low, medium, high, critical or a number 0..1, got {s:?}"
                ))),
            }
        }
        Some(Value::Number(n)) => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            unit("complexity", f)?;
            Ok(Some(Value::Number(n)))
        }
        Some(other) => Err(Error::validation(format!(
            "complexity must be a label or a number, got {other}"
        ))),
    }
}

fn text(what: &str, s: String, max: usize) -> Result<String> {
    if s.len() > max {
        return Err(Error::validation(format!(
            "{what} is {} bytes; the limit is {max}",
            s.len()
        )));
    }
    Ok(s)
}

fn opt_text(what: &str, s: Option<String>) -> Result<Option<String>> {
    match s {
        Some(s) if s.is_empty() => Ok(None),
        Some(s) => text(what, s, 4096).map(Some),
        None => Ok(None),
    }
}

fn metadata(v: Option<Value>) -> Result<Value> {
    match v {
        None | Some(Value::Null) => Ok(Value::Object(Map::new())),
        Some(Value::Object(m)) => {
            let size = serde_json::to_vec(&m)
                .map(|b| b.len())
                .unwrap_or(usize::MAX);
            if size > MAX_METADATA {
                return Err(Error::validation(format!(
                    "metadata is {size} bytes as JSON; the limit is {MAX_METADATA}"
                )));
            }
            Ok(Value::Object(m))
        }
        Some(other) => Err(Error::validation(format!(
            "metadata must be a mapping, got {other}"
        ))),
    }
}

pub use crate::clock::now;

/// A new sortable id: `t` + millisecond time + random suffix, in base 36.
pub fn new_id() -> String {
    let ms = crate::clock::now_ms();
    let r: u64 = rand::random::<u64>() % 36u64.pow(8);
    format!("t{}{:0>8}", base36(ms), base36(r))
}

fn base36(mut n: u64) -> String {
    const D: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(D[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

impl NewTask {
    /// Validates and fills defaults; the result is what every backend stores.
    pub fn into_task(self, at: f64) -> Result<Task> {
        let id = match self.id {
            Some(i) => ids::id("task id", &i)?.to_string(),
            None => new_id(),
        };
        if self.title.trim().is_empty() {
            return Err(Error::validation("a task needs a non-empty title"));
        }
        let related = related_ids(&self.related, &id)?;
        Ok(Task {
            title: text("title", self.title, MAX_TITLE)?,
            description: text(
                "description",
                self.description.unwrap_or_default(),
                MAX_DESCRIPTION,
            )?,
            intent: self.intent.map(|i| ids::term("intent", &i)).transpose()?,
            keywords: terms("keyword", &self.keywords)?,
            patterns: terms("pattern", &self.patterns)?,
            confidence: unit("confidence", self.confidence.unwrap_or(0.5))?,
            complexity: complexity(self.complexity)?,
            status: ids::term("status", self.status.as_deref().unwrap_or("pending"))?,
            progress: unit("progress", self.progress.unwrap_or(0.0))?,
            related,
            context_cascade: opt_text("context_cascade", self.context_cascade)?,
            estimated_effort: opt_text("estimated_effort", self.estimated_effort)?,
            metadata: metadata(self.metadata)?,
            created_at: at,
            updated_at: at,
            version: 1,
            id,
        })
    }
}

impl TaskPatch {
    /// True when nothing would change.
    pub fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.description.is_none()
            && self.intent.is_none()
            && self.keywords.is_none()
            && self.patterns.is_none()
            && self.confidence.is_none()
            && self.complexity.is_none()
            && self.status.is_none()
            && self.progress.is_none()
            && self.related.is_none()
            && self.context_cascade.is_none()
            && self.estimated_effort.is_none()
            && self.metadata.is_none()
    }

    /// Checks the patch on its own, before any store round trip.
    pub fn validate(&self) -> Result<()> {
        let mut probe = Task::placeholder();
        self.clone().apply(&mut probe, 0.0)
    }

    /// Applies the patch to `t` (validated), bumping version and time.
    pub fn apply(self, t: &mut Task, at: f64) -> Result<()> {
        if let Some(v) = self.title {
            if v.trim().is_empty() {
                return Err(Error::validation("a task needs a non-empty title"));
            }
            t.title = text("title", v, MAX_TITLE)?;
        }
        if let Some(v) = self.description {
            t.description = text("description", v, MAX_DESCRIPTION)?;
        }
        if let Some(v) = self.intent {
            t.intent = v.map(|i| ids::term("intent", &i)).transpose()?;
        }
        if let Some(v) = self.keywords {
            t.keywords = terms("keyword", &v)?;
        }
        if let Some(v) = self.patterns {
            t.patterns = terms("pattern", &v)?;
        }
        if let Some(v) = self.confidence {
            t.confidence = unit("confidence", v)?;
        }
        if let Some(v) = self.complexity {
            t.complexity = complexity(v)?;
        }
        if let Some(v) = self.status {
            t.status = ids::term("status", &v)?;
        }
        if let Some(v) = self.progress {
            t.progress = unit("progress", v)?;
        }
        if let Some(v) = self.related {
            t.related = related_ids(&v, &t.id)?;
        }
        if let Some(v) = self.context_cascade {
            t.context_cascade = opt_text("context_cascade", v)?;
        }
        if let Some(v) = self.estimated_effort {
            t.estimated_effort = opt_text("estimated_effort", v)?;
        }
        if let Some(v) = self.metadata {
            let Value::Object(updates) = v else {
                return Err(Error::validation("metadata must be a mapping"));
            };
            let mut merged = match std::mem::take(&mut t.metadata) {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            for (k, v) in updates {
                if v.is_null() {
                    merged.remove(&k);
                } else {
                    merged.insert(k, v);
                }
            }
            t.metadata = metadata(Some(Value::Object(merged)))?;
        }
        t.updated_at = if at > t.updated_at { at } else { t.updated_at };
        t.version += 1;
        Ok(())
    }
}

impl Task {
    fn placeholder() -> Task {
        Task {
            id: "probe".into(),
            title: "probe".into(),
            description: String::new(),
            intent: None,
            keywords: vec![],
            patterns: vec![],
            confidence: 0.5,
            complexity: None,
            status: "pending".into(),
            progress: 0.0,
            related: vec![],
            context_cascade: None,
            estimated_effort: None,
            metadata: Value::Object(Map::new()),
            created_at: 0.0,
            updated_at: 0.0,
            version: 1,
        }
    }

    /// Words of title and description for the free-text index.
    pub fn words(&self) -> Vec<String> {
        let mut w = tokenize(&self.title);
        for x in tokenize(&self.description) {
            if !w.contains(&x) {
                w.push(x);
            }
        }
        w
    }

    /// Every index term of the task as `(kind, term)`: `i` intent, `k` keyword, `p` pattern,
    /// `s` status, `w` word. The same list drives the SQLite rows and the Redis sets.
    pub fn index_terms(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(i) = &self.intent {
            out.push(("i", i.clone()));
        }
        out.push(("s", self.status.clone()));
        out.extend(self.keywords.iter().map(|k| ("k", k.clone())));
        if let Some(i) = &self.intent {
            out.extend(self.keywords.iter().map(|k| ("c", combined(i, k))));
        }
        out.extend(self.patterns.iter().map(|p| ("p", p.clone())));
        out.extend(self.words().into_iter().map(|w| ("w", w)));
        out
    }
}

/// The combined intent-and-keyword term `<len(intent)>:<intent>:<keyword>` (the length makes it
/// unambiguous when a term holds `:`). "Intent plus keywords" is the lookup an agent makes
/// most, and these sets are small, so the search starts from them instead of intersecting
/// the large per-intent and per-keyword sets.
pub fn combined(intent: &str, keyword: &str) -> String {
    format!("{}:{intent}:{keyword}", intent.len())
}

/// Most distinct words indexed per task (title first, then description).
pub const MAX_WORDS: usize = 512;

/// Lower-cased runs of letters and digits, each at most 40 characters, deduplicated, at most
/// [`MAX_WORDS`].
pub fn tokenize(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, out: &mut Vec<String>| {
        if !cur.is_empty() {
            let w: String = cur.chars().take(40).collect();
            if !out.contains(&w) && out.len() < MAX_WORDS {
                out.push(w);
            }
            cur.clear();
        }
    };
    for c in s.chars() {
        if c.is_alphanumeric() {
            cur.extend(c.to_lowercase());
        } else {
            flush(&mut cur, &mut out);
        }
    }
    flush(&mut cur, &mut out);
    out
}

impl Query {
    /// Validates and normalises every criterion (terms lower-cased, ids checked, limits
    /// bounded) so that backends can trust it.
    pub fn normalized(mut self) -> Result<Query> {
        if self.limit == 0 || self.limit > MAX_LIMIT {
            return Err(Error::validation(format!(
                "limit must be 1 to {MAX_LIMIT}, got {}",
                self.limit
            )));
        }
        self.intent = self.intent.map(|i| ids::term("intent", &i)).transpose()?;
        self.status = self.status.map(|i| ids::term("status", &i)).transpose()?;
        self.keywords_all = terms("keyword", &self.keywords_all)?;
        self.keywords_any = terms("keyword", &self.keywords_any)?;
        self.patterns = terms("pattern", &self.patterns)?;
        if let Some(r) = &self.related_to {
            ids::id("related_to", r)?;
        }
        for v in [self.min_confidence, self.max_confidence]
            .into_iter()
            .flatten()
        {
            unit("confidence bound", v)?;
        }
        if let Some(c) = &self.cursor {
            decode_cursor(c)?;
        }
        Ok(self)
    }

    /// Words of the free-text criterion.
    pub fn words(&self) -> Vec<String> {
        self.text.as_deref().map(tokenize).unwrap_or_default()
    }

    /// Every term that must be present, as `(kind, term)`.
    pub fn all_terms(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        match &self.intent {
            Some(i) if !self.keywords_all.is_empty() => {
                out.extend(self.keywords_all.iter().map(|k| ("c", combined(i, k))));
            }
            Some(i) => out.push(("i", i.clone())),
            None => out.extend(self.keywords_all.iter().map(|k| ("k", k.clone()))),
        }
        if let Some(s) = &self.status {
            out.push(("s", s.clone()));
        }
        out.extend(self.patterns.iter().map(|p| ("p", p.clone())));
        out.extend(self.words().into_iter().map(|w| ("w", w)));
        out
    }
}

/// Reads a cursor given by the caller.
pub fn decode_cursor(c: &str) -> Result<(f64, String)> {
    let bad = || Error::validation(format!("{c:?} is not a cursor returned by search()"));
    let (s, id) = c.split_once('~').ok_or_else(bad)?;
    let score: f64 = s.parse().map_err(|_| bad())?;
    if !score.is_finite() {
        return Err(bad());
    }
    ids::id("cursor", id).map_err(|_| bad())?;
    Ok((score, id.to_string()))
}
