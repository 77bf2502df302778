//! The RESP2 reply reader of the blocking connection ([`super::spin`]).
//!
//! Why not the redis crate's `Parser`: it is built from `combine` parser combinators, and
//! for replies with many elements (a stream range, a page of hashes) they took about half of
//! the client's CPU; a `recent(50)` of a chat log spent more time parsing than waiting for
//! the server. This reader walks the bytes once with `memchr`, one element at a time, and
//! keeps the arrays it is inside on a stack, so a reply that arrives in pieces resumes where
//! it stopped instead of starting over (linear in the reply's size).
//!
//! It produces the same `redis::Value`s as the crate's parser for RESP2 (`Okay` for `+OK`,
//! `Nil` for `$-1` and `*-1`); error lines go through the crate's own parser so their kinds
//! (MOVED, ASK, TRYAGAIN, NOSCRIPT, …) are classified as before. RESP3 types are refused:
//! this connection never asks for RESP3 (spin.rs uses the crate's connection for that).

use std::io::{self, Read};

use redis::{ErrorKind, RedisError, RedisResult, Value};

/// Arrays nested deeper than this are refused (the redis crate's limit too).
const MAX_DEPTH: usize = 100;
/// The buffer's starting size, and what it shrinks back to after a large reply.
const CHUNK: usize = 16 * 1024;
/// A buffer grown past this is given back once the reply that needed it is read.
const KEEP: usize = 1024 * 1024;

/// Reads RESP2 replies from a byte stream, one [`Value`] at a time.
pub struct Reader {
    buf: Vec<u8>,
    /// Bytes `start..end` of `buf` are read and not parsed yet.
    start: usize,
    end: usize,
    /// Bytes (from `start`) the next element needs before it is worth parsing again.
    need: usize,
    /// The arrays being filled: their items so far and how many are still to come.
    stack: Vec<(Vec<Value>, usize)>,
}

impl Default for Reader {
    fn default() -> Self {
        Reader::new()
    }
}

/// One element's head: a finished value, or the start of an array of `n` (> 0) items.
enum Element {
    Value(Value),
    Array(usize),
}

fn protocol(detail: String) -> RedisError {
    RedisError::from((ErrorKind::Parse, "invalid RESP2 reply", detail))
}

/// The line of `b` starting after its type byte: its text and the length through `\r\n`,
/// or None while the `\r\n` has not arrived.
/// (`memchr` for the `\r`: a `memmem` search would build a searcher for every line, which
/// cost more than the rest of the parse for a reply of many short elements.)
fn line(b: &[u8]) -> RedisResult<Option<(&[u8], usize)>> {
    let Some(at) = memchr::memchr(b'\r', &b[1..]) else {
        return Ok(None);
    };
    match b.get(at + 2) {
        None => Ok(None),
        Some(b'\n') => Ok(Some((&b[1..1 + at], at + 3))),
        Some(_) => Err(protocol("a line with a CR not followed by LF".into())),
    }
}

fn integer(text: &[u8]) -> RedisResult<i64> {
    // The common case, plain digits that fit, without UTF-8 checks or trimming.
    if !text.is_empty() && text.len() <= 18 && text.iter().all(u8::is_ascii_digit) {
        return Ok(text.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')));
    }
    std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .ok_or_else(|| {
            protocol(format!(
                "expected an integer, got {:?}",
                String::from_utf8_lossy(text)
            ))
        })
}

/// Parses the element at the start of `b`: `Ok(Ok((element, bytes used)))`, or
/// `Ok(Err(bytes needed))` while it is incomplete (a lower bound: at least one more).
fn element(b: &[u8]) -> RedisResult<Result<(Element, usize), usize>> {
    let Some(&kind) = b.first() else {
        return Ok(Err(1));
    };
    let Some((text, used)) = line(b)? else {
        return Ok(Err(b.len() + 1));
    };
    let el = match kind {
        b'+' => {
            let s = std::str::from_utf8(text)
                .map_err(|_| protocol("a status line that is not UTF-8".into()))?;
            Element::Value(if s == "OK" {
                Value::Okay
            } else {
                Value::SimpleString(s.to_string())
            })
        }
        b':' => Element::Value(Value::Int(integer(text)?)),
        b'$' => {
            let n = integer(text)?;
            if n < 0 {
                Element::Value(Value::Nil)
            } else {
                let total = used + n as usize + 2;
                if b.len() < total {
                    return Ok(Err(total));
                }
                if &b[total - 2..total] != b"\r\n" {
                    return Err(protocol("a bulk string not followed by CRLF".into()));
                }
                return Ok(Ok((
                    Element::Value(Value::BulkString(b[used..total - 2].to_vec())),
                    total,
                )));
            }
        }
        b'*' => {
            let n = integer(text)?;
            match n {
                n if n < 0 => Element::Value(Value::Nil),
                0 => Element::Value(Value::Array(Vec::new())),
                n => Element::Array(n as usize),
            }
        }
        // The redis crate's own parser reads error lines, so their kinds stay as it names
        // them (the retry logic of the cluster client depends on them).
        b'-' => Element::Value(redis::parse_redis_value(&b[..used])?),
        other => {
            return Err(protocol(format!(
                "unexpected type byte {other:#04x} (this connection speaks RESP2)"
            )))
        }
    };
    Ok(Ok((el, used)))
}

impl Reader {
    /// An empty reader.
    pub fn new() -> Reader {
        Reader {
            buf: vec![0; CHUNK],
            start: 0,
            end: 0,
            need: 0,
            stack: Vec::new(),
        }
    }

    /// Reads the next reply, reading from `r` as often as it takes. An error leaves the
    /// reader in an unknown place: the caller closes the connection.
    pub fn read<R: Read>(&mut self, r: &mut R) -> RedisResult<Value> {
        loop {
            if let Some(v) = self.parse()? {
                if self.start == self.end {
                    self.start = 0;
                    self.end = 0;
                    if self.buf.len() > KEEP {
                        self.buf = vec![0; CHUNK];
                    }
                }
                return Ok(v);
            }
            self.fill(r)?;
        }
    }

    /// Reads more bytes, making room for what the element in progress needs.
    fn fill<R: Read>(&mut self, r: &mut R) -> RedisResult<()> {
        let room = self.need.max(self.end - self.start + 1);
        if self.start + room > self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if room > self.buf.len() {
                let size = room.max(2 * self.buf.len());
                self.buf.resize(size, 0);
            }
        }
        let n = r.read(&mut self.buf[self.end..])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            )
            .into());
        }
        self.end += n;
        Ok(())
    }

    /// The next complete reply in the buffer, or None when it needs more bytes.
    fn parse(&mut self) -> RedisResult<Option<Value>> {
        loop {
            let avail = &self.buf[self.start..self.end];
            if avail.len() < self.need {
                return Ok(None);
            }
            let (el, used) = match element(avail)? {
                Ok(x) => x,
                Err(need) => {
                    self.need = need;
                    return Ok(None);
                }
            };
            self.start += used;
            self.need = 0;
            let mut v = match el {
                Element::Value(v) => v,
                Element::Array(n) => {
                    if self.stack.len() >= MAX_DEPTH {
                        return Err(protocol("arrays nested too deep".into()));
                    }
                    self.stack.push((Vec::with_capacity(n.min(4096)), n));
                    continue;
                }
            };
            // Hand the value up through the arrays it completes.
            loop {
                let Some((items, left)) = self.stack.last_mut() else {
                    return Ok(Some(v));
                };
                items.push(v);
                *left -= 1;
                if *left > 0 {
                    break;
                }
                let (items, _) = self.stack.pop().expect("an array in progress");
                v = Value::Array(items);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader over `bytes` that hands them out `step` at a time.
    struct Trickle<'a> {
        bytes: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(out.len()).min(self.bytes.len());
            out[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    fn all(bytes: &[u8], step: usize) -> RedisResult<Vec<Value>> {
        let mut r = Reader::new();
        let mut src = Trickle { bytes, step };
        let mut out = Vec::new();
        while !src.bytes.is_empty() || r.start < r.end {
            out.push(r.read(&mut src)?);
        }
        Ok(out)
    }

    /// What the redis crate's parser makes of the same bytes, reply by reply.
    fn reference(bytes: &[u8]) -> Vec<Value> {
        let mut p = redis::Parser::new();
        let mut src = bytes;
        let mut out = Vec::new();
        // Its decoder reads ahead of the value it returns: stop at the end of the input.
        while let Ok(v) = p.parse_value(&mut src) {
            out.push(v);
        }
        out
    }

    const SAMPLE: &[u8] =
        b"+OK\r\n+QUEUED\r\n:42\r\n:-7\r\n$5\r\nhello\r\n$0\r\n\r\n$-1\r\n*-1\r\n*0\r\n\
        *2\r\n$2\r\nid\r\n*4\r\n$4\r\nrole\r\n$4\r\nuser\r\n$7\r\ncontent\r\n$4\r\na\r\nb\r\n\
        -ERR wrong number of arguments\r\n-MOVED 3999 127.0.0.1:6381\r\n\
        *3\r\n:1\r\n*1\r\n*1\r\n$1\r\nx\r\n-TRYAGAIN later\r\n\
        :123456789012345678\r\n:1234567890123456789\r\n:-9223372036854775808\r\n:007\r\n";

    #[test]
    fn replies_match_the_redis_crate_in_any_pieces() {
        let want = reference(SAMPLE);
        for step in [1, 2, 3, 5, 7, 64, 4096] {
            assert_eq!(all(SAMPLE, step).expect("parses"), want, "step {step}");
        }
    }

    #[test]
    fn a_large_bulk_string_and_a_long_array_arrive_whole() {
        let body = vec![b'z'; 3 * CHUNK + 17];
        let mut bytes = format!("${}\r\n", body.len()).into_bytes();
        bytes.extend_from_slice(&body);
        bytes.extend_from_slice(b"\r\n*5000\r\n");
        for i in 0..5000 {
            bytes.extend_from_slice(format!(":{i}\r\n").as_bytes());
        }
        let want = reference(&bytes);
        assert_eq!(all(&bytes, 1000).expect("parses"), want);
        assert_eq!(all(&bytes, 1 << 20).expect("parses"), want);
    }

    #[test]
    fn bad_bytes_are_errors_not_values() {
        for bad in [
            &b"$3\r\nabcd\r\n"[..],
            b":12x\r\n",
            b"%1\r\n",
            b"+\xff\xfe\r\n",
            b":1\r2\r\n",
            b"+O\rK\r\n",
            b":99999999999999999999\r\n",
            b":\r\n",
        ] {
            assert!(all(bad, 4096).is_err(), "{bad:?}");
        }
        let mut deep = b"*1\r\n".repeat(MAX_DEPTH + 1);
        deep.extend_from_slice(b":1\r\n");
        assert!(all(&deep, 4096).is_err());
        // The end of the stream in the middle of a reply.
        assert!(all(b"*2\r\n:1\r\n", 4096).is_err());
    }
}
