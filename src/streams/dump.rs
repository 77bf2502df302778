//! Chat and activity logs in a namespace export (`crate::transfer`, docs/export.md): one
//! record per entry, in (log, id) order, with its id; imported with the same ids on either
//! backend (both number a log as a Redis stream does).
//!
//! - chat: `{"k": "message", "conversation", "id", "role", "content", "meta"}` (meta: any
//!   JSON value, or null for none)
//! - activity: `{"k": "item", "user", "id", "kind", "data"}`

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{id_text, parse_id, Entry, Kind, KINDS, MAX_SIZE_LIMIT};
use crate::engine::{tri, Backend, Importer, Op, Page, Record};
use crate::error::{Error, Result};
use crate::ids;
use crate::transfer::record::{self, BATCH, PAGE};

/// Where a page starts: after entry `id` of log `s`.
#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    s: String,
    id: String,
}

fn tag(k: &Kind) -> &'static str {
    if k.has_meta {
        "message"
    } else {
        "item"
    }
}

fn json(text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(Error::from)
}

fn rec(k: &Kind, e: Entry) -> Result<Record> {
    let mut m = Map::new();
    m.insert("k".into(), Value::String(tag(k).into()));
    m.insert(k.stream_word.into(), Value::String(e.stream));
    m.insert("id".into(), Value::String(e.id));
    m.insert(k.kind_word.into(), Value::String(e.kind));
    let body = if k.body_json {
        json(&e.body)?
    } else {
        Value::String(e.body)
    };
    m.insert(k.body_word.into(), body);
    if k.has_meta {
        let meta = match e.meta {
            Some(t) => json(&t)?,
            None => Value::Null,
        };
        m.insert("meta".into(), meta);
    }
    Ok(m)
}

/// One page of the namespace's entries, in (log, id) order.
pub fn export<const K: usize>(b: &Backend, ns: &str, cursor: Value) -> Op<Page> {
    let k = &KINDS[K];
    let cur: Option<Cursor> = tri!(record::cursor(cursor));
    let after = match cur {
        Some(c) => {
            let (ms, seq) = tri!(parse_id(&c.id));
            Some((c.s, ms, seq))
        }
        None => None,
    };
    b.call(
        (ns.to_string(), after),
        move |db, (ns, after)| super::sqlite::export_page(db, k, &ns, after, PAGE),
        move |r, c, (ns, after)| super::redis::export_page(r, c, k, ns, after, PAGE),
    )
    .and_then(move |entries| {
        let full = entries.len() >= PAGE;
        let next = match entries.last() {
            Some(e) if full => Some(record::next(&Cursor {
                s: e.stream.clone(),
                id: e.id.clone(),
            })?),
            _ => None,
        };
        let records = entries
            .into_iter()
            .map(|e| rec(k, e))
            .collect::<Result<_>>()?;
        Ok(Page { records, next })
    })
}

/// Writes the entries back in batches, with their ids.
pub fn import<const K: usize>(b: &Backend, ns: &str) -> Box<dyn Importer> {
    Box::new(Import {
        b: b.clone(),
        ns: ns.to_string(),
        k: &KINDS[K],
        last: HashMap::new(),
        batch: Vec::new(),
    })
}

type Row = super::Restored;

struct Import {
    b: Backend,
    ns: String,
    k: &'static Kind,
    /// The last id of each log so far (ids must grow within a log).
    last: HashMap<String, (u64, u64)>,
    batch: Vec<Row>,
}

impl Import {
    fn flush(&mut self) -> Option<Op<()>> {
        if self.batch.is_empty() {
            return None;
        }
        let rows = std::mem::take(&mut self.batch);
        let k = self.k;
        Some(self.b.call(
            (self.ns.clone(), rows),
            move |db, (ns, rows)| super::sqlite::restore(db, k, &ns, &rows),
            move |r, c, (ns, rows)| super::redis::restore(r, c, k, ns, rows),
        ))
    }

    fn row(&self, mut rec: Record) -> Result<Row> {
        let k = self.k;
        let bad =
            |what: String| Error::validation(format!("not a valid {} record: {what}", k.name));
        let mut take = |f: &str| rec.remove(f).ok_or_else(|| bad(format!("no field {f:?}")));
        let string = |v: Value, f: &str| match v {
            Value::String(s) => Ok(s),
            _ => Err(bad(format!("{f} must be text"))),
        };
        if take("k")? != Value::String(tag(k).into()) {
            return Err(bad(format!("\"k\" must be {:?}", tag(k))));
        }
        let stream = string(take(k.stream_word)?, k.stream_word)?;
        let id = string(take("id")?, "id")?;
        let kind = string(take(k.kind_word)?, k.kind_word)?;
        let body = match take(k.body_word)? {
            v if k.body_json => serde_json::to_string(&v)?,
            v => string(v, k.body_word)?,
        };
        let meta = if k.has_meta {
            match take("meta")? {
                Value::Null => None,
                v => Some(serde_json::to_string(&v)?),
            }
        } else {
            None
        };
        if let Some(f) = rec.keys().next() {
            return Err(bad(format!("unknown field {f:?}")));
        }
        ids::id(k.stream_word, &stream)?;
        (k.check_kind)(&kind)?;
        let (ms, seq) = parse_id(&id)?;
        if (ms, seq) == (0, 0) {
            return Err(bad("id 0-0 (ids start above it)".into()));
        }
        if body.len() + meta.as_ref().map_or(0, String::len) > MAX_SIZE_LIMIT {
            return Err(bad(format!("entry {id} is over {MAX_SIZE_LIMIT} bytes")));
        }
        Ok((stream, ms, seq, kind, body, meta))
    }
}

impl Importer for Import {
    fn add(&mut self, rec: Record) -> Result<Option<Op<()>>> {
        let row = self.row(rec)?;
        let id = (row.1, row.2);
        if let Some(prev) = self.last.get(&row.0) {
            if id <= *prev {
                return Err(Error::validation(format!(
                    "{} entry {} of {:?} is not after {} (the file lists a log's entries in \
                     id order, each once)",
                    self.k.name,
                    id_text(id.0, id.1),
                    row.0,
                    id_text(prev.0, prev.1)
                )));
            }
        }
        self.last.insert(row.0.clone(), id);
        self.batch.push(row);
        Ok((self.batch.len() >= BATCH).then(|| self.flush()).flatten())
    }

    fn finish(&mut self) -> Result<Option<Op<()>>> {
        Ok(self.flush())
    }
}
