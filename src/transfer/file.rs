//! The export file: JSON Lines. A header line, one line per record (`{"c": "<capability>",
//! ...}`), a footer line counting the records of each capability. Read line by line with a
//! bound on a line's length; the footer is looked for before anything is written, so a
//! truncated file is refused whole.

use std::fs::File;
use std::io::{BufRead, Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::engine::Record;
use crate::error::{Error, Result};

/// The `format` of the header.
pub const FORMAT: &str = "zerolag.namespace";
/// The version of the format this zerolag writes and reads.
pub const VERSION: u64 = 1;
/// Longest line an import reads (a bus payload may be 64 MiB; the rest is far smaller).
pub const MAX_LINE: usize = 128 << 20;
/// Most bytes at the end of the file the footer may take.
const FOOTER_MAX: u64 = 1 << 20;

/// The first line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// [`FORMAT`].
    pub format: String,
    /// [`VERSION`].
    pub version: u64,
    /// The zerolag version that wrote it.
    pub zerolag: String,
    /// The namespace it was exported from.
    pub namespace: String,
    /// The backend it was exported from (`embedded`, `redis`, `redis-cluster`).
    pub backend: String,
    /// When (Unix seconds).
    pub created: f64,
    /// The capabilities it holds, in the order of their records.
    pub capabilities: Vec<String>,
}

/// The last line: records per capability, so a truncated or spliced file is detected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Footer {
    /// Always [`FORMAT`]: marks the line as the footer.
    pub end: String,
    /// Records per capability, in file order.
    pub records: Map<String, Value>,
    /// All records.
    pub total: u64,
}

impl Footer {
    /// `(capability, records)` pairs.
    pub fn counts(&self) -> Result<Vec<(String, u64)>> {
        self.records
            .iter()
            .map(|(k, v)| {
                v.as_u64()
                    .map(|n| (k.clone(), n))
                    .ok_or_else(|| bad(format!("the footer's count of {k:?} is not a count")))
            })
            .collect()
    }
}

fn bad(msg: impl std::fmt::Display) -> Error {
    Error::validation(format!("not a zerolag namespace export: {msg}"))
}

/// Reads the header line: a later format version is refused by its number, before its
/// fields are looked at.
pub fn header(line: &[u8]) -> Result<Header> {
    let v: Value = serde_json::from_slice(line)
        .map_err(|e| bad(format!("the first line is not JSON ({e})")))?;
    if v.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(bad(format!(
            "the first line does not say \"format\": {FORMAT:?}"
        )));
    }
    match v.get("version").and_then(Value::as_u64) {
        Some(VERSION) => {}
        Some(n) => {
            return Err(Error::validation(format!(
                "the file is an export of format version {n}; this zerolag ({}) reads version \
                 {VERSION}",
                env!("CARGO_PKG_VERSION")
            )))
        }
        None => return Err(bad("the header has no version number")),
    }
    serde_json::from_value(v).map_err(|e| bad(format!("bad header: {e}")))
}

/// Reads a footer line.
pub fn footer(v: Value) -> Result<Footer> {
    let f: Footer = serde_json::from_value(v).map_err(|e| bad(format!("bad footer: {e}")))?;
    if f.end != FORMAT {
        return Err(bad(format!("the footer says end {:?}", f.end)));
    }
    Ok(f)
}

/// The footer at the end of the file at `path`, read before the import starts: a file cut
/// short has none, and is refused before anything is written.
pub fn tail_footer(path: &Path) -> Result<Footer> {
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    let from = len.saturating_sub(FOOTER_MAX);
    f.seek(SeekFrom::Start(from))?;
    let mut buf = Vec::with_capacity((len - from) as usize);
    f.read_to_end(&mut buf)?;
    let body = buf.strip_suffix(b"\n").unwrap_or(&buf);
    let last = match body.iter().rposition(|&b| b == b'\n') {
        Some(i) => &body[i + 1..],
        None if from == 0 => body,
        None => return Err(truncated()),
    };
    let v: Value = serde_json::from_slice(last).map_err(|_| truncated())?;
    if v.get("end").is_none() || v.get("c").is_some() {
        return Err(truncated());
    }
    footer(v)
}

fn truncated() -> Error {
    Error::validation(
        "the file does not end with the footer line of a zerolag namespace export: it was cut \
         short (or is not an export); nothing was imported",
    )
}

/// One line of the file as JSON text (no newline inside: JSON escapes them).
pub fn line<T: Serialize>(out: &mut impl Write, v: &T) -> Result<u64> {
    let mut s = serde_json::to_vec(v)?;
    s.push(b'\n');
    out.write_all(&s)?;
    Ok(s.len() as u64)
}

/// A record line: `{"c": "<capability>", ...the record's fields}`.
pub fn record_line(out: &mut impl Write, cap: &str, rec: &Record) -> Result<u64> {
    let mut m = Map::with_capacity(rec.len() + 1);
    m.insert("c".into(), Value::String(cap.to_string()));
    for (k, v) in rec {
        if k != "c" {
            m.insert(k.clone(), v.clone());
        }
    }
    line(out, &m)
}

/// The lines of a file, each at most `max` bytes; blank lines are skipped (but counted).
pub struct Lines<R> {
    r: R,
    n: u64,
    max: usize,
    buf: Vec<u8>,
}

impl<R: BufRead> Lines<R> {
    /// Lines of `r`.
    pub fn new(r: R, max: usize) -> Self {
        Lines {
            r,
            n: 0,
            max,
            buf: Vec::new(),
        }
    }

    /// The number of the line last returned (1-based).
    pub fn number(&self) -> u64 {
        self.n
    }

    /// The next non-blank line, without its newline; None at the end.
    pub fn next_line(&mut self) -> Result<Option<&[u8]>> {
        loop {
            self.buf.clear();
            let got = (&mut self.r)
                .take(self.max as u64 + 1)
                .read_until(b'\n', &mut self.buf)?;
            if got == 0 {
                return Ok(None);
            }
            self.n += 1;
            if self.buf.last() == Some(&b'\n') {
                self.buf.pop();
            } else if self.buf.len() > self.max {
                return Err(Error::validation(format!(
                    "line {} is longer than {} bytes: not a line zerolag writes",
                    self.n, self.max
                )));
            }
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
            if !self.buf.iter().all(u8::is_ascii_whitespace) {
                return Ok(Some(&self.buf));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn lines_are_bounded_and_numbered() {
        let text = b"{\"a\":1}\n\n{\"b\":2}\r\n0123456789abc\n";
        let mut l = Lines::new(&text[..], 12);
        assert_eq!(l.next_line().unwrap(), Some(&b"{\"a\":1}"[..]));
        assert_eq!(l.number(), 1);
        assert_eq!(l.next_line().unwrap(), Some(&b"{\"b\":2}"[..]));
        assert_eq!(l.number(), 3);
        let e = l.next_line().unwrap_err().to_string();
        assert!(e.contains("line 4 is longer than 12 bytes"), "{e}");
        let mut l = Lines::new(&b"last-without-newline"[..], 100);
        assert_eq!(l.next_line().unwrap(), Some(&b"last-without-newline"[..]));
        assert_eq!(l.next_line().unwrap(), None);
    }

    #[test]
    fn headers_of_another_version_or_format_are_refused_by_name() {
        let ok = serde_json::json!({"format": FORMAT, "version": 1, "zerolag": "0.1.0",
            "namespace": "a", "backend": "embedded", "created": 1.5, "capabilities": ["tasks"]});
        assert_eq!(
            header(ok.to_string().as_bytes()).unwrap().capabilities,
            ["tasks"]
        );
        let v2 = serde_json::json!({"format": FORMAT, "version": 2, "new": true});
        let e = header(v2.to_string().as_bytes()).unwrap_err().to_string();
        assert!(e.contains("format version 2"), "{e}");
        assert!(header(b"{\"format\":\"other\",\"version\":1}").is_err());
        assert!(header(b"not json").is_err());
    }
}
