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
    /// Lowercase literals one of which every match contains (a prefilter: the rule runs only
    /// on text that holds one); empty: always runs.
    pub anchors: &'static [&'static str],
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
        anchors: &[],
    }
}

const fn anchored(b: Builtin, anchors: &'static [&'static str]) -> Builtin {
    Builtin {
        category: b.category,
        name: b.name,
        pattern: b.pattern,
        check: b.check,
        anchors,
    }
}

/// Words that mark the value after them as a password.
const PASSWORD_WORDS: &str =
    r"password|passwd|passphrase|pwd|pass|secret|private[_-]?key|client[_-]?secret";
/// Words that mark the value after them as a key or token (confirmed by entropy).
const KEY_WORDS: &str = r"api[_-]?key|apikey|access[_-]?key|secret[_-]?key|auth|token|key|credential|signature|sig|salt|session[_-]?id|cookie";

/// The built-in rules, most specific first (on overlapping matches the earlier rule wins).
pub fn builtins() -> Vec<Builtin> {
    let mut out = specific();
    out.extend(super::tokens::tokens());
    out.extend(contextual());
    out
}

/// Token formats and shapes that need no keyword.
fn specific() -> Vec<Builtin> {
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
            r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b",
            None,
        ),
        rule(
            "aws",
            "aws_secret_access_key",
            r#"(?i)aws.{0,24}?(?:secret|private)?.{0,12}?key.{0,8}?[\s"':=]+(?P<secret>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"#,
            None,
        ),
        // A secret access key right after its access key id (`AKIA… / wJalr…`, `"AccessKeyId":
        // "AKIA…", "SecretAccessKey": "…"`): the id is the context.
        anchored(
            rule(
                "aws",
                "aws_secret_after_key_id",
                r"\b(?:AKIA|ASIA)[A-Z2-7]{16}\b[^\n]{0,60}?[^A-Za-z0-9/+](?P<secret>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)",
                Entropy,
            ),
            &["akia", "asia"],
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
            // Routable tokens carry `.version.crc` after the payload: all of it goes.
            r"\b(?:glpat|gldt|glrt|glptt|glft|glsoat|glimt|glagent|glcbt|glffct|glwt|gloas)-[A-Za-z0-9_\-]{20,}(?:\.[A-Za-z0-9_\-]+)*|\bGR1348941[A-Za-z0-9_\-]{20,}\b",
            None,
        ),
        rule(
            "slack",
            "slack_token",
            r"(?i)\bxox(?:[abposre]|e\.xox[bp])-[A-Za-z0-9\-]{8,}",
            None,
        ),
        rule(
            "slack",
            "slack_webhook",
            // Every path segment: a workflow webhook has four.
            r"(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_+/\-]{8,}",
            None,
        ),
        rule(
            "stripe",
            "stripe_key",
            r"\b(?:sk|rk)_(?:live|test|prod)_[0-9A-Za-z]{10,247}\b",
            None,
        ),
        rule(
            "stripe",
            "stripe_webhook_secret",
            r"\bwhsec_[0-9A-Za-z]{24,}\b",
            None,
        ),
        rule("twilio", "twilio_account_sid", r"\bAC[0-9a-f]{32}\b", None),
        rule("twilio", "twilio_api_key", r"\bSK[0-9a-fA-F]{32}\b", None),
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
            // pypi.org (`AgEIcHlwaS5vcmc`) and test.pypi.org (`AgENdGVzdC5weXBpLm9yZw`) tokens.
            r"\bpypi-AgE[A-Za-z0-9_\-]{50,}",
            None,
        ),
        rule(
            "sendgrid",
            "sendgrid_key",
            r"\bSG\.[A-Za-z0-9_\-]{20,}\.[A-Za-z0-9_\-]{40,}\b|\bSG\.[A-Za-z0-9=_\-.]{66,}",
            None,
        ),
        rule(
            "mailchimp",
            "mailchimp_key",
            r"\b[0-9a-f]{32}-us[0-9]{1,2}\b",
            None,
        ),
        rule(
            "azure",
            "azure_storage_key",
            r"(?i)AccountKey=(?P<secret>[A-Za-z0-9+/]{86}==)",
            None,
        ),
        // Service Bus / Event Hubs / IoT Hub connection strings.
        anchored(
            rule(
                "azure",
                "azure_shared_access_key",
                r"(?i)SharedAccess(?:Key|Signature)=(?P<secret>[^;\s'\x22]{8,})",
                None,
            ),
            &["sharedaccess"],
        ),
        rule(
            "jwt",
            "jwt",
            r"\bey[A-Za-z0-9_\-]{10,}\.ey[A-Za-z0-9_\-/\\]{10,}\.(?:[A-Za-z0-9_\-/\\]{8,}={0,2})?",
            None,
        ),
    ]
}

/// Rules that need a word or a shape around the secret.
fn contextual() -> Vec<Builtin> {
    use Check::*;
    vec![
        // `.npmrc`: `//registry.npmjs.org/:_authToken=…`, `_auth=…`, `_password=…`.
        anchored(
            rule(
                "npm",
                "npmrc_auth",
                r#"(?i)(?:^|[\s'"/:])_(?:authToken|auth|password)\s*=\s*['"]?(?P<secret>[^\s'"]{3,512})"#,
                Password,
            ),
            &["_auth", "_password"],
        ),
        // `<password>…</password>` in XML (Maven settings, app configs) and NuGet's
        // `<add key="ClearTextPassword" value="…" />`.
        anchored(
            rule(
                "keyword",
                "xml_password",
                r"(?i)<(?:[A-Za-z]+:)?(?:password|passwd|pwd|secret|client[_-]?secret|api[_-]?key|token)>(?P<secret>[^<\s]{3,256})</",
                Password,
            ),
            &["<"],
        ),
        anchored(
            rule(
                "keyword",
                "nuget_password",
                r#"(?i)<add\s+key="(?:ClearText)?Password"\s+value="(?P<secret>[^"]{3,256})""#,
                Password,
            ),
            &["<add"],
        ),
        rule(
            "url_credentials",
            "url_password",
            // `[` and `]` may not stand unencoded in a URL's user part (RFC 3986): with them it is a
            // template from the docs, `redis://[user:password@]host`.
            r"\b[A-Za-z][A-Za-z0-9+.\-]{1,20}://[^\s:@/?#'\x22\[\]]{1,128}:(?P<secret>[^\s@/?#'\x22\[\]]{1,256})@",
            Password,
        ),
        rule(
            "auth_header",
            "authorization_header",
            r"(?i)\b(?:authorization|proxy-authorization)['\x22]?\s*[:=]\s*['\x22]?(?:basic|bearer|token|digest)\s+(?P<secret>[A-Za-z0-9+/=_\-.~]{8,})",
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
        // Prose: `the Twilio auth token is 3f…`, `my API key was AbC…`.
        rule(
            "keyword",
            "secret_in_prose",
            r#"(?i)\b(?:password|passphrase|secret|key|token|credential)s?\s+(?:is|was)\s*:?\s+['"`]?(?P<secret>[A-Za-z0-9+/=_\-.~:%]{12,512})"#,
            Entropy,
        ),
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
    r#"(?i)(?:\b|_)(?:[A-Za-z0-9]{0,24}[_.\-])?(?:password|passwd|passphrase|pwd|pass|secret|private[_-]?key|client[_-]?secret)\b['"]?\s*(?::=|=>|[:=])\s*(?:['"](?P<secret>[^'"\s]{3,256})['"]|(?P<bare>[^\s'",;#(){}\[\]]{3,256}))"#
}

const fn const_format_key() -> &'static str {
    r#"(?i)(?:\b|_)(?:[A-Za-z0-9]{0,24}[_.\-])?(?:api[_-]?key|apikey|access[_-]?key|secret[_-]?key|auth|token|key|credential|signature|sig|salt|session[_-]?id|cookie)s?\b['"]?\s*(?::=|=>|[:=])\s*(?:['"](?P<secret>[A-Za-z0-9+/=_\-.~][A-Za-z0-9+/=_\-.~:%|]{11,511})['"]|(?P<bare>[A-Za-z0-9+/=_\-.~][A-Za-z0-9+/=_\-.~:%|]{11,511}))"#
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
