//! Secret anonymisation: finds secrets and personal data in text (or in every string of a
//! JSON value) and replaces each with a placeholder such as `[REDACTED:github_token:8f3a9c1d2e4b]`.
//!
//! The tag after the rule name is a keyed hash (HMAC-SHA-256, first 6 bytes) of the secret:
//! the same secret always gets the same placeholder under the same key, so repeated patterns
//! still match, and without the key the placeholder says nothing about the secret.
//! `Anonymizer::new` without a key uses the environment variable `ZEROLAG_ANONYMIZE_KEY` if it
//! is set, else a fixed public default, which is stable everywhere but leaves low-entropy
//! values (an e-mail address) open to guessing by whoever sees the placeholders: set the
//! variable (the same in every process that must match) or pass a key.
//!
//! Pure Rust, no store access: later capabilities (bus payloads, caches) reuse it.

pub mod rules;
#[cfg(test)]
mod tests;
pub mod tokens;

use aho_corasick::AhoCorasick;
use hmac::{Hmac, Mac};
use regex::Regex;
use serde_json::Value;
use sha2::Sha256;

use self::rules::Check;
use crate::error::{Error, Result};

/// The key used when none is given and `ZEROLAG_ANONYMIZE_KEY` is not set.
const DEFAULT_KEY: &[u8] = b"zerolag-anonymize-default-key-v1";
/// The environment variable holding the default key.
pub const KEY_ENV: &str = "ZEROLAG_ANONYMIZE_KEY";
/// Categories of the built-in rules.
pub const CATEGORIES: &[&str] = &[
    "private_key",
    "aws",
    "github",
    "gitlab",
    "slack",
    "stripe",
    "twilio",
    "openai",
    "google",
    "npm",
    "pypi",
    "sendgrid",
    "mailchimp",
    "discord",
    "azure",
    "vendor_token",
    "jwt",
    "url_credentials",
    "auth_header",
    "keyword",
    "email",
    "ip",
    "home_path",
];

struct Rule {
    category: String,
    name: String,
    re: Regex,
    check: Check,
    /// Indexes into the prefilter's anchors; empty: the rule always runs.
    anchors: Vec<usize>,
}

/// One thing found: where, which rule, and the placeholder that replaces it.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Byte offset of the redacted part in the input.
    pub start: usize,
    /// Byte offset just after it.
    pub end: usize,
    /// Category of the rule.
    pub category: String,
    /// Name of the rule.
    pub rule: String,
    /// What replaces it.
    pub placeholder: String,
}

/// A configured set of rules and a key.
pub struct Anonymizer {
    rules: Vec<Rule>,
    /// Every rule's anchors, found in one pass (ASCII case-insensitive).
    prefilter: Option<AhoCorasick>,
    key: Vec<u8>,
    json_password_key: Regex,
    json_secret_key: Regex,
}

/// True when `v` is wholly a reference to a value kept elsewhere, in one of the usual
/// template syntaxes: `${DB_PASSWORD}`, `$(cat file)`, `$DB_PASSWORD`, `$password` (a variable),
/// `%(password)s`, `%s`, `%DB_PASSWORD%`, `{{ .Values.password }}`, `{password}`, `<password>`,
/// `<your-token-here>`, `[REDACTED]`, `[hidden]`. A value that merely starts with one of these
/// characters (`$ecretPassw0rd`, `*hunter2`, `[x9!Lq…`) is not one.
fn is_reference(v: &str) -> bool {
    let inner_ok = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b" _-.:|'\"/$".contains(&b))
    };
    let wrapped = |open: &str, close: &str| {
        v.len() > open.len() + close.len()
            && v.starts_with(open)
            && v.ends_with(close)
            && inner_ok(&v[open.len()..v.len() - close.len()])
    };
    if wrapped("${", "}")
        || wrapped("$(", ")")
        || wrapped("{{", "}}")
        || wrapped("{", "}")
        || wrapped("%(", ")s")
        || wrapped("%", "%")
        || wrapped("%{", "}")
        || wrapped("<", ">")
        || wrapped("[", "]")
        || wrapped("<%=", "%>")
        || v == "%s"
    {
        return true;
    }
    // `$NAME` (an environment variable) or `$name`/`$db_pass` (a shell, PHP or Perl variable):
    // one case only, no digits in a lowercase name. `$ecretPassw0rd` mixes both.
    if let Some(name) = v.strip_prefix('$') {
        let upper = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        let lower = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'.' || b == b'-');
        return upper || lower;
    }
    false
}

/// Values after a password-like word that are references or placeholders, not secrets.
fn is_placeholder(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    is_reference(v)
        || l.starts_with("[redacted")
        || l.starts_with("os.")
        || l.starts_with("env")
        || l.starts_with("process.env")
        || l.starts_with("getenv")
        || l.starts_with("settings.")
        || l.starts_with("config.")
        || l.starts_with("self.")
        || l.starts_with("redacted")
        || matches!(
            l.as_str(),
            "none"
                | "null"
                | "nil"
                | "true"
                | "false"
                | "undefined"
                | "required"
                | "optional"
                | "str"
                | "string"
                | "bytes"
                | "int"
                | "changeme"
                | "xxx"
                | "xxxx"
                | "password"
                | "passwd"
                | "pwd"
                | "pass"
                | "passphrase"
                | "secret"
                | "token"
                | "is"
                | "was"
                | "and"
                | "the"
                | "for"
                | "not"
                | "from"
                | "field"
                | "input"
                | "hash"
                | "hashed"
                | "value"
                | "reset"
                | "prompt"
        )
        || v.chars()
            .all(|c| c == '*' || c == 'x' || c == 'X' || c == '.')
        || v.ends_with('(')
        || v.contains("()")
}

/// `SecretAccessKey` -> `secret_access_key`, so that JSON keys in camelCase meet the word lists.
fn snake_case(k: &str) -> String {
    let mut out = String::with_capacity(k.len() + 4);
    let mut prev_lower = false;
    for c in k.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            out.push('_');
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// Shannon entropy in bits per character.
fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// True when `v` looks like a random key: hex with entropy >= 3.0 or base64-ish with >= 3.5
/// (detect-secrets uses 3.0 and 4.5 without the keyword context; the keyword lowers the bar).
fn looks_random(v: &str) -> bool {
    if v.len() < 12 {
        return false;
    }
    // Hex in groups (a UUID, `c9bbe6be:e73c9858`) counts as hex.
    let hex = v
        .bytes()
        .all(|b| b.is_ascii_hexdigit() || b == b'-' || b == b':')
        && v.bytes().filter(u8::is_ascii_hexdigit).count() >= 12;
    let classes = [
        v.bytes().any(|b| b.is_ascii_lowercase()),
        v.bytes().any(|b| b.is_ascii_uppercase()),
        v.bytes().any(|b| b.is_ascii_digit()),
    ]
    .iter()
    .filter(|&&x| x)
    .count();
    if hex {
        return entropy(v) >= 3.0 && v.bytes().any(|b| b.is_ascii_digit());
    }
    classes >= 2 && entropy(v) >= 3.5
}

/// An unquoted value after `password =` that is just a word (`user`, `get_password`) is
/// code or prose unless it ends the line (`password: letmein` in YAML or a .env file); one
/// with digits or symbols (`hunter2!`) is taken wherever it stands.
/// A connection string's `Password=word;` (no spaces around `=`, `;` after the value) is a
/// password too; `password = word;` in C or JavaScript is code.
fn bare_value_ok(value: &str, rest: &str, whole: &str) -> bool {
    let wordish = value
        .bytes()
        .all(|b| b.is_ascii_alphabetic() || b == b'_' || b == b'.');
    if !wordish {
        return true;
    }
    if rest.starts_with(';') && !whole.contains(char::is_whitespace) {
        return true;
    }
    let line = rest.split('\n').next().unwrap_or("").trim();
    line.is_empty() || line.starts_with('#') || line.starts_with("//")
}

fn confirm(check: Check, value: &str) -> bool {
    match check {
        Check::None => true,
        Check::Password => !is_placeholder(value),
        Check::Entropy => !is_placeholder(value) && looks_random(value),
        Check::Ipv4 => {
            !(value.starts_with("127.")
                || value == "0.0.0.0"
                || value == "255.255.255.255"
                || value.starts_with("255.255."))
        }
    }
}

impl Anonymizer {
    /// The built-in rules minus the `disable`d categories, plus `extra` rules given as
    /// `(name, pattern)` (a named group `secret` limits the redaction to it), keyed by `key`.
    pub fn new(
        disable: &[String],
        extra: &[(String, String)],
        key: Option<&[u8]>,
    ) -> Result<Anonymizer> {
        for d in disable {
            if !CATEGORIES.contains(&d.as_str()) {
                return Err(Error::validation(format!(
                    "unknown anonymisation category {d:?}; known: {}",
                    CATEGORIES.join(", ")
                )));
            }
        }
        let mut out = Vec::new();
        let mut anchors: Vec<String> = Vec::new();
        for b in rules::builtins() {
            if disable.iter().any(|d| d == b.category) {
                continue;
            }
            let re = Regex::new(b.pattern).map_err(|e| {
                Error::Backend(format!("built-in rule {} does not compile: {e}", b.name))
            })?;
            let ids = b
                .anchors
                .iter()
                .map(|a| match anchors.iter().position(|x| x == a) {
                    Some(i) => i,
                    None => {
                        anchors.push((*a).to_string());
                        anchors.len() - 1
                    }
                })
                .collect();
            out.push(Rule {
                category: b.category.into(),
                name: b.name.into(),
                re,
                check: b.check,
                anchors: ids,
            });
        }
        for (name, pattern) in extra {
            crate::ids::id("rule name", name)?;
            let re = regex::RegexBuilder::new(pattern)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| {
                    Error::validation(format!("rule {name:?} is not a valid regex: {e}"))
                })?;
            if re.is_match("") {
                return Err(Error::validation(format!(
                    "rule {name:?} matches the empty string"
                )));
            }
            out.push(Rule {
                category: "custom".into(),
                name: name.clone(),
                re,
                check: Check::None,
                anchors: Vec::new(),
            });
        }
        let word = |words: &str| {
            Regex::new(&format!(r"(?i)(?:^|[_.\-])(?:{words})s?$"))
                .map_err(|e| Error::Backend(format!("keyword rule does not compile: {e}")))
        };
        let prefilter = if anchors.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .build(&anchors)
                    .map_err(|e| Error::Backend(format!("rule anchors do not build: {e}")))?,
            )
        };
        Ok(Anonymizer {
            rules: out,
            prefilter,
            key: match key {
                Some(k) => k.to_vec(),
                None => std::env::var(KEY_ENV)
                    .ok()
                    .filter(|k| !k.is_empty())
                    .map_or_else(|| DEFAULT_KEY.to_vec(), String::into_bytes),
            },
            json_password_key: word(rules::password_words())?,
            json_secret_key: word(rules::key_words())?,
        })
    }

    /// The placeholder of `secret` found by rule `name`.
    pub fn placeholder(&self, name: &str, secret: &str) -> String {
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(m) => m,
            Err(_) => return format!("[REDACTED:{name}]"),
        };
        mac.update(secret.as_bytes());
        let tag = mac.finalize().into_bytes();
        let hex: String = tag[..6].iter().map(|b| format!("{b:02x}")).collect();
        format!("[REDACTED:{name}:{hex}]")
    }

    /// What would be redacted in `text`, in order, without overlaps.
    pub fn scan(&self, text: &str) -> Vec<Finding> {
        let mut found: Vec<(usize, usize, usize)> = Vec::new(); // start, end, rule index
        let present = self.anchors_in(text);
        for (i, r) in self.rules.iter().enumerate() {
            if !r.anchors.is_empty() && !r.anchors.iter().any(|&a| present[a]) {
                continue;
            }
            for caps in r.re.captures_iter(text) {
                let Some(m) = caps
                    .name("secret")
                    .or_else(|| caps.name("bare"))
                    .or_else(|| caps.get(0))
                else {
                    continue;
                };
                if m.is_empty() || !confirm(r.check, m.as_str()) {
                    continue;
                }
                if caps.name("bare").is_some() {
                    let whole = caps.get(0).map_or("", |w| w.as_str());
                    if !bare_value_ok(m.as_str(), &text[m.end()..], whole) {
                        continue;
                    }
                }
                found.push((m.start(), m.end(), i));
            }
        }
        // Earlier start first; at the same start the longer match, then the earlier rule.
        found.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
        let mut out = Vec::new();
        let mut end = 0;
        for (s, e, i) in found {
            if s < end {
                continue;
            }
            let r = &self.rules[i];
            out.push(Finding {
                start: s,
                end: e,
                category: r.category.clone(),
                rule: r.name.clone(),
                placeholder: self.placeholder(&r.name, &text[s..e]),
            });
            end = e;
        }
        out
    }

    /// `text` with every finding replaced by its placeholder.
    pub fn anonymize(&self, text: &str) -> String {
        let found = self.scan(text);
        if found.is_empty() {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for f in found {
            out.push_str(&text[at..f.start]);
            out.push_str(&f.placeholder);
            at = f.end;
        }
        out.push_str(&text[at..]);
        out
    }

    /// Every string of `v` (object keys too) anonymised. A string under a password-like key
    /// (`"password": "..."`) is a secret unless it is an obvious placeholder; under a
    /// key-like key (`"api_key": "..."`) when it looks random.
    pub fn anonymize_json(&self, v: &Value) -> Value {
        self.json(v, None)
    }

    fn json(&self, v: &Value, parent_key: Option<&str>) -> Value {
        match v {
            Value::String(s) => {
                if let Some(k) = parent_key {
                    let snake = snake_case(k);
                    let k = snake.as_str();
                    let whole = if self.keyword_enabled() && self.json_password_key.is_match(k) {
                        confirm(Check::Password, s) && !s.is_empty() && s.len() <= 4096
                    } else if self.keyword_enabled() && self.json_secret_key.is_match(k) {
                        confirm(Check::Entropy, s)
                    } else {
                        false
                    };
                    if whole && self.scan(s).iter().all(|f| f.end - f.start < s.len()) {
                        return Value::String(self.placeholder(
                            if self.json_password_key.is_match(k) {
                                "password_assignment"
                            } else {
                                "key_assignment"
                            },
                            s,
                        ));
                    }
                }
                Value::String(self.anonymize(s))
            }
            Value::Array(a) => Value::Array(a.iter().map(|x| self.json(x, parent_key)).collect()),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| (self.anonymize(k), self.json(x, Some(k))))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// Which anchors occur in `text` (overlapping occurrences count).
    fn anchors_in(&self, text: &str) -> Vec<bool> {
        let Some(ac) = &self.prefilter else {
            return Vec::new();
        };
        let mut seen = vec![false; ac.patterns_len()];
        let mut left = seen.len();
        for m in ac.find_overlapping_iter(text) {
            let i = m.pattern().as_usize();
            if !seen[i] {
                seen[i] = true;
                left -= 1;
                if left == 0 {
                    break;
                }
            }
        }
        seen
    }

    fn keyword_enabled(&self) -> bool {
        self.rules.iter().any(|r| r.category == "keyword")
    }
}
