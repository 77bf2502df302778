//! A reader's place in the change feed: one position per capability (its sequence number
//! and where that entry sits in the store), as opaque text.

use crate::error::{Error, Result};

/// Longest cursor text accepted.
const MAX_TEXT: usize = 4096;

/// Positions per capability; a capability without one is read from its oldest entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    at: Vec<(String, u64, String)>,
}

impl Cursor {
    /// The cursor at the given ends `(capability, last sequence number, its position)`; a
    /// capability with no sequence yet (0) starts from its oldest entry.
    pub fn at_end(ends: Vec<(String, u64, String)>) -> Cursor {
        Cursor {
            at: ends.into_iter().filter(|(_, seq, _)| *seq > 0).collect(),
        }
    }

    /// The position in `cap`, if the cursor has one.
    pub fn get(&self, cap: &str) -> Option<(u64, &str)> {
        self.at
            .iter()
            .find(|(c, _, _)| c == cap)
            .map(|(_, s, p)| (*s, p.as_str()))
    }

    /// Moves the position in `cap`.
    pub fn set(&mut self, cap: &str, seq: u64, pos: &str) {
        match self.at.iter_mut().find(|(c, _, _)| c == cap) {
            Some(e) => {
                e.1 = seq;
                e.2 = pos.to_string();
            }
            None => self.at.push((cap.to_string(), seq, pos.to_string())),
        }
    }

    /// The text form: `c1` then `;cap=seq@pos` per capability.
    pub fn encode(&self) -> String {
        let mut s = String::from("c1");
        for (cap, seq, pos) in &self.at {
            s.push_str(&format!(";{cap}={seq}@{pos}"));
        }
        s
    }

    /// Reads the text form; ValidationError for anything else.
    pub fn parse(text: &str) -> Result<Cursor> {
        let bad = || Error::validation(format!("{text:?} is not a change feed cursor"));
        if text.len() > MAX_TEXT {
            return Err(Error::validation("change feed cursor too long"));
        }
        let mut parts = text.split(';');
        if parts.next() != Some("c1") {
            return Err(bad());
        }
        let mut at = Vec::new();
        for p in parts {
            let (cap, rest) = p.split_once('=').ok_or_else(bad)?;
            let (seq, pos) = rest.split_once('@').ok_or_else(bad)?;
            let cap_ok = !cap.is_empty()
                && cap.len() <= 32
                && cap.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
            let pos_ok = pos.len() <= 48 && pos.bytes().all(|b| b.is_ascii_digit() || b == b'-');
            if !cap_ok || !pos_ok || at.iter().any(|(c, _, _): &(String, u64, String)| c == cap) {
                return Err(bad());
            }
            at.push((
                cap.to_string(),
                seq.parse().map_err(|_| bad())?,
                pos.to_string(),
            ));
        }
        Ok(Cursor { at })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trips_and_refuses_garbage() {
        let mut c = Cursor::default();
        c.set("tasks", 17, "1733350000000-3");
        c.set("docs", 5, "5");
        let t = c.encode();
        assert_eq!(t, "c1;tasks=17@1733350000000-3;docs=5@5");
        assert_eq!(Cursor::parse(&t).unwrap(), c);
        assert_eq!(Cursor::parse("c1").unwrap(), Cursor::default());
        for bad in [
            "",
            "x",
            "c2;tasks=1@1",
            "c1;tasks=x@1",
            "c1;Tasks=1@1",
            "c1;t=1@*",
            "c1;a=1@1;a=2@2",
        ] {
            assert!(Cursor::parse(bad).is_err(), "{bad}");
        }
    }
}
