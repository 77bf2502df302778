//! Keys in a namespace export (`crate::transfer`, docs/export.md): one record per live key,
//! with its value (bytes in base64), version and expiry (an absolute time). Imported as they
//! were: the same versions; a key that has expired by the time of the import is skipped.
//! What `touch` extends an imported key by is the time it had left at the import.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::{check_key, Item, Kv, Value};
use crate::engine::{tri, Backend, Importer, Op, Page, Record};
use crate::error::{Error, Result};
use crate::transfer::record::{self, BATCH, PAGE};

/// A kv record.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
enum Rec {
    /// One key as stored.
    Item {
        key: String,
        /// "b" bytes (data in base64), "s" text, "j" JSON text.
        #[serde(rename = "type")]
        ty: String,
        data: String,
        version: u64,
        expires_at_ms: Option<u64>,
    },
}

fn rec(it: Item) -> Rec {
    let (ty, data) = match it.value {
        Value::Bytes(b) => ("b", base64::engine::general_purpose::STANDARD.encode(b)),
        Value::Text(s) => ("s", s),
        Value::Json(s) => ("j", s),
    };
    Rec::Item {
        key: it.key,
        ty: ty.to_string(),
        data,
        version: it.version,
        expires_at_ms: it.expires_at_ms,
    }
}

/// One page of the namespace's keys, in key order.
pub fn export(b: &Backend, ns: &str, cursor: Json) -> Op<Page> {
    let after: Option<String> = tri!(record::cursor(cursor));
    let kv = Kv::new(b.clone(), ns.into());
    let page = kv.keys("", after.as_deref(), PAGE);
    Op::Async(Box::pin(async move {
        let page = page.run().await?;
        let items = kv.get_many(page.keys).run().await?;
        Ok(Page {
            records: items
                .into_iter()
                .flatten()
                .map(|it| record::record(&rec(it)))
                .collect::<Result<_>>()?,
            next: page.next.map(Json::String),
        })
    }))
}

/// Writes keys back in batches, as they were.
pub fn import(b: &Backend, ns: &str) -> Box<dyn Importer> {
    Box::new(Import {
        b: b.clone(),
        ns: ns.to_string(),
        batch: Vec::new(),
    })
}

struct Import {
    b: Backend,
    ns: String,
    batch: Vec<Item>,
}

fn item(r: Rec) -> Result<Item> {
    let Rec::Item {
        key,
        ty,
        data,
        version,
        expires_at_ms,
    } = r;
    check_key(&key)?;
    let bad = |what: &str| Error::validation(format!("kv record {key:?}: {what}"));
    let value = match ty.as_str() {
        "b" => Value::Bytes(
            base64::engine::general_purpose::STANDARD
                .decode(&data)
                .map_err(|_| bad("data is not base64"))?,
        ),
        "s" => Value::Text(data),
        "j" => {
            serde_json::from_str::<Json>(&data).map_err(|_| bad("data is not JSON"))?;
            Value::Json(data)
        }
        _ => return Err(bad("type must be b, s or j")),
    };
    if version == 0 {
        return Err(bad("version 0 (versions start at 1)"));
    }
    Ok(Item {
        key,
        value,
        version,
        expires_at_ms,
    })
}

impl Import {
    fn flush(&mut self) -> Option<Op<()>> {
        let now = crate::clock::now_ms();
        let items: Vec<Item> = std::mem::take(&mut self.batch)
            .into_iter()
            .filter(|it| it.expires_at_ms.is_none_or(|e| e > now))
            .collect();
        if items.is_empty() {
            return None;
        }
        Some(self.b.call(
            (self.ns.clone(), items),
            |db, (ns, items)| super::sqlite::restore(db, &ns, &items),
            |r, c, (ns, items)| super::redis::restore(r, c, ns, items),
        ))
    }
}

impl Importer for Import {
    fn add(&mut self, rec: Record) -> Result<Option<Op<()>>> {
        let keys: Vec<String> = rec.keys().cloned().collect();
        let r: Rec = record::parse("kv", rec)?;
        let it = item(r)?;
        record::no_strangers("kv", &keys, &record::record(&self::rec(it.clone()))?)?;
        if self.batch.iter().any(|x| x.key == it.key) {
            return Err(record::duplicate("kv key", &it.key));
        }
        self.batch.push(it);
        Ok((self.batch.len() >= BATCH).then(|| self.flush()).flatten())
    }

    fn finish(&mut self) -> Result<Option<Op<()>>> {
        Ok(self.flush())
    }
}
