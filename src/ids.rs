//! Validation of every caller-supplied string that becomes part of a key, a row key or a path.
//!
//! Nothing a user types may act as a glob in `SCAN MATCH`, break a Redis hash tag, or walk out
//! of a directory, so the rules are strict and the same on every backend.

use crate::error::{Error, Result};

/// Longest id (task ids, entity ids).
pub const MAX_ID_LEN: usize = 128;
/// Longest namespace.
pub const MAX_NAMESPACE_LEN: usize = 64;
/// Longest index term (intent, keyword, pattern, status).
pub const MAX_TERM_LEN: usize = 100;

fn describe(c: char) -> String {
    if c.is_control() {
        format!("control character U+{:04X}", c as u32)
    } else if c.is_whitespace() {
        "whitespace".to_string()
    } else {
        format!("{c:?}")
    }
}

/// A namespace: 1–64 of `A-Z a-z 0-9 _ - .`, not starting with `.` and without `..`.
pub fn namespace(ns: &str) -> Result<&str> {
    if ns.is_empty() || ns.len() > MAX_NAMESPACE_LEN {
        return Err(Error::validation(format!(
            "namespace must be 1 to {MAX_NAMESPACE_LEN} characters, got {}",
            ns.len()
        )));
    }
    if let Some(c) = ns
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(Error::validation(format!(
            "namespace {ns:?} contains {}; use letters, digits, '_', '-' and '.'",
            describe(c)
        )));
    }
    if ns.starts_with('.') || ns.contains("..") {
        return Err(Error::validation(format!(
            "namespace {ns:?} may not start with '.' or contain '..'"
        )));
    }
    Ok(ns)
}

/// An id (task id, related id): 1–128 of `A-Z a-z 0-9 _ - . : / @ + =`, without `..`, not
/// starting with `/` or `.`.
pub fn id<'a>(what: &str, id: &'a str) -> Result<&'a str> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(Error::validation(format!(
            "{what} must be 1 to {MAX_ID_LEN} characters, got {}",
            id.len()
        )));
    }
    if let Some(c) = id.chars().find(|c| {
        !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '/' | '@' | '+' | '='))
    }) {
        return Err(Error::validation(format!(
            "{what} {id:?} contains {}; ids use letters, digits and _ - . : / @ + =",
            describe(c)
        )));
    }
    if id.starts_with('/') || id.starts_with('.') || id.contains("..") {
        return Err(Error::validation(format!(
            "{what} {id:?} may not start with '/' or '.' or contain '..'"
        )));
    }
    Ok(id)
}

/// Normalises an index term (intent, keyword, pattern, status): trimmed, lower-cased, inner
/// whitespace runs turned into `_`. Rejects empty, over-long, control characters and the
/// characters that have a meaning in keys or globs (`* ? [ ] { } \`).
pub fn term(what: &str, raw: &str) -> Result<String> {
    let t = raw.trim();
    if t.is_empty() || t.len() > MAX_TERM_LEN {
        return Err(Error::validation(format!(
            "{what} must be 1 to {MAX_TERM_LEN} characters, got {:?}",
            raw
        )));
    }
    let mut out = String::with_capacity(t.len());
    let mut ws = false;
    for c in t.chars() {
        if c.is_whitespace() {
            ws = true;
            continue;
        }
        if c.is_control() || matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | '\\') {
            return Err(Error::validation(format!(
                "{what} {raw:?} contains {}",
                describe(c)
            )));
        }
        if ws {
            out.push('_');
            ws = false;
        }
        out.extend(c.to_lowercase());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_globs_and_traversal() {
        for bad in [
            "*", "a?b", "a[1]", "a b", "a\nb", "", "../x", "/abs", "a{b}",
        ] {
            assert!(id("task id", bad).is_err(), "{bad:?}");
        }
        assert!(id("task id", &"x".repeat(129)).is_err());
        assert_eq!(id("task id", "auth_impl_001").ok(), Some("auth_impl_001"));
        assert!(namespace("a:b").is_err());
        assert!(namespace("team-1.prod").is_ok());
    }

    #[test]
    fn terms_normalise() {
        assert_eq!(
            term("keyword", "  Machine   Learning ").ok().as_deref(),
            Some("machine_learning")
        );
        assert!(term("keyword", "jw*").is_err());
        assert!(term("keyword", "   ").is_err());
    }
}
