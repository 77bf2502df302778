//! What the capabilities' export and import functions share: typed records to and from JSON
//! objects, cursors, and the errors a malformed file gets.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::engine::Record;
use crate::error::{Error, Result};

/// Most records one page of an export holds (a capability may use fewer).
pub const PAGE: usize = 500;
/// Most records one write of an import carries (a capability may use fewer).
pub const BATCH: usize = 500;

/// `rec` as the capability's typed record (a serde type tagged by `"k"`); a record that does
/// not fit it is a ValidationError naming the capability.
pub fn parse<T: DeserializeOwned>(cap: &str, rec: Record) -> Result<T> {
    serde_json::from_value(Value::Object(rec))
        .map_err(|e| Error::validation(format!("not a valid {cap} record: {e}")))
}

/// Fails when `given` has a field that `known` (the same record written back) lacks: for
/// record types that cannot refuse unknown fields themselves.
pub fn no_strangers(cap: &str, given: &[String], known: &Record) -> Result<()> {
    match given.iter().find(|k| !known.contains_key(k.as_str())) {
        Some(k) => Err(Error::validation(format!(
            "not a valid {cap} record: unknown field {k:?}"
        ))),
        None => Ok(()),
    }
}

/// A typed record as the JSON object an export writes.
pub fn record<T: Serialize>(rec: &T) -> Result<Record> {
    match serde_json::to_value(rec)? {
        Value::Object(m) => Ok(m),
        other => Err(Error::Backend(format!(
            "an export record did not serialise to an object: {other}"
        ))),
    }
}

/// Reads a cursor an export function returned (None: the first page).
pub fn cursor<T: DeserializeOwned>(v: Value) -> Result<Option<T>> {
    if v.is_null() {
        return Ok(None);
    }
    serde_json::from_value(v)
        .map(Some)
        .map_err(|e| Error::Backend(format!("bad export cursor: {e}")))
}

/// A cursor for the next page.
pub fn next<T: Serialize>(c: &T) -> Result<Value> {
    Ok(serde_json::to_value(c)?)
}

/// The error for a record the file holds twice.
pub fn duplicate(what: &str, id: &str) -> Error {
    Error::validation(format!("the file holds {what} {id:?} twice"))
}

/// `e` as [`duplicate`] when it is SQLite's unique-constraint failure, else the store error.
pub fn sqlite_insert(r: rusqlite::Result<usize>, what: &str, id: &str) -> Result<()> {
    match r {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(f, _))
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(duplicate(what, id))
        }
        Err(e) => Err(e.into()),
    }
}

/// A number as Redis keeps it: the shortest text that reads back as the same f64.
pub fn num(f: f64) -> String {
    format!("{f}")
}

/// Checks that `v` is a finite time (or count of seconds) at or after the epoch.
pub fn time(what: &str, v: f64) -> Result<f64> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(Error::validation(format!(
            "{what} must be a number of seconds >= 0, got {v}"
        )))
    }
}

/// Fails unless `normalised == given`: a value the capability's own validation would store
/// differently is not what an export of it holds.
pub fn same<T: PartialEq + std::fmt::Debug>(what: &str, given: &T, normalised: &T) -> Result<()> {
    if given == normalised {
        Ok(())
    } else {
        Err(Error::validation(format!(
            "{what} is {given:?}, which zerolag stores as {normalised:?}: not an exported value"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    #[serde(tag = "k", rename_all = "snake_case", deny_unknown_fields)]
    enum Rec {
        One { a: u64 },
        Two { b: Option<String> },
    }

    #[test]
    fn typed_records_round_trip_and_strangers_are_refused() {
        let r = record(&Rec::One { a: 3 }).expect("serialises");
        assert_eq!(
            Value::Object(r.clone()),
            serde_json::json!({"k": "one", "a": 3})
        );
        assert_eq!(parse::<Rec>("x", r).ok(), Some(Rec::One { a: 3 }));
        for bad in [
            serde_json::json!({"k": "three"}),
            serde_json::json!({"k": "one", "a": 3, "zz": 1}),
            serde_json::json!({"k": "one", "a": "3"}),
            serde_json::json!({"a": 3}),
        ] {
            let Value::Object(m) = bad else { continue };
            assert!(matches!(parse::<Rec>("x", m), Err(Error::Validation(_))));
        }
        assert_eq!(num(0.1), "0.1");
        assert_eq!(num(1763781234.5), "1763781234.5");
        assert_eq!(num(5.0).parse::<f64>().ok(), Some(5.0));
    }
}
