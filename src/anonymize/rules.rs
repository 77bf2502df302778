//! The built-in detection rules: what a secret looks like, by category.
//!
//! Coverage follows detect-secrets' plugins (AWS, GitHub, GitLab, Slack, Stripe, Twilio,
//! OpenAI-style keys, JWTs, private keys, basic auth in URLs, keyword assignments with
//! high-entropy base64/hex values) plus a few more token formats, e-mail addresses, IP
//! addresses and home-directory paths. A rule redacts its whole match, or only the capture
//! group named `secret` when it has one.

/// How a match is confirmed after the regex found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The regex is specific enough.
    None,
    /// A value assigned to a password-like word: anything but an obvious placeholder.
    Password,
    /// A value assigned to a key/token-like word: must look random (entropy, length).
    Entropy,
    /// An IPv4 address other than loopback, unspecified or a broadcast mask.
    Ipv4,
}

/// One built-in rule.
pub struct Builtin {
    /// Category (what `disable` names).
    pub category: &'static str,
    /// Rule name (what the placeholder says).
    pub name: &'static str,
    /// The pattern (Rust regex syntax).
    pub pattern: &'static str,
    /// Extra confirmation.
    pub check: Check,
}

const fn rule(
    category: &'static str,
    name: &'static str,
    pattern: &'static str,
    check: Check,
) -> Builtin {
    Builtin {
        category,
        name,
        pattern,
        check,
    }
}

/// Words that mark the value after them as a password.
const PASSWORD_WORDS: &str =
    r"password|passwd|passphrase|pwd|secret|private[_-]?key|client[_-]?secret";
/// Words that mark the value after them as a key or token (confirmed by entropy).
const KEY_WORDS: &str = r"api[_-]?key|apikey|access[_-]?key|secret[_-]?key|auth|token|key|credential|signature|sig|salt|session[_-]?id|cookie";

/// The built-in rules, most specific first (on overlapping matches the earlier rule wins).
pub fn builtins() -> Vec<Builtin> {
    use Check::*;
    vec![
        rule(
            "private_key",
            "private_key",
            r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s\\n:-]*)",
            None,
        ),
        // A line of key material on its own (a PEM body line without its BEGIN/END lines,
        // or base64 key bytes): long, nothing but base64, and random-looking.
        rule(
            "private_key",
            "key_material",
            r"(?m)^[ \t]*(?P<secret>[A-Za-z0-9+/]{48,100}={0,2})[ \t]*\r?$",
            Entropy,
        ),
        rule(
            "aws",
            "aws_access_key_id",
            r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b",
            None,
        ),
        rule(
            "aws",
            "aws_secret_access_key",
            r#"(?i)aws.{0,24}?(?:secret|private)?.{0,12}?key.{0,8}?[\s"':=]+(?P<secret>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"#,
            None,
        ),
        rule(
            "github",
            "github_token",
            r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,255}\b",
            None,
        ),
        rule(
            "github",
            "github_pat",
            r"\bgithub_pat_[A-Za-z0-9_]{22,255}\b",
            None,
        ),
        rule(
            "gitlab",
            "gitlab_token",
            r"\b(?:glpat|gldt|glrt|glptt|glft|glsoat|glimt|glagent|glcbt|glffct|glwt)-[A-Za-z0-9_\-]{20,}\b|\bGR1348941[A-Za-z0-9_\-]{20,}\b",
            None,
        ),
        rule(
            "slack",
            "slack_token",
            r"\bxox[abposr]-(?:[A-Za-z0-9]+-){1,4}[A-Za-z0-9]{4,}\b",
            None,
        ),
        rule(
            "slack",
            "slack_webhook",
            r"https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9_]+/[A-Za-z0-9_]+/[A-Za-z0-9_]+",
            None,
        ),
        rule(
            "stripe",
            "stripe_key",
            r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,247}\b",
            None,
        ),
        rule(
            "stripe",
            "stripe_webhook_secret",
            r"\bwhsec_[0-9A-Za-z]{24,}\b",
            None,
        ),
        rule("twilio", "twilio_account_sid", r"\bAC[0-9a-f]{32}\b", None),
        rule("twilio", "twilio_api_key", r"\bSK[0-9a-f]{32}\b", None),
        rule(
            "openai",
            "openai_key",
            r"\bsk-(?:proj-|svcacct-|admin-|ant-(?:api\d\d-)?)?[A-Za-z0-9_\-]{20,}\b",
            None,
        ),
        rule(
            "google",
            "google_api_key",
            r"\bAIza[0-9A-Za-z_\-]{35}\b",
            None,
        ),
        rule("npm", "npm_token", r"\bnpm_[A-Za-z0-9]{36}\b", None),
        rule(
            "pypi",
            "pypi_token",
            r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,}",
            None,
        ),
        rule(
            "sendgrid",
            "sendgrid_key",
            r"\bSG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}\b",
            None,
        ),
        rule(
            "mailchimp",
            "mailchimp_key",
            r"\b[0-9a-f]{32}-us[0-9]{1,2}\b",
            None,
        ),
        rule(
            "discord",
            "discord_bot_token",
            r"\b[MNO][A-Za-z0-9_\-]{23,25}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,38}\b",
            None,
        ),
        rule(
            "azure",
            "azure_storage_key",
            r"(?i)AccountKey=(?P<secret>[A-Za-z0-9+/]{86}==)",
            None,
        ),
        rule(
            "jwt",
            "jwt",
            r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
            None,
        ),
        rule(
            "url_credentials",
            "url_password",
            r"\b[A-Za-z][A-Za-z0-9+.\-]{1,20}://[^\s:@/?#'\x22]{1,128}:(?P<secret>[^\s@/?#'\x22]{1,256})@",
            None,
        ),
        rule(
            "auth_header",
            "authorization_header",
            r"(?i)\b(?:authorization|proxy-authorization)\s*[:=]\s*['\x22]?(?:basic|bearer|token|digest)\s+(?P<secret>[A-Za-z0-9+/=_\-.~]{8,})",
            None,
        ),
        rule(
            "keyword",
            "password_assignment",
            // `password = "..."`, `"db_password": "..."`, `PASSWORD: ...`, `--password ...`
            const_format_password(),
            Password,
        ),
        rule(
            "keyword",
            "password_option",
            r#"(?i)(?:^|\s)--?(?:password|passwd|pwd|pass)(?:=|[ \t]+)['"]?(?P<secret>[^\s'"]{3,256})"#,
            Password,
        ),
        rule("keyword", "key_assignment", const_format_key(), Entropy),
        rule(
            "email",
            "email",
            r"\b[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}\b",
            None,
        ),
        rule(
            "ip",
            "ipv4",
            r"\b(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\b",
            Ipv4,
        ),
        rule(
            "ip",
            "ipv6",
            r"(?i)\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b|\b(?:[0-9a-f]{1,4}:){1,6}:(?:[0-9a-f]{1,4}:){0,5}[0-9a-f]{1,4}\b",
            None,
        ),
        rule(
            "home_path",
            "home_directory",
            r"(?:/home/|/Users/|(?i:[A-Z]:\\Users\\))(?P<secret>[A-Za-z0-9._\-]{1,64})",
            None,
        ),
    ]
}

// The keyword rules are built from the word lists above; `concat!` cannot take consts, so the
// full patterns are spelled out once here and checked against the lists in the tests.
const fn const_format_password() -> &'static str {
    r#"(?i)(?:\b|_)(?:[A-Za-z0-9]{0,24}[_.\-])?(?:password|passwd|passphrase|pwd|secret|private[_-]?key|client[_-]?secret)\b['"]?\s*(?::=|=>|[:=])\s*(?:['"](?P<secret>[^'"\s]{3,256})['"]|(?P<bare>[^\s'",;#(){}\[\]]{3,256}))"#
}

const fn const_format_key() -> &'static str {
    r#"(?i)(?:\b|_)(?:[A-Za-z0-9]{0,24}[_.\-])?(?:api[_-]?key|apikey|access[_-]?key|secret[_-]?key|auth|token|key|credential|signature|sig|salt|session[_-]?id|cookie)s?\b['"]?\s*(?::=|=>|[:=])\s*(?:['"](?P<secret>[A-Za-z0-9+/=_\-.~]{12,512})['"]|(?P<bare>[A-Za-z0-9+/=_\-.~]{12,512}))"#
}

/// The word lists, for the tests and for `anonymize_json` (a JSON key like `"password"`
/// makes its string value a candidate, as an assignment in text would).
pub fn password_words() -> &'static str {
    PASSWORD_WORDS
}

/// See [`password_words`].
pub fn key_words() -> &'static str {
    KEY_WORDS
}
